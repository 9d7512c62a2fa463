"""Memory manager: virtual memory, sections, I/O space and contiguous memory (Mm*, Zw*VirtualMemory).

Every routine that lets the caller choose a page protection announces it (`ProtectionRequest`);
the contiguous allocators that always return executable memory announce `ContiguousRequest`.
Under memory integrity no page becomes writable and executable, so what is mapped is at most
R-X for read-only requests and RW-NX otherwise.
"""
import struct
from dataclasses import dataclass

from emu.memory import FRAME_MASK, PAGE, PROT_R, PROT_RW, PTE_P, PTE_U, PTE_W, page_ceil
from hooks.api import (BOOLEAN, HANDLE, NTSTATUS, PHANDLE, PHYSICAL_ADDRESS, POBJECT_ATTRIBUTES, PLARGE_INTEGER,
                       PROTECTION, PSIZE_T, PULONG, PVOID, SIZE_T, ULONG, ACCESS_MASK, export)
from hooks.events import ContiguousRequest, ProtectionRequest
from hooks.names import PAGE_EXECUTE_MASK
from hooks.registry import object_path

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_NO_MEMORY = 0xC0000017
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_MEMORY_NOT_ALLOCATED = 0xC00000A0
STATUS_CONFLICTING_ADDRESSES = 0xC0000018
NT_CURRENT_PROCESS = 0xFFFFFFFFFFFFFFFF
USER_RANGE_BASE = 0x0000019000000000
USER_RANGE_END = 0x00007FFFFFFF0000
IO_SPACE_BASE = 0xFFFFE09000000000
CONTIGUOUS_BASE = 0xFFFFE0A000000000
SYSTEM_VIEW_BASE = 0xFFFFE0B000000000
MEM_COMMIT, MEM_RESERVE, MEM_RELEASE = 0x1000, 0x2000, 0x8000
PAGE_READONLY, PAGE_NOACCESS = 0x02, 0x01
_READ_ONLY = {0x02, 0x20, 0x10}              # READONLY, EXECUTE_READ, EXECUTE
MAX_REGION = 1 << 30


def executable(protection: int) -> bool:
    return bool(protection & PAGE_EXECUTE_MASK)


def pte_flags(protection: int, user: bool = False) -> int:
    """PTE bits for a Win32 protection under memory integrity: never W and X together, X never granted."""
    base = protection & 0xFF
    if base == PAGE_NOACCESS:
        flags = 0
    elif base in _READ_ONLY:
        flags = PROT_R
    else:
        flags = PROT_RW
    return flags | (PTE_U if user and flags else 0)


def announce_protection(k, protection: int, args: tuple) -> None:
    if k.events.wanted(ProtectionRequest):
        k.events.emit(ProtectionRequest(k.current_export, args, k.caller, protection=protection,
                                        executable=executable(protection)))


@dataclass
class VaRange:
    """A bump allocator over a virtual range, page granular, with a guard page between blocks."""

    next: int
    end: int

    def take(self, size: int) -> int:
        va = self.next
        if va + page_ceil(size) > self.end:
            raise MemoryError("virtual range exhausted")
        self.next += page_ceil(size) + PAGE
        return va


class VaRanges(dict):
    """The virtual ranges this subsystem hands out, by kind; saves itself for snapshots (every
    user request takes from the user range, so a generic copy would be paid on every input)."""

    def snapshot(self) -> object:
        return {kind: r.next for kind, r in self.items()}

    def restore(self, saved: object) -> None:
        for kind, next_va in saved.items():
            self[kind].next = next_va


class UserRegions(dict):
    """Base -> size of the user-range allocations and views; saves itself for snapshots (every user
    request adds one)."""

    def snapshot(self) -> object:
        return dict(self)

    def restore(self, saved: object) -> None:
        if self != saved:
            self.clear()
            self.update(saved)


def address_ranges() -> VaRanges:
    """The virtual ranges this subsystem hands out, one set per kernel."""
    return VaRanges(user=VaRange(USER_RANGE_BASE, USER_RANGE_END),
                    io=VaRange(IO_SPACE_BASE, IO_SPACE_BASE + (1 << 36)),
                    contiguous=VaRange(CONTIGUOUS_BASE, CONTIGUOUS_BASE + (1 << 36)),
                    view=VaRange(SYSTEM_VIEW_BASE, SYSTEM_VIEW_BASE + (1 << 36)))


def map_fresh(k, kind: str, size: int, flags: int) -> int:
    va = k.va_ranges[kind].take(size)
    k.mem.map_new(va, size, flags or PROT_R)
    if not flags:
        k.mem.protect(va, size, 0)
    return va


