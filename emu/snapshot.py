"""Snapshot and restore of the machine (guest RAM, page tables, CPU) in microseconds, many times over.

A fuzzer restores the same point before every input, so a restore must cost what the input
changed, not what the machine holds, and must keep Unicorn's translated blocks (TBs) warm: the Uc
object is never re-created and the TB cache is never flushed on the fast path.

Design (measured on Unicorn 2.1.4):
- Unicorn's own memory contexts (UC_CTL_CONTEXT_MODE CPU|MEMORY) do not fit: they are
  copy-on-write per memory region of Unicorn-allocated RAM, while our RAM is one `mem_map_ptr`
  mmap that Python reads and writes directly, and with that mode on, restoring the CPU-only
  contexts `Machine.call` relies on crashes the process (SIGSEGV).
- Snapshot: copy the frames allocated so far (`PhysicalMemory._next`; the frames above it are
  still zero), the frame allocator, the Python mirror of the PTEs and the CPU context; clear the
  Dirty bit of every 4 KiB PTE and 2 MiB entry, and flush the TLB so the next guest write to any
  page walks the tables again.
- Guest writes: QEMU's page walker (which Unicorn runs) sets PTE.D on the first write through a
  translation (verified: a guest store sets D; without a TLB flush after clearing D, a cached
  writable translation does not set it again). Upper-level entries are created with Accessed
  set, so the walker writes nothing else into the tables.
- Python writes (handlers, the loader, page-table edits) do not set D: they mark the frame in
  `PhysicalMemory.dirty`, one set insertion per write. A PTE Python overwrites while D is set
  (unmap, protect) adds its old frame there first.
- Restore: gather with numpy the entries that were present and writable at the snapshot (the
  only ones a guest store can have set D in; a few hundred of the ~5,000 a kernel has) and every
  entry of tables made since; take those with D set; check in Python the PTEs Python edited since
  (the journal); add the Python-dirty frames; copy those frames back from the snapshot (one slice
  each: a typical input leaves a handful), zero the frames allocated since, clear D, put back the
  allocator, undo the journalled PTE-mirror edits, flush the TLB (which keeps TBs). A 2 MiB entry
  with D set means the guest wrote through the physical window, which reaches the page tables:
  then every entry is looked at, and the whole 2 MiB is copied back. Numpy costs a few
  microseconds per call after guest code ran (cold caches), so the path makes as few as it can.
- Stale code: Unicorn drops a TB when guest code writes its page, but not when Python writes the
  RAM, and `uc_mem_write` does not drop TBs either (verified). So the restore drops the TBs of the
  restored frames that are mapped executable (at the snapshot, or by a mapping made since) with
  `uc_ctl_remove_cache`, by virtual address: only pages whose bytes may have changed lose TBs.

Limits:
- One snapshot is "active": the fast path restores it. Restoring any other snapshot copies all of
  its frames back and flushes the whole TB cache (correct, slower), and makes it the active one.
- After a snapshot the guest sees D clear in PTEs it wrote before; frames reached only by guest
  writes through a PTE that guest code itself created are not tracked (our guest cannot reach the
  page tables but through the physical window, a 2 MiB mapping whose writes are tracked).
- numpy is imported here only: a plain `run` does not pay for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from unicorn import unicorn_const as ucc

from emu.machine import Machine
from emu.memory import FRAME_MASK, PAGE, PAGE_SHIFT, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_W

_QWORDS = PAGE // 8
_NOT_D = np.uint64(~PTE_D & 0xFFFFFFFFFFFFFFFF)
_D = np.uint64(PTE_D)
_PW = np.uint64(PTE_P | PTE_W)


def _entry_slots(tables: list[int]) -> np.ndarray:
    """Qword indices of the 512 entries of each table frame."""
    if not tables:
        return np.zeros(0, dtype=np.int64)
    return ((np.asarray(tables, dtype=np.int64) // 8)[:, None] + np.arange(_QWORDS, dtype=np.int64)).ravel()


@dataclass(eq=False)
class MachineSnapshot:
    """Guest RAM up to the allocator's high mark, the allocator, the PTE mirror, the CPU."""

    pages: np.ndarray                       # (frames, 512) uint64: RAM [0, next) at the snapshot
    memory: memoryview                      # the same bytes, for slicing
    next: int
    free: list[int]
    pte_tables: list[int]
    large_tables: list[int]
    slots: np.ndarray                       # qword indices of every 4 KiB PTE and 2 MiB entry
    writable_slots: np.ndarray              # those of them present and writable at the snapshot
    ram: np.ndarray                         # the machine's RAM as uint64 words (no copy)
    ptes: dict[int, int]
    readable: dict[int, int]
    writable: dict[int, int]
    writable_code: set[int]
    executable: dict[int, list[int]]        # frame number -> virtual addresses mapping it executable
    cpu: object
    gs_base: int


