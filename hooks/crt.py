"""The C runtime ntoskrnl exports: <string.h>, <ctype.h>, <stdlib.h> and their _s forms.

Semantics are Microsoft's kernel CRT in the "C" locale: `wchar_t` is a 16-bit UTF-16 code unit,
`long` is 32 bits, case mapping and character classes cover ASCII only, comparisons return -1, 0
or 1. Narrow and wide twins share one implementation (`tchar`, after tchar.h's _tcs* names).

The _s routines validate as the "Security Features in the CRT" and each routine's reference page
describe. On invalid input Microsoft's CRT calls its invalid-parameter handler. The NT CRT that
ntdll and ntoskrnl link has no installable handler and no Watson report: its `_invalid_parameter`
prints a line on the debugger and returns (ntdll's is seen doing so in user-mode traces, e.g.
github.com/wazuh/wazuh/issues/18740 "ntdll!_invalid_parameter ... ntdll!wcscpy_s", and ReactOS's
NT CRT library implements it as a DbgPrint), so the routine goes on to return its documented errno
value (EINVAL, ERANGE) and, where documented, empties the destination. No bug check.

qsort and bsearch call the driver's comparator, which a Python handler cannot do: they are machine
code compiled from hooks/native/*.c and run in the stub area like the IRQL routines.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from emu.memory import PAGE
from hooks.api import CType, LONGLONG, PVOID, SIZE_T, ULONG, export
from hooks.chars import MAX_STRING, NARROW, WIDE, Chars
from hooks.crt_native import NATIVE_ROUTINES  # noqa: F401  (qsort, bsearch: machine code, see hooks/native)

# C types of the runtime's prototypes (display and argument width).
INT = CType("int", 32)
ERRNO_T = CType("errno_t", 32)
PTSTR = CType("PTSTR", 64, "ptr")       # char * or wchar_t *, after the routine's width

EINVAL, ERANGE, STRUNCATE = 22, 34, 80
_TRUNCATE = (1 << 64) - 1               # (size_t)-1, stdlib.h
EOF = -1
INVALID_PARAMETER_MESSAGE = "Invalid parameter passed to C runtime function.\n"

_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
_ASCII_UPPER = str.maketrans({chr(c + 32): chr(c) for c in range(ord("A"), ord("Z") + 1)})

# ctype.h masks and the "C" locale table (no class above 0x7F).
_UPPER, _LOWER, _DIGIT, _SPACE, _PUNCT, _CONTROL, _BLANK, _HEX, _ALPHA = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x103


def _class_bits(c: int) -> int:
    ch = chr(c)
    return ((_UPPER | 0x100) * ("A" <= ch <= "Z") | (_LOWER | 0x100) * ("a" <= ch <= "z") | _DIGIT * ch.isdigit()
            | _SPACE * (ch in " \t\n\v\f\r") | _PUNCT * (0x21 <= c <= 0x7E and not ch.isalnum())
            | _CONTROL * (c < 0x20 or c == 0x7F) | _BLANK * (c == 0x20) | _HEX * (ch in "0123456789abcdefABCDEF"))


_CTYPE = tuple(_class_bits(c) for c in range(0x80)) + (0,) * 0x80


@dataclass
class CrtState:
    """Per-run runtime state: the rand() seed (1 until srand, as the C standard says)."""

    seed: int = 1


def lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def invalid_parameter(k, errno: int) -> int:
    """What the runtime does on an invalid parameter: say so on the debugger, return `errno`."""
    k.debug.write(INVALID_PARAMETER_MESSAGE)
    return errno


def _cmp(a, b) -> int:
    return (a > b) - (a < b)


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def tchar(narrow: str | tuple[str, ...] | None, wide: str | tuple[str, ...] | None) -> Callable:
    """Declare one implementation for a narrow routine and its wide twin.

    The decorated function takes `(k, chars, ...)`: `chars` is NARROW or WIDE; the exports see the
    signature without it.
    """
    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        first, _, *rest = sig.parameters.values()
        public = sig.replace(parameters=[first, *rest])
        for names, chars in ((narrow, NARROW), (wide, WIDE)):
            if names is None:
                continue
            names = (names,) if isinstance(names, str) else names

            def handler(k, *args, _chars: Chars = chars):
                return fn(k, _chars, *args)

            handler.__signature__ = public
            handler.__name__, handler.__doc__ = names[0], fn.__doc__
            export(*names)(handler)
        return fn

    return decorate


# ---- length, copy, concatenation ---------------------------------------------------------------
@tchar("strlen", "wcslen")
def strlen(k, c: Chars, String: PTSTR) -> SIZE_T:
    return len(c.read(k, String))


@tchar("strnlen", "wcsnlen")
def strnlen(k, c: Chars, String: PTSTR, MaxCount: SIZE_T) -> SIZE_T:
    return len(c.read(k, String, min(MaxCount, MAX_STRING)))


@tchar("strcpy", "wcscpy")
def strcpy(k, c: Chars, Destination: PTSTR, Source: PTSTR) -> PTSTR:
    c.write(k, Destination, c.read(k, Source))
    return Destination


def _fill(k, va: int, byte: int, count: int) -> None:
    """Store `count` copies of a byte page by page: a count that runs off mapped memory faults where
    the processor would, instead of exhausting the host."""
    page = bytes([byte]) * PAGE
    while count > 0:
        n = min(count, PAGE - (va & (PAGE - 1)))
        k.mem.write(va, page[:n])
        va, count = va + n, count - n


@tchar("strncpy", "wcsncpy")
def strncpy(k, c: Chars, Destination: PTSTR, Source: PTSTR, Count: SIZE_T) -> PTSTR:
    text = c.read(k, Source, min(Count, MAX_STRING))
    c.write(k, Destination, text, terminate=False)
    _fill(k, Destination + c.unit * len(text), 0, c.unit * (Count - len(text)))      # padded with NULs to Count
    return Destination


@tchar("strcat", "wcscat")
def strcat(k, c: Chars, Destination: PTSTR, Source: PTSTR) -> PTSTR:
    c.write(k, Destination + c.unit * len(c.read(k, Destination)), c.read(k, Source))
    return Destination


@tchar("strncat", "wcsncat")
def strncat(k, c: Chars, Destination: PTSTR, Source: PTSTR, Count: SIZE_T) -> PTSTR:
    c.write(k, Destination + c.unit * len(c.read(k, Destination)), c.read(k, Source, min(Count, MAX_STRING)))
    return Destination


def _fail(k, c: Chars, dest: int, errno: int) -> int:
    """An _s routine's failure after its destination was validated: the destination becomes ""."""
    c.write(k, dest, "")
    return invalid_parameter(k, errno)


