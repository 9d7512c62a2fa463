"""The API hot path: machine-code routines outside the hooked stub area, registers read in place,
and the same results through Unicorn's register API when the CPU state cannot be located."""
from __future__ import annotations

import pefile
import pytest

from conftest import driver_path, read
from emu import dispatch
from emu.machine import Machine
from emu.pe import PeImage
from hooks.kernel import NATIVE_ROUTINES, Kernel
from verifier.session import Options, run_driver


def _in_stub_area(k: Kernel, address: int) -> bool:
    return k.stubs.base <= address < k.stubs.base + k.stubs.size


def _module_image(k: Kernel, base: int) -> pefile.PE:
    size = pefile.PE(data=k.mem.read_unchecked(base, 0x1000), fast_load=True).OPTIONAL_HEADER.SizeOfImage
    return pefile.PE(data=k.mem.read_unchecked(base, size))


def test_machine_code_routines_lie_below_the_hooked_stub_area():
    k = Kernel()
    for name, code in NATIVE_ROUTINES.items():          # IRQL, spin locks, CFG, C runtime
        address = k.native_routines[name]
        assert not _in_stub_area(k, address), name
        assert k.mem.read(address, len(code)) == code, name
    assert k.stubs.routines and all(_in_stub_area(k, a) for a in k.stubs.routines)
    # ntoskrnl's export table (parsed by pefile from emulated memory) names the native code itself
    nt = k.modules["ntoskrnl.exe"]
    exports = {e.name.decode(): e for e in _module_image(k, nt.base).DIRECTORY_ENTRY_EXPORT.symbols}
    assert nt.base + exports["KeGetCurrentIrql"].address == k.native_routines["KeGetCurrentIrql"]
    assert nt.base + exports["ExAllocatePoolWithTag"].address == k.address_of("ntoskrnl.exe", "ExAllocatePoolWithTag")
    assert _in_stub_area(k, k.address_of("ntoskrnl.exe", "ExAllocatePoolWithTag"))


def test_another_module_naming_a_native_routine_forwards_it_to_ntoskrnl():
    k = Kernel()
    loaded = k._add_module("irqlhelp.sys", ["KfRaiseIrql", "HelpMe"], [])
    assert k.address_of("irqlhelp.sys", "KfRaiseIrql") == k.native_routines["KfRaiseIrql"]
    assert _in_stub_area(k, k.address_of("irqlhelp.sys", "HelpMe"))
    exports = {e.name.decode(): e for e in _module_image(k, loaded.base).DIRECTORY_ENTRY_EXPORT.symbols}
    assert exports["KfRaiseIrql"].forwarder == b"ntoskrnl.KfRaiseIrql"
    assert exports["HelpMe"].forwarder is None


def test_a_native_routine_missing_from_the_export_list_is_reached_through_ntoskrnl():
    # KfLowerIrql is x86 vocabulary: not in our x64 export list, so a driver importing it gets an
    # extension of ntoskrnl.exe, whose entry is the kernel's one copy of the machine code.
    k = Kernel()
    assert "KfLowerIrql" not in k.module_exports["ntoskrnl.exe"]
    k._add_module("ntoskrnl.exe", ["KfLowerIrql"], [], extends=True)
    assert k.address_of("ntoskrnl.exe", "KfLowerIrql") == k.native_routines["KfLowerIrql"]


def test_cpu_registers_are_the_ones_the_api_reads_and_writes():
    m = Machine()
    regs = dispatch.cpu_registers(m.uc)
    assert regs is not None and len(regs) == 16
    m.uc.reg_write(dispatch.x.UC_X86_REG_R9, 0x1122334455667788)
    assert regs[9] == 0x1122334455667788
    regs[0] = 0xCAFEF00D
    assert m.uc.reg_read(dispatch.x.UC_X86_REG_RAX) == 0xCAFEF00D
    second = Machine()                      # found again for another engine, not reused blindly
    assert dispatch.cpu_registers(second.uc) is not None
    second.uc.reg_write(dispatch.x.UC_X86_REG_RSP, 0x7000)
    assert regs[4] != 0x7000


@pytest.mark.parametrize("name", ["args6", "kstate", "registry"])
def test_routines_see_the_same_arguments_through_the_register_api(name, monkeypatch):
    # The fallback when the CPU state cannot be located: these drivers check, in C, what the
    # routines got (six arguments, IRQL, registry reads) and return a failure code on a mismatch.
    monkeypatch.setattr(dispatch, "cpu_registers", lambda uc: None)
    report = run_driver(driver_path(name), read(name), Options(timeout=30))
    assert report.error is None and report.bugchecks == []
    assert report.entry_points[0].status == 0


def test_irql_loop_runs_native_code_to_the_c_result():
    image = PeImage.parse(read("irql_loop"), "irql_loop.sys")
    k = Kernel()
    base = k.load_driver(image, "irql_loop").image.base
    stop = k.call(base + image.exports()["IrqlLoop"], [1000])
    assert stop.kind == "returned" and stop.return_value == 0     # 1000 x PASSIVE_LEVEL
