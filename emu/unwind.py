"""x64 stack unwinding from a PE image's exception directory (.pdata RUNTIME_FUNCTION + UNWIND_INFO).

What the Windows debugger does to print a call stack: find the function containing RIP, undo
its prolog's effects on RSP (and the non-volatile registers it saved) using the unwind codes,
and read the return address. A function without unwind data is a leaf: its return address is
at [RSP].
"""
from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from typing import Callable

from emu.pe import DIR_EXCEPTION, PeImage

UWOP_PUSH_NONVOL, UWOP_ALLOC_LARGE, UWOP_ALLOC_SMALL, UWOP_SET_FPREG = 0, 1, 2, 3
UWOP_SAVE_NONVOL, UWOP_SAVE_NONVOL_FAR, UWOP_SAVE_XMM128, UWOP_SAVE_XMM128_FAR, UWOP_PUSH_MACHFRAME = 4, 5, 8, 9, 10
UNW_FLAG_EHANDLER, UNW_FLAG_UHANDLER, UNW_FLAG_CHAININFO = 1, 2, 4
RSP = 4
MAX_CHAIN = 32


class FunctionTable:
    """The sorted RUNTIME_FUNCTION entries of one image, for RVA -> (begin, end, unwind info) lookup."""

    def __init__(self, image: PeImage):
        self.image = image
        rva, size = image.directory(DIR_EXCEPTION)
        raw = image.read(rva, min(size, 12 * 100_000)) if rva else b""
        entries = sorted(e for e in struct.iter_unpack("<III", raw[:len(raw) - len(raw) % 12]) if e[0] < e[1])
        self.entries = entries
        self.starts = [e[0] for e in entries]

    def lookup(self, rva: int) -> tuple[int, int, int] | None:
        i = bisect.bisect_right(self.starts, rva) - 1
        if i >= 0 and self.entries[i][0] <= rva < self.entries[i][1]:
            return self.entries[i]
        return None


@dataclass(frozen=True)
class UnwindInfo:
    """What exception dispatch needs from a function's UNWIND_INFO (chains followed to the primary)."""

    begin: int            # RVA where the function (the RUNTIME_FUNCTION it was found in) starts
    prolog_size: int
    frame_reg: int        # 0: no frame register
    frame_offset: int     # bytes (the scaled FrameOffset)
    flags: int            # UNW_FLAG_EHANDLER / UNW_FLAG_UHANDLER of the primary entry
    handler: int          # RVA of the language-specific handler, 0 if none
    handler_data: int     # RVA of the handler's data (e.g. __C_specific_handler's scope table)

    def establisher_frame(self, regs: dict[int, int]) -> int:
        """The frame's EstablisherFrame: RSP after the prolog, or the frame register minus its
        offset when the function sets one (RtlVirtualUnwind's definition)."""
        return regs[self.frame_reg] - self.frame_offset if self.frame_reg else regs[RSP]


def unwind_info(table: FunctionTable, rva: int) -> UnwindInfo | None:
    """The unwind information for the function containing `rva`, None for a leaf function."""
    entry = table.lookup(rva)
    if entry is None:
        return None
    info_rva = entry[2]
    head = table.image.read(info_rva, 4)
    if len(head) < 4:
        raise LookupError(f"unwind info at RVA 0x{info_rva:x} is outside the image")
    prolog_size, frame = head[1], head[3]
    for _ in range(MAX_CHAIN):
        version_flags, _, count, _ = head
        tail = info_rva + 4 + 2 * (count + (count & 1))
        if not (version_flags >> 3) & UNW_FLAG_CHAININFO:
            break
        nxt = table.image.read(tail, 12)
        if len(nxt) < 12:
            raise LookupError("chained unwind info is outside the image")
        info_rva = struct.unpack("<III", nxt)[2]
        head = table.image.read(info_rva, 4)
        if len(head) < 4:
            raise LookupError(f"unwind info at RVA 0x{info_rva:x} is outside the image")
    flags = (head[0] >> 3) & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER)
    handler = table.image.u32(tail) if flags else 0
    return UnwindInfo(entry[0], prolog_size, frame & 0xF, 16 * (frame >> 4), flags,
                      handler or 0, tail + 4 if flags else 0)


