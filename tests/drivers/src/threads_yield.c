/*
 * threads_yield.c - threads_yield: the pattern of CH341S64.sys (WCH's USB-serial driver), whose
 * IRP_MN_REMOVE_DEVICE sets its worker threads' events and polls, with KeDelayExecutionThread,
 * until they have all exited. Its delays are computed in ULONG arithmetic (-10 * 1000 * ms with
 * ms a ULONG): a positive 32-bit value, so an absolute time early in 1601, long past. Such a delay
 * (like a zero interval) ends at once: the thread only gives the rest of its time slice to another
 * thread ready to run (Sleep(0) in Microsoft's Sleep documentation), so the threads run between
 * the polls. hooks/dispatcher.py yield_execution.
 *
 * DriverEntry sets AddDevice, IRP_MJ_PNP/POWER/CREATE/CLOSE and DriverUnload.
 * AddDevice: \Device\HvciYield attached to the PDO, two synchronization events, two system threads:
 *   WorkerA: Running++, a ULONG-arithmetic 15 ms delay (a yield), then waits for EventA; when Stop
 *     is set: Running--, PsTerminateSystemThread(0xA0).
 *   WorkerB: Running++, waits for EventB; when Stop is set it retries three times with a zero
 *     interval (three yields), then Running-- and returns.
 * IRP_MN_START_DEVICE: passed down, then one ULONG-arithmetic 15 ms delay (the threads created in
 *   AddDevice are ready: they run there).
 * IRP_MN_REMOVE_DEVICE: Stop = 1, then up to 0xFFFFFFF0 times: KeSetEvent(EventA), KeSetEvent(EventB),
 *   leave when Running is 0, else the ULONG-arithmetic delay; prints the polls and Running, passes
 *   the IRP down, detaches and deletes the device and returns the lower driver's status, or
 *   0xE0000001 when a delay did not return STATUS_SUCCESS (the IRP passed down all the same).
 * Every line the driver prints starts with "yield: ".
 */
#include "compat.h"

typedef struct {
    PDEVICE_OBJECT Lower;
} YIELD_EXTENSION;

static KEVENT EventA, EventB;
static volatile LONG Running, Stop;

static NTSTATUS PastDelay(void)
{
    LARGE_INTEGER interval;
    ULONG ms = 15;

    interval.QuadPart = -10 * 1000 * ms;    /* unsigned: 0xFFFDB610, an absolute time in 1601 */
    return KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

static VOID NTAPI WorkerA(PVOID context)
{
    UNREFERENCED_PARAMETER(context);
    InterlockedIncrement(&Running);
    PastDelay();
    DbgPrint("yield: A waits\n");
    for (;;) {
        KeWaitForSingleObject(&EventA, Executive, KernelMode, FALSE, NULL);
        if (Stop) {
            InterlockedDecrement(&Running);
            DbgPrint("yield: A stops\n");
            PsTerminateSystemThread((NTSTATUS)0xA0);
        }
    }
}

static VOID NTAPI WorkerB(PVOID context)
{
    LARGE_INTEGER zero;
    ULONG i;

    UNREFERENCED_PARAMETER(context);
    InterlockedIncrement(&Running);
    DbgPrint("yield: B waits\n");
    do
        KeWaitForSingleObject(&EventB, Executive, KernelMode, FALSE, NULL);
    while (!Stop);
    zero.QuadPart = 0;
    for (i = 0; i < 3; i++) {
        DbgPrint("yield: B retry %lu\n", i);
        KeDelayExecutionThread(KernelMode, FALSE, &zero);
    }
    InterlockedDecrement(&Running);
    DbgPrint("yield: B stops\n");
}

static NTSTATUS Complete(PIRP Irp, NTSTATUS status)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS NTAPI DispatchSuccess(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS);
}

static NTSTATUS NTAPI DispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_OBJECT lower = ((YIELD_EXTENSION *)DeviceObject->DeviceExtension)->Lower;
    UCHAR minor = IoGetCurrentIrpStackLocation(Irp)->MinorFunction;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG polls;

    if (minor == IRP_MN_START_DEVICE) {
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(lower, Irp);
        PastDelay();
        DbgPrint("yield: started\n");
        return status;
    }
    if (minor != IRP_MN_REMOVE_DEVICE) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(lower, Irp);
    }
    Stop = 1;
    for (polls = 0; polls < 0xFFFFFFF0; polls++) {
        KeSetEvent(&EventA, IO_NO_INCREMENT, FALSE);
        KeSetEvent(&EventB, IO_NO_INCREMENT, FALSE);
        if (Running == 0)
            break;
        if (PastDelay() != STATUS_SUCCESS)
            status = HV_FAIL(1);
    }
    DbgPrint("yield: remove polls=%lu running=%ld\n", polls, Running);
    IoSkipCurrentIrpStackLocation(Irp);
    if (NT_SUCCESS(status))
        status = IoCallDriver(lower, Irp);
    else
        IoCallDriver(lower, Irp);
    IoDetachDevice(lower);
    IoDeleteDevice(DeviceObject);
    return status;
}

static NTSTATUS NTAPI DispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(((YIELD_EXTENSION *)DeviceObject->DeviceExtension)->Lower, Irp);
}

static NTSTATUS NTAPI AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\HvciYield");
    PDEVICE_OBJECT fdo;
    HANDLE handle;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(YIELD_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ((YIELD_EXTENSION *)fdo->DeviceExtension)->Lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
    KeInitializeEvent(&EventA, SynchronizationEvent, FALSE);
    KeInitializeEvent(&EventB, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, WorkerA, NULL)))
        return HV_FAIL(2);
    ZwClose(handle);
    if (!NT_SUCCESS(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, WorkerB, NULL)))
        return HV_FAIL(2);
    ZwClose(handle);
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("yield: unload running=%ld\n", Running);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverExtension->AddDevice = AddDevice;
    DriverObject->MajorFunction[IRP_MJ_PNP] = DispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = DispatchPower;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchSuccess;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
