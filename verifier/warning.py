"""Findings that are worth a developer's attention but are not bug checks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriverWarning:
    kind: str            # stable identifier, e.g. "unsupported-relocs", "contiguous-executable"
    message: str
    api: str | None = None
    caller_rva: int | None = None
