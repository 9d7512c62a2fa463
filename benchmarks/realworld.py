"""How far real third-party drivers get in the emulated kernel: `python -m benchmarks.realworld DIR [--json] [--timeout S]`.

Every *.sys in DIR runs as `verifier run --continue` runs it (findings recorded, the run carried on),
each in its own worker process with a wall-clock limit, so a driver that hangs the emulator or kills
the interpreter costs its own row only. DIR is typically filled by `python tests/realworld.py --all DIR`.

Outcome of a driver = what its DriverEntry did:
  success   returned an NT_SUCCESS status          failure   returned an error status
  bugcheck  a bug check stopped DriverEntry        error     the emulator could not finish: report.error,
                                                             report.incomplete, a timeout, or the worker died
  refused   not loadable: the tool refused the image as Windows would (e.g. Wine's .sys files import
            kernel32.dll/ntdll.dll), so DriverEntry never ran; counted on a row of its own
Each loadable driver is then fuzzed as `verifier fuzz` fuzzes it (seed 0, `--fuzz-time` seconds, 5 by
default, 0 to skip): the `fuzz` column is its inputs per second, or why no input reaches it.
Loadable non-KMDF and KMDF drivers (those importing WDFLDR.SYS) are counted apart, and the non-KMDF
ones linked by Microsoft's linker (or lld-link) once more on their own: GNU ld says 2.x. The goal line
is over the loadable non-KMDF drivers: how many DriverEntry routines the emulator carried to an end
(a return or a bug check) rather than an emulator error.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import struct
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

OUTCOMES = ("success", "failure", "bugcheck", "error")   # DriverEntry ran
REFUSED = "refused"                                         # the image was refused before DriverEntry
GROUPS = ("non-kmdf", "kmdf", "non-kmdf, MS linker")
GNU_LD_MAJOR = 2          # MajorLinkerVersion GNU ld writes; Microsoft's link.exe and lld-link write 6..14
TOP_UNIMPLEMENTED = 40
# The callbacks a KMDF queue presents requests to (EvtIoInCallerContext runs before any queue, and
# EvtIoQueueState after a purge or drain: neither is one)
QUEUE_CALLBACKS = ("EvtIoDefault", "EvtIoRead", "EvtIoWrite", "EvtIoDeviceControl", "EvtIoInternalDeviceControl")


# ---- in the worker process ---------------------------------------------------------------------------
def fuzz_one(path: str, data: bytes, seconds: float) -> dict:
    """`verifier fuzz` for `seconds` from seed 0: how fast inputs run and what they found, or why no
    input reaches the driver (NotFuzzable's line, without the file name)."""
    from verifier.fuzz.command import campaign_for
    from verifier.fuzz.target import NotFuzzable
    from verifier.session import Options
    try:
        campaign, _ = campaign_for(path, data, Options())
    except NotFuzzable as exc:
        return {"fuzzable": False, "why": str(exc).split(": ", 1)[-1]}
    stats = campaign.run(seconds, None)
    return {"fuzzable": True, "execs": stats.execs, "execs_per_s": round(stats.execs_per_s), "edges": stats.edges,
            "findings": len(stats.findings), "hangs": stats.hangs, "errors": stats.errors}


def run_one(path: str, timeout: float, fuzz_s: float = 0.0) -> dict:
    """One driver's row, from a real `--continue` run."""
    from emu.pe import ImageError, PeImage
    from verifier.session import Options, run_driver

    name = os.path.basename(path)
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        image = PeImage.parse(data, name)
        kmdf = image.imports_module("wdfldr.sys")
        linker = data[struct.unpack_from("<I", data, 0x3C)[0] + 26]    # OptionalHeader.MajorLinkerVersion
    except (ImageError, struct.error, IndexError):
        image, kmdf, linker = None, False, None
    try:
        if image is not None:
            image.require_kernel_driver()
        refusal = None
    except ImageError as exc:
        refusal = str(exc)
    report = run_driver(path, data, Options(keep_going=True, timeout=timeout))
    entry = report.entry_points[0] if report.entry_points else None
    status = entry.status if entry else None
    # The outcome is DriverEntry's; what ran after it is counted apart (`entry_points`, `later`).
    later = next((f"{e.name} {e.outcome}" for e in report.entry_points[1:] if e.outcome in ("error", "timeout")), None)
    if refusal is not None and report.error == refusal and entry is None:
        outcome = REFUSED                          # the run refused it with the loader's one-line reason
    elif report.error or entry is None or entry.outcome in ("error", "timeout") or (report.incomplete and not later):
        outcome = "error"
    elif entry.outcome == "bugcheck":
        outcome = "bugcheck"
    else:
        outcome = "success" if status < 0x80000000 else "failure"
    codes = sorted({f"0x{b.code:X}/0x{b.args[0]:X}" if b.code == 0xC4 else f"0x{b.code:X}" for b in report.bugchecks})
    return {"name": name, "kmdf": kmdf, "ms_linker": linker is not None and linker > GNU_LD_MAJOR, "outcome": outcome,
            "status": None if status is None else f"0x{status:08X}",
            "bugchecks": codes, "stand_ins": sorted(f"{u.module}!{u.name}" for u in report.unimplemented_apis),
            "entry_points": [e.name for e in report.entry_points], "later": later,
            "wdf_ran": list(report.wdf.ran) if getattr(report, "wdf", None) else [],
            "note": report.error or report.incomplete,
            "fuzz": fuzz_one(path, data, fuzz_s) if fuzz_s and outcome not in ("error", REFUSED) else None}


def _error_row(path: str, note: str, **flag: bool) -> dict:
    """The row of a driver whose worker could not report: an `error` outcome, `note` saying why."""
    return {"name": os.path.basename(path), "kmdf": False, "ms_linker": False, "outcome": "error", "status": None,
            "bugchecks": [], "stand_ins": [], "entry_points": [], "later": None, "wdf_ran": [], "fuzz": None,
            "note": note, **flag}


def _worker(path: str, timeout: float, fuzz_s: float) -> None:
    try:
        row = run_one(path, timeout, fuzz_s)
    except Exception as exc:                      # an escaped Python exception is a finding of its own
        row = _error_row(path, f"Python exception escaped: {type(exc).__name__}: {exc}", exception=True)
    print(json.dumps(row))


# ---- in the parent -----------------------------------------------------------------------------------
def measure(path: str, timeout: float, fuzz_s: float = 0.0) -> dict:
    """Run one driver in a fresh interpreter; a worker that dies or overruns becomes an `error` row."""
    cmd = [sys.executable, "-m", "benchmarks.realworld", "--worker", path, "--timeout", str(timeout),
           "--fuzz-time", str(fuzz_s)]
    limit = 2 * timeout + 4 * fuzz_s + 60           # a fuzzed driver also starts again and replays its findings
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return _error_row(path, f"worker still running after {limit:g} s wall time", worker_died=True)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return _error_row(path, f"worker exited with {p.returncode}: {tail}", worker_died=True)
    return json.loads(lines[-1])


def summarize(rows: list[dict]) -> dict:
    totals = {g: dict.fromkeys(OUTCOMES, 0) for g in GROUPS}
    bugchecks, stand_ins = Counter(), Counter()
    refused = [r["name"] for r in rows if r["outcome"] == REFUSED]
    for r in rows:
        if r["outcome"] == REFUSED:
            continue
        totals["kmdf" if r["kmdf"] else "non-kmdf"][r["outcome"]] += 1
        if not r["kmdf"] and r["ms_linker"]:
            totals["non-kmdf, MS linker"][r["outcome"]] += 1
        bugchecks.update(r["bugchecks"])
        stand_ins.update(r["stand_ins"])
    plain = totals["non-kmdf"]
    goal = {"drivers": sum(plain.values()), "finished": plain["success"] + plain["failure"] + plain["bugcheck"]}
    loadable = [r for r in rows if r["outcome"] != REFUSED]
    reached = {"past_driver_entry": sum(len(r["entry_points"]) > 1 for r in loadable),
               "later_errors": sum(bool(r["later"]) for r in loadable),
               "kmdf_queue_callbacks": sum(reached_queue(r) for r in loadable if r["kmdf"]),
               "kmdf": sum(r["kmdf"] for r in loadable)}
    fuzzed = [r["fuzz"] for r in loadable if r.get("fuzz")]
    rates = [f["execs_per_s"] for f in fuzzed if f["fuzzable"]]
    fuzz = {"tried": len(fuzzed), "fuzzable": len(rates), "median_execs_per_s": statistics.median_high(rates) if rates else None,
            "with_findings": sum(bool(f["fuzzable"] and f["findings"]) for f in fuzzed),
            "why_not": dict(Counter(_why(f["why"]) for f in fuzzed if not f["fuzzable"]).most_common())}
    return {"drivers": len(rows), "totals": totals, "refused": refused, "goal_non_kmdf": goal, "reached": reached,
            "fuzz": fuzz,
            "bugchecks_by_drivers": dict(bugchecks.most_common()),
            "unimplemented_by_drivers": dict(stand_ins.most_common(TOP_UNIMPLEMENTED)),
            "worker_died": sum(bool(r.get("worker_died")) for r in rows),
            "python_exceptions": sum(bool(r.get("exception")) for r in rows)}


def _why(line: str) -> str:
    """A NotFuzzable line without what varies between drivers (statuses), to count alike reasons."""
    return line.split(" with 0x")[0].split(" (")[0].split(":")[0]


def run_corpus(directory: str, timeout: float = 30.0, jobs: int | None = None, fuzz_s: float = 0.0) -> dict:
    paths = sorted(glob.glob(os.path.join(directory, "*.sys")), key=str.lower)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        rows = list(pool.map(lambda p: measure(p, timeout, fuzz_s), paths))
    return {"timeout_s": timeout, "fuzz_s": fuzz_s, "rows": rows, "summary": summarize(rows)}


def render(result: dict) -> str:
    out = [f"{'driver':34} {'KMDF':4} {'outcome':8} {'status':10} {'entry points':12} {'bug checks':22} "
           f"{'fuzz':7} stand-in exports hit"]
    for r in result["rows"]:
        hits = r["stand_ins"]
        shown = ", ".join(h.split("!")[-1] for h in hits[:3]) + (f", +{len(hits) - 3}" if len(hits) > 3 else "")
        out.append(f"{r['name'][:34]:34} {'yes' if r['kmdf'] else '':4} {r['outcome']:8} {r['status'] or '-':10} "
                   f"{_reached(r):12} {' '.join(r['bugchecks']) or '-':22} {_fuzzed(r):7} {len(hits):2} {shown}")
        if (r["outcome"] in ("error", REFUSED) or r["later"]) and r.get("note"):
            out.append(f"{'':34}   {r['note'][:150]}")
    s = result["summary"]
    out.append("")
    out.append(f"{s['drivers']} drivers, {result['timeout_s']:g} s each; workers died: {s['worker_died']}, "
               f"Python exceptions escaped: {s['python_exceptions']}")
    for g in GROUPS:
        t = s["totals"][g]
        out.append(f"  {g:19} {sum(t.values()):3}: DriverEntry success {t['success']}, failure {t['failure']}, "
                   f"bug check {t['bugcheck']}, emulator error {t['error']}")
    out.append(f"  {'refused':19} {len(s['refused']):3}: not loadable on Windows, refused before DriverEntry")
    reached = s["reached"]
    out.append(f"entry points: {reached['past_driver_entry']} loadable drivers ran more than DriverEntry; "
               f"{reached['later_errors']} ended a later entry point in an emulator error or budget; "
               f"KMDF drivers reaching a queue callback ({', '.join(QUEUE_CALLBACKS)}): "
               f"{reached['kmdf_queue_callbacks']} of {reached['kmdf']}")
    f = s["fuzz"]
    if f["tried"]:
        out.append(f"fuzzing ({result['fuzz_s']:g} s each, seed 0): {f['fuzzable']} of {f['tried']} drivers take inputs, "
                   f"median {f['median_execs_per_s'] or 0:,} inputs/s, {f['with_findings']} with findings; not fuzzable: "
                   + (", ".join(f"{why} ({n})" for why, n in f["why_not"].items()) or "none"))
    g = s["goal_non_kmdf"]
    share = f"{100 * g['finished'] / g['drivers']:.0f}%" if g["drivers"] else "-"
    out.append(f"goal line (loadable non-KMDF): DriverEntry carried to an end (return or bug check) in "
               f"{g['finished']} of {g['drivers']} ({share})")
    out.append("bug checks (drivers): " + (", ".join(f"{c} {n}" for c, n in s["bugchecks_by_drivers"].items()) or "none"))
    out.append(f"unimplemented exports hit (drivers), top {TOP_UNIMPLEMENTED}:")
    out.extend(f"  {n:3} {name}" for name, n in s["unimplemented_by_drivers"].items())
    return "\n".join(out)


def _reached(row: dict) -> str:
    """How many entry points ran, and whether a KMDF queue callback was among what the framework ran."""
    n = len(row["entry_points"])
    return f"{n}{' +EvtIo' if reached_queue(row) else ''}" if n else "-"


def _fuzzed(row: dict) -> str:
    """Inputs per second when fuzzed, `no` when no input reaches the driver, `-` when not tried."""
    f = row.get("fuzz")
    if not f:
        return "-"
    return f"{f['execs_per_s'] / 1000:.1f}k/s" if f["fuzzable"] else "no"


def reached_queue(row: dict) -> bool:
    """Whether a KMDF queue presented a request to one of the driver's queue callbacks."""
    return any(name in QUEUE_CALLBACKS for name in row["wdf_ran"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.realworld", description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", help="folder of .sys files (python tests/realworld.py --all DIR)")
    ap.add_argument("--json", action="store_true", help="print the same data as JSON")
    ap.add_argument("--timeout", type=float, default=30.0, help="emulation budget per driver, seconds (default 30)")
    ap.add_argument("--jobs", type=int, default=None, help="drivers run at once (default: CPU count)")
    ap.add_argument("--fuzz-time", type=float, default=5.0,
                    help="seconds of `verifier fuzz` per loadable driver after its run (default 5; 0: none)")
    ap.add_argument("--worker", metavar="SYS", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.timeout, args.fuzz_time)
        return 0
    if not args.dir or not glob.glob(os.path.join(args.dir, "*.sys")):
        print(f"benchmarks.realworld: {args.dir or 'DIR'}: no .sys files there; fill it with "
              "`python tests/realworld.py --all DIR`", file=sys.stderr)
        return 2
    result = run_corpus(args.dir, args.timeout, args.jobs, args.fuzz_time)
    print(json.dumps(result, indent=1) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
