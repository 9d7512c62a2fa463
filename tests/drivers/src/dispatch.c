/*
 * dispatch.c - drivers whose interesting code runs after DriverEntry, in dispatch routines,
 * AddDevice or DriverUnload.  One case per -DCASE_xxx; every device is \Device\Hvci<Name>
 * with the link \DosDevices\Hvci<Name>.  Checks made in C complete the IRP with a failure
 * status 0xE0000000 + n (HV_FAIL(n)) instead of the expected one.
 *
 * CASE_PENDING (pending_irp), FILE_DEVICE_UNKNOWN, METHOD_BUFFERED:
 *   0x222400 (fn 0x900) PEND: checks the request comes from the user process (RequestorMode
 *            UserMode; IoGetRequestorProcess(Irp) == IoGetCurrentProcess() != PsInitialSystemProcess;
 *            Tail.Overlay.Thread == the current thread; failures 1..3), then IoMarkIrpPending,
 *            keeps the IRP and returns STATUS_PENDING.
 *            PEND also sets a cancel routine (IoSetCancelRoutine): cancelling the kept IRP completes
 *            it with STATUS_CANCELLED after IoReleaseCancelSpinLock(Irp->CancelIrql).
 *   0x222404 (fn 0x901) RELEASE: under the cancel spin lock (IoAcquireCancelSpinLock, which must
 *            raise to DISPATCH_LEVEL: fail 4) takes the kept IRP and clears its cancel routine, then
 *            completes it with STATUS_SUCCESS, Information 4 and "DONE" in its SystemBuffer, then
 *            itself with STATUS_SUCCESS, Information 0; STATUS_NOT_FOUND (0xC0000225) when nothing
 *            is pending.
 *
 * CASE_PNP (pnp_wdm): DriverEntry sets AddDevice, IRP_MJ_PNP/POWER/CREATE/CLOSE/READ, DriverUnload.
 *   AddDevice: IoCreateDevice(\Device\HvciPnp, DO_BUFFERED_IO), IoAttachDeviceToDeviceStack(fdo, pdo)
 *   must return the PDO (fail 1), the FDO's StackSize must be the PDO's + 1 (fail 2).
 *   IRP_MN_START_DEVICE: IoCopyCurrentIrpStackLocationToNext, a completion routine that signals an
 *   event and returns STATUS_MORE_PROCESSING_REQUIRED, IoCallDriver to the PDO; after the lower
 *   driver succeeded, both resource lists must be non-NULL with Count 1 (fail 3), then the driver
 *   completes the IRP with STATUS_SUCCESS.  IRP_MN_REMOVE_DEVICE: skip, IoCallDriver, detach, delete.
 *   Other PnP IRPs: skip and pass down; power IRPs: PoStartNextPowerIrp, skip, PoCallDriver.  READ (buffered): fills the SystemBuffer with
 *   0xA0 + i, Information = Length.  A 0x2000 allocation ('PnpX', NonPagedPool) sits in the START
 *   handler after the lower driver succeeded: reached only when AddDevice + START run.
 *
 * CASE_FILTER (filter_fwd): DriverEntry creates \Device\HvciLower (linked) and an unnamed upper
 *   device attached on top with IoAttachDeviceToDeviceStackSafe.  IOCTL 0x222800 (fn 0xA00,
 *   METHOD_BUFFERED) sent to the stack: the upper device copies the stack location to the next, sets
 *   a completion routine (context 0x5EED) and calls the lower device; the lower device writes
 *   {CurrentLocation, StackCount, current location's DeviceObject == lower ? 1 : 0, 'L'} to the
 *   SystemBuffer and completes with Information 4; the completion routine (DeviceObject must be the
 *   upper device, context 0x5EED) sets byte 3 to 'C' and Information to 5 with byte 4 = 'F',
 *   returning STATUS_CONTINUE_COMPLETION.  Expected output: 01 02 01 43 46.  DriverEntry checks
 *   IoGetAttachedDeviceReference/IoGetAttachedDevice(lower) == upper and StackSize 2 (fail 3).
 *   IOCTL 0x222804 (fn 0xA01) is forwarded the same way; the lower device allocates executable
 *   NonPagedPool ('lwoL'): a 0x2000 inside a routine the kernel calls from IoCallDriver.
 *
 * CASE_LEAK (leak_unload): DriverEntry allocates 0x30 bytes 'kaeL' (ExAllocatePoolWithTag), 0x50
 *   bytes 'kaeL' (ExAllocatePool2) and 0x20 bytes 'eerF' (ExAllocatePoolWithTagPriority), all
 *   non-executable, and frees only the last; DriverUnload frees nothing.  With pool
 *   tracking (flag 0x8): 0xC4 / 0x62, Arg4 = 2.
 *
 * CASE_HIDDEN (hidden_ioctl): device type 0x9000 (custom); IOCTLs are 8 consecutive codes
 *   0x90002400..0x90002407 (functions 0x900 and 0x901, all four methods) in a switch that gcc
 *   compiles to a jump table; 0x90002402 allocates executable pool ('ndiH': 0x2000) and 0x90002405
 *   maps a page of the driver's .data through an MDL without MdlMappingNoExecute (0x2002).  The others complete
 *   with STATUS_SUCCESS.  No code is given on the command line: only harvesting reaches them.
 *
 * CASE_PROBE (probe_user): METHOD_NEITHER IOCTLs (FILE_DEVICE_UNKNOWN):
 *   0x22280F (fn 0xA03) ProbeForRead(Type3InputBuffer, InputBufferLength, 1) then
 *            ProbeForWrite(UserBuffer, OutputBufferLength, 1), copies input to output; Information = n.
 *   0x22281F (fn 0xA07) ProbeForRead(Type3InputBuffer + 1, 4, 4): misaligned -> raises 0x80000002.
 *   0x22282F (fn 0xA0B) ProbeForRead(0, 0, 4) is a no-op (length 0), then
 *            ProbeForRead(DriverObject, 8, 1): a kernel address -> raises 0xC0000005.
 *   No __try (gcc): a raised exception is unhandled, 0x3B with Arg1 = the exception code.
 * CASE_PROBE_SEH (probe_seh_clang, clang -fms-extensions): the same IOCTLs with every probe inside
 *   __try/__except: the IRP completes with the exception code (GetExceptionCode()) instead.
 *
 * CASE_CSQ (csq_queue): a cancel-safe queue (IoCsqInitializeEx; a LIST_ENTRY through
 *   Tail.Overlay.ListEntry guarded by a spin lock).  METHOD_BUFFERED, FILE_DEVICE_UNKNOWN:
 *   0x222C00 (fn 0xB00) QUEUE: IoCsqInsertIrp, returns STATUS_PENDING.
 *   0x222C04 (fn 0xB01) DEQUEUE: IoCsqRemoveNextIrp; completes that IRP with STATUS_SUCCESS,
 *            Information 2 and "OK", then itself with STATUS_SUCCESS (Information 0), or with
 *            STATUS_NOT_FOUND when the queue is empty.
 *   A cancelled queued IRP goes to CsqCompleteCanceledIrp: STATUS_CANCELLED, Information 0.
 *   0x222C08 (fn 0xB02) QUEUE_CTX: IoCsqInsertIrpEx with an IO_CSQ_IRP_CONTEXT (the driver's one
 *            global context); the queue's InsertIrpEx callback refuses a second one with
 *            STATUS_DEVICE_BUSY, which IoCsqInsertIrpEx returns (the IRP then completes with it).
 *   0x222C0C (fn 0xB03) REMOVE_CTX: IoCsqRemoveIrp(context); completes that IRP with "CX",
 *            Information 2, else STATUS_NOT_FOUND.
 *   0x222C10 (fn 0xB04) CANCEL_CTX: IoCancelIrp on the context's IRP; Information = its result.
 *   The queue is set up with IoCsqInitializeEx.  The callbacks count their calls; DEQUEUE's own
 *   IRP fails with HV_FAIL(1) if the lock was not released as often as it was taken.
 */
