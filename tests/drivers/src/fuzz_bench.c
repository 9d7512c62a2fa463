/*
 * fuzz_bench.c - the IOCTL handler every emulator fuzzes in `python -m benchmarks`
 * (fuzz_vs_qiling, fuzz_vs_speakeasy): the same machine code, our IRPs or a peer's.
 *
 * DriverEntry creates \Device\HvciFuzzBench (FILE_DEVICE_UNKNOWN, secure open)
 * and \DosDevices\HvciFuzzBench, and sets IRP_MJ_CREATE, IRP_MJ_CLOSE,
 * IRP_MJ_DEVICE_CONTROL and DriverUnload.  No code-integrity finding anywhere.
 *
 * One IOCTL: 0x222400 = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED,
 * FILE_ANY_ACCESS).  The dispatch routine calls
 * ParseRequest(SystemBuffer, InputBufferLength, SystemBuffer, OutputBufferLength)
 * and completes the IRP with Information = its result and STATUS_SUCCESS, or
 * STATUS_INVALID_PARAMETER when the result is 0.  Any other code:
 * STATUS_INVALID_DEVICE_REQUEST, Information 0.
 *
 * ParseRequest is exported, so emulators that cannot build IRPs run the same
 * code directly (Microsoft x64 convention: in RCX, inLen RDX, out R8, outLen R9).
 * The request, in[0..inLen):
 *   in[0] 'F' (0x46), in[1] 'Z' (0x5A)   magic
 *   in[2] op: 1 = multiply-add, 2 = rotate-xor; any other op is rejected
 *   in[3] seed
 *   in[4..4+n)  payload, n = min(inLen - 4, 64)
 * The checksum c (ULONG, arithmetic mod 2^32) starts at seed; for each payload byte b:
 *   op 1: c = c * 31 + b
 *   op 2: c = ((c << 5) | (c >> 27)) ^ b
 * Output, 8 bytes: out[0..3] = c little-endian, out[4] = op, out[5] = n,
 * out[6] = seed ^ 0xFF, out[7] = the number of payload bytes >= 0x80.
 * Returns 8, or 0 (nothing written) when in or out is NULL, inLen < 4,
 * outLen < 8, the magic is wrong or op is unknown.  Every input byte is read
 * before any output byte is written, so in and out may be the same buffer
 * (METHOD_BUFFERED's SystemBuffer).
 */
#include "compat.h"

#define IOCTL_FUZZ_PARSE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
_Static_assert(IOCTL_FUZZ_PARSE == 0x222400, "CTL_CODE");

#define HEADER 4
#define MAX_PAYLOAD 64
#define OUTPUT 8

static UNICODE_STRING g_LinkName = { 0, 0, NULL };

__declspec(dllexport) NOINLINE ULONG ParseRequest(const UCHAR *in, ULONG inLen, UCHAR *out, ULONG outLen)
{
    ULONG c, i, n, high = 0;
    UCHAR op, seed;

    if (in == NULL || out == NULL || inLen < HEADER || outLen < OUTPUT)
        return 0;
    if (in[0] != 'F' || in[1] != 'Z')
        return 0;
    op = in[2];
    seed = in[3];
    if (op != 1 && op != 2)
        return 0;
    n = inLen - HEADER < MAX_PAYLOAD ? inLen - HEADER : MAX_PAYLOAD;
    c = seed;
    for (i = 0; i < n; i++) {
        UCHAR b = in[HEADER + i];
        if (op == 1)
            c = c * 31 + b;
        else
            c = ((c << 5) | (c >> 27)) ^ b;
        if (b >= 0x80)
            high++;
    }
    out[0] = (UCHAR)c;
    out[1] = (UCHAR)(c >> 8);
    out[2] = (UCHAR)(c >> 16);
    out[3] = (UCHAR)(c >> 24);
    out[4] = op;
    out[5] = (UCHAR)n;
    out[6] = (UCHAR)(seed ^ 0xFF);
    out[7] = (UCHAR)high;
    return OUTPUT;
}

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

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    PUCHAR buffer = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
    ULONG n;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_FUZZ_PARSE)
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    n = ParseRequest(buffer, sp->Parameters.DeviceIoControl.InputBufferLength, buffer,
                     sp->Parameters.DeviceIoControl.OutputBufferLength);
    return Complete(Irp, n ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER, n);
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

    RtlInitUnicodeString(&deviceName, L"\\Device\\HvciFuzzBench");
    st = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN,
                        FALSE, &device);
    if (!NT_SUCCESS(st))
        return st;

    RtlInitUnicodeString(&g_LinkName, L"\\DosDevices\\HvciFuzzBench");
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
