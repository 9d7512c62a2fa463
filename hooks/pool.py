"""Pool: the allocator behind ExAllocatePool* and the handlers that expose it.

Allocations sit on pages whose protection follows what was asked for: NX pool on RW-NX pages;
executable pool on its own pages, never shared with NX allocations, and (memory integrity never
makes a page writable and executable) also mapped RW-NX, so code executed from it faults with
0xFC exactly as under HVCI. 16-byte aligned with a 16-byte POOL_HEADER in front; allocations of
a page or more are page aligned. Tags and the caller are tracked per allocation; frees are checked.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from emu.memory import PAGE, PROT_RW, AddressSpace, page_ceil

NONPAGED_NX_BASE = 0xFFFFC58000000000
NONPAGED_EXEC_BASE = 0xFFFFC59000000000
PAGED_BASE = 0xFFFFA68000000000
HEADER = 16
SMALL_MAX = PAGE - 2 * HEADER      # larger requests get whole pages of their own, page aligned
_POOL_HEADER = struct.Struct("<HHII4x")    # PreviousSize, BlockSize (16-byte units), PoolTag, then zero


@dataclass(slots=True)
class Allocation:
    address: int
    size: int
    tag: int
    executable: bool
    paged: bool
    owner: int          # return address of the allocating call (0 for the kernel's own objects)
    tracked: bool = False   # asked for through ExAllocatePool*: what Driver Verifier's pool tracking counts


class _Region:
    """One pool's virtual range: a bump pointer for fresh pages and free lists for reuse."""

    def __init__(self, base: int):
        self.next_page = base
        self.current = 0          # bump position inside the current small-block page
        self.current_end = 0
        self.free_small: dict[int, list[int]] = {}


class PoolError(Exception):
    """A free of something that is not a live allocation (BAD_POOL_CALLER on Windows)."""

    def __init__(self, address: int, reason: str):
        super().__init__(reason)
        self.address, self.reason = address, reason


