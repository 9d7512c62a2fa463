"""Renderers of the shared report model: text (WinDbg !analyze style), JSON, SARIF and JUnit."""
from __future__ import annotations

from typing import Callable

from verifier.render.json_report import render_json
from verifier.render.junit import render_junit
from verifier.render.sarif import render_sarif
from verifier.render.text import render_text
from verifier.report import Report

RENDERERS: dict[str, Callable[[Report], str]] = {"text": render_text, "json": render_json, "sarif": render_sarif,
                                                 "junit": render_junit}
