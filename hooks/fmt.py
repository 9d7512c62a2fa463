"""printf formatting as the kernel's C runtime does it (DbgPrint, the *printf family).

Microsoft's "Format specification syntax: printf and wprintf functions" is the reference:
- sizes: `hh` char, `h` short, `l` 32 bits (long is 32-bit on Windows), `ll`/`I64`/`I`/`z`/`j`/`t`
  64 bits on x64, `I32` 32 bits, `w` = `l` for characters and strings;
- `%s`/`%c` take the function's own character type, `%S`/`%C` the other one, `%hs`/`%hc` always
  narrow, `%ls`/`%ws`/`%lc`/`%wc` always wide; `%Z` an ANSI_STRING, `%wZ` a UNICODE_STRING (in
  narrow and wide functions alike);
- `%p` is the pointer as 16 upper-case hex digits on x64; a NULL string prints `(null)`;
- `%n` is disabled by default in Microsoft's CRT: its argument is consumed and nothing is written.
Variadic doubles arrive in the integer slot as their bit pattern (x64 varargs convention).
"""
from __future__ import annotations

import re
import struct

from hooks.chars import NARROW, WIDE

_SPEC = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|w|I64|I32|I|L|z|j|t)?(.)", re.S)
_INT_BITS = {"hh": 8, "h": 16, "l": 32, "I32": 32, "ll": 64, "I64": 64, "I": 64, "L": 64, "z": 64, "j": 64,
             "t": 64}
_RADIX = {"d": "d", "i": "d", "u": "d", "o": "o", "x": "x", "X": "X"}


class VarArgs:
    """Successive integer arguments of a variadic call, starting at position `first` (0-based)."""

    def __init__(self, k, first: int):
        self.k, self.i = k, first

    def next(self) -> int:
        rcx, rdx, r8, r9, rsp = self.k.regs
        i, self.i = self.i, self.i + 1
        return (rcx, rdx, r8, r9)[i] if i < 4 else self.k.mem.read_q(rsp + 0x28 + 8 * (i - 4))


class VaList(VarArgs):
    """Arguments from a va_list (on x64 a pointer to consecutive 8-byte slots)."""

    def __init__(self, k, va_list: int):
        super().__init__(k, 0)
        self.ptr = va_list

    def next(self) -> int:
        value = self.k.mem.read_q(self.ptr)
        self.ptr += 8
        return value


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _integer(value: int, conv: str, flags: str, prec: int | None, width: int, left: bool, bits: int) -> str:
    """An integer conversion with C's rules for sign, precision, '#' and zero padding."""
    sign = ""
    value &= (1 << bits) - 1
    if conv in "di":
        value = _signed(value, bits)
        sign = "-" if value < 0 else "+" if "+" in flags else " " if " " in flags else ""
        value = abs(value)
    digits = "" if prec == 0 and value == 0 else format(value, _RADIX[conv])
    if prec:
        digits = digits.rjust(prec, "0")
    if "#" in flags and conv == "o" and not digits.startswith("0"):
        digits = "0" + digits
    elif "#" in flags and conv in "xX" and value:
        sign = "0" + conv
    if "0" in flags and not left and prec is None:
        digits = digits.rjust(width - len(sign), "0")
    return sign + digits


def _text(k, conv: str, size: str | None, ptr: int, wide_function: bool, prec: int | None) -> str:
    """The string a %s/%S/%Z conversion prints."""
    if not ptr:
        return "(null)"
    if conv == "Z":                            # the string's own type, never the function's
        return (WIDE if size in ("l", "w") else NARROW).counted(k, ptr)
    chars = WIDE if size in ("l", "w") or (size != "h" and (conv == "S") != wide_function) else NARROW
    return chars.read(k, ptr, prec if prec is not None else 1 << 20)


def format_string(k, fmt: str | bytes, args: VarArgs, wide: bool = False) -> str:
    """Expand `fmt` (a narrow format as bytes or str, or a wide one as str) with arguments from `args`."""
    if isinstance(fmt, bytes):
        fmt = fmt.decode("latin-1")
    out, pos = [], 0
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, size, conv = m.groups()
        if conv == "%":
            out.append("%")
            continue
        left = "-" in flags
        if width == "*":
            width = _signed(args.next(), 32)
            left, width = left or width < 0, abs(width)
        width = int(width or 0)
        if prec == "*":
            prec = _signed(args.next(), 32)
            prec = prec if prec >= 0 else None
        elif prec is not None:
            prec = int(prec or 0)
        if conv in "sSZ":
            text = _text(k, conv, size, args.next(), wide, prec)
            body = text if prec is None else text[:prec]
        elif conv in "cC":
            unit = 0xFFFF if size in ("l", "w") or (size != "h" and (conv == "C") != wide) else 0xFF
            body = chr(args.next() & unit)
        elif conv in _RADIX:
            body = _integer(args.next(), conv, flags, prec, width, left, _INT_BITS.get(size, 32))
        elif conv == "p":
            body = f"{args.next():016X}"
        elif conv in "eEfFgG":
            value = struct.unpack("<d", struct.pack("<Q", args.next()))[0]
            spec = flags.replace("-", "") + ("-" if left else "") + (str(width) if width else "")
            body = f"%{spec}{'' if prec is None else '.' + str(prec)}{conv}" % value
        elif conv in "aA":                     # Microsoft prints all 13 hex digits of the fraction
            body = struct.unpack("<d", struct.pack("<Q", args.next()))[0].hex().replace(".0p", ".0000000000000p")
            body = body.upper() if conv == "A" else body
        elif conv == "n":
            args.next()
            continue
        else:
            out.append(m.group(0))
            continue
        out.append(body.ljust(width) if left else body.rjust(width))
    out.append(fmt[pos:])
    return "".join(out)
