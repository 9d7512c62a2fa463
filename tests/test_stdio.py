"""The printf family against glibc's snprintf (portable conversions) and Microsoft's documentation
(sizes, %S/%ws/%hs/%C, %Z/%wZ, %p, the buffer rules of _snprintf, _vsnprintf, sprintf_s, _snprintf_s).

Calls go through the ntoskrnl export stubs on the emulated CPU, with arguments in registers and on
the stack (or in a va_list) exactly as a driver passes them.
"""
from __future__ import annotations

import ctypes
import random
import struct

import pytest

from test_crt import TRUNCATE, Guest

libc = ctypes.CDLL("libc.so.6")
MASK = (1 << 64) - 1


@pytest.fixture(scope="module")
def g():
    return Guest()


def glibc(fmt: bytes, *args) -> bytes:
    buf = ctypes.create_string_buffer(512)
    n = libc.snprintf(buf, 512, fmt, *args)
    return buf.raw[:n]


def ours(g, fmt: bytes, *args: int) -> bytes:
    """_snprintf's output; guest memory the arguments point to must have been put before."""
    out = g.put(bytes(512))
    n = g.int32("_snprintf", out, 511, g.cstr(fmt), *args)
    assert n >= 0
    return g.read(out, n + 1)[:-1] if g.read(out + n, 1) == b"\0" else b"<unterminated>"


INT_FORMATS = [b"%d", b"%i", b"%u", b"%x", b"%X", b"%o", b"%5d", b"%-5d|", b"%05d", b"%+d", b"% d", b"%.3d",
               b"%.0d", b"%08x", b"%#x", b"%#X", b"%#o", b"%-#10x|", b"%+.4i", b"%08.3d", b"%hd", b"%hu",
               b"%hhd", b"%hhx", b"%c", b"%3c|", b"%-3c|"]
LONG_FORMATS = [b"%lld", b"%llu", b"%llx", b"%20lld", b"%-20llX|", b"%jd", b"%zu", b"%td"]


@pytest.mark.parametrize("fmt", INT_FORMATS)
def test_int_conversions_match_glibc(g, fmt):
    rng = random.Random(fmt)
    values = [0, 1, -1, 42, 65, 255, 256, 0x7FFFFFFF, -0x80000000, 0xFFFF, 0x8000] + \
        [rng.randint(-2 ** 31, 2 ** 31 - 1) for _ in range(40)]
    for v in values:
        if fmt.endswith((b"c", b"c|")) and not 0x20 <= v & 0xFF < 0x7F:
            continue
        g.reset()
        assert ours(g, fmt, v & MASK) == glibc(fmt, ctypes.c_int(v)), (fmt, v)


@pytest.mark.parametrize("fmt", LONG_FORMATS)
def test_64_bit_conversions_match_glibc(g, fmt):
    rng = random.Random(fmt)
    for v in [0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** 32] + [rng.randint(-2 ** 63, 2 ** 63 - 1) for _ in range(40)]:
        g.reset()
        assert ours(g, fmt, v & MASK) == glibc(fmt, ctypes.c_longlong(v)), (fmt, v)


@pytest.mark.parametrize("fmt", [b"%s", b"%10s|", b"%-10s|", b"%.3s|", b"%8.2s|", b"%-8.5s|", b"[%s]"])
def test_string_conversions_match_glibc(g, fmt):
    for s in (b"", b"a", b"abc", b"exactly10!", b"a longer string than ten", b"\xc4\xff"):
        g.reset()
        assert ours(g, fmt, g.cstr(s)) == glibc(fmt, s), (fmt, s)


@pytest.mark.parametrize("fmt", [b"%f", b"%.2f", b"%10.3f|", b"%-10.1e|", b"%E", b"%g", b"%G", b"%+.0f", b"%#.0f"])
def test_floating_conversions_match_glibc(g, fmt):
    for v in (0.0, 1.5, -2.25, 3.14159265358979, 1e-5, 12345678.9, -0.0):
        bits = struct.unpack("<Q", struct.pack("<d", v))[0]
        g.reset()
        assert ours(g, fmt, bits) == glibc(fmt, ctypes.c_double(v)), (fmt, v)


def test_star_width_and_precision_match_glibc(g):
    for w, p in ((5, 2), (-6, 3), (0, -1), (12, 0)):
        g.reset()
        assert ours(g, b"%*.*s|", w & MASK, p & MASK, g.cstr(b"abcdef")) == \
            glibc(b"%*.*s|", w, p, b"abcdef")
        assert ours(g, b"%*d|", w & MASK, 77) == glibc(b"%*d|", w, 77)


def test_hex_float_consumes_its_argument(g):
    g.reset()
    assert ours(g, b"%a|%d", struct.unpack("<Q", struct.pack("<d", 1.5))[0], 7).endswith(b"p+0|7")


def test_many_stack_arguments(g):
    g.reset()
    args = list(range(1, 13))
    fmt = b" ".join([b"%d"] * 12)
    assert ours(g, fmt, *args) == glibc(fmt, *args)