@tchar("strcpy_s", "wcscpy_s")
def strcpy_s(k, c: Chars, Destination: PTSTR, SizeInElements: SIZE_T, Source: PTSTR) -> ERRNO_T:
    if not Destination or not SizeInElements:
        return invalid_parameter(k, EINVAL)
    if not Source:
        return _fail(k, c, Destination, EINVAL)
    text = c.read(k, Source, min(SizeInElements, MAX_STRING))
    if len(text) >= SizeInElements:
        return _fail(k, c, Destination, ERANGE)
    c.write(k, Destination, text)
    return 0


@tchar("strncpy_s", "wcsncpy_s")
def strncpy_s(k, c: Chars, Destination: PTSTR, SizeInElements: SIZE_T, Source: PTSTR, Count: SIZE_T) -> ERRNO_T:
    if not Destination and not SizeInElements and not Count:
        return 0
    if not Destination or not SizeInElements:
        return invalid_parameter(k, EINVAL)
    if not Count:
        c.write(k, Destination, "")
        return 0
    if not Source:
        return _fail(k, c, Destination, EINVAL)
    text = c.read(k, Source, min(Count, SizeInElements, MAX_STRING))
    if Count == _TRUNCATE and len(text) >= SizeInElements:
        c.write(k, Destination, text[:SizeInElements - 1])
        return STRUNCATE
    if len(text) >= SizeInElements:
        return _fail(k, c, Destination, ERANGE)
    c.write(k, Destination, text)
    return 0


def _append_s(k, c: Chars, dest: int, size: int, src: int, count: int) -> int:
    if not dest or not size:
        return invalid_parameter(k, EINVAL)
    if not src and count:
        return _fail(k, c, dest, EINVAL)
    have = c.read(k, dest, min(size, MAX_STRING))
    if len(have) >= size:                              # not terminated within its buffer
        return _fail(k, c, dest, EINVAL)
    text = c.read(k, src, min(count, MAX_STRING)) if count else ""
    room = size - len(have) - 1
    if count == _TRUNCATE and len(text) > room:
        c.write(k, dest + c.unit * len(have), text[:room])
        return STRUNCATE
    if len(text) > room:
        return _fail(k, c, dest, ERANGE)
    c.write(k, dest + c.unit * len(have), text)
    return 0


