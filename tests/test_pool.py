"""Pool semantics behind ExAllocatePool*: alignment, page protections per pool, checked frees.

Allocations are made by calling the kernel's own export stubs with the emulated CPU (k.call on the
stub address), the same path driver code takes.
"""
from __future__ import annotations

import pytest

from emu.memory import PAGE, PTE_NX, PTE_P, PTE_W
from hooks.events import Crash
from hooks.kernel import Kernel

NonPagedPool, PagedPool, NonPagedPoolNx = 0, 1, 0x200
POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE = 0x40, 0x80
TAG = int.from_bytes(b"tseT", "big")


@pytest.fixture(scope="module")
def k():
    return Kernel()


def call(k, name: str, *args: int):
    stop = k.call(k.address_of("ntoskrnl.exe", name), list(args))
    return stop


def alloc(k, pool_type: int, size: int) -> int:
    stop = call(k, "ExAllocatePoolWithTag", pool_type, size, TAG)
    assert stop.kind == "returned" and stop.return_value
    return stop.return_value


@pytest.mark.parametrize("size", [1, 15, 16, 17, 100, 0x7F0])
def test_small_allocations_are_16_byte_aligned_and_tagged(k, size):
    va = alloc(k, NonPagedPoolNx, size)
    assert va % 16 == 0
    assert k.mem.read_u32(va - 12) == TAG           # POOL_HEADER.PoolTag, 4 bytes into the 16-byte header
    assert k.pool.live[va].tag == TAG and k.pool.live[va].size == size


@pytest.mark.parametrize("size", [PAGE, PAGE + 1, 3 * PAGE])
def test_allocations_of_a_page_or_more_are_page_aligned(k, size):
    va = alloc(k, NonPagedPoolNx, size)
    assert va % PAGE == 0
    k.mem.write(va + size - 1, b"\x01")             # the whole size is mapped and writable


def test_executable_and_nx_pool_never_share_a_page(k):
    nx = {alloc(k, NonPagedPoolNx, 64) // PAGE for _ in range(8)}
    ex = {alloc(k, NonPagedPool, 64) // PAGE for _ in range(8)}
    paged = {alloc(k, PagedPool, 64) // PAGE for _ in range(8)}
    assert not nx & ex and not ex & paged and not nx & paged


def test_no_pool_page_is_writable_and_executable(k):
    for pool_type in (NonPagedPool, NonPagedPoolNx, PagedPool):
        pte = k.mem.pte(alloc(k, pool_type, 64))
        assert pte & PTE_P and pte & PTE_W and pte & PTE_NX     # memory integrity: W, so never X


def test_pool2_zeroes_and_rejects_an_ambiguous_pool(k):
    dirty = alloc(k, NonPagedPoolNx, 48)
    k.mem.write(dirty, b"\xAA" * 48)
    call(k, "ExFreePoolWithTag", dirty, TAG)
    again = call(k, "ExAllocatePool2", POOL_FLAG_NON_PAGED, 48, TAG).return_value
    assert again == dirty and k.mem.read(again, 48) == bytes(48)      # reused block, zeroed
    both = call(k, "ExAllocatePool2", POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE, 48, TAG)
    assert both.kind == "returned" and both.return_value == 0


def test_double_free_is_bad_pool_caller_7():
    k = Kernel()
    va = alloc(k, NonPagedPoolNx, 32)
    assert call(k, "ExFreePoolWithTag", va, TAG).kind == "returned"
    stop = call(k, "ExFreePoolWithTag", va, TAG)
    assert stop.kind == "halted" and isinstance(stop.detail, Crash)
    assert stop.detail.code == 0xC2 and stop.detail.args[0] == 0x07 and stop.detail.args[2] == va


def test_freeing_what_pool_never_gave_is_bad_pool_caller():
    k = Kernel()
    stop = call(k, "ExFreePool", 0xFFFFC58000123450)
    assert stop.kind == "halted" and stop.detail.code == 0xC2 and stop.detail.args[2] == 0xFFFFC58000123450