# ---- Microsoft-only conversions ---------------------------------------------------------------------
def test_microsoft_sizes_and_pointer(g):
    g.reset()
    assert ours(g, b"%I64d %I64x", -5 & MASK, 0x1122334455667788) == b"-5 1122334455667788"
    assert ours(g, b"%I32x %Id %Iu", 0x1_DEADBEEF, -3 & MASK, 2 ** 40) == b"deadbeef -3 1099511627776"
    assert ours(g, b"%ld %lx", 0x1_0000_0005, 0xF_FFFF_FFFF) == b"5 ffffffff"        # long is 32-bit
    assert ours(g, b"%p", 0xFFFFF80012345678) == b"FFFFF80012345678"
    assert ours(g, b"%p", 0x10) == b"0000000000000010"


def test_microsoft_string_and_character_types(g):
    g.reset()
    out = g.put(bytes(256))
    wide, narrow = g.wstr("wide"), g.cstr(b"narrow")
    us = g.put(struct.pack("<HHIQ", 8, 10, 0, g.wstr("UniStr")))       # Length 8 bytes: "UniS"
    ansi = g.put(struct.pack("<HHIQ", 3, 4, 0, g.cstr(b"AnsiStr")))
    fmt = g.cstr(b"%s|%S|%ws|%ls|%hs|%C|%wc|%c|%wZ|%Z|%s|%wZ")
    n = g.int32("_snprintf", out, 256, fmt, narrow, wide, wide, wide, narrow, 0x41, 0x42, 0x143, us, ansi, 0, 0)
    assert g.cread(out) == b"narrow|wide|wide|wide|narrow|A|B|C|UniS|Ans|(null)|(null)"
    assert n == len(g.cread(out))
    # In a wide function %s is wide and %S / %hs narrow, %c wide and %C narrow (Microsoft's rules).
    # %Z names the counted string's own type in wide functions too: ANSI_STRING unless %wZ.
    assert g.int32("_snwprintf", out, 64, g.wstr("%Z|%wZ"), ansi, us) == 8 and g.k.mem.read_wstr(out) == "Ans|UniS"
    wfmt = g.wstr("%s|%S|%hs|%ls|%c|%C|%hc")
    n = g.int32("_snwprintf", out, 64, wfmt, wide, narrow, narrow, wide, 0x263A, 0x1141, 0x44)
    assert g.k.mem.read_wstr(out) == "wide|narrow|narrow|wide|\u263a|A|D" and n == 29


def test_vsnprintf_truncation_rules(g):
    g.reset()
    out, fmt = g.put(b"\xee" * 16), g.cstr(b"%d-%s")
    va = g.put(struct.pack("<QQ", 12345, g.cstr(b"abc")))                    # "12345-abc": 9 characters
    assert g.int32("_vsnprintf", out, 16, fmt, va) == 9 and g.read(out, 10) == b"12345-abc\0"
    g.k.mem.write(out, b"\xee" * 16)
    assert g.int32("_vsnprintf", out, 9, fmt, va) == 9 and g.read(out, 10) == b"12345-abc\xee"   # fits exactly: no NUL
    g.k.mem.write(out, b"\xee" * 16)
    assert g.int32("_vsnprintf", out, 4, fmt, va) == -1 and g.read(out, 5) == b"1234\xee"         # cut: -1, no NUL
    assert g.int32("_vsnprintf", 0, 0, fmt, va) == 9                       # (NULL, 0): the length needed
    wout, wfmt = g.put(b"\xee" * 32), g.wstr("%d-%ws")
    wva = g.put(struct.pack("<QQ", 7, g.wstr("xy")))
    assert g.int32("_vsnwprintf", wout, 3, wfmt, wva) == -1
    assert g.read(wout, 8) == "7-x".encode("utf-16-le") + b"\xee\xee"


def test_sized_forms(g):
    g.reset()
    out, fmt = g.put(b"\xee" * 16), g.cstr(b"%s!")
    arg = g.cstr(b"hello")                                                     # "hello!": 6 characters
    assert g.int32("sprintf_s", out, 7, fmt, arg) == 6 and g.cread(out) == b"hello!"
    assert g.int32("sprintf_s", out, 6, fmt, arg) == -1 and g.read(out, 1) == b"\0"
    assert g.int32("_snprintf_s", out, 16, TRUNCATE, fmt, arg) == 6 and g.cread(out) == b"hello!"
    assert g.int32("_snprintf_s", out, 4, TRUNCATE, fmt, arg) == -1 and g.cread(out) == b"hel"
    assert g.int32("_snprintf_s", out, 16, 2, fmt, arg) == -1 and g.cread(out) == b"he"
    assert g.int32("_snprintf_s", out, 4, 8, fmt, arg) == -1 and g.read(out, 1) == b"\0"
    assert g.int32("_snprintf_s", 0, 4, 8, fmt, arg) == -1
    va = g.put(struct.pack("<Q", arg))
    assert g.int32("vsprintf_s", out, 16, fmt, va) == 6 and g.cread(out) == b"hello!"
    assert g.int32("_vsnprintf_s", out, 16, 3, fmt, va) == -1 and g.cread(out) == b"hel"
    wout = g.wstr("", 16)
    assert g.int32("swprintf_s", wout, 16, g.wstr("%d%%"), 50) == 3 and g.k.mem.read_wstr(wout) == "50%"
    assert g.int32("_snwprintf_s", wout, 3, TRUNCATE, g.wstr("%s"), g.wstr("wxyz")) == -1
    assert g.k.mem.read_wstr(wout) == "wx"
    assert g.int32("vswprintf_s", wout, 16, g.wstr("%hs"), g.put(struct.pack("<Q", arg))) == 5