def _ram(machine: Machine) -> np.ndarray:
    """All of guest RAM as uint64 words, sharing the machine's buffer (no copy)."""
    return np.frombuffer(machine.phys.buf, dtype=np.uint64)


def take(machine: Machine) -> MachineSnapshot:
    """Snapshot the machine as it stands (the CPU stopped) and make it the active snapshot."""
    phys, mem = machine.phys, machine.mem
    ram = _ram(machine)
    slots = np.concatenate((_entry_slots(mem.pte_tables), _entry_slots(mem.large_tables)))
    ram[slots] &= _NOT_D
    entries = ram[slots]
    writable_slots = slots[(entries & _PW) == _PW]
    executable: dict[int, list[int]] = {}
    read_q = phys.read_q
    for vpn, slot in mem.ptes.items():
        pte = read_q(slot)
        if pte & PTE_P and not pte & PTE_NX:
            executable.setdefault((pte & FRAME_MASK) >> PAGE_SHIFT, []).append(vpn << PAGE_SHIFT)
    pages = ram[:phys._next // 8].copy()
    snap = MachineSnapshot(
        pages=pages.reshape(-1, _QWORDS), memory=memoryview(pages).cast("B"), next=phys._next,
        free=list(phys._free), pte_tables=list(mem.pte_tables), large_tables=list(mem.large_tables), slots=slots,
        writable_slots=writable_slots, ram=ram,
        ptes=dict(mem.ptes), readable=dict(mem.readable), writable=dict(mem.writable),
        writable_code=set(mem.writable_code), executable=executable,
        cpu=machine.uc.context_save(), gs_base=machine.gs_base)
    phys.dirty.clear()
    mem.journal = []
    machine.flush_tlb()
    machine.snapshot_point = snap
    return snap


def restore(machine: Machine, snap: MachineSnapshot) -> None:
    """Put the machine back as it was when `snap` was taken."""
    if machine.snapshot_point is snap:
        _restore_changes(machine, snap)
    else:
        _restore_all(machine, snap)
    phys, mem = machine.phys, machine.mem
    phys._next = snap.next
    phys._free = list(snap.free)
    phys.dirty.clear()
    mem.journal = []
    machine.restore_cpu(snap.cpu)
    machine.gs_base = snap.gs_base
    machine.snapshot_point = snap


def _restore_changes(machine: Machine, snap: MachineSnapshot) -> None:
    """The fast path: only frames written since the snapshot (or the last restore of it). The
    table scan is vectorised; the frames found (a handful after a typical input) are copied back
    one slice each, which costs less than numpy's per-call overhead."""
    phys, mem = machine.phys, machine.mem
    ram = snap.ram
    journal = mem.journal
    frames = set(phys.dirty)                 # written from Python (PTE tables Python edited among them)
    read_q = phys.read_q
    for vpn, value in journal:
        if value & PTE_P and not value & PTE_NX:     # executable mappings made since: drop their TBs now
            machine.forget_code(vpn << PAGE_SHIFT, PAGE)
        slot = mem.ptes.get(vpn)             # a page Python mapped since, which the guest may have written
        pte = read_q(slot) if slot is not None else 0
        if pte & PTE_D:
            frames.add(pte & FRAME_MASK)
    # Otherwise only entries the guest can have written through: present and writable at the
    # snapshot, or in a table made since.
    slots = snap.writable_slots
    if len(mem.pte_tables) > len(snap.pte_tables) or len(mem.large_tables) > len(snap.large_tables):
        slots = np.concatenate((slots, _entry_slots(mem.pte_tables[len(snap.pte_tables):]),
                                _entry_slots(mem.large_tables[len(snap.large_tables):])))
    entries = ram[slots]
    hit = (entries & _D).nonzero()[0]          # the method: np.flatnonzero adds Python calls
    if hit.size:
        dirty = entries[hit]
        ram[slots[hit]] = dirty & _NOT_D
        dirty = dirty.tolist()
        if any(entry & PTE_PS for entry in dirty):
            # The guest wrote through the physical window, which reaches the page tables themselves:
            # any PTE may have changed, so every entry is looked at.
            entries = ram[snap.slots]
            hit = (entries & _D).nonzero()[0]
            ram[snap.slots[hit]] = entries[hit] & _NOT_D
            dirty += entries[hit].tolist()
        for entry in dirty:
            if entry & PTE_PS:                # a 2 MiB entry (the window): all of its frames
                first = entry & FRAME_MASK & ~((1 << 21) - 1)
                frames.update(range(first, first + (1 << 21), PAGE))
            else:
                frames.add(entry & FRAME_MASK)
    view, saved, executable = phys.view, snap.memory, snap.executable
    old_top, new_top = snap.next, phys._next
    if new_top > old_top:                     # frames allocated since the snapshot
        ram[old_top // 8:new_top // 8] = 0
    code = []
    for pa in frames:
        if pa < old_top:
            view[pa:pa + PAGE] = saved[pa:pa + PAGE]
            if pa >> PAGE_SHIFT in executable:
                code.append(pa >> PAGE_SHIFT)
        elif pa >= new_top:                   # written through the physical window only
            view[pa:pa + PAGE] = bytes(PAGE)
    for vpn in {vpn for vpn, _ in journal}:
        for live, saved in ((mem.ptes, snap.ptes), (mem.readable, snap.readable), (mem.writable, snap.writable)):
            if vpn in saved:
                live[vpn] = saved[vpn]
            else:
                live.pop(vpn, None)
        if vpn in snap.writable_code:
            mem.writable_code.add(vpn)
        else:
            mem.writable_code.discard(vpn)
    del mem.pte_tables[len(snap.pte_tables):]
    del mem.large_tables[len(snap.large_tables):]
    machine.flush_tlb()                               # before dropping TBs by virtual address
    for frame in code:                                # restored bytes under translated code
        for va in executable[frame]:
            machine.forget_code(va, PAGE)


def _restore_all(machine: Machine, snap: MachineSnapshot) -> None:
    """Any snapshot, from any state: copy every frame back and drop every translated block."""
    phys, mem = machine.phys, machine.mem
    ram = _ram(machine)
    top = max(phys._next, snap.next)
    ram[:snap.next // 8] = snap.pages.ravel()
    ram[snap.next // 8:top // 8] = 0
    for live, saved in ((mem.ptes, snap.ptes), (mem.readable, snap.readable), (mem.writable, snap.writable),
                        (mem.writable_code, snap.writable_code)):
        live.clear()
        live.update(saved)
    mem.pte_tables[:] = snap.pte_tables
    mem.large_tables[:] = snap.large_tables
    machine.flush_tlb()
    machine.uc.ctl(ucc.UC_CTL_TB_FLUSH, ucc.UC_CTL_IO_WRITE)
