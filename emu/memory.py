"""Physical RAM and the 4-level page tables over it: the address space the driver sees.

RAM is one anonymous mmap handed to Unicorn with `mem_map_ptr`, so Python reads and writes guest
memory by slicing a memoryview (no engine call), and only touched pages cost resident memory.
The page tables live in that RAM, in the real x64 format; a Python dict mirrors virtual page ->
PTE address so translation from Python is one lookup. The guest cannot reach the tables (they are
not mapped), so the mirror stays true.

For `emu.snapshot`, every write from Python marks its frame in `PhysicalMemory.dirty` (writes by
guest code set the PTE's Dirty bit instead), the frames holding 4 KiB PTEs and 2 MiB entries are
listed, and Python's page-table edits are journalled while a snapshot is active. Entries above
the PTEs are created with Accessed already set, so the CPU's page walker never writes them.
"""
from __future__ import annotations

import ctypes
import heapq
import mmap
import struct
from typing import Callable

PAGE = 0x1000
PAGE_SHIFT = 12
PTE_P, PTE_W, PTE_U, PTE_PWT, PTE_PCD, PTE_A, PTE_D, PTE_PS = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80
PTE_NX = 1 << 63
FRAME_MASK = 0x000FFFFFFFFFF000
_Q = struct.Struct("<Q")

# Protections used by the layers above, as PTE flag sets.
PROT_R = PTE_P | PTE_NX
PROT_RW = PTE_P | PTE_W | PTE_NX
PROT_RX = PTE_P
PROT_RWX = PTE_P | PTE_W       # only ever created when a rule let a violation proceed (--continue)


class MemoryFault(Exception):
    """A Python-side access (from a kernel routine) touched memory the page tables forbid."""

    def __init__(self, address: int, access: str, pte: int = 0):
        super().__init__(f"{access} of 0x{address:x}")
        self.address, self.access, self.pte = address, access, pte


def _spans(va: int, size: int):
    """(address, length) pieces of [va, va+size) that do not cross a page."""
    while size > 0:
        n = min(size, PAGE - (va & (PAGE - 1)))
        yield va, n
        va += n
        size -= n


def page_floor(addr: int) -> int:
    return addr & ~(PAGE - 1)


def page_ceil(size: int) -> int:
    return (size + PAGE - 1) & ~(PAGE - 1)


class PhysicalMemory:
    """Guest RAM plus a frame allocator. Freed frames are reused lowest first (a heap), so runs
    are deterministic."""

    def __init__(self, size: int):
        self.size = size
        self.buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.view = memoryview(self.buf)
        self.host_address = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))
        self._next = PAGE                 # frame 0 stays unused: a zero PTE never means "frame 0"
        self._free: list[int] = []
        self.dirty: set[int] = set()      # frames written from Python since the last snapshot/restore

    def alloc_frames(self, count: int = 1) -> int:
        """Physical address of `count` contiguous zeroed frames."""
        if count == 1 and self._free:
            pa = heapq.heappop(self._free)
            self.view[pa:pa + PAGE] = bytes(PAGE)
            self.dirty.add(pa)
            return pa
        pa = self._next
        if pa + count * PAGE > self.size:
            raise MemoryError("emulated physical memory exhausted")
        self._next += count * PAGE
        return pa

    def free_frame(self, pa: int) -> None:
        heapq.heappush(self._free, pa)

    def read_q(self, pa: int) -> int:
        return _Q.unpack_from(self.buf, pa)[0]

    def write_q(self, pa: int, value: int) -> None:
        _Q.pack_into(self.buf, pa, value)
        self.dirty.add(pa & ~(PAGE - 1))


