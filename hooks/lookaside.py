"""Lookaside lists and the interlocked singly linked lists (SLIST) they are built on.

Allocating from a list is inline code in the driver: pop an entry, or call the list's Allocate
routine (by default the kernel's ExAllocatePoolWithTag) with the list's pool type. So the pool
type chosen at initialisation is what every later allocation gets, and initialising announces it.
"""
import struct

from hooks import kstructs as ks
from hooks.api import NTSTATUS, POOL_TYPE, PVOID, SIZE_T, TAG, ULONG, USHORT, export
from hooks.events import PoolRequest
from hooks.names import POOL_NX_ALLOCATION
from hooks.pool import pool_type_class

STATUS_SUCCESS = 0
_FREE = ks.offset_of(ks.GENERAL_LOOKASIDE, "Free")
MAX_DEPTH = 256


# ---- SLIST: x64 header = (Depth:16, Sequence:48) then (HeaderType:1, Init:1, Reserved:2, NextEntry:60) ------
def _slist(k, head: int) -> tuple[int, int, int]:
    low, high = struct.unpack("<QQ", k.mem.read(head, 16))
    return low & 0xFFFF, low >> 16, (high >> 4) << 4


def _set_slist(k, head: int, depth: int, sequence: int, first: int) -> None:
    k.mem.write(head, struct.pack("<QQ", (depth & 0xFFFF) | ((sequence & 0xFFFFFFFFFFFF) << 16),
                                  (first >> 4) << 4 | 0x1))     # HeaderType 1 (x64 16-byte header)


@export("ExpInterlockedPushEntrySList", "InterlockedPushEntrySList")
def ExpInterlockedPushEntrySList(k, ListHead: PVOID, ListEntry: PVOID) -> PVOID:
    depth, seq, first = _slist(k, ListHead)
    k.mem.write_q(ListEntry, first)
    _set_slist(k, ListHead, depth + 1, seq + 1, ListEntry)
    return first


@export("ExpInterlockedPopEntrySList", "InterlockedPopEntrySList")
def ExpInterlockedPopEntrySList(k, ListHead: PVOID) -> PVOID:
    depth, seq, first = _slist(k, ListHead)
    if first:
        _set_slist(k, ListHead, depth - 1, seq + 1, k.mem.read_q(first))
    return first


@export("ExpInterlockedFlushSList", "InterlockedFlushSList")
def ExpInterlockedFlushSList(k, ListHead: PVOID) -> PVOID:
    depth, seq, first = _slist(k, ListHead)
    _set_slist(k, ListHead, 0, seq + 1, 0)
    return first


@export("ExQueryDepthSList", "RtlQueryDepthSList")
def ExQueryDepthSList(k, SListHead: PVOID) -> USHORT:
    return _slist(k, SListHead)[0]


@export("InitializeSListHead", "ExInitializeSListHead")
def InitializeSListHead(k, SListHead: PVOID) -> None:
    _set_slist(k, SListHead, 0, 0, 0)


# ---- lookaside lists ----------------------------------------------------------------------------------
def _init_list(k, lookaside: int, allocate: int, free: int, pool_type: int, size: int, tag: int,
               args: tuple) -> None:
    executable, _ = pool_type_class(pool_type)
    if k.events.wanted(PoolRequest):
        k.events.emit(PoolRequest(k.current_export, args, k.caller, value=pool_type, tag=tag,
                                  executable=executable, size=size))
    g = ks.GENERAL_LOOKASIDE()
    g.Depth = 4
    g.MaximumDepth = MAX_DEPTH
    g.Type = pool_type
    g.Tag = tag
    g.Size = size
    g.Allocate = allocate or k.address_of("ntoskrnl.exe", "ExAllocatePoolWithTag")
    g.Free = free or k.address_of("ntoskrnl.exe", "ExFreePool")
    k.write_struct(lookaside, g)
    _set_slist(k, lookaside, 0, 0, 0)
    head = lookaside + ks.offset_of(ks.GENERAL_LOOKASIDE, "ListEntry")
    k.mem.write(head, struct.pack("<QQ", head, head))


def _drain(k, lookaside: int) -> None:
    free = k.mem.read_q(lookaside + _FREE)
    entry = ExpInterlockedFlushSList(k, lookaside)
    while entry:
        nxt = k.mem.read_q(entry)
        if free == k.address_of("ntoskrnl.exe", "ExFreePool") and entry in k.pool.live:
            k.pool.free(entry)
        entry = nxt


@export("ExInitializeNPagedLookasideList")
def ExInitializeNPagedLookasideList(k, Lookaside: PVOID, Allocate: PVOID, Free: PVOID, Flags: ULONG, Size: SIZE_T,
                                    Tag: TAG, Depth: USHORT) -> None:
    pool_type = Flags & POOL_NX_ALLOCATION       # NonPagedPool, or NonPagedPoolNx with POOL_NX_ALLOCATION
    _init_list(k, Lookaside, Allocate, Free, pool_type, Size, Tag,
               (Lookaside, Allocate, Free, Flags, Size, Tag, Depth))


@export("ExInitializePagedLookasideList")
def ExInitializePagedLookasideList(k, Lookaside: PVOID, Allocate: PVOID, Free: PVOID, Flags: ULONG, Size: SIZE_T,
                                   Tag: TAG, Depth: USHORT) -> None:
    _init_list(k, Lookaside, Allocate, Free, 1, Size, Tag, (Lookaside, Allocate, Free, Flags, Size, Tag, Depth))


@export("ExInitializeLookasideListEx")
def ExInitializeLookasideListEx(k, Lookaside: PVOID, Allocate: PVOID, Free: PVOID, PoolType: POOL_TYPE, Flags: ULONG,
                                Size: SIZE_T, Tag: TAG, Depth: USHORT) -> NTSTATUS:
    _init_list(k, Lookaside, Allocate, Free, PoolType, Size, Tag,
               (Lookaside, Allocate, Free, PoolType, Flags, Size, Tag, Depth))
    return STATUS_SUCCESS


@export("ExDeleteNPagedLookasideList", "ExDeletePagedLookasideList", "ExDeleteLookasideListEx",
        "ExFlushLookasideListEx")
def ExDeleteLookasideList(k, Lookaside: PVOID) -> None:
    _drain(k, Lookaside)