#include "compat.h"

static UNICODE_STRING g_Link = { 0, 0, NULL };

static __attribute__((unused)) NTSTATUS Complete(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static __attribute__((unused)) NTSTATUS NTAPI DispatchSuccess(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS, 0);
}

static __attribute__((unused)) VOID NTAPI UnloadDeleteAll(PDRIVER_OBJECT DriverObject)
{
    if (g_Link.Buffer != NULL)
        IoDeleteSymbolicLink(&g_Link);
    while (DriverObject->DeviceObject != NULL)
        IoDeleteDevice(DriverObject->DeviceObject);
}

/* \Device\Hvci<name> and \DosDevices\Hvci<name> */
static __attribute__((unused)) NTSTATUS CreateLinkedDevice(PDRIVER_OBJECT DriverObject, PCWSTR device, PCWSTR link, ULONG type,
                                   PDEVICE_OBJECT *out)
{
    UNICODE_STRING name;
    NTSTATUS st;

    RtlInitUnicodeString(&name, device);
    st = IoCreateDevice(DriverObject, 0, &name, type, FILE_DEVICE_SECURE_OPEN, FALSE, out);
    if (!NT_SUCCESS(st))
        return st;
    RtlInitUnicodeString(&g_Link, link);
    st = IoCreateSymbolicLink(&g_Link, &name);
    if (!NT_SUCCESS(st)) {
        g_Link.Buffer = NULL;
        IoDeleteDevice(*out);
    }
    return st;
}

