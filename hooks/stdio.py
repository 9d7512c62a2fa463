"""The printf and scanf families ntoskrnl exports, narrow and wide, with Microsoft's buffer rules.

How much is stored and what is returned, per Microsoft's reference pages:
- `_snprintf`/`_vsnprintf` (and wide): at most Count characters; the terminator only if it fits;
  -1 when the output was cut (length == Count returns the length, unterminated); a NULL buffer
  with Count 0 returns the length the output needs;
- `sprintf`/`vsprintf`/`swprintf`/`_swprintf`/`_vswprintf`: no bound (kernel `swprintf` is the
  old non-ISO form without a count);
- `sprintf_s`/`swprintf_s`/`vsprintf_s`/`vswprintf_s`: output plus terminator must fit, otherwise
  the buffer is emptied, the invalid-parameter path runs and -1 comes back;
- `_snprintf_s`/`_vsnprintf_s` (and wide): at most Count characters, always terminated; Count
  `_TRUNCATE` fills the buffer and returns -1 when cut; a Count that cannot fit is the ERANGE path.
"""
from __future__ import annotations

import re

from hooks.api import PVOID, SIZE_T
from hooks.chars import MAX_STRING, NARROW, WIDE, Chars
from hooks.crt import _TRUNCATE, EINVAL, EOF, ERANGE, INT, PTSTR, invalid_parameter, parse_integer, tchar
from hooks.fmt import VaList, VarArgs, format_string

_UNBOUNDED = 1 << 62          # the count of sprintf_s: only the buffer size limits it


def _render(k, c: Chars, fmt: int, args: VarArgs) -> bytes:
    return c.encode(format_string(k, c.read(k, fmt), args, wide=c.wide))


def _unbounded(k, c: Chars, buf: int, data: bytes) -> int:
    k.mem.write(buf, data + b"\0" * c.unit)
    return len(data) // c.unit


def _counted(k, c: Chars, buf: int, count: int, data: bytes) -> int:
    n = len(data) // c.unit
    if not buf:                        # (NULL, 0) asks for the length the output needs
        return n if not count else invalid_parameter(k, -1)
    if n < count:
        return _unbounded(k, c, buf, data)
    k.mem.write(buf, data[:count * c.unit])
    return n if n == count else -1


def _sized(k, c: Chars, buf: int, size: int, count: int, fmt: int, args: VarArgs) -> int:
    """The _s forms: `size` elements of buffer, at most `count` characters (_TRUNCATE: what fits)."""
    if not buf or not size or not count or not fmt:
        if buf and size:
            k.mem.write(buf, b"\0" * c.unit)
        invalid_parameter(k, EINVAL)
        return -1
    data = _render(k, c, fmt, args)
    n = len(data) // c.unit
    if n < size and n <= count:
        return _unbounded(k, c, buf, data)
    if count == _TRUNCATE:
        _unbounded(k, c, buf, data[:(size - 1) * c.unit])
        return -1
    if count < n and count < size:
        _unbounded(k, c, buf, data[:count * c.unit])
        return -1
    k.mem.write(buf, b"\0" * c.unit)
    invalid_parameter(k, ERANGE)
    return -1


@tchar("_snprintf", "_snwprintf")
def _snprintf(k, c: Chars, Buffer: PTSTR, Count: SIZE_T, Format: PTSTR) -> INT:
    return _counted(k, c, Buffer, Count, _render(k, c, Format, VarArgs(k, 3)))


@tchar("_vsnprintf", "_vsnwprintf")
def _vsnprintf(k, c: Chars, Buffer: PTSTR, Count: SIZE_T, Format: PTSTR, ArgList: PVOID) -> INT:
    return _counted(k, c, Buffer, Count, _render(k, c, Format, VaList(k, ArgList)))


@tchar("sprintf", ("swprintf", "_swprintf"))
def sprintf(k, c: Chars, Buffer: PTSTR, Format: PTSTR) -> INT:
    return _unbounded(k, c, Buffer, _render(k, c, Format, VarArgs(k, 2)))


@tchar("vsprintf", "_vswprintf")
def vsprintf(k, c: Chars, Buffer: PTSTR, Format: PTSTR, ArgList: PVOID) -> INT:
    return _unbounded(k, c, Buffer, _render(k, c, Format, VaList(k, ArgList)))


@tchar("sprintf_s", "swprintf_s")
def sprintf_s(k, c: Chars, Buffer: PTSTR, SizeOfBuffer: SIZE_T, Format: PTSTR) -> INT:
    return _sized(k, c, Buffer, SizeOfBuffer, _UNBOUNDED, Format, VarArgs(k, 3))


@tchar("vsprintf_s", "vswprintf_s")
def vsprintf_s(k, c: Chars, Buffer: PTSTR, SizeOfBuffer: SIZE_T, Format: PTSTR, ArgList: PVOID) -> INT:
    return _sized(k, c, Buffer, SizeOfBuffer, _UNBOUNDED, Format, VaList(k, ArgList))


