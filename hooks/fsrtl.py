"""What a file system or redirector registers with the kernel: itself (IoRegisterFileSystem), its UNC
name with MUP (FsRtlRegisterUncProvider[Ex]) and its file-system filter callbacks; and the thread's
top-level IRP, which file systems set while they work on a request (IoSetTopLevelIrp).

Nothing calls back into these registrations here (no volume is mounted through them and no section is
synchronised); they are recorded so a report can say what the driver set up, and undone as Windows
undoes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hooks import kstructs as ks
from hooks.api import (BOOLEAN, HANDLE, NTSTATUS, PDEVICE_OBJECT, PDRIVER_OBJECT, PHANDLE, PIRP, PUNICODE_STRING,
                       PVOID, ULONG, export)

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_COLLISION = 0xC0000035


@dataclass
class UncProvider:
    """A redirector registered with MUP: its device name and device (the handle's object)."""

    name: str
    device: int


@dataclass
class FileSystemRegistrations:
    file_systems: list[int] = field(default_factory=list)                 # DEVICE_OBJECTs, registration order
    filter_callbacks: dict[int, dict[str, int]] = field(default_factory=dict)    # DRIVER_OBJECT -> routines
    unc_providers: list[UncProvider] = field(default_factory=list)
    top_level_irp: dict[int, int] = field(default_factory=dict)          # thread -> IRP (or FSRTL_* value)


@export("IoRegisterFileSystem")
def IoRegisterFileSystem(k, DeviceObject: PDEVICE_OBJECT) -> None:
    if DeviceObject not in k.file_systems.file_systems:
        k.file_systems.file_systems.append(DeviceObject)


@export("IoUnregisterFileSystem")
def IoUnregisterFileSystem(k, DeviceObject: PDEVICE_OBJECT) -> None:
    if DeviceObject in k.file_systems.file_systems:
        k.file_systems.file_systems.remove(DeviceObject)


@export("FsRtlRegisterFileSystemFilterCallbacks")
def FsRtlRegisterFileSystemFilterCallbacks(k, FilterDriverObject: PDRIVER_OBJECT, Callbacks: PVOID) -> NTSTATUS:
    """Callbacks is an FS_FILTER_CALLBACKS whose SizeOfFsFilterCallbacks says how much of it the driver
    filled; the routines it sets are kept by driver."""
    if not FilterDriverObject or not Callbacks:
        return STATUS_INVALID_PARAMETER
    size = k.mem.read_u32(Callbacks)
    if size < ks.offset_of(ks.FS_FILTER_CALLBACKS, "PreAcquireForSectionSynchronization"):
        return STATUS_INVALID_PARAMETER
    given = k.read_struct(ks.FS_FILTER_CALLBACKS, Callbacks)
    routines = {}
    for name, _ in ks.FS_FILTER_CALLBACKS._fields_[2:]:
        if ks.offset_of(ks.FS_FILTER_CALLBACKS, name) + 8 <= size and getattr(given, name):
            routines[name] = getattr(given, name)
    k.file_systems.filter_callbacks[FilterDriverObject] = routines
    return STATUS_SUCCESS


def _register_unc(k, handle_out: int, name_string: int, device: int) -> int:
    name = k.read_unicode_string(name_string)
    if not name:
        return STATUS_INVALID_PARAMETER
    if any(p.name.upper() == name.upper() for p in k.file_systems.unc_providers):
        return STATUS_OBJECT_NAME_COLLISION
    provider = UncProvider(name, device)
    k.file_systems.unc_providers.append(provider)
    k.mem.write_q(handle_out, k.handles.open(provider))
    return STATUS_SUCCESS


@export("FsRtlRegisterUncProviderEx")
def FsRtlRegisterUncProviderEx(k, MupHandle: PHANDLE, RedirDevName: PUNICODE_STRING, DeviceObject: PDEVICE_OBJECT,
                               Flags: ULONG) -> NTSTATUS:
    return _register_unc(k, MupHandle, RedirDevName, DeviceObject)


@export("FsRtlRegisterUncProvider")
def FsRtlRegisterUncProvider(k, MupHandle: PHANDLE, RedirectorDeviceName: PUNICODE_STRING,
                             MailslotsSupported: BOOLEAN) -> NTSTATUS:
    return _register_unc(k, MupHandle, RedirectorDeviceName, 0)


@export("FsRtlDeregisterUncProvider")
def FsRtlDeregisterUncProvider(k, Handle: HANDLE) -> None:
    provider = k.handles.get(Handle, UncProvider)
    if provider is not None:
        k.file_systems.unc_providers.remove(provider)
        k.handles.close(Handle)


@export("IoGetTopLevelIrp")
def IoGetTopLevelIrp(k) -> PIRP:
    """NULL until the current thread's file system sets one: a request that came straight from the I/O
    manager."""
    return k.file_systems.top_level_irp.get(k.current_thread, 0)


@export("IoSetTopLevelIrp")
def IoSetTopLevelIrp(k, Irp: PIRP) -> None:
    k.file_systems.top_level_irp[k.current_thread] = Irp
