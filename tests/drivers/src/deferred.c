/*
 * deferred.c - deferred work that only runs after DriverEntry: a DPC, a timer's DPC, an I/O work
 * item, an executive work item and two system threads, each reporting what it saw with DbgPrint
 * (the Python tests compare the exact lines and the entry points).
 *
 * Run order in the emulated kernel (verifier/deferred_run.py): the queued DPC, the work items in
 * the order queued (the I/O work item signals GoEvent), the threads (the first finds GoEvent set
 * and terminates with 0x1234; the second waits for good on an event nothing sets), then the clock
 * moves to the timer, whose DPC runs.
 *
 * deferred_exec: the I/O work item also allocates NonPagedPool (a 0x2000 reachable only there).
 * DriverEntry returns 0, or 0xE0000001 if creating the device, a work item or a thread failed.
 */
#include "compat.h"

IMPSLOT(PETHREAD, PsGetCurrentThread)(void);

static KDPC Dpc, TimerDpc;
static KTIMER Timer;
static KEVENT GoEvent, NeverEvent;
static WORK_QUEUE_ITEM ExItem;
static PIO_WORKITEM IoItem;
static PDEVICE_OBJECT Device;
static PETHREAD InitialThread;

static VOID DpcRoutine(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    DbgPrint("deferred: dpc irql=%u self=%d ctx=%s a1=%p a2=%p\n", (unsigned)KeGetCurrentIrql(),
             dpc == &Dpc, (const char *)context, arg1, arg2);
}

static VOID TimerRoutine(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    (void)arg1; (void)arg2;
    DbgPrint("deferred: timer irql=%u self=%d ctx=%s signalled=%d\n", (unsigned)KeGetCurrentIrql(),
             dpc == &TimerDpc, (const char *)context, (int)KeReadStateTimer(&Timer));
}

static VOID IoWork(PDEVICE_OBJECT device, PVOID context)
{
    DbgPrint("deferred: io work item irql=%u device=%d ctx=%s\n", (unsigned)KeGetCurrentIrql(),
             device == Device, (const char *)context);
    IoFreeWorkItem(IoItem);
    KeSetEvent(&GoEvent, 0, FALSE);
#ifdef CASE_EXEC
    ExFreePoolWithTag(ExAllocatePoolWithTag(NonPagedPool, 0x30, 'krWD'), 'krWD');
#endif
}

static VOID ExWork(PVOID parameter)
{
    DbgPrint("deferred: ex work item irql=%u param=%s\n", (unsigned)KeGetCurrentIrql(), (const char *)parameter);
}

static VOID FirstThread(PVOID context)
{
    NTSTATUS status = KeWaitForSingleObject(&GoEvent, Executive, KernelMode, FALSE, NULL);
    DbgPrint("deferred: thread1 ctx=%s wait=0x%x own-thread=%d\n", (const char *)context, (unsigned)status,
             IMPCALL(PsGetCurrentThread)() != InitialThread);
    PsTerminateSystemThread((NTSTATUS)0x1234);
}

static VOID SecondThread(PVOID context)
{
    (void)context;
    DbgPrint("deferred: thread2 waits for good\n");
    KeWaitForSingleObject(&NeverEvent, Executive, KernelMode, FALSE, NULL);
    DbgPrint("deferred: thread2 woke up\n");
}

static NTSTATUS StartThread(PKSTART_ROUTINE routine, PVOID context)
{
    HANDLE handle;
    NTSTATUS status = PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, routine, context);
    if (NT_SUCCESS(status))
        ZwClose(handle);
    return status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER due;
    (void)RegistryPath;
    InitialThread = IMPCALL(PsGetCurrentThread)();
    if (!NT_SUCCESS(IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &Device)))
        return HV_FAIL(1);
    KeInitializeEvent(&GoEvent, SynchronizationEvent, FALSE);
    KeInitializeEvent(&NeverEvent, NotificationEvent, FALSE);

    KeInitializeDpc(&Dpc, DpcRoutine, "dpc-context");
    KeInsertQueueDpc(&Dpc, (PVOID)0x1111, (PVOID)0x2222);

    KeInitializeTimer(&Timer);
    KeInitializeDpc(&TimerDpc, TimerRoutine, "timer-context");
    due.QuadPart = -10 * 10000;                 /* 10 ms from now */
    KeSetTimer(&Timer, due, &TimerDpc);

    IoItem = IoAllocateWorkItem(Device);
    if (IoItem == NULL)
        return HV_FAIL(1);
    IoQueueWorkItem(IoItem, IoWork, DelayedWorkQueue, "io-context");
    ExInitializeWorkItem(&ExItem, ExWork, "ex-parameter");
    ExQueueWorkItem(&ExItem, DelayedWorkQueue);

    if (!NT_SUCCESS(StartThread(FirstThread, "first")) || !NT_SUCCESS(StartThread(SecondThread, "second")))
        return HV_FAIL(1);
    DbgPrint("deferred: DriverEntry done\n");
    return STATUS_SUCCESS;
}
