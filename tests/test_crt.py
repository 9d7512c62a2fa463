"""The C runtime exports against reference behaviour.

Every routine is called through its ntoskrnl export stub by the emulated CPU (Kernel.call), on
strings in guest memory. Narrow routines are compared with the host C library (glibc, through
ctypes, "C" locale) on many random inputs; wide ones with Python's view of the same UTF-16 code
units or with glibc's narrow twin on ASCII; Microsoft-only behaviour with Microsoft's reference
pages (the expected values are written from the documentation, not from our code).
"""
from __future__ import annotations

import ctypes
import locale
import random
import struct

import pytest

from hooks.crt import INVALID_PARAMETER_MESSAGE
from hooks.kernel import Kernel

libc = ctypes.CDLL("libc.so.6")
EINVAL, ERANGE, STRUNCATE = 22, 34, 80       # errno.h (Microsoft's values)
TRUNCATE = (1 << 64) - 1                     # _TRUNCATE
ALPHABET = b"aAzZbB09_ -+x\t[@`{\x7f\x80\xc4\xe4\xff.\\/:%"


@pytest.fixture(scope="module", autouse=True)
def c_locale():
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    yield
    locale.setlocale(locale.LC_CTYPE, old)


class Guest:
    """A kernel, scratch guest memory and a way to call an export through its stub."""

    def __init__(self):
        self.k = Kernel()
        self.arena = self.k.alloc_kdata(0x40000)
        self.used = 0

    def reset(self):
        self.used = 0

    def put(self, data: bytes, room: int = 0) -> int:
        va = self.arena + self.used
        self.used += (len(data) + room + 15) & ~15
        assert self.used < 0x40000
        self.k.mem.write(va, data + bytes(room))
        return va

    def cstr(self, s: bytes, room: int = 0) -> int:
        return self.put(s + b"\0", room)

    def wstr(self, s: str, room: int = 0) -> int:
        return self.put(s.encode("utf-16-le", "surrogatepass") + b"\0\0", 2 * room)

    def call(self, name: str, *args: int) -> int:
        stop = self.k.call(self.k.address_of("ntoskrnl.exe", name), [a & (2 ** 64 - 1) for a in args])
        assert stop.kind == "returned", stop
        return stop.return_value

    def int32(self, name: str, *args: int) -> int:
        v = self.call(name, *args) & 0xFFFFFFFF
        return v - (1 << 32) if v >> 31 else v

    def read(self, va: int, n: int) -> bytes:
        return self.k.mem.read(va, n)

    def cread(self, va: int) -> bytes:
        return self.k.mem.read_cstr(va, 1 << 16)


@pytest.fixture(scope="module")
def g():
    return Guest()


def sign(v: int) -> int:
    return (v > 0) - (v < 0)


def random_strings(seed: int, count: int = 300):
    rng = random.Random(seed)
    edge = [b"", b"a", b"A", b"\xff", b"\x80abc", b"x" * 300, b"Z" * 5000]
    out = list(edge)
    while len(out) < count:
        out.append(bytes(rng.choice(ALPHABET) for _ in range(rng.choice((0, 1, 2, 5, 17, 64)))))
    return out


