"""I/O manager: devices, device stacks and symbolic links (IRPs themselves: hooks.irp)."""
import ctypes

from hooks import dispatcher, kstructs as ks
from hooks.api import BOOLEAN, NTSTATUS, PDEVICE_OBJECT, PDRIVER_OBJECT, PHANDLE, PUNICODE_STRING, PVOID, ULONG, export
from hooks.security import ObjectRef

STATUS_SUCCESS = 0
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_INSUFFICIENT_RESOURCES = 0xC000009A
DO_DEVICE_INITIALIZING = 0x80


@export("IoCreateDevice")
def IoCreateDevice(k, DriverObject: PDRIVER_OBJECT, DeviceExtensionSize: ULONG, DeviceName: PUNICODE_STRING,
                   DeviceType: ULONG, DeviceCharacteristics: ULONG, Exclusive: BOOLEAN,
                   DeviceObject: PVOID) -> NTSTATUS:
    name = k.read_unicode_string(DeviceName) if DeviceName else None
    if name and name.lower() in k.object_names:
        return STATUS_OBJECT_NAME_COLLISION
    if DeviceExtensionSize > 0x1000000:
        return STATUS_INSUFFICIENT_RESOURCES
    dev = ks.DEVICE_OBJECT()
    dev.Type = ks.IO_TYPE_DEVICE
    dev.Size = ctypes.sizeof(ks.DEVICE_OBJECT) + DeviceExtensionSize
    dev.ReferenceCount = 0               # open handles, counted by the I/O manager (IoManager.count_handle)
    dev.DriverObject = DriverObject
    dev.NextDevice = k.mem.read_q(DriverObject + ks.offset_of(ks.DRIVER_OBJECT, "DeviceObject"))
    dev.Flags = DO_DEVICE_INITIALIZING | (0x8 if Exclusive else 0)    # DO_EXCLUSIVE (wdm.h)
    dev.Characteristics = DeviceCharacteristics
    dev.DeviceType = DeviceType
    dev.StackSize = 1
    dev.AlignmentRequirement = 0
    va = k.pool.allocate(ctypes.sizeof(ks.DEVICE_OBJECT) + DeviceExtensionSize, executable=False, paged=False,
                         tag=0x69766544, owner=k.caller)
    k.mem.write(va, bytes(ctypes.sizeof(ks.DEVICE_OBJECT) + DeviceExtensionSize))
    dev.DeviceExtension = va + ctypes.sizeof(ks.DEVICE_OBJECT) if DeviceExtensionSize else 0
    k.write_struct(va, dev)
    k.mem.write_q(DriverObject + ks.offset_of(ks.DRIVER_OBJECT, "DeviceObject"), va)
    if name:
        k.object_names[name.lower()] = va
    k.devices[va] = name
    k.mem.write_q(DeviceObject, va)
    return STATUS_SUCCESS


def ready_device_objects(k, devices: list[int]) -> None:
    """After a DriverEntry that succeeded, the I/O manager clears DO_DEVICE_INITIALIZING on the device
    objects it created (Microsoft's "Initializing a Device Object": devices created elsewhere, in
    AddDevice, the driver clears itself), so requests and drivers waiting on the flag go on."""
    at = ks.offset_of(ks.DEVICE_OBJECT, "Flags")
    for device in devices:
        k.mem.write_u32(device + at, k.mem.read_u32(device + at) & ~DO_DEVICE_INITIALIZING)


@export("IoDeleteDevice")
def IoDeleteDevice(k, DeviceObject: PDEVICE_OBJECT) -> None:
    name = k.devices.pop(DeviceObject, None)
    if name:
        k.object_names.pop(name.lower(), None)
    driver = k.mem.read_q(DeviceObject + ks.offset_of(ks.DEVICE_OBJECT, "DriverObject"))
    head_slot = driver + ks.offset_of(ks.DRIVER_OBJECT, "DeviceObject")
    next_dev = k.mem.read_q(DeviceObject + ks.offset_of(ks.DEVICE_OBJECT, "NextDevice"))
    cur = k.mem.read_q(head_slot)
    prev_slot = head_slot
    while cur:
        if cur == DeviceObject:
            k.mem.write_q(prev_slot, next_dev)
            break
        prev_slot = cur + ks.offset_of(ks.DEVICE_OBJECT, "NextDevice")
        cur = k.mem.read_q(prev_slot)
    if DeviceObject in k.pool.live:
        k.pool.free(DeviceObject)


