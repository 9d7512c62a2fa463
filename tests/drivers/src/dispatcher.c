/*
 * dispatcher.c - dispatcher objects, waits, DPCs, timers and system threads
 * as a driver sees them in DriverEntry (one thread: nothing else runs).
 *
 * Leaves behind, for the Python tests (the names are exported): the DPC
 * QueuedDpc queued with DpcRoutine, context &QueuedContext and arguments
 * 0x1111/0x2222; the timer DPC TimerDpc (TimerDpcRoutine, &TimerContext)
 * queued by the expiry of a timer set 10 ms ahead; one system thread to start
 * at ThreadStart with context &StopEvent, and the wait for that thread to end,
 * which only running the thread can satisfy (it runs while DriverEntry waits).
 *
 * Return values (first failure wins):
 *   0xE0000001  KeInitializeDpc: Type != DpcObject (19), Importance !=
 *               MediumImportance, or routine/context not stored
 *   0xE0000002  KeSetImportanceDpc/KeInitializeThreadedDpc: Importance or
 *               Type (ThreadedDpcObject 26) wrong
 *   0xE0000003  KeSetTargetProcessorDpcEx: processor 0 refused, or a
 *               processor that does not exist accepted
 *   0xE0000004  KeInsertQueueDpc: first insert not TRUE, second not FALSE,
 *               or SystemArgument1/2 not stored
 *   0xE0000005  KeRemoveQueueDpc: not TRUE for a queued DPC, then FALSE
 *   0xE0000006  KeInitializeSemaphore: Header.Type/SignalState/Limit or
 *               KeReadStateSemaphore wrong
 *   0xE0000007  KeReleaseSemaphore did not return the previous count or
 *               did not add Adjustment
 *   0xE0000008  waits on the semaphore: signalled waits did not decrement,
 *               or a zero-timeout wait on count 0 did not give STATUS_TIMEOUT
 *   0xE0000009  KeInitializeMutex: Type/SignalState/KeReadStateMutex wrong
 *   0xE000000A  mutex acquire (also recursive) and KeReleaseMutex return
 *               values, SignalState or OwnerThread wrong
 *   0xE000000B  events: a synchronization event did not reset on a satisfied
 *               wait, a notification event did, or KeSetEvent's previous
 *               state is wrong
 *   0xE000000C  KeWaitForMultipleObjects: WaitAny did not give STATUS_WAIT_1,
 *               or WaitAll with an unsignalled object did not time out
 *   0xE000000D  a 5 ms timeout did not time out or let less than 5 ms of
 *               interrupt time pass
 *   0xE000000E  timers: KeInitializeTimer(Ex) types, KeSetTimer's "already
 *               set" result, KeCancelTimer, KeReadStateTimer
 *   0xE000000F  waiting on a 10 ms timer did not succeed, left less than
 *               10 ms of interrupt time, or left the timer unsignalled
 *   0xE0000010  guarded mutex: KeInitializeGuardedMutex Count, try-acquire
 *               of a held mutex succeeded, Owner not the current thread
 *   0xE0000011  fast mutex: ExTryToAcquireFastMutex of a held mutex succeeded
 *               or Count not restored by ExReleaseFastMutex
 *   0xE0000012  PsCreateSystemThread failed, or its ClientId is not the
 *               System process / a new thread id
 *   0xE0000013  ObReferenceObjectByHandle(thread handle, *PsThreadType)
 *               failed, gave the current thread, or PsGetThreadId disagrees
 *               with the ClientId
 *   0xE0000014  a zero-timeout wait on the running new thread did not time
 *               out, waiting for it to end (after setting the event it waits
 *               for) failed, or ZwClose of its handle failed
 */
#include "compat.h"

IMPSLOT(PKTHREAD, KeGetCurrentThread)(VOID);

