"""SARIF 2.1.0, one result per bug check and warning, so code-scanning UIs can list them."""
from __future__ import annotations

import json
import os

from verifier.bugcheck import BugCheck
from verifier.render.text import format_arg
from verifier.report import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "hvci-verifier"


def rule_id(b: BugCheck) -> str:
    return f"C4-{b.args[0]:X}" if b.rule else f"BUGCHECK-{b.code:X}"


def _location(path: str, rva: int | None) -> dict:
    loc: dict = {"physicalLocation": {"artifactLocation": {"uri": path.replace(os.sep, "/")}}}
    if rva is not None:
        loc["physicalLocation"]["address"] = {"relativeAddress": rva, "kind": "instruction"}
    return loc


def render_sarif(report: Report) -> str:
    rules: dict[str, dict] = {}
    results: list[dict] = []
    notifications: list[dict] = []
    for d in report.drivers:
        if d.error:
            notifications.append({"level": "error", "message": {"text": f"{d.path}: {d.error}"}})
            continue
        if d.incomplete:
            notifications.append({"level": "warning", "message": {"text": f"{d.path}: {d.incomplete}"}})
        for b in d.bugchecks:
            rid = rule_id(b)
            _, desc = b.describe()
            rules.setdefault(rid, {"id": rid, "name": b.name,
                                   "shortDescription": {"text": desc[0] or b.name},
                                   "help": {"text": b.fix or desc[0] or b.name}})
            args = ", ".join(format_arg(a) for a in b.args)
            where = f" at {os.path.basename(d.path)}+0x{b.caller_rva:x}" if b.caller_rva is not None else ""
            what = f" in {b.call or b.api}" if b.api else (f" (section {b.section})" if b.section else "")
            results.append({
                "ruleId": rid, "level": "error",
                "message": {"text": f"Bug check 0x{b.code:X} {b.name} ({args}){what}{where}. {desc[0]}"},
                "locations": [_location(d.path, b.caller_rva)],
                "properties": {"code": b.code, "args": list(b.args), "api": b.api, "section": b.section,
                               "entry_point": b.entry_point, "count": b.count},
            })
        for w in d.warnings:
            rid = f"W-{w.kind}"
            rules.setdefault(rid, {"id": rid, "name": w.kind, "shortDescription": {"text": w.kind}})
            results.append({"ruleId": rid, "level": "warning", "message": {"text": w.message},
                            "locations": [_location(d.path, w.caller_rva)]})
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "informationUri": "https://learn.microsoft.com/windows-hardware/drivers/devtest/code-integrity-checking",
                            "rules": list(rules.values())}},
        "results": results,
        "invocations": [{"executionSuccessful": not report.interrupted and all(n["level"] != "error"
                                                                             for n in notifications),
                         "toolExecutionNotifications": notifications}],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)
