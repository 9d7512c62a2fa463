"""NDIS memory: pool blocks, generic objects and the NET_BUFFER(_LIST) pools a driver sets up.

NdisAllocateMemoryWithTagPriority is in Microsoft's list of DDIs that can hand out executable memory
(driversecurity/implement-hvci-compatible-code), yet no argument of it chooses the kind of pool: the
reference (nf-ndis-ndisallocatememorywithtagpriority) says it allocates from non-paged pool, which on
Windows 8 and later NDIS serves, under memory integrity, as no-execute memory. The caller cannot ask for
executable memory, so no PoolRequest is announced: the block is non-paged NX pool, tracked for leaks like
any allocation the driver made, and freed with NdisFreeMemory (a bad free is BAD_POOL_CALLER as for
ExFreePool).
"""
from __future__ import annotations

import ctypes

from hooks import kstructs as ks
from hooks.api import PDRIVER_OBJECT, PVOID, TAG, ULONG, USHORT, export
from hooks.ndis.state import NDIS, Pool, new_handle
from hooks.pool import free

NDIS_OBJECT_TYPE_DEFAULT, NDIS_OBJECT_REVISION_1 = 0x80, 1
NDIS_DEFAULT_TAG = 0x4E44616D                   # 'maDN', the tag NDIS uses when the caller gives none
_POOL_PARAMETERS = {"NET_BUFFER_LIST": ks.NET_BUFFER_LIST_POOL_PARAMETERS, "NET_BUFFER": ks.NET_BUFFER_POOL_PARAMETERS}


def _allocate(k, size: int, tag: int) -> int:
    va = k.pool.allocate(size, executable=False, paged=False, tag=tag, owner=k.caller)
    k.pool.live[va].tracked = True
    return va


@export("NdisAllocateMemoryWithTagPriority", module=NDIS)
def NdisAllocateMemoryWithTagPriority(k, NdisHandle: PVOID, Length: ULONG, Tag: TAG, Priority: ULONG) -> PVOID:
    return _allocate(k, Length, Tag or NDIS_DEFAULT_TAG) if Length else 0


@export("NdisFreeMemory", module=NDIS)
def NdisFreeMemory(k, VirtualAddress: PVOID, Length: ULONG, MemoryFlags: ULONG) -> None:
    free(k, VirtualAddress, None)


@export("NdisFreeMemoryWithTagPriority", module=NDIS)
def NdisFreeMemoryWithTagPriority(k, NdisHandle: PVOID, VirtualAddress: PVOID, Tag: TAG) -> None:
    free(k, VirtualAddress, Tag)


@export("NdisAllocateGenericObject", module=NDIS)
def NdisAllocateGenericObject(k, DriverObject: PDRIVER_OBJECT, Tag: TAG, Size: USHORT) -> PVOID:
    """An NDIS_GENERIC_OBJECT followed by Size bytes for the caller, zeroed."""
    header = ctypes.sizeof(ks.NDIS_GENERIC_OBJECT)
    va = _allocate(k, header + Size, Tag)
    k.mem.write(va, bytes(header + Size))
    k.write_struct(va, ks.NDIS_GENERIC_OBJECT(Caller=k.caller, DriverObject=DriverObject))
    k.ndis.generic_objects.add(va)
    return va


@export("NdisFreeGenericObject", module=NDIS)
def NdisFreeGenericObject(k, NdisObject: PVOID) -> None:
    k.ndis.generic_objects.discard(NdisObject)
    free(k, NdisObject, None)


def _new_pool(k, kind: str, parameters: int) -> int:
    """A pool handle, or NULL when the parameters' header is not a revision-1 default object."""
    cls = _POOL_PARAMETERS[kind]
    params = k.read_struct(cls, parameters)
    header = params.Header
    if (header.Type, header.Revision) != (NDIS_OBJECT_TYPE_DEFAULT, NDIS_OBJECT_REVISION_1) or \
            header.Size < ctypes.sizeof(cls):
        return 0
    handle = new_handle(k, params.PoolTag)
    k.ndis.pools[handle] = Pool(handle, kind, params.PoolTag, params.DataSize, getattr(params, "ContextSize", 0))
    return handle


@export("NdisAllocateNetBufferListPool", module=NDIS)
def NdisAllocateNetBufferListPool(k, NdisHandle: PVOID, Parameters: PVOID) -> PVOID:
    return _new_pool(k, "NET_BUFFER_LIST", Parameters)


@export("NdisAllocateNetBufferPool", module=NDIS)
def NdisAllocateNetBufferPool(k, NdisHandle: PVOID, Parameters: PVOID) -> PVOID:
    return _new_pool(k, "NET_BUFFER", Parameters)


@export("NdisFreeNetBufferListPool", "NdisFreeNetBufferPool", module=NDIS)
def NdisFreeNetBufferListPool(k, PoolHandle: PVOID) -> None:
    k.ndis.pools.pop(PoolHandle, None)