#if !defined(CASE_SEMAPHORE_LIMIT) && !defined(CASE_TOO_MANY_WAIT_OBJECTS) && !defined(CASE_TERMINATE)
/* Exported so the tests can find them without symbols. */
__declspec(dllexport) KDPC QueuedDpc, TimerDpc;
__declspec(dllexport) ULONG QueuedContext, TimerContext;
__declspec(dllexport) KEVENT StopEvent;
static KDPC ThreadedDpc;

__declspec(dllexport) VOID NTAPI DpcRoutine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    UNREFERENCED_PARAMETER(Dpc); UNREFERENCED_PARAMETER(Arg1); UNREFERENCED_PARAMETER(Arg2);
    (*(ULONG *)Context)++;
}

__declspec(dllexport) VOID NTAPI TimerDpcRoutine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    UNREFERENCED_PARAMETER(Dpc); UNREFERENCED_PARAMETER(Arg1); UNREFERENCED_PARAMETER(Arg2);
    (*(ULONG *)Context)++;
}

__declspec(dllexport) VOID NTAPI ThreadStart(PVOID Context)
{
    KeWaitForSingleObject((PKEVENT)Context, Executive, KernelMode, FALSE, NULL);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS Dpcs(void)
{
    PROCESSOR_NUMBER proc = {0, 0, 0};

    KeInitializeDpc(&QueuedDpc, DpcRoutine, &QueuedContext);
    if (QueuedDpc.Type != HV_DpcObject || QueuedDpc.Importance != MediumImportance ||
        QueuedDpc.DeferredRoutine != DpcRoutine || QueuedDpc.DeferredContext != &QueuedContext)
        return HV_FAIL(1);

    KeSetImportanceDpc(&QueuedDpc, HighImportance);
    KeInitializeThreadedDpc(&ThreadedDpc, DpcRoutine, NULL);
    if (QueuedDpc.Importance != HighImportance || ThreadedDpc.Type != HV_ThreadedDpcObject)
        return HV_FAIL(2);

    KeSetTargetProcessorDpc(&QueuedDpc, 0);
    if (!NT_SUCCESS(KeSetTargetProcessorDpcEx(&QueuedDpc, &proc)))
        return HV_FAIL(3);
    proc.Number = 200;
    if (NT_SUCCESS(KeSetTargetProcessorDpcEx(&QueuedDpc, &proc)))
        return HV_FAIL(3);

    if (!KeInsertQueueDpc(&QueuedDpc, (PVOID)0x1111, (PVOID)0x2222) ||
        KeInsertQueueDpc(&QueuedDpc, (PVOID)0x3333, (PVOID)0x4444) ||
        QueuedDpc.SystemArgument1 != (PVOID)0x1111 || QueuedDpc.SystemArgument2 != (PVOID)0x2222)
        return HV_FAIL(4);
    if (!KeRemoveQueueDpc(&QueuedDpc) || KeRemoveQueueDpc(&QueuedDpc))
        return HV_FAIL(5);
    KeInsertQueueDpc(&QueuedDpc, (PVOID)0x1111, (PVOID)0x2222);    /* stays queued */
    return STATUS_SUCCESS;
}

static NTSTATUS Semaphores(void)
{
    KSEMAPHORE sem;
    LARGE_INTEGER zero = {{0, 0}};

    KeInitializeSemaphore(&sem, 2, 3);
    if (sem.Header.Type != HV_SemaphoreObject || sem.Header.SignalState != 2 || sem.Limit != 3 ||
        KeReadStateSemaphore(&sem) != 2)
        return HV_FAIL(6);
    if (KeReleaseSemaphore(&sem, IO_NO_INCREMENT, 1, FALSE) != 2 || KeReadStateSemaphore(&sem) != 3)
        return HV_FAIL(7);
    if (KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &zero) != STATUS_SUCCESS ||
        KeReadStateSemaphore(&sem) != 2 ||
        KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS ||
        KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &zero) != STATUS_SUCCESS ||
        KeReadStateSemaphore(&sem) != 0 ||
        KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &zero) != STATUS_TIMEOUT ||
        KeReadStateSemaphore(&sem) != 0)
        return HV_FAIL(8);
    return STATUS_SUCCESS;
}

