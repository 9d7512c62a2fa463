"""What a driver asked the kernel for, announced to whoever listens (the verifier's rules).

Handlers describe requests in kernel terms ("non-paged pool of this type, executable") and never
decide whether that is a violation; subscribers decide. A subscriber may raise `emu.machine.Halt`
to stop the machine the way a bug check would.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from hooks.api import Export


@dataclass(slots=True)
class Crash:
    """The kernel itself would stop here (bad free, KeBugCheckEx...): a bug check code and arguments."""

    code: int
    args: tuple[int, int, int, int]
    caller: int = 0
    api: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Request:
    """Common part: which export, its decoded arguments, and the return address in the caller."""

    export: Export
    args: tuple
    caller: int

    @property
    def api(self) -> str:
        return self.export.name

    @property
    def call(self) -> str:
        """Decoded call text, e.g. ExAllocatePoolWithTag(NonPagedPool, 0x40, 'tseT')."""
        return self.export.show_call(list(self.args))


@dataclass(slots=True)
class PoolRequest(Request):
    """An allocation (or lookaside list set-up) from pool. `value` is the POOL_TYPE or POOL_FLAGS."""

    value: int = 0
    tag: int = 0
    executable: bool = False
    size: int = 0


@dataclass(slots=True)
class ProtectionRequest(Request):
    """A page protection asked for (MmProtectMdlSystemAddress, Zw*VirtualMemory, sections...)."""

    protection: int = 0
    executable: bool = False


@dataclass(slots=True)
class MappingRequest(Request):
    """A system-space mapping of an MDL; `priority` as passed (MM_PAGE_PRIORITY | MdlMapping*)."""

    priority: int = 0
    executable: bool = False


@dataclass(slots=True)
class ContiguousRequest(Request):
    """Physically contiguous memory from an API whose result is always executable."""

    size: int = 0


@dataclass
class Events:
    subscribers: dict[type, list[Callable]] = field(default_factory=lambda: defaultdict(list))

    def subscribe(self, kind: type, fn: Callable) -> None:
        self.subscribers[kind].append(fn)

    def emit(self, event: Request) -> None:
        for fn in self.subscribers.get(type(event), ()):
            fn(event)

    def wanted(self, kind: type) -> bool:
        return bool(self.subscribers.get(kind))
