"""WDFSPINLOCK and WDFWAITLOCK: one processor, one thread, so a lock only records that it is held."""
from __future__ import annotations

from hooks.api import NTSTATUS, PLARGE_INTEGER, PVOID, VOID, export
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_SPIN_LOCK, FX_TYPE_WAIT_LOCK, STATUS_SUCCESS, lookup,
                                 new_object)
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFLOCK


class Lock:
    held = False


def _create(k, globals_address: int, attributes: int, out: int, fx_type: int) -> int:
    client = k.wdf.client(k, globals_address)
    obj = new_object(k, client, fx_type, attributes, client.driver, Lock())
    k.mem.write_q(out, obj.handle)
    return STATUS_SUCCESS


def _set(k, globals_address: int, handle: int, fx_type: int, held: bool) -> None:
    lookup(k, globals_address, handle, fx_type).state.held = held


@export("WdfSpinLockCreate", module=FRAMEWORK)
def WdfSpinLockCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLockAttributes: PWDF_OBJECT_ATTRIBUTES,
                      SpinLock: PVOID) -> NTSTATUS:
    return _create(k, DriverGlobals, SpinLockAttributes, SpinLock, FX_TYPE_SPIN_LOCK)


@export("WdfSpinLockAcquire", module=FRAMEWORK)
def WdfSpinLockAcquire(k, DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLock: WDFLOCK) -> VOID:
    _set(k, DriverGlobals, SpinLock, FX_TYPE_SPIN_LOCK, True)


@export("WdfSpinLockRelease", module=FRAMEWORK)
def WdfSpinLockRelease(k, DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLock: WDFLOCK) -> VOID:
    _set(k, DriverGlobals, SpinLock, FX_TYPE_SPIN_LOCK, False)


@export("WdfWaitLockCreate", module=FRAMEWORK)
def WdfWaitLockCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, LockAttributes: PWDF_OBJECT_ATTRIBUTES,
                      Lock: PVOID) -> NTSTATUS:
    return _create(k, DriverGlobals, LockAttributes, Lock, FX_TYPE_WAIT_LOCK)


@export("WdfWaitLockAcquire", module=FRAMEWORK)
def WdfWaitLockAcquire(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Lock: WDFLOCK, Timeout: PLARGE_INTEGER) -> NTSTATUS:
    _set(k, DriverGlobals, Lock, FX_TYPE_WAIT_LOCK, True)
    return STATUS_SUCCESS


@export("WdfWaitLockRelease", module=FRAMEWORK)
def WdfWaitLockRelease(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Lock: WDFLOCK) -> VOID:
    _set(k, DriverGlobals, Lock, FX_TYPE_WAIT_LOCK, False)