def unwind_frame(table: FunctionTable, base: int, rip: int, regs: dict[int, int],
                 read_q: Callable[[int], int], is_return_address: bool = False) -> int:
    """Undo the frame of the function at rip; updates regs (RSP and restored non-volatiles) and
    returns the return address. Raises LookupError if the unwind data cannot be read.

    For a return address the function is looked up at rip-1, since a call can be the last
    instruction of a function."""
    entry = table.lookup(rip - base - (1 if is_return_address else 0))
    if entry is None:
        ret = read_q(regs[RSP])
        regs[RSP] += 8
        return ret
    offset = rip - base - entry[0]
    info_rva, chained = entry[2], False
    for _ in range(MAX_CHAIN):
        head = table.image.read(info_rva, 4)
        if len(head) < 4:
            raise LookupError(f"unwind info at RVA 0x{info_rva:x} is outside the image")
        version_flags, _prolog_size, count, frame = head
        flags = version_flags >> 3
        codes = table.image.read(info_rva + 4, 2 * count)
        frame_reg, frame_off = frame & 0xF, frame >> 4
        i = 0
        while i < count:
            code_offset, op_byte = codes[2 * i], codes[2 * i + 1]
            op, op_info = op_byte & 0xF, op_byte >> 4
            slots = _slots(op, op_info)
            applies = chained or code_offset <= offset
            if applies and op == UWOP_SET_FPREG:
                # RSP as it was when the prolog set the frame register (MSVC does so after the
                # stack allocation, GCC before it: applying codes in order is right for both).
                regs[RSP] = regs.get(frame_reg, 0) - 16 * frame_off
            elif applies:
                _apply(op, op_info, codes, i, regs, read_q)
            i += slots
        if not flags & UNW_FLAG_CHAININFO:
            break
        chain_at = info_rva + 4 + 2 * (count + (count & 1))
        nxt = table.image.read(chain_at, 12)
        if len(nxt) < 12:
            raise LookupError("chained unwind info is outside the image")
        info_rva, chained = struct.unpack("<III", nxt)[2], True
    ret = read_q(regs[RSP])
    regs[RSP] += 8
    return ret


def _slots(op: int, op_info: int) -> int:
    if op == UWOP_ALLOC_LARGE:
        return 2 if op_info == 0 else 3
    return {UWOP_SAVE_NONVOL: 2, UWOP_SAVE_NONVOL_FAR: 3, UWOP_SAVE_XMM128: 2, UWOP_SAVE_XMM128_FAR: 3}.get(op, 1)


def _apply(op: int, op_info: int, codes: bytes, i: int, regs: dict[int, int], read_q) -> None:
    def u16(k: int) -> int:
        return struct.unpack_from("<H", codes, 2 * (i + k))[0]

    def u32(k: int) -> int:
        return struct.unpack_from("<I", codes, 2 * (i + k))[0]

    if op == UWOP_PUSH_NONVOL:
        regs[op_info] = read_q(regs[RSP])
        regs[RSP] += 8
    elif op == UWOP_ALLOC_LARGE:
        regs[RSP] += 8 * u16(1) if op_info == 0 else u32(1)
    elif op == UWOP_ALLOC_SMALL:
        regs[RSP] += 8 * op_info + 8
    elif op == UWOP_SAVE_NONVOL:
        regs[op_info] = read_q(regs[RSP] + 8 * u16(1))
    elif op == UWOP_SAVE_NONVOL_FAR:
        regs[op_info] = read_q(regs[RSP] + u32(1))
    elif op == UWOP_PUSH_MACHFRAME:
        raise LookupError("interrupt frame (UWOP_PUSH_MACHFRAME): unwinding stops here")
