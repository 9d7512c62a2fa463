"""IOCTL codes read out of a driver's DEVICE_CONTROL routine, for users who know none.

How: capstone follows the dispatch routine from its entry (every branch, and direct calls into the
image, to a bounded depth and instruction count) and watches the register the code is compared
in. It collects
- `cmp r32, imm` immediates, adjusted by any `sub`/`add`/`lea` applied to that register first
  (compilers turn `switch (code)` into `sub eax, 0x222000; cmp eax, 5; je ...` chains), and the running
  total of `sub` chains (MSVC: `sub ecx, 0x2aa004; je A; sub ecx, 4; je B ...`, each `sub` an equality test);
- jump tables: after `cmp r, N; ja default`, an indirect `jmp` through a table in the image
  (`lea base, [rip+table]`; entries relative to the table, as gcc emits, or image-relative RVAs,
  as MSVC and clang emit); every index whose target is not the default case gives a code.
A value is kept when it looks like a CTL_CODE: its DeviceType (high word) is that of a device the
driver created, or a Microsoft-defined FILE_DEVICE_* type (1..0x7F) with a function code.

Limits: codes computed at run time (loaded from tables of data, hashed, compared through another
register after a copy the walker does not follow, or reached only through indirect calls) are
missed; immediates of unrelated comparisons that happen to look like CTL_CODEs are kept. The list
is sorted, so runs are reproducible. `--ioctl` and `--scenario` replace it.
"""
from __future__ import annotations

import struct

import capstone
from capstone import x86

MAX_INSTRUCTIONS = 20000
MAX_CALL_DEPTH = 2
MAX_TABLE = 512
_MASK64 = (1 << 64) - 1
MAX_DEVICE_TYPE = 0x7F          # FILE_DEVICE_* values Microsoft defines stay below this


def plausible(code: int, device_types: set[int]) -> bool:
    """Whether a compared value looks like a CTL_CODE for this driver."""
    device_type = code >> 16
    return device_type in device_types and device_type != 0 or 0 < device_type <= MAX_DEVICE_TYPE


