"""Kernel snapshots: a restored kernel equals a fresh one taken at the same point (real Unicorn, corpus drivers)."""
from __future__ import annotations

import hashlib
import os

import pytest
from unicorn import x86_const as x

from conftest import driver_path
from emu.machine import GPR_IDS
from emu.memory import FRAME_MASK, PAGE, PTE_D, poke
from emu.pe import PeImage
from hooks import state
from hooks.kernel import Kernel
from hooks.objects import HandleTable

STATUS_OBJECT_NAME_COLLISION = 0xC0000035
ALLOC_TAG = int.from_bytes(b"Atmp", "little")       # 'pmtA' in loops.c


def _image(name: str) -> PeImage:
    path = driver_path(name)
    with open(path, "rb") as fh:
        return PeImage.parse(fh.read(), os.path.basename(path))


def _prepared() -> tuple[Kernel, object, object]:
    """ioctl.sys loaded (DriverEntry not run yet) and alloc_loop.sys loaded: the snapshot point."""
    k = Kernel()
    ioctl = k.load_driver(_image("ioctl"), "ioctl")
    loop = k.load_driver(_image("alloc_loop"), "alloc_loop")
    return k, ioctl, loop


def _drive(k: Kernel, ioctl, loop, i: int) -> None:
    """Driver code between restores: DriverEntry creates a device, a link and pool objects;
    AllocLoop allocates, writes and frees pool blocks."""
    stop = k.call(ioctl.image.entry, [ioctl.driver_object, ioctl.registry_path])
    assert (stop.kind, stop.return_value) == ("returned", 0)      # a second DriverEntry would collide
    n = i % 5 + 1
    stop = k.call(loop.image.base + loop.image.image.exports()["AllocLoop"], [n])
    assert (stop.kind, stop.return_value) == ("returned", n)


def _memory_digest(k: Kernel) -> str:
    """Every mapped page's PTE and contents, the frame allocator, and every page-table frame."""
    mem, phys = k.mem, k.machine.phys
    h = hashlib.sha256()
    for vpn in sorted(mem.ptes):
        pte = phys.read_q(mem.ptes[vpn])
        h.update(vpn.to_bytes(8, "little") + pte.to_bytes(8, "little"))
        frame = pte & FRAME_MASK
        h.update(phys.view[frame:frame + PAGE])
    for table in mem.pte_tables + mem.large_tables:
        h.update(phys.view[table:table + PAGE])
    h.update(repr((phys._next, sorted(phys._free))).encode())
    return h.hexdigest()


def _observable(k: Kernel) -> dict:
    return {
        "pool": sorted((a.address, a.size, a.tag, a.executable, a.paged, a.owner) for a in k.pool.live.values()),
        "freed": sorted(k.pool.freed),
        "handles": sorted((h, type(o).__name__) for h, o in k.handles._objects.items()),
        "next_handle": k.handles._next,
        "objects": dict(k.object_names), "devices": dict(k.devices), "symlinks": dict(k.symlinks),
        "registry": sorted((path, sorted(key.values)) for path, key in k.registry.keys.items()),
        "debug": k.debug.lines,
        "memory": _memory_digest(k),
        "cpu": k.machine.uc.reg_read_batch([*GPR_IDS, x.UC_X86_REG_RIP, x.UC_X86_REG_EFLAGS, x.UC_X86_REG_CR3]),
    }


def _restores_equal_fresh(rounds: int) -> None:
    k, ioctl, loop = _prepared()
    snap = k.snapshot()
    for i in range(rounds):
        _drive(k, ioctl, loop, i)
        k.restore(snap)
    fresh, _, _ = _prepared()
    fresh.snapshot()                              # the same point, taken the same way (Dirty bits cleared)
    assert _observable(k) == _observable(fresh)
    _drive(k, ioctl, loop, 0)                     # and the restored kernel still runs the driver
    _drive(fresh, ioctl, loop, 0)
    assert _observable(k) == _observable(fresh)


def test_1000_restores_equal_a_fresh_kernel():
    _restores_equal_fresh(1000)


@pytest.mark.slow
def test_10000_restores_equal_a_fresh_kernel():
    _restores_equal_fresh(10_000)