@tchar("_snprintf_s", "_snwprintf_s")
def _snprintf_s(k, c: Chars, Buffer: PTSTR, SizeOfBuffer: SIZE_T, Count: SIZE_T, Format: PTSTR) -> INT:
    return _sized(k, c, Buffer, SizeOfBuffer, Count, Format, VarArgs(k, 4))


@tchar("_vsnprintf_s", "_vsnwprintf_s")
def _vsnprintf_s(k, c: Chars, Buffer: PTSTR, SizeOfBuffer: SIZE_T, Count: SIZE_T, Format: PTSTR,
                 ArgList: PVOID) -> INT:
    return _sized(k, c, Buffer, SizeOfBuffer, Count, Format, VaList(k, ArgList))


# ---- the scanf family ----------------------------------------------------------------------------------
_SCAN_SPEC = re.compile(r"%(\*)?(\d+)?(hh|h|ll|l|w|I64|I32|I|L|z|j|t)?(\[\^?\]?[^\]]*\]|.)", re.S)
_SCAN_BYTES = {"hh": 1, "h": 2, "ll": 8, "I64": 8, "I": 8, "L": 8, "z": 8, "j": 8, "t": 8}
_SCAN_BASE = {"d": 10, "i": 0, "u": 10, "o": 8, "x": 16, "X": 16}
_C_SPACE = " \t\n\v\f\r"


def _in_set(spec: str):
    """The membership test of a %[...] scanset (leading ^ negates, a-z ranges, ] first is literal)."""
    body = spec[1:-1]
    negate = body.startswith("^")
    body = body[negate:]
    chars, i = set(), 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return lambda ch: (ch in chars) != negate


def scan(k, c: Chars, text: str, fmt: str, args: VarArgs) -> int:
    """Microsoft's scanf_s over `text`: the number of fields assigned, or EOF when the input ends
    before the first conversion. %s, %c and %[ take a buffer size (in characters) after the pointer."""
    pos, assigned, i = 0, 0, 0
    while i < len(fmt):
        if fmt[i] in _C_SPACE:
            while pos < len(text) and text[pos] in _C_SPACE:
                pos += 1
            i += 1
            continue
        m = _SCAN_SPEC.match(fmt, i) if fmt[i] == "%" else None
        if m is None or m.group(4) == "%":
            literal = "%" if m else fmt[i]
            if m:
                while pos < len(text) and text[pos] in _C_SPACE:
                    pos += 1
            if pos >= len(text):
                return EOF if not assigned else assigned
            if text[pos] != literal:
                return assigned
            pos, i = pos + 1, (m.end() if m else i + 1)
            continue
        i = m.end()
        suppress, width, size, conv = m.group(1), int(m.group(2) or 0), m.group(3), m.group(4)
        if conv == "n":
            if not suppress:
                k.mem.write_u32(args.next(), pos)
            continue
        if conv not in "cC[":
            while pos < len(text) and text[pos] in _C_SPACE:
                pos += 1
        if pos >= len(text):
            return EOF if not assigned else assigned
        if conv in _SCAN_BASE:
            value, used = parse_integer(text[pos:pos + width] if width else text[pos:], _SCAN_BASE[conv])
            if not used:
                return assigned
            pos += used
            if not suppress:
                n = _SCAN_BYTES.get(size, 4)
                k.mem.write(args.next(), (value & ((1 << 8 * n) - 1)).to_bytes(n, "little"))
                assigned += 1
            continue
        if conv in "cC":
            field = text[pos:pos + (width or 1)]
        elif conv in "sS":
            end = pos
            while end < len(text) and text[end] not in _C_SPACE and (not width or end - pos < width):
                end += 1
            field = text[pos:end]
        elif conv.startswith("["):
            member, end = _in_set(conv), pos
            while end < len(text) and member(text[end]) and (not width or end - pos < width):
                end += 1
            field = text[pos:end]
            if not field:
                return assigned
        else:
            return assigned                                   # floating point and unknown conversions
        pos += len(field)
        if suppress:
            continue
        target = WIDE if size in ("l", "w") or (size != "h" and (conv in "SC") != c.wide) else NARROW
        buffer, room = args.next(), args.next() & 0xFFFFFFFF
        terminated = conv not in "cC"
        if len(field) + terminated > room:
            if room:
                target.write(k, buffer, "")
            return assigned
        target.write(k, buffer, field, terminate=terminated)
        assigned += 1
    return assigned


@tchar("sscanf_s", "swscanf_s")
def sscanf_s(k, c: Chars, Buffer: PTSTR, Format: PTSTR) -> INT:
    if not Buffer or not Format:
        return invalid_parameter(k, EOF)
    return scan(k, c, c.read(k, Buffer), c.read(k, Format), VarArgs(k, 2))


@tchar("_snscanf_s", "_snwscanf_s")
def _snscanf_s(k, c: Chars, Input: PTSTR, Length: SIZE_T, Format: PTSTR) -> INT:
    if not Input or not Format:
        return invalid_parameter(k, EOF)
    return scan(k, c, c.read(k, Input, min(Length, MAX_STRING)), c.read(k, Format), VarArgs(k, 3))