@tchar("strcat_s", "wcscat_s")
def strcat_s(k, c: Chars, Destination: PTSTR, SizeInElements: SIZE_T, Source: PTSTR) -> ERRNO_T:
    return _append_s(k, c, Destination, SizeInElements, Source, MAX_STRING)


@tchar("strncat_s", "wcsncat_s")
def strncat_s(k, c: Chars, Destination: PTSTR, SizeInElements: SIZE_T, Source: PTSTR, Count: SIZE_T) -> ERRNO_T:
    return _append_s(k, c, Destination, SizeInElements, Source, Count)


# ---- comparison -----------------------------------------------------------------------------------
@tchar("strcmp", "wcscmp")
def strcmp(k, c: Chars, String1: PTSTR, String2: PTSTR) -> INT:
    return _cmp(c.read(k, String1), c.read(k, String2))


@tchar("strncmp", "wcsncmp")
def strncmp(k, c: Chars, String1: PTSTR, String2: PTSTR, Count: SIZE_T) -> INT:
    n = min(Count, MAX_STRING)
    return _cmp(c.read(k, String1, n), c.read(k, String2, n))


@tchar("_stricmp", "_wcsicmp")
def _stricmp(k, c: Chars, String1: PTSTR, String2: PTSTR) -> INT:
    return _cmp(lower(c.read(k, String1)), lower(c.read(k, String2)))


@tchar("_strnicmp", "_wcsnicmp")
def _strnicmp(k, c: Chars, String1: PTSTR, String2: PTSTR, Count: SIZE_T) -> INT:
    n = min(Count, MAX_STRING)
    return _cmp(lower(c.read(k, String1, n)), lower(c.read(k, String2, n)))


@export("memcmp")
def memcmp(k, Buffer1: PVOID, Buffer2: PVOID, Count: SIZE_T) -> INT:
    return _cmp(k.mem.read(Buffer1, Count), k.mem.read(Buffer2, Count))


# ---- search ---------------------------------------------------------------------------------------
@tchar("strchr", "wcschr")
def strchr(k, c: Chars, String: PTSTR, Character: INT) -> PTSTR:
    text = c.read(k, String) + "\0"                    # the terminator can be found too
    i = text.find(c.char(Character))
    return String + c.unit * i if i >= 0 else 0


@tchar("strrchr", "wcsrchr")
def strrchr(k, c: Chars, String: PTSTR, Character: INT) -> PTSTR:
    text = c.read(k, String) + "\0"
    i = text.rfind(c.char(Character))
    return String + c.unit * i if i >= 0 else 0


@tchar("strstr", "wcsstr")
def strstr(k, c: Chars, String: PTSTR, SubString: PTSTR) -> PTSTR:
    i = c.read(k, String).find(c.read(k, SubString))
    return String + c.unit * i if i >= 0 else 0


def _span(text: str, accept: set[str], inside: bool) -> int:
    for i, ch in enumerate(text):
        if (ch in accept) != inside:
            return i
    return len(text)


@tchar("strspn", "wcsspn")
def strspn(k, c: Chars, String: PTSTR, CharSet: PTSTR) -> SIZE_T:
    return _span(c.read(k, String), set(c.read(k, CharSet)), True)


@tchar(None, "wcscspn")
def wcscspn(k, c: Chars, String: PTSTR, CharSet: PTSTR) -> SIZE_T:
    return _span(c.read(k, String), set(c.read(k, CharSet)), False)


@export("memchr")
def memchr(k, Buffer: PVOID, Character: INT, Count: SIZE_T) -> PVOID:
    i = k.mem.read(Buffer, Count).find(bytes([Character & 0xFF]))
    return Buffer + i if i >= 0 else 0


@export("strtok_s")
def strtok_s(k, String: PTSTR, Delimiters: PTSTR, Context: PVOID) -> PTSTR:
    if not Context or not Delimiters:
        return invalid_parameter(k, 0)
    start = String or k.mem.read_q(Context)
    if not start:
        return invalid_parameter(k, 0)
    text, delims = NARROW.read(k, start), set(NARROW.read(k, Delimiters))
    first = _span(text, delims, True)
    if first == len(text):
        k.mem.write_q(Context, start + first)
        return 0
    end = first + _span(text[first:], delims, False)
    if end < len(text):
        k.mem.write(start + end, b"\0")
        end += 1
    k.mem.write_q(Context, start + end)
    return start + first


