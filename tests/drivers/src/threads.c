/*
 * threads.c - system threads that wait for work, scheduled cooperatively (hooks/scheduler.py,
 * verifier/threads.py): a thread runs when another gives the processor up at a wait, and a parked
 * thread resumes when what it waits for is signalled or its timeout passes.
 *
 * threads_worker: DriverEntry creates \Device\HvciThreads (+ \DosDevices\HvciThreads), starts the
 * worker (PsCreateSystemThread), takes its object (ObReferenceObjectByHandle) and waits, no
 * timeout, for ReadyEvent, which only the worker sets. The worker sets it and waits for WorkEvent.
 * DriverEntry then queues job 1 and sets WorkEvent. IOCTL 0x222000 queues job 2, sets WorkEvent and
 * waits for DoneEvent: the worker processes the jobs queued (DbgPrint per job), sets DoneEvent and
 * waits again; the IOCTL returns three ULONGs (Information 12): the number of jobs done, its
 * device's DO_DEVICE_INITIALIZING flag (the I/O manager clears it once DriverEntry returned) and
 * ReferenceCount (the I/O manager's count of open handles: the one the IOCTL came on). DriverUnload
 * sets Stop and WorkEvent and waits, no timeout, on the worker's thread object: the worker sees
 * Stop and ends with PsTerminateSystemThread(0x1234), which signals its object; unload prints the
 * wait's status and ReferenceCount (0: the handle was closed).
 * threads_worker_exec: each job also allocates NonPagedPoolExecute (0x2000 at the worker's call).
 *
 * threads_poll: an ImDisk-style unload. DriverEntry sets Busy and starts the poller, which first
 * waits 1 s for StopEvent (nothing sets it then: STATUS_TIMEOUT), then waits for it with no
 * timeout; once woken it clears Busy and returns. DriverUnload sets StopEvent, then polls Busy with
 * KeDelayExecutionThread(10 ms), counting the polls, checks with a zero-timeout
 * ZwWaitForSingleObject that the thread (its handle from PsCreateSystemThread) is signalled, closes
 * the handle and waits on it again (STATUS_INVALID_HANDLE).
 *
 * DriverEntry returns 0, or 0xE0000001 (IoCreateDevice/IoCreateSymbolicLink), 0xE0000002
 * (PsCreateSystemThread), 0xE0000003 (ObReferenceObjectByHandle failed or gave DriverEntry's own
 * thread), 0xE0000004 (the wait for ReadyEvent did not return STATUS_SUCCESS).
 */
#include "compat.h"

IMPSLOT(PETHREAD, PsGetCurrentThread)(void);

#define IOCTL_THREADS_JOB CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
_Static_assert(IOCTL_THREADS_JOB == 0x222000, "CTL_CODE");

static PVOID ThreadObject;

#if !defined(CASE_POLL)
static KEVENT ReadyEvent, WorkEvent, DoneEvent;
static volatile LONG Queued, Done, Stop;
static PDEVICE_OBJECT Device;
static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(L"\\DosDevices\\HvciThreads");

static VOID NTAPI Worker(PVOID context)
{
    UNREFERENCED_PARAMETER(context);
    KeSetEvent(&ReadyEvent, IO_NO_INCREMENT, FALSE);
    DbgPrint("threads: worker ready own-thread=%d\n", (PVOID)IMPCALL(PsGetCurrentThread)() == ThreadObject);
    for (;;) {
        KeWaitForSingleObject(&WorkEvent, Executive, KernelMode, FALSE, NULL);
        if (Stop) {
            DbgPrint("threads: worker stops\n");
            PsTerminateSystemThread((NTSTATUS)0x1234);
        }
        while (Done < Queued) {
#ifdef CASE_EXEC
            /* NonPagedPoolExecute (== NonPagedPool): memory integrity wants NonPagedPoolNx here */
            ExFreePoolWithTag(ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPool, 0x40, 'krhT'), 'krhT');
#endif
            Done++;
            DbgPrint("threads: job %ld\n", Done);
        }
        KeSetEvent(&DoneEvent, IO_NO_INCREMENT, FALSE);
    }
}

