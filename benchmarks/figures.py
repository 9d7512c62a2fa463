"""The measurements behind `python -m benchmarks`."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import time

from unicorn import UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL, Uc
from unicorn import x86_const as x

from emu.pe import PeImage
from verifier.scan import scan_bytes


def scan_images_per_s(corpus: str, rounds: int) -> float:
    images = [(p, open(p, "rb").read()) for p in sorted(glob.glob(os.path.join(corpus, "*.sys")))]
    start = time.perf_counter()
    for _ in range(rounds):
        for path, data in images:
            scan_bytes(path, data)
    return round(rounds * len(images) / (time.perf_counter() - start), 1)


def _bare_unicorn_call(image: PeImage, base: int, fn_rva: int, arg: int) -> float:
    """Seconds for bare Unicorn (flat memory, no paging, no hooks) to run fn(arg) from the image."""
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    size = (image.size_of_image + 0xFFF) & ~0xFFF
    uc.mem_map(base, size, UC_PROT_ALL)
    uc.mem_write(base, image.data[:image.size_of_headers])
    for s in image.sections:
        uc.mem_write(base + s.rva, image.data[s.raw_offset:s.raw_offset + min(s.raw_size, s.span)])
    stack, ret = 0x7000_0000, 0x6000_0000
    uc.mem_map(stack - 0x10000, 0x10000, UC_PROT_ALL)
    uc.mem_map(ret, 0x1000, UC_PROT_ALL)
    uc.mem_write(ret, b"\xc3")
    uc.mem_write(stack - 0x100, ret.to_bytes(8, "little"))
    uc.reg_write(x.UC_X86_REG_RSP, stack - 0x100)
    uc.reg_write(x.UC_X86_REG_RCX, arg)
    start = time.perf_counter()
    uc.emu_start(base + fn_rva, ret)
    return time.perf_counter() - start


def _loaded(corpus: str, name: str):
    """(kernel, image, base) with the corpus driver loaded; None if it is not built."""
    path = os.path.join(corpus, name)
    if not os.path.exists(path):
        return None
    from hooks.kernel import Kernel
    image = PeImage.parse(open(path, "rb").read(), name)
    k = Kernel()
    return k, image, k.load_driver(image, name[:-4]).image.base


def _timed_export(k, base: int, image: PeImage, export: str, arg: int) -> float:
    start = time.perf_counter()
    stop = k.call(base + image.exports()[export], [arg])
    elapsed = time.perf_counter() - start
    if stop.kind != "returned":
        raise RuntimeError(f"{export} did not return: {stop}")
    return elapsed


def cpu_loop(corpus: str, iterations: int) -> dict[str, float | None]:
    """cpu_loop.sys's exported BenchLoop in our kernel and in bare Unicorn: the same machine code."""
    loaded = _loaded(corpus, "cpu_loop.sys")
    if loaded is None:
        return {"insn_ratio_vs_bare_unicorn": None}
    k, image, base = loaded
    ours = _timed_export(k, base, image, "BenchLoop", iterations)
    bare = _bare_unicorn_call(image, image.image_base, image.exports()["BenchLoop"], iterations)
    return {"insn_ratio_vs_bare_unicorn": round(bare / ours, 3)}


def export_rate(corpus: str, name: str, export: str, count: int) -> float | None:
    """count / seconds for the driver's exported loop `export(count)` (one API call or pair per round)."""
    loaded = _loaded(corpus, name)
    if loaded is None:
        return None
    k, image, base = loaded
    return round(count / _timed_export(k, base, image, export, count), 1)


def cold_start(driver: str) -> float:
    """`verifier run` on a small driver, the whole process, best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "verifier", "run", driver], capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
    return round(best, 3)
