"""The measurements behind `python -m benchmarks`.

Rates are the best of a few repetitions (the least disturbed by whatever else the machine does).
Every emulator runs the same machine code from the same corpus driver in the same run.
"""
from __future__ import annotations

import gc
import glob
import json
import os
import statistics
import subprocess
import sys
import time

from unicorn import UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL, UC_PROT_READ, UC_PROT_WRITE, Uc
from unicorn import x86_const as x

from emu.machine import (CR0_PE, CR0_PG, CR0_WP, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, EFER_LMA, EFER_LME,
                         EFER_NXE, MSR_EFER)
from emu.memory import FRAME_MASK, PAGE, PROT_RW, PROT_RX, PTE_P, PTE_W, page_ceil
from emu.pe import PeImage
from benchmarks.peers import fuzz_workload as workload
from verifier.scan import scan_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
REPEAT = 3
JIT_RUNS = 9                 # engines per side for the JIT loop ratios (medians, see jit_loops)


def scan_images_per_s(corpus: str, rounds: int) -> float:
    images = [(p, open(p, "rb").read()) for p in sorted(glob.glob(os.path.join(corpus, "*.sys")))]
    start = time.perf_counter()
    for _ in range(rounds):
        for path, data in images:
            scan_bytes(path, data)
    return round(rounds * len(images) / (time.perf_counter() - start), 1)


def bare_unicorn_call(image: PeImage, fn_rva: int, arg: int, clock=time.perf_counter) -> tuple[float, int]:
    """(seconds, RAX) of bare Unicorn running fn(arg) from the image's code, with no hooks and no kernel, in the CPU
    mode ours runs in: long mode with 4 KiB pages, code pages RX and everything else RW-NX, so code
    and data are on separate pages. (Unicorn's unpaged mode, or 2 MiB pages, make every store
    several times slower, which would flatter us.)"""
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    base = image.image_base
    stack, ret = 0x7000_0000, 0x6000_0000
    pages: dict[int, int] = {}
    uc.mem_map(base, page_ceil(image.size_of_image), UC_PROT_ALL)
    for off in range(0, page_ceil(image.size_of_image), PAGE):
        pages[base + off] = PROT_RW
    for s in image.sections:
        uc.mem_write(base + s.rva, image.data[s.raw_offset:s.raw_offset + min(s.raw_size, s.span)])
        for off in range(0, page_ceil(s.span), PAGE):
            pages[base + s.rva + off] = PROT_RX if s.executable else PROT_RW
    uc.mem_map(stack - 0x10000, 0x10000, UC_PROT_ALL)
    pages.update({stack - 0x10000 + off: PROT_RW for off in range(0, 0x10000, PAGE)})
    uc.mem_map(ret, PAGE, UC_PROT_ALL)
    pages[ret] = PROT_RX
    _identity_page_tables(uc, 0x0100_0000, pages)
    uc.mem_write(stack - 0x100, (ret + 0x800).to_bytes(8, "little"))
    uc.reg_write(x.UC_X86_REG_RSP, stack - 0x100)
    uc.reg_write(x.UC_X86_REG_RCX, arg)
    start = clock()
    uc.emu_start(base + fn_rva, ret + 0x800)
    return clock() - start, uc.reg_read(x.UC_X86_REG_RAX)


def _identity_page_tables(uc: Uc, at: int, pages: dict[int, int]) -> None:
    """4-level page tables at physical `at` mapping each page to itself with its PTE flags; long mode on."""
    uc.mem_map(at, 0x10_0000, UC_PROT_READ | UC_PROT_WRITE)
    tables = [at + PAGE]                      # next free table

    def next_level(slot: int) -> int:
        entry = int.from_bytes(uc.mem_read(slot, 8), "little")
        if not entry & PTE_P:
            entry = tables[0] | PTE_P | PTE_W
            tables[0] += PAGE
            uc.mem_write(slot, entry.to_bytes(8, "little"))
        return entry & FRAME_MASK

    for va, flags in pages.items():
        table = at
        for shift in (39, 30, 21):
            table = next_level(table + 8 * ((va >> shift) & 0x1FF))
        uc.mem_write(table + 8 * ((va >> 12) & 0x1FF), (va | flags).to_bytes(8, "little"))
    uc.reg_write(x.UC_X86_REG_CR3, at)
    uc.reg_write(x.UC_X86_REG_CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT)
    uc.reg_write(x.UC_X86_REG_MSR, (MSR_EFER, EFER_LME | EFER_LMA | EFER_NXE))
    uc.reg_write(x.UC_X86_REG_CR0, CR0_PE | CR0_WP | CR0_PG | 0x22)


