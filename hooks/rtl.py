"""Run-time library: counted strings and memory routines (the C runtime is hooks.crt / hooks.stdio)."""
import struct

from hooks.api import (BOOLEAN, LONG, NTSTATUS, PANSI_STRING, PCSTR, PCUNICODE_STRING, PCWSTR,
                       PUNICODE_STRING, PVOID, SIZE_T, ULONG, export)

STATUS_SUCCESS = 0
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_NO_MEMORY = 0xC0000017
MAX_USTRING = 0xFFFE


def _us(k, va: int) -> tuple[int, int, int]:
    """(Length, MaximumLength, Buffer) of a UNICODE_STRING/ANSI_STRING."""
    length, maximum, _, buf = struct.unpack("<HHIQ", k.mem.read(va, 16))
    return length, maximum, buf


def _set_us(k, va: int, length: int, maximum: int, buf: int) -> None:
    k.mem.write(va, struct.pack("<HHIQ", length, maximum, 0, buf))


@export("RtlInitUnicodeString")
def RtlInitUnicodeString(k, DestinationString: PUNICODE_STRING, SourceString: PCWSTR) -> None:
    n = min(len(k.mem.read_wbytes(SourceString, MAX_USTRING // 2)), MAX_USTRING - 2) if SourceString else 0
    _set_us(k, DestinationString, n, n + 2 if SourceString else 0, SourceString)


@export("RtlInitUnicodeStringEx")
def RtlInitUnicodeStringEx(k, DestinationString: PUNICODE_STRING, SourceString: PCWSTR) -> NTSTATUS:
    RtlInitUnicodeString(k, DestinationString, SourceString)
    return STATUS_SUCCESS


@export("RtlInitAnsiString", "RtlInitString")
def RtlInitAnsiString(k, DestinationString: PANSI_STRING, SourceString: PCSTR) -> None:
    n = min(len(k.mem.read_cstr(SourceString, MAX_USTRING)), MAX_USTRING - 1) if SourceString else 0
    _set_us(k, DestinationString, n, n + 1 if SourceString else 0, SourceString)


@export("RtlCopyUnicodeString")
def RtlCopyUnicodeString(k, DestinationString: PUNICODE_STRING, SourceString: PCUNICODE_STRING) -> None:
    _, dmax, dbuf = _us(k, DestinationString)
    if not SourceString:
        _set_us(k, DestinationString, 0, dmax, dbuf)
        return
    slen, _, sbuf = _us(k, SourceString)
    n = min(slen, dmax) & ~1
    k.mem.write(dbuf, k.mem.read(sbuf, n))
    if n + 2 <= dmax:
        k.mem.write(dbuf + n, b"\0\0")
    _set_us(k, DestinationString, n, dmax, dbuf)


def _text(k, va: int) -> str:
    return k.read_unicode_string(va) if va else ""


@export("RtlCompareUnicodeString")
def RtlCompareUnicodeString(k, String1: PCUNICODE_STRING, String2: PCUNICODE_STRING,
                            CaseInSensitive: BOOLEAN) -> LONG:
    a, b = _text(k, String1), _text(k, String2)
    if CaseInSensitive:
        a, b = a.upper(), b.upper()
    for x, y in zip(a, b):
        if x != y:
            return (ord(x) - ord(y)) & 0xFFFFFFFF
    return (len(a) - len(b)) & 0xFFFFFFFF


@export("RtlEqualUnicodeString")
def RtlEqualUnicodeString(k, String1: PCUNICODE_STRING, String2: PCUNICODE_STRING,
                          CaseInSensitive: BOOLEAN) -> BOOLEAN:
    return int(RtlCompareUnicodeString(k, String1, String2, CaseInSensitive) == 0)


def _append(k, dest: int, data: bytes) -> int:
    length, maximum, buf = _us(k, dest)
    if length + len(data) > maximum:
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(buf + length, data)
    if length + len(data) + 2 <= maximum:
        k.mem.write(buf + length + len(data), b"\0\0")
    _set_us(k, dest, length + len(data), maximum, buf)
    return STATUS_SUCCESS


@export("RtlAppendUnicodeToString")
def RtlAppendUnicodeToString(k, Destination: PUNICODE_STRING, Source: PCWSTR) -> NTSTATUS:
    return _append(k, Destination, k.mem.read_wbytes(Source, MAX_USTRING // 2) if Source else b"")


@export("RtlAppendUnicodeStringToString")
def RtlAppendUnicodeStringToString(k, Destination: PUNICODE_STRING, Source: PCUNICODE_STRING) -> NTSTATUS:
    length, _, buf = _us(k, Source)
    return _append(k, Destination, k.mem.read(buf, length))


def _convert(k, dest: int, data: bytes, allocate: int, terminator: bytes, tag: int) -> int:
    """Store converted string data into a counted string, allocating its buffer if asked."""
    if len(data) > MAX_USTRING - len(terminator):
        return STATUS_INVALID_PARAMETER
    if allocate:
        buf = k.pool.allocate(len(data) + len(terminator), executable=False, paged=True, tag=tag, owner=k.caller)
        maximum = len(data) + len(terminator)
    else:
        _, maximum, buf = _us(k, dest)
        if len(data) > maximum:
            return STATUS_BUFFER_OVERFLOW
    k.mem.write(buf, data + (terminator if len(data) + len(terminator) <= maximum else b""))
    _set_us(k, dest, len(data), maximum, buf)
    return STATUS_SUCCESS


@export("RtlUnicodeStringToAnsiString")
def RtlUnicodeStringToAnsiString(k, DestinationString: PANSI_STRING, SourceString: PCUNICODE_STRING,
                                 AllocateDestinationString: BOOLEAN) -> NTSTATUS:
    text = _text(k, SourceString)
    return _convert(k, DestinationString, text.encode("latin-1", "replace"), AllocateDestinationString, b"\0",
                    0x67727453)


@export("RtlAnsiStringToUnicodeString")
def RtlAnsiStringToUnicodeString(k, DestinationString: PUNICODE_STRING, SourceString: PANSI_STRING,
                                 AllocateDestinationString: BOOLEAN) -> NTSTATUS:
    length, _, buf = _us(k, SourceString)
    text = k.mem.read(buf, length).decode("latin-1")
    return _convert(k, DestinationString, text.encode("utf-16-le"), AllocateDestinationString, b"\0\0",
                    0x67727453)


@export("RtlFreeUnicodeString", "RtlFreeAnsiString")
def RtlFreeUnicodeString(k, String: PVOID) -> None:
    _, _, buf = _us(k, String)
    if buf in k.pool.live:
        k.pool.free(buf)
    _set_us(k, String, 0, 0, 0)


@export("RtlIntegerToUnicodeString")
def RtlIntegerToUnicodeString(k, Value: ULONG, Base: ULONG, String: PUNICODE_STRING) -> NTSTATUS:
    digits = {0: "{:d}", 10: "{:d}", 16: "{:X}", 8: "{:o}", 2: "{:b}"}.get(Base)
    if digits is None:
        return STATUS_INVALID_PARAMETER
    return _convert(k, String, digits.format(Value).encode("utf-16-le"), 0, b"\0\0", 0)


@export("RtlCompareMemory")
def RtlCompareMemory(k, Source1: PVOID, Source2: PVOID, Length: SIZE_T) -> SIZE_T:
    a, b = k.mem.read(Source1, Length), k.mem.read(Source2, Length)
    for i in range(Length):
        if a[i] != b[i]:
            return i
    return Length


@export("RtlZeroMemory")
def RtlZeroMemory(k, Destination: PVOID, Length: SIZE_T) -> None:
    k.mem.write(Destination, bytes(Length))


@export("RtlFillMemory")
def RtlFillMemory(k, Destination: PVOID, Length: SIZE_T, Fill: ULONG) -> None:
    k.mem.write(Destination, bytes([Fill & 0xFF]) * Length)