def test_without_restore_the_second_driver_entry_collides():
    """The reason restores exist: the device name is taken by the first DriverEntry."""
    k, ioctl, _ = _prepared()
    k.call(ioctl.image.entry, [ioctl.driver_object, ioctl.registry_path])
    stop = k.call(ioctl.image.entry, [ioctl.driver_object, ioctl.registry_path])
    assert stop.return_value == STATUS_OBJECT_NAME_COLLISION


def test_a_page_written_only_by_driver_code_is_restored():
    """Frames the guest wrote are found through the PTE Dirty bits, not a Python-side mark:
    deep_stack_gcc's DriverEntry fills kernel stack pages below the frame Python set up."""
    k, _, _ = _prepared()
    deep = k.load_driver(_image("deep_stack_gcc"), "deep_stack_gcc")
    snap = k.snapshot()
    before = _memory_digest(k)
    assert k.call(deep.image.entry, [deep.driver_object, deep.registry_path]).kind == "returned"
    phys, mem = k.machine.phys, k.mem
    guest_only = {phys.read_q(slot) & FRAME_MASK for slot in mem.ptes.values()
                  if phys.read_q(slot) & PTE_D} - phys.dirty
    guest_only = {f for f in guest_only if f < snap.machine.next}
    assert guest_only, "driver code wrote no frame of its own (stack, globals)"
    at_snapshot = {f: snap.machine.pages[f // PAGE].tobytes() for f in guest_only}
    assert any(bytes(phys.view[f:f + PAGE]) != at_snapshot[f] for f in guest_only)
    k.restore(snap)
    assert all(bytes(phys.view[f:f + PAGE]) == at_snapshot[f] for f in guest_only)
    assert _memory_digest(k) == before


def test_python_side_write_is_restored():
    k, _, _ = _prepared()
    va = k.pool.allocate(0x40, executable=False, paged=False, tag=0x74736554, owner=0)
    k.mem.write(va, b"before")
    snap = k.snapshot()
    k.mem.write(va, b"after!")
    k.restore(snap)
    assert k.mem.read(va, 6) == b"before"


def test_new_mapping_is_undone():
    k, _, _ = _prepared()
    snap = k.snapshot()
    before = _memory_digest(k)
    va = k.alloc_kdata(3 * PAGE)
    k.mem.write(va + PAGE, b"x" * 16)
    k.restore(snap)
    assert not k.mem.is_mapped(va) and k.mem.pte(va) == 0
    assert _memory_digest(k) == before
    assert k.alloc_kdata(PAGE) == va                 # the kernel's own bump pointer came back too


def test_unmapping_is_undone_with_what_guest_code_wrote_before():
    """Guest code writes a page (the Dirty bit records it), then the page is unmapped (the PTE and
    its Dirty bit are gone): the write is still undone. The guest code is the kernel's own machine
    code for KeAcquireInStackQueuedSpinLock, which stores the old IRQL in LockHandle->OldIrql."""
    k, _, _ = _prepared()
    va = k.pool.allocate(3 * PAGE, executable=False, paged=False, tag=0x65677261, owner=0)
    handle = va + PAGE                               # KLOCK_QUEUE_HANDLE: OldIrql at +0x10
    k.mem.write(handle, b"kept" + bytes(12) + b"\xff")
    snap = k.snapshot()
    before = _memory_digest(k)
    spin_lock = k.pool.allocate(8, executable=False, paged=False, tag=0x6B636F4C, owner=0)
    acquire = k.address_of("ntoskrnl.exe", "KeAcquireInStackQueuedSpinLock")
    assert k.call(acquire, [spin_lock, handle]).kind == "returned"
    frame = k.mem.translate(handle) & FRAME_MASK
    assert k.mem.read(handle + 0x10, 1) == b"\x00"    # PASSIVE_LEVEL, stored by guest code
    assert k.mem.pte(handle) & PTE_D and frame not in k.machine.phys.dirty
    k.pool.free(va)
    assert not k.mem.is_mapped(va)
    k.restore(snap)
    assert k.mem.read(handle, 17) == b"kept" + bytes(12) + b"\xff"
    assert va in k.pool.live and _memory_digest(k) == before


def test_freed_and_reallocated_pool_block_is_restored():
    k, _, _ = _prepared()
    va = k.pool.allocate(0x40, executable=False, paged=False, tag=0x31636C41, owner=0)
    snap = k.snapshot()
    k.pool.free(va)
    again = k.pool.allocate(0x40, executable=False, paged=False, tag=0x32636C41, owner=0)
    assert again == va and k.pool.live[va].tag == 0x32636C41
    k.restore(snap)
    assert k.pool.live[va].tag == 0x31636C41 and va not in k.pool.freed
    assert k.pool.allocate(0x40, executable=False, paged=False, tag=0, owner=0) != va


def test_code_written_from_python_never_runs_stale_after_restore():
    """A Python-side write into code (what a loader does) changes what runs; after the restore
    the original code runs again, though it had been translated in between."""
    k, _, loop = _prepared()
    alloc_loop = loop.image.base + loop.image.image.exports()["AllocLoop"]
    snap = k.snapshot()
    assert k.call(alloc_loop, [3]).return_value == 3
    poke(k.mem, alloc_loop, bytes.fromhex("b877000000c3"))       # mov eax, 0x77; ret
    assert k.call(alloc_loop, [3]).return_value == 0x77
    k.restore(snap)
    assert k.call(alloc_loop, [3]).return_value == 3
    poke(k.mem, alloc_loop, bytes.fromhex("b866000000c3"))       # a second patch, translated afresh
    assert k.call(alloc_loop, [3]).return_value == 0x66
    k.restore(snap)
    assert k.call(alloc_loop, [2]).return_value == 2


def test_restoring_an_older_snapshot_copies_everything_back():
    k, ioctl, loop = _prepared()
    first = k.snapshot()
    before = _observable(k)
    _drive(k, ioctl, loop, 1)
    k.snapshot()                                   # a later snapshot becomes the active one
    k.call(loop.image.base + loop.image.image.exports()["AllocLoop"], [2])
    k.restore(first)
    assert _observable(k) == before
    _drive(k, ioctl, loop, 3)


def test_every_kernel_attribute_is_covered():
    """A new Kernel attribute takes part in snapshots unless declared FIXED; FIXED ones must not
    be state an input can change (immutable values, or the machine and configuration objects)."""
    k, _, _ = _prepared()
    infrastructure = (k.machine, k.mem, k.events, k.profile, k.stubs)
    for name in state.FIXED:
        value = getattr(k, name)
        assert isinstance(value, (int, str, type(None))) or any(value is o for o in infrastructure), name
    covered = set(state.participants(k)) | set(state.MODULE_TABLES) | state.FIXED
    assert set(vars(k)) == covered
    snap = k.snapshot()
    saved = {n: repr(getattr(k, n)) for n in state.participants(k) if not hasattr(getattr(k, n), "__dict__")}
    for name in saved:                             # every plain participant, changed behind the snapshot's back
        value = getattr(k, name)
        if isinstance(value, dict):
            value[-1] = "changed"
        elif isinstance(value, list):
            value.append("changed")
        else:
            setattr(k, name, "changed")
    handles = k.handles
    k.handles = HandleTable()                      # a subsystem replaced outright
    k.lazily_added = 1                             # an attribute a handler adds after the snapshot
    k.restore(snap)
    assert {n: repr(getattr(k, n)) for n in saved} == saved
    assert k.handles is handles
    assert not hasattr(k, "lazily_added")


def test_shared_objects_stay_shared_after_restore():
    """A handle to a registry key refers to the same key object as the registry after a restore,
    when both the handle table (copied back) and the key (restored in place) changed."""
    k, _, _ = _prepared()
    key = next(iter(k.registry.keys.values()))
    handle = k.handles.open(key)
    snap = k.snapshot()
    k.handles.close(handle)
    key.values["changed"] = None
    k.restore(snap)
    assert "handles" in snap.copied_back
    restored = k.handles.get(handle)
    assert restored is key and k.registry.keys[key.path] is key
    assert "changed" not in restored.values


def test_registry_changes_are_found_and_undone():
    """A value set on a key, a key created, a value removed: each is seen and undone, the keys
    staying the objects they were."""
    k, _, _ = _prepared()
    reg = k.registry
    key = reg.open("\\Registry\\Machine\\System\\CurrentControlSet\\Services\\ioctl")
    assert key is not None and key.values
    before = {path: dict(v.values) for path, v in reg.keys.items()}
    snap = k.snapshot()
    for change in (lambda: key.values.pop(next(iter(key.values))),
                   lambda: reg.create(key.path + "\\Parameters\\New"),
                   lambda: key.values.update(added=None)):
        change()
        k.restore(snap)
        assert {path: dict(v.values) for path, v in reg.keys.items()} == before
        assert reg.keys[key.path] is key


def test_a_small_input_needs_no_deep_copy():
    """The common case is cheap: an input that allocates, writes and frees pool (AllocLoop)
    changes only the pool (which saves itself) and plain values: nothing is deep-copied back.
    DriverEntry creates objects: those participants, and only those groups, are copied back."""
    k, ioctl, loop = _prepared()
    snap = k.snapshot()
    assert k.call(loop.image.base + loop.image.image.exports()["AllocLoop"], [2]).return_value == 2
    k.restore(snap)
    assert snap.copied_back == ()
    k.call(ioctl.image.entry, [ioctl.driver_object, ioctl.registry_path])
    k.restore(snap)
    assert {"object_names", "devices", "symlinks"} <= set(snap.copied_back)
    assert "registry" not in snap.copied_back and "files" not in snap.copied_back


def test_an_attribute_that_cannot_be_copied_is_named():
    import ctypes
    k, _, _ = _prepared()
    k.raw_pointer = ctypes.pointer(ctypes.c_int(1))
    with pytest.raises(TypeError, match="Kernel.raw_pointer .* snapshot\\(\\)/restore\\(\\)"):
        k.snapshot()


def test_synthesized_modules_are_built_once_per_process():
    first, second = Kernel(), Kernel()
    for name in ("ntoskrnl.exe", "hal.dll"):
        assert first.modules[name].image is second.modules[name].image
    assert first.mem.read(first.modules["ntoskrnl.exe"].base, PAGE) == \
        second.mem.read(second.modules["ntoskrnl.exe"].base, PAGE)


def test_a_driver_store_through_the_physical_window_is_restored():
    """phys_window.sys stores through a 2 MiB-page alias of RAM: no 4 KiB PTE sees that write,
    the large entry's Dirty bit does."""
    k, _, _ = _prepared()
    window = k.load_driver(_image("phys_window"), "phys_window")
    write = window.image.base + window.image.image.exports()["WindowWrite"]
    target = k.pool.allocate(8, executable=False, paged=False, tag=0x74677254, owner=0)
    k.mem.write(target, b"original")
    snap = k.snapshot()
    before = _memory_digest(k)
    assert k.call(write, [target, 0x5EA75EA75EA75EA7]).return_value == 0
    assert k.mem.read_q(target) == 0x5EA75EA75EA75EA7
    assert not k.mem.pte(target) & PTE_D                 # not through the block's own PTE
    k.restore(snap)
    assert k.mem.read(target, 8) == b"original" and _memory_digest(k) == before


def test_file_system_changes_are_found_and_undone():
    """A change deep in the volume's tree (a new file, bytes rewritten
    in place at the same length) is still seen, and the tree comes back as it was."""
    k, _, _ = _prepared()
    fs = k.files
    parts = ["Windows", "System32", "drivers", "ioctl.sys"]

    def node(names):
        return fs.walk(fs.root, names)[3]

    original = bytes(node(parts).data)
    assert original[:2] == b"MZ"
    snap = k.snapshot()
    fs.add_file("\\SystemRoot\\Temp\\new.bin", b"new")
    node(parts).data[0:2] = b"ZM"
    fs.wrote(node(parts))
    changed = node(parts)
    k.restore(snap)
    assert bytes(node(parts).data) == original and node(["Windows", "Temp", "new.bin"]) is None
    assert node(parts) is changed                    # restored in place: open files still refer to it
    node(parts).data[0:2] = b"ZM"                    # the same change again, on the restored tree
    fs.wrote(node(parts))
    k.restore(snap)
    assert node(parts).data[:2] == b"MZ"
