"""Text: one WinDbg `!analyze -v` style block per bug check, then what a developer needs to act."""
from __future__ import annotations

import os

from hooks.api import TAG
from verifier.bugcheck import BugCheck
from verifier.report import DriverReport, FuzzSummary, Report, WdfSummary

_BANNER = "\n".join([
    "*" * 79,
    "*" + " " * 77 + "*",
    "*" + "Bugcheck Analysis".center(77) + "*",
    "*" + " " * 77 + "*",
    "*" * 79,
])


def format_arg(value: int | str) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value & 0xFFFFFFFFFFFFFFFF:016x}"


def bugcheck_block(b: BugCheck, image_name: str) -> str:
    preamble, descriptions = b.describe()
    lines = [_BANNER, "", f"{b.name} ({b.code:x})"]
    if preamble:
        lines.append(preamble)
    lines.append("Arguments:")
    for i, (value, text) in enumerate(zip(b.args, descriptions), 1):
        lines.append(f"Arg{i}: {format_arg(value)}, {text}".rstrip(", "))
    lines.append("")
    lines.append(f"IMAGE_NAME:  {image_name}")
    if b.entry_point:
        lines.append(f"ENTRY_POINT:  {b.entry_point}")
    if b.api:
        lines.append(f"API:  {b.call or b.api}")
    if b.caller_rva is not None:
        lines.append(f"FAULTING_SOURCE:  {image_name}+0x{b.caller_rva:x}")
    if b.section:
        lines.append(f"SECTION:  {b.section}")
    if b.count > 1:
        lines.append(f"OCCURRENCES:  {b.count} (same rule, same caller)")
    if b.disassembly:
        lines.append("")
        lines.append("FAULTING_IP:" if b.code != 0xC4 else "CALL_SITE:")
        lines.extend(b.disassembly)
    if b.stack:
        lines.append("")
        lines.append("STACK_TEXT:")
        lines.extend(b.stack)
    for note in b.notes:
        lines.append(f"NOTE:  {note}")
    if b.fix:
        lines.append(f"FIX:  {b.fix}")
    return "\n".join(lines)


def _short_hex(text: str, shown: int = 32) -> str:
    """Output bytes (hex) for a line of text: the first `shown` bytes, then how many there are."""
    return text if len(text) <= 2 * shown else f"{text[:2 * shown]}... ({len(text) // 2} bytes)"


def wdf_line(summary: WdfSummary) -> str:
    """One line of the text report: version, then each device with its queues' dispatch and callbacks."""
    parts = [f"KMDF {summary.version} ({summary.func_count} functions)"]
    for device in summary.devices:
        queues = "; ".join(f"{'default ' if q.default else ''}{q.dispatch} queue: {', '.join(q.callbacks) or 'none'}"
                           for q in device.queues)
        parts.append(f"{'control' if device.control else 'PnP'} device {device.name or '(unnamed)'}"
                     + (f" [{queues}]" if queues else ""))
    if summary.ran:
        parts.append(f"ran {', '.join(summary.ran)}")
    if summary.not_run:
        parts.append(f"never ran {', '.join(summary.not_run)}")
    return "; ".join(parts)


