"""The printf family ntoskrnl exports, narrow and wide, with Microsoft's buffer rules.

How much is stored and what is returned, per Microsoft's reference pages:
- `_snprintf`/`_vsnprintf` (and wide): at most Count characters; the terminator only if it fits;
  -1 when the output was cut (length == Count returns the length, unterminated);
- `sprintf`/`vsprintf`/`swprintf`/`_swprintf`/`_vswprintf`: no bound (kernel `swprintf` is the
  old non-ISO form without a count);
- `sprintf_s`/`swprintf_s`/`vsprintf_s`/`vswprintf_s`: output plus terminator must fit, otherwise
  the buffer is emptied, the invalid-parameter path runs and -1 comes back;
- `_snprintf_s`/`_vsnprintf_s` (and wide): at most Count characters, always terminated; Count
  `_TRUNCATE` fills the buffer and returns -1 when cut; a Count that cannot fit is the ERANGE path.
"""
from __future__ import annotations

from hooks.api import PVOID, SIZE_T
from hooks.chars import Chars
from hooks.crt import _TRUNCATE, EINVAL, ERANGE, INT, PTSTR, invalid_parameter, tchar
from hooks.fmt import VaList, VarArgs, format_string

_UNBOUNDED = 1 << 62          # the count of sprintf_s: only the buffer size limits it


def _render(k, c: Chars, fmt: int, args: VarArgs) -> bytes:
    return c.encode(format_string(k, c.read(k, fmt), args, wide=c.wide))


def _unbounded(k, c: Chars, buf: int, data: bytes) -> int:
    k.mem.write(buf, data + b"\0" * c.unit)
    return len(data) // c.unit


def _counted(k, c: Chars, buf: int, count: int, data: bytes) -> int:
    n = len(data) // c.unit
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