def our_call(path: str, export: str, arg: int, clock=time.perf_counter, started: bool = False) -> tuple[float, int]:
    """(seconds, RAX) in our kernel alone (no rules): load the driver (not timed), with `started` also
    run its entry point (a KMDF driver binds to the framework there), then time export(arg) until it
    returns."""
    from hooks.kernel import Kernel
    image = PeImage.parse(open(path, "rb").read(), os.path.basename(path))
    k = Kernel()
    driver = k.load_driver(image, os.path.basename(path)[:-4])
    base = driver.image.base
    if started and k.call(driver.image.entry, [driver.driver_object, driver.registry_path]).return_value:
        raise RuntimeError(f"{path}: its entry point failed")
    gc.collect()                  # earlier measurements' engines are cycles: free them first
    start = clock()
    stop = k.call(base + image.exports()[export], [arg])
    elapsed = clock() - start
    if stop.kind != "returned":
        raise RuntimeError(f"{export} did not return: {stop}")
    return elapsed, stop.return_value


def our_seconds(path: str, export: str, arg: int, started: bool = False) -> float:
    return our_call(path, export, arg, started=started)[0]


def session_seconds(path: str, export: str, arg: int, repeat: int = REPEAT) -> float:
    """As users run it: a verification `Session` with the code integrity rules subscribed runs the
    driver (DriverEntry, not timed), then the fastest of `repeat` calls of export(arg) as an entry
    point of that session."""
    from verifier.session import Options, Session
    data = open(path, "rb").read()
    session = Session(path, data, Options())
    report = session.run()
    if report.error or report.bugchecks or session.driver is None:
        raise RuntimeError(f"{path}: the session did not run cleanly: {report.error or report.bugchecks}")
    routine = session.driver.image.base + PeImage.parse(data, os.path.basename(path)).exports()[export]
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = session.call_entry(export, routine, [arg])
        runs.append(time.perf_counter() - start)
        if result.outcome != "returned":
            raise RuntimeError(f"{export}({arg}) did not return: {result.outcome}")
    return min(runs)


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


def peer_seconds(name: str, script: str, *args, key: str = "seconds") -> float | None:
    """Best time a peer reports for the script (`key`: "seconds" wall clock or "cpu_seconds"), or
    None: not installed, or it failed (a crash, a timeout, an error it reports, such as an export
    it does not implement)."""
    python = peer_python(name)
    if python is None:
        return None
    runs = []
    for _ in range(REPEAT):
        try:
            out = subprocess.run([python, os.path.join(HERE, "peers", script), *map(str, args)],
                                 capture_output=True, text=True, timeout=600).stdout
            result = json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            return None
        if result.get("error"):
            return None
        runs.append(result[key])
    return min(runs)


def time_ratio(seconds: float | None, bare: float) -> float | None:
    """Bare Unicorn's time over another's for the same instructions: 1.0 = as fast, 0.5 = twice as slow."""
    return None if seconds is None else float(f"{bare / seconds:.3g}")


