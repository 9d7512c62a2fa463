"""Memory descriptor lists: describing pages, locking them, and mapping them a second time.

A system-space mapping of an MDL is a true second mapping of the same physical frames (a write
through one address is visible through the other). It is announced as a `MappingRequest` with the
priority as passed; without MdlMappingNoExecute a kernel-mode mapping is executable on Windows.
"""
import ctypes
import struct

from emu.memory import FRAME_MASK, PAGE, PROT_R, PROT_RW, PTE_U, page_ceil
from hooks import kstructs as ks
from hooks.api import BOOLEAN, KPROCESSOR_MODE, NTSTATUS, PHYSICAL_ADDRESS, PMDL, PROTECTION, PVOID, SIZE_T, ULONG, export
from hooks.events import MappingRequest
from hooks.memory import announce_protection, pte_flags
from hooks.names import MdlMappingNoExecute, MdlMappingNoWrite

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
KernelMode = 0
MDL_HEADER = ctypes.sizeof(ks.MDL)
MAX_MDL_PAGES = 0x10000                  # 256 MiB per MmAllocatePagesForMdl call here
_MAPPED = ks.offset_of(ks.MDL, "MappedSystemVa")
_FLAGS = ks.offset_of(ks.MDL, "MdlFlags")


def _pages(start_va: int, offset: int, count: int) -> int:
    return page_ceil(offset + count) // PAGE


def _read_mdl(k, mdl: int) -> ks.MDL:
    return k.read_struct(ks.MDL, mdl)


def _set_flags(k, mdl: int, add: int = 0, remove: int = 0) -> None:
    flags = k.mem.read_u16(mdl + _FLAGS)
    k.mem.write_u16(mdl + _FLAGS, (flags | add) & ~remove & 0xFFFF)


@export("IoAllocateMdl")
def IoAllocateMdl(k, VirtualAddress: PVOID, Length: ULONG, SecondaryBuffer: BOOLEAN, ChargeQuota: BOOLEAN,
                  Irp: PVOID) -> PVOID:
    if not Length:
        return 0
    pages = _pages(VirtualAddress & ~(PAGE - 1), VirtualAddress & (PAGE - 1), Length)
    size = MDL_HEADER + 8 * pages
    va = k.pool.allocate(size, executable=False, paged=False, tag=0x206C644D, owner=k.caller)
    mdl = ks.MDL()
    mdl.Size = size
    mdl.StartVa = VirtualAddress & ~(PAGE - 1)
    mdl.ByteOffset = VirtualAddress & (PAGE - 1)
    mdl.ByteCount = Length
    k.mem.write(va, bytes(size))
    k.write_struct(va, mdl)
    if Irp and not SecondaryBuffer:
        k.mem.write_q(Irp + ks.offset_of(ks.IRP, "MdlAddress"), va)
    return va


@export("IoFreeMdl")
def IoFreeMdl(k, Mdl: PMDL) -> None:
    if Mdl in k.pool.live:
        k.pool.free(Mdl)


def _fill_frames(k, mdl: int) -> ks.MDL:
    m = _read_mdl(k, mdl)
    pages = _pages(m.StartVa, m.ByteOffset, m.ByteCount)
    frames = [k.mem.translate(m.StartVa + i * PAGE) >> 12 for i in range(pages)]
    k.mem.write(mdl + MDL_HEADER, struct.pack(f"<{pages}Q", *frames))
    return m


@export("MmBuildMdlForNonPagedPool")
def MmBuildMdlForNonPagedPool(k, MemoryDescriptorList: PMDL) -> None:
    m = _fill_frames(k, MemoryDescriptorList)
    k.mem.write_q(MemoryDescriptorList + _MAPPED, m.StartVa + m.ByteOffset)
    _set_flags(k, MemoryDescriptorList, ks.MDL_SOURCE_IS_NONPAGED_POOL)


@export("MmProbeAndLockPages")
def MmProbeAndLockPages(k, MemoryDescriptorList: PMDL, AccessMode: KPROCESSOR_MODE, Operation: ULONG) -> None:
    _fill_frames(k, MemoryDescriptorList)
    _set_flags(k, MemoryDescriptorList, ks.MDL_PAGES_LOCKED | (ks.MDL_WRITE_OPERATION if Operation else 0))


@export("MmUnlockPages")
def MmUnlockPages(k, MemoryDescriptorList: PMDL) -> None:
    _set_flags(k, MemoryDescriptorList, remove=ks.MDL_PAGES_LOCKED)


def map_locked_pages(k, mdl: int, mode: int, priority: int, executable: bool, args: tuple) -> int:
    if k.events.wanted(MappingRequest):
        k.events.emit(MappingRequest(k.current_export, args, k.caller, priority=priority, executable=executable))
    m = _read_mdl(k, mdl)
    pages = _pages(m.StartVa, m.ByteOffset, m.ByteCount)
    frames = struct.unpack(f"<{pages}Q", k.mem.read(mdl + MDL_HEADER, 8 * pages))
    user = mode != KernelMode
    va = k.va_ranges["user" if user else "view"].take(pages * PAGE)
    flags = (PROT_R if priority & MdlMappingNoWrite else PROT_RW) | (PTE_U if user else 0)
    for i, frame in enumerate(frames):
        k.mem.map(va + i * PAGE, (frame << 12) & FRAME_MASK, PAGE, flags)
    k.mapped_mdls[va] = pages * PAGE
    if not user:
        k.mem.write_q(mdl + _MAPPED, va + m.ByteOffset)
        _set_flags(k, mdl, ks.MDL_MAPPED_TO_SYSTEM_VA)
    return va + m.ByteOffset