@export("MmIsAddressValid")
def MmIsAddressValid(k, VirtualAddress: PVOID) -> BOOLEAN:
    return int(bool(k.mem.pte(VirtualAddress) & PTE_P))


@export("MmGetPhysicalAddress")
def MmGetPhysicalAddress(k, BaseAddress: PVOID) -> PHYSICAL_ADDRESS:
    pte = k.mem.pte(BaseAddress)
    return (pte & FRAME_MASK) | (BaseAddress & (PAGE - 1)) if pte & PTE_P else 0


PHYSICAL_WINDOW = 0xFFFFD80000000000       # all of RAM, as Windows' PFN-based lookups would find it


@export("MmGetVirtualForPhysical")
def MmGetVirtualForPhysical(k, PhysicalAddress: PHYSICAL_ADDRESS) -> PVOID:
    return PHYSICAL_WINDOW + PhysicalAddress if PhysicalAddress < k.mem.phys.size else 0


@export("MmGetPhysicalMemoryRanges")
def MmGetPhysicalMemoryRanges(k) -> PVOID:
    """One range covering emulated RAM, then the zero entry that ends the array."""
    ranges = k.pool.allocate(32, executable=False, paged=False, tag=0x676E6152, owner=k.caller)
    k.mem.write(ranges, struct.pack("<QQQQ", 0x1000, k.mem.phys.size - 0x1000, 0, 0))
    return ranges


def map_kernel_region(k, kind: str, size: int, flags: int, offset: int = 0) -> int:
    """Fresh system-space memory (I/O space, contiguous memory): `size` bytes starting `offset` into
    the first page; 0 when the size is unusable, as the kernel returns NULL."""
    if not size or size > MAX_REGION:
        return 0
    va = map_fresh(k, kind, offset + size, flags)
    k.kernel_regions[va] = page_ceil(offset + size)
    return va + offset


def release_kernel_region(k, address: int) -> None:
    """Undo map_kernel_region: unmap the pages and give their frames back."""
    base = address & ~(PAGE - 1)
    size = k.kernel_regions.pop(base, None)
    if size:
        for frame in k.mem.unmap(base, size):
            k.mem.phys.free_frame(frame)


@export("MmMapIoSpace")
def MmMapIoSpace(k, PhysicalAddress: PHYSICAL_ADDRESS, NumberOfBytes: SIZE_T, CacheType: ULONG) -> PVOID:
    return map_kernel_region(k, "io", NumberOfBytes, PROT_RW, PhysicalAddress & (PAGE - 1))


@export("MmMapIoSpaceEx")
def MmMapIoSpaceEx(k, PhysicalAddress: PHYSICAL_ADDRESS, NumberOfBytes: SIZE_T, Protect: PROTECTION) -> PVOID:
    announce_protection(k, Protect, (PhysicalAddress, NumberOfBytes, Protect))
    return map_kernel_region(k, "io", NumberOfBytes, pte_flags(Protect), PhysicalAddress & (PAGE - 1))


@export("MmUnmapIoSpace")
def MmUnmapIoSpace(k, BaseAddress: PVOID, NumberOfBytes: SIZE_T) -> None:
    release_kernel_region(k, BaseAddress)


def _always_executable(k, size: int, args: tuple) -> int:
    if k.events.wanted(ContiguousRequest):
        k.events.emit(ContiguousRequest(k.current_export, args, k.caller, size=size))
    return map_kernel_region(k, "contiguous", size, PROT_RW)


@export("MmAllocateContiguousMemory")
def MmAllocateContiguousMemory(k, NumberOfBytes: SIZE_T, HighestAcceptableAddress: PHYSICAL_ADDRESS) -> PVOID:
    return _always_executable(k, NumberOfBytes, (NumberOfBytes, HighestAcceptableAddress))


@export("MmAllocateContiguousMemorySpecifyCache")
def MmAllocateContiguousMemorySpecifyCache(k, NumberOfBytes: SIZE_T, LowestAcceptableAddress: PHYSICAL_ADDRESS,
                                           HighestAcceptableAddress: PHYSICAL_ADDRESS,
                                           BoundaryAddressMultiple: PHYSICAL_ADDRESS, CacheType: ULONG) -> PVOID:
    return _always_executable(k, NumberOfBytes, (NumberOfBytes, LowestAcceptableAddress, HighestAcceptableAddress,
                                                 BoundaryAddressMultiple, CacheType))


@export("MmAllocateContiguousMemorySpecifyCacheNode")
def MmAllocateContiguousMemorySpecifyCacheNode(k, NumberOfBytes: SIZE_T, LowestAcceptableAddress: PHYSICAL_ADDRESS,
                                               HighestAcceptableAddress: PHYSICAL_ADDRESS,
                                               BoundaryAddressMultiple: PHYSICAL_ADDRESS, CacheType: ULONG,
                                               PreferredNode: ULONG) -> PVOID:
    return _always_executable(k, NumberOfBytes, (NumberOfBytes, LowestAcceptableAddress, HighestAcceptableAddress,
                                                 BoundaryAddressMultiple, CacheType, PreferredNode))


