"""`verifier repro`: from a bug check a real machine reported to a scenario that raises it here.

The reported address (Arg2 of 0xC4 / 0x2000-0x2002, the faulting instruction of 0x3B, 0x50, ...)
minus the driver's load base on that machine is an RVA, the same on every machine. The call site at
that RVA is named (disassembled, the callee resolved through the IAT). Then runs search for the same
bug check: the default scenario first, then a bounded search that sends each IOCTL the default run
harvested on its own, with a few input shapes, then coverage-guided fuzzing (verifier/fuzz) for the
rest of the time, stopped by the first input that raises it. A run matches when the code, the
arguments that do not depend on load addresses and the RVA agree.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import capstone
from capstone import x86

from unicorn import UC_HOOK_CODE

from emu.machine import stop_on_interrupt
from emu.pe import ImageError, PeImage
from emu.unwind import FunctionTable
from hooks import kstructs as ks
from hooks.irp import IrpRequest
from verifier import bugcheck as bc
from verifier.bugcheck import BugCheck
from verifier.bugcheck_text import BugCheckTextError, ReportedBugCheck, parse, stem
from verifier.callsite import call_ending_at
from verifier.crashdump import is_dump, read_dump
from verifier.inputs import read_driver
from verifier.report import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, DriverReport
from verifier.scenario import Scenario, Step, document, ioctl_step
from verifier.session import Options, Session

# code -> (index of the argument holding the address in the driver, indices that do not depend on the
# load address). From the argument tables of Microsoft's bug check reference (verifier/bugcheck.py).
_CI_CALLS = (bc.CI_EXECUTABLE_POOL, bc.CI_EXECUTABLE_PROTECTION, bc.CI_EXECUTABLE_MDL_MAPPING)
ADDRESS_ARGS: dict[int, tuple[int | None, tuple[int, ...]]] = {
    bc.SYSTEM_SERVICE_EXCEPTION: (1, (0,)),
    bc.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED: (1, (0,)),
    bc.KMODE_EXCEPTION_NOT_HANDLED: (1, (0,)),
    bc.PAGE_FAULT_IN_NONPAGED_AREA: (2, (1,)),
    bc.DRIVER_IRQL_NOT_LESS_OR_EQUAL: (3, (1, 2)),
    bc.IRQL_NOT_LESS_OR_EQUAL: (3, (1, 2)),
    bc.KERNEL_SECURITY_CHECK_FAILURE: (None, (0,)),
    bc.UNEXPECTED_KERNEL_MODE_TRAP: (None, (0,)),
}
# The bounded search's input shapes for each IOCTL: (label, input, output length).
VARIANTS = (("zeros", bytes(0x100), 0x100), ("0xFF bytes", b"\xff" * 0x100, 0x100), ("small", bytes(4), 4),
            ("empty", b"", 0), ("large", bytes(0x10000), 0x10000))
_CS = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
_CS.detail = True


class ReproError(Exception):
    """Unusable input: one line naming the file and what to do (exit 2)."""


def address_args(code: int, arg1: int) -> tuple[int | None, tuple[int, ...]]:
    if code == bc.DRIVER_VERIFIER_DETECTED_VIOLATION:
        return (1, (0, 2, 3)) if arg1 in _CI_CALLS else (None, (0,))
    return ADDRESS_ARGS.get(code, (None, ()))


def same_value(reported: int, emulated) -> bool:
    """Equal, or the same NTSTATUS: x64 Windows prints exception codes sign-extended (ffffffff`c0000005)."""
    return reported == emulated or (reported >> 32 == 0xFFFFFFFF and reported & 0xFFFFFFFF == emulated)


@dataclass
class Target:
    """The reported bug check placed in the driver: what a run has to match."""

    reported: ReportedBugCheck
    load_base: int | None
    base_source: str
    rva: int | None
    call_site: list[str] = field(default_factory=list)      # disassembly lines
    api: str | None = None
    probes: dict[str, int] = field(default_factory=dict)     # "function" / "site" -> RVA a run may execute

    @property
    def stable(self) -> tuple[int, ...]:
        return address_args(self.reported.code, self.reported.args[0])[1]

    def emulated_rva(self, b: BugCheck, image_base: int | None) -> int | None:
        index = address_args(b.code, b.args[0] if isinstance(b.args[0], int) else -1)[0]
        if index is not None and isinstance(b.args[index], int) and image_base is not None:
            return b.args[index] - image_base
        return b.caller_rva

    def matches(self, b: BugCheck, image_base: int | None) -> bool:
        r = self.reported
        return (b.code == r.code and all(same_value(r.args[i], b.args[i]) for i in self.stable)
                and (self.rva is None or self.emulated_rva(b, image_base) == self.rva))


@dataclass
class Attempt:
    """One emulated run of the search."""

    label: str
    steps: list[Step]
    report: DriverReport
    reached: set[str] = field(default_factory=set)           # the Target's probes this run executed
    match: BugCheck | None = None


@dataclass
class Outcome:
    target: Target
    attempts: list[Attempt]
    found: Attempt | None
    scenario_path: str | None
    timed_out: bool

    @property
    def exit_code(self) -> int:
        return EXIT_CLEAN if self.found else EXIT_FINDINGS


# ---- reading the input ------------------------------------------------------------------------------
def read_bugcheck(source: str) -> ReportedBugCheck:
    if source == "-":
        return parse(sys.stdin.read(), "<stdin>")
    try:
        with open(source, "rb") as fh:
            head = fh.read(0x1000)
            if is_dump(head):
                return read_dump(source, head)
            raw = head + fh.read()
    except OSError as exc:
        raise BugCheckTextError(f"{source}: cannot read the bug check: {exc.strerror or exc}") from None
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    return parse(raw.decode(encoding, "replace"), source)


def locate(image: PeImage, driver: str, reported: ReportedBugCheck, load_base: int | None) -> Target:
    """Check the bug check belongs to this driver and place it at an RVA; ReproError if it cannot."""
    name = os.path.basename(driver)
    if reported.image_name and stem(reported.image_name) != stem(name):
        raise ReproError(f"{reported.source}: the bug check names {reported.image_name} "
                         f"(IMAGE_NAME/MODULE_NAME), not {name}: pass the driver that crashed")
    index, _ = address_args(reported.code, reported.args[0])
    if index is None:
        return Target(reported, load_base, "not needed", None)
    address = reported.args[index]
    module = reported.module(name)
    if load_base is not None:
        base, how = load_base, "--load-base"
    elif module is not None:
        base, how = module.base, f"{module.name} in the module list of {reported.source}"
    else:
        base, how = reported.base_from_stack(name, address), "STACK_TEXT frame"
    if base is None:
        raise ReproError(f"{reported.source}: no load base for {stem(name)}: add its `lm` line (lm m {stem(name)}) "
                         "to the text, or pass --load-base ADDR")
    if module is not None and load_base is None and module.end - module.base != image.size_of_image:
        raise ReproError(f"{reported.source}: {module.name} spanned 0x{module.end - module.base:x} bytes, {name} has "
                         f"SizeOfImage 0x{image.size_of_image:x}: a different build of the driver")
    rva = address - base
    if not 0 <= rva < image.size_of_image:
        raise ReproError(f"{reported.source}: Arg{index + 1} 0x{address:x} is outside {name} (loaded at 0x{base:x} "
                         f"size 0x{image.size_of_image:x}): wrong driver or wrong load base")
    target = Target(reported, base, how, rva)
    if index == 1 and reported.code == bc.DRIVER_VERIFIER_DETECTED_VIOLATION:
        _name_call(image, target, name)
    else:
        insn = next(_CS.disasm(image.read(rva, 16), rva, 1), None)
        if insn is None:
            raise ReproError(f"{reported.source}: no instruction decodes at RVA 0x{rva:x} of {name}: wrong driver "
                             "build or wrong load base")
        target.call_site = [f"{stem(name)}+0x{rva:x}  {insn.bytes.hex():<20} {insn.mnemonic} {insn.op_str}"]
        target.probes["site"] = rva
    function = FunctionTable(image).lookup(target.probes["site"])
    if function:
        target.probes["function"] = function[0]
    return target


def _name_call(image: PeImage, target: Target, name: str) -> None:
    """The call instruction ending at the return address, and the import it calls."""
    rva = target.rva
    at = call_ending_at(image.read(rva - 16, 16), rva) if rva >= 16 else None
    if at is None:
        raise ReproError(f"{target.reported.source}: RVA 0x{rva:x} of {name} does not follow a call instruction, "
                         "so Arg2 is not a return address in this driver: wrong driver build or wrong load base")
    insn = next(_CS.disasm(image.read(at, rva - at), at, 1))
    target.call_site = [f"{stem(name)}+0x{at:x}  {insn.bytes.hex():<20} {insn.mnemonic} {insn.op_str}"]
    target.api = _callee(image, insn)
    target.probes["site"] = at


def _callee(image: PeImage, insn) -> str | None:
    """`call [rip+slot]`, or `call thunk` where the thunk is `jmp [rip+slot]`: the import in that slot."""
    op = insn.operands[0]
    if op.type == x86.X86_OP_IMM:
        thunk = next(_CS.disasm(image.read(op.imm, 16), op.imm, 1), None)
        if thunk is None or thunk.mnemonic != "jmp":
            return None
        insn, op = thunk, thunk.operands[0]
    if op.type != x86.X86_OP_MEM or op.mem.base != x86.X86_REG_RIP:
        return None
    slot = insn.address + insn.size + op.mem.disp
    imp = next((i for i in image.imports if i.thunk_rva == slot), None)
    if imp is None:
        return None
    return f"{imp.dll}!{imp.name if imp.name else f'#{imp.ordinal}'}"


# ---- the search -------------------------------------------------------------------------------------
def search_runs(data: bytes, path: str, probes: dict[str, int], deadline: float,
                wanted: Callable[[BugCheck, int | None], bool]) -> Iterator[Attempt]:
    """Runs in order until the caller stops: the default scenario, then each harvested IOCTL alone with
    each input shape in VARIANTS, then fuzzing until an input raises a bug check `wanted` accepts."""
    session = _run(path, data, None, probes, deadline)
    sent = session.scenario_run.sent if session.scenario_run else []
    yield Attempt("the default scenario", list(sent), session.report, session.reached)
    planned = session.scenario_run.planned if session.scenario_run else []
    codes = list(dict.fromkeys(s.request.ioctl for s in planned if s.request and s.request.ioctl is not None))
    for code in codes:
        for label, data_in, out in VARIANTS:
            if time.monotonic() >= deadline:
                return
            steps = [Step(IrpRequest(ks.IRP_MJ_CREATE)), ioctl_step(code, data_in, out),
                     Step(IrpRequest(ks.IRP_MJ_CLEANUP)), Step(IrpRequest(ks.IRP_MJ_CLOSE))]
            session = _run(path, data, Scenario(steps, source="repro"), probes, deadline)
            yield Attempt(f"bounded search: IOCTL 0x{code:X} alone, input {label} ({len(data_in)} bytes, "
                          f"output {out})", _sent(session, steps), session.report, session.reached)
    yield from _fuzzed(data, path, probes, deadline, wanted)


def _fuzzed(data: bytes, path: str, probes: dict[str, int], deadline: float,
            wanted: Callable[[BugCheck, int | None], bool]) -> Iterator[Attempt]:
    """Coverage-guided fuzzing (seed 0) for the time left; the input that raised the bug check is
    replayed from scratch as a scenario (prefix + input), which is the attempt reported."""
    from verifier.fuzz.command import campaign_for
    from verifier.fuzz.target import NotFuzzable
    if time.monotonic() >= deadline:
        return
    try:
        campaign, start = campaign_for(path, data, Options(timeout=max(1.0, min(60.0, deadline - time.monotonic()))))
    except NotFuzzable:
        return
    stats = campaign.run(deadline - time.monotonic(), None, until=lambda b: wanted(b, start.image_base))
    if campaign.hit is None:
        return
    steps = campaign.target.prefix + campaign.hit
    session = _run(path, data, Scenario(steps, source="repro"), probes, max(deadline, time.monotonic() + 60.0))
    yield Attempt(f"fuzzing: input {stats.execs} of a coverage-guided campaign (seed 0)", _sent(session, steps),
                  session.report, session.reached)


class ProbedSession(Session):
    """A run that also notes which probes (RVAs in the driver) executed: a code hook on each single
    address, so no Python runs for any other instruction."""

    def __init__(self, path: str, data: bytes, options: Options, probes: dict[str, int]):
        super().__init__(path, data, options)
        self.probes, self.reached, self._hooked = probes, set(), False

    def call_entry(self, *args, **kwargs):
        if not self._hooked:                     # the driver is loaded: the first entry point is about to run
            self._hooked = True
            for label, rva in self.probes.items():
                address = self.driver.image.base + rva
                self.kernel.machine.uc.hook_add(UC_HOOK_CODE, lambda *_, label=label: self.reached.add(label),
                                                begin=address, end=address)
        return super().call_entry(*args, **kwargs)


def _sent(session: Session, steps: list[Step]) -> list[Step]:
    return list(session.scenario_run.sent) if session.scenario_run else steps


def _run(path: str, data: bytes, scenario: Scenario | None, probes: dict[str, int], deadline: float) -> ProbedSession:
    options = Options(scenario=scenario, timeout=max(1.0, min(60.0, deadline - time.monotonic())))
    session = ProbedSession(path, data, options, probes)
    session.run()
    return session


def reproduce(path: str, data: bytes, target: Target, seconds: float, scenario_out: str) -> Outcome:
    deadline = time.monotonic() + seconds
    attempts, found = [], None
    for attempt in search_runs(data, path, target.probes, deadline, target.matches):
        attempts.append(attempt)
        attempt.match = next((b for b in attempt.report.bugchecks if target.matches(b, attempt.report.image_base)),
                             None)
        if attempt.match:
            found = attempt
            break
    timed_out = found is None and time.monotonic() >= deadline
    written = None
    if found:
        doc = document(found.steps, f"reproduces {target.reported.source}: bug check 0x{target.reported.code:X} "
                                    f"({found.label})")
        try:
            with open(scenario_out, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
        except OSError as exc:
            raise ReproError(f"{scenario_out}: cannot write the scenario: {exc.strerror or exc}") from None
        written = scenario_out
    return Outcome(target, attempts, found, written, timed_out)


def main(args) -> tuple[str | None, int]:
    """`verifier repro DRIVER --bugcheck FILE|-`: the report (None for unusable input, said on stderr)
    and the exit code: 0 reproduced, 1 not, 2 unusable input."""
    driver = args.driver
    try:
        data, failed = read_driver(driver)
        if failed:
            raise ReproError(f"{driver}: {failed.error}")
        try:
            image = PeImage.parse(data, os.path.basename(driver))
            image.require_kernel_driver()
        except ImageError as exc:
            raise ReproError(f"{driver}: {exc}") from None
        reported = read_bugcheck(args.bugcheck)
        target = locate(image, driver, reported, args.load_base)
        with stop_on_interrupt():                # Ctrl-C ends the running emulation at once (exit 130)
            outcome = reproduce(driver, data, target, args.time, scenario_path(args))
    except (ReproError, BugCheckTextError) as exc:
        print(f"verifier: error: {exc}", file=sys.stderr)
        return None, EXIT_USAGE
    from verifier.render.repro import render_json, render_text
    text = render_json(driver, outcome) if args.format == "json" else render_text(driver, outcome)
    return text, outcome.exit_code


def scenario_path(args) -> str:
    """--scenario-out, else next to the report (-o), else DRIVER-STEM.repro.json in the current directory."""
    if args.scenario_out:
        return args.scenario_out
    if args.output:
        return os.path.splitext(args.output)[0] + ".scenario.json"
    return stem(args.driver) + ".repro.json"