# ---- in-place transformations -------------------------------------------------------------------
def _rewrite(k, c: Chars, ptr: int, change: Callable[[str], str]) -> int:
    c.write(k, ptr, change(c.read(k, ptr)), terminate=False)
    return ptr


@tchar(("_strlwr", "strlwr"), ("_wcslwr", "wcslwr"))
def _strlwr(k, c: Chars, String: PTSTR) -> PTSTR:
    return _rewrite(k, c, String, lower)


@tchar("_strupr", "_wcsupr")
def _strupr(k, c: Chars, String: PTSTR) -> PTSTR:
    return _rewrite(k, c, String, lambda t: t.translate(_ASCII_UPPER))


@tchar("_strrev", "_wcsrev")
def _strrev(k, c: Chars, String: PTSTR) -> PTSTR:
    return _rewrite(k, c, String, lambda t: t[::-1])


@tchar("_strset", None)
def _strset(k, c: Chars, String: PTSTR, Character: INT) -> PTSTR:
    return _rewrite(k, c, String, lambda t: c.char(Character) * len(t))


@tchar("_strnset", "_wcsnset")
def _strnset(k, c: Chars, String: PTSTR, Character: INT, Count: SIZE_T) -> PTSTR:
    ch = c.char(Character)
    return _rewrite(k, c, String, lambda t: ch * min(Count, len(t)) + t[Count:])


def _set_s(k, c: Chars, ptr: int, size: int, character: int, count: int) -> int:
    if not ptr or not size:
        return invalid_parameter(k, EINVAL)
    text = c.read(k, ptr, min(size, MAX_STRING))
    if len(text) >= size:
        return _fail(k, c, ptr, EINVAL)
    ch = c.char(character)
    c.write(k, ptr, ch * min(count, len(text)) + text[count:], terminate=False)
    return 0


@tchar("_strset_s", "_wcsset_s")
def _strset_s(k, c: Chars, String: PTSTR, SizeInElements: SIZE_T, Character: INT) -> ERRNO_T:
    return _set_s(k, c, String, SizeInElements, Character, MAX_STRING)


@tchar("_strnset_s", "_wcsnset_s")
def _strnset_s(k, c: Chars, String: PTSTR, SizeInElements: SIZE_T, Character: INT, Count: SIZE_T) -> ERRNO_T:
    return _set_s(k, c, String, SizeInElements, Character, Count)


# ---- memory -----------------------------------------------------------------------------------------
@export("memmove", "memcpy", "RtlCopyMemory", "RtlMoveMemory")
def memmove(k, Destination: PVOID, Source: PVOID, Count: SIZE_T) -> PVOID:
    k.mem.write(Destination, k.mem.read(Source, Count))
    return Destination


@export("memset")
def memset(k, Destination: PVOID, Value: INT, Count: SIZE_T) -> PVOID:
    _fill(k, Destination, Value & 0xFF, Count)
    return Destination


@export("memcpy_s")
def memcpy_s(k, Destination: PVOID, DestinationSize: SIZE_T, Source: PVOID, Count: SIZE_T) -> ERRNO_T:
    if not Count:
        return 0
    if not Destination:
        return invalid_parameter(k, EINVAL)
    if not Source or DestinationSize < Count:
        k.mem.write(Destination, bytes(DestinationSize))        # documented: the destination is zeroed
        return invalid_parameter(k, EINVAL if not Source else ERANGE)
    memmove(k, Destination, Source, Count)
    return 0


@export("memmove_s")
def memmove_s(k, Destination: PVOID, NumberOfElements: SIZE_T, Source: PVOID, Count: SIZE_T) -> ERRNO_T:
    if not Count:
        return 0
    if not Destination or not Source:
        return invalid_parameter(k, EINVAL)
    if NumberOfElements < Count:
        return invalid_parameter(k, ERANGE)
    memmove(k, Destination, Source, Count)
    return 0


# ---- character classes and case ------------------------------------------------------------------
def _classify(mask: int) -> Callable:
    def classify(k, C: INT) -> INT:
        c = _signed(C, 32)
        return _CTYPE[c] & mask if 0 <= c <= 0xFF else 0
    return classify


for _name, _mask in (("isdigit", _DIGIT), ("islower", _LOWER), ("isupper", _UPPER), ("isspace", _SPACE),
                     ("isxdigit", _HEX), ("isprint", _BLANK | _PUNCT | _ALPHA | _DIGIT)):
    export(_name)(_classify(_mask))


@tchar("tolower", "towlower")
def tolower(k, c: Chars, C: INT) -> INT:
    value = _signed(C, 32) if c is NARROW else C & 0xFFFF
    return value + 32 if ord("A") <= value <= ord("Z") else value