@export("MmMapLockedPagesSpecifyCache")
def MmMapLockedPagesSpecifyCache(k, MemoryDescriptorList: PMDL, AccessMode: KPROCESSOR_MODE, CacheType: ULONG,
                                 RequestedAddress: PVOID, BugCheckOnFailure: ULONG, Priority: ULONG) -> PVOID:
    executable = AccessMode == KernelMode and not Priority & MdlMappingNoExecute
    return map_locked_pages(k, MemoryDescriptorList, AccessMode, Priority, executable,
                            (MemoryDescriptorList, AccessMode, CacheType, RequestedAddress, BugCheckOnFailure,
                             Priority))


@export("MmMapLockedPages")
def MmMapLockedPages(k, MemoryDescriptorList: PMDL, AccessMode: KPROCESSOR_MODE) -> PVOID:
    return map_locked_pages(k, MemoryDescriptorList, AccessMode, 0, AccessMode == KernelMode,
                            (MemoryDescriptorList, AccessMode))


@export("MmUnmapLockedPages")
def MmUnmapLockedPages(k, BaseAddress: PVOID, MemoryDescriptorList: PMDL) -> None:
    base = BaseAddress & ~(PAGE - 1)
    size = k.mapped_mdls.pop(base, None)
    if size:
        k.mem.unmap(base, size)
    if k.mem.read_q(MemoryDescriptorList + _MAPPED) == BaseAddress:
        _set_flags(k, MemoryDescriptorList, remove=ks.MDL_MAPPED_TO_SYSTEM_VA)


@export("MmProtectMdlSystemAddress")
def MmProtectMdlSystemAddress(k, MemoryDescriptorList: PMDL, NewProtect: PROTECTION) -> NTSTATUS:
    announce_protection(k, NewProtect, (MemoryDescriptorList, NewProtect))
    m = _read_mdl(k, MemoryDescriptorList)
    if not m.MdlFlags & ks.MDL_MAPPED_TO_SYSTEM_VA:
        return STATUS_INVALID_PARAMETER
    base = m.MappedSystemVa & ~(PAGE - 1)
    k.mem.protect(base, page_ceil(m.ByteOffset + m.ByteCount), pte_flags(NewProtect) or PROT_R)
    return STATUS_SUCCESS


@export("MmAllocatePagesForMdl")
def MmAllocatePagesForMdl(k, LowAddress: PHYSICAL_ADDRESS, HighAddress: PHYSICAL_ADDRESS, SkipBytes: PHYSICAL_ADDRESS,
                          TotalBytes: SIZE_T) -> PMDL:
    """Physical pages, zeroed and not mapped anywhere, described by a new MDL (NULL if none fit)."""
    return _pages_mdl(k, LowAddress, HighAddress, TotalBytes)


@export("MmAllocatePagesForMdlEx")
def MmAllocatePagesForMdlEx(k, LowAddress: PHYSICAL_ADDRESS, HighAddress: PHYSICAL_ADDRESS,
                            SkipBytes: PHYSICAL_ADDRESS, TotalBytes: SIZE_T, CacheType: ULONG, Flags: ULONG) -> PMDL:
    return _pages_mdl(k, LowAddress, HighAddress, TotalBytes)


def _pages_mdl(k, low: int, high: int, total: int) -> int:
    pages = page_ceil(total) // PAGE
    if not pages or pages > MAX_MDL_PAGES:
        return 0
    frames = [k.mem.phys.alloc_frames(1) for _ in range(pages)]
    if any(not low <= f <= high for f in frames):
        for f in frames:
            k.mem.phys.free_frame(f)
        return 0
    size = MDL_HEADER + 8 * pages
    va = k.pool.allocate(size, executable=False, paged=False, tag=0x206C644D, owner=k.caller)
    k.write_struct(va, ks.MDL(Size=size, MdlFlags=ks.MDL_PAGES_LOCKED | ks.MDL_ALLOCATED_FIXED_SIZE,
                              ByteCount=pages * PAGE))
    k.mem.write(va + MDL_HEADER, struct.pack(f"<{pages}Q", *(f >> 12 for f in frames)))
    return va


@export("MmFreePagesFromMdl")
def MmFreePagesFromMdl(k, MemoryDescriptorList: PMDL) -> None:
    """The physical pages go back; the MDL itself the driver frees with ExFreePool."""
    m = _read_mdl(k, MemoryDescriptorList)
    pages = _pages(m.StartVa, m.ByteOffset, m.ByteCount)
    for frame in struct.unpack(f"<{pages}Q", k.mem.read(MemoryDescriptorList + MDL_HEADER, 8 * pages)):
        k.mem.phys.free_frame(frame << 12)
    k.mem.write(MemoryDescriptorList + ks.offset_of(ks.MDL, "ByteCount"), bytes(4))
