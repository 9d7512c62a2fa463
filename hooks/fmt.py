"""printf as the kernel's DbgPrint and _snwprintf implement it, reading variadic x64 arguments."""
from __future__ import annotations

import re

_SPEC = re.compile(rb"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?(hh|h|ll|l|w|I64|I32|I|z|j|t)?([diouxXcsSZpn%])")


class VarArgs:
    """Successive integer arguments of a variadic call, starting at position `first` (0-based)."""

    def __init__(self, k, first: int):
        self.k, self.i = k, first

    def next(self) -> int:
        rcx, rdx, r8, r9, rsp = self.k.regs
        i, self.i = self.i, self.i + 1
        return (rcx, rdx, r8, r9)[i] if i < 4 else self.k.mem.read_q(rsp + 0x28 + 8 * (i - 4))


def _string_arg(k, conv: bytes, size: bytes | None, ptr: int, wide_default: bool) -> str:
    if not ptr:
        return "(null)"
    if conv == b"Z":                           # %wZ UNICODE_STRING, %Z ANSI_STRING
        if size == b"w":
            return k.read_unicode_string(ptr)
        length, _, buf = k.mem.read_u16(ptr), 0, k.mem.read_q(ptr + 8)
        return k.mem.read(buf, length).decode("latin-1") if buf else ""
    wide = conv == b"S" or size in (b"w", b"l") or (wide_default and size != b"h")
    if conv == b"S" and wide_default:
        wide = False
    return k.mem.read_wstr(ptr) if wide else k.mem.read_cstr(ptr).decode("latin-1")


def format_string(k, fmt: bytes, args: VarArgs, wide: bool = False) -> str:
    """Expand `fmt` (bytes of a narrow or, decoded, wide format) with arguments from `args`."""
    out, pos = [], 0
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()].decode("latin-1"))
        pos = m.end()
        flags, width, prec, size, conv = m.groups()
        if conv == b"%":
            out.append("%")
            continue
        width = args.next() if width == b"*" else int(width) if width else 0
        prec = args.next() if prec == b"*" else int(prec) if prec else None
        spec = "%" + flags.decode() + (str(width) if width else "") + (f".{prec}" if prec is not None else "")
        if conv in (b"s", b"S", b"Z"):
            text = _string_arg(k, conv, size, args.next(), wide)
            out.append((spec + "s") % (text if prec is None else text[:prec]))
            continue
        value = args.next()
        bits = 64 if size in (b"ll", b"I64", b"I", b"z", b"j", b"t") or conv == b"p" else 32
        value &= (1 << bits) - 1
        if conv in (b"d", b"i") and value >> (bits - 1):
            value -= 1 << bits
        if conv == b"p":
            out.append(f"{value:016X}")
        elif conv == b"c":
            out.append(chr(value & (0xFFFF if size == b"w" or wide else 0xFF)))
        elif conv == b"n":
            continue
        else:
            out.append((spec + conv.decode().replace("u", "d")) % value)
    out.append(fmt[pos:].decode("latin-1"))
    return "".join(out)
