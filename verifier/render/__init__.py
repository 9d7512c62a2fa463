"""Renderers of the shared report model: text (WinDbg !analyze style), JSON, SARIF and JUnit.

Each is imported when asked for, so a run pays only for the format it prints.
"""
from __future__ import annotations

from importlib import import_module
from typing import Callable

from verifier.report import Report

# format -> (module under verifier.render, function)
FORMATS = {"text": ("text", "render_text"), "json": ("json_report", "render_json"),
           "sarif": ("sarif", "render_sarif"), "junit": ("junit", "render_junit")}


def renderer(fmt: str) -> Callable[[Report], str]:
    module, function = FORMATS[fmt]
    return getattr(import_module(f"verifier.render.{module}"), function)
