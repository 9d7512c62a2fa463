"""Run cpu_loop.sys's exported BenchLoop(n) in Qiling; print {"seconds", "cpu_seconds", "result"} as JSON.

    qiling_loop.py DRIVER N          one run of BenchLoop(N)
    qiling_loop.py DRIVER N RUNS     Qiling's snapshot loop: ql.save() once, then RUNS times
                                     ql.restore() + BenchLoop(N); "seconds" covers the RUNS

Runs under a Python that has Qiling installed (see benchmarks/setup_peers.sh). Qiling's Windows
driver loader needs a real ntoskrnl.exe in its rootfs, which is not redistributable, so neither
our drivers nor its IOCTL helper (qiling.os.windows.utils.ioctl) can run here: the same machine
code is run in Qiling's Windows shellcode mode, the code section entered at BenchLoop. That mode
keeps Qiling's Windows API hook, a Python callback on every instruction.
"""
import json
import sys
import time

import pefile
from qiling import Qiling
from qiling.const import QL_ARCH, QL_OS, QL_VERBOSE

path, n = sys.argv[1], int(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 0
pe = pefile.PE(path)
rva = next(e.address for e in pe.DIRECTORY_ENTRY_EXPORT.symbols if e.name == b"BenchLoop")
section = next(s for s in pe.sections if s.VirtualAddress <= rva < s.VirtualAddress + s.Misc_VirtualSize)
code = section.get_data() + b"\x90" * 16
ql = Qiling(code=code, archtype=QL_ARCH.X8664, ostype=QL_OS.WINDOWS, verbose=QL_VERBOSE.DISABLED)
base = ql.loader.entry_point
begin, end = base + rva - section.VirtualAddress, base + len(code) - 16
ql.arch.regs.rcx = n
ql.arch.stack_push(end)
if runs:
    saved = ql.save()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        ql.restore(saved)
        ql.run(begin=begin, end=end)
else:
    start, cpu = time.perf_counter(), time.process_time()
    ql.run(begin=begin, end=end)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                  "result": ql.arch.regs.rax}))
