"""Call stacks: unwound with the image's .pdata unwind codes through different prologs.

The expected frames are computed independently from the built image: the return address after
the call through the API's IAT slot, then, going outwards, the return address after the one
direct call into the function that holds the previous call (functions start at call targets and
at the entry point), until DriverEntry.
"""
from __future__ import annotations

import capstone
import pefile
import pytest

from conftest import driver_path, read
from verifier.session import Options, run_driver


def expected_frames(name: str, api: str) -> list[int]:
    pe = pefile.PE(data=read(name))
    base = pe.OPTIONAL_HEADER.ImageBase
    text = next(s for s in pe.sections if s.Name.rstrip(b"\0") == b".text")
    slot = next(imp.address for dll in pe.DIRECTORY_ENTRY_IMPORT for imp in dll.imports
                if imp.name and imp.name.decode() == api)
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    api_calls, direct = [], {}
    for insn in md.disasm(text.get_data(), base + text.VirtualAddress):
        if insn.mnemonic != "call":
            continue
        op = insn.operands[0]
        if op.type == capstone.x86.X86_OP_MEM and op.mem.base == capstone.x86.X86_REG_RIP \
                and insn.address + insn.size + op.mem.disp == slot:
            api_calls.append(insn.address + insn.size)
        elif op.type == capstone.x86.X86_OP_IMM:
            direct.setdefault(op.imm, []).append(insn.address + insn.size)
    assert len(api_calls) == 1
    frames = [api_calls[0]]
    entry = base + pe.OPTIONAL_HEADER.AddressOfEntryPoint      # DriverEntry: a function nobody calls
    starts = sorted(set(direct) | {entry})
    while len(frames) < 16:
        owner = max(s for s in starts if s < frames[-1])
        if owner == entry or len(direct.get(owner, [])) != 1:
            break
        frames.append(direct[owner][0])
    return [f - base for f in frames]


@pytest.mark.parametrize("name", ["deep_stack_gcc", "deep_stack_clang"])
def test_stack_unwinds_through_three_prologs(name):
    report = run_driver(driver_path(name), read(name), Options(timeout=5))
    (b,) = report.bugchecks
    want = [f"{name}.sys+0x{rva:x}" for rva in expected_frames(name, "ExAllocatePoolWithTag")]
    assert len(want) == 4                       # Inner, Middle, Outer, DriverEntry
    assert b.stack == want + ["ntoskrnl.exe!KiReturnTrap"]
    assert b.caller_rva == int(want[0].split("+")[1], 16)