class AddressSpace:
    """Virtual memory: page-table edits, translation and checked reads/writes from Python."""

    def __init__(self, phys: PhysicalMemory):
        self.phys = phys
        self.pml4 = phys.alloc_frames()
        self.ptes: dict[int, int] = {}    # virtual page number -> physical address of its PTE
        # Derived from the PTEs on every edit, for one-lookup access from Python:
        self.readable: dict[int, int] = {}   # present pages: vpn -> physical page address
        self.writable: dict[int, int] = {}   # present and writable pages: vpn -> physical page
        # Set by the CPU's owner: called after a mapping was changed or removed (not on a first
        # mapping, which nothing can have cached), and after Python wrote into executable pages.
        self.writable_code: set[int] = set()  # vpns both writable and executable (only under --continue)
        self.on_translation_change: Callable[[], None] = lambda: None
        self.on_code_write: Callable[[int, int], None] = lambda va, size: None
        self.pte_tables: list[int] = []      # frames holding 4 KiB PTEs, in creation order
        self.large_tables: list[int] = []    # frames holding 2 MiB entries (the physical window)
        # While a snapshot is active (emu.snapshot): (vpn, new PTE) of every edit since it was taken.
        self.journal: list[tuple[int, int]] | None = None

    def _set_pte(self, vpn: int, slot: int, value: int) -> None:
        if self.journal is not None:
            old = self.phys.read_q(slot)
            if old & PTE_D:               # the guest wrote that frame: the Dirty bit is about to go
                self.phys.dirty.add(old & FRAME_MASK)
            self.journal.append((vpn, value))
        self.phys.write_q(slot, value)
        frame = value & FRAME_MASK
        if value & PTE_P:
            self.readable[vpn] = frame
        else:
            self.readable.pop(vpn, None)
        if value & PTE_P and value & PTE_W:
            self.writable[vpn] = frame
        else:
            self.writable.pop(vpn, None)
        if value & PTE_P and value & PTE_W and not value & PTE_NX:
            self.writable_code.add(vpn)
        else:
            self.writable_code.discard(vpn)

    # ---- page tables ---------------------------------------------------------------------------
    def _pte_slot(self, va: int) -> int:
        table = self.pml4
        for shift in (39, 30, 21):
            slot = table + 8 * ((va >> shift) & 0x1FF)
            entry = self.phys.read_q(slot)
            if not entry & PTE_P:
                # Upper levels allow everything; the leaf PTE decides (as Windows does).
                entry = self.phys.alloc_frames() | PTE_P | PTE_W | PTE_U | PTE_A
                self.phys.write_q(slot, entry)
                if shift == 21:
                    self.pte_tables.append(entry & FRAME_MASK)
            table = entry & FRAME_MASK
        return table + 8 * ((va >> PAGE_SHIFT) & 0x1FF)

    def prepare_tables(self, va: int) -> None:
        """Create the page tables on the way to `va` without mapping a page there: memory allocated
        near `va` later needs no new table (a snapshot taken now then covers them)."""
        self._pte_slot(va)

    def map(self, va: int, pa: int, size: int, flags: int) -> None:
        """Map [va, va+size) onto physically contiguous frames starting at pa."""
        remapped = False
        for off in range(0, page_ceil(size), PAGE):
            slot = self._pte_slot(va + off)
            vpn = (va + off) >> PAGE_SHIFT
            remapped |= vpn in self.ptes
            self.ptes[vpn] = slot
            self._set_pte(vpn, slot, (pa + off) | flags | PTE_A)
        if remapped:
            self.on_translation_change()

    def map_physical_window(self, va: int) -> None:
        """Map all of RAM at va with 2 MiB pages, RW and NX (what MmGetVirtualForPhysical hands out).

        Not mirrored for Python-side access: only guest code uses it (to read physical memory or
        walk page tables, as memory-acquisition drivers do).
        """
        large = 1 << 21
        for pa in range(0, self.phys.size, large):
            table = self.pml4
            for shift in (39, 30):
                slot = table + 8 * (((va + pa) >> shift) & 0x1FF)
                entry = self.phys.read_q(slot)
                if not entry & PTE_P:
                    entry = self.phys.alloc_frames() | PTE_P | PTE_W | PTE_U | PTE_A
                    self.phys.write_q(slot, entry)
                    if shift == 30:
                        self.large_tables.append(entry & FRAME_MASK)
                table = entry & FRAME_MASK
            self.phys.write_q(table + 8 * (((va + pa) >> 21) & 0x1FF), pa | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS | PTE_NX)

    def map_new(self, va: int, size: int, flags: int) -> int:
        """Map fresh zeroed, physically contiguous frames at va; returns their physical address."""
        pa = self.phys.alloc_frames(page_ceil(size) // PAGE)
        self.map(va, pa, size, flags)
        return pa

    def unmap(self, va: int, size: int) -> list[int]:
        """Remove the mappings; returns the frames they pointed at."""
        frames = []
        for off in range(0, page_ceil(size), PAGE):
            vpn = (va + off) >> PAGE_SHIFT
            slot = self.ptes.pop(vpn, None)
            if slot is not None:
                frames.append(self.phys.read_q(slot) & FRAME_MASK)
                self._set_pte(vpn, slot, 0)
        if frames:
            self.on_translation_change()
        return frames

    def protect(self, va: int, size: int, flags: int) -> None:
        for off in range(0, page_ceil(size), PAGE):
            vpn = (va + off) >> PAGE_SHIFT
            slot = self.ptes[vpn]
            self._set_pte(vpn, slot, (self.phys.read_q(slot) & FRAME_MASK) | flags | PTE_A)
        self.on_translation_change()

    def pte(self, va: int) -> int:
        """The PTE contents for va (0 if unmapped)."""
        slot = self.ptes.get(va >> PAGE_SHIFT)
        return self.phys.read_q(slot) if slot is not None else 0

    def is_mapped(self, va: int) -> bool:
        return (va >> PAGE_SHIFT) in self.ptes

    def translate(self, va: int) -> int:
        slot = self.ptes.get(va >> PAGE_SHIFT)
        if slot is None:
            raise MemoryFault(va, "read")
        return (self.phys.read_q(slot) & FRAME_MASK) | (va & (PAGE - 1))

    # ---- data access ---------------------------------------------------------------------------
    def _chunks(self, va: int, size: int, write: bool):
        pages = self.writable if write else self.readable
        while size > 0:
            frame = pages.get(va >> PAGE_SHIFT)
            if frame is None:
                raise MemoryFault(va, "write" if write else "read", self.pte(va))
            n = min(size, PAGE - (va & (PAGE - 1)))
            yield frame | (va & (PAGE - 1)), n
            va += n
            size -= n

    def read(self, va: int, size: int) -> bytes:
        if size <= 0:
            return b""
        frame = self.readable.get(va >> PAGE_SHIFT)
        offset = va & (PAGE - 1)
        if frame is not None and offset + size <= PAGE:
            return self.phys.buf[frame | offset:(frame | offset) + size]
        return b"".join(self.phys.view[pa:pa + n] for pa, n in self._chunks(va, size, False))

    def read_unchecked(self, va: int, size: int) -> bytes:
        """Read whatever is mapped, present or not, ignoring nothing but the PTE frame."""
        return b"".join(self.phys.view[(self.translate(a)):(self.translate(a)) + n].tobytes()
                        for a, n in _spans(va, size))

    def write(self, va: int, data: bytes) -> None:
        size = len(data)
        if self.writable_code and any(a >> PAGE_SHIFT in self.writable_code for a, _ in _spans(va, size)):
            self.on_code_write(va, size)
        frame = self.writable.get(va >> PAGE_SHIFT)
        offset = va & (PAGE - 1)
        if frame is not None and offset + size <= PAGE:
            self.phys.buf[frame | offset:(frame | offset) + size] = data
            self.phys.dirty.add(frame)
            return
        pos = 0
        view = self.phys.view
        for pa, n in self._chunks(va, size, True):
            view[pa:pa + n] = data[pos:pos + n]
            self.phys.dirty.add(pa & ~(PAGE - 1))
            pos += n

    def read_q(self, va: int) -> int:
        frame = self.readable.get(va >> PAGE_SHIFT)
        if frame is not None and va & (PAGE - 1) <= PAGE - 8:
            return _Q.unpack_from(self.phys.buf, frame | (va & (PAGE - 1)))[0]
        return _Q.unpack(self.read(va, 8))[0]

    def write_q(self, va: int, value: int) -> None:
        frame = self.writable.get(va >> PAGE_SHIFT)
        if frame is not None and va & (PAGE - 1) <= PAGE - 8 and not self.writable_code:
            _Q.pack_into(self.phys.buf, frame | (va & (PAGE - 1)), value & 0xFFFFFFFFFFFFFFFF)
            self.phys.dirty.add(frame)
            return
        self.write(va, _Q.pack(value & 0xFFFFFFFFFFFFFFFF))

    def read_u32(self, va: int) -> int:
        return struct.unpack("<I", self.read(va, 4))[0]

    def write_u32(self, va: int, value: int) -> None:
        self.write(va, struct.pack("<I", value & 0xFFFFFFFF))

    def read_u16(self, va: int) -> int:
        return struct.unpack("<H", self.read(va, 2))[0]

    def write_u16(self, va: int, value: int) -> None:
        self.write(va, struct.pack("<H", value & 0xFFFF))

    def read_wstr(self, va: int, max_chars: int = 4096) -> str:
        """A NUL-terminated UTF-16LE string, read page by page."""
        return self.read_wbytes(va, max_chars).decode("utf-16-le", "replace")

    def read_wbytes(self, va: int, max_chars: int = 4096) -> bytes:
        """The UTF-16LE code units of a NUL-terminated wide string (at most max_chars), as bytes."""
        out = bytearray()
        while len(out) < 2 * max_chars:
            chunk = self.read(va + len(out), min(PAGE - ((va + len(out)) & (PAGE - 1)), 256) & ~1 or 2)
            end = chunk.find(b"\0\0")
            while end > 0 and end & 1:        # a terminator starts on a code-unit boundary
                end = chunk.find(b"\0\0", end + 1)
            if end >= 0:
                out += chunk[:end]
                break
            out += chunk
        return bytes(out[:2 * max_chars])

    def read_cstr(self, va: int, max_len: int = 4096) -> bytes:
        """A NUL-terminated byte string (at most max_len bytes), read page by page."""
        out = bytearray()
        while len(out) < max_len:
            chunk = self.read(va + len(out), min(PAGE - ((va + len(out)) & (PAGE - 1)), 256))
            end = chunk.find(b"\0")
            if end >= 0:
                out += chunk[:end]
                break
            out += chunk
        return bytes(out[:max_len])


def poke(space: AddressSpace, va: int, data: bytes) -> None:
    """Write ignoring page protections (what the loader and the kernel's own setup may do)."""
    pos = 0
    for addr, n in _spans(va, len(data)):
        pa = space.translate(addr)
        space.phys.view[pa:pa + n] = data[pos:pos + n]
        space.phys.dirty.add(pa & ~(PAGE - 1))
        pos += n
    if any(not space.pte(addr) & PTE_NX for addr, _ in _spans(va, len(data))):
        space.on_code_write(va, len(data))
