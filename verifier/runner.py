"""`verifier run`: each driver in its own emulated kernel, one report for all.

Ctrl-C stops the emulation at once (emu.machine.stop_on_interrupt); the report then holds the drivers
already checked and the one interrupted, and says it was interrupted.
"""
from __future__ import annotations

from emu.machine import stop_on_interrupt
from verifier.inputs import driver_files, read_driver
from verifier.report import Report
from verifier.session import Options, Session


def run_paths(paths: list[str], options: Options) -> Report:
    report = Report("run")
    try:
        with stop_on_interrupt():
            for path, failed in driver_files(paths):
                if failed is None:
                    data, failed = read_driver(path)
                if failed is not None:
                    report.drivers.append(failed)
                    continue
                session = Session(path, data, options)
                try:
                    report.drivers.append(session.run())
                except KeyboardInterrupt:
                    report.drivers.append(session.interrupted())
                    raise
    except KeyboardInterrupt:          # during a run (its driver is listed above) or between two
        report.interrupted = True
    return report
