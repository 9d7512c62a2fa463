/*
 * fuzz_target.c - violations a plain run cannot reach, for `verifier fuzz`.
 *
 * DriverEntry creates \Device\HvciFuzz (FILE_DEVICE_UNKNOWN) and \DosDevices\HvciFuzz and sets
 * IRP_MJ_CREATE, IRP_MJ_CLOSE and IRP_MJ_DEVICE_CONTROL.  Both IOCTLs are METHOD_BUFFERED:
 *
 *   0x222400  fn 0x900  a request header: if InputBufferLength >= 8 and the ULONG at offset 4 is
 *             the magic 0x46555A5A, allocates 0x80 bytes of executable NonPagedPool, tag 'gaMF'
 *             (0xC4/0x2000, Arg3 0, Arg4 0x67614D46), frees it, STATUS_SUCCESS.  Any other
 *             input: STATUS_INVALID_PARAMETER.  A plain run (zeros) never gets there.
 *   0x222404  fn 0x901  ExAllocatePoolWithTagPriority(NonPagedPoolNx, 0x200, 'wLzF'); only if that
 *             fails (low resources) it falls back to ExAllocatePool(NonPagedPool, 0x200), which is
 *             executable (0xC4/0x2000, Arg3 0, Arg4 'None', the tag ExAllocatePool gives).
 *             STATUS_SUCCESS either way once it has a buffer.
 *
 * Anything else: STATUS_INVALID_DEVICE_REQUEST.  Information is 0 throughout.
 */
#include "compat.h"

#define IOCTL_FUZZ_MAGIC  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_FUZZ_LOWRES CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)
_Static_assert(IOCTL_FUZZ_MAGIC == 0x222400, "CTL_CODE");
_Static_assert(IOCTL_FUZZ_LOWRES == 0x222404, "CTL_CODE");

#define MAGIC 0x46555A5Au
#define MAGIC_TAG 'gaMF'
#define LOWRES_TAG 'wLzF'

static UNICODE_STRING g_LinkName = { 0, 0, NULL };

static NTSTATUS Complete(PIRP Irp, NTSTATUS status)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS NTAPI DispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS);
}

static NOINLINE NTSTATUS MagicRequest(const UCHAR *in, ULONG inLen)
{
    PVOID p;

    if (in == NULL || inLen < 8 || *(const ULONG *)(in + 4) != MAGIC)
        return STATUS_INVALID_PARAMETER;
    p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPool, 0x80, MAGIC_TAG);
    if (p == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ExFreePoolWithTag(p, MAGIC_TAG);
    return STATUS_SUCCESS;
}

static NOINLINE NTSTATUS LowResourcesRequest(void)
{
    PVOID p = ExAllocatePoolWithTagPriority((POOL_TYPE)HV_NonPagedPoolNx, 0x200, LOWRES_TAG, NormalPoolPriority);

    if (p == NULL)          /* the "emergency" path: executable pool, untagged */
        p = ExAllocatePool((POOL_TYPE)HV_NonPagedPool, 0x200);
    if (p == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ExFreePool(p);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);

    UNREFERENCED_PARAMETER(DeviceObject);
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_FUZZ_MAGIC:
        return Complete(Irp, MagicRequest((const UCHAR *)Irp->AssociatedIrp.SystemBuffer,
                                          sp->Parameters.DeviceIoControl.InputBufferLength));
    case IOCTL_FUZZ_LOWRES:
        return Complete(Irp, LowResourcesRequest());
    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST);
    }
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    IoDeleteSymbolicLink(&g_LinkName);
    if (DriverObject->DeviceObject != NULL)
        IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    PDEVICE_OBJECT device = NULL;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(RegistryPath);
    RtlInitUnicodeString(&deviceName, L"\\Device\\HvciFuzz");
    st = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &device);
    if (!NT_SUCCESS(st))
        return st;
    RtlInitUnicodeString(&g_LinkName, L"\\DosDevices\\HvciFuzz");
    st = IoCreateSymbolicLink(&g_LinkName, &deviceName);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(device);
        return st;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DispatchDeviceControl;
    DriverObject->DriverUnload = DriverUnload;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
