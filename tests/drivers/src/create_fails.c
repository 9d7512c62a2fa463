/*
 * create_fails.c - a device whose IRP_MJ_CREATE fails (STATUS_ACCESS_DENIED). Its other routines use
 * the per-handle context CREATE would have set (FileObject->FsContext), so they fault if a request is
 * ever sent on a handle that was never opened: Windows sends none, and neither must the emulator.
 * DriverEntry returns 0, or 0xE0000001 if the device cannot be created.
 */
#include "compat.h"

static NTSTATUS Complete(PIRP Irp, NTSTATUS status)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS Create(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return Complete(Irp, STATUS_ACCESS_DENIED);
}

static NTSTATUS UsesHandle(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    (void)DeviceObject;
    *(volatile ULONG *)stack->FileObject->FsContext += 1;      /* NULL: CREATE never set it */
    return Complete(Irp, STATUS_SUCCESS);
}

static VOID Unload(PDRIVER_OBJECT DriverObject)
{
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name;
    PDEVICE_OBJECT device;
    (void)RegistryPath;
    RtlInitUnicodeString(&name, L"\\Device\\HvciCreateFails");
    if (!NT_SUCCESS(IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device)))
        return HV_FAIL(1);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Create;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = UsesHandle;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = UsesHandle;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = UsesHandle;
    DriverObject->MajorFunction[IRP_MJ_READ] = UsesHandle;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