static NTSTATUS NTAPI Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG *out = (ULONG *)Irp->AssociatedIrp.SystemBuffer;
    NTSTATUS status = STATUS_SUCCESS;

    Irp->IoStatus.Information = 0;
    if (sp->MajorFunction != IRP_MJ_DEVICE_CONTROL) {
        /* CREATE, CLEANUP, CLOSE: nothing to do */
    } else if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_THREADS_JOB) {
        status = STATUS_INVALID_DEVICE_REQUEST;
    } else if (sp->Parameters.DeviceIoControl.OutputBufferLength < 3 * sizeof(ULONG)) {
        status = STATUS_BUFFER_TOO_SMALL;
    } else {
        Queued++;
        KeSetEvent(&WorkEvent, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&DoneEvent, Executive, KernelMode, FALSE, NULL);
        out[0] = (ULONG)Done;
        out[1] = DeviceObject->Flags & DO_DEVICE_INITIALIZING;  /* cleared by the I/O manager */
        out[2] = (ULONG)DeviceObject->ReferenceCount;          /* the handle this IOCTL came on */
        Irp->IoStatus.Information = 3 * sizeof(ULONG);
    }
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    Stop = 1;
    KeSetEvent(&WorkEvent, IO_NO_INCREMENT, FALSE);
    status = KeWaitForSingleObject(ThreadObject, Executive, KernelMode, FALSE, NULL);
    DbgPrint("threads: unload wait=0x%x refs=%ld\n", (unsigned)status, Device->ReferenceCount);
    ObDereferenceObject(ThreadObject);
    IoDeleteSymbolicLink(&LinkName);
    IoDeleteDevice(Device);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\HvciThreads");
    HANDLE handle;

    UNREFERENCED_PARAMETER(RegistryPath);
    if (!NT_SUCCESS(IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &Device)))
        return HV_FAIL(1);
    if (!NT_SUCCESS(IoCreateSymbolicLink(&LinkName, &name))) {
        IoDeleteDevice(Device);
        return HV_FAIL(1);
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Dispatch;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = Dispatch;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = Dispatch;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Dispatch;
    DriverObject->DriverUnload = Unload;
    KeInitializeEvent(&ReadyEvent, NotificationEvent, FALSE);
    KeInitializeEvent(&WorkEvent, SynchronizationEvent, FALSE);
    KeInitializeEvent(&DoneEvent, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL)))
        return HV_FAIL(2);
    if (!NT_SUCCESS(ObReferenceObjectByHandle(handle, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, &ThreadObject,
                                              NULL)) || ThreadObject == (PVOID)IMPCALL(PsGetCurrentThread)())
        return HV_FAIL(3);
    ZwClose(handle);
    if (KeWaitForSingleObject(&ReadyEvent, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS)
        return HV_FAIL(4);
    Queued = 1;
    KeSetEvent(&WorkEvent, IO_NO_INCREMENT, FALSE);
    DbgPrint("threads: DriverEntry done\n");
    return STATUS_SUCCESS;
}

#else   /* CASE_POLL */
static KEVENT StopEvent;
static volatile LONG Busy;
static HANDLE ThreadHandle;

static VOID NTAPI Poller(PVOID context)
{
    LARGE_INTEGER second;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(context);
    second.QuadPart = -10000000LL;               /* 1 s from now */
    status = KeWaitForSingleObject(&StopEvent, Executive, KernelMode, FALSE, &second);
    DbgPrint("threads: poller first wait=0x%x\n", (unsigned)status);
    status = KeWaitForSingleObject(&StopEvent, Executive, KernelMode, FALSE, NULL);
    Busy = 0;
    DbgPrint("threads: poller stops wait=0x%x\n", (unsigned)status);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    LARGE_INTEGER interval, zero;
    ULONG polls = 0;
    NTSTATUS status, bad;

    UNREFERENCED_PARAMETER(DriverObject);
    KeSetEvent(&StopEvent, IO_NO_INCREMENT, FALSE);
    interval.QuadPart = -100000LL;               /* 10 ms */
    while (Busy) {
        KeDelayExecutionThread(KernelMode, FALSE, &interval);
        polls++;
    }
    zero.QuadPart = 0;
    status = ZwWaitForSingleObject(ThreadHandle, FALSE, &zero);     /* the thread returned: signalled */
    ZwClose(ThreadHandle);
    bad = ZwWaitForSingleObject(ThreadHandle, FALSE, &zero);        /* closed: STATUS_INVALID_HANDLE */
    DbgPrint("threads: unload polls=%lu thread=0x%x closed=0x%x\n", polls, (unsigned)status, (unsigned)bad);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = Unload;
    KeInitializeEvent(&StopEvent, NotificationEvent, FALSE);
    Busy = 1;
    if (!NT_SUCCESS(PsCreateSystemThread(&ThreadHandle, THREAD_ALL_ACCESS, NULL, NULL, NULL, Poller, NULL)))
        return HV_FAIL(2);
    DbgPrint("threads: DriverEntry done\n");
    return STATUS_SUCCESS;
}
#endif
