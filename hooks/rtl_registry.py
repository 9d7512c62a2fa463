"""The Rtl registry helpers (RtlQueryRegistryValues, RtlWriteRegistryValue, RtlCheckRegistryKey,
RtlCreateRegistryKey, RtlDeleteRegistryValue) on the per-run registry (hooks.registry).

RtlQueryRegistryValues walks the RTL_QUERY_REGISTRY_TABLE as Microsoft documents it
(wdm/nf-wdm-rtlqueryregistryvalues): RelativeTo bases and RTL_REGISTRY_HANDLE, SUBKEY/TOPKEY
focus changes, REQUIRED, defaults (DefaultType/DefaultData/DefaultLength, string lengths computed
when 0), DIRECT stores (UNICODE_STRING, allocated when its Buffer is NULL; small values in place;
larger ones behind a signed LONG size), TYPECHECK, NOEXPAND, DELETE, and QueryRoutine callbacks,
which are driver code and run as nested calls (Kernel.call_nested).
"""
from __future__ import annotations

import ctypes
import re
import struct

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PCWSTR, PVOID, ULONG, export
from hooks.registry import REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_SZ, Key, Value

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024
STATUS_BUFFER_TOO_SMALL = 0xC0000023
RTL_REGISTRY_ABSOLUTE, RTL_REGISTRY_SERVICES, RTL_REGISTRY_CONTROL = 0, 1, 2
RTL_REGISTRY_WINDOWS_NT, RTL_REGISTRY_DEVICEMAP, RTL_REGISTRY_USER = 3, 4, 5
RTL_REGISTRY_HANDLE, RTL_REGISTRY_OPTIONAL = 0x40000000, 0x80000000
RTL_QUERY_REGISTRY_SUBKEY, RTL_QUERY_REGISTRY_TOPKEY, RTL_QUERY_REGISTRY_REQUIRED = 0x1, 0x2, 0x4
RTL_QUERY_REGISTRY_NOVALUE, RTL_QUERY_REGISTRY_NOEXPAND, RTL_QUERY_REGISTRY_DIRECT = 0x8, 0x10, 0x20
RTL_QUERY_REGISTRY_DELETE, RTL_QUERY_REGISTRY_TYPECHECK = 0x40, 0x100
RTL_QUERY_REGISTRY_TYPECHECK_SHIFT = 24
_BASES = {RTL_REGISTRY_ABSOLUTE: "",
          RTL_REGISTRY_SERVICES: "\\Registry\\Machine\\System\\CurrentControlSet\\Services",
          RTL_REGISTRY_CONTROL: "\\Registry\\Machine\\System\\CurrentControlSet\\Control",
          RTL_REGISTRY_WINDOWS_NT: "\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
          RTL_REGISTRY_DEVICEMAP: "\\Registry\\Machine\\Hardware\\DeviceMap",
          RTL_REGISTRY_USER: "\\Registry\\User\\.Default"}
_STRINGS = (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ)
_ENTRY = ks.RTL_QUERY_REGISTRY_TABLE
STRING_TAG = 0x53727452                    # 'SrtR': reads "RtrS" in memory


def _key_path(k, relative_to: int, path: int) -> str | Key | None:
    """The key RelativeTo/Path name: an open Key for RTL_REGISTRY_HANDLE, else a full path; None
    when RelativeTo is not one of the documented values."""
    if relative_to & RTL_REGISTRY_HANDLE:
        return k.handles.get(path, Key)
    base = _BASES.get(relative_to & ~RTL_REGISTRY_OPTIONAL)
    if base is None:
        return None
    tail = k.mem.read_wstr(path) if path else ""
    return base + ("\\" + tail if tail and base else tail)


def _open(k, relative_to: int, path: int) -> Key | None:
    where = _key_path(k, relative_to, path)
    return where if isinstance(where, Key) or where is None else k.registry.open(where)


def _expand(k, text: str, environment: int) -> str:
    """%NAME% references from the Environment block (NAME=value strings), else the system's."""
    names = {"systemroot": k.profile["system_root"], "windir": k.profile["system_root"]}
    if environment:
        at = environment
        while (item := k.mem.read_wstr(at)) and "=" in item[1:]:
            name, _, value = item.partition("=")
            names[name.lower()] = value
            at += 2 * len(item) + 2
    return re.sub(r"%([^%]+)%", lambda m: names.get(m.group(1).lower(), m.group(0)), text)


def _default(k, entry) -> Value | None:
    kind = entry.DefaultType & 0xFF
    if kind == REG_NONE:
        return None
    length = entry.DefaultLength
    if not length and kind in _STRINGS and entry.DefaultData:
        length = _string_size(k, entry.DefaultData, kind == REG_MULTI_SZ)
    return Value("", kind, k.mem.read(entry.DefaultData, length) if entry.DefaultData and length else b"")


