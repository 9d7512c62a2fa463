"""`verifier scan`: the load-time image rules over files and directories, no emulation."""
from __future__ import annotations

import os

from emu.pe import ImageError, PeImage
from verifier.image_rules import check_image
from verifier.inputs import driver_files, read_driver
from verifier.report import DriverReport, Report


def scan_bytes(path: str, data: bytes) -> DriverReport:
    report = DriverReport(path, sha256=DriverReport.digest(data))
    try:
        image = PeImage.parse(data, os.path.basename(path))
        image.require_kernel_driver()          # the same refusals as `run`
        found = check_image(image)
    except ImageError as exc:
        report.error = str(exc)
        return report
    report.image_base = image.image_base
    report.bugchecks = found.bugchecks
    report.warnings = found.warnings
    report.unsupported_relocs = found.unsupported_relocs
    return report


def scan_paths(paths: list[str]) -> Report:
    report = Report("scan")
    for path, failed in driver_files(paths):
        if failed is None:
            data, failed = read_driver(path)
        report.drivers.append(failed if failed is not None else scan_bytes(path, data))
    return report