def jit_loops(corpus: str, iterations: int) -> dict[str, float | None]:
    """BenchLoop (registers only) and MemLoop (a load and a store per iteration): ours and each
    peer as a time ratio to bare Unicorn running the same instructions. Times are the process's
    CPU time, which a shared machine's other jobs disturb far less than the wall clock."""
    figures: dict[str, float | None] = {}
    for kind, name, export in (("cpu", "cpu_loop.sys", "BenchLoop"), ("mem", "mem_loop.sys", "MemLoop")):
        path = os.path.join(corpus, name)
        image = PeImage.parse(open(path, "rb").read(), name)
        fn = image.exports()[export]
        # Each run is a fresh engine, and the same loop runs up to ~3.5x faster in some engines than
        # in others, on both sides alike (measured: 0.08-0.30 s of CPU for 40M BenchLoop iterations,
        # bare and ours): where the host places the engine's memory decides it, not the instructions.
        # The best of a few runs compared lucky draws; the medians of JIT_RUNS compare typical runs.
        bare_runs = [bare_unicorn_call(image, fn, iterations, time.process_time) for _ in range(JIT_RUNS)]
        our_runs = [our_call(path, export, iterations, time.process_time) for _ in range(JIT_RUNS)]
        if {rax for _, rax in bare_runs + our_runs} != {bare_runs[0][1]}:
            raise RuntimeError(f"{export}({iterations}) gave different results: {bare_runs + our_runs}")
        per_iter_bare = statistics.median(seconds for seconds, _ in bare_runs) / iterations
        ours = statistics.median(seconds for seconds, _ in our_runs)
        figures[f"{kind}_time_ratio_vs_bare_unicorn"] = time_ratio(ours, per_iter_bare * iterations)
        if kind == "cpu":
            # Qiling pays a Python callback per instruction: a few thousand iterations are enough.
            for peer, script, args in (("qiling", "qiling_loop.py", (path, 2_000)),
                                       ("speakeasy", "speakeasy_call.py", (path, export, iterations))):
                seconds = peer_seconds(peer, script, *args, key="cpu_seconds")
                figures[f"{peer}_cpu_time_ratio_vs_bare_unicorn"] = time_ratio(seconds, per_iter_bare * args[-1])
    return figures


def export_rate(corpus: str, name: str, export: str, count: int, started: bool = False) -> float:
    """count / seconds for a corpus driver's exported loop export(count), in our kernel without rules."""
    return round(count / best(our_seconds, os.path.join(corpus, name), export, count, started), 1)


def session_rate(corpus: str, name: str, export: str, count: int, per_round: int = 1) -> float:
    """Rounds (times `per_round` calls) per second of export(count) in a Session with the rules on."""
    return round(per_round * count / session_seconds(os.path.join(corpus, name), export, count), 1)


def speakeasy_rate(corpus: str, name: str, export: str, count: int) -> float | None:
    seconds = peer_seconds("speakeasy", "speakeasy_call.py", os.path.join(corpus, name), export, count)
    return None if seconds is None else round(count / seconds, 1)


def qiling_restores_per_s(corpus: str, runs: int) -> float | None:
    """Qiling's best loop: `ql.restore` of a snapshot then a short BenchLoop(100), per second."""
    seconds = peer_seconds("qiling", "qiling_loop.py", os.path.join(corpus, "cpu_loop.sys"), 100, runs)
    return None if seconds is None else round(runs / seconds, 1)


FUZZ_INPUTS = 5_000            # our inputs at --scale 1; a peer runs the first 1/10 (Speakeasy) or 1/25 (Qiling)


