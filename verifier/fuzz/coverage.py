"""Edge coverage of the driver's code, collected when code is translated, not when it runs.

Unicorn (QEMU) links a translated block (TB) to its successor the first time a direct jump between
them is taken, and can report that link (UC_HOOK_EDGE_GENERATED). A link is made once and stays
while both blocks stay translated; the snapshot restore keeps the TB cache warm (emu/snapshot.py),
so code that ran before runs again at full speed with no Python at all, and only an input that
takes a branch no input took before calls into Python, once per new edge. The hook is bounded to
the driver's image, so the kernel's own code (stubs, native routines) is not counted.

Limits (QEMU links only what it can patch): a jump to another 4 KiB page, an indirect jump or call,
a return and an exception are not linked, so the first block reached through one of those is only
noticed through the edges inside it. Edges are (source block, destination block) pairs by guest
address, stable across runs of one image at one load base.
"""
from __future__ import annotations

from unicorn import Uc
from unicorn.unicorn_const import UC_HOOK_EDGE_GENERATED


class EdgeCoverage:
    """The set of driver edges seen so far; `fresh` counts those the current input added."""

    def __init__(self, uc: Uc, begin: int, end: int):
        self.edges: set[tuple[int, int]] = set()
        self.fresh = 0
        uc.hook_add(UC_HOOK_EDGE_GENERATED, self._linked, begin=begin, end=end - 1)

    def _linked(self, _uc, cur, prev, _data) -> None:
        edge = (prev.pc, cur.pc)
        if edge not in self.edges:
            self.edges.add(edge)
            self.fresh += 1

    def take_fresh(self) -> int:
        """New edges since the last call."""
        fresh, self.fresh = self.fresh, 0
        return fresh
