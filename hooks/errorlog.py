"""The I/O error log (IoAllocateErrorLogEntry, IoWriteErrorLogEntry, IoFreeErrorLogEntry).

What a driver writes is what the System event log would show: its ErrorCode, UniqueErrorValue,
FinalStatus, dump data and insertion strings, kept in `ErrorLog.written` for the report.
Entries are zeroed IO_ERROR_LOG_PACKETs of the requested size in non-paged pool; the kernel
frees an entry once it is written, as Windows does.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from hooks import kstructs as ks
from hooks.api import PVOID, UCHAR, export

ERROR_LOG_TAG = 0x72456F49              # 'rEoI': reads "IoEr" in memory


@dataclass
class ErrorLogEntry:
    """One written entry, decoded from its IO_ERROR_LOG_PACKET."""

    source: str                 # \Device\X or \Driver\X: the IoObject the entry was allocated for
    error_code: int
    unique_error_value: int
    final_status: int
    major_function: int
    sequence_number: int
    io_control_code: int
    dump_data: list[int] = field(default_factory=list)     # ULONGs
    strings: list[str] = field(default_factory=list)
    caller: int = 0


class ErrorLog:
    def __init__(self) -> None:
        self.allocated: dict[int, tuple[str, int]] = {}     # entry -> (source, EntrySize)
        self.written: list[ErrorLogEntry] = []


def _source(k, io_object: int) -> str | None:
    """The name of a DEVICE_OBJECT or DRIVER_OBJECT (what IoAllocateErrorLogEntry accepts), else None."""
    kind = k.mem.read_u16(io_object)
    if kind == ks.IO_TYPE_DEVICE:
        return k.devices.get(io_object) or "(unnamed device)"
    if kind == ks.IO_TYPE_DRIVER:
        return k.read_unicode_string(io_object + ks.offset_of(ks.DRIVER_OBJECT, "DriverName"))
    return None


@export("IoAllocateErrorLogEntry")
def IoAllocateErrorLogEntry(k, IoObject: PVOID, EntrySize: UCHAR) -> PVOID:
    """NULL when EntrySize exceeds ERROR_LOG_MAXIMUM_SIZE or IoObject is neither a device nor a
    driver object."""
    source = _source(k, IoObject) if IoObject else None
    if source is None or EntrySize > ks.ERROR_LOG_MAXIMUM_SIZE or EntrySize == 0:
        return 0
    entry = k.pool.allocate(EntrySize, executable=False, paged=False, tag=ERROR_LOG_TAG, owner=k.caller)
    k.mem.write(entry, bytes(EntrySize))
    k.error_log.allocated[entry] = (source, EntrySize)
    return entry


def _strings(k, entry: int, size: int, packet: ks.IO_ERROR_LOG_PACKET) -> list[str]:
    """NumberOfStrings NUL-terminated UTF-16 strings from StringOffset, within the entry."""
    if not packet.NumberOfStrings or not ks.offset_of(ks.IO_ERROR_LOG_PACKET, "DumpData") <= packet.StringOffset < size:
        return []
    raw = k.mem.read(entry + packet.StringOffset, size - packet.StringOffset)
    text = raw[:len(raw) & ~1].decode("utf-16-le", "replace")
    return text.split("\0")[:packet.NumberOfStrings]


@export("IoWriteErrorLogEntry")
def IoWriteErrorLogEntry(k, ElEntry: PVOID) -> None:
    """Posts the entry and frees it. An entry IoAllocateErrorLogEntry did not return is ignored."""
    allocated = k.error_log.allocated.pop(ElEntry, None)
    if allocated is None:
        return
    source, size = allocated
    head = k.mem.read(ElEntry, min(size, ctypes.sizeof(ks.IO_ERROR_LOG_PACKET)))
    packet = ks.IO_ERROR_LOG_PACKET.from_buffer_copy(head.ljust(ctypes.sizeof(ks.IO_ERROR_LOG_PACKET), b"\0"))
    dump_at = ks.offset_of(ks.IO_ERROR_LOG_PACKET, "DumpData")
    dump_size = max(0, min(packet.DumpDataSize, size - dump_at)) & ~3
    dump = k.mem.read(ElEntry + dump_at, dump_size)
    k.error_log.written.append(ErrorLogEntry(
        source, packet.ErrorCode & 0xFFFFFFFF, packet.UniqueErrorValue, packet.FinalStatus & 0xFFFFFFFF,
        packet.MajorFunctionCode, packet.SequenceNumber, packet.IoControlCode,
        [int.from_bytes(dump[i:i + 4], "little") for i in range(0, len(dump), 4)],
        _strings(k, ElEntry, size, packet), k.caller))
    k.pool.free(ElEntry)


@export("IoFreeErrorLogEntry")
def IoFreeErrorLogEntry(k, ElEntry: PVOID) -> None:
    if k.error_log.allocated.pop(ElEntry, None) is not None:
        k.pool.free(ElEntry)
