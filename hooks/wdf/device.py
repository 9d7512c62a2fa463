"""WDFDEVICE: device initialisation (PWDFDEVICE_INIT), creation, and the WDM device behind it.

A control device (non-PnP drivers such as WinDivert) comes from WdfControlDeviceInitAllocate; a
PnP device's PWDFDEVICE_INIT is what the framework passes to EvtDriverDeviceAdd (`pnp_device_init`,
for whoever drives device add). Defaults are FxDeviceInit's (fxdeviceinit.cpp): FILE_DEVICE_UNKNOWN,
FILE_DEVICE_SECURE_OPEN, buffered I/O. WdfDeviceCreate makes the DEVICE_OBJECT through the I/O
manager's IoCreateDevice, sets DO_BUFFERED_IO or DO_DIRECT_IO from the I/O type, consumes the
PWDFDEVICE_INIT (the caller's pointer becomes NULL) and, for a PnP device, clears
DO_DEVICE_INITIALIZING; a control device keeps it until WdfControlFinishInitializing.
The callbacks a driver registers are recorded by name for whatever delivers I/O and PnP events.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from hooks import io
from hooks import kstructs as ks
from hooks.api import ACCESS_MASK, BOOLEAN, NTSTATUS, PDEVICE_OBJECT, PUNICODE_STRING, PVOID, ULONG, VOID, export
from hooks.pnp import device_key_path
from hooks.wdf import childlist
from hooks.wdf.registry import open_key
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_DEVICE, FX_TYPE_DRIVER, STATUS_INVALID_DEVICE_REQUEST,
                                 STATUS_INVALID_PARAMETER,
                                 STATUS_SUCCESS, WDF_REQUIRED_PARAMETER_IS_NULL, Client, bug_check, lookup,
                                 new_object)
from hooks.wdf.types import ENUM, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, PWDFDEVICE_INIT, WDFDEVICE, WDFDRIVER

FILE_DEVICE_UNKNOWN = 0x22
STATUS_INVALID_DEVICE_STATE = 0xC0000184
FILE_DEVICE_SECURE_OPEN = 0x100
WDF_DEVICE_IO_BUFFERED, WDF_DEVICE_IO_DIRECT = 2, 3
DO_BUFFERED_IO, DO_DIRECT_IO, DO_DEVICE_INITIALIZING = 0x4, 0x10, 0x80
INIT_SIZE = 0x40


@dataclass
class DeviceInit:
    address: int
    client: Client
    control: bool
    name: str | None = None
    sddl: int = 0
    device_type: int = FILE_DEVICE_UNKNOWN
    characteristics: int = FILE_DEVICE_SECURE_OPEN
    exclusive: bool = False
    io_type: int = WDF_DEVICE_IO_BUFFERED
    power_policy_owner: bool | None = None       # None: the framework's default for the device's role
    filter: bool = False                         # WdfFdoInitSetFilter: a filter device object
    pdo: int = 0                                 # the physical device object AddDevice was given
    callbacks: dict[str, int] = field(default_factory=dict)
    file_attributes: int = 0                     # a kernel copy of WdfDeviceInitSetFileObjectConfig's attributes
    child_list: ks.WDF_CHILD_LIST_CONFIG | None = None   # WdfFdoInitSetDefaultChildListConfig's
    request_attributes: int = 0                  # a kernel copy of WdfDeviceInitSetRequestAttributes' attributes


@dataclass
class DeviceState:
    device_object: int
    control: bool
    name: str | None
    io_type: int
    callbacks: dict[str, int]
    power_policy_owner: bool | None = None
    filter: bool = False
    queues: list = field(default_factory=list)                   # WdfObjects of its queues
    file_attributes: int = 0                                     # what each WDFFILEOBJECT is created with
    interfaces: list[tuple[bytes, str]] = field(default_factory=list)   # (class GUID, reference string)
    bus_information: bytes = b""                                 # PNP_BUS_INFORMATION its children report
    default_queue: object = None
    dispatching: dict[int, object] = field(default_factory=dict)  # WDF_REQUEST_TYPE -> queue object
    symbolic_links: list[str] = field(default_factory=list)
    io_target: object = None                                     # WdfDeviceGetIoTarget's, made on first use
    pdo: int = 0                                                 # the PDO a PnP device sits on
    child_list: object = None                                    # a bus FDO's default WDFCHILDLIST
    request_attributes: int = 0                                  # what each WDFREQUEST is created with


def _new_init(k, client: Client, control: bool) -> DeviceInit:
    address = k.pool.allocate(INIT_SIZE, executable=False, paged=False, tag=client.tag or 0x72447846, owner=0)
    k.mem.write(address, bytes(INIT_SIZE))
    init = k.wdf.device_inits[address] = DeviceInit(address, client, control)
    return init


def pnp_device_init(k, client: Client, pdo: int = 0) -> int:
    """The PWDFDEVICE_INIT the framework passes to EvtDriverDeviceAdd; the device it creates is
    attached on top of `pdo` (if given)."""
    init = _new_init(k, client, control=False)
    init.pdo = pdo
    return init.address


def device_init(k, address: int) -> DeviceInit:
    init = k.wdf.device_inits.get(address)
    if init is None:
        bug_check(k, WDF_REQUIRED_PARAMETER_IS_NULL, 0, 0, 0,
                  f"{k.current_export.name}: 0x{address:x} is not a PWDFDEVICE_INIT")
    return init


def device_of(k, globals_address: int, handle: int) -> DeviceState:
    return lookup(k, globals_address, handle, FX_TYPE_DEVICE).state


@export("WdfControlDeviceInitAllocate", module=FRAMEWORK)
def WdfControlDeviceInitAllocate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER,
                                 SDDLString: PUNICODE_STRING) -> PWDFDEVICE_INIT:
    client = k.wdf.client(k, DriverGlobals)
    lookup(k, client.globals, Driver, FX_TYPE_DRIVER)
    if not SDDLString:
        return 0
    init = _new_init(k, client, control=True)
    init.sddl = SDDLString
    return init.address


@export("WdfDeviceInitFree", module=FRAMEWORK)
def WdfDeviceInitFree(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT) -> VOID:
    if k.wdf.device_inits.pop(DeviceInit, None) is not None:
        k.pool.free(DeviceInit)


@export("WdfDeviceInitAssignName", module=FRAMEWORK)
def WdfDeviceInitAssignName(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                            DeviceName: PUNICODE_STRING) -> NTSTATUS:
    device_init(k, DeviceInit).name = k.read_unicode_string(DeviceName) if DeviceName else None
    return STATUS_SUCCESS


@export("WdfDeviceInitSetIoType", module=FRAMEWORK)
def WdfDeviceInitSetIoType(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT, IoType: ENUM) -> VOID:
    device_init(k, DeviceInit).io_type = IoType


@export("WdfDeviceInitSetDeviceType", module=FRAMEWORK)
def WdfDeviceInitSetDeviceType(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                               DeviceType: ULONG) -> VOID:
    device_init(k, DeviceInit).device_type = DeviceType


@export("WdfDeviceInitSetCharacteristics", module=FRAMEWORK)
def WdfDeviceInitSetCharacteristics(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                    DeviceCharacteristics: ULONG, OrInValues: BOOLEAN) -> VOID:
    init = device_init(k, DeviceInit)
    init.characteristics = (init.characteristics if OrInValues else 0) | DeviceCharacteristics


@export("WdfDeviceInitSetExclusive", module=FRAMEWORK)
def WdfDeviceInitSetExclusive(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                              IsExclusive: BOOLEAN) -> VOID:
    device_init(k, DeviceInit).exclusive = bool(IsExclusive)


def _record(k, init: DeviceInit, cls, address: int) -> None:
    if address:
        config = k.read_struct(cls, address)
        init.callbacks.update({name: getattr(config, name) for name, _ in cls._fields_
                               if name.startswith("Evt") and getattr(config, name)})


@export("WdfDeviceInitSetFileObjectConfig", module=FRAMEWORK)
def WdfDeviceInitSetFileObjectConfig(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                     FileObjectConfig: PVOID, FileObjectAttributes: PWDF_OBJECT_ATTRIBUTES) -> VOID:
    init = device_init(k, DeviceInit)
    _record(k, init, ks.WDF_FILEOBJECT_CONFIG, FileObjectConfig)
    if FileObjectAttributes:           # the driver's copy is usually on its stack: keep one
        init.file_attributes = k.new_struct(k.read_struct(ks.WDF_OBJECT_ATTRIBUTES, FileObjectAttributes))


@export("WdfDeviceInitSetRequestAttributes", module=FRAMEWORK)
def WdfDeviceInitSetRequestAttributes(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                      RequestAttributes: PWDF_OBJECT_ATTRIBUTES) -> VOID:
    """The context (and callbacks) every request the framework makes for the device gets."""
    device_init(k, DeviceInit).request_attributes = k.new_struct(k.read_struct(ks.WDF_OBJECT_ATTRIBUTES,
                                                                               RequestAttributes))


@export("WdfDeviceInitSetPnpPowerEventCallbacks", module=FRAMEWORK)
def WdfDeviceInitSetPnpPowerEventCallbacks(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                           PnpPowerEventCallbacks: PVOID) -> VOID:
    _record(k, device_init(k, DeviceInit), ks.WDF_PNPPOWER_EVENT_CALLBACKS, PnpPowerEventCallbacks)


@export("WdfDeviceInitSetIoInCallerContextCallback", module=FRAMEWORK)
def WdfDeviceInitSetIoInCallerContextCallback(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                              EvtIoInCallerContext: PVOID) -> VOID:
    device_init(k, DeviceInit).callbacks["EvtIoInCallerContext"] = EvtIoInCallerContext


@export("WdfDeviceInitSetPowerPolicyOwnership", module=FRAMEWORK)
def WdfDeviceInitSetPowerPolicyOwnership(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                         IsPowerPolicyOwner: BOOLEAN) -> VOID:
    device_init(k, DeviceInit).power_policy_owner = bool(IsPowerPolicyOwner)


@export("WdfFdoInitSetFilter", module=FRAMEWORK)
def WdfFdoInitSetFilter(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT) -> VOID:
    """The device will be a filter: request types it has no queue for go to the device below it."""
    device_init(k, DeviceInit).filter = True


@export("WdfFdoInitSetDefaultChildListConfig", module=FRAMEWORK)
def WdfFdoInitSetDefaultChildListConfig(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PWDFDEVICE_INIT,
                                        Config: PVOID, DefaultChildListAttributes: PWDF_OBJECT_ATTRIBUTES) -> VOID:
    """A bus driver's default child list (made with the device); its callbacks are recorded with the device's."""
    init = device_init(k, DeviceInit)
    _record(k, init, ks.WDF_CHILD_LIST_CONFIG, Config)
    init.child_list = k.read_struct(ks.WDF_CHILD_LIST_CONFIG, Config)


@export("WdfDeviceCreate", module=FRAMEWORK)
def WdfDeviceCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceInit: PVOID, DeviceAttributes: PWDF_OBJECT_ATTRIBUTES,
                    Device: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    init = device_init(k, k.mem.read_q(DeviceInit))
    if client.driver is None:
        return STATUS_INVALID_PARAMETER
    slot = init.address                                   # IoCreateDevice's out parameter: the init block
    name = k.unicode_string(init.name) if init.name else 0
    status = io.IoCreateDevice(k, client.driver_object, 0, name, init.device_type, init.characteristics,
                               int(init.exclusive), slot)
    if status != STATUS_SUCCESS:
        return status
    device_object = k.mem.read_q(slot)
    flags_at = device_object + ks.offset_of(ks.DEVICE_OBJECT, "Flags")
    flags = k.mem.read_u32(flags_at)
    flags |= {WDF_DEVICE_IO_BUFFERED: DO_BUFFERED_IO, WDF_DEVICE_IO_DIRECT: DO_DIRECT_IO}.get(init.io_type, 0)
    if not init.control:
        flags &= ~DO_DEVICE_INITIALIZING
    k.mem.write_u32(flags_at, flags)
    if init.pdo:
        io.IoAttachDeviceToDeviceStack(k, device_object, init.pdo)     # the FDO (or filter) above its PDO
    state = DeviceState(device_object, init.control, init.name, init.io_type, dict(init.callbacks),
                        init.power_policy_owner, init.filter, file_attributes=init.file_attributes, pdo=init.pdo,
                        request_attributes=init.request_attributes)
    obj = new_object(k, client, FX_TYPE_DEVICE, DeviceAttributes, client.driver, state)
    if init.child_list is not None:
        state.child_list = childlist.create_default(k, obj, init.child_list)
    k.wdf.devices.append(obj)
    del k.wdf.device_inits[init.address]
    k.pool.free(init.address)
    k.mem.write_q(DeviceInit, 0)
    k.mem.write_q(Device, obj.handle)
    return STATUS_SUCCESS


@export("WdfDeviceCreateSymbolicLink", module=FRAMEWORK)
def WdfDeviceCreateSymbolicLink(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE,
                                SymbolicLinkName: PUNICODE_STRING) -> NTSTATUS:
    device = device_of(k, DriverGlobals, Device)
    # an unnamed PnP device links to its PDO's name; a control device must have a name
    # (FxDevice::CreateSymbolicLink, src/framework/shared/core/fxdevice.cpp)
    target = device.name or (None if device.control else k.devices.get(device.pdo))
    if not target:
        return STATUS_INVALID_DEVICE_STATE
    status = io.IoCreateSymbolicLink(k, SymbolicLinkName, k.unicode_string(target))
    if status == STATUS_SUCCESS:
        device.symbolic_links.append(k.read_unicode_string(SymbolicLinkName))
    return status


@export("WdfDeviceCreateDeviceInterface", module=FRAMEWORK)
def WdfDeviceCreateDeviceInterface(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, InterfaceClassGUID: PVOID,
                                   ReferenceString: PUNICODE_STRING) -> NTSTATUS:
    """Register a device interface of the PnP device (enabled when the device starts); control devices
    have no PDO to register it on."""
    device = device_of(k, DriverGlobals, Device)
    if device.control:
        return STATUS_INVALID_DEVICE_REQUEST
    reference = k.read_unicode_string(ReferenceString) if ReferenceString else ""
    device.interfaces.append((k.mem.read(InterfaceClassGUID, 16), reference))
    k.interfaces.register(device.interfaces[-1][0], device.pdo or device.device_object, reference)
    return STATUS_SUCCESS


@export("WdfDeviceSetBusInformationForChildren", module=FRAMEWORK)
def WdfDeviceSetBusInformationForChildren(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE,
                                          BusInformation: PVOID) -> VOID:
    """What a bus driver's PDOs answer to IRP_MN_QUERY_BUS_INFORMATION (BusTypeGuid, LegacyBusType, BusNumber)."""
    size = ctypes.sizeof(ks.PNP_BUS_INFORMATION)
    device_of(k, DriverGlobals, Device).bus_information = k.mem.read(BusInformation, size)


