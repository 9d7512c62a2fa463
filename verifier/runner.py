"""`verifier run`: each driver in its own emulated kernel, one report for all."""
from __future__ import annotations

from verifier.inputs import driver_files, read_driver
from verifier.report import Report
from verifier.session import Options, run_driver


def run_paths(paths: list[str], options: Options) -> Report:
    report = Report("run")
    for path, failed in driver_files(paths):
        if failed is None:
            data, failed = read_driver(path)
        report.drivers.append(failed if failed is not None else run_driver(path, data, options))
    return report