/* The common shape: a linked device, CREATE/CLOSE succeed, DEVICE_CONTROL, unload deletes all. */
static __attribute__((unused)) NTSTATUS StartControlDevice(PDRIVER_OBJECT DriverObject, PCWSTR device, PCWSTR link,
                                                           ULONG type, PDRIVER_DISPATCH control)
{
    PDEVICE_OBJECT created;
    NTSTATUS st = CreateLinkedDevice(DriverObject, device, link, type, &created);

    if (!NT_SUCCESS(st))
        return st;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = control;
    DriverObject->DriverUnload = UnloadDeleteAll;
    created->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

#if defined(CASE_PENDING)
#define IOCTL_PEND    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_RELEASE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)
_Static_assert(IOCTL_PEND == 0x222400 && IOCTL_RELEASE == 0x222404, "CTL_CODE");

IMPSLOT(PKTHREAD, PsGetCurrentThread)(VOID);
IMPSLOT(KIRQL, KeGetCurrentIrql)(VOID);
static PIRP g_Pending;

static VOID NTAPI CancelPending(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    if (g_Pending == Irp)
        g_Pending = NULL;
    Complete(Irp, STATUS_CANCELLED, 0);
}

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    PIRP kept;
    KIRQL irql;

    UNREFERENCED_PARAMETER(DeviceObject);
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_PEND:
        if (Irp->RequestorMode != UserMode)
            return Complete(Irp, HV_FAIL(1), 0);
        if (IoGetRequestorProcess(Irp) != IoGetCurrentProcess() || IoGetCurrentProcess() == PsInitialSystemProcess)
            return Complete(Irp, HV_FAIL(2), 0);
        if ((PVOID)Irp->Tail.Overlay.Thread != (PVOID)IMPCALL(PsGetCurrentThread)())
            return Complete(Irp, HV_FAIL(3), 0);
        IoMarkIrpPending(Irp);
        g_Pending = Irp;
        IoSetCancelRoutine(Irp, CancelPending);
        return STATUS_PENDING;
    case IOCTL_RELEASE:
        IoAcquireCancelSpinLock(&irql);
        if (IMPCALL(KeGetCurrentIrql)() != DISPATCH_LEVEL) {
            IoReleaseCancelSpinLock(irql);
            return Complete(Irp, HV_FAIL(4), 0);
        }
        kept = g_Pending;
        g_Pending = NULL;
        if (kept != NULL && IoSetCancelRoutine(kept, NULL) == NULL)
            kept = NULL;                        /* its cancel routine owns it */
        IoReleaseCancelSpinLock(irql);
        if (kept == NULL)
            return Complete(Irp, STATUS_NOT_FOUND, 0);
        RtlCopyMemory(kept->AssociatedIrp.SystemBuffer, "DONE", 4);
        Complete(kept, STATUS_SUCCESS, 4);
        return Complete(Irp, STATUS_SUCCESS, 0);
    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return StartControlDevice(DriverObject, L"\\Device\\HvciPending", L"\\DosDevices\\HvciPending",
                              FILE_DEVICE_UNKNOWN, DispatchDeviceControl);
}

#elif defined(CASE_PNP)
typedef struct { PDEVICE_OBJECT Lower; } FDO_EXTENSION;