def _string_size(k, at: int, multi: bool) -> int:
    """Bytes of a NUL-terminated string (with its NUL) or of a MULTI_SZ (with the final empty one)."""
    size = 0
    while True:
        item = k.mem.read_wstr(at + size)
        size += 2 * len(item) + 2
        if not multi or not item:
            return size


def _pieces(k, value: Value, flags: int, environment: int) -> list[tuple[int, bytes]]:
    """(type, data) pairs as the QueryRoutine or the DIRECT store sees them: REG_EXPAND_SZ expanded
    and REG_MULTI_SZ split into REG_SZ strings, unless NOEXPAND."""
    if flags & RTL_QUERY_REGISTRY_NOEXPAND or value.type not in (REG_EXPAND_SZ, REG_MULTI_SZ):
        return [(value.type, value.data)]
    text = value.data.decode("utf-16-le", "replace")
    if value.type == REG_EXPAND_SZ:
        expanded = _expand(k, text.split("\0")[0], environment)
        return [(REG_SZ, expanded.encode("utf-16-le") + b"\0\0")]
    return [(REG_SZ, s.encode("utf-16-le") + b"\0\0") for s in text.split("\0") if s]


def _store_direct(k, at: int, kind: int, data: bytes) -> int:
    """Write a value where a DIRECT entry's EntryContext points, in the documented formats."""
    if kind in _STRINGS:
        us = k.read_struct(ks.UNICODE_STRING, at)
        text = data[:-2] if data.endswith(b"\0\0") else data      # Length leaves out the final NUL
        if not us.Buffer:
            us.Buffer = k.pool.allocate(len(text) + 2, executable=False, paged=True, tag=STRING_TAG, owner=k.caller)
            us.MaximumLength = len(text) + 2
        elif len(text) + 2 > us.MaximumLength:
            return STATUS_BUFFER_TOO_SMALL
        k.mem.write(us.Buffer, text + b"\0\0")
        us.Length = len(text)
        k.write_struct(at, us)
        return STATUS_SUCCESS
    if len(data) <= 4:
        k.mem.write(at, data)
        return STATUS_SUCCESS
    size = struct.unpack("<i", k.mem.read(at, 4))[0]
    if size < 0:                                    # the negated buffer size: data only
        if len(data) > -size:
            return STATUS_BUFFER_TOO_SMALL
        k.mem.write(at, data)
    else:                                           # length, type, then data
        if len(data) + 8 > size:
            return STATUS_BUFFER_TOO_SMALL
        k.mem.write(at, struct.pack("<II", len(data), kind) + data)
    return STATUS_SUCCESS


def _walk_status(status: int) -> int:
    """A QueryRoutine's error (NT_ERROR: severity 3) ends the walk, except STATUS_BUFFER_TOO_SMALL."""
    return status if status >> 30 == 3 and status != STATUS_BUFFER_TOO_SMALL else STATUS_SUCCESS


def _call_routine(k, entry, name: str | None, kind: int, data: bytes, context: int) -> int:
    """QueryRoutine(ValueName, ValueType, ValueData, ValueLength, Context, EntryContext), with
    the name and data in pool for the duration of the call."""
    name_at = data_at = 0
    if name is not None:
        raw = name.encode("utf-16-le") + b"\0\0"
        name_at = k.pool.allocate(len(raw), executable=False, paged=False, tag=STRING_TAG, owner=0)
        k.mem.write(name_at, raw)
    if data:
        data_at = k.pool.allocate(len(data), executable=False, paged=False, tag=STRING_TAG, owner=0)
        k.mem.write(data_at, data)
    status = k.call_nested(entry.QueryRoutine, [name_at, kind, data_at, len(data), context, entry.EntryContext])
    for at in (name_at, data_at):
        if at:
            k.pool.free(at)
    return status & 0xFFFFFFFF


