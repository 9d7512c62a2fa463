/*
 * ioctl.c - a small device driver for exercising dispatch routines.
 *
 * DriverEntry creates \Device\HvciIoctl (FILE_DEVICE_UNKNOWN, secure open)
 * and the symbolic link \DosDevices\HvciIoctl, and sets IRP_MJ_CREATE,
 * IRP_MJ_CLOSE, IRP_MJ_DEVICE_CONTROL and DriverUnload.  DriverEntry itself
 * has no code-integrity finding.
 *
 * IOCTLs (CTL_CODE(FILE_DEVICE_UNKNOWN, function, method, FILE_ANY_ACCESS)):
 *
 *   0x222000  fn 0x800 METHOD_BUFFERED    SystemBuffer in place: out[i] = in[i] ^ 0x5A
 *             for i < InputBufferLength.  Needs OutputBufferLength >=
 *             InputBufferLength, else STATUS_BUFFER_TOO_SMALL.  Information =
 *             InputBufferLength.
 *   0x222005  fn 0x801 METHOD_IN_DIRECT   copies the SystemBuffer input into the
 *             buffer described by Irp->MdlAddress in reverse byte order;
 *             n = min(in, out) bytes, Information = n.
 *   0x22200A  fn 0x802 METHOD_OUT_DIRECT  copies the SystemBuffer input into the
 *             MDL buffer, ASCII a-z upper-cased; n = min(in, out), Information = n.
 *   0x22200F  fn 0x803 METHOD_NEITHER     Type3InputBuffer -> Irp->UserBuffer,
 *             out[i] = in[i] + 1; n = min(in, out), Information = n.  The
 *             pointers are used without probing (gcc has no __try), so wild
 *             pointers fault: a crash a fuzzer can reach on purpose.
 *   0x222040  fn 0x810 METHOD_BUFFERED    allocates 0x100 bytes of executable
 *             NonPagedPool with tag 'lctI' ("Ictl"), copies up to 0x100 input
 *             bytes into it, frees it; Information = 0.  The only path to a
 *             code-integrity finding (0xC4/0x2000, Arg3 0, Arg4 0x6C637449).
 *
 * The two DIRECT methods map the MDL with MmGetSystemAddressForMdlSafe(...,
 * NormalPagePriority | MdlMappingNoExecute), so they are NX-clean.
 * NULL buffers or a missing MDL give STATUS_INVALID_PARAMETER, an unknown
 * code STATUS_INVALID_DEVICE_REQUEST, both with Information = 0.
 */
#include "compat.h"

#define IOCTL_HVCI_BUFFERED   CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_HVCI_IN_DIRECT  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_IN_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_HVCI_OUT_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_HVCI_NEITHER    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_HVCI_EXEC_POOL  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810, METHOD_BUFFERED, FILE_ANY_ACCESS)

_Static_assert(IOCTL_HVCI_BUFFERED == 0x222000, "CTL_CODE");
_Static_assert(IOCTL_HVCI_IN_DIRECT == 0x222005, "CTL_CODE");
_Static_assert(IOCTL_HVCI_OUT_DIRECT == 0x22200A, "CTL_CODE");
_Static_assert(IOCTL_HVCI_NEITHER == 0x22200F, "CTL_CODE");
_Static_assert(IOCTL_HVCI_EXEC_POOL == 0x222040, "CTL_CODE");

#define EXEC_POOL_TAG 'lctI'
#define EXEC_POOL_SIZE 0x100

static UNICODE_STRING g_LinkName = { 0, 0, NULL };

static NTSTATUS Complete(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS NTAPI DispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS, 0);
}

static NOINLINE NTSTATUS ExecPoolRequest(const UCHAR *input, ULONG inputLength)
{
    PUCHAR p;
    ULONG i, n = inputLength < EXEC_POOL_SIZE ? inputLength : EXEC_POOL_SIZE;

    /* Executable pool type: memory integrity wants NonPagedPoolNx here. */
    p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPool, EXEC_POOL_SIZE, EXEC_POOL_TAG);
    if (p == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (i = 0; i < n; i++)
        p[i] = input[i];
    ExFreePoolWithTag(p, EXEC_POOL_TAG);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
    ULONG inLen = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLen = sp->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG i, n = inLen < outLen ? inLen : outLen;
    PUCHAR in, out;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DeviceObject);

    switch (code) {
    case IOCTL_HVCI_BUFFERED:
        in = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
        if (outLen < inLen)
            return Complete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        if (inLen != 0 && in == NULL)
            return Complete(Irp, STATUS_INVALID_PARAMETER, 0);
        for (i = 0; i < inLen; i++)
            in[i] ^= 0x5A;
        return Complete(Irp, STATUS_SUCCESS, inLen);

    case IOCTL_HVCI_IN_DIRECT:
    case IOCTL_HVCI_OUT_DIRECT:
        in = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
        if (n == 0)
            return Complete(Irp, STATUS_SUCCESS, 0);
        if (in == NULL || Irp->MdlAddress == NULL)
            return Complete(Irp, STATUS_INVALID_PARAMETER, 0);
        out = (PUCHAR)MmGetSystemAddressForMdlSafe(
            Irp->MdlAddress, (MM_PAGE_PRIORITY)(NormalPagePriority | HV_MdlMappingNoExecute));
        if (out == NULL)
            return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        if (code == IOCTL_HVCI_IN_DIRECT) {
            for (i = 0; i < n; i++)
                out[i] = in[n - 1 - i];
        } else {
            for (i = 0; i < n; i++)
                out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (UCHAR)(in[i] - 0x20) : in[i];
        }
        return Complete(Irp, STATUS_SUCCESS, n);

    case IOCTL_HVCI_NEITHER:
        in = (PUCHAR)sp->Parameters.DeviceIoControl.Type3InputBuffer;
        out = (PUCHAR)Irp->UserBuffer;
        if (n == 0)
            return Complete(Irp, STATUS_SUCCESS, 0);
        if (in == NULL || out == NULL)
            return Complete(Irp, STATUS_INVALID_PARAMETER, 0);
        for (i = 0; i < n; i++)
            out[i] = (UCHAR)(in[i] + 1);
        return Complete(Irp, STATUS_SUCCESS, n);

    case IOCTL_HVCI_EXEC_POOL:
        in = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
        if (inLen != 0 && in == NULL)
            return Complete(Irp, STATUS_INVALID_PARAMETER, 0);
        st = ExecPoolRequest(in, inLen);
        return Complete(Irp, st, 0);

    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
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

    RtlInitUnicodeString(&deviceName, L"\\Device\\HvciIoctl");
    st = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN,
                        FALSE, &device);
    if (!NT_SUCCESS(st))
        return st;

    RtlInitUnicodeString(&g_LinkName, L"\\DosDevices\\HvciIoctl");
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
    DbgPrint("ioctl: \\Device\\HvciIoctl ready\n");
    return STATUS_SUCCESS;
}