class PoolAllocator:
    def __init__(self, mem: AddressSpace):
        self.mem = mem
        self.regions = {(False, False): _Region(NONPAGED_NX_BASE), (True, False): _Region(NONPAGED_EXEC_BASE),
                        (False, True): _Region(PAGED_BASE)}
        self.live: dict[int, Allocation] = {}
        self.freed: set[int] = set()
        # Driver Verifier's low resources simulation (flag 0x4), as a plan instead of at random:
        # `requests` counts the driver's ExAllocatePool* requests, `failing` holds the numbers of those
        # that return NULL. Fuzzing and scenario steps (fail_allocation) set it, so a failure replays.
        self.requests = 0
        self.failing: frozenset[int] = frozenset()

    def fail(self, ordinals: frozenset[int] | set[int] | tuple[int, ...]) -> None:
        """Make the driver's next requests number `ordinals` (1 = the next one) fail; () fails none."""
        self.failing = frozenset(self.requests + n for n in ordinals)

    def refuses(self) -> bool:
        """Count one driver request; True when the plan fails it."""
        self.requests += 1
        return self.requests in self.failing

    def snapshot(self) -> object:
        """The allocator's books (see hooks.state): allocations are never changed once made."""
        return (self.requests, self.failing, dict(self.live), set(self.freed),
                {key: (r.next_page, r.current, r.current_end, {size: list(blocks) for size, blocks in r.free_small.items()})
                 for key, r in self.regions.items()})

    def restore(self, saved: object) -> None:
        self.requests, self.failing, live, freed, regions = saved
        if self.live != live:
            self.live.clear()
            self.live.update(live)
        if self.freed != freed:
            self.freed.clear()
            self.freed.update(freed)
        for key, (next_page, current, current_end, free_small) in regions.items():
            region = self.regions[key]
            region.next_page, region.current, region.current_end = next_page, current, current_end
            if region.free_small != free_small:
                region.free_small = {size: list(blocks) for size, blocks in free_small.items()}

    def allocate(self, size: int, *, executable: bool, paged: bool, tag: int, owner: int) -> int:
        region = self.regions[(executable and not paged, paged)]
        size = size or 1
        if size <= SMALL_MAX:
            block = (size + 15) & ~15
            free = region.free_small.get(block)
            if free:
                va = free.pop()
            else:
                if region.current + HEADER + block > region.current_end:
                    region.current = self._fresh_pages(region, PAGE)
                    region.current_end = region.current + PAGE
                va = region.current + HEADER
                region.current = va + block
            self.mem.write(va - HEADER, _POOL_HEADER.pack(0, (block + HEADER) // 16, tag, 0))
        else:
            va = self._fresh_pages(region, page_ceil(size))
        self.live[va] = Allocation(va, size, tag, executable, paged, owner)
        self.freed.discard(va)
        return va

    def start_small_pages(self) -> None:
        """Give every pool a fresh page for small blocks now: the requests that follow (an IRP, its
        buffer, what a dispatch routine allocates) then map nothing. A fuzzer calls it before its
        snapshot, so that restoring after an input undoes no mapping."""
        for region in self.regions.values():
            region.current = self._fresh_pages(region, PAGE)
            region.current_end = region.current + PAGE

    def _fresh_pages(self, region: _Region, size: int) -> int:
        va = region.next_page
        region.next_page += size + PAGE          # leave an unmapped page between large blocks
        self.mem.map_new(va, size, PROT_RW)
        return va

    def free(self, va: int) -> Allocation:
        alloc = self.live.pop(va, None)
        if alloc is None:
            raise PoolError(va, "freed twice" if va in self.freed else "not a pool allocation")
        self.freed.add(va)
        region = self.regions[(alloc.executable and not alloc.paged, alloc.paged)]
        if alloc.size <= SMALL_MAX:
            region.free_small.setdefault((alloc.size + 15) & ~15, []).append(va)
        else:
            for pa in self.mem.unmap(va, page_ceil(alloc.size)):
                self.mem.phys.free_frame(pa)
        return alloc


# ---- handlers -------------------------------------------------------------------------------------
from emu.machine import Halt  # noqa: E402  (handlers below; the allocator above has no engine needs)
from hooks.api import (PVOID, POOL_FLAGS, POOL_TYPE, SIZE_T, TAG, ULONG, export)  # noqa: E402
from hooks.events import Crash, PoolRequest  # noqa: E402
from hooks.names import (POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_PAGED,  # noqa: E402
                         POOL_FLAG_UNINITIALIZED, POOL_NX_ALLOCATION)

BAD_POOL_CALLER = 0xC2
TAG_NONE = 0x656E6F4E            # 'None', what ExAllocatePool tags with
MAX_ALLOCATION = 1 << 30


def pool_type_class(pool_type: int) -> tuple[bool, bool]:
    """(executable, paged) for a POOL_TYPE: odd base types are paged (NX on x64); a non-paged
    type is executable unless POOL_NX_ALLOCATION (0x200) is set."""
    base = pool_type & 0x3F
    paged = bool(base & 1)
    return (not paged and not pool_type & POOL_NX_ALLOCATION), paged


def pool_flags_class(flags: int) -> tuple[bool, bool] | None:
    """(executable, paged) for POOL_FLAGS, or None when not exactly one pool is named."""
    kinds = [bit for bit in (POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_PAGED) if flags & bit]
    if len(kinds) != 1:
        return None
    return kinds[0] == POOL_FLAG_NON_PAGED_EXECUTE, kinds[0] == POOL_FLAG_PAGED


def announce(k, value: int, size: int, tag: int, args: tuple, executable: bool, caller: int | None = None) -> None:
    """Tell the rules what pool the current call asks for (also for set-ups that allocate later);
    `caller` when the routine has already read it."""
    if k.events.wanted(PoolRequest):
        k.events.emit(PoolRequest(k.current_export, args, k.caller if caller is None else caller, value, tag,
                                  executable, size))


def allocate(k, value: int, size: int, tag: int, args: tuple, executable: bool, paged: bool,
             zero: bool = False) -> int:
    """Announce the request, then allocate. Shared by every ExAllocatePool* routine."""
    caller = k.caller
    announce(k, value, size, tag, args, executable, caller)
    if k.pool.refuses() or size > MAX_ALLOCATION:
        return 0
    va = k.pool.allocate(size, executable=executable, paged=paged, tag=tag, owner=caller)
    k.pool.live[va].tracked = True
    if zero:
        k.mem.write(va, bytes(size))
    return va


def allocate_typed(k, pool_type: int, size: int, tag: int, args: tuple) -> int:
    executable, paged = pool_type_class(pool_type)
    return allocate(k, pool_type, size, tag, args, executable, paged)


def allocate_flagged(k, flags: int, size: int, tag: int, args: tuple) -> int:
    kind = pool_flags_class(flags)
    if kind is None:
        return 0                                 # ExAllocatePool2 fails on an invalid flag set
    return allocate(k, flags, size, tag, args, *kind, zero=not flags & POOL_FLAG_UNINITIALIZED)


def free(k, va: int, tag: int | None) -> None:
    try:
        k.pool.free(va)
    except PoolError as err:
        code = 0x07 if err.reason == "freed twice" else 0x46
        raise Halt(Crash(BAD_POOL_CALLER, (code, 0, va, 0), k.caller, k.current_export.name,
                         f"ExFreePool of 0x{va:x}: {err.reason}")) from None


@export("ExAllocatePool", "ExAllocatePoolWithQuota")     # quota is not modelled: one process
def ExAllocatePool(k, PoolType: POOL_TYPE, NumberOfBytes: SIZE_T) -> PVOID:
    return allocate_typed(k, PoolType, NumberOfBytes, TAG_NONE, (PoolType, NumberOfBytes))


@export("ExAllocatePoolWithTag", "ExAllocatePoolWithQuotaTag")
def ExAllocatePoolWithTag(k, PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: TAG) -> PVOID:
    return allocate_typed(k, PoolType, NumberOfBytes, Tag, (PoolType, NumberOfBytes, Tag))


@export("ExAllocatePoolWithTagPriority")
def ExAllocatePoolWithTagPriority(k, PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: TAG,
                                  Priority: ULONG) -> PVOID:
    return allocate_typed(k, PoolType, NumberOfBytes, Tag, (PoolType, NumberOfBytes, Tag, Priority))


@export("ExAllocatePool2")
def ExAllocatePool2(k, Flags: POOL_FLAGS, NumberOfBytes: SIZE_T, Tag: TAG) -> PVOID:
    return allocate_flagged(k, Flags, NumberOfBytes, Tag, (Flags, NumberOfBytes, Tag))


@export("ExAllocatePool3")
def ExAllocatePool3(k, Flags: POOL_FLAGS, NumberOfBytes: SIZE_T, Tag: TAG, ExtendedParameters: PVOID,
                    ExtendedParametersCount: ULONG) -> PVOID:
    return allocate_flagged(k, Flags, NumberOfBytes, Tag,
                            (Flags, NumberOfBytes, Tag, ExtendedParameters, ExtendedParametersCount))


@export("ExFreePool")
def ExFreePool(k, P: PVOID) -> None:
    free(k, P, None)


@export("ExFreePoolWithTag")
def ExFreePoolWithTag(k, P: PVOID, Tag: TAG) -> None:
    free(k, P, Tag)


@export("ExFreePool2")
def ExFreePool2(k, P: PVOID, Tag: TAG, ExtendedParameters: PVOID, ExtendedParametersCount: ULONG) -> None:
    free(k, P, Tag)
