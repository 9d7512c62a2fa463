"""JSON: integers stay integers; strings only where Windows passes a string (image and section names)."""
from __future__ import annotations

import json
from dataclasses import asdict

from hooks.volume import WrittenFile
from verifier.bugcheck import BugCheck
from verifier.report import (DriverReport, EntryPointResult, ErrorLogRecord, FuzzFinding, FuzzSummary, PoolLeak,
                             Report, UnimplementedApi, WdfDevice, WdfQueue, WdfSummary)
from verifier.warning import DriverWarning

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
        "registered_not_run": d.registered_not_run,
        "pool_leaks": [asdict(p) for p in d.pool_leaks],
        "debug_output": d.debug_output,
        "error_log": [asdict(e) for e in d.error_log],
        "files_written": [asdict(f) for f in d.files_written],
        "wdf": asdict(d.wdf) if d.wdf else None,
        **({"fuzz": fuzz_json(d.fuzz)} if d.fuzz else {}),
    }


def fuzz_json(f: FuzzSummary) -> dict:
    record = {name: getattr(f, name) for name in ("execs", "execs_per_s", "edges", "corpus", "seconds", "seed",
                                                  "jobs", "hangs", "errors")}
    record["findings"] = [{**bugcheck_json(x.bugcheck), "scenario": x.scenario, "reproduced": x.reproduced,
                           "first_exec": x.execs} for x in f.findings]
    return record


def report_json(report: Report) -> dict:
    return {"version": SCHEMA_VERSION, "command": report.command, "exit_code": report.exit_code,
            "drivers": [driver_json(d) for d in report.drivers]}


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2)


def bugcheck_from_json(b: dict) -> BugCheck:
    return BugCheck(b["code"], tuple(b["args"]), api=b["api"], caller_rva=b["caller_rva"], section=b["section"],
                    entry_point=b["entry_point"], notes=b["notes"], call=b["call"],
                    disassembly=b["disassembly"], stack=b["stack"], count=b["count"])


def driver_from_json(d: dict) -> DriverReport:
    """The inverse of driver_json: batch caches and baselines are read back through it. Keys a report
    of an older version lacks take their defaults (later versions add keys, none is renamed)."""
    return DriverReport(
        d["path"], sha256=d.get("sha256"), error=d.get("error"), incomplete=d.get("incomplete"),
        image_base=d.get("image_base"),
        bugchecks=[bugcheck_from_json(b) for b in d["bugchecks"]],
        warnings=[DriverWarning(**w) for w in d.get("warnings", [])],
        entry_points=[EntryPointResult(**e) for e in d.get("entry_points", [])],
        unimplemented_apis=[UnimplementedApi(**u) for u in d.get("unimplemented_apis", [])],
        coverage=d.get("coverage", "full"), coverage_cut=d.get("coverage_cut"),
        unsupported_relocs=d.get("unsupported_relocs"), debug_output=d.get("debug_output", []),
        registered_not_run=d.get("registered_not_run", []),
        pool_leaks=[PoolLeak(**p) for p in d.get("pool_leaks", [])],
        error_log=[ErrorLogRecord(**e) for e in d.get("error_log", [])],
        files_written=[WrittenFile(**f) for f in d.get("files_written", [])],
        wdf=wdf_from_json(d["wdf"]) if d.get("wdf") else None,
        fuzz=fuzz_from_json(d["fuzz"]) if d.get("fuzz") else None)


def fuzz_from_json(f: dict) -> FuzzSummary:
    findings = [FuzzFinding(bugcheck_from_json(x), x["scenario"], x["reproduced"], x["first_exec"])
                for x in f["findings"]]
    return FuzzSummary(f["execs"], f["execs_per_s"], f["edges"], f["corpus"], f["seconds"], f["seed"], f["jobs"],
                       f["hangs"], f["errors"], findings)


def wdf_from_json(w: dict) -> WdfSummary:
    devices = [WdfDevice(dev["name"], dev["control"], dev["callbacks"], [WdfQueue(**q) for q in dev["queues"]])
               for dev in w["devices"]]
    return WdfSummary(w["version"], w["func_count"], w["driver_callbacks"], devices, w["calls"], w.get("ran", []),
                      w.get("not_run", []))
