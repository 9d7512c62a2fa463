"""The report of `verifier repro`: reported and emulated bug checks side by side, or how near the search came."""
from __future__ import annotations

import json

from verifier.bugcheck import DRIVER_VERIFIER_DETECTED_VIOLATION, BugCheck
from verifier.render.json_report import report_json
from verifier.repro import Outcome, same_value
from verifier.report import DriverReport, Report


def closest(outcome: Outcome) -> list[str]:
    """What came nearest when nothing matched: the same bug check elsewhere, or the call site reached
    with other arguments."""
    t, seen = outcome.target, {}                 # what was reached -> the runs that reached it
    for a in outcome.attempts:
        for b in a.report.bugchecks:
            if b.code != t.reported.code:
                continue
            rva = t.emulated_rva(b, a.report.image_base)
            if rva == t.rva:
                point = (f"the call site was reached, with arguments {_args(b.args)} instead of "
                         f"{_args(t.reported.args)}")
            elif same_value(t.reported.args[0], b.args[0]):
                where = f"RVA 0x{rva:x}" if rva is not None else "an unknown place"
                point = f"the same violation{f' ({b.api})' if b.api else ''} from another call site, {where}"
            else:
                continue
            seen.setdefault(point, []).append(a.label)
    if not seen:
        _probed(outcome, seen)
    return [f"{point} ({runs[0]}{f', and {len(runs) - 1} more run(s)' if len(runs) > 1 else ''})"
            for point, runs in seen.items()]


def _probed(outcome: Outcome, seen: dict[str, list[str]]) -> None:
    """Without a bug check of the kind: whether runs executed the call site, or entered its function."""
    t = outcome.target
    site, function = t.probes.get("site"), t.probes.get("function")
    what = "the call" if t.reported.code == DRIVER_VERIFIER_DETECTED_VIOLATION else "the instruction"
    for a in outcome.attempts:
        if "site" in a.reached:
            seen.setdefault(f"{what} at RVA 0x{site:x} ran, without this bug check", []).append(a.label)
        elif "function" in a.reached:
            seen.setdefault(f"its function (RVA 0x{function:x}) was entered, but {what} at RVA 0x{site:x} did not "
                            "run", []).append(a.label)


def _args(args) -> str:
    return "{" + ", ".join(f"0x{a:x}" if isinstance(a, int) else str(a) for a in args) + "}"


def side_by_side(outcome: Outcome) -> dict:
    t = outcome.target
    reported = {"code": t.reported.code, "args": list(t.reported.args), "caller_rva": t.rva}
    emulated = None
    if outcome.found:
        b = outcome.found.match
        emulated = {"code": b.code, "args": list(b.args),
                    "caller_rva": t.emulated_rva(b, outcome.found.report.image_base)}
    return {"reproduced": outcome.found is not None, "scenario": outcome.scenario_path,
            "reported": reported, "emulated": emulated,
            "call_site": t.call_site[0] if t.call_site else None, "api": t.api, "runs": len(outcome.attempts),
            "found_by": outcome.found.label if outcome.found else None,
            "closest": [] if outcome.found else closest(outcome)}


def render_text(driver: str, outcome: Outcome) -> str:
    t, r = outcome.target, outcome.target.reported
    name = BugCheck(r.code, r.args).name
    lines = [f"{driver}: reproducing {name} (0x{r.code:X}) from {r.source}"]
    if t.rva is not None:
        lines.append(f"  load base 0x{t.load_base:x} ({t.base_source}); reported address -> RVA 0x{t.rva:x}")
    lines += [f"  call site: {s}" + (f"  -> {t.api}" if t.api else "") for s in t.call_site]
    if r.context_rip:
        lines.append(f"  the dump's context: RIP 0x{r.context_rip:x}")
    runs = len(outcome.attempts)
    if outcome.found:
        b, image_base = outcome.found.match, outcome.found.report.image_base
        lines.append(f"  REPRODUCED by {outcome.found.label} (run {runs})")
        lines.append(f"  {'':<11}{'reported':<22}emulated")
        stable = t.stable
        for i in range(4):
            note = "" if i in stable else "  (depends on the load address or memory layout)"
            lines.append(f"  Arg{i + 1:<8}{_hex(r.args[i]):<22}{_hex(b.args[i])}{note}")
        lines.append(f"  {'RVA':<11}{_hex(t.rva):<22}{_hex(t.emulated_rva(b, image_base))}")
        lines.append(f"  scenario written to {outcome.scenario_path} (replay: verifier run --scenario "
                     f"{outcome.scenario_path} {driver})")
    else:
        why = "the time budget ran out" if outcome.timed_out else "the bounded search is exhausted"
        lines.append(f"  NOT REPRODUCED in {runs} run(s) ({why})")
        near = closest(outcome)
        lines += [f"  closest: {c}" for c in near] or ["  closest: no run raised 0x"
                                                       f"{r.code:X} with Arg1 {_hex(r.args[0])} anywhere"]
        lines.append("  `verifier fuzz` (directed at the call site) will search further when it lands")
    return "\n".join(lines)


def _hex(value) -> str:
    return f"0x{value:x}" if isinstance(value, int) else str(value)


def render_json(driver: str, outcome: Outcome) -> str:
    shown = (outcome.found or outcome.attempts[0]) if outcome.attempts else None
    record = shown.report if shown else DriverReport(driver)
    report = Report("repro", [record])
    doc = report_json(report)
    doc["exit_code"] = outcome.exit_code
    doc["drivers"][0]["repro"] = side_by_side(outcome)
    return json.dumps(doc, indent=2)
