"""Device interfaces: the class GUIDs devices register, and IoGetDeviceInterfaces' list of them.

PnP keeps, per interface class, the symbolic link of each registered instance and whether it is
enabled. Here a PnP device registers one (KMDF's WdfDeviceCreateDeviceInterface) and it is
enabled when the device starts; IoGetDeviceInterfaces answers with the links of a class as a
MULTI_SZ list in paged pool that the caller frees with ExFreePool (Microsoft's
"IoGetDeviceInterfaces function (wdm.h)"): the enabled ones, or all of them with
DEVICE_INTERFACE_INCLUDE_NONACTIVE, and only the given PDO's when one is named. With none the list
is one empty string. Link names follow Windows' shape for a root-enumerated device,
\\??\\ROOT#SYSTEM#<instance>#{class-guid}[\\reference].
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hooks.api import NTSTATUS, PDEVICE_OBJECT, PVOID, ULONG, export

DEVICE_INTERFACE_INCLUDE_NONACTIVE = 0x1
STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
LIST_TAG = 0x4C666E49                         # 'InfL'


@dataclass
class DeviceInterface:
    class_guid: bytes                         # 16 bytes, as a GUID is laid out in memory
    pdo: int
    reference: str
    link: str
    enabled: bool = False


@dataclass
class DeviceInterfaces:
    registered: list[DeviceInterface] = field(default_factory=list)

    def register(self, class_guid: bytes, pdo: int, reference: str = "") -> DeviceInterface:
        """A device's interface of one class (registering it again gives the same instance)."""
        for found in self.registered:
            if (found.class_guid, found.pdo, found.reference) == (class_guid, pdo, reference):
                return found
        instance = len({r.pdo for r in self.registered if r.class_guid == class_guid})
        link = f"\\??\\ROOT#SYSTEM#{instance:04d}#{{{uuid.UUID(bytes_le=class_guid)}}}"
        self.registered.append(DeviceInterface(class_guid, pdo, reference, link + (f"\\{reference}" if reference else "")))
        return self.registered[-1]

    def enable(self, pdo: int) -> None:
        for found in self.registered:
            if found.pdo == pdo:
                found.enabled = True


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