@export("IoCreateSymbolicLink", "IoCreateUnprotectedSymbolicLink")
def IoCreateSymbolicLink(k, SymbolicLinkName: PUNICODE_STRING, DeviceName: PUNICODE_STRING) -> NTSTATUS:
    link = k.read_unicode_string(SymbolicLinkName)
    if link.lower() in k.symlinks:
        return STATUS_OBJECT_NAME_COLLISION
    k.symlinks[link.lower()] = k.read_unicode_string(DeviceName)
    return STATUS_SUCCESS


@export("IoDeleteSymbolicLink")
def IoDeleteSymbolicLink(k, SymbolicLinkName: PUNICODE_STRING) -> NTSTATUS:
    link = k.read_unicode_string(SymbolicLinkName).lower()
    return STATUS_SUCCESS if k.symlinks.pop(link, None) is not None else STATUS_OBJECT_NAME_NOT_FOUND


@export("IoIsWdmVersionAvailable")
def IoIsWdmVersionAvailable(k, MajorVersion: ULONG, MinorVersion: ULONG) -> BOOLEAN:
    # Windows 10/11 report WDM 6.0 (0x06, 0x00) and every earlier version.
    return int((MajorVersion & 0xFF, MinorVersion & 0xFF) <= (6, 0x00) or MajorVersion & 0xFF < 6)


@export("IoGetDeviceObjectPointer")
def IoGetDeviceObjectPointer(k, ObjectName: PUNICODE_STRING, DesiredAccess: ULONG, FileObject: PVOID,
                             DeviceObject: PVOID) -> NTSTATUS:
    return STATUS_OBJECT_NAME_NOT_FOUND


# ---- device stacks (the stack itself lives in hooks.irp.IoManager) -----------------------------------
@export("IoAttachDeviceToDeviceStack")
def IoAttachDeviceToDeviceStack(k, SourceDevice: PDEVICE_OBJECT, TargetDevice: PDEVICE_OBJECT) -> PDEVICE_OBJECT:
    return k.io.attach(SourceDevice, TargetDevice)


@export("IoAttachDeviceToDeviceStackSafe")
def IoAttachDeviceToDeviceStackSafe(k, SourceDevice: PDEVICE_OBJECT, TargetDevice: PDEVICE_OBJECT,
                                    AttachedToDeviceObject: PVOID) -> NTSTATUS:
    # The out-parameter is written before the source becomes visible: that is the "Safe" part.
    k.mem.write_q(AttachedToDeviceObject, k.io.top_of_stack(TargetDevice))
    k.io.attach(SourceDevice, TargetDevice)
    return STATUS_SUCCESS


@export("IoGetAttachedDeviceReference", "IoGetAttachedDevice")
def IoGetAttachedDeviceReference(k, DeviceObject: PDEVICE_OBJECT) -> PDEVICE_OBJECT:
    return k.io.top_of_stack(DeviceObject)


@export("IoDetachDevice")
def IoDetachDevice(k, TargetDevice: PDEVICE_OBJECT) -> None:
    k.io.detach(TargetDevice)


@export("IoGetConfigurationInformation")
def IoGetConfigurationInformation(k) -> PVOID:
    return k.io.configuration


# ---- named events ------------------------------------------------------------------------------------
def _named_event(k, name_string: int, handle_out: int, event_type: int) -> int:
    """Open the event of that name, or create it Signaled (both routines' documented initial state);
    either way a new kernel handle to it. The name is kept in the object namespace."""
    name = k.read_unicode_string(name_string)
    if not name:
        return 0
    event = k.object_names.get(name.lower())
    if event is None:
        event = k.new_struct(ks.KEVENT(), tag=0x6E657645)
        dispatcher.KeInitializeEvent(k, event, event_type, 1)
        k.object_names[name.lower()] = event
    k.mem.write_q(handle_out, k.handles.open(ObjectRef(event)))
    return event


@export("IoCreateNotificationEvent")
def IoCreateNotificationEvent(k, EventName: PUNICODE_STRING, EventHandle: PHANDLE) -> PVOID:
    return _named_event(k, EventName, EventHandle, ks.EventNotificationObject)


@export("IoCreateSynchronizationEvent")
def IoCreateSynchronizationEvent(k, EventName: PUNICODE_STRING, EventHandle: PHANDLE) -> PVOID:
    return _named_event(k, EventName, EventHandle, ks.EventSynchronizationObject)
