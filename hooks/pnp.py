"""What the PnP manager keeps about the devices it enumerated: instance paths, device interfaces, and
the devices' registry keys.

The emulated PnP manager enumerates root devices only (`IoManager.create_pdo`, the PDOs AddDevice gets).
Each gets the instance path ROOT\\SYSTEM\\<nnnn> on first use.

Device interfaces (Microsoft's wdm.h pages for IoRegisterDeviceInterface, IoSetDeviceInterfaceState,
IoGetDeviceInterfaces): a PDO registers an instance of an interface class (optionally with a
reference string); its symbolic link is \\??\\<instance path with # for \\>#{class-guid}[\\reference], the
shape Windows gives. Registering it again returns the same link. An instance is enabled and disabled
with IoSetDeviceInterfaceState (STATUS_OBJECT_NAME_EXISTS when it already was enabled,
STATUS_OBJECT_NAME_NOT_FOUND when disabling one that is not); KMDF's WdfDeviceCreateDeviceInterface
registers one that the framework enables when the device starts. IoGetDeviceInterfaces answers with
the links of a class as a MULTI_SZ list in paged pool the caller frees with ExFreePool: the enabled
ones, or all with DEVICE_INTERFACE_INCLUDE_NONACTIVE, and only the given PDO's when one is named;
with none the list is one empty string.

IoOpenDeviceRegistryKey opens (creating it) the device's hardware key, Enum\\<instance>\\Device
Parameters (PLUGPLAY_REGKEY_DEVICE), or its software key, Control\\Class\\{System class}\\<nnnn>
(PLUGPLAY_REGKEY_DRIVER), under the current hardware profile with PLUGPLAY_REGKEY_CURRENT_HWPROFILE;
a device object that is not a PDO is STATUS_INVALID_DEVICE_REQUEST (wdm.h page of the routine).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hooks import kstructs as ks
from hooks.api import ACCESS_MASK, BOOLEAN, NTSTATUS, PDEVICE_OBJECT, PHANDLE, PUNICODE_STRING, PVOID, ULONG, export

DEVICE_INTERFACE_INCLUDE_NONACTIVE = 0x1
PLUGPLAY_REGKEY_DEVICE, PLUGPLAY_REGKEY_DRIVER, PLUGPLAY_REGKEY_CURRENT_HWPROFILE = 1, 2, 4
STATUS_SUCCESS = 0
STATUS_OBJECT_NAME_EXISTS = 0x40000000
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
LIST_TAG = 0x4C666E49                                  # 'InfL'
SYSTEM_CLASS = "{4d36e97d-e325-11ce-bfc1-08002be10318}"   # the "System" device setup class of root devices
CONTROL_SET = "\\Registry\\Machine\\System\\CurrentControlSet"
HARDWARE_PROFILE = "\\Registry\\Machine\\System\\CurrentControlSet\\Hardware Profiles\\Current"


@dataclass
class DeviceInterface:
    class_guid: bytes                                  # 16 bytes, as a GUID is laid out in memory
    pdo: int
    reference: str
    link: str
    enabled: bool = False


@dataclass
class DeviceInterfaces:
    """Registered interface instances, and the instance number of each PDO."""

    registered: list[DeviceInterface] = field(default_factory=list)
    instances: dict[int, int] = field(default_factory=dict)

    def instance_path(self, pdo: int) -> str:
        number = self.instances.setdefault(pdo, len(self.instances))
        return f"ROOT\\SYSTEM\\{number:04d}"

    def register(self, class_guid: bytes, pdo: int, reference: str = "") -> DeviceInterface:
        """A device's interface of one class (registering it again gives the same instance)."""
        for found in self.registered:
            if (found.class_guid, found.pdo, found.reference.lower()) == (class_guid, pdo, reference.lower()):
                return found
        link = f"\\??\\{self.instance_path(pdo).replace(chr(92), '#')}#{{{uuid.UUID(bytes_le=class_guid)}}}"
        self.registered.append(DeviceInterface(class_guid, pdo, reference,
                                               link + (f"\\{reference}" if reference else "")))
        return self.registered[-1]

    def by_link(self, link: str) -> DeviceInterface | None:
        return next((r for r in self.registered if r.link.lower() == link.lower()), None)


def is_pdo(k, device: int) -> bool:
    """Whether `device` is a PDO the PnP manager made."""
    return device in k.io.pdos


