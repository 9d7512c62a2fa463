"""The volumes a minifilter can enumerate: the one disk volume hooks.volume serves (C:), and its disk
device object (a FILE_DEVICE_DISK DEVICE_OBJECT of no driver: no disk driver is loaded)."""
from __future__ import annotations

import ctypes

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PULONG, PUNICODE_STRING, PVOID, ULONG, export

FILE_DEVICE_DISK = 0x7
from hooks.flt.filters import hand_out
from hooks.flt.manager import FLTMGR, STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, Volume, \
    new_object
from hooks.volume import SYSTEM_VOLUME


def system_volume(k) -> Volume:
    manager = k.filter_manager
    if not manager.volumes:
        volume = Volume(new_object(k, 0x6C6F5646), SYSTEM_VOLUME)                       # 'FVol'
        manager.volumes[volume.address] = volume
    return next(iter(manager.volumes.values()))


@export("FltEnumerateVolumes", module=FLTMGR)
def FltEnumerateVolumes(k, Filter: PVOID, VolumeList: PVOID, VolumeListSize: ULONG,
                        NumberVolumesReturned: PULONG) -> NTSTATUS:
    if Filter not in k.filter_manager.filters:
        return STATUS_INVALID_PARAMETER
    return hand_out(k, [system_volume(k)], VolumeList, VolumeListSize, NumberVolumesReturned)


@export("FltGetVolumeName", module=FLTMGR)
def FltGetVolumeName(k, Volume: PVOID, VolumeName: PUNICODE_STRING, BufferSizeNeeded: PULONG) -> NTSTATUS:
    """The volume's device name into the caller's UNICODE_STRING, or the size it needs."""
    volume = k.filter_manager.volumes.get(Volume)
    if volume is None:
        return STATUS_INVALID_PARAMETER
    data = volume.name.encode("utf-16-le")
    if BufferSizeNeeded:
        k.mem.write_u32(BufferSizeNeeded, len(data))
    if not VolumeName:
        return STATUS_BUFFER_TOO_SMALL
    target = k.read_struct(ks.UNICODE_STRING, VolumeName)
    if target.MaximumLength < len(data):
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(target.Buffer, data)
    k.mem.write_u16(VolumeName, len(data))
    return STATUS_SUCCESS


@export("FltGetDiskDeviceObject", module=FLTMGR)
def FltGetDiskDeviceObject(k, Volume: PVOID, DiskDeviceObject: PVOID) -> NTSTATUS:
    """A referenced pointer (the caller dereferences it) to the volume's disk device."""
    volume = k.filter_manager.volumes.get(Volume)
    if volume is None:
        return STATUS_INVALID_PARAMETER
    if not volume.disk_device:
        device = ks.DEVICE_OBJECT(Type=ks.IO_TYPE_DEVICE, Size=ctypes.sizeof(ks.DEVICE_OBJECT), ReferenceCount=1,
                                  DeviceType=FILE_DEVICE_DISK)
        volume.disk_device = k.new_struct(device, tag=0x6B736944)                       # 'Disk'
        k.devices[volume.disk_device] = volume.name
    k.mem.write_q(DiskDeviceObject, volume.disk_device)
    return STATUS_SUCCESS
