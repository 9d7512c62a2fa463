"""The measurements behind `python -m benchmarks`.

Rates are the best of a few repetitions (the least disturbed by whatever else the machine does).
Every emulator runs the same machine code from the same corpus driver in the same run.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time

from unicorn import UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL, Uc
from unicorn import x86_const as x

from emu.pe import PeImage
from verifier.scan import scan_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
REPEAT = 3


def scan_images_per_s(corpus: str, rounds: int) -> float:
    images = [(p, open(p, "rb").read()) for p in sorted(glob.glob(os.path.join(corpus, "*.sys")))]
    start = time.perf_counter()
    for _ in range(rounds):
        for path, data in images:
            scan_bytes(path, data)
    return round(rounds * len(images) / (time.perf_counter() - start), 1)


def bare_unicorn_seconds(image: PeImage, fn_rva: int, arg: int) -> float:
    """Bare Unicorn (flat memory, no paging, no hooks) running fn(arg) from the image's code."""
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    base = image.image_base
    uc.mem_map(base, (image.size_of_image + 0xFFF) & ~0xFFF, UC_PROT_ALL)
    uc.mem_write(base, image.data[:image.size_of_headers])
    for s in image.sections:
        uc.mem_write(base + s.rva, image.data[s.raw_offset:s.raw_offset + min(s.raw_size, s.span)])
    stack, ret = 0x7000_0000, 0x6000_0000
    uc.mem_map(stack - 0x10000, 0x10000, UC_PROT_ALL)
    uc.mem_map(ret, 0x1000, UC_PROT_ALL)
    uc.mem_write(stack - 0x100, ret.to_bytes(8, "little"))
    uc.reg_write(x.UC_X86_REG_RSP, stack - 0x100)
    uc.reg_write(x.UC_X86_REG_RCX, arg)
    start = time.perf_counter()
    uc.emu_start(base + fn_rva, ret)
    return time.perf_counter() - start


def our_seconds(path: str, export: str, arg: int, started: bool = False) -> float:
    """Our kernel: load the driver (not timed), with `started` also run its entry point (a KMDF
    driver binds to the framework there), then time export(arg) until it returns."""
    from hooks.kernel import Kernel
    image = PeImage.parse(open(path, "rb").read(), os.path.basename(path))
    k = Kernel()
    driver = k.load_driver(image, os.path.basename(path)[:-4])
    base = driver.image.base
    if started and k.call(driver.image.entry, [driver.driver_object, driver.registry_path]).return_value:
        raise RuntimeError(f"{path}: its entry point failed")
    start = time.perf_counter()
    stop = k.call(base + image.exports()[export], [arg])
    elapsed = time.perf_counter() - start
    if stop.kind != "returned":
        raise RuntimeError(f"{export} did not return: {stop}")
    return elapsed


def best(measure, *args, repeat: int = REPEAT) -> float:
    return min(measure(*args) for _ in range(repeat))


def peer_python(name: str) -> str | None:
    """The interpreter that has a peer installed: $HVCI_PEER_<NAME>, else .peers/<name> from setup_peers.sh."""
    explicit = os.environ.get(f"HVCI_PEER_{name.upper()}")
    default = os.path.join(os.path.dirname(HERE), ".peers", name, "bin", "python")
    for candidate in (explicit, default):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def peer_seconds(name: str, script: str, *args) -> float | None:
    python = peer_python(name)
    if python is None:
        return None
    runs = []
    for _ in range(REPEAT):
        out = subprocess.run([python, os.path.join(HERE, "peers", script), *map(str, args)],
                             capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1])["seconds"])
    return min(runs)


def cpu_loop(corpus: str, iterations: int) -> dict[str, float | None]:
    """BenchLoop from cpu_loop.sys: ours and each peer as a ratio to bare Unicorn on the same code."""
    path = os.path.join(corpus, "cpu_loop.sys")
    image = PeImage.parse(open(path, "rb").read(), "cpu_loop.sys")
    fn = image.exports()["BenchLoop"]
    # Short runs of pure JIT code are noisy on a shared machine: more repetitions, best of each.
    per_iter_bare = best(bare_unicorn_seconds, image, fn, iterations, repeat=2 * REPEAT) / iterations
    ours = best(our_seconds, path, "BenchLoop", iterations, repeat=2 * REPEAT)
    figures: dict[str, float | None] = {"insn_ratio_vs_bare_unicorn": round(per_iter_bare * iterations / ours, 3)}
    # Qiling pays a Python callback per instruction: a few thousand iterations are enough.
    for peer, script, n in (("qiling", "qiling_loop.py", 2_000), ("speakeasy", "speakeasy_call.py", iterations)):
        args = (path, n) if peer == "qiling" else (path, "BenchLoop", n)
        seconds = peer_seconds(peer, script, *args)
        figures[f"{peer}_insn_ratio_vs_bare_unicorn"] = None if seconds is None else float(f"{per_iter_bare * n / seconds:.3g}")
    return figures


def export_rate(corpus: str, name: str, export: str, count: int, started: bool = False) -> float:
    """count / seconds for a corpus driver's exported loop export(count)."""
    return round(count / best(our_seconds, os.path.join(corpus, name), export, count, started), 1)


def speakeasy_rate(corpus: str, name: str, export: str, count: int) -> float | None:
    seconds = peer_seconds("speakeasy", "speakeasy_call.py", os.path.join(corpus, name), export, count)
    return None if seconds is None else round(count / seconds, 1)


def cold_start(driver: str) -> float:
    """`verifier run` on a small driver, the whole process."""
    return best(_run_process, driver)


def _run_process(driver: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "verifier", "run", driver], capture_output=True, check=False)
    return round(time.perf_counter() - start, 3)


def batch_drivers_per_s(corpus: str, jobs: int = 2) -> float:
    """`verifier batch` (scan + run, each driver in a worker of its own) over the corpus, no cache."""
    from verifier.batch import execute, jobs_for
    work = jobs_for(corpus, wall_timeout=2.0, memory_mb=4096)    # spin_forever.sys: stopped after 2 s
    start = time.perf_counter()
    execute(work, workers=jobs)
    return round(len(work) / (time.perf_counter() - start), 1)
