"""WDFKEY: registry keys through the framework, on the kernel's registry (hooks.registry).

WdfRegistryQueryMemory takes a POOL_TYPE for the WDFMEMORY it returns, so it announces the pool
it asks for like every allocation (hooks.wdf.memory).
"""
from __future__ import annotations

from hooks import kstructs as ks
from hooks.api import NTSTATUS, POOL_TYPE, PULONG, PUNICODE_STRING, PVOID, ULONG, VOID, export
from hooks.registry import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, Key
from hooks.registry import Value as RegValue
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_COLLECTION, FX_TYPE_REG_KEY, STATUS_BUFFER_TOO_SMALL,
                                 STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, Client, WdfObject, delete, lookup,
                                 new_object)
from hooks.wdf.memory import new_memory
from hooks.wdf.misc import new_string
from hooks.wdf.types import PUSHORT, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFCOLLECTION, WDFKEY

STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024
STATUS_BUFFER_OVERFLOW = 0x80000005


def open_key(k, client: Client, key: Key, attributes: int, parent: WdfObject, out: int) -> NTSTATUS:
    obj = new_object(k, client, FX_TYPE_REG_KEY, attributes, parent, state=key)
    k.mem.write_q(out, obj.handle)
    return STATUS_SUCCESS


def _value(k, DriverGlobals: int, Key: int, ValueName: int):
    key = lookup(k, DriverGlobals, Key, FX_TYPE_REG_KEY).state
    return key.values.get(k.read_unicode_string(ValueName).lower())


@export("WdfRegistryClose", module=FRAMEWORK)
def WdfRegistryClose(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> VOID:
    delete(k, lookup(k, DriverGlobals, Key, FX_TYPE_REG_KEY))


@export("WdfRegistryQueryULong", module=FRAMEWORK)
def WdfRegistryQueryULong(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                          Value: PULONG) -> NTSTATUS:
    value = _value(k, DriverGlobals, Key, ValueName)
    if value is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    if value.type != REG_DWORD:
        return STATUS_OBJECT_TYPE_MISMATCH
    k.mem.write(Value, value.data[:4])
    return STATUS_SUCCESS


@export("WdfRegistryQueryMultiString", module=FRAMEWORK)
def WdfRegistryQueryMultiString(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                                StringsAttributes: PWDF_OBJECT_ATTRIBUTES, Collection: WDFCOLLECTION) -> NTSTATUS:
    """Each string of a REG_MULTI_SZ value becomes a WDFSTRING added to the collection (its parent, unless
    the attributes name another)."""
    value = _value(k, DriverGlobals, Key, ValueName)
    if value is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    if value.type != REG_MULTI_SZ:
        return STATUS_OBJECT_TYPE_MISMATCH
    client = k.wdf.client(k, DriverGlobals)
    collection = lookup(k, DriverGlobals, Collection, FX_TYPE_COLLECTION)
    for text in value.data.decode("utf-16-le", "replace").split("\0"):
        if not text:
            break                                   # the empty string that ends the list
        collection.state.append(new_string(k, client, text, StringsAttributes, collection).handle)
    return STATUS_SUCCESS


@export("WdfRegistryQueryValue", module=FRAMEWORK)
def WdfRegistryQueryValue(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                          ValueLength: ULONG, Value: PVOID, ValueLengthQueried: PULONG, ValueType: PULONG) -> NTSTATUS:
    value = _value(k, DriverGlobals, Key, ValueName)
    if value is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    if ValueLengthQueried:
        k.mem.write_u32(ValueLengthQueried, len(value.data))
    if ValueType:
        k.mem.write_u32(ValueType, value.type)
    if len(value.data) > ValueLength:
        return STATUS_BUFFER_OVERFLOW
    if Value:
        k.mem.write(Value, value.data)
    return STATUS_SUCCESS


@export("WdfRegistryQueryUnicodeString", module=FRAMEWORK)
def WdfRegistryQueryUnicodeString(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                                  ValueByteLength: PUSHORT, Value: PUNICODE_STRING) -> NTSTATUS:
    value = _value(k, DriverGlobals, Key, ValueName)
    if value is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    if value.type not in (REG_SZ, REG_EXPAND_SZ):
        return STATUS_OBJECT_TYPE_MISMATCH
    text = value.data[:-2] if value.data.endswith(b"\0\0") else value.data
    if ValueByteLength:
        k.mem.write(ValueByteLength, len(text).to_bytes(2, "little"))
    if not Value:
        return STATUS_SUCCESS
    us = k.read_struct(ks.UNICODE_STRING, Value)
    if len(text) > us.MaximumLength:
        return STATUS_BUFFER_OVERFLOW
    k.mem.write(us.Buffer, text)
    us.Length = len(text)
    k.write_struct(Value, us)
    return STATUS_SUCCESS


@export("WdfRegistryQueryMemory", module=FRAMEWORK)
def WdfRegistryQueryMemory(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                           PoolType: POOL_TYPE, MemoryAttributes: PWDF_OBJECT_ATTRIBUTES, Memory: PVOID,
                           ValueType: PULONG) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    value = _value(k, DriverGlobals, Key, ValueName)
    if value is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    memory = new_memory(k, client, PoolType, client.tag, len(value.data), MemoryAttributes,
                        (DriverGlobals, Key, ValueName, PoolType, MemoryAttributes, Memory, ValueType))
    if memory is None:
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(memory.state.buffer, value.data)
    k.mem.write_q(Memory, memory.handle)
    if ValueType:
        k.mem.write_u32(ValueType, value.type)
    return STATUS_SUCCESS


@export("WdfRegistryAssignValue", module=FRAMEWORK)
def WdfRegistryAssignValue(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                           ValueType: ULONG, ValueLength: ULONG, Value: PVOID) -> NTSTATUS:
    key = lookup(k, DriverGlobals, Key, FX_TYPE_REG_KEY).state
    name = k.read_unicode_string(ValueName)
    key.values[name.lower()] = RegValue(name, ValueType, k.mem.read(Value, ValueLength) if ValueLength else b"")
    return STATUS_SUCCESS


@export("WdfRegistryAssignULong", module=FRAMEWORK)
def WdfRegistryAssignULong(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY, ValueName: PUNICODE_STRING,
                           Value: ULONG) -> NTSTATUS:
    key = lookup(k, DriverGlobals, Key, FX_TYPE_REG_KEY).state
    name = k.read_unicode_string(ValueName)
    key.values[name.lower()] = RegValue(name, REG_DWORD, Value.to_bytes(4, "little"))
    return STATUS_SUCCESS
