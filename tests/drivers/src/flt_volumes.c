/*
 * flt_volumes.c - a minifilter that enumerates the volumes (FltEnumerateVolumes, as Process
 * Monitor's driver does in DriverEntry) and asks a volume's name.  Statuses as Microsoft's
 * fltkernel.h reference documents them.
 *
 * DriverEntry returns (first failure wins):
 *   0xE0000001  FltRegisterFilter failed
 *   0xE0000002  FltEnumerateVolumes with no room did not give STATUS_BUFFER_TOO_SMALL and a count
 *               of at least 1
 *   0xE0000003  FltEnumerateVolumes with room for that count failed or returned another count
 *   0xE0000004  FltGetVolumeName of the first volume: the size probe (NULL name) did not give
 *               STATUS_BUFFER_TOO_SMALL with a size, or the name is not \Device\HarddiskVolumeN
 *   0xE0000005  FltObjectReference on the first volume failed
 *   0xE0000006  FltGetDiskDeviceObject of the first volume failed, or gave no FILE_DEVICE_DISK device
 *   0xE0000007  FltInitializePushLock did not leave the lock 0 (unowned), or it is not 0 after an
 *               exclusive and a shared acquire, each released
 * Exported: Volume (the first volume), VolumeCount.
 */
#include "flt_compat.h"

IMPORT NTSTATUS NTAPI FltEnumerateVolumes(PFLT_FILTER Filter, PFLT_VOLUME *VolumeList, ULONG VolumeListSize,
                                          PULONG NumberVolumesReturned);
IMPORT NTSTATUS NTAPI FltGetVolumeName(PFLT_VOLUME Volume, PUNICODE_STRING VolumeName, PULONG BufferSizeNeeded);
IMPORT NTSTATUS NTAPI FltGetDiskDeviceObject(PFLT_VOLUME Volume, PDEVICE_OBJECT *DiskDeviceObject);
IMPORT VOID NTAPI FltInitializePushLock(PULONG_PTR PushLock);
IMPORT VOID NTAPI FltAcquirePushLockExclusive(PULONG_PTR PushLock);
IMPORT VOID NTAPI FltAcquirePushLockShared(PULONG_PTR PushLock);
IMPORT VOID NTAPI FltReleasePushLock(PULONG_PTR PushLock);
IMPORT VOID NTAPI FltDeletePushLock(PULONG_PTR PushLock);

__declspec(dllexport) PFLT_VOLUME Volume;
__declspec(dllexport) ULONG VolumeCount;
static PFLT_FILTER Filter;

static NTSTATUS NTAPI FilterUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
    FltUnregisterFilter(Filter);
    return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, NULL, NULL, FilterUnload,
};

static NTSTATUS Volumes(void)
{
    static const WCHAR prefix[] = L"\\Device\\HarddiskVolume";
    PFLT_VOLUME volumes[8];
    PDEVICE_OBJECT disk = NULL;
    WCHAR text[64];
    UNICODE_STRING name = {0, sizeof(text), text};
    ULONG count = 0, again = 0, needed = 0, i;
    NTSTATUS st;

    if (FltEnumerateVolumes(Filter, volumes, 0, &count) != STATUS_BUFFER_TOO_SMALL || count < 1 || count > 8)
        return HV_FAIL(2);
    if (FltEnumerateVolumes(Filter, volumes, count, &again) != STATUS_SUCCESS || again != count)
        return HV_FAIL(3);
    Volume = volumes[0];
    VolumeCount = count;
    st = FltGetVolumeName(volumes[0], NULL, &needed);
    if (st != STATUS_BUFFER_TOO_SMALL || needed == 0 || needed > sizeof(text))
        st = HV_FAIL(4);
    else if (FltGetVolumeName(volumes[0], &name, &needed) != STATUS_SUCCESS || name.Length != needed ||
             name.Length <= sizeof(prefix) - 2 || RtlCompareMemory(text, prefix, sizeof(prefix) - 2) != sizeof(prefix) - 2)
        st = HV_FAIL(4);
    else if (FltObjectReference(volumes[0]) != STATUS_SUCCESS)
        st = HV_FAIL(5);
    else {
        FltObjectDereference(volumes[0]);
        st = FltGetDiskDeviceObject(volumes[0], &disk);
        if (st != STATUS_SUCCESS || disk == NULL || disk->DeviceType != FILE_DEVICE_DISK)
            st = HV_FAIL(6);
        if (disk != NULL)
            ObDereferenceObject(disk);
    }
    for (i = 0; i < count; i++)
        FltObjectDereference(volumes[i]);
    return st;
}

static NTSTATUS PushLock(void)
{
    ULONG_PTR lock = (ULONG_PTR)-1;                 /* EX_PUSH_LOCK: pointer-sized */

    FltInitializePushLock(&lock);
    if (lock != 0)
        return HV_FAIL(7);
    FltAcquirePushLockExclusive(&lock);
    FltReleasePushLock(&lock);
    FltAcquirePushLockShared(&lock);
    FltReleasePushLock(&lock);
    FltDeletePushLock(&lock);
    return lock == 0 ? STATUS_SUCCESS : HV_FAIL(7);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    if (!NT_SUCCESS(FltRegisterFilter(DriverObject, &Registration, &Filter)))
        return HV_FAIL(1);
    st = Volumes();
    if (NT_SUCCESS(st))
        st = PushLock();
    if (!NT_SUCCESS(st))
        FltUnregisterFilter(Filter);
    return st;
}