def test_unbounded_forms(g):
    g.reset()
    out = g.put(bytes(64))
    assert g.int32("sprintf", out, g.cstr(b"%s=%u"), g.cstr(b"n"), 7) == 3 and g.cread(out) == b"n=7"
    assert g.int32("swprintf", out, g.wstr("%ws"), g.wstr("non-ISO")) == 7       # no count: the old form
    assert g.k.mem.read_wstr(out) == "non-ISO"
    assert g.int32("_swprintf", out, g.wstr("%d"), 12) == 2
    assert g.int32("vsprintf", out, g.cstr(b"%x"), g.put(struct.pack("<Q", 255))) == 2 and g.cread(out) == b"ff"
    assert g.int32("_vswprintf", out, g.wstr("%c"), g.put(struct.pack("<Q", 0x3A9))) == 1
    assert g.k.mem.read_wstr(out) == "\u03a9"


# ---- the scanf family -------------------------------------------------------------------------------------
SCAN_FORMATS = [b"%d", b"%i %i", b"%x,%o", b"%u%n", b"%3d%d", b"%hd", b"%lld", b" %d - %d", b"%*d %d", b"%d%%"]


@pytest.mark.parametrize("fmt", SCAN_FORMATS)
def test_integer_scanning_matches_glibc(g, fmt):
    rng = random.Random(fmt)
    inputs = [b"", b"   ", b"42", b"-17 99", b"0x1f,17", b"12345 6", b"7 - 8", b"abc", b"100%", b"5,"]
    inputs += [bytes(rng.choice(b" -+0123456789xa,%") for _ in range(rng.randint(0, 12))) for _ in range(60)]
    slots = fmt.count(b"%") - fmt.count(b"%*") - 2 * fmt.count(b"%%")
    for text in inputs:
        g.reset()
        host = [ctypes.c_longlong(-7) for _ in range(slots)]
        expect = libc.sscanf(text, fmt, *[ctypes.byref(v) for v in host])
        guest = [g.put(struct.pack("<q", -7)) for _ in range(slots)]
        assert g.int32("sscanf_s", g.cstr(text), g.cstr(fmt), *guest) == expect, (fmt, text)
        assert [g.k.mem.read_q(p) for p in guest] == [v.value & MASK for v in host], (fmt, text)


def test_string_scanning_takes_buffer_sizes(g):
    g.reset()
    a, b, n = g.put(bytes(16)), g.put(bytes(16)), g.put(bytes(8))
    assert g.int32("sscanf_s", g.cstr(b"key=value;rest"), g.cstr(b"%[^=]=%[a-z];%n"), a, 16, b, 16, n) == 2
    assert (g.cread(a), g.cread(b), g.k.mem.read_u32(n)) == (b"key", b"value", 10)
    # a buffer too small for the field and its terminator: emptied, the scan stops there
    assert g.int32("sscanf_s", g.cstr(b"7 toolong"), g.cstr(b"%d %s"), n, a, 4) == 1 and g.cread(a) == b""
    assert g.int32("sscanf_s", g.cstr(b"xy"), g.cstr(b"%c%c"), a, 1, b, 1) == 2 and g.read(a, 1) + g.read(b, 1) == b"xy"
    w = g.wstr("", 8)
    assert g.int32("swscanf_s", g.wstr("wide 5"), g.wstr("%s %d"), w, 8, n) == 2
    assert g.k.mem.read_wstr(w) == "wide" and g.k.mem.read_u32(n) == 5
    assert g.int32("_snscanf_s", g.cstr(b"12345"), 3, g.cstr(b"%d"), n) == 1 and g.k.mem.read_u32(n) == 123
    assert g.int32("_snwscanf_s", g.wstr("  "), 2, g.wstr("%d"), n) == -1          # EOF before a conversion


def test_debug_output_stays_printable_text(g):
    g.reset()
    g.call("DbgPrint", g.cstr(b"[%ws]\n"), g.wstr("\ud800x"))      # a lone surrogate: not text
    assert g.k.debug.lines[-1] == "[?x]"