def pairs(seed: int, count: int = 300):
    rng = random.Random(seed)
    strings = random_strings(seed, count)
    for a in strings:
        b = rng.choice((a, a[:len(a) // 2], a + b"q", rng.choice(strings), a.swapcase(), a.upper()))
        yield a, b, rng.choice((0, 1, 3, len(a), len(a) + 5, 1 << 40))


# ---- narrow routines against glibc ----------------------------------------------------------------
@pytest.mark.parametrize("ours, theirs", [("strcmp", "strcmp"), ("_stricmp", "strcasecmp")])
def test_comparisons_match_glibc(g, ours, theirs):
    ref = getattr(libc, theirs)
    for a, b, _ in pairs(1):
        g.reset()
        assert sign(g.int32(ours, g.cstr(a), g.cstr(b))) == sign(ref(a, b)), (ours, a, b)


@pytest.mark.parametrize("ours, theirs", [("strncmp", "strncmp"), ("_strnicmp", "strncasecmp")])
def test_counted_comparisons_match_glibc(g, ours, theirs):
    ref = getattr(libc, theirs)
    ref.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)
    for a, b, n in pairs(2):
        g.reset()
        assert sign(g.int32(ours, g.cstr(a), g.cstr(b), n)) == sign(ref(a, b, n)), (ours, a, b, n)


def test_lengths_and_searches_match_glibc(g):
    libc.strnlen.restype = libc.strlen.restype = libc.strspn.restype = ctypes.c_size_t
    libc.strnlen.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
    for fn in (libc.strchr, libc.strrchr, libc.strstr, libc.memchr):
        fn.restype = ctypes.c_void_p
    libc.memchr.argtypes = (ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t)
    rng = random.Random(3)
    for a, b, n in pairs(3):
        g.reset()
        host_a = ctypes.create_string_buffer(a)
        base = ctypes.addressof(host_a)
        pa, pb = g.cstr(a), g.cstr(b)
        assert g.call("strlen", pa) == libc.strlen(a)
        assert g.call("strnlen", pa, n) == libc.strnlen(a, n)
        assert g.call("strspn", pa, pb) == libc.strspn(a, b)
        ch = rng.choice(a + b"\0q\xff") if a else 0
        for name, host in (("strchr", libc.strchr), ("strrchr", libc.strrchr)):
            r = host(host_a, ch)
            assert g.call(name, pa, ch) == (pa + r - base if r else 0), (name, a, ch)
        r = libc.strstr(host_a, b)
        assert g.call("strstr", pa, pb) == (pa + r - base if r else 0), (a, b)
        m = min(n, len(a) + 1)
        r = libc.memchr(host_a, ch, m)
        assert g.call("memchr", pa, ch, m) == (pa + r - base if r else 0)
        assert sign(g.int32("memcmp", pa, pb, min(len(a), len(b)) + 1)) == \
            sign(libc.memcmp(a, b, ctypes.c_size_t(min(len(a), len(b)) + 1)))


def test_copies_and_concatenation_match_glibc(g):
    for a, b, n in pairs(4, 150):
        n = min(n, 400)
        for name, init, args in (("strcpy", b"", ()), ("strncpy", b"", (n,)), ("strcat", b"pre", ()),
                                 ("strncat", b"pre", (n,))):
            g.reset()
            size = len(init) + len(a) + max(n, 0) + 8
            before = init + b"\0" + b"\xee" * (size - len(init) - 1)
            host = ctypes.create_string_buffer(before, size)
            dst = g.put(before)
            src = g.cstr(a)
            getattr(libc, name)(host, a, *[ctypes.c_size_t(x) for x in args])
            assert g.call(name, dst, src, *args) == dst
            assert g.read(dst, size) == host.raw, (name, a, args)


def test_integer_parsing_matches_glibc(g):
    libc.strtoull.restype, libc.strtoll.restype = ctypes.c_ulonglong, ctypes.c_longlong
    libc.strtoull.argtypes = (ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int)
    rng = random.Random(5)
    samples = [b"", b"0", b"-0", b"  42", b"\t-17x", b"+9", b"0x1F", b"0X", b"0x", b"0xg", b"017", b"09",
               b"18446744073709551615", b"18446744073709551616", b"-1", b"zz", b"  +", b"1_000", b"7fffffff"]
    samples += [bytes(rng.choice(b" +-0123456789abcdefxXz") for _ in range(rng.randint(0, 24))) for _ in range(300)]
    for s in samples:
        for base in (0, 2, 8, 10, 16, 36):
            g.reset()
            p, end = g.cstr(s), g.put(bytes(8))
            host = ctypes.create_string_buffer(s)
            host_end = ctypes.c_char_p()
            expect = libc.strtoull(host, ctypes.byref(host_end), base)
            assert g.call("_strtoui64", p, end, base) == expect, (s, base)
            consumed = ctypes.cast(host_end, ctypes.c_void_p).value - ctypes.addressof(host)
            assert g.k.mem.read_q(end) - p == consumed, (s, base)
        value = libc.strtoll(s, None, 10) if s else 0
        if -(1 << 31) <= value < (1 << 31):          # glibc's atoi is undefined beyond int
            g.reset()
            assert g.int32("atoi", g.cstr(s)) == libc.atoi(s), s


def test_character_classes_and_case_match_glibc(g):
    for c in list(range(256)) + [-1]:
        for name in ("isdigit", "islower", "isupper", "isspace", "isxdigit", "isprint"):
            assert bool(g.int32(name, c)) == bool(getattr(libc, name)(c)), (name, c)
        assert g.int32("tolower", c) == libc.tolower(c)
        assert g.int32("toupper", c) == libc.toupper(c)


# ---- wide routines against Python on UTF-16 code units, and glibc on ASCII ------------------------------
WIDE_SAMPLES = ["", "a", "Hello", "HELLO", "h\u00e9llo", "\u4e2d\u6587", "\ud83d\ude00x", "\ud800", "A" * 3000,
                "path\\to\\file.sys", "x\uffff"]


def units(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def test_wide_lengths_copies_and_searches(g):
    for s in WIDE_SAMPLES:
        g.reset()
        p = g.wstr(s)
        assert g.call("wcslen", p) == units(s)
        assert g.call("wcsnlen", p, 3) == min(3, units(s))
        dst = g.wstr("", units(s) + 4)
        assert g.call("wcscpy", dst, p) == dst and g.read(dst, 2 * units(s) + 2) == g.read(p, 2 * units(s) + 2)
        for ch in ("l", "\u6587", "\ude00", "\0"):
            raw = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass") + "\0"
            code_units = struct.unpack(f"<{units(s) + 1}H", g.read(p, 2 * units(s) + 2))
            first = code_units.index(ord(ch)) if ord(ch) in code_units else -1
            last = len(code_units) - 1 - code_units[::-1].index(ord(ch)) if first >= 0 else -1
            assert g.call("wcschr", p, ord(ch)) == (p + 2 * first if first >= 0 else 0), (s, ch, raw)
            assert g.call("wcsrchr", p, ord(ch)) == (p + 2 * last if last >= 0 else 0), (s, ch)


def test_wide_twins_agree_with_glibc_narrow_on_ascii(g):
    for a, b, n in pairs(6, 200):
        if any(ch >= 0x80 for ch in a + b):
            continue
        g.reset()
        wa, wb = g.wstr(a.decode()), g.wstr(b.decode())
        assert sign(g.int32("wcscmp", wa, wb)) == sign(libc.strcmp(a, b))
        assert sign(g.int32("_wcsicmp", wa, wb)) == sign(libc.strcasecmp(a, b))
        assert sign(g.int32("wcsncmp", wa, wb, n)) == sign(libc.strncmp(a, b, ctypes.c_size_t(n)))
        assert sign(g.int32("_wcsnicmp", wa, wb, n)) == sign(libc.strncasecmp(a, b, ctypes.c_size_t(n)))
        assert g.call("wcsspn", wa, wb) == libc.strspn(a, b)
        assert g.call("wcscspn", wa, wb) == libc.strcspn(a, b)
        i = a.find(b)
        assert g.call("wcsstr", wa, wb) == (wa + 2 * i if i >= 0 else 0)


def test_wide_comparison_orders_code_units_unsigned(g):
    g.reset()
    # U+FFFF sorts after U+D83D (a high surrogate) as 16-bit units, before it as code points would not matter
    assert g.int32("wcscmp", g.wstr("\uffff"), g.wstr("\ud83d\ude00")) == 1
    assert g.int32("wcscmp", g.wstr("a"), g.wstr("ab")) == -1
    assert g.int32("_wcsicmp", g.wstr("\u00c4"), g.wstr("\u00e4")) != 0      # "C" locale folds ASCII only


def test_case_and_in_place_routines(g):
    g.reset()
    p = g.cstr(b"Mixed_Case \xc4z")
    assert g.call("_strupr", p) == p and g.cread(p) == b"MIXED_CASE \xc4Z"
    assert g.call("_strlwr", p) == p and g.cread(p) == b"mixed_case \xc4z"
    assert g.call("_strrev", p) == p and g.cread(p) == b"z\xc4 esac_dexim"
    w = g.wstr("Straße")
    g.call("_wcsupr", w)
    assert g.k.mem.read_wbytes(w).decode("utf-16-le") == "STRAßE"
    g.call("_wcsrev", w)
    assert g.k.mem.read_wbytes(w).decode("utf-16-le") == "EßARTS"
    g.call("_strnset", p, ord("#"), 3)
    assert g.cread(p) == b"###esac_dexim"
    g.call("_strset", p, ord("-"))
    assert g.cread(p) == b"-" * 13


# ---- Microsoft-only behaviour, from Microsoft's reference pages ------------------------------------------
def test_safe_copy_and_concatenation_errors(g):
    g.reset()
    dst = g.cstr(b"old", 12)
    assert g.int32("strcpy_s", dst, 16, g.cstr(b"fits")) == 0 and g.cread(dst) == b"fits"
    assert g.int32("strcpy_s", dst, 4, g.cstr(b"four")) == ERANGE and g.cread(dst) == b""
    assert g.int32("strcpy_s", 0, 4, g.cstr(b"x")) == EINVAL
    g.k.mem.write(dst, b"keep\0")
    assert g.int32("strcpy_s", dst, 16, 0) == EINVAL and g.cread(dst) == b""
    g.k.mem.write(dst, b"ab\0")
    assert g.int32("strcat_s", dst, 5, g.cstr(b"cd")) == 0 and g.cread(dst) == b"abcd"
    assert g.int32("strcat_s", dst, 5, g.cstr(b"e")) == ERANGE and g.cread(dst) == b""
    g.k.mem.write(dst, b"ab\0")
    assert g.int32("strncat_s", dst, 5, g.cstr(b"cdef"), TRUNCATE) == STRUNCATE and g.cread(dst) == b"abcd"
    assert g.int32("strncpy_s", dst, 5, g.cstr(b"longer"), TRUNCATE) == STRUNCATE and g.cread(dst) == b"long"
    assert g.int32("strncpy_s", dst, 5, g.cstr(b"longer"), 2) == 0 and g.cread(dst) == b"lo"
    assert g.int32("strncpy_s", dst, 5, g.cstr(b"longer"), 5) == ERANGE and g.cread(dst) == b""
    w = g.wstr("", 8)
    assert g.int32("wcscpy_s", w, 8, g.wstr("wide")) == 0 and g.k.mem.read_wstr(w) == "wide"
    assert g.int32("wcsncat_s", w, 8, g.wstr("12345"), 3) == 0 and g.k.mem.read_wstr(w) == "wide123"
    assert g.int32("wcscat_s", w, 8, g.wstr("x")) == ERANGE and g.k.mem.read_wstr(w) == ""
    assert g.k.debug.lines.count(INVALID_PARAMETER_MESSAGE.rstrip("\n")) >= 5


def test_safe_memory_routines(g):
    g.reset()
    dst, src = g.put(b"\xaa" * 8), g.put(b"12345678")
    assert g.int32("memcpy_s", dst, 8, src, 4) == 0 and g.read(dst, 8) == b"1234\xaa\xaa\xaa\xaa"
    assert g.int32("memcpy_s", dst, 4, src, 8) == ERANGE and g.read(dst, 8) == b"\0\0\0\0\xaa\xaa\xaa\xaa"
    assert g.int32("memmove_s", dst + 1, 7, dst, 4) == 0
    assert g.int32("memmove_s", dst, 2, src, 3) == ERANGE


def test_integer_to_text(g):
    g.reset()
    buf = g.put(bytes(72))
    assert g.call("_itoa", -255, buf, 10) == buf and g.cread(buf) == b"-255"
    g.call("_itoa", -1, buf, 16)
    assert g.cread(buf) == b"ffffffff"                           # other radixes: the unsigned value
    assert g.int32("_i64toa_s", -(1 << 63), buf, 72, 10) == 0 and g.cread(buf) == b"-9223372036854775808"
    assert g.int32("_ui64toa_s", -1, buf, 72, 2) == 0 and g.cread(buf) == b"1" * 64
    assert g.int32("_ultoa_s", 0xDEADBEEF, buf, 9, 16) == 0 and g.cread(buf) == b"deadbeef"
    assert g.int32("_ltoa_s", 12345, buf, 5, 10) == ERANGE and g.cread(buf) == b""
    assert g.int32("_itoa_s", 1, buf, 8, 1) == EINVAL
    assert g.int32("_itow_s", 36 * 36 - 1, buf, 8, 36) == 0 and g.k.mem.read_wstr(buf) == "zz"
    assert g.int32("_i64tow_s", -42, buf, 8, 10) == 0 and g.k.mem.read_wstr(buf) == "-42"


def test_text_to_integer_microsoft_rules(g):
    g.reset()
    assert g.int32("atoi", g.cstr(b"99999999999")) == 2 ** 31 - 1       # overflow: INT_MAX
    assert g.int32("atol", g.cstr(b"-99999999999")) == -2 ** 31
    assert g.int32("_wtoi", g.wstr(" -77z")) == -77
    end = g.put(bytes(8))
    p = g.wstr("0x1fffffffff tail")
    assert g.call("wcstoul", p, end, 0) == 0xFFFFFFFF                  # unsigned long is 32-bit: ULONG_MAX
    assert g.k.mem.read_q(end) == p + 2 * 12
    assert g.call("wcstoul", g.wstr("-1"), 0, 10) == 0xFFFFFFFF


def test_multibyte_conversion_in_the_c_locale(g):
    g.reset()
    w = g.wstr("", 8)
    assert g.call("mbstowcs", w, g.cstr(b"ab\xe4"), 8) == 3 and g.k.mem.read_wstr(w) == "ab\u00e4"
    assert g.call("mbstowcs", 0, g.cstr(b"abcd"), 0) == 4
    n = g.put(bytes(8))
    assert g.call("wcstombs", n, g.wstr("xy\u00ff"), 8) == 3 and g.cread(n) == b"xy\xff"
    assert g.call("wcstombs", n, g.wstr("\u4e2d"), 8) == TRUNCATE            # (size_t)-1
    assert g.int32("wctomb", n, 0x41) == 1 and g.read(n, 1) == b"A"
    assert g.int32("wctomb", n, 0x4e2d) == -1
    assert g.int32("mbtowc", w, g.cstr(b"\xe9"), 1) == 1 and g.k.mem.read_u16(w) == 0xE9
    assert g.int32("mbtowc", w, g.cstr(b""), 1) == 0


def test_rand_is_microsofts_generator(g):
    # Microsoft's rand(): seed*214013+2531011, bits 16..30; with the default seed 1 the first
    # values are 41, 18467, 6334 (the sequence every MSVC program prints).
    k = Guest()
    assert [k.int32("rand") for _ in range(3)] == [41, 18467, 6334]
    k.call("srand", 1)
    assert k.int32("rand") == 41


def test_strtok_s_walks_tokens(g):
    g.reset()
    s, ctx = g.cstr(b",,alpha, beta,,gamma"), g.put(bytes(8))
    delims = g.cstr(b", ")
    tokens, p = [], g.call("strtok_s", s, delims, ctx)
    while p:
        tokens.append(g.cread(p))
        p = g.call("strtok_s", 0, delims, ctx)
    assert tokens == [b"alpha", b"beta", b"gamma"]


def test_paths(g):
    g.reset()
    out = g.put(bytes(64))
    assert g.int32("_makepath_s", out, 64, g.cstr(b"c"), g.cstr(b"\\Windows"), g.cstr(b"notepad"),
                   g.cstr(b"exe")) == 0
    assert g.cread(out) == b"c:\\Windows\\notepad.exe"
    parts = [g.put(bytes(32)) for _ in range(4)]
    assert g.int32("_splitpath_s", g.cstr(b"C:\\dir\\sub/name.tar.gz"), parts[0], 32, parts[1], 32,
                   parts[2], 32, parts[3], 32) == 0
    assert [g.cread(p) for p in parts] == [b"C:", b"\\dir\\sub/", b"name.tar", b".gz"]
    assert g.int32("_splitpath_s", g.cstr(b"xy.sys"), 0, 0, 0, 0, parts[2], 2, 0, 0) == ERANGE


# int compare(const void *a, const void *b): *(int *)a > *(int *)b minus *(int *)a < *(int *)b
#   mov eax,[rcx]; mov edx,[rdx]; xor ecx,ecx; cmp eax,edx; setg cl; setl al; movzx eax,al; sub ecx,eax;
#   mov eax,ecx; ret
COMPARE_INT32 = bytes.fromhex("8b01" "8b12" "31c9" "39d0" "0f9fc1" "0f9cc0" "0fb6c0" "29c1" "89c8" "c3")


def test_qsort_and_bsearch_call_the_comparator_in_guest_code(g):
    from emu.memory import PROT_RX, poke
    compare = g.k.alloc_kdata(0x1000, PROT_RX)
    poke(g.k.mem, compare, COMPARE_INT32)
    rng = random.Random(7)
    for trial in range(40):
        g.reset()
        width = rng.choice((4, 8, 12, 24))
        keys = [rng.randint(-2 ** 31, 2 ** 31 - 1) if trial % 2 else rng.randint(-3, 3)
                for _ in range(rng.randint(0, 40))]
        records = [struct.pack("<i", key) + bytes([i % 256]) * (width - 4) for i, key in enumerate(keys)]
        array = g.put(b"".join(records) or b"\0")
        g.call("qsort", array, len(keys), width, compare)
        out = [g.read(array + i * width, width) for i in range(len(keys))]
        assert [struct.unpack_from("<i", r)[0] for r in out] == sorted(keys)
        assert sorted(out) == sorted(records)                    # a permutation: every record kept whole
        for key in set(keys) | {2 ** 31 - 1, -2 ** 31}:
            hit = g.call("bsearch", g.put(struct.pack("<i", key)), array, len(keys), width, compare)
            if key in keys:
                assert (hit - array) % width == 0 and struct.unpack("<i", g.read(hit, 4))[0] == key
            else:
                assert hit == 0


def test_crt_driver_checks_the_runtime_from_driver_code():
    """tests/drivers/src/crt.c calls the runtime through its IAT and checks results in C."""
    from conftest import driver_path, load_manifest, read
    from verifier.session import Options, run_driver

    entry = load_manifest()["crt"]
    report = run_driver(driver_path("crt"), read("crt"), Options(timeout=10))
    assert report.error is None and report.bugchecks == [] and report.unimplemented_apis == []
    assert report.entry_points[0].status == 0
    assert report.debug_output == [line.rstrip("\n") for line in entry["debug_output"]]


def test_every_c_runtime_export_has_an_implementation():
    """Lower-case and _-prefixed ntoskrnl exports are the C runtime, except exception handling and
    setjmp (compiler support, not library routines) and two data-like names."""
    import rootfs
    from hooks.api import EXPORTS
    from hooks.kernel import NATIVE_ROUTINES
    not_library = {"__C_specific_handler", "__misaligned_access", "_local_unwind", "_purecall", "_setjmp",
                   "_setjmpex", "longjmp", "eAuditTransactionStateChange", "psMUITest"}
    routines, _ = rootfs.exports("ntoskrnl.exe")
    crt = [n for n in routines if (n[0].islower() or n[0] == "_") and n not in not_library]
    assert len(crt) > 120
    assert [n for n in crt if n not in EXPORTS and n not in NATIVE_ROUTINES] == []


def test_a_runaway_count_faults_like_the_processor_would(tmp_path):
    """memset/strncpy with a count past the end of the buffer's mapping: 0x50 at the driver's call,
    not an exhausted host."""
    for name, args in (("memset", (0x41, 1 << 40)), ("strncpy", (1 << 40,))):
        k = Kernel()
        source = k.alloc_kdata(0x1000)
        page = k.alloc_kdata(0x1000)                     # the last page mapped: nothing follows it
        k.mem.write(source, b"abc\0")
        args = (page, *args) if name == "memset" else (page, source, *args)
        stop = k.call(k.address_of("ntoskrnl.exe", name), list(args))
        assert stop.kind == "engine" and type(stop.detail).__name__ == "MemoryFault"
        assert stop.detail.address == page + 0x1000 and stop.detail.access == "write"


def test_counted_strings_count_code_units(g):
    """RtlInitUnicodeString measures UTF-16 code units: a surrogate pair is 4 bytes, a lone one 2."""
    g.reset()
    us = g.put(bytes(16))
    g.call("RtlInitUnicodeString", us, g.wstr("a\ud83d\ude00\udc00"))
    assert struct.unpack_from("<HH", g.read(us, 4)) == (8, 10)