@export("MmAllocateContiguousNodeMemory")
def MmAllocateContiguousNodeMemory(k, NumberOfBytes: SIZE_T, LowestAcceptableAddress: PHYSICAL_ADDRESS,
                                   HighestAcceptableAddress: PHYSICAL_ADDRESS,
                                   BoundaryAddressMultiple: PHYSICAL_ADDRESS, Protect: PROTECTION,
                                   PreferredNode: ULONG) -> PVOID:
    announce_protection(k, Protect, (NumberOfBytes, LowestAcceptableAddress, HighestAcceptableAddress,
                                     BoundaryAddressMultiple, Protect, PreferredNode))
    return map_kernel_region(k, "contiguous", NumberOfBytes, pte_flags(Protect))


@export("MmFreeContiguousMemory")
def MmFreeContiguousMemory(k, BaseAddress: PVOID) -> None:
    release_kernel_region(k, BaseAddress)


@export("MmFreeContiguousMemorySpecifyCache")
def MmFreeContiguousMemorySpecifyCache(k, BaseAddress: PVOID, NumberOfBytes: SIZE_T, CacheType: ULONG) -> None:
    release_kernel_region(k, BaseAddress)


@export("MmAllocateNonCachedMemory")
def MmAllocateNonCachedMemory(k, NumberOfBytes: SIZE_T) -> PVOID:
    """Read-write, no execute: the API lets the caller choose no protection and is not among those
    whose memory Microsoft lists as executable (driversecurity/implement-hvci-compatible-code.md),
    unlike MmAllocateContiguousMemory*. Page granular, as Windows allocates it."""
    return map_kernel_region(k, "contiguous", NumberOfBytes, PROT_RW)


@export("MmFreeNonCachedMemory")
def MmFreeNonCachedMemory(k, BaseAddress: PVOID, NumberOfBytes: SIZE_T) -> None:
    release_kernel_region(k, BaseAddress)


# ---- the current process's user range ----------------------------------------------------------------
@export("ZwAllocateVirtualMemory", "NtAllocateVirtualMemory")
def ZwAllocateVirtualMemory(k, ProcessHandle: HANDLE, BaseAddress: PVOID, ZeroBits: SIZE_T, RegionSize: PSIZE_T,
                            AllocationType: ULONG, Protect: PROTECTION) -> NTSTATUS:
    announce_protection(k, Protect, (ProcessHandle, BaseAddress, ZeroBits, RegionSize, AllocationType, Protect))
    size = k.mem.read_q(RegionSize)
    if not size or size > MAX_REGION:
        return STATUS_INVALID_PARAMETER
    wanted = k.mem.read_q(BaseAddress)
    if wanted:
        base = wanted & ~(PAGE - 1)
        if base in k.user_regions:               # committing a reserved region: already backed
            k.mem.protect(base, page_ceil(size), pte_flags(Protect, user=True))
            k.mem.write_q(RegionSize, page_ceil(size))
            return STATUS_SUCCESS
        return STATUS_CONFLICTING_ADDRESSES
    base = map_fresh(k, "user", size, pte_flags(Protect, user=True))
    k.user_regions[base] = page_ceil(size)
    k.mem.write_q(BaseAddress, base)
    k.mem.write_q(RegionSize, page_ceil(size))
    return STATUS_SUCCESS


@export("ZwFreeVirtualMemory", "NtFreeVirtualMemory")
def ZwFreeVirtualMemory(k, ProcessHandle: HANDLE, BaseAddress: PVOID, RegionSize: PSIZE_T,
                        FreeType: ULONG) -> NTSTATUS:
    base = k.mem.read_q(BaseAddress) & ~(PAGE - 1)
    size = k.user_regions.pop(base, None)
    if size is None:
        return STATUS_MEMORY_NOT_ALLOCATED
    k.mem.unmap(base, size)
    k.mem.write_q(RegionSize, size)
    return STATUS_SUCCESS


