"""WDFDRIVER: WdfDriverCreate and what a driver asks of its driver object.

WdfDriverCreate follows fxdriverapi.cpp: once per client (else STATUS_DRIVER_INTERNAL_ERROR); the
driver's name is the last component of its registry path (at most 31 characters) and its pool tag
is WDF_DRIVER_CONFIG.DriverPoolTag, or else the name's first four characters after a leading "WDF"
(FxDriver::_InitializeTag; 'rDxF' for names of two characters or fewer); a non-PnP driver
(WdfDriverInitNonPnpDriver) may not have an EvtDriverDeviceAdd. The DRIVER_OBJECT's entry points
then lead into the framework (hooks.wdf.request).
"""
from __future__ import annotations

from hooks import kstructs as ks
from hooks.api import ACCESS_MASK, NTSTATUS, PCWSTR, PDRIVER_OBJECT, PUNICODE_STRING, PVOID, export
from hooks.wdf.framework import (FRAMEWORK, FX_TAG, FX_TYPE_DRIVER, STATUS_DRIVER_INTERNAL_ERROR,
                                 STATUS_INVALID_PARAMETER, STATUS_SUCCESS, lookup, new_object)
from hooks.wdf.registry import open_key
from hooks.wdf.request import wire_driver_object
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFDRIVER

WDF_DRIVER_INIT_NON_PNP = 0x1
WDF_DRIVER_INIT_NO_DISPATCH_OVERRIDE = 0x2
TAG_DDK = 0x206B6444            # ' kdD', the old DDK default, refused as a driver tag
NAME_LEN = 32


def driver_tag(name: str) -> int:
    if name[:3].lower() == "wdf":
        name = name[3:]
    if len(name) <= 2:
        return FX_TAG
    return int.from_bytes(name[:4].encode("latin-1", "replace"), "little")


@export("WdfDriverCreate", module=FRAMEWORK)
def WdfDriverCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DriverObject: PDRIVER_OBJECT,
                    RegistryPath: PUNICODE_STRING, DriverAttributes: PWDF_OBJECT_ATTRIBUTES,
                    DriverConfig: PVOID, Driver: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    if client.driver is not None:
        return STATUS_DRIVER_INTERNAL_ERROR
    if Driver:
        k.mem.write_q(Driver, 0)
    config = k.read_struct(ks.WDF_DRIVER_CONFIG, DriverConfig)
    if config.DriverInitFlags & WDF_DRIVER_INIT_NON_PNP and config.EvtDriverDeviceAdd and \
            not config.DriverInitFlags & WDF_DRIVER_INIT_NO_DISPATCH_OVERRIDE:
        return STATUS_INVALID_PARAMETER
    if DriverAttributes and k.read_struct(ks.WDF_OBJECT_ATTRIBUTES, DriverAttributes).ParentObject:
        return STATUS_INVALID_PARAMETER
    name = k.read_unicode_string(RegistryPath).rstrip("\\").rsplit("\\", 1)[-1][:NAME_LEN - 1] or "WDF"
    globals_ = k.read_struct(ks.WDF_DRIVER_GLOBALS, DriverGlobals)
    if config.Size == ks.ctypes.sizeof(ks.WDF_DRIVER_CONFIG) and config.DriverPoolTag not in (0, TAG_DDK):
        client.tag = config.DriverPoolTag
    else:
        client.tag = driver_tag(name)
    if client.tag != FX_TAG:
        globals_.DriverTag = client.tag
    client.config = {f: getattr(config, f) for f in ("EvtDriverDeviceAdd", "EvtDriverUnload", "DriverInitFlags")}
    client.driver = new_object(k, client, FX_TYPE_DRIVER, DriverAttributes)
    if not config.DriverInitFlags & WDF_DRIVER_INIT_NO_DISPATCH_OVERRIDE:
        wire_driver_object(k, client, non_pnp=bool(config.DriverInitFlags & WDF_DRIVER_INIT_NON_PNP))
    globals_.Driver = client.driver.handle
    k.write_struct(DriverGlobals, globals_)
    k.mem.write(DriverGlobals + ks.offset_of(ks.WDF_DRIVER_GLOBALS, "DriverName"),
                name.encode("latin-1", "replace").ljust(NAME_LEN, b"\0"))
    if Driver:
        k.mem.write_q(Driver, client.driver.handle)
    return STATUS_SUCCESS


@export("WdfDriverWdmGetDriverObject", module=FRAMEWORK)
def WdfDriverWdmGetDriverObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER) -> PDRIVER_OBJECT:
    return lookup(k, DriverGlobals, Driver, FX_TYPE_DRIVER).client.driver_object


@export("WdfDriverGetRegistryPath", module=FRAMEWORK)
def WdfDriverGetRegistryPath(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER) -> PCWSTR:
    client = lookup(k, DriverGlobals, Driver, FX_TYPE_DRIVER).client
    return k.read_struct(ks.UNICODE_STRING, client.registry_path).Buffer


@export("WdfDriverOpenParametersRegistryKey", module=FRAMEWORK)
def WdfDriverOpenParametersRegistryKey(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER,
                                       DesiredAccess: ACCESS_MASK, KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
                                       Key: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    driver = lookup(k, client.globals, Driver, FX_TYPE_DRIVER)
    path = k.read_unicode_string(client.registry_path) + "\\Parameters"
    return open_key(k, client, k.registry.create(path), KeyAttributes, driver, Key)

