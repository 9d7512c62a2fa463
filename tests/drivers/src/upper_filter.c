/*
 * upper_filter.c - upper_filter: an upper device filter as keyboard and USB filters are written
 * (interception's keyboard and mouse filters, libusb0 in filter mode): every request it does not
 * handle itself goes down the stack unchanged, IRP_MJ_CREATE and IRP_MJ_CLOSE included, so the
 * device it sits on decides whether a handle opens. On Windows that is the function or bus driver
 * below (kbdclass, a USB hub's PDO), which opens it.
 *
 * DriverEntry points every MajorFunction at PassDown, then IRP_MJ_DEVICE_CONTROL, IRP_MJ_PNP and
 * IRP_MJ_POWER at their own routines, sets AddDevice and DriverUnload.
 * AddDevice: \Device\HvciFilter (linked as \DosDevices\HvciFilter) attached on top of the PDO,
 *   DO_BUFFERED_IO copied from the device below, DO_DEVICE_INITIALIZING cleared.
 * IRP_MJ_DEVICE_CONTROL: IOCTL 0x222C00 (fn 0xB00, METHOD_BUFFERED) is the filter's own: it
 *   allocates 0x40 bytes of executable NonPagedPool tagged 'UtlF' (a 0xC4/0x2000), frees them and
 *   completes with STATUS_SUCCESS; every other IOCTL goes down.
 * IRP_MN_REMOVE_DEVICE: passed down, then the link removed, detach, delete.
 */
#include "compat.h"

#define IOCTL_FILTER_OWN CTL_CODE(FILE_DEVICE_UNKNOWN, 0xB00, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define FILTER_TAG 'UtlF'

typedef struct {
    PDEVICE_OBJECT Lower;
} FILTER_EXTENSION;

static UNICODE_STRING Link = RTL_CONSTANT_STRING(L"\\DosDevices\\HvciFilter");

static PDEVICE_OBJECT LowerOf(PDEVICE_OBJECT DeviceObject)
{
    return ((FILTER_EXTENSION *)DeviceObject->DeviceExtension)->Lower;
}

static NTSTATUS NTAPI PassDown(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(LowerOf(DeviceObject), Irp);
}

static NTSTATUS NTAPI DeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVOID block;

    if (IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.IoControlCode != IOCTL_FILTER_OWN)
        return PassDown(DeviceObject, Irp);
    block = ExAllocatePoolWithTag(NonPagedPool, 0x40, FILTER_TAG);
    if (block)
        ExFreePoolWithTag(block, FILTER_TAG);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI Pnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_OBJECT lower = LowerOf(DeviceObject);
    NTSTATUS status;

    if (IoGetCurrentIrpStackLocation(Irp)->MinorFunction != IRP_MN_REMOVE_DEVICE)
        return PassDown(DeviceObject, Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(lower, Irp);
    IoDeleteSymbolicLink(&Link);
    IoDetachDevice(lower);
    IoDeleteDevice(DeviceObject);
    return status;
}

static NTSTATUS NTAPI Power(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(LowerOf(DeviceObject), Irp);
}

static NTSTATUS NTAPI AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\HvciFilter");
    PDEVICE_OBJECT filter, lower;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(FILTER_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &filter);
    if (!NT_SUCCESS(status))
        return status;
    lower = IoAttachDeviceToDeviceStack(filter, Pdo);
    if (lower == NULL) {
        IoDeleteDevice(filter);
        return STATUS_NO_SUCH_DEVICE;
    }
    ((FILTER_EXTENSION *)filter->DeviceExtension)->Lower = lower;
    status = IoCreateSymbolicLink(&Link, &name);
    if (!NT_SUCCESS(status)) {
        IoDetachDevice(lower);
        IoDeleteDevice(filter);
        return status;
    }
    filter->Flags |= lower->Flags & DO_BUFFERED_IO;
    filter->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    ULONG i;

    UNREFERENCED_PARAMETER(RegistryPath);
    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = PassDown;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = Pnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = Power;
    DriverObject->DriverExtension->AddDevice = AddDevice;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
