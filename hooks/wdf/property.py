"""Device properties the framework reads for a driver into a new WDFMEMORY of the pool type it names:
WdfDeviceAllocAndQueryProperty(Ex), WdfFdoInitAllocAndQueryProperty(Ex) and
WdfIoTargetAllocAndQueryTargetProperty. Each asks for the property's size, then allocates the
WDFMEMORY with the driver's tag (fxdeviceapi.cpp passes pFxDriverGlobals->Tag), so the pool type is
announced like any allocation (hooks.wdf.memory.new_memory).

The properties are those of the PnP device's physical device object, a root-enumerated device
named after the driver. A control device has no PDO: the query fails with
STATUS_INVALID_DEVICE_REQUEST and nothing is allocated; so does an unknown property
(STATUS_INVALID_PARAMETER_2, as IoGetDeviceProperty answers).
"""
from __future__ import annotations


from hooks.api import NTSTATUS, POOL_TYPE, PVOID, export
from hooks.registry import REG_MULTI_SZ, REG_SZ
from hooks.wdf.device import device_init, device_of
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_DEVICE, STATUS_INSUFFICIENT_RESOURCES,
                                 STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS, Client, lookup, new_object)
from hooks.wdf.memory import new_memory
from hooks.wdf.types import ENUM, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, PWDFDEVICE_INIT, WDFDEVICE, WDFIOTARGET

STATUS_INVALID_PARAMETER_2 = 0xC00000F0
FX_TYPE_IO_TARGET = 0x1200
DEVICE_DESCRIPTION, HARDWARE_ID = 0, 1                       # DEVICE_REGISTRY_PROPERTY
DEVPROP_TYPE_STRING, DEVPROP_TYPE_STRING_LIST = 0x12, 0x2012
# DEVPKEY_Device_DeviceDesc / _HardwareIds: {a45c254e-df1c-4efd-8020-67d146a850e0}, pid 2 / 3
DEVPKEY_DEVICE = bytes.fromhex("4e255ca41cdffd4e802067d146a850e0")
DEVPKEY_PIDS = {2: DEVICE_DESCRIPTION, 3: HARDWARE_ID}


def _property(client: Client, k, which: int) -> tuple[bytes, int, int] | None:
    """(data, registry type, DEVPROPTYPE) of the PDO's property."""
    service = k.read_unicode_string(client.registry_path).rsplit("\\", 1)[-1]
    if which == DEVICE_DESCRIPTION:
        return f"{service} device".encode("utf-16-le") + b"\0\0", REG_SZ, DEVPROP_TYPE_STRING
    if which == HARDWARE_ID:
        return f"ROOT\\{service}".encode("utf-16-le") + b"\0\0\0\0", REG_MULTI_SZ, DEVPROP_TYPE_STRING_LIST
    return None


def _devpkey(k, property_data: int) -> int:
    """The DEVICE_REGISTRY_PROPERTY a WDF_DEVICE_PROPERTY_DATA's DEVPROPKEY names, or -1."""
    key = k.mem.read_q(property_data + 8)                       # {ULONG Size; const DEVPROPKEY *PropertyKey; ...}
    fmtid, pid = k.mem.read(key, 16), k.mem.read_u32(key + 16)
    return DEVPKEY_PIDS.get(pid, -1) if fmtid == DEVPKEY_DEVICE else -1


def _query(k, client: Client, pnp: bool, which: int, pool_type: int, attributes: int, out: int, type_out: int,
           args: tuple) -> int:
    if not pnp:
        return STATUS_INVALID_DEVICE_REQUEST
    found = _property(client, k, which)
    if found is None:
        return STATUS_INVALID_PARAMETER_2
    data, _, devprop_type = found
    memory = new_memory(k, client, pool_type, client.tag, len(data), attributes, args)
    if memory is None:
        return STATUS_INSUFFICIENT_RESOURCES
    k.mem.write(memory.state.buffer, data)
    k.mem.write_q(out, memory.handle)
    if type_out:
        k.mem.write_u32(type_out, devprop_type)
    return STATUS_SUCCESS


