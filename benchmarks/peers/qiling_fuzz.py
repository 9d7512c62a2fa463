"""Qiling's best fuzz loop on fuzz_bench.sys: ql.save() once, then per input ql.restore() + the input
written + ParseRequest run; prints {"execs", "seconds", "cpu_seconds", "execs_per_s", "what"} (and
"error" when an answer differs from fuzz_bench.c's) as JSON.

    qiling_fuzz.py DRIVER N

Runs under a Python that has Qiling installed (see benchmarks/setup_peers.sh). Qiling's Windows
driver loader needs a real ntoskrnl.exe in its rootfs (not redistributable), so it cannot load the
driver, send it IRPs or use its IOCTL helper (qiling.os.windows.utils.ioctl needs a loaded driver):
the driver's code section runs in Qiling's Windows shellcode mode, entered at the exported
ParseRequest, the function the driver's DEVICE_CONTROL routine calls on the SystemBuffer. That mode
keeps Qiling's Windows API hook, a Python callback on every instruction.
"""
import os
import sys
import time

import pefile
from qiling import Qiling
from qiling.const import QL_ARCH, QL_OS, QL_VERBOSE

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_workload as workload  # noqa: E402

BUFFERS = 0x5000_0000        # input at +0, output at +0x800

path, count = sys.argv[1], int(sys.argv[2])
inputs = workload.inputs(count)
pe = pefile.PE(path)
rva = next(e.address for e in pe.DIRECTORY_ENTRY_EXPORT.symbols if e.name == workload.EXPORT.encode())
section = next(s for s in pe.sections if s.VirtualAddress <= rva < s.VirtualAddress + s.Misc_VirtualSize)
code = section.get_data()
ql = Qiling(code=code, archtype=QL_ARCH.X8664, ostype=QL_OS.WINDOWS, verbose=QL_VERBOSE.DISABLED)
begin = ql.loader.entry_point + rva - section.VirtualAddress
end = begin + len(code)      # where shellcode mode stops a run started at `begin` (it ignores run's `end`)
ql.mem.map(BUFFERS, 0x1000)
ql.arch.stack_push(end)      # ParseRequest returns there
saved = ql.save()

results = []
start, cpu = time.perf_counter(), time.process_time()
for data in inputs:
    ql.restore(saved)
    ql.mem.write(BUFFERS, data or b"\0")
    regs = ql.arch.regs
    regs.rcx, regs.rdx, regs.r8, regs.r9 = BUFFERS, len(data), BUFFERS + 0x800, workload.OUTPUT_LENGTH
    ql.run(begin=begin, end=end)
    information = ql.arch.regs.rax & 0xFFFFFFFF
    results.append((information, bytes(ql.mem.read(BUFFERS + 0x800, information))))
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu

print(workload.report(inputs, results, seconds, cpu_seconds,
                      "Qiling 1.4.6, Windows shellcode mode (it cannot load the driver without a real "
                      "ntoskrnl.exe): ql.save() once, then per input ql.restore() + the input written + "
                      "ParseRequest(in, len, out, 16) run from the driver's code section (what its "
                      "DEVICE_CONTROL routine calls; no IRP)"))