def fuzz_vs_peers(corpus: str, scale: float, ours: float) -> dict[str, float | None]:
    """Each peer's best fuzz loop on fuzz_bench.sys (benchmarks/peers/*_fuzz.py, the same seeded
    inputs and the same ParseRequest machine code) in execs per second of wall time, and `ours`
    (this run's `fuzz_execs_per_s`) over theirs. A peer that is missing, fails or computes other
    answers gives null."""
    driver = os.path.join(corpus, workload.DRIVER)
    figures: dict[str, float | None] = {}
    for peer, share in (("speakeasy", 10), ("qiling", 25)):
        count = max(1, int(FUZZ_INPUTS * scale) // share)
        seconds = peer_seconds(peer, f"{peer}_fuzz.py", driver, count)
        figures[f"{peer}_fuzz_execs_per_s"] = None if seconds is None else round(count / seconds, 1)
    for peer in ("speakeasy", "qiling"):
        theirs = figures[f"{peer}_fuzz_execs_per_s"]
        figures[f"fuzz_vs_{peer}"] = round(ours / theirs, 1) if theirs and ours else None
    return figures


def fuzz_execs_per_s(corpus: str, scale: float) -> float:
    """`verifier fuzz`'s executor on fuzz_bench.sys, as a fuzz campaign runs each input: restore the
    snapshot taken after DriverEntry + IRP_MJ_CREATE, send the input as a scenario step
    (IRP_MJ_DEVICE_CONTROL, the workload's bytes, a 16-byte output buffer), run the deferred work,
    with the code integrity rules subscribed, edge coverage on and a 2 s per-input time budget
    (verifier/fuzz/target.py). The peers' seeded inputs, so both sides do the same work; every
    answer (Information, output) is checked against fuzz_bench.c's. Inputs per second of wall
    time, the best of REPEAT passes. Mutation and corpus bookkeeping, which a campaign adds, are
    not in it."""
    from verifier.fuzz import DEFAULT_INPUT_TIMEOUT
    from verifier.fuzz.target import FuzzTarget
    from verifier.scenario import ioctl_step
    from verifier.session import Options
    driver = os.path.join(corpus, workload.DRIVER)
    target = FuzzTarget(driver, open(driver, "rb").read(), Options(), DEFAULT_INPUT_TIMEOUT)
    target.prepare()
    inputs = workload.inputs(max(1, int(FUZZ_INPUTS * scale)))
    steps = [[ioctl_step(workload.IOCTL, data, workload.OUTPUT_LENGTH)] for data in inputs]
    runs = []
    for _ in range(REPEAT):
        gc.collect()
        answers = []
        start = time.perf_counter()
        for input_steps in steps:
            target.execute(input_steps)
            answer = target.session.report.entry_points[-1]
            answers.append((answer.information, bytes.fromhex(answer.output)))
        runs.append(time.perf_counter() - start)
        if workload.digest(answers) != workload.digest(map(workload.expected, inputs)):
            raise RuntimeError(f"{driver}: ParseRequest's answers differ from fuzz_bench.c's")
    return round(len(inputs) / min(runs), 1)


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


def snapshot_figures(corpus: str, rounds: int) -> dict[str, float]:
    """Kernel snapshots on ioctl.sys (the fuzzing setting: one machine, restored before every input).

    `restore_us`: median time of `Kernel.restore` after a small input (AllocLoop(1) from
    alloc_loop.sys: one pool block allocated, written by driver code, freed), from a snapshot taken
    after ioctl.sys's DriverEntry. `tb_cache_speedup`: ioctl.sys's DriverEntry + restore, run
    `rounds // 5` times from a snapshot taken before it, with Unicorn's translated blocks kept (what
    restores do) versus flushed before every run (what re-creating or flushing the machine costs
    at best): flushed time / warm time. Both in process CPU time, which the shared machine's load
    disturbs far less than wall time."""
    import statistics

    from unicorn import unicorn_const as ucc

    from hooks.kernel import Kernel
    k = Kernel()
    loaded = {}
    for name in ("ioctl", "alloc_loop"):
        with open(os.path.join(corpus, f"{name}.sys"), "rb") as fh:
            loaded[name] = k.load_driver(PeImage.parse(fh.read(), f"{name}.sys"), name)
    ioctl, loop = loaded["ioctl"], loaded["alloc_loop"]
    before_entry = k.snapshot()

    def entries(flush: bool) -> float:
        start = time.process_time()
        for _ in range(rounds // 5):
            if flush:
                k.machine.uc.ctl(ucc.UC_CTL_TB_FLUSH, ucc.UC_CTL_IO_WRITE)
            k.call(ioctl.image.entry, [ioctl.driver_object, ioctl.registry_path])
            k.restore(before_entry)
        return time.process_time() - start

    entries(False)
    speedup = min(entries(True) for _ in range(REPEAT)) / min(entries(False) for _ in range(REPEAT))
    k.call(ioctl.image.entry, [ioctl.driver_object, ioctl.registry_path])
    after_entry = k.snapshot()
    alloc_loop = loop.image.base + loop.image.image.exports()["AllocLoop"]
    times = []
    for _ in range(rounds):
        k.call(alloc_loop, [1])
        start = time.process_time()
        k.restore(after_entry)
        times.append(time.process_time() - start)
    return {"restore_us": round(statistics.median(times) * 1e6, 1), "tb_cache_speedup": round(speedup, 2)}
