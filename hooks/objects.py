"""Kernel handles: what a HANDLE value the driver holds refers to."""
from __future__ import annotations

from typing import Any

KERNEL_HANDLE_BIT = 0xFFFFFFFF80000000


class HandleTable:
    """Kernel handles (high bit set, multiples of 4), issued deterministically from 0x4."""

    def __init__(self):
        self._objects: dict[int, Any] = {}
        self._next = 4

    def open(self, obj: Any) -> int:
        handle = KERNEL_HANDLE_BIT | self._next
        self._next += 4
        self._objects[handle] = obj
        return handle

    def get(self, handle: int, kind: type | None = None) -> Any:
        obj = self._objects.get(handle)
        if kind is not None and not isinstance(obj, kind):
            return None
        return obj

    def close(self, handle: int) -> bool:
        return self._objects.pop(handle, None) is not None

    # Named so that the table is no `Stateful` participant: the kernel's table refers to objects
    # other subsystems hold (registry keys) and is snapshotted with them (hooks.state groups). A
    # process's table of plain handles is saved by its owner through these.
    def entries(self) -> object:
        return dict(self._objects), self._next

    def set_entries(self, saved: object) -> None:
        objects, self._next = saved
        if self._objects != objects:
            self._objects = dict(objects)

    def __len__(self) -> int:
        return len(self._objects)
