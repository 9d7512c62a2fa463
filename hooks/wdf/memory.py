"""WDFMEMORY and WDFLOOKASIDE: buffers the framework allocates for a driver.

The framework allocates from the pool type the driver names, so WdfMemoryCreate and every DDI that
returns a new WDFMEMORY (WdfRegistryQueryMemory, the Alloc-and-query-property family) announce a
PoolRequest through hooks.pool exactly as ExAllocatePoolWithTag does, with the tag KMDF uses: the
caller's PoolTag, or the driver's tag when it is 0 (fxmemorybufferapi.cpp, fxlookasidelistapi.cpp).
WdfLookasideListCreate announces its pool type when the list is set up, as
ExInitializeNPagedLookasideList does; buffers taken from the list later are of that type.
"""
from __future__ import annotations

from dataclasses import dataclass

from hooks import pool
from hooks.api import NTSTATUS, POOL_TYPE, PVOID, SIZE_T, TAG, export
from hooks.pool import pool_type_class
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_LOOKASIDE, IFX_TYPE_MEMORY, STATUS_INSUFFICIENT_RESOURCES,
                                 STATUS_INVALID_PARAMETER, STATUS_SUCCESS, Client, WdfObject, lookup, new_object)
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFLOOKASIDE, WDFMEMORY

STATUS_INVALID_BUFFER_SIZE = 0xC0000206


@dataclass
class MemoryBlock:
    buffer: int
    size: int
    owned: bool                 # the framework allocated it, so it is freed with the object

    def on_delete(self, k) -> None:
        if self.owned:
            k.pool.free(self.buffer)


@dataclass
class LookasideList:
    size: int
    pool_type: int
    tag: int
    memory_attributes: int


def new_memory(k, client: Client, pool_type: int, tag: int, size: int, attributes: int,
               args: tuple) -> WdfObject | None:
    """A WDFMEMORY of `size` bytes from `pool_type`, announced as the current call's request."""
    buffer = pool.allocate_typed(k, pool_type, size, tag, args)
    if not buffer:
        return None
    return new_object(k, client, IFX_TYPE_MEMORY, attributes, client.driver, MemoryBlock(buffer, size, True))


def memory_of(k, globals_address: int, handle: int) -> MemoryBlock:
    return lookup(k, globals_address, handle, IFX_TYPE_MEMORY).state


@export("WdfMemoryCreate", module=FRAMEWORK)
def WdfMemoryCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Attributes: PWDF_OBJECT_ATTRIBUTES, PoolType: POOL_TYPE,
                    PoolTag: TAG, BufferSize: SIZE_T, Memory: PVOID, Buffer: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    if BufferSize == 0:
        return STATUS_INVALID_PARAMETER
    k.mem.write_q(Memory, 0)
    obj = new_memory(k, client, PoolType, PoolTag or client.tag, BufferSize, Attributes,
                     (DriverGlobals, Attributes, PoolType, PoolTag, BufferSize, Memory, Buffer))
    if obj is None:
        return STATUS_INSUFFICIENT_RESOURCES
    k.mem.write_q(Memory, obj.handle)
    if Buffer:
        k.mem.write_q(Buffer, obj.state.buffer)
    return STATUS_SUCCESS


@export("WdfMemoryCreatePreallocated", module=FRAMEWORK)
def WdfMemoryCreatePreallocated(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Attributes: PWDF_OBJECT_ATTRIBUTES,
                                Buffer: PVOID, BufferSize: SIZE_T, Memory: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    if not Buffer or BufferSize == 0:
        return STATUS_INVALID_PARAMETER
    obj = new_object(k, client, IFX_TYPE_MEMORY, Attributes, client.driver, MemoryBlock(Buffer, BufferSize, False))
    k.mem.write_q(Memory, obj.handle)
    return STATUS_SUCCESS


@export("WdfMemoryGetBuffer", module=FRAMEWORK)
def WdfMemoryGetBuffer(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Memory: WDFMEMORY, BufferSize: PVOID) -> PVOID:
    memory = memory_of(k, DriverGlobals, Memory)
    if BufferSize:
        k.mem.write_q(BufferSize, memory.size)
    return memory.buffer


@export("WdfMemoryCopyFromBuffer", module=FRAMEWORK)
def WdfMemoryCopyFromBuffer(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DestinationMemory: WDFMEMORY,
                            DestinationOffset: SIZE_T, Buffer: PVOID, NumBytesToCopyFrom: SIZE_T) -> NTSTATUS:
    memory = memory_of(k, DriverGlobals, DestinationMemory)
    if DestinationOffset + NumBytesToCopyFrom > memory.size:
        return STATUS_INVALID_BUFFER_SIZE
    k.mem.write(memory.buffer + DestinationOffset, k.mem.read(Buffer, NumBytesToCopyFrom))
    return STATUS_SUCCESS


@export("WdfMemoryCopyToBuffer", module=FRAMEWORK)
def WdfMemoryCopyToBuffer(k, DriverGlobals: PWDF_DRIVER_GLOBALS, SourceMemory: WDFMEMORY, SourceOffset: SIZE_T,
                          Buffer: PVOID, NumBytesToCopyTo: SIZE_T) -> NTSTATUS:
    memory = memory_of(k, DriverGlobals, SourceMemory)
    if SourceOffset + NumBytesToCopyTo > memory.size:
        return STATUS_INVALID_BUFFER_SIZE
    k.mem.write(Buffer, k.mem.read(memory.buffer + SourceOffset, NumBytesToCopyTo))
    return STATUS_SUCCESS


@export("WdfLookasideListCreate", module=FRAMEWORK)
def WdfLookasideListCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, LookasideAttributes: PWDF_OBJECT_ATTRIBUTES,
                           BufferSize: SIZE_T, PoolType: POOL_TYPE, MemoryAttributes: PWDF_OBJECT_ATTRIBUTES,
                           PoolTag: TAG, Lookaside: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    if BufferSize == 0:
        return STATUS_INVALID_PARAMETER
    tag = PoolTag or client.tag
    pool.announce(k, PoolType, BufferSize, tag, (DriverGlobals, LookasideAttributes, BufferSize, PoolType,
                                                 MemoryAttributes, PoolTag, Lookaside), pool_type_class(PoolType)[0])
    obj = new_object(k, client, FX_TYPE_LOOKASIDE, LookasideAttributes, client.driver,
                     LookasideList(BufferSize, PoolType, tag, MemoryAttributes))
    k.mem.write_q(Lookaside, obj.handle)
    return STATUS_SUCCESS


@export("WdfMemoryCreateFromLookaside", module=FRAMEWORK)
def WdfMemoryCreateFromLookaside(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Lookaside: WDFLOOKASIDE,
                                 Memory: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    lookaside = lookup(k, client.globals, Lookaside, FX_TYPE_LOOKASIDE).state
    executable, paged = pool_type_class(lookaside.pool_type)
    buffer = k.pool.allocate(lookaside.size, executable=executable, paged=paged, tag=lookaside.tag, owner=k.caller)
    obj = new_object(k, client, IFX_TYPE_MEMORY, lookaside.memory_attributes, client.driver,
                     MemoryBlock(buffer, lookaside.size, True))
    k.mem.write_q(Memory, obj.handle)
    return STATUS_SUCCESS