def _query_entry(k, key: Key | None, entry, context: int, environment: int) -> int:
    """One value entry (DIRECT or QueryRoutine); returns the status that ends the walk, or success."""
    name = k.mem.read_wstr(entry.Name) if entry.Name else None
    flags = entry.Flags
    if flags & RTL_QUERY_REGISTRY_DIRECT and (name is None or not entry.EntryContext):
        return STATUS_INVALID_PARAMETER
    if name is None and flags & RTL_QUERY_REGISTRY_NOVALUE:
        return _walk_status(_call_routine(k, entry, None, REG_NONE, b"", context))
    if name is None:
        values = list(key.values.values()) if key is not None else []
        if not values and flags & RTL_QUERY_REGISTRY_REQUIRED:
            return STATUS_OBJECT_NAME_NOT_FOUND
    else:
        found = key.values.get(name.lower()) if key is not None else None
        if found is not None and flags & RTL_QUERY_REGISTRY_TYPECHECK \
                and found.type != entry.DefaultType >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT:
            return STATUS_OBJECT_TYPE_MISMATCH
        found = found or _default(k, entry)
        if found is None:
            return STATUS_OBJECT_NAME_NOT_FOUND if flags & RTL_QUERY_REGISTRY_REQUIRED else STATUS_SUCCESS
        values = [found]
    for value in values:
        for kind, data in _pieces(k, value, flags, environment):
            if flags & RTL_QUERY_REGISTRY_DIRECT:
                status = _store_direct(k, entry.EntryContext, kind, data)
                if status != STATUS_SUCCESS:
                    return status
                continue
            status = _walk_status(_call_routine(k, entry, value.name or name, kind, data, context))
            if status != STATUS_SUCCESS:
                return status
        if flags & RTL_QUERY_REGISTRY_DELETE and key is not None:
            key.values.pop(value.name.lower(), None)
    return STATUS_SUCCESS


@export("RtlQueryRegistryValues")
def RtlQueryRegistryValues(k, RelativeTo: ULONG, Path: PCWSTR, QueryTable: PVOID, Context: PVOID,
                           Environment: PVOID) -> NTSTATUS:
    top = _open(k, RelativeTo, Path)
    if top is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    key: Key | None = top
    at = QueryTable
    while True:
        entry = k.read_struct(_ENTRY, at)
        at += ctypes.sizeof(_ENTRY)
        if not entry.QueryRoutine and not entry.Name and not entry.Flags & RTL_QUERY_REGISTRY_TOPKEY:
            return STATUS_SUCCESS
        if entry.Flags & RTL_QUERY_REGISTRY_TOPKEY:
            key = top
            continue
        if entry.Flags & RTL_QUERY_REGISTRY_SUBKEY:
            if not entry.Name:
                return STATUS_INVALID_PARAMETER
            key = k.registry.open(top.path + "\\" + k.mem.read_wstr(entry.Name))
            if key is None and entry.Flags & RTL_QUERY_REGISTRY_REQUIRED:
                return STATUS_OBJECT_NAME_NOT_FOUND
            if not entry.QueryRoutine:
                continue
        elif not entry.Flags & RTL_QUERY_REGISTRY_DIRECT and not entry.QueryRoutine:
            return STATUS_INVALID_PARAMETER
        status = _query_entry(k, key, entry, Context, Environment)
        if status != STATUS_SUCCESS:
            return status


@export("RtlWriteRegistryValue")
def RtlWriteRegistryValue(k, RelativeTo: ULONG, Path: PCWSTR, ValueName: PCWSTR, ValueType: ULONG, ValueData: PVOID,
                          ValueLength: ULONG) -> NTSTATUS:
    """Creates the key if needed, as Windows does."""
    where = _key_path(k, RelativeTo, Path)
    if where is None:
        return STATUS_INVALID_PARAMETER
    key = where if isinstance(where, Key) else k.registry.create(where)
    name = k.mem.read_wstr(ValueName) if ValueName else ""
    key.values[name.lower()] = Value(name, ValueType, k.mem.read(ValueData, ValueLength) if ValueLength else b"")
    return STATUS_SUCCESS


@export("RtlCheckRegistryKey")
def RtlCheckRegistryKey(k, RelativeTo: ULONG, Path: PCWSTR) -> NTSTATUS:
    return STATUS_SUCCESS if _open(k, RelativeTo, Path) is not None else STATUS_OBJECT_NAME_NOT_FOUND


@export("RtlCreateRegistryKey")
def RtlCreateRegistryKey(k, RelativeTo: ULONG, Path: PCWSTR) -> NTSTATUS:
    where = _key_path(k, RelativeTo, Path)
    if where is None:
        return STATUS_INVALID_PARAMETER
    if not isinstance(where, Key):
        k.registry.create(where)
    return STATUS_SUCCESS


@export("RtlDeleteRegistryValue")
def RtlDeleteRegistryValue(k, RelativeTo: ULONG, Path: PCWSTR, ValueName: PCWSTR) -> NTSTATUS:
    key = _open(k, RelativeTo, Path)
    name = k.mem.read_wstr(ValueName).lower() if ValueName else ""
    if key is None or key.values.pop(name, None) is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    return STATUS_SUCCESS