static NTSTATUS NTAPI StartCompleted(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NOINLINE NTSTATUS AfterStart(PIO_STACK_LOCATION sp)
{
    PCM_RESOURCE_LIST raw = sp->Parameters.StartDevice.AllocatedResources;
    PCM_RESOURCE_LIST translated = sp->Parameters.StartDevice.AllocatedResourcesTranslated;
    PVOID p;

    if (raw == NULL || translated == NULL || raw->Count != 1 || translated->Count != 1)
        return HV_FAIL(3);
    p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPool, 0x40, 'XpnP');   /* 0x2000 */
    if (p != NULL)
        ExFreePoolWithTag(p, 'XpnP');
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI DispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    FDO_EXTENSION *ext = (FDO_EXTENSION *)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    PDEVICE_OBJECT lower = ext->Lower;
    KEVENT done;
    NTSTATUS st;

    switch (sp->MinorFunction) {
    case IRP_MN_START_DEVICE:
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, StartCompleted, &done, TRUE, TRUE, TRUE);
        st = IoCallDriver(lower, Irp);
        if (st == STATUS_PENDING) {
            KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
            st = Irp->IoStatus.Status;
        }
        if (NT_SUCCESS(st))
            st = AfterStart(sp);
        return Complete(Irp, st, 0);
    case IRP_MN_REMOVE_DEVICE:
        IoSkipCurrentIrpStackLocation(Irp);
        st = IoCallDriver(lower, Irp);
        IoDetachDevice(lower);
        IoDeleteDevice(DeviceObject);
        return st;
    default:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(lower, Irp);
    }
}

static NTSTATUS NTAPI DispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* The pre-Vista sequence, still what many WDM drivers ship: start the next, PoCallDriver. */
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(((FDO_EXTENSION *)DeviceObject->DeviceExtension)->Lower, Irp);
}

static NTSTATUS NTAPI DispatchRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG i, n = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    PUCHAR out = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;

    UNREFERENCED_PARAMETER(DeviceObject);
    for (i = 0; i < n; i++)
        out[i] = (UCHAR)(0xA0 + i);
    return Complete(Irp, STATUS_SUCCESS, n);
}

static NTSTATUS NTAPI AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
    UNICODE_STRING name;
    PDEVICE_OBJECT fdo;
    FDO_EXTENSION *ext;
    NTSTATUS st;

    RtlInitUnicodeString(&name, L"\\Device\\HvciPnp");
    st = IoCreateDevice(DriverObject, sizeof(FDO_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    ext = (FDO_EXTENSION *)fdo->DeviceExtension;
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
    if (ext->Lower != Pdo) {
        IoDeleteDevice(fdo);
        return HV_FAIL(1);
    }
    if (fdo->StackSize != Pdo->StackSize + 1) {
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(fdo);
        return HV_FAIL(2);
    }
    fdo->Flags |= DO_BUFFERED_IO;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverExtension->AddDevice = AddDevice;
    DriverObject->MajorFunction[IRP_MJ_PNP] = DispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = DispatchPower;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_READ] = DispatchRead;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}

#elif defined(CASE_FILTER)
#define IOCTL_STACK CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA00, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_LOWER_EXEC CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA01, METHOD_BUFFERED, FILE_ANY_ACCESS)
_Static_assert(IOCTL_STACK == 0x222800 && IOCTL_LOWER_EXEC == 0x222804, "CTL_CODE");
#define FILTER_CONTEXT ((PVOID)(ULONG_PTR)0x5EED)

static PDEVICE_OBJECT g_Lower, g_Upper, g_AttachedTo;

static NTSTATUS NTAPI FilterCompleted(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PUCHAR buf = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;

    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    if (DeviceObject != g_Upper || Context != FILTER_CONTEXT) {
        Irp->IoStatus.Status = HV_FAIL(1);
        Irp->IoStatus.Information = 0;
        return STATUS_CONTINUE_COMPLETION;
    }
    buf[3] = 'C';
    buf[4] = 'F';
    Irp->IoStatus.Information = 5;
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    PUCHAR buf = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;

    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
    PVOID p;

    if ((code != IOCTL_STACK && code != IOCTL_LOWER_EXEC) || sp->Parameters.DeviceIoControl.OutputBufferLength < 5)
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (DeviceObject == g_Upper) {
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, FilterCompleted, FILTER_CONTEXT, TRUE, TRUE, TRUE);
        return IoCallDriver(g_AttachedTo, Irp);
    }
    if (code == IOCTL_LOWER_EXEC) {
        p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPool, 0x20, 'lwoL');     /* 0x2000 */
        if (p != NULL)
            ExFreePoolWithTag(p, 'lwoL');
        return Complete(Irp, STATUS_SUCCESS, 0);
    }
    buf[0] = (UCHAR)Irp->CurrentLocation;
    buf[1] = (UCHAR)Irp->StackCount;
    buf[2] = sp->DeviceObject == g_Lower ? 1 : 0;
    buf[3] = 'L';
    return Complete(Irp, STATUS_SUCCESS, 4);
}