static NTSTATUS Mutexes(void)
{
    KMUTEX mutex;

    KeInitializeMutex(&mutex, 0);
    if (mutex.Header.Type != HV_MutantObject || mutex.Header.SignalState != 1 || KeReadStateMutex(&mutex) != 1 ||
        mutex.OwnerThread != NULL)
        return HV_FAIL(9);
    if (KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS ||
        KeReadStateMutex(&mutex) != 0 || mutex.OwnerThread != IMPCALL(KeGetCurrentThread)() ||
        KeWaitForMutexObject(&mutex, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS ||
        KeReadStateMutex(&mutex) != -1)
        return HV_FAIL(10);
    /* KeReleaseMutex returns the previous state; 0 means it became signalled */
    if (KeReleaseMutex(&mutex, FALSE) != -1 || mutex.OwnerThread != IMPCALL(KeGetCurrentThread)() ||
        KeReleaseMutex(&mutex, FALSE) != 0 || KeReadStateMutex(&mutex) != 1 || mutex.OwnerThread != NULL)
        return HV_FAIL(10);
    return STATUS_SUCCESS;
}

static NTSTATUS Events(void)
{
    KEVENT sync, notification;
    LARGE_INTEGER zero = {{0, 0}};

    KeInitializeEvent(&sync, SynchronizationEvent, TRUE);
    KeInitializeEvent(&notification, NotificationEvent, FALSE);
    if (sync.Header.Type != HV_EventSynchronizationObject || notification.Header.Type != HV_EventNotificationObject ||
        KeReadStateEvent(&sync) != 1 || KeReadStateEvent(&notification) != 0)
        return HV_FAIL(11);
    if (KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &zero) != STATUS_SUCCESS ||
        KeReadStateEvent(&sync) != 0 ||
        KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &zero) != STATUS_TIMEOUT)
        return HV_FAIL(11);
    if (KeSetEvent(&notification, IO_NO_INCREMENT, FALSE) != 0 ||
        KeWaitForSingleObject(&notification, Executive, KernelMode, FALSE, &zero) != STATUS_SUCCESS ||
        KeReadStateEvent(&notification) != 1 || KeResetEvent(&notification) != 1 ||
        KeReadStateEvent(&notification) != 0)
        return HV_FAIL(11);
    KeSetEvent(&notification, IO_NO_INCREMENT, FALSE);
    KeClearEvent(&notification);
    if (KeReadStateEvent(&notification) != 0)
        return HV_FAIL(11);
    return STATUS_SUCCESS;
}

static NTSTATUS MultipleAndTimeouts(void)
{
    KEVENT never;
    KSEMAPHORE one;
    PVOID objects[2];
    LARGE_INTEGER zero = {{0, 0}}, fiveMs;
    ULONGLONG before;

    KeInitializeEvent(&never, NotificationEvent, FALSE);
    KeInitializeSemaphore(&one, 1, 1);
    objects[0] = &never;
    objects[1] = &one;
    if (KeWaitForMultipleObjects(2, objects, WaitAny, Executive, KernelMode, FALSE, &zero, NULL) != STATUS_WAIT_1 ||
        KeReadStateSemaphore(&one) != 0)
        return HV_FAIL(12);
    KeReleaseSemaphore(&one, IO_NO_INCREMENT, 1, FALSE);
    if (KeWaitForMultipleObjects(2, objects, WaitAll, Executive, KernelMode, FALSE, &zero, NULL) != STATUS_TIMEOUT ||
        KeReadStateSemaphore(&one) != 1)
        return HV_FAIL(12);

    fiveMs.QuadPart = -5 * 10000LL;                 /* relative, 100 ns units */
    before = KeQueryInterruptTime();
    if (KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, &fiveMs) != STATUS_TIMEOUT ||
        KeQueryInterruptTime() - before < 5 * 10000ULL)
        return HV_FAIL(13);
    return STATUS_SUCCESS;
}