@export("WdfDeviceAllocAndQueryProperty", module=FRAMEWORK)
def WdfDeviceAllocAndQueryProperty(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, DeviceProperty: ENUM,
                                   PoolType: POOL_TYPE, PropertyMemoryAttributes: PWDF_OBJECT_ATTRIBUTES,
                                   PropertyMemory: PVOID) -> NTSTATUS:
    device = device_of(k, DriverGlobals, Device)
    return _query(k, k.wdf.client(k, DriverGlobals), not device.control, DeviceProperty, PoolType,
                  PropertyMemoryAttributes, PropertyMemory, 0,
                  (DriverGlobals, Device, DeviceProperty, PoolType, PropertyMemoryAttributes, PropertyMemory))


@export("WdfDeviceAllocAndQueryPropertyEx", module=FRAMEWORK)
def WdfDeviceAllocAndQueryPropertyEx(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, DeviceProperty: PVOID,
                                     PoolType: POOL_TYPE, PropertyMemoryAttributes: PWDF_OBJECT_ATTRIBUTES,
                                     PropertyMemory: PVOID, Type: PVOID) -> NTSTATUS:
    device = device_of(k, DriverGlobals, Device)
    return _query(k, k.wdf.client(k, DriverGlobals), not device.control, _devpkey(k, DeviceProperty), PoolType,
                  PropertyMemoryAttributes, PropertyMemory, Type,
                  (DriverGlobals, Device, DeviceProperty, PoolType, PropertyMemoryAttributes, PropertyMemory, Type))


@export("WdfFdoInitAllocAndQueryProperty", module=FRAMEWORK)
def WdfFdoInitAllocAndQueryProperty(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                    DeviceProperty: ENUM, PoolType: POOL_TYPE,
                                    PropertyMemoryAttributes: PWDF_OBJECT_ATTRIBUTES,
                                    PropertyMemory: PVOID) -> NTSTATUS:
    init = device_init(k, DeviceInit)
    return _query(k, init.client, not init.control, DeviceProperty, PoolType, PropertyMemoryAttributes,
                  PropertyMemory, 0,
                  (DriverGlobals, DeviceInit, DeviceProperty, PoolType, PropertyMemoryAttributes, PropertyMemory))


@export("WdfFdoInitAllocAndQueryPropertyEx", module=FRAMEWORK)
def WdfFdoInitAllocAndQueryPropertyEx(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                      DeviceProperty: PVOID, PoolType: POOL_TYPE,
                                      PropertyMemoryAttributes: PWDF_OBJECT_ATTRIBUTES, PropertyMemory: PVOID,
                                      Type: PVOID) -> NTSTATUS:
    init = device_init(k, DeviceInit)
    return _query(k, init.client, not init.control, _devpkey(k, DeviceProperty), PoolType, PropertyMemoryAttributes,
                  PropertyMemory, Type,
                  (DriverGlobals, DeviceInit, DeviceProperty, PoolType, PropertyMemoryAttributes, PropertyMemory, Type))


@export("WdfDeviceGetIoTarget", module=FRAMEWORK)
def WdfDeviceGetIoTarget(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFIOTARGET:
    """A PnP device's default target: the device below it (its PDO here). Control devices have none."""
    client = k.wdf.client(k, DriverGlobals)
    device_obj = lookup(k, client.globals, Device, FX_TYPE_DEVICE)
    if device_obj.state.control:
        return 0
    if device_obj.state.io_target is None:
        device_obj.state.io_target = new_object(k, client, FX_TYPE_IO_TARGET, 0, device_obj, device_obj)
    return device_obj.state.io_target.handle


@export("WdfIoTargetAllocAndQueryTargetProperty", module=FRAMEWORK)
def WdfIoTargetAllocAndQueryTargetProperty(k, DriverGlobals: PWDF_DRIVER_GLOBALS, IoTarget: WDFIOTARGET,
                                           DeviceProperty: ENUM, PoolType: POOL_TYPE,
                                           PropertyMemoryAttributes: PWDF_OBJECT_ATTRIBUTES,
                                           PropertyMemory: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    lookup(k, client.globals, IoTarget, FX_TYPE_IO_TARGET)
    return _query(k, client, True, DeviceProperty, PoolType, PropertyMemoryAttributes, PropertyMemory, 0,
                  (DriverGlobals, IoTarget, DeviceProperty, PoolType, PropertyMemoryAttributes, PropertyMemory))