static NTSTATUS NTAPI DispatchPassOrSucceed(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    if (DeviceObject == g_Upper) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(g_AttachedTo, Irp);
    }
    return Complete(Irp, STATUS_SUCCESS, 0);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    IoDetachDevice(g_AttachedTo);
    UnloadDeleteAll(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PDEVICE_OBJECT top;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(RegistryPath);
    st = CreateLinkedDevice(DriverObject, L"\\Device\\HvciLower", L"\\DosDevices\\HvciLower",
                            FILE_DEVICE_UNKNOWN, &g_Lower);
    if (!NT_SUCCESS(st))
        return st;
    st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_Upper);
    if (!NT_SUCCESS(st)) {
        UnloadDeleteAll(DriverObject);
        return st;
    }
    st = IoAttachDeviceToDeviceStackSafe(g_Upper, g_Lower, &g_AttachedTo);
    if (!NT_SUCCESS(st) || g_AttachedTo != g_Lower) {
        UnloadDeleteAll(DriverObject);
        return HV_FAIL(2);
    }
    top = IoGetAttachedDeviceReference(g_Lower);
    ObDereferenceObject(top);
    if (top != g_Upper || IoGetAttachedDevice(g_Lower) != g_Upper || g_Upper->StackSize != 2) {
        IoDetachDevice(g_Lower);
        UnloadDeleteAll(DriverObject);
        return HV_FAIL(3);
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchPassOrSucceed;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchPassOrSucceed;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DispatchDeviceControl;
    DriverObject->DriverUnload = Unload;
    g_Lower->Flags &= ~DO_DEVICE_INITIALIZING;
    g_Upper->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

#elif defined(CASE_LEAK)
static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);      /* forgets g_Kept */
}

static PVOID g_Kept[2];

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PVOID freed;

    UNREFERENCED_PARAMETER(RegistryPath);
    /* three different exports, so each allocation has its own `call [rip+__imp_X]` site */
    g_Kept[0] = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPoolNx, 0x30, 'kaeL');
    g_Kept[1] = ExAllocatePool2(POOL_FLAG_NON_PAGED, 0x50, 'kaeL');
    freed = ExAllocatePoolWithTagPriority((POOL_TYPE)HV_NonPagedPoolNx, 0x20, 'eerF', NormalPoolPriority);
    if (g_Kept[0] == NULL || g_Kept[1] == NULL || freed == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ExFreePoolWithTag(freed, 'eerF');
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}

#elif defined(CASE_HIDDEN)
#define HIDDEN_TYPE 0x9000
#define IOCTL_HIDDEN(fn, method) CTL_CODE(HIDDEN_TYPE, fn, method, FILE_ANY_ACCESS)
_Static_assert(IOCTL_HIDDEN(0x900, METHOD_IN_DIRECT) == 0x90002401, "CTL_CODE");

static NOINLINE NTSTATUS ExecPool(void)
{
    PVOID p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPool, 0x80, 'ndiH');       /* 0x2000 */
    if (p == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ExFreePoolWithTag(p, 'ndiH');
    return STATUS_SUCCESS;
}

static UCHAR g_Page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));   /* non-paged, NX (.data) */

