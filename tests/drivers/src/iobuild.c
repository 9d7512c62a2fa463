/*
 * iobuild.c - iobuild_ioctl: IoBuildDeviceIoControlRequest, as Microsoft documents it: an IRP for
 * the given device (the caller sends it with IoCallDriver), its next stack location an
 * IRP_MJ_DEVICE_CONTROL (IRP_MJ_INTERNAL_DEVICE_CONTROL when InternalDeviceIoControl is TRUE) with
 * the code and both lengths, RequestorMode KernelMode, buffers laid out by the code's transfer
 * method; once the IRP completes, the I/O manager copies a buffered output back (Information
 * bytes), fills the caller's IO_STATUS_BLOCK and sets its event.
 *
 * DriverEntry creates \Device\HvciBuild (DEVICE_CONTROL, CREATE and CLOSE handled; no
 * INTERNAL_DEVICE_CONTROL routine) and sends it three IRPs it builds:
 *   1. IOCTL 0x222000 (METHOD_BUFFERED), input "ping", an 8-byte output prefilled with 0xCC: before
 *      sending, the stack location, KernelMode, UserBuffer == the output and a system buffer
 *      holding "ping" (fail 2); the dispatch routine checks the same on its side (HV_FAIL(10)
 *      completes the IRP otherwise), writes "pong1234" and completes with Information 6: the output
 *      is "pong12" then 0xCC 0xCC, the IO_STATUS_BLOCK {0, 6}, the event signalled (fail 3).
 *   2. IOCTL 0x222003 (METHOD_NEITHER): Type3InputBuffer and UserBuffer are the caller's own
 *      buffers (fail 4); the dispatch routine writes "raw!" to UserBuffer, Information 4 (fail 5).
 *   3. code 0x220003 with InternalDeviceIoControl TRUE: IRP_MJ_INTERNAL_DEVICE_CONTROL (fail 6),
 *      which the driver does not handle: STATUS_INVALID_DEVICE_REQUEST from IoCallDriver and in the
 *      IO_STATUS_BLOCK, the event signalled (fail 7).
 * IoBuildDeviceIoControlRequest returning NULL fails 1. DriverEntry returns 0 when all hold.
 */
#include "compat.h"

#define IOCTL_BUILD_BUFFERED CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_BUILD_NEITHER  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_USB_LIKE       0x220003        /* IOCTL_INTERNAL_USB_SUBMIT_URB, as CH341S64.sys sends it */
_Static_assert(IOCTL_BUILD_BUFFERED == 0x222000 && IOCTL_BUILD_NEITHER == 0x222003, "CTL_CODE");

static PDEVICE_OBJECT Device;

static NTSTATUS Complete(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS NTAPI DispatchSuccess(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI DispatchControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->RequestorMode != KernelMode)
        return Complete(Irp, STATUS_ACCESS_DENIED, 0);   /* only DriverEntry's own requests */
    if (code == IOCTL_BUILD_BUFFERED) {
        if (sp->Parameters.DeviceIoControl.InputBufferLength != 4 ||
            sp->Parameters.DeviceIoControl.OutputBufferLength != 8 ||
            RtlCompareMemory(Irp->AssociatedIrp.SystemBuffer, "ping", 4) != 4)
            return Complete(Irp, HV_FAIL(10), 0);
        RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, "pong1234", 8);
        return Complete(Irp, STATUS_SUCCESS, 6);
    }
    if (code == IOCTL_BUILD_NEITHER) {
        RtlCopyMemory(Irp->UserBuffer, "raw!", 4);
        return Complete(Irp, STATUS_SUCCESS, 4);
    }
    return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
}

static NTSTATUS Send(PIRP irp, KEVENT *event)
{
    NTSTATUS status = IoCallDriver(Device, irp);

    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(event, Executive, KernelMode, FALSE, NULL);
    }
    return status;
}

static NTSTATUS Buffered(void)
{
    static const UCHAR expected[8] = {'p', 'o', 'n', 'g', '1', '2', 0xCC, 0xCC};
    UCHAR in[4] = {'p', 'i', 'n', 'g'}, out[8];
    IO_STATUS_BLOCK iosb;
    KEVENT event;
    PIO_STACK_LOCATION next;
    NTSTATUS status;
    PIRP irp;

    RtlFillMemory(out, sizeof(out), 0xCC);
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IOCTL_BUILD_BUFFERED, Device, in, 4, out, 8, FALSE, &event, &iosb);
    if (irp == NULL)
        return HV_FAIL(1);
    next = IoGetNextIrpStackLocation(irp);
    if (next->MajorFunction != IRP_MJ_DEVICE_CONTROL ||
        next->Parameters.DeviceIoControl.IoControlCode != IOCTL_BUILD_BUFFERED ||
        next->Parameters.DeviceIoControl.InputBufferLength != 4 ||
        next->Parameters.DeviceIoControl.OutputBufferLength != 8 || irp->RequestorMode != KernelMode ||
        irp->UserBuffer != out || irp->AssociatedIrp.SystemBuffer == NULL ||
        irp->AssociatedIrp.SystemBuffer == in || RtlCompareMemory(irp->AssociatedIrp.SystemBuffer, in, 4) != 4)
        return HV_FAIL(2);
    status = Send(irp, &event);
    if (status != STATUS_SUCCESS || iosb.Status != STATUS_SUCCESS || iosb.Information != 6 ||
        RtlCompareMemory(out, expected, 8) != 8 || KeReadStateEvent(&event) != 1)
        return HV_FAIL(3);
    return STATUS_SUCCESS;
}

static NTSTATUS Neither(void)
{
    UCHAR in[2] = {1, 2}, out[4] = {0};
    IO_STATUS_BLOCK iosb;
    KEVENT event;
    NTSTATUS status;
    PIRP irp;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IOCTL_BUILD_NEITHER, Device, in, 2, out, 4, FALSE, &event, &iosb);
    if (irp == NULL)
        return HV_FAIL(1);
    if (IoGetNextIrpStackLocation(irp)->Parameters.DeviceIoControl.Type3InputBuffer != in || irp->UserBuffer != out)
        return HV_FAIL(4);
    status = Send(irp, &event);
    if (status != STATUS_SUCCESS || iosb.Status != STATUS_SUCCESS || iosb.Information != 4 ||
        RtlCompareMemory(out, "raw!", 4) != 4)
        return HV_FAIL(5);
    return STATUS_SUCCESS;
}

static NTSTATUS InternalControl(void)
{
    IO_STATUS_BLOCK iosb;
    KEVENT event;
    NTSTATUS status;
    PIRP irp;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IOCTL_USB_LIKE, Device, NULL, 0, NULL, 0, TRUE, &event, &iosb);
    if (irp == NULL)
        return HV_FAIL(1);
    if (IoGetNextIrpStackLocation(irp)->MajorFunction != IRP_MJ_INTERNAL_DEVICE_CONTROL)
        return HV_FAIL(6);
    status = Send(irp, &event);
    if (status != STATUS_INVALID_DEVICE_REQUEST || iosb.Status != STATUS_INVALID_DEVICE_REQUEST ||
        KeReadStateEvent(&event) != 1)
        return HV_FAIL(7);
    return STATUS_SUCCESS;
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    IoDeleteDevice(Device);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\HvciBuild");
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &Device);
    if (!NT_SUCCESS(status))
        return status;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DispatchControl;
    DriverObject->DriverUnload = Unload;
    status = Buffered();
    if (NT_SUCCESS(status))
        status = Neither();
    if (NT_SUCCESS(status))
        status = InternalControl();
    if (!NT_SUCCESS(status))
        IoDeleteDevice(Device);
    return status;
}
