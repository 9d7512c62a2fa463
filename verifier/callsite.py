"""Where in the driver: module+RVA, the disassembly around a call site, and a call stack."""
from __future__ import annotations

from functools import cache

from emu.memory import MemoryFault
from emu.unwind import unwind_frame


@cache
def _disassembler(detail: bool = False):
    """Capstone for x64, imported on first use: a run without a bug check never needs it."""
    import capstone
    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    cs.detail = detail
    return cs


def _read(k, address: int, size: int) -> bytes:
    try:
        return k.mem.read_unchecked(address, size)
    except MemoryFault:
        return b""


def call_before(k, return_address: int) -> int | None:
    """Address of the call instruction that returns to `return_address` (None if none decodes)."""
    return call_ending_at(_read(k, return_address - 16, 16), return_address)


def call_ending_at(code: bytes, return_address: int) -> int | None:
    """Address of a call instruction that ends the 16 bytes `code` read just before `return_address`."""
    for length in (6, 5, 3, 2, 7, 4, 8, 9):            # common encodings of call first
        if len(code) < length:
            continue
        insns = list(_disassembler().disasm(code[16 - length:], return_address - length))
        if len(insns) == 1 and insns[0].mnemonic == "call" and insns[0].size == length:
            return return_address - length
    return None


def disassembly(k, at: int, before: int = 4, after: int = 2, marker: int | None = None) -> list[str]:
    """Lines `module+rva  bytes  instruction` around `at`, synchronised by disassembling forward."""
    marker = at if marker is None else marker
    for back in (0x30, 0x28, 0x20, 0x18, 0x10, 0):
        code = _read(k, at - back, back + 16 * (after + 1))
        insns = list(_disassembler().disasm(code, at - back))
        starts = [i.address for i in insns]
        if at in starts:
            idx = starts.index(at)
            chosen = insns[max(0, idx - before):idx + after + 1]
            return [f"{'>' if i.address == marker else ' '} {k.symbol(i.address):<28} {i.bytes.hex():<20} "
                    f"{i.mnemonic} {i.op_str}".rstrip() for i in chosen]
    return [f"> {k.symbol(at)} (no code could be decoded)"]


def memory_write(k, rip: int) -> bool | None:
    """Whether the instruction at rip writes memory (None if it cannot be decoded)."""
    from capstone import CS_AC_WRITE
    from capstone.x86 import X86_OP_MEM
    code = _read(k, rip, 16)
    for insn in _disassembler(detail=True).disasm(code, rip):
        for op in insn.operands:
            if op.type == X86_OP_MEM and op.access & CS_AC_WRITE:
                return True
        return insn.mnemonic.startswith(("push", "stos", "movs", "call"))
    return None


def stack_trace(k, pc: int, regs: dict[int, int], is_return_address: bool, depth: int = 16) -> list[str]:
    """Driver frames, unwound with each image's .pdata unwind data (leaf functions: [RSP])."""
    frames = []
    for _ in range(depth):
        frames.append(k.symbol(pc))
        image = k.image_at(pc)
        if image is None:
            break
        try:
            pc = unwind_frame(image.functions, image.base, pc, regs, k.mem.read_q, is_return_address)
        except (LookupError, MemoryFault):
            break
        is_return_address = True
    return frames

