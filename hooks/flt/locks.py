"""Filter-manager push locks (FltInitializePushLock & co.): an EX_PUSH_LOCK in the caller's storage.

One processor and one thread run at a time here, so a lock is never contended: initialising zeroes it
(an unowned push lock is 0, as ExInitializePushLock leaves it) and acquiring or releasing changes nothing
the driver could observe between the calls.
"""
from __future__ import annotations

from hooks.api import PVOID, ULONG, export
from hooks.flt.manager import FLTMGR


@export("FltInitializePushLock", module=FLTMGR)
def FltInitializePushLock(k, PushLock: PVOID) -> None:
    k.mem.write_q(PushLock, 0)


@export("FltAcquirePushLockExclusive", "FltAcquirePushLockShared", "FltReleasePushLock", "FltDeletePushLock",
        module=FLTMGR)
def FltAcquirePushLockExclusive(k, PushLock: PVOID) -> None:
    """Uncontended: nothing to wait for or wake."""


@export("FltAcquirePushLockExclusiveEx", "FltAcquirePushLockSharedEx", "FltReleasePushLockEx", module=FLTMGR)
def FltAcquirePushLockExclusiveEx(k, PushLock: PVOID, Flags: ULONG) -> None:
    """Uncontended: nothing to wait for or wake."""
