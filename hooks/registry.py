"""The per-run registry: keys and values seeded from rootfs/registry, changed only by the run."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from hooks.state import Fields

REG_NONE, REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 0, 1, 2, 3, 4, 7, 11
_TYPES = {"REG_SZ": REG_SZ, "REG_EXPAND_SZ": REG_EXPAND_SZ, "REG_BINARY": REG_BINARY,
          "REG_DWORD": REG_DWORD, "REG_MULTI_SZ": REG_MULTI_SZ, "REG_QWORD": REG_QWORD}


@dataclass(frozen=True)
class Value:
    name: str
    type: int
    data: bytes


@dataclass
class Key:
    path: str
    values: dict[str, Value] = field(default_factory=dict)     # lower-case name -> value


def encode(kind: int, value) -> bytes:
    if kind in (REG_SZ, REG_EXPAND_SZ):
        return str(value).encode("utf-16-le") + b"\0\0"
    if kind == REG_DWORD:
        return struct.pack("<I", int(value) & 0xFFFFFFFF)
    if kind == REG_QWORD:
        return struct.pack("<Q", int(value))
    if kind == REG_MULTI_SZ:
        return b"".join(s.encode("utf-16-le") + b"\0\0" for s in value) + b"\0\0"
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


class Registry:
    def __init__(self, seed: dict, profile: dict):
        self.keys: dict[str, Key] = {}
        self._templates: dict[str, dict] = {}
        self._vars = {k: str(v) for k, v in profile.items() if isinstance(v, (int, str))}
        for path, values in seed.items():
            if "{driver}" in path:
                self._templates[path] = values
            else:
                self._add(path.format(**self._vars), values, self._vars)

    def _add(self, path: str, values: dict, fill: dict) -> None:
        key = self.create(path)
        for name, (kind_name, raw) in values.items():
            kind = _TYPES[kind_name]
            raw = raw.format(**fill) if isinstance(raw, str) else raw
            if kind in (REG_DWORD, REG_QWORD):
                raw = int(raw)
            key.values[name.lower()] = Value(name, kind, encode(kind, raw))

    # ---- kernel snapshots (hooks.state): keys stay the same objects, which handles refer to ----
    def snapshot(self) -> object:
        return dict(self.keys), Fields(self.keys.values(), ("path", "values"))

    def restore(self, saved: object) -> None:
        keys, fields = saved
        if self.keys != keys or fields.changed():
            self.keys.clear()
            self.keys.update(keys)
            fields.put_back()

    def shared(self) -> list[Key]:
        return list(self.keys.values())

    def add_service(self, driver: str) -> None:
        fill = {**self._vars, "driver": driver}
        for path, values in self._templates.items():
            self._add(path.replace("{driver}", driver), values, fill)

    @staticmethod
    def normalise(path: str) -> str:
        return "\\".join(p for p in path.split("\\") if p).lower()

    def open(self, path: str) -> Key | None:
        return self.keys.get(self.normalise(path))

    def create(self, path: str) -> Key:
        norm = self.normalise(path)
        parts = norm.split("\\")
        for i in range(1, len(parts) + 1):   # parents exist too, as on Windows
            sub = "\\".join(parts[:i])
            self.keys.setdefault(sub, Key(sub))
        return self.keys[norm]

    def subkeys(self, key: Key) -> list[str]:
        prefix = key.path + "\\"
        return sorted({k[len(prefix):].split("\\")[0] for k in self.keys if k.startswith(prefix)})


# ---- handlers -------------------------------------------------------------------------------------
from hooks.api import ACCESS_MASK, HANDLE, NTSTATUS, PHANDLE, POBJECT_ATTRIBUTES, PULONG, PUNICODE_STRING, PVOID, ULONG, export  # noqa: E402

STATUS_SUCCESS = 0
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_INVALID_PARAMETER = 0xC000000D
REG_CREATED_NEW_KEY, REG_OPENED_EXISTING_KEY = 1, 2
KeyValueBasicInformation, KeyValueFullInformation, KeyValuePartialInformation = 0, 1, 2


def object_path(k, attributes: int) -> str:
    """The full name an OBJECT_ATTRIBUTES names (RootDirectory handle + ObjectName)."""
    root, name = struct.unpack("<QQ", k.mem.read(attributes + 8, 16))
    text = k.read_unicode_string(name) if name else ""
    if root:
        parent = k.handles.get(root, Key)
        if parent is not None:
            return parent.path + "\\" + text
    return text


def _key(k, handle: int) -> Key | None:
    return k.handles.get(handle, Key)


@export("ZwOpenKey", "NtOpenKey", "ZwOpenKeyEx")
def ZwOpenKey(k, KeyHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES) -> NTSTATUS:
    key = k.registry.open(object_path(k, ObjectAttributes))
    if key is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    k.mem.write_q(KeyHandle, k.handles.open(key))
    return STATUS_SUCCESS


@export("ZwCreateKey", "NtCreateKey")
def ZwCreateKey(k, KeyHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
                TitleIndex: ULONG, Class: PUNICODE_STRING, CreateOptions: ULONG, Disposition: PULONG) -> NTSTATUS:
    path = object_path(k, ObjectAttributes)
    existed = k.registry.open(path) is not None
    key = k.registry.create(path)
    k.mem.write_q(KeyHandle, k.handles.open(key))
    if Disposition:
        k.mem.write_u32(Disposition, REG_OPENED_EXISTING_KEY if existed else REG_CREATED_NEW_KEY)
    return STATUS_SUCCESS


@export("ZwQueryValueKey", "NtQueryValueKey")
def ZwQueryValueKey(k, KeyHandle: HANDLE, ValueName: PUNICODE_STRING, KeyValueInformationClass: ULONG,
                    KeyValueInformation: PVOID, Length: ULONG, ResultLength: PULONG) -> NTSTATUS:
    key = _key(k, KeyHandle)
    if key is None:
        return STATUS_INVALID_HANDLE
    value = key.values.get(k.read_unicode_string(ValueName).lower())
    if value is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    name = value.name.encode("utf-16-le")
    if KeyValueInformationClass == KeyValuePartialInformation:
        blob = struct.pack("<III", 0, value.type, len(value.data)) + value.data
    elif KeyValueInformationClass == KeyValueBasicInformation:
        blob = struct.pack("<III", 0, value.type, len(name)) + name
    elif KeyValueInformationClass == KeyValueFullInformation:
        offset = (20 + len(name) + 7) & ~7
        blob = struct.pack("<IIIII", 0, value.type, offset, len(value.data), len(name)) + name
        blob = blob.ljust(offset, b"\0") + value.data
    else:
        return STATUS_INVALID_PARAMETER
    if ResultLength:
        k.mem.write_u32(ResultLength, len(blob))
    if Length < len(blob):
        fixed = 12 if KeyValueInformationClass != KeyValueFullInformation else 20
        if Length >= fixed:
            k.mem.write(KeyValueInformation, blob[:fixed])
            return STATUS_BUFFER_OVERFLOW
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(KeyValueInformation, blob)
    return STATUS_SUCCESS


@export("ZwSetValueKey", "NtSetValueKey")
def ZwSetValueKey(k, KeyHandle: HANDLE, ValueName: PUNICODE_STRING, TitleIndex: ULONG, Type: ULONG,
                  Data: PVOID, DataSize: ULONG) -> NTSTATUS:
    key = _key(k, KeyHandle)
    if key is None:
        return STATUS_INVALID_HANDLE
    name = k.read_unicode_string(ValueName) if ValueName else ""
    key.values[name.lower()] = Value(name, Type, k.mem.read(Data, DataSize) if DataSize else b"")
    return STATUS_SUCCESS


@export("ZwDeleteValueKey", "NtDeleteValueKey")
def ZwDeleteValueKey(k, KeyHandle: HANDLE, ValueName: PUNICODE_STRING) -> NTSTATUS:
    key = _key(k, KeyHandle)
    if key is None:
        return STATUS_INVALID_HANDLE
    found = key.values.pop(k.read_unicode_string(ValueName).lower(), None)
    return STATUS_SUCCESS if found else STATUS_OBJECT_NAME_NOT_FOUND


@export("ZwFlushKey", "NtFlushKey")
def ZwFlushKey(k, KeyHandle: HANDLE) -> NTSTATUS:
    return STATUS_SUCCESS if _key(k, KeyHandle) else STATUS_INVALID_HANDLE