static NOINLINE NTSTATUS ExecMapping(void)
{
    PMDL mdl = IoAllocateMdl(g_Page, PAGE_SIZE, FALSE, FALSE, NULL);
    PVOID va;

    if (mdl == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    MmBuildMdlForNonPagedPool(mdl);
    va = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority); /* 0x2002 */
    if (va != NULL)
        MmUnmapLockedPages(va, mdl);
    IoFreeMdl(mdl);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DeviceObject);
    switch (IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_HIDDEN(0x900, METHOD_BUFFERED):   st = STATUS_SUCCESS; break;
    case IOCTL_HIDDEN(0x900, METHOD_IN_DIRECT):  st = (NTSTATUS)0x00000011; break;
    case IOCTL_HIDDEN(0x900, METHOD_OUT_DIRECT): st = ExecPool(); break;
    case IOCTL_HIDDEN(0x900, METHOD_NEITHER):    st = (NTSTATUS)0x00000013; break;
    case IOCTL_HIDDEN(0x901, METHOD_BUFFERED):   st = (NTSTATUS)0x00000014; break;
    case IOCTL_HIDDEN(0x901, METHOD_IN_DIRECT):  st = ExecMapping(); break;
    case IOCTL_HIDDEN(0x901, METHOD_OUT_DIRECT): st = (NTSTATUS)0x00000016; break;
    case IOCTL_HIDDEN(0x901, METHOD_NEITHER):    st = (NTSTATUS)0x00000017; break;
    default:                                     st = STATUS_INVALID_DEVICE_REQUEST; break;
    }
    return Complete(Irp, st, 0);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return StartControlDevice(DriverObject, L"\\Device\\HvciHidden", L"\\DosDevices\\HvciHidden",
                              HIDDEN_TYPE, DispatchDeviceControl);
}

#elif defined(CASE_PROBE) || defined(CASE_PROBE_SEH)
#define IOCTL_PROBE_COPY       CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA03, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_PROBE_MISALIGNED CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA07, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_PROBE_KERNEL     CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA0B, METHOD_NEITHER, FILE_ANY_ACCESS)
_Static_assert(IOCTL_PROBE_COPY == 0x22280F && IOCTL_PROBE_MISALIGNED == 0x22281F &&
               IOCTL_PROBE_KERNEL == 0x22282F, "CTL_CODE");

static PDRIVER_OBJECT g_Driver;

#if defined(CASE_PROBE_SEH)
/* A probe that raises ends the request with the exception's code, as a careful driver does. */
#define GUARDED(probe) \
    __try { probe; } __except (caught = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) { return Complete(Irp, caught, 0); }
#else
#define GUARDED(probe) probe
#endif

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG inLen = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLen = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PUCHAR in = (PUCHAR)sp->Parameters.DeviceIoControl.Type3InputBuffer;
    PUCHAR out = (PUCHAR)Irp->UserBuffer;
    ULONG i, n = inLen < outLen ? inLen : outLen;
    __attribute__((unused)) NTSTATUS caught;

    UNREFERENCED_PARAMETER(DeviceObject);
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_PROBE_COPY:
        GUARDED(ProbeForRead(in, inLen, 1));
        GUARDED(ProbeForWrite(out, outLen, 1));
        for (i = 0; i < n; i++)
            out[i] = in[i];
        return Complete(Irp, STATUS_SUCCESS, n);
    case IOCTL_PROBE_MISALIGNED:
        GUARDED(ProbeForRead(in + 1, 4, 4));
        return Complete(Irp, STATUS_SUCCESS, 0);
    case IOCTL_PROBE_KERNEL:
        GUARDED(ProbeForRead(NULL, 0, 4));
        GUARDED(ProbeForRead(g_Driver, 8, 1));
        return Complete(Irp, STATUS_SUCCESS, 0);
    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    g_Driver = DriverObject;
    return StartControlDevice(DriverObject, L"\\Device\\HvciProbe", L"\\DosDevices\\HvciProbe",
                              FILE_DEVICE_UNKNOWN, DispatchDeviceControl);
}

#elif defined(CASE_CSQ)
#define IOCTL_QUEUE   CTL_CODE(FILE_DEVICE_UNKNOWN, 0xB00, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DEQUEUE CTL_CODE(FILE_DEVICE_UNKNOWN, 0xB01, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_QUEUE_CTX  CTL_CODE(FILE_DEVICE_UNKNOWN, 0xB02, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_REMOVE_CTX CTL_CODE(FILE_DEVICE_UNKNOWN, 0xB03, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_CANCEL_CTX CTL_CODE(FILE_DEVICE_UNKNOWN, 0xB04, METHOD_BUFFERED, FILE_ANY_ACCESS)
_Static_assert(IOCTL_QUEUE == 0x222C00 && IOCTL_DEQUEUE == 0x222C04 && IOCTL_QUEUE_CTX == 0x222C08 &&
               IOCTL_REMOVE_CTX == 0x222C0C && IOCTL_CANCEL_CTX == 0x222C10, "CTL_CODE");

