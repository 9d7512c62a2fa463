"""WDFCHILDLIST: a bus driver's list of child descriptions (dynamic enumeration, KMDF wdfchildlist.h).

WdfFdoInitSetDefaultChildListConfig gives the bus FDO a default child list, made with the device;
WdfFdoGetDefaultChildList returns it. A driver reports children with
WdfChildListAddOrUpdateChildDescriptionAsPresent (a copy of the identification description, whose
first ULONG is its size and must be the configured IdentificationDescriptionSize) and removes them with
WdfChildListUpdateChildDescriptionAsMissing; descriptions are told apart by the driver's
EvtChildListIdentificationDescriptionCompare, else byte for byte, as KMDF does
(src/framework/shared/irphandlers/pnp/fxchildlist.cpp). Status codes are those Microsoft's pages for
the two functions give: STATUS_OBJECT_NAME_EXISTS for a child already present, STATUS_NO_SUCH_DEVICE for
one never reported.

The emulated PnP manager never enumerates the bus, so no child PDO is created
(EvtChildListCreateDevice does not run): iterating the list's devices (BeginIteration,
RetrieveNextDevice, EndIteration) finds none, STATUS_NO_MORE_ENTRIES.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PVOID, VOID, export
from hooks.wdf.framework import (FRAMEWORK, FX_TAG, FX_TYPE_DEVICE, STATUS_INVALID_PARAMETER, STATUS_SUCCESS,
                                 WdfObject, lookup, new_object, run_callback)
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, WDFCHILDLIST, WDFDEVICE

FX_TYPE_CHILD_LIST = 0x1029                     # fxtypes.h
STATUS_OBJECT_NAME_EXISTS = 0x40000000
STATUS_NO_SUCH_DEVICE = 0xC000000E
STATUS_NO_MORE_ENTRIES = 0x8000001A
COMPARE = "EvtChildListIdentificationDescriptionCompare"


@dataclass
class ChildList:
    identification_size: int
    address_size: int
    callbacks: dict[str, int]
    present: list[int] = field(default_factory=list)       # kernel copies of identification descriptions

    def on_delete(self, k) -> None:
        for copy in self.present:
            k.pool.free(copy)


def create_default(k, device: WdfObject, config: ks.WDF_CHILD_LIST_CONFIG) -> WdfObject:
    """The FDO's default child list, made by WdfDeviceCreate from WdfFdoInitSetDefaultChildListConfig."""
    callbacks = {name: getattr(config, name) for name, _ in ks.WDF_CHILD_LIST_CONFIG._fields_
                 if name.startswith("Evt") and getattr(config, name)}
    state = ChildList(config.IdentificationDescriptionSize, config.AddressDescriptionSize, callbacks)
    return new_object(k, device.client, FX_TYPE_CHILD_LIST, 0, device, state)


def _list(k, globals_address: int, handle: int) -> WdfObject:
    return lookup(k, globals_address, handle, FX_TYPE_CHILD_LIST)


def _find(k, children: WdfObject, description: int) -> int | None:
    """The present copy equal to `description`, by the driver's compare callback or by bytes."""
    state: ChildList = children.state
    compare = state.callbacks.get(COMPARE)
    wanted = k.mem.read(description, state.identification_size)
    for copy in state.present:
        if compare:
            if run_callback(k, COMPARE, compare, [children.handle, copy, description]) & 0xFF:
                return copy
        elif k.mem.read(copy, state.identification_size) == wanted:
            return copy
    return None


@export("WdfFdoGetDefaultChildList", module=FRAMEWORK)
def WdfFdoGetDefaultChildList(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Fdo: WDFDEVICE) -> WDFCHILDLIST:
    children = lookup(k, DriverGlobals, Fdo, FX_TYPE_DEVICE).state.child_list
    return children.handle if children is not None else 0


@export("WdfChildListAddOrUpdateChildDescriptionAsPresent", module=FRAMEWORK)
def WdfChildListAddOrUpdateChildDescriptionAsPresent(k, DriverGlobals: PWDF_DRIVER_GLOBALS, ChildList: WDFCHILDLIST,
                                                     IdentificationDescription: PVOID,
                                                     AddressDescription: PVOID) -> NTSTATUS:
    children = _list(k, DriverGlobals, ChildList)
    size = children.state.identification_size
    if not IdentificationDescription or k.mem.read_u32(IdentificationDescription) != size:
        return STATUS_INVALID_PARAMETER
    if _find(k, children, IdentificationDescription) is not None:
        return STATUS_OBJECT_NAME_EXISTS
    copy = k.pool.allocate(size, executable=False, paged=False, tag=children.client.tag or FX_TAG, owner=0)
    k.mem.write(copy, k.mem.read(IdentificationDescription, size))
    children.state.present.append(copy)
    return STATUS_SUCCESS


@export("WdfChildListUpdateChildDescriptionAsMissing", module=FRAMEWORK)
def WdfChildListUpdateChildDescriptionAsMissing(k, DriverGlobals: PWDF_DRIVER_GLOBALS, ChildList: WDFCHILDLIST,
                                                IdentificationDescription: PVOID) -> NTSTATUS:
    children = _list(k, DriverGlobals, ChildList)
    if not IdentificationDescription or k.mem.read_u32(IdentificationDescription) != children.state.identification_size:
        return STATUS_INVALID_PARAMETER
    copy = _find(k, children, IdentificationDescription)
    if copy is None:
        return STATUS_NO_SUCH_DEVICE
    children.state.present.remove(copy)
    k.pool.free(copy)
    return STATUS_SUCCESS


@export("WdfChildListBeginScan", "WdfChildListEndScan", module=FRAMEWORK)
def WdfChildListBeginScan(k, DriverGlobals: PWDF_DRIVER_GLOBALS, ChildList: WDFCHILDLIST) -> VOID:
    """A scan brackets reports of the children present; nothing is enumerated at its end here."""
    _list(k, DriverGlobals, ChildList)


@export("WdfChildListBeginIteration", "WdfChildListEndIteration", module=FRAMEWORK)
def WdfChildListBeginIteration(k, DriverGlobals: PWDF_DRIVER_GLOBALS, ChildList: WDFCHILDLIST,
                               Iterator: PVOID) -> VOID:
    _list(k, DriverGlobals, ChildList)


@export("WdfChildListRetrieveNextDevice", module=FRAMEWORK)
def WdfChildListRetrieveNextDevice(k, DriverGlobals: PWDF_DRIVER_GLOBALS, ChildList: WDFCHILDLIST, Iterator: PVOID,
                                   Device: PVOID, Info: PVOID) -> NTSTATUS:
    """No child PDO exists (the bus is never enumerated): the iteration is over."""
    _list(k, DriverGlobals, ChildList)
    if Device:
        k.mem.write_q(Device, 0)
    return STATUS_NO_MORE_ENTRIES
