"""JSON: integers stay integers; strings only where Windows passes a string (image and section names)."""
from __future__ import annotations

import json
from dataclasses import asdict

from verifier.bugcheck import BugCheck
from verifier.report import DriverReport, Report

SCHEMA_VERSION = 1


def bugcheck_json(b: BugCheck) -> dict:
    return {
        "code": b.code, "name": b.name, "args": list(b.args), "rule": b.rule, "api": b.api,
        "caller_rva": b.caller_rva, "section": b.section, "entry_point": b.entry_point,
        "count": b.count, "call": b.call, "fix": b.fix, "notes": b.notes, "stack": b.stack,
        "disassembly": b.disassembly,
    }


def driver_json(d: DriverReport) -> dict:
    return {
        "path": d.path, "sha256": d.sha256, "error": d.error, "incomplete": d.incomplete,
        "image_base": d.image_base,
        "bugchecks": [bugcheck_json(b) for b in d.bugchecks],
        "warnings": [asdict(w) for w in d.warnings],
        "entry_points": [asdict(e) for e in d.entry_points],
        "unimplemented_apis": [asdict(u) for u in d.unimplemented_apis],
        "coverage": d.coverage, "coverage_cut": d.coverage_cut,
        "unsupported_relocs": d.unsupported_relocs,
        "debug_output": d.debug_output,
        "error_log": [asdict(e) for e in d.error_log],
        "files_written": [asdict(f) for f in d.files_written],
        "wdf": asdict(d.wdf) if d.wdf else None,
    }


def render_json(report: Report) -> str:
    return json.dumps({"version": SCHEMA_VERSION, "command": report.command,
                       "exit_code": report.exit_code,
                       "drivers": [driver_json(d) for d in report.drivers]}, indent=2)