def device_key_path(k, pdo: int, key_type: int) -> str | None:
    """The registry path IoOpenDeviceRegistryKey opens for a PnP device; None for an unknown key type."""
    kind = key_type & ~PLUGPLAY_REGKEY_CURRENT_HWPROFILE
    instance = k.interfaces.instance_path(pdo)
    if kind == PLUGPLAY_REGKEY_DEVICE:
        tail = f"\\Enum\\{instance}\\Device Parameters"
    elif kind == PLUGPLAY_REGKEY_DRIVER:
        tail = f"\\Control\\Class\\{SYSTEM_CLASS}\\{instance.rsplit(chr(92), 1)[1]}"
    else:
        return None
    base = HARDWARE_PROFILE + "\\System\\CurrentControlSet" if key_type & PLUGPLAY_REGKEY_CURRENT_HWPROFILE \
        else CONTROL_SET
    return base + tail


@export("IoRegisterDeviceInterface")
def IoRegisterDeviceInterface(k, PhysicalDeviceObject: PDEVICE_OBJECT, InterfaceClassGuid: PVOID,
                              ReferenceString: PUNICODE_STRING, SymbolicLinkName: PUNICODE_STRING) -> NTSTATUS:
    """The caller frees SymbolicLinkName's buffer with RtlFreeUnicodeString."""
    if not is_pdo(k, PhysicalDeviceObject):
        return STATUS_INVALID_DEVICE_REQUEST
    if not InterfaceClassGuid or not SymbolicLinkName:
        return STATUS_INVALID_PARAMETER
    reference = k.read_unicode_string(ReferenceString) if ReferenceString else ""
    link = k.interfaces.register(k.mem.read(InterfaceClassGuid, 16), PhysicalDeviceObject, reference).link
    data = link.encode("utf-16-le")
    buffer = k.pool.allocate(len(data) + 2, executable=False, paged=True, tag=LIST_TAG, owner=0)
    k.mem.write(buffer, data + b"\0\0")
    k.write_struct(SymbolicLinkName, ks.UNICODE_STRING(len(data), len(data) + 2, buffer))
    return STATUS_SUCCESS


@export("IoSetDeviceInterfaceState")
def IoSetDeviceInterfaceState(k, SymbolicLinkName: PUNICODE_STRING, Enable: BOOLEAN) -> NTSTATUS:
    found = k.interfaces.by_link(k.read_unicode_string(SymbolicLinkName)) if SymbolicLinkName else None
    if found is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    if bool(Enable) == found.enabled:
        return STATUS_OBJECT_NAME_EXISTS if Enable else STATUS_OBJECT_NAME_NOT_FOUND
    found.enabled = bool(Enable)
    return STATUS_SUCCESS


@export("IoGetDeviceInterfaces")
def IoGetDeviceInterfaces(k, InterfaceClassGuid: PVOID, PhysicalDeviceObject: PDEVICE_OBJECT, Flags: ULONG,
                          SymbolicLinkList: PVOID) -> NTSTATUS:
    if not InterfaceClassGuid or not SymbolicLinkList:
        return STATUS_INVALID_PARAMETER
    wanted = k.mem.read(InterfaceClassGuid, 16)
    links = [r.link for r in k.interfaces.registered
             if r.class_guid == wanted and (r.enabled or Flags & DEVICE_INTERFACE_INCLUDE_NONACTIVE)
             and (not PhysicalDeviceObject or r.pdo == PhysicalDeviceObject)]
    data = "".join(f"{link}\0" for link in links).encode("utf-16-le") + b"\0\0"
    address = k.pool.allocate(len(data), executable=False, paged=True, tag=LIST_TAG, owner=0)
    k.mem.write(address, data)
    k.mem.write_q(SymbolicLinkList, address)
    return STATUS_SUCCESS


@export("IoOpenDeviceRegistryKey")
def IoOpenDeviceRegistryKey(k, DeviceObject: PDEVICE_OBJECT, DevInstKeyType: ULONG, DesiredAccess: ACCESS_MASK,
                            DevInstRegKey: PHANDLE) -> NTSTATUS:
    if not is_pdo(k, DeviceObject):
        return STATUS_INVALID_DEVICE_REQUEST
    path = device_key_path(k, DeviceObject, DevInstKeyType)
    if path is None or not DevInstRegKey:
        return STATUS_INVALID_PARAMETER
    k.mem.write_q(DevInstRegKey, k.handles.open(k.registry.create(path)))
    return STATUS_SUCCESS