@export("ZwProtectVirtualMemory", "NtProtectVirtualMemory")
def ZwProtectVirtualMemory(k, ProcessHandle: HANDLE, BaseAddress: PVOID, RegionSize: PSIZE_T, NewProtect: PROTECTION,
                           OldProtect: PULONG) -> NTSTATUS:
    announce_protection(k, NewProtect, (ProcessHandle, BaseAddress, RegionSize, NewProtect, OldProtect))
    base = k.mem.read_q(BaseAddress) & ~(PAGE - 1)
    size = page_ceil(k.mem.read_q(RegionSize))
    if not all(k.mem.is_mapped(base + off) for off in range(0, size, PAGE)) or not size:
        return STATUS_MEMORY_NOT_ALLOCATED
    old = k.mem.pte(base)
    k.mem.protect(base, size, pte_flags(NewProtect, user=True))
    if OldProtect:
        k.mem.write_u32(OldProtect, 0x04 if old & PTE_W else 0x02)
    return STATUS_SUCCESS


# ---- sections ------------------------------------------------------------------------------------------
@dataclass
class Section:
    size: int
    frames: int            # physical address of contiguous backing frames
    protection: int
    name: str = ""


@export("ZwCreateSection", "NtCreateSection")
def ZwCreateSection(k, SectionHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
                    MaximumSize: PLARGE_INTEGER, SectionPageProtection: PROTECTION, AllocationAttributes: ULONG,
                    FileHandle: HANDLE) -> NTSTATUS:
    announce_protection(k, SectionPageProtection, (SectionHandle, DesiredAccess, ObjectAttributes, MaximumSize,
                                                   SectionPageProtection, AllocationAttributes, FileHandle))
    size = k.mem.read_q(MaximumSize) if MaximumSize else 0
    if not size or size > MAX_REGION:
        return STATUS_INVALID_PARAMETER
    frames = k.mem.phys.alloc_frames(page_ceil(size) // PAGE)
    name = object_path(k, ObjectAttributes) if ObjectAttributes else ""
    k.mem.write_q(SectionHandle, k.handles.open(Section(size, frames, SectionPageProtection, name)))
    return STATUS_SUCCESS


@export("ZwOpenSection", "NtOpenSection")
def ZwOpenSection(k, SectionHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES) -> NTSTATUS:
    name = object_path(k, ObjectAttributes)
    if name.lower() == "\\device\\physicalmemory":
        section = Section(k.mem.phys.size, 0, 0x04, name)
        k.mem.write_q(SectionHandle, k.handles.open(section))
        return STATUS_SUCCESS
    return STATUS_OBJECT_NAME_NOT_FOUND


@export("ZwMapViewOfSection", "NtMapViewOfSection")
def ZwMapViewOfSection(k, SectionHandle: HANDLE, ProcessHandle: HANDLE, BaseAddress: PVOID, ZeroBits: SIZE_T,
                       CommitSize: SIZE_T, SectionOffset: PLARGE_INTEGER, ViewSize: PSIZE_T, InheritDisposition: ULONG,
                       AllocationType: ULONG, Win32Protect: PROTECTION) -> NTSTATUS:
    announce_protection(k, Win32Protect, (SectionHandle, ProcessHandle, BaseAddress, ZeroBits, CommitSize,
                                          SectionOffset, ViewSize, InheritDisposition, AllocationType, Win32Protect))
    section = k.handles.get(SectionHandle, Section)
    if section is None:
        return STATUS_INVALID_HANDLE
    offset = (k.mem.read_q(SectionOffset) if SectionOffset else 0) & ~(PAGE - 1)
    size = k.mem.read_q(ViewSize) or section.size - offset
    if offset + size > section.size or not size or size > MAX_REGION:
        return STATUS_INVALID_PARAMETER
    user = ProcessHandle == NT_CURRENT_PROCESS or ProcessHandle != 0
    va = k.va_ranges["user" if user else "view"].take(size)
    k.mem.map(va, section.frames + offset, size, pte_flags(Win32Protect, user=user) or PROT_R)
    k.user_regions[va] = page_ceil(size)
    k.mem.write_q(BaseAddress, va)
    k.mem.write_q(ViewSize, page_ceil(size))
    return STATUS_SUCCESS


@export("ZwUnmapViewOfSection", "NtUnmapViewOfSection")
def ZwUnmapViewOfSection(k, ProcessHandle: HANDLE, BaseAddress: PVOID) -> NTSTATUS:
    size = k.user_regions.pop(BaseAddress & ~(PAGE - 1), None)
    if size is None:
        return STATUS_INVALID_PARAMETER
    k.mem.unmap(BaseAddress & ~(PAGE - 1), size)
    return STATUS_SUCCESS



@export("MmPageEntireDriver")
def MmPageEntireDriver(k, AddressWithinSection: PVOID) -> PVOID:
    """Makes the driver pageable on Windows (nothing pages out here); returns its image base."""
    image = k.image_at(AddressWithinSection)
    return image.base if image else 0


@export("MmResetDriverPaging")
def MmResetDriverPaging(k, AddressWithinSection: PVOID) -> None:
    return None