static NTSTATUS Timers(void)
{
    KTIMER timer, syncTimer;
    LARGE_INTEGER due, zero = {{0, 0}};
    ULONGLONG before;

    KeInitializeTimer(&timer);
    KeInitializeTimerEx(&syncTimer, SynchronizationTimer);
    if (timer.Header.Type != HV_TimerNotificationObject || syncTimer.Header.Type != HV_TimerSynchronizationObject ||
        KeReadStateTimer(&timer))
        return HV_FAIL(14);

    KeInitializeDpc(&TimerDpc, TimerDpcRoutine, &TimerContext);
    due.QuadPart = -10 * 10000LL;                   /* 10 ms from now */
    if (KeSetTimer(&timer, due, &TimerDpc) != FALSE || KeSetTimer(&timer, due, &TimerDpc) != TRUE)
        return HV_FAIL(14);
    if (KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &zero) != STATUS_TIMEOUT)
        return HV_FAIL(14);
    before = KeQueryInterruptTime();
    if (KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS ||
        KeQueryInterruptTime() - before < 10 * 10000ULL || !KeReadStateTimer(&timer))
        return HV_FAIL(15);
    if (KeCancelTimer(&timer))                      /* expired: no longer in the timer queue */
        return HV_FAIL(14);

    due.QuadPart = -1 * 10000LL;
    if (KeSetTimerEx(&syncTimer, due, 0, NULL) != FALSE || !KeCancelTimer(&syncTimer) || KeCancelTimer(&syncTimer))
        return HV_FAIL(14);
    if (KeSetCoalescableTimer(&syncTimer, due, 0, 10, NULL) != FALSE ||
        KeSetCoalescableTimer(&syncTimer, due, 0, 10, NULL) != TRUE || !KeCancelTimer(&syncTimer))
        return HV_FAIL(14);
    KeFlushQueuedDpcs();
    return STATUS_SUCCESS;
}

static NTSTATUS Mutexes2(void)
{
    KGUARDED_MUTEX guarded;
    FAST_MUTEX fast;

    KeInitializeGuardedMutex(&guarded);
    if (guarded.Count != GM_LOCK_BIT || !KeTryToAcquireGuardedMutex(&guarded) ||
        guarded.Owner != IMPCALL(KeGetCurrentThread)() || KeTryToAcquireGuardedMutex(&guarded))
        return HV_FAIL(16);
    KeReleaseGuardedMutex(&guarded);
    KeAcquireGuardedMutex(&guarded);
    if (guarded.Count & GM_LOCK_BIT)
        return HV_FAIL(16);
    KeReleaseGuardedMutex(&guarded);
    if (guarded.Count != GM_LOCK_BIT || guarded.Owner != NULL)
        return HV_FAIL(16);

    KeAcquireGuardedMutexUnsafe(&guarded);
    if (guarded.Owner != IMPCALL(KeGetCurrentThread)())
        return HV_FAIL(16);
    KeReleaseGuardedMutexUnsafe(&guarded);

    ExInitializeFastMutex(&fast);
    ExAcquireFastMutex(&fast);
    if (ExTryToAcquireFastMutex(&fast))
        return HV_FAIL(17);
    ExReleaseFastMutex(&fast);
    if (fast.Count != FM_LOCK_BIT)
        return HV_FAIL(17);
    ExAcquireFastMutexUnsafe(&fast);
    if (fast.Count & FM_LOCK_BIT)
        return HV_FAIL(17);
    ExReleaseFastMutexUnsafe(&fast);
    if (fast.Count != FM_LOCK_BIT)
        return HV_FAIL(17);
    return STATUS_SUCCESS;
}