def driver_block(d: DriverReport) -> str:
    name = os.path.basename(d.path)
    out: list[str] = []
    if d.error:
        return f"{d.path}: error: {d.error}"
    head = f"{d.path}: {len(d.bugchecks)} bug check(s)"
    if d.incomplete:
        head += f", run incomplete: {d.incomplete}"
    out.append(head)
    for e in d.entry_points:
        status = f"returned 0x{e.status:08x}" if e.status is not None else \
            "returned" if e.outcome == "returned" else "did not return"      # VOID routines have no status
        if e.completed and e.status is not None:
            status = f"status 0x{e.status:08x}, information {e.information}" + (f", output {_short_hex(e.output)}"
                                                                           if e.output else "")
        elif e.completed is False:
            status += ", IRP never completed"
        code = f" 0x{e.ioctl:x}" if e.ioctl is not None else ""
        out.append(f"  {e.name}{code}: {status} ({e.outcome})")
    if d.registered_not_run:
        out.append(f"  registered but not run: {', '.join(d.registered_not_run)}")
    for p in d.pool_leaks:
        where = f"{name}+0x{p.caller_rva:x}" if p.caller_rva is not None else "unknown caller"
        out.append(f"  leaked pool: tag {TAG.show(p.tag)}, {p.size} bytes, allocated at {where}")
    for line in d.debug_output:
        out.append(f"  [DbgPrint] {line}")
    for e in d.error_log:
        out.append(f"  error log: {e.source}: ErrorCode 0x{e.error_code:08x}, UniqueErrorValue 0x{e.unique_error_value:x}, "
                   f"FinalStatus 0x{e.final_status:08x}"
                   + "".join(f", string {text!r}" for text in e.strings)
                   + (f", dump data {' '.join(f'{v:08x}' for v in e.dump_data)}" if e.dump_data else ""))
    if d.coverage_cut:
        out.append(f"  coverage: partial: only the code before {d.coverage_cut} was checked (a stand-in "
                   "answered a failure and the entry point gave up)")
    for f in d.files_written:
        state = " (deleted)" if f.deleted else ""
        out.append(f"  wrote file: {f.path}{state}, {f.size} bytes, sha256 {f.sha256}, "
                   f"starts {f.first_bytes or '(empty)'}")
    if d.wdf:
        out.append(f"  wdf: {wdf_line(d.wdf)}")
    for u in d.unimplemented_apis:
        where = f" from {name}+0x{u.caller_rva:x}" if u.caller_rva is not None else ""
        during = f" in {', '.join(u.entry_points)}" if u.entry_points else ""
        out.append(f"  unimplemented: {u.module}!{u.call or u.name}{where} (x{u.count}){during}")
    for w in d.warnings:
        out.append(f"  warning: {w.kind}: {w.message}")
    if d.fuzz:
        out += fuzz_lines(d.fuzz, name)
    for b in d.bugchecks:
        out.append("")
        out.append(bugcheck_block(b, name))
    return "\n".join(out)


def short_arg(value: int | str) -> str:
    """An argument as a line of text shows it: 0x2000, or a string quoted."""
    return f"0x{value:X}" if isinstance(value, int) else format_arg(value)


def fuzz_lines(f: FuzzSummary, image_name: str) -> list[str]:
    out = [f"  fuzz: {f.execs} inputs in {f.seconds:.1f} s ({f.execs_per_s:.0f}/s, {f.jobs} job(s), seed {f.seed}), "
           f"{f.edges} edges, corpus {f.corpus}, {f.hangs} over the time budget, {f.errors} emulator failure(s)"]
    for x in f.findings:
        b = x.bugcheck
        where = f"{image_name}+0x{b.caller_rva:x}" if b.caller_rva is not None else "?"
        replay = "replays" if x.reproduced else "does NOT replay from scratch"
        out.append(f"  finding: 0x{b.code:X} ({short_arg(b.args[0])}) at {where} in {b.entry_point}, input "
                   f"{x.execs}: {x.scenario or '(no --out)'} ({replay})")
    return out


def render_text(report: Report) -> str:
    blocks = [driver_block(d) for d in report.drivers]
    checked = sum(1 for d in report.drivers if not d.error)
    incomplete = sum(1 for d in report.drivers if d.incomplete)
    total = sum(len(d.bugchecks) for d in report.drivers)
    partial = sum(1 for d in report.drivers if d.coverage_cut)
    blocks.append(f"{checked} driver(s) checked, {total} bug check(s), {incomplete} incomplete, "
                  f"{len(report.drivers) - checked} unreadable" + (f", {partial} only partly checked" if partial else ""))
    return "\n\n".join(blocks)
