"""SARIF 2.1.0, one result per bug check and warning, so code-scanning UIs can list them."""
from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING

from verifier.bugcheck import BugCheck
from verifier.render.text import format_arg
from verifier.report import Report

if TYPE_CHECKING:                       # baseline builds on this module's fingerprints
    from verifier.baseline import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "hvci-verifier"
FINGERPRINT_KEY = "hvciFinding/v1"      # partialFingerprints key; bump the suffix if the recipe changes


def rule_id(b: BugCheck) -> str:
    return f"C4-{b.args[0]:X}" if b.rule else f"BUGCHECK-{b.code:X}"


def fingerprint(driver: str, b: BugCheck) -> str:
    """Stable across nights: the driver's name, the rule, the caller's RVA, the API (and the section of a
    load-time image rule); never the load base, the arguments' addresses or the order of the run."""
    material = "|".join(str(x) for x in (driver, rule_id(b), b.caller_rva, b.api, b.section))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _location(path: str, rva: int | None) -> dict:
    loc: dict = {"physicalLocation": {"artifactLocation": {"uri": path.replace(os.sep, "/")}}}
    if rva is not None:
        loc["physicalLocation"]["address"] = {"relativeAddress": rva, "kind": "instruction"}
    return loc


def render_sarif(report: Report, names: list[str] | None = None, states: dict[str, str] | None = None,
                 absent: list[Finding] = ()) -> str:
    """`names`: each driver's name for its fingerprints (default: the file name); with `states`
    (fingerprint -> new/updated/unchanged) every result gets a baselineState, and each `absent` finding
    of the baseline becomes a result in state "absent"."""
    rules: dict[str, dict] = {}
    results: list[dict] = []
    notifications: list[dict] = []
    for i, d in enumerate(report.drivers):
        name = names[i] if names else os.path.basename(d.path)
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
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint(name, b)},
            })
            if states is not None:
                results[-1]["baselineState"] = states.get(fingerprint(name, b), "new")
        for w in d.warnings:
            rid = f"W-{w.kind}"
            rules.setdefault(rid, {"id": rid, "name": w.kind, "shortDescription": {"text": w.kind}})
            results.append({"ruleId": rid, "level": "warning", "message": {"text": w.message},
                            "locations": [_location(d.path, w.caller_rva)]})
    for f in absent:
        rules.setdefault(f.rule, {"id": f.rule, "name": f.rule, "shortDescription": {"text": f.rule}})
        where = f" at {f.driver}+0x{f.caller_rva:x}" if f.caller_rva is not None else ""
        what = f" in {f.api}" if f.api else (f" (section {f.section})" if f.section else "")
        results.append({"ruleId": f.rule, "level": "none", "baselineState": "absent",
                        "message": {"text": f"Fixed since the baseline: {f.rule}{what}{where}."},
                        "locations": [_location(f.driver, f.caller_rva)],
                        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint}})
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "informationUri": "https://learn.microsoft.com/windows-hardware/drivers/devtest/code-integrity-checking",
                            "rules": list(rules.values())}},
        "results": results,
        "invocations": [{"executionSuccessful": not report.interrupted and all(n["level"] != "error"
                                                                             for n in notifications),
                         "toolExecutionNotifications": notifications}],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)