@tchar("toupper", "towupper")
def toupper(k, c: Chars, C: INT) -> INT:
    value = _signed(C, 32) if c is NARROW else C & 0xFFFF
    return value - 32 if ord("a") <= value <= ord("z") else value


# ---- number conversion ------------------------------------------------------------------------------
def _digit(ch: str) -> int:
    if "0" <= ch <= "9":
        return ord(ch) - 48
    if "a" <= ch.lower() <= "z":
        return ord(ch.lower()) - 87
    return 99


def parse_integer(text: str, base: int) -> tuple[int, int]:
    """strtol's grammar: (signed value, characters consumed); (0, 0) when no number is there."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    negative = i < n and text[i] == "-"
    i += i < n and text[i] in "+-"
    if base in (0, 16) and text[i:i + 2] in ("0x", "0X") and i + 2 < n and _digit(text[i + 2]) < 16:
        base, i = 16, i + 2
    elif base == 0:
        base = 8 if text[i:i + 1] == "0" else 10
    start, value = i, 0
    while i < n and _digit(text[i]) < base:
        value = value * base + _digit(text[i])
        i += 1
    if i == start:
        return 0, 0
    return (-value if negative else value), i


def _strtou(k, c: Chars, string: int, end: int, base: int, bits: int) -> int:
    base = _signed(base, 32)
    text = c.read(k, string)
    value, used = parse_integer(text, base) if base == 0 or 2 <= base <= 36 else (0, 0)
    if end:
        k.mem.write_q(end, string + c.unit * used)
    limit = (1 << bits) - 1
    return limit if abs(value) > limit else value & limit     # overflow gives the maximum (errno ERANGE)


@tchar("_strtoui64", None)
def _strtoui64(k, c: Chars, String: PTSTR, EndPtr: PVOID, Base: INT) -> LONGLONG:
    return _strtou(k, c, String, EndPtr, Base, 64)


@tchar(None, "wcstoul")
def wcstoul(k, c: Chars, String: PTSTR, EndPtr: PVOID, Base: INT) -> ULONG:
    return _strtou(k, c, String, EndPtr, Base, 32)


@tchar(("atoi", "atol"), ("_wtoi", "_wtol"))
def atoi(k, c: Chars, String: PTSTR) -> INT:
    """Overflow gives INT_MAX / INT_MIN, as Microsoft documents for atoi."""
    value, _ = parse_integer(c.read(k, String), 10)
    return max(-(1 << 31), min(value, (1 << 31) - 1))


def _to_text(value: int, radix: int, bits: int, signed: bool) -> str:
    """_itoa's digits: a '-' only for negative values in radix 10, otherwise the unsigned value."""
    value &= (1 << bits) - 1
    negative = signed and radix == 10 and value >> (bits - 1)
    if negative:
        value = (1 << bits) - value
    digits = ""
    while True:
        value, d = divmod(value, radix)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
        if not value:
            return ("-" if negative else "") + digits


@tchar("_itoa", "_itow")
def _itoa(k, c: Chars, Value: INT, Buffer: PTSTR, Radix: INT) -> PTSTR:
    if 2 <= Radix <= 36:
        c.write(k, Buffer, _to_text(Value, Radix, 32, True))
    return Buffer


def _xtoa_s(bits: int, signed: bool) -> Callable:
    def xtoa_s(k, c: Chars, Value: LONGLONG, Buffer: PTSTR, SizeInCharacters: SIZE_T, Radix: INT) -> ERRNO_T:
        if not Buffer or not SizeInCharacters:
            return invalid_parameter(k, EINVAL)
        if not 2 <= Radix <= 36:
            return _fail(k, c, Buffer, EINVAL)
        text = _to_text(Value, Radix, bits, signed)
        if len(text) >= SizeInCharacters:
            return _fail(k, c, Buffer, ERANGE)
        c.write(k, Buffer, text)
        return 0
    return xtoa_s


for _narrow, _wide, _bits, _is_signed in (("_itoa_s", "_itow_s", 32, True), ("_ltoa_s", "_ltow_s", 32, True),
                                          ("_ultoa_s", "_ultow_s", 32, False), ("_i64toa_s", "_i64tow_s", 64, True),
                                          ("_ui64toa_s", "_ui64tow_s", 64, False)):
    tchar(_narrow, _wide)(_xtoa_s(_bits, _is_signed))


