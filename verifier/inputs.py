"""Turning command-line paths into driver files, each failure becoming a one-line report entry."""
from __future__ import annotations

import os
from typing import Iterator

from verifier.report import DriverReport


def driver_files(paths: list[str]) -> Iterator[tuple[str, DriverReport | None]]:
    """Yield (path, None) for each driver to check, or (path, report-with-error) for unusable input."""
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(root, f) for root, _, files in os.walk(path)
                           for f in files if f.lower().endswith(".sys"))
            if not found:
                yield path, DriverReport(path, error="directory holds no *.sys driver")
            for f in found:
                yield f, None
        elif os.path.exists(path):
            yield path, None
        else:
            yield path, DriverReport(path, error="no such file or directory")


def read_driver(path: str) -> tuple[bytes | None, DriverReport | None]:
    try:
        with open(path, "rb") as fh:
            return fh.read(), None
    except OSError as exc:
        return None, DriverReport(path, error=f"cannot read: {exc.strerror or exc}")


def make_folder(folder: str, what: str, hint: str) -> str | None:
    """Create `folder` (and its parents) when missing; the one-line reason when it cannot be used."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        return f"cannot use {what} {folder}: {exc.strerror or exc} ({hint})"
    return None