static IO_CSQ g_Csq;
static LIST_ENTRY g_Queue;
static KSPIN_LOCK g_Lock;
static LONG g_Locked;

static IO_CSQ_IRP_CONTEXT g_Ctx;
static PIRP g_CtxIrp;

static NTSTATUS NTAPI CsqInsertEx(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    UNREFERENCED_PARAMETER(Csq);
    if (InsertContext == &g_Ctx) {
        if (g_CtxIrp != NULL)
            return STATUS_DEVICE_BUSY;
        g_CtxIrp = Irp;
    }
    InsertTailList(&g_Queue, &Irp->Tail.Overlay.ListEntry);
    return STATUS_SUCCESS;
}

static VOID NTAPI CsqRemove(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    if (Irp == g_CtxIrp)
        g_CtxIrp = NULL;
}

static PIRP NTAPI CsqPeekNext(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    PLIST_ENTRY next = Irp == NULL ? g_Queue.Flink : Irp->Tail.Overlay.ListEntry.Flink;

    UNREFERENCED_PARAMETER(Csq);
    UNREFERENCED_PARAMETER(PeekContext);
    return next == &g_Queue ? NULL : CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
}

static VOID NTAPI CsqAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
    UNREFERENCED_PARAMETER(Csq);
    KeAcquireSpinLock(&g_Lock, Irql);
    g_Locked++;
}

static VOID NTAPI CsqRelease(PIO_CSQ Csq, KIRQL Irql)
{
    UNREFERENCED_PARAMETER(Csq);
    g_Locked--;
    KeReleaseSpinLock(&g_Lock, Irql);
}

static VOID NTAPI CsqCompleteCanceled(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    Complete(Irp, STATUS_CANCELLED, 0);
}

static NTSTATUS NTAPI DispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIRP queued;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DeviceObject);
    switch (IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_QUEUE:
        IoCsqInsertIrp(&g_Csq, Irp, NULL);
        return STATUS_PENDING;
    case IOCTL_QUEUE_CTX:
        st = IoCsqInsertIrpEx(&g_Csq, Irp, &g_Ctx, &g_Ctx);
        return NT_SUCCESS(st) ? STATUS_PENDING : Complete(Irp, st, 0);
    case IOCTL_REMOVE_CTX:
        queued = IoCsqRemoveIrp(&g_Csq, &g_Ctx);
        if (queued == NULL)
            return Complete(Irp, STATUS_NOT_FOUND, 0);
        RtlCopyMemory(queued->AssociatedIrp.SystemBuffer, "CX", 2);
        Complete(queued, STATUS_SUCCESS, 2);
        return Complete(Irp, STATUS_SUCCESS, 0);
    case IOCTL_CANCEL_CTX:
        return Complete(Irp, STATUS_SUCCESS, g_CtxIrp != NULL ? IoCancelIrp(g_CtxIrp) : 0xFF);
    case IOCTL_DEQUEUE:
        queued = IoCsqRemoveNextIrp(&g_Csq, NULL);
        if (g_Locked != 0)
            return Complete(Irp, HV_FAIL(1), 0);
        if (queued == NULL)
            return Complete(Irp, STATUS_NOT_FOUND, 0);
        RtlCopyMemory(queued->AssociatedIrp.SystemBuffer, "OK", 2);
        Complete(queued, STATUS_SUCCESS, 2);
        return Complete(Irp, STATUS_SUCCESS, 0);
    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    InitializeListHead(&g_Queue);
    KeInitializeSpinLock(&g_Lock);
    IoCsqInitializeEx(&g_Csq, CsqInsertEx, CsqRemove, CsqPeekNext, CsqAcquire, CsqRelease, CsqCompleteCanceled);
    return StartControlDevice(DriverObject, L"\\Device\\HvciCsq", L"\\DosDevices\\HvciCsq",
                              FILE_DEVICE_UNKNOWN, DispatchDeviceControl);
}

#else
#error "define one CASE_xxx"
#endif