static NTSTATUS Threads(void)
{
    HANDLE thread = NULL;
    OBJECT_ATTRIBUTES oa;
    CLIENT_ID cid = {0, 0};
    PKTHREAD object = NULL;
    LARGE_INTEGER zero = {{0, 0}};
    NTSTATUS st;

    KeInitializeEvent(&StopEvent, NotificationEvent, FALSE);
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, &oa, NULL, &cid, ThreadStart, &StopEvent);
    if (!NT_SUCCESS(st) || thread == NULL || cid.UniqueProcess != PsGetCurrentProcessId() ||
        cid.UniqueThread == NULL || cid.UniqueThread == PsGetCurrentThreadId())
        return HV_FAIL(18);
    st = ObReferenceObjectByHandle(thread, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, (PVOID *)&object, NULL);
    if (!NT_SUCCESS(st) || object == NULL || object == IMPCALL(KeGetCurrentThread)() ||
        PsGetThreadId((PETHREAD)object) != cid.UniqueThread ||
        PsGetThreadProcessId((PETHREAD)object) != PsGetCurrentProcessId())
        return HV_FAIL(19);
    /* it waits for StopEvent, so it cannot have ended yet */
    if (KeWaitForSingleObject(object, Executive, KernelMode, FALSE, &zero) != STATUS_TIMEOUT)
        return HV_FAIL(20);
    /* as an unload routine does: let it stop and wait for it to end */
    KeSetEvent(&StopEvent, IO_NO_INCREMENT, FALSE);
    if (KeWaitForSingleObject(object, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS)
        return HV_FAIL(20);
    ObDereferenceObject(object);
    if (!NT_SUCCESS(ZwClose(thread)))
        return HV_FAIL(20);
    return STATUS_SUCCESS;
}

#endif

#if defined(CASE_SEMAPHORE_LIMIT)
/* dispatcher_limit: releasing a semaphore past its Limit raises
 * STATUS_SEMAPHORE_LIMIT_EXCEEDED (0xC0000047) in the caller; with no
 * handler in DriverEntry (a system thread) that is bug check 0x7E. */
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KSEMAPHORE sem;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeSemaphore(&sem, 1, 1);
    KeReleaseSemaphore(&sem, IO_NO_INCREMENT, 1, FALSE);
    return STATUS_SUCCESS;
}
#elif defined(CASE_TERMINATE)
/* dispatcher_terminate: PsTerminateSystemThread ends the calling thread (here
 * the one running DriverEntry), so DriverEntry never returns. */
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    PsTerminateSystemThread((NTSTATUS)0x1234);
    return STATUS_UNSUCCESSFUL;
}
#elif defined(CASE_TOO_MANY_WAIT_OBJECTS)
/* dispatcher_waitmax: more than THREAD_WAIT_OBJECTS (3) objects without a
 * WaitBlockArray is bug check MAXIMUM_WAIT_OBJECTS_EXCEEDED (0xC). */
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KEVENT events[4];
    PVOID objects[4];
    int i;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    for (i = 0; i < 4; i++) {
        KeInitializeEvent(&events[i], NotificationEvent, TRUE);
        objects[i] = &events[i];
    }
    return KeWaitForMultipleObjects(4, objects, WaitAll, Executive, KernelMode, FALSE, NULL, NULL);
}
#else
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    if (!NT_SUCCESS(st = Dpcs()) || !NT_SUCCESS(st = Semaphores()) || !NT_SUCCESS(st = Mutexes()) ||
        !NT_SUCCESS(st = Events()) || !NT_SUCCESS(st = MultipleAndTimeouts()) || !NT_SUCCESS(st = Timers()) ||
        !NT_SUCCESS(st = Mutexes2()) || !NT_SUCCESS(st = Threads()))
        return st;
    DbgPrint("dispatcher: ok\n");
    return STATUS_SUCCESS;
}
#endif
