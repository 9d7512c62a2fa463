"""The emulation core: relocation to a foreign base, the synthesized ntoskrnl, page protections."""
from __future__ import annotations

import pefile
import pytest

from conftest import built, driver_path, load_manifest, read, status_of
from emu.memory import PROT_R, PROT_RW, PROT_RX, poke
from emu.pe import PeImage
from hooks.kernel import Kernel
from verifier.session import Options, run_driver

MANIFEST = load_manifest()
CORE = built(n for n, e in MANIFEST.items()
             if (n.startswith(("reloc_check", "data_imports")) or "emulation-core" in str(e.get("category", "")))
             and status_of(e) is not None and n != "kstate")
PTE_P, PTE_W, PTE_NX = 1, 2, 1 << 63
SCN_EXEC, SCN_WRITE = 0x20000000, 0x80000000


@pytest.mark.parametrize("name", CORE)
def test_core_driver_returns_manifest_status(name):
    report = run_driver(driver_path(name), read(name), Options(timeout=5))
    assert report.error is None and report.incomplete is None
    assert report.bugchecks == []
    assert report.entry_points[0].status == status_of(MANIFEST[name])
    preferred = pefile.PE(data=read(name)).OPTIONAL_HEADER.ImageBase
    assert report.image_base != preferred


@pytest.fixture(scope="module")
def kernel():
    return Kernel()


def test_exports_live_in_ntoskrnl_image(kernel):
    va = kernel.address_of("ntoskrnl.exe", "ExAllocatePoolWithTag")
    nt = kernel.modules["ntoskrnl.exe"]
    assert kernel.stubs.base <= va < kernel.stubs.base + kernel.stubs.size
    assert nt.contains(va)
    # parse the module back out of emulated memory, as a driver walking PsLoadedModuleList would
    size = pefile.PE(data=kernel.mem.read_unchecked(nt.base, 0x1000), fast_load=True).OPTIONAL_HEADER.SizeOfImage
    image = PeImage.parse(kernel.mem.read_unchecked(nt.base, size), "ntoskrnl.exe")
    exports = image.exports()
    assert nt.base + exports["ExAllocatePoolWithTag"] == va
    assert nt.base + exports["MmGetSystemRoutineAddress"] == kernel.address_of("ntoskrnl.exe",
                                                                              "MmGetSystemRoutineAddress")


def _section_pages(name):
    pe = pefile.PE(data=read(name))
    for s in pe.sections:
        yield s.Name.rstrip(b"\0").decode(), s.VirtualAddress, s.Characteristics


@pytest.mark.parametrize("name", ["clean_gcc", "clean_clang", "reloc_check"])
def test_page_protections_after_load(name):
    k = Kernel()
    ctx = k.load_driver(PeImage.parse(read(name), f"{name}.sys"), name)
    assert ctx.image.base != pefile.PE(data=read(name)).OPTIONAL_HEADER.ImageBase
    checked = 0
    for sname, rva, chars in _section_pages(name):
        pte = k.mem.pte(ctx.image.base + rva)
        assert pte & PTE_P, sname
        if chars & SCN_EXEC:
            assert not pte & PTE_W and not pte & PTE_NX, sname
            checked += 1
        elif chars & SCN_WRITE:
            assert pte & PTE_W and pte & PTE_NX, sname
            checked += 1
        else:
            assert not pte & PTE_W and pte & PTE_NX, sname
    assert checked >= 2


def test_hlt_resumes_like_the_next_interrupt_would():
    k = Kernel()
    code_at = 0xFFFFF80370000000
    k.mem.map_new(code_at, 0x1000, PROT_RX)
    poke(k.mem, code_at, bytes.fromhex("f4" "b82a000000" "f4" "c3"))      # hlt; mov eax, 42; hlt; ret
    stop = k.call(code_at, [])
    assert stop.kind == "returned" and stop.return_value & 0xFFFFFFFF == 42


def test_imports_missing_from_the_export_list_get_stand_ins(tmp_path):
    data = bytearray(read("clean_gcc"))
    at = data.find(b"DbgPrint\0")
    data[at:at + 8] = b"DbgPrinZ"                   # a name ntoskrnl.exe does not export
    report = run_driver(str(tmp_path / "renamed.sys"), bytes(data), Options(timeout=5))
    assert report.error is None and report.entry_points[0].status == 0
    assert [u.name for u in report.unimplemented_apis] == ["DbgPrinZ"]
    assert report.unimplemented_apis[0].module == "ntoskrnl.exe"
    (w,) = [w for w in report.warnings if w.kind == "unknown-exports"]
    assert "DbgPrinZ" in w.message and "ntoskrnl.exe" in w.message


def test_cr8_holds_what_was_written_and_each_entry_point_starts_at_passive_level():
    k = Kernel()
    assert k.machine.models_cr8
    code_at = 0xFFFFF80370000000
    k.mem.map_new(code_at, 0x1000, PROT_RX)
    poke(k.mem, code_at, bytes.fromhex("440f20c0" "440f22c1" "c3"))     # mov rax, cr8; mov cr8, rcx; ret
    assert k.call(code_at, [2]).return_value == 0                        # PASSIVE_LEVEL on entry
    poke(k.mem, code_at, bytes.fromhex("440f22c1" "440f20c0" "c3"))     # mov cr8, rcx; mov rax, cr8; ret
    assert k.call(code_at, [13]).return_value == 13
    irql = k.address_of("ntoskrnl.exe", "KeGetCurrentIrql")
    poke(k.mem, code_at, bytes.fromhex("440f22c1") + b"\x48\xb8" + irql.to_bytes(8, "little") + b"\xff\xe0")
    assert k.call(code_at, [2]).return_value == 2                        # the export sees inline writes


def test_python_side_page_table_edits_reach_the_cpu():
    """A protection change or unmap from a kernel routine must not be hidden by the CPU's TLB."""
    k = Kernel()
    code_at, data_at = 0xFFFFF80370000000, 0xFFFFF80371000000
    k.mem.map_new(code_at, 0x1000, PROT_RX)
    k.mem.map_new(data_at, 0x1000, PROT_RW)
    poke(k.mem, code_at, bytes.fromhex("488911" "c3"))                  # mov [rcx], rdx; ret
    assert k.call(code_at, [data_at, 7]).kind == "returned"               # the TLB now holds data_at, writable
    k.mem.protect(data_at, 0x1000, PROT_R)
    stop = k.call(code_at, [data_at, 9])
    assert (stop.kind, stop.vector, stop.cr2) == ("exception", 14, data_at) and k.mem.read_q(data_at) == 7
    k.mem.unmap(data_at, 0x1000)
    stop = k.call(code_at, [data_at, 11])
    assert (stop.kind, stop.vector, stop.cr2) == ("exception", 14, data_at)