@export("WdfControlFinishInitializing", module=FRAMEWORK)
def WdfControlFinishInitializing(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> VOID:
    device = device_of(k, DriverGlobals, Device)
    flags_at = device.device_object + ks.offset_of(ks.DEVICE_OBJECT, "Flags")
    k.mem.write_u32(flags_at, k.mem.read_u32(flags_at) & ~DO_DEVICE_INITIALIZING)


@export("WdfDeviceWdmGetDeviceObject", module=FRAMEWORK)
def WdfDeviceWdmGetDeviceObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> PDEVICE_OBJECT:
    return device_of(k, DriverGlobals, Device).device_object


@export("WdfWdmDeviceGetWdfDeviceHandle", module=FRAMEWORK)
def WdfWdmDeviceGetWdfDeviceHandle(k, DriverGlobals: PWDF_DRIVER_GLOBALS, DeviceObject: PDEVICE_OBJECT) -> WDFDEVICE:
    return next((o.handle for o in k.wdf.objects.values()
                 if o.type == FX_TYPE_DEVICE and o.state.device_object == DeviceObject), 0)


@export("WdfDeviceWdmGetPhysicalDevice", module=FRAMEWORK)
def WdfDeviceWdmGetPhysicalDevice(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> PDEVICE_OBJECT:
    """The PDO a PnP device sits on (NULL for a control device)."""
    return device_of(k, DriverGlobals, Device).pdo


@export("WdfDeviceOpenRegistryKey", module=FRAMEWORK)
def WdfDeviceOpenRegistryKey(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, DeviceInstanceKeyType: ULONG,
                             DesiredAccess: ACCESS_MASK, KeyAttributes: PWDF_OBJECT_ATTRIBUTES, Key: PVOID) -> NTSTATUS:
    """The PnP device's hardware (PLUGPLAY_REGKEY_DEVICE) or software (PLUGPLAY_REGKEY_DRIVER) key, as
    IoOpenDeviceRegistryKey opens it for its PDO; a control device has none."""
    client = k.wdf.client(k, DriverGlobals)
    obj = lookup(k, client.globals, Device, FX_TYPE_DEVICE)
    k.mem.write_q(Key, 0)
    if not obj.state.pdo:
        return STATUS_INVALID_DEVICE_REQUEST
    path = device_key_path(k, obj.state.pdo, DeviceInstanceKeyType)
    if path is None:
        return STATUS_INVALID_PARAMETER
    return open_key(k, client, k.registry.create(path), KeyAttributes, obj, Key)


@export("WdfDeviceGetDefaultQueue", module=FRAMEWORK)
def WdfDeviceGetDefaultQueue(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFDEVICE:
    queue = device_of(k, DriverGlobals, Device).default_queue
    return queue.handle if queue is not None else 0

