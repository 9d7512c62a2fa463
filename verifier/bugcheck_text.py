"""A bug check as a user pastes it from WinDbg or the event log, read back into numbers.

Accepted (any mix, in one text):
- `!analyze -v`: the `NAME (code)` header, `Arg1: ...` lines, `BUGCHECK_CODE:` / `BUGCHECK_P1..P4:`,
  `IMAGE_NAME:` / `MODULE_NAME:`, and `STACK_TEXT:` frames whose call site is `module+0xOFFSET`;
- `.bugcheck`: `Bugcheck code 000000C4` and `Arguments 00000000`00002000 ...`;
- `BugCheck C4, {2000, fffff808320f3448, 0, 0}` (kernel debugger, System event log), and event 1001's
  `The bugcheck was: 0x000000c4 (0x0000000000002000, 0xfffff808320f3448, 0x0, 0x0)`;
- `lm` lines: `fffff808`320e0000 fffff808`32100000   mydrv   (deferred)`, for load bases.
Numbers are hex, with or without 0x, in WinDbg's backtick-split 64-bit form or not.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

_HEX = r"(?:0x)?[0-9a-fA-F]+(?:`[0-9a-fA-F]+)?"
_HEADER = re.compile(rf"^([A-Z][A-Z0-9_]+) \(({_HEX})\)\s*$", re.M)
_ARG = re.compile(rf"^\s*Arg([1-4]):\s*({_HEX})", re.M)
_BUGCHECK_CODE = re.compile(rf"^\s*BUGCHECK_CODE:\s*({_HEX})\s*$", re.M)
_BUGCHECK_P = re.compile(rf"^\s*BUGCHECK_P([1-4]):\s*({_HEX})\s*$", re.M)
_DOT_CODE = re.compile(rf"^\s*Bugcheck code\s+({_HEX})\s*$", re.M | re.I)
_DOT_ARGS = re.compile(rf"^\s*Arguments\s+({_HEX})\s+({_HEX})\s+({_HEX})\s+({_HEX})\s*$", re.M | re.I)
_ONE_LINE = re.compile(rf"BugCheck\s+({_HEX}),\s*\{{\s*({_HEX})\s*,\s*({_HEX})\s*,\s*({_HEX})\s*,\s*({_HEX})\s*\}}",
                       re.I)
# System event 1001 (BugCheck): "The bugcheck was: 0x000000c4 (0x0000000000002000, 0xfffff808..., 0x0, 0x0)."
_EVENT_1001 = re.compile(rf"bugcheck was:\s*({_HEX})\s*\(\s*({_HEX})\s*,\s*({_HEX})\s*,\s*({_HEX})\s*,\s*({_HEX})\s*\)",
                         re.I)
_NAMED = re.compile(r"^\s*(IMAGE_NAME|MODULE_NAME):\s*(\S+)\s*$", re.M)
_LM = re.compile(rf"^\s*({_HEX})\s+({_HEX})\s+([A-Za-z_][\w.-]*)(?:\s|$)", re.M)
_STACK_LINE = re.compile(rf"^\s*({_HEX})\s+({_HEX})\s*:.*:\s*(\S+)\s*$")
_FRAME = re.compile(r"^([A-Za-z_][\w.-]*)\+0x([0-9a-fA-F]+)$")
PAGE = 0x1000
# Windows reports some bug checks with this bit set (0x1000007E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M,
# 0x1000008E, 0x100000EA): "the same meaning and parameters" as the code without it (Microsoft's
# bug check code reference).
M_VARIANT = 0x10000000


class BugCheckTextError(ValueError):
    """The text holds no usable bug check; the message names what is missing."""


def canonical(code: int) -> int:
    """0x1000007E -> 0x7E: the _M variant is the same bug check."""
    return code & ~M_VARIANT


def number(text: str) -> int:
    return int(text.replace("`", ""), 16)


def stem(name: str) -> str:
    """`C:\\x\\MyDrv.sys` / `mydrv` -> `mydrv`: how WinDbg names a module."""
    base = os.path.basename(name.replace("\\", "/"))
    return (base[:-4] if base.lower().endswith((".sys", ".dll", ".exe")) else base).lower()


@dataclass
class Module:
    name: str
    base: int
    end: int


@dataclass
class ReportedBugCheck:
    """What the crashed machine reported, in its own addresses."""

    code: int
    args: tuple[int, int, int, int]
    source: str                                   # what it was read from, for messages
    image_name: str | None = None                 # IMAGE_NAME / MODULE_NAME: the module WinDbg blames
    modules: list[Module] = field(default_factory=list)      # `lm` lines, or a dump's loaded-module list
    frames: list[tuple[int | None, str, int]] = field(default_factory=list)   # (address, module, offset)
    context_rip: int | None = None                # a dump's CONTEXT: where the processor stopped

    def module(self, driver: str) -> Module | None:
        wanted = stem(driver)
        return next((m for m in self.modules if stem(m.name) == wanted), None)

    def base_from_stack(self, driver: str, address: int) -> int | None:
        """The load base from a STACK_TEXT frame `driver+0xOFFSET` at `address`: the frame whose address
        (the caller's RetAddr column) is `address`, else one whose offset has the same page offset."""
        mine = [(at, off) for at, mod, off in self.frames if stem(mod) == stem(driver)]
        for at, off in mine:
            if at == address:
                return address - off
        for at, off in mine:
            if at is None and (address - off) % PAGE == 0:
                return address - off
        return None


def parse(text: str, source: str = "<text>") -> ReportedBugCheck:
    """Read the bug check out of pasted debugger text; BugCheckTextError says what is missing."""
    code, args = _code_and_args(text)
    if code is None:
        raise BugCheckTextError(f"{source}: no bug check code found: paste the `!analyze -v` output (its "
                                "'NAME (code)' header or BUGCHECK_CODE), `.bugcheck` output or a "
                                "'BugCheck C4, {...}' line")
    missing = [f"Arg{i + 1}" for i, a in enumerate(args) if a is None]
    if missing:
        raise BugCheckTextError(f"{source}: bug check 0x{code:X} found but not {', '.join(missing)}: paste the "
                                "'Arg1:'..'Arg4:' lines (or BUGCHECK_P1..P4) too")
    named = dict(_NAMED.findall(text))
    reported = ReportedBugCheck(canonical(code), tuple(args), source, named.get("IMAGE_NAME") or named.get("MODULE_NAME"))
    stack = text.split("STACK_TEXT:", 1)[1].split("\n\n", 1)[0] if "STACK_TEXT:" in text else ""
    reported.frames = _frames(stack)
    for m in _LM.finditer(text.replace(stack, "") if stack else text):
        start, end = number(m.group(1)), number(m.group(2))
        if start < end:
            reported.modules.append(Module(m.group(3), start, end))
    return reported


def _code_and_args(text: str) -> tuple[int | None, list[int | None]]:
    code, args = None, [None] * 4
    one = _ONE_LINE.search(text) or _EVENT_1001.search(text)
    if one:
        code, args = number(one.group(1)), [number(g) for g in one.groups()[1:]]
    dot_code, dot_args = _DOT_CODE.search(text), _DOT_ARGS.search(text)
    if dot_code:
        code = number(dot_code.group(1))
    if dot_args:
        args = [number(g) for g in dot_args.groups()]
    header = _HEADER.search(text)
    if header:
        code = number(header.group(2))
    for i, value in _ARG.findall(text):
        args[int(i) - 1] = number(value)
    explicit = _BUGCHECK_CODE.search(text)
    if explicit:
        code = number(explicit.group(1))
    for i, value in _BUGCHECK_P.findall(text):
        args[int(i) - 1] = number(value)
    return code, args


def _frames(stack: str) -> list[tuple[int | None, str, int]]:
    """STACK_TEXT lines are `Child-SP RetAddr : args : call site`; a frame's own address is the RetAddr
    of the line above it (None for the first)."""
    frames, above = [], None
    for line in stack.splitlines():
        m = _STACK_LINE.match(line)
        if not m:
            continue
        site = _FRAME.match(m.group(3))
        if site:
            frames.append((above, site.group(1), int(site.group(2), 16)))
        above = number(m.group(2))
    return frames
