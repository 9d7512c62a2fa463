"""Speakeasy's best fuzz loop on fuzz_bench.sys: one DEVICE_CONTROL IRP per input to the dispatch
routine the driver registered, in one loaded emulator; prints {"execs", "seconds", "cpu_seconds",
"execs_per_s", "what"} (and "error" when an answer differs from fuzz_bench.c's) as JSON.

    speakeasy_fuzz.py DRIVER N

Runs under a Python that has speakeasy-emulator 2 installed (see benchmarks/setup_peers.sh).
What Speakeasy offers (read in speakeasy/windows/kernel.py, 2.0.0b9): `run_module` runs DriverEntry
with its own IoCreateDevice, and with `all_entrypoints` sends each registered IRP_MJ_* routine one
IRP of its own making, once. Its DEVICE_CONTROL IRP has the fixed code 0x5D5D5D5D and no buffers,
written into an IO_STACK_LOCATION that is neither where the IRP's CurrentStackLocation points nor
laid out as x64 Windows lays it out (Parameters at +0x10, not +8): a driver never sees a chosen
IOCTL. It saves and restores no machine state. Its best loop is therefore: DriverEntry once, then
per input `se.emu.call(dispatch, [device, irp])` (what `se.call` does, without logging the whole
configuration first) on one IRP made by Speakeasy (`emu.new_irp`), whose current stack location
and SystemBuffer this script fills at Windows' x64 offsets (wdm.h); the answer is read from
IoStatus and the SystemBuffer, as the I/O manager copies it back. The handler keeps no state
between inputs, so reusing the emulator without a restore gives the answers a restored one would.
String analysis is off (on, it scans emulated memory after every run: ~0.1 s per input), and so is
the time limit (like ours here: Unicorn's timeout starts a timer thread per emu_start, which
costs more wall time than this handler takes).
"""
import os
import struct
import sys
import time

import speakeasy
from speakeasy.config import get_default_config_dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_workload as workload  # noqa: E402

IRP_MJ_DEVICE_CONTROL = 0x0E
IRP_SYSTEM_BUFFER, IRP_STATUS, IRP_INFORMATION, IRP_CURRENT_LOCATION = 0x18, 0x30, 0x38, 0xB8   # IRP, x64
SL_OUTPUT_LENGTH, SL_DEVICE_OBJECT = 0x08, 0x28                                                # IO_STACK_LOCATION

path, count = sys.argv[1], int(sys.argv[2])
inputs = workload.inputs(count)
config = get_default_config_dict()
config["analysis"]["strings"] = False
config["timeout"] = 0
se = speakeasy.Speakeasy(config=config)
module = se.load_module(path)
se.run_module(module)                                  # DriverEntry only
emu = se.emu
driver = next(d for d in emu.drivers if d.pe is module)   # the system's drivers come first
driver.read_back()
dispatch, device = driver.mj_funcs[IRP_MJ_DEVICE_CONTROL], driver.devices[0].address
irp = emu.new_irp().address
location = struct.unpack("<Q", emu.mem_read(irp + IRP_CURRENT_LOCATION, 8))[0]
buffer = emu.mem_map(max(workload.MAX_INPUT, workload.OUTPUT_LENGTH), tag="fuzz.SystemBuffer")
emu.mem_write(irp + IRP_SYSTEM_BUFFER, struct.pack("<Q", buffer))
emu.mem_write(location + SL_DEVICE_OBJECT, struct.pack("<Q", device))

results = []
start, cpu = time.perf_counter(), time.process_time()
for data in inputs:
    emu.mem_write(location, bytes([IRP_MJ_DEVICE_CONTROL]))
    emu.mem_write(location + SL_OUTPUT_LENGTH,
                  struct.pack("<QQI", workload.OUTPUT_LENGTH, len(data), workload.IOCTL))
    emu.mem_write(buffer, data)
    emu.mem_write(irp + IRP_STATUS, bytes(16))
    emu.call(dispatch, [device, irp])   # se.call without its per-call config log
    information = struct.unpack("<Q", emu.mem_read(irp + IRP_INFORMATION, 8))[0]
    results.append((information, bytes(emu.mem_read(buffer, min(information, workload.OUTPUT_LENGTH)))))
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu

print(workload.report(inputs, results, seconds, cpu_seconds,
                      "Speakeasy 2: DriverEntry once, then per input emu.call(IRP_MJ_DEVICE_CONTROL routine, "
                      "[device, irp]) in the same emulator (it has no snapshots; the handler is stateless), on "
                      "one Speakeasy-made IRP whose stack location and SystemBuffer the script fills "
                      "(Speakeasy's own DEVICE_CONTROL IRP carries no chosen IOCTL or input)"))
