"""The two C character types of the Windows kernel: `char` and 16-bit `wchar_t` (UTF-16 code units).

A string is held in Python as a `str` with one character per C character: bytes map through
Latin-1, code units map one to one (a surrogate pair stays two characters, as wcslen counts it).
So `len`, slicing and indices mean what they mean in C, and `encode` gives the exact guest bytes back.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_STRING = 1 << 20        # the longest string a routine scans for its terminator


@dataclass(frozen=True)
class Chars:
    """char (unit 1) or wchar_t (unit 2): reading, writing and converting strings of that type."""

    unit: int
    name: str

    @property
    def wide(self) -> bool:
        return self.unit == 2

    def char(self, value: int) -> str:
        """The character an int argument converts to (C converts it to char / wchar_t)."""
        return chr(value & (0xFFFF if self.wide else 0xFF))

    def decode(self, data: bytes) -> str:
        if not self.wide:
            return data.decode("latin-1")
        text = data.decode("utf-16-le", "surrogatepass")
        if 2 * len(text) == len(data):
            return text
        return "".join(map(chr, memoryview(data[:len(data) & ~1]).cast("H")))   # keep pairs as two units

    def encode(self, text: str, errors: str = "replace") -> bytes:
        return text.encode("utf-16-le", "surrogatepass") if self.wide else text.encode("latin-1", errors)

    def read(self, k, ptr: int, limit: int = MAX_STRING) -> str:
        """The NUL-terminated string at ptr, at most `limit` characters."""
        if self.wide:
            return self.decode(k.mem.read_wbytes(ptr, limit))
        return k.mem.read_cstr(ptr, limit).decode("latin-1")

    def write(self, k, ptr: int, text: str, terminate: bool = True) -> None:
        k.mem.write(ptr, self.encode(text) + (b"\0" * self.unit if terminate else b""))

    def counted(self, k, ptr: int) -> str:
        """The text of an ANSI_STRING (char) or UNICODE_STRING (wchar_t): Length bytes at Buffer."""
        length, buffer = k.mem.read_u16(ptr), k.mem.read_q(ptr + 8)
        return self.decode(k.mem.read(buffer, length & ~(self.unit - 1))) if buffer else "(null)"


NARROW = Chars(1, "char")
WIDE = Chars(2, "wchar_t")
