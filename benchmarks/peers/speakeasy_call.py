"""Call an exported function of a corpus driver, fn(n), in Speakeasy; print {"seconds", "cpu_seconds", "result"}.

Runs under a Python that has speakeasy-emulator 2 installed (see benchmarks/setup_peers.sh).
Speakeasy loads the driver itself (its own kernel emulation); DriverEntry is not run.
"""
import json
import sys
import time

import pefile
import speakeasy

path, export, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pe = pefile.PE(path)
rva = next(e.address for e in pe.DIRECTORY_ENTRY_EXPORT.symbols if e.name == export.encode())
se = speakeasy.Speakeasy()
module = se.load_module(path)
se.emu.run_queue.clear()              # loading queued DriverEntry; only the export is measured
start, cpu = time.perf_counter(), time.process_time()
se.call(module.base + rva, [n])
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
run = se.emu.runs[-1]
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "result": run.ret_val,
                  "error": str(run.error) if run.error else None}))