class _Walker:
    def __init__(self, read, image_base: int, image_end: int, max_depth: int = MAX_CALL_DEPTH):
        self.read, self.base, self.end, self.max_depth = read, image_base, image_end, max_depth
        self.operands: set[tuple[int, int]] = set()     # (immediate, operand bytes) of every cmp/test
        self.md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        self.md.detail = True
        self.found: set[int] = set()
        self.seen: set[int] = set()
        self.budget = MAX_INSTRUCTIONS

    def inside(self, va: int) -> bool:
        return self.base <= va < self.end

    def walk(self, start: int, depth: int = 0) -> None:
        work = [(start, {})]
        while work and self.budget > 0:
            va, delta = work.pop()
            while self.budget > 0 and self.inside(va) and va not in self.seen:
                self.seen.add(va)
                self.budget -= 1
                try:
                    ins = next(self.md.disasm(self.read(va, 16), va, 1))
                except (StopIteration, Exception):   # unreadable or undecodable: end of this path
                    break
                nxt = va + ins.size
                ends = self.step(ins, delta, work, depth)
                if ends:
                    break
                va = nxt

    def step(self, ins, delta: dict, work: list, depth: int) -> bool:
        """Interpret one instruction; True when the path ends here."""
        ops = ins.operands
        m = ins.mnemonic
        reg_imm = len(ops) == 2 and ops[0].type == x86.X86_OP_REG and ops[1].type == x86.X86_OP_IMM
        if m in ("cmp", "test") and len(ops) == 2 and ops[1].type == x86.X86_OP_IMM:
            self.operands.add((ops[1].imm & ((1 << 8 * ops[0].size) - 1), ops[0].size))
        if reg_imm:
            reg, imm = self._full(ops[0].reg), ops[1].imm & 0xFFFFFFFF
            if m == "cmp":
                self.found.add((imm + delta.get(reg, 0)) & 0xFFFFFFFF)
                delta["bound"] = (reg, imm)
            elif m == "sub":
                delta[reg] = (delta.get(reg, 0) + imm) & 0xFFFFFFFF
                self.found.add(delta[reg])                  # `sub ecx, step; je case`: a chain of equality tests
            elif m == "add":
                delta[reg] = (delta.get(reg, 0) - imm) & 0xFFFFFFFF
            elif m == "mov":
                delta.pop(reg, None)
        elif m == "cmp" and len(ops) == 2 and ops[0].type == x86.X86_OP_MEM and ops[1].type == x86.X86_OP_IMM:
            self.found.add(ops[1].imm & 0xFFFFFFFF)          # cmp dword ptr [stack location + 0x18], code
        elif m == "lea" and len(ops) == 2 and ops[1].type == x86.X86_OP_MEM:
            mem, dst = ops[1].mem, self._full(ops[0].reg)
            if mem.base == x86.X86_REG_RIP:
                delta["table"] = (ins.address + ins.size + mem.disp) & _MASK64
            elif mem.base and not mem.index:
                delta[dst] = (delta.get(self._full(mem.base), 0) - mem.disp) & 0xFFFFFFFF
        elif m == "mov" and len(ops) == 2 and ops[1].type == x86.X86_OP_MEM and ops[1].mem.scale == 4 \
                and ops[1].mem.disp and ops[1].mem.base != x86.X86_REG_RIP:
            delta["table_rva"] = ops[1].mem.disp              # MSVC: mov ecx, [image + rax*4 + table_rva]
        elif m == "mov" and len(ops) == 2 and ops[0].type == ops[1].type == x86.X86_OP_REG:
            src = self._full(ops[1].reg)
            if src in delta:
                delta[self._full(ops[0].reg)] = delta[src]
        if ins.group(capstone.CS_GRP_RET):
            return True
        if ins.group(capstone.CS_GRP_JUMP):
            target = ops[0].imm & _MASK64 if ops and ops[0].type == x86.X86_OP_IMM else None
            if m == "jmp":
                if target is not None:
                    work.append((target, dict(delta)))
                elif ops and ops[0].type == x86.X86_OP_REG:
                    self.jump_table(delta, work)
                return True
            if target is not None:
                work.append((target, dict(delta)))
                if m in ("ja", "jae") and "bound" in delta:
                    delta["default"] = target
            return False
        if ins.group(capstone.CS_GRP_CALL) and depth < self.max_depth and ops and ops[0].type == x86.X86_OP_IMM:
            callee = ops[0].imm & _MASK64                  # capstone gives immediates signed
            if self.inside(callee) and callee not in self.seen:
                self.walk(callee, depth + 1)
        return False

    def jump_table(self, delta: dict, work: list) -> None:
        table, bound = delta.get("table"), delta.get("bound")
        if table == self.base and "table_rva" in delta:      # the lea loaded the image base, not the table
            table = self.base + delta["table_rva"]
        if table is None or bound is None or not self.inside(table) or bound[1] >= MAX_TABLE:
            return
        reg, count = bound[0], bound[1] + 1
        base = delta.get(reg, 0)
        try:
            raw = self.read(table, 4 * count)
        except Exception:
            return
        entries = struct.unpack(f"<{count}i", raw)
        for targets in ([table + e for e in entries], [self.base + e for e in entries]):
            if all(self.inside(t) for t in targets):
                break
        else:
            return
        default = delta.get("default")
        for i, target in enumerate(targets):
            if target != default:
                self.found.add((base + i) & 0xFFFFFFFF)
            work.append((target, {}))

    @staticmethod
    def _full(reg: int) -> int:
        """32- and 64-bit names of a register are one register here."""
        return _WIDE.get(reg, reg)


_WIDE = {getattr(x86, f"X86_REG_E{n}"): getattr(x86, f"X86_REG_R{n}") for n in ("AX", "BX", "CX", "DX", "SI", "DI",
                                                                                   "BP", "SP")}
_WIDE.update({getattr(x86, f"X86_REG_R{i}D"): getattr(x86, f"X86_REG_R{i}") for i in range(8, 16)})


def harvest(read, routine: int, image_base: int, image_size: int, device_types: set[int]) -> list[int]:
    """IOCTL codes `routine` compares against; `read(va, n)` reads the loaded image."""
    walker = _Walker(read, image_base, image_base + image_size)
    walker.walk(routine)
    return sorted(c for c in walker.found if plausible(c, device_types))


DICTIONARY_DEPTH = 4              # calls followed from a dispatch routine when collecting its constants


def comparison_operands(read, routines: list[int], image_base: int, image_size: int) -> list[bytes]:
    """The constants `routines` (and what they call, a few levels deep) compare values against, as
    little-endian byte strings of the compared width: magic numbers and sizes a fuzzer should try
    in its inputs. Trivial values (0, 1, all ones) are left out: mutation finds those anyway."""
    walker = _Walker(read, image_base, image_base + image_size, DICTIONARY_DEPTH)
    for routine in routines:
        walker.walk(routine)
    tokens = {value.to_bytes(size, "little") for value, size in walker.operands
              if size in (1, 2, 4, 8) and value not in (0, 1, (1 << 8 * size) - 1)}
    return sorted(tokens, key=lambda t: (len(t), t))