# ---- multibyte conversion ("C" locale: a byte is the code unit of the same value) ------------------
@export("mbstowcs")
def mbstowcs(k, WcStr: PTSTR, MbStr: PTSTR, Count: SIZE_T) -> SIZE_T:
    text = NARROW.read(k, MbStr)
    if not WcStr:
        return len(text)
    out = text[:Count]
    WIDE.write(k, WcStr, out, terminate=len(out) < Count)
    return len(out)


@export("wcstombs")
def wcstombs(k, MbStr: PTSTR, WcStr: PTSTR, Count: SIZE_T) -> SIZE_T:
    text = WIDE.read(k, WcStr)
    if any(ord(ch) > 0xFF for ch in text):
        return _TRUNCATE                           # (size_t)-1: not representable, errno EILSEQ
    if not MbStr:
        return len(text)
    out = text[:Count]
    NARROW.write(k, MbStr, out, terminate=len(out) < Count)
    return len(out)


@export("mbtowc")
def mbtowc(k, WChar: PTSTR, MbChar: PTSTR, Count: SIZE_T) -> INT:
    if not MbChar:
        return 0                                   # no shift states
    if not Count:
        return -1
    byte = k.mem.read(MbChar, 1)[0]
    if WChar:
        k.mem.write_u16(WChar, byte)
    return 1 if byte else 0


@export("wctomb")
def wctomb(k, MbChar: PTSTR, WChar: INT) -> INT:
    if not MbChar:
        return 0
    if WChar & 0xFFFF > 0xFF:
        return -1
    k.mem.write(MbChar, bytes([WChar & 0xFF]))
    return 1


# ---- rand -----------------------------------------------------------------------------------------------
@export("srand")
def srand(k, Seed: ULONG) -> None:
    k.crt.seed = Seed


@export("rand")
def rand(k) -> INT:
    """Microsoft's generator: seed = seed * 214013 + 2531011, result bits 16..30 (RAND_MAX 0x7FFF)."""
    k.crt.seed = (k.crt.seed * 214013 + 2531011) & 0xFFFFFFFF
    return (k.crt.seed >> 16) & 0x7FFF


# ---- paths ----------------------------------------------------------------------------------------------
@tchar("_makepath_s", "_wmakepath_s")
def _makepath_s(k, c: Chars, Path: PTSTR, SizeInCharacters: SIZE_T, Drive: PTSTR, Dir: PTSTR, Fname: PTSTR,
                Ext: PTSTR) -> ERRNO_T:
    if not Path or not SizeInCharacters:
        return invalid_parameter(k, EINVAL)
    drive, folder = c.read(k, Drive) if Drive else "", c.read(k, Dir) if Dir else ""
    name, ext = c.read(k, Fname) if Fname else "", c.read(k, Ext) if Ext else ""
    text = (drive[:1] + ":" if drive else "") + folder
    if folder and folder[-1] not in "\\/":
        text += "\\"
    text += name + ("." if ext and ext[0] != "." else "") + ext
    if len(text) >= SizeInCharacters:
        return _fail(k, c, Path, ERANGE)
    c.write(k, Path, text)
    return 0


@tchar("_splitpath_s", "_wsplitpath_s")
def _splitpath_s(k, c: Chars, Path: PTSTR, Drive: PTSTR, DriveSize: SIZE_T, Dir: PTSTR, DirSize: SIZE_T,
                 Fname: PTSTR, FnameSize: SIZE_T, Ext: PTSTR, ExtSize: SIZE_T) -> ERRNO_T:
    outputs = ((Drive, DriveSize), (Dir, DirSize), (Fname, FnameSize), (Ext, ExtSize))
    if not Path or any(bool(ptr) != bool(size) for ptr, size in outputs):
        return invalid_parameter(k, EINVAL)
    text = c.read(k, Path)
    drive = text[:2] if text[1:2] == ":" else ""
    rest = text[len(drive):]
    cut = max(rest.rfind("\\"), rest.rfind("/")) + 1
    folder, name = rest[:cut], rest[cut:]
    dot = name.rfind(".")
    parts = (drive, folder, name[:dot] if dot >= 0 else name, name[dot:] if dot >= 0 else "")
    if any(ptr and len(part) >= size for (ptr, size), part in zip(outputs, parts)):
        for ptr, _ in outputs:
            if ptr:
                c.write(k, ptr, "")
        return invalid_parameter(k, ERANGE)
    for (ptr, _), part in zip(outputs, parts):
        if ptr:
            c.write(k, ptr, part)
    return 0
