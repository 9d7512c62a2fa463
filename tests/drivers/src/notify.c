/*
 * notify.c - what a driver registers and logs in DriverEntry: the I/O error
 * log, ETW providers, notification and callback registrations, object
 * manager lookups, non-cached memory.  Built twice: notify (a plain link)
 * and notify_signed (-DSIGNED, linked with --force-integrity, i.e. MSVC's
 * /INTEGRITYCHECK: IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY), because
 * Windows refuses process-notify-Ex and object callbacks from images
 * without that flag.
 *
 * Left registered for the Python tests (names exported): one error-log entry
 * written (ErrorCode 0xC0040001, UniqueErrorValue 0x1234, FinalStatus
 * STATUS_DEVICE_NOT_READY, IRP_MJ_DEVICE_CONTROL, dump data 0xAAAA5555
 * 0x12345678, string L"hvci-insertion") and a second one freed unwritten;
 * ETW provider HvciProvider written 3 times then unregistered, a classic
 * provider with ClassicCallback; shutdown + last-chance shutdown
 * (ShutdownDispatch), PnP interface (PnpCallback), process (ProcessNotify),
 * image load (ImageNotify), registry (RegistryCallback), bug-check reason
 * (ReasonCallback), callback object \Callback\PowerState (PowerStateCallback);
 * with -DSIGNED also process-Ex (ProcessNotifyEx) and object callbacks
 * (PreOperation); NonCached holds a 0x2000-byte MmAllocateNonCachedMemory
 * block.
 *
 * Return values (first failure wins):
 *   0xE0000001  IoAllocateErrorLogEntry: NULL, not zeroed, or an entry larger
 *               than ERROR_LOG_MAXIMUM_SIZE (240 on x64) not refused
 *   0xE0000002  ETW: EtwRegister/EtwRegisterClassicProvider failed, an
 *               event reported enabled with no session, EtwWrite/
 *               EtwWriteString/EtwUnregister failed
 *   0xE0000003  IoCreateDevice or IoRegister(LastChance)ShutdownNotification
 *               failed
 *   0xE0000004  IoRegisterPlugPlayNotification: interface-change
 *               registration failed or an unknown category was accepted
 *   0xE0000005  PsSetCreateProcessNotifyRoutine: register, duplicate
 *               (STATUS_INVALID_PARAMETER), remove, remove-again results
 *   0xE0000006  PsSetCreateProcessNotifyRoutineEx: not STATUS_ACCESS_DENIED
 *               without /INTEGRITYCHECK, or failed with it
 *   0xE0000007  thread/image notify routines: register, remove,
 *               remove-again (STATUS_PROCEDURE_NOT_FOUND)
 *   0xE0000008  CmRegisterCallback(Ex): register, altitude collision,
 *               unregister, unregister-again (STATUS_INVALID_PARAMETER)
 *   0xE0000009  ObRegisterCallbacks: not STATUS_ACCESS_DENIED without
 *               /INTEGRITYCHECK; with it: a bad Version accepted or the
 *               valid registration failed
 *   0xE000000A  KeRegisterBugCheck(Reason)Callback / KeDeregister...: TRUE,
 *               State BufferInserted, FALSE when registered twice, ...
 *   0xE000000B  ExCreateCallback / ExRegisterCallback results
 *   0xE000000C  PoRegisterPowerSettingCallback / PoUnregister... failed
 *   0xE000000D  ObGetObjectType of the driver, device, process or thread
 *               object is not *IoDriverObjectType, *IoDeviceObjectType,
 *               *PsProcessType, *PsThreadType
 *   0xE000000E  ObReferenceObjectByName: \Driver\<name> not found, wrong
 *               type accepted, or an unknown name not
 *               STATUS_OBJECT_NAME_NOT_FOUND
 *   0xE000000F  ObOpenObjectByName(\Device\HvciNotify_<name>) +
 *               ObReferenceObjectByHandle did not give the device
 *   0xE0000010  MmAllocateNonCachedMemory: NULL, not page aligned, or not
 *               writable
 */
#include "compat.h"

IMPSLOT(PKTHREAD, KeGetCurrentThread)(VOID);
IMPSLOT(PEPROCESS, PsGetCurrentProcess)(VOID);

#define ENTRY_STRING L"hvci-insertion"
#define DEVICE_NAME L"\\Device\\HvciNotify_" HV_NAME_W

static const GUID HvciProviderGuid = {0x6f1c2a30, 0x1d2e, 0x4f5a, {0x9b, 0x0c, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}};
static const GUID HvciClassicGuid = {0x6f1c2a31, 0x1d2e, 0x4f5a, {0x9b, 0x0c, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}};
static const GUID HvciInterfaceGuid = {0x6f1c2a32, 0x1d2e, 0x4f5a, {0x9b, 0x0c, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}};
/* GUID_ACDC_POWER_SOURCE (wdm.h) */
static const GUID AcDcPowerSource = {0x5D3E9A59, 0xE9D5, 0x4B00, {0xA6, 0xBD, 0xFF, 0x34, 0xFF, 0x51, 0x65, 0x48}};

__declspec(dllexport) PVOID NonCached;
__declspec(dllexport) ULONG HvciContext;
__declspec(dllexport) KBUGCHECK_REASON_CALLBACK_RECORD ReasonRecord;
static KBUGCHECK_CALLBACK_RECORD BugCheckRecord;
static UCHAR BugCheckBuffer[16];

__declspec(dllexport) NTSTATUS NTAPI ShutdownDispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Device);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

__declspec(dllexport) NTSTATUS NTAPI PnpCallback(PVOID Notification, PVOID Context)
{
    UNREFERENCED_PARAMETER(Notification); UNREFERENCED_PARAMETER(Context);
    return STATUS_SUCCESS;
}

__declspec(dllexport) VOID NTAPI ProcessNotify(HANDLE Parent, HANDLE Process, BOOLEAN Create)
{
    UNREFERENCED_PARAMETER(Parent); UNREFERENCED_PARAMETER(Process); UNREFERENCED_PARAMETER(Create);
}

__declspec(dllexport) VOID NTAPI ProcessNotifyEx(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO Info)
{
    UNREFERENCED_PARAMETER(Process); UNREFERENCED_PARAMETER(ProcessId); UNREFERENCED_PARAMETER(Info);
}

__declspec(dllexport) VOID NTAPI ThreadNotify(HANDLE Process, HANDLE Thread, BOOLEAN Create)
{
    UNREFERENCED_PARAMETER(Process); UNREFERENCED_PARAMETER(Thread); UNREFERENCED_PARAMETER(Create);
}

__declspec(dllexport) VOID NTAPI ImageNotify(PUNICODE_STRING Name, HANDLE Process, PIMAGE_INFO Info)
{
    UNREFERENCED_PARAMETER(Name); UNREFERENCED_PARAMETER(Process); UNREFERENCED_PARAMETER(Info);
}

__declspec(dllexport) NTSTATUS NTAPI RegistryCallback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Context); UNREFERENCED_PARAMETER(Argument1); UNREFERENCED_PARAMETER(Argument2);
    return STATUS_SUCCESS;
}

__declspec(dllexport) OB_PREOP_CALLBACK_STATUS NTAPI PreOperation(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    UNREFERENCED_PARAMETER(Context); UNREFERENCED_PARAMETER(Info);
    return OB_PREOP_SUCCESS;
}

__declspec(dllexport) VOID NTAPI BugCheckCallback(PVOID Buffer, ULONG Length)
{
    UNREFERENCED_PARAMETER(Buffer); UNREFERENCED_PARAMETER(Length);
}

__declspec(dllexport) VOID NTAPI ReasonCallback(KBUGCHECK_CALLBACK_REASON Reason,
                                                struct _KBUGCHECK_REASON_CALLBACK_RECORD *Record,
                                                PVOID Data, ULONG Length)
{
    UNREFERENCED_PARAMETER(Reason); UNREFERENCED_PARAMETER(Record);
    UNREFERENCED_PARAMETER(Data); UNREFERENCED_PARAMETER(Length);
}

__declspec(dllexport) VOID NTAPI PowerStateCallback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Context); UNREFERENCED_PARAMETER(Argument1); UNREFERENCED_PARAMETER(Argument2);
}

__declspec(dllexport) NTSTATUS NTAPI PowerSettingCallback(LPCGUID Setting, PVOID Value, ULONG Length, PVOID Context)
{
    UNREFERENCED_PARAMETER(Setting); UNREFERENCED_PARAMETER(Value);
    UNREFERENCED_PARAMETER(Length); UNREFERENCED_PARAMETER(Context);
    return STATUS_SUCCESS;
}

__declspec(dllexport) VOID NTAPI ClassicCallback(LPCGUID Guid, UCHAR ControlCode, PVOID EnableContext, PVOID Context)
{
    UNREFERENCED_PARAMETER(Guid); UNREFERENCED_PARAMETER(ControlCode);
    UNREFERENCED_PARAMETER(EnableContext); UNREFERENCED_PARAMETER(Context);
}

static NTSTATUS ErrorLog(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Device)
{
    const ULONG dumpSize = 2 * sizeof(ULONG);
    const UCHAR size = (UCHAR)(FIELD_OFFSET(IO_ERROR_LOG_PACKET, DumpData) + dumpSize + sizeof(ENTRY_STRING));
    PIO_ERROR_LOG_PACKET entry, unused;
    ULONG i;

    if (IoAllocateErrorLogEntry(DriverObject, (UCHAR)(ERROR_LOG_MAXIMUM_SIZE + 1)) != NULL)
        return HV_FAIL(1);
    entry = IoAllocateErrorLogEntry(DriverObject, size);
    if (entry == NULL)
        return HV_FAIL(1);
    for (i = 0; i < size; i++) {
        if (((UCHAR *)entry)[i] != 0)
            return HV_FAIL(1);
    }
    entry->ErrorCode = (NTSTATUS)0xC0040001L;
    entry->UniqueErrorValue = 0x1234;
    entry->FinalStatus = STATUS_DEVICE_NOT_READY;
    entry->MajorFunctionCode = IRP_MJ_DEVICE_CONTROL;
    entry->DumpDataSize = (USHORT)dumpSize;
    entry->DumpData[0] = 0xAAAA5555;
    entry->DumpData[1] = 0x12345678;
    entry->NumberOfStrings = 1;
    entry->StringOffset = (USHORT)(FIELD_OFFSET(IO_ERROR_LOG_PACKET, DumpData) + dumpSize);
    RtlCopyMemory((UCHAR *)entry + entry->StringOffset, ENTRY_STRING, sizeof(ENTRY_STRING));
    IoWriteErrorLogEntry(entry);

    unused = IoAllocateErrorLogEntry(Device, sizeof(IO_ERROR_LOG_PACKET));
    if (unused == NULL)
        return HV_FAIL(1);
    unused->ErrorCode = (NTSTATUS)0xC0040002L;
    IoFreeErrorLogEntry(unused);
    return STATUS_SUCCESS;
}

static NTSTATUS Etw(void)
{
    REGHANDLE provider = 0, classic = 0;
    EVENT_DESCRIPTOR desc = {1, 0, 0, 4, 0, 0, 0};
    GUID activity = {0, 0, 0, {0}};

    if (!NT_SUCCESS(EtwRegister(&HvciProviderGuid, NULL, NULL, &provider)) || provider == 0 ||
        !NT_SUCCESS(EtwRegisterClassicProvider(&HvciClassicGuid, 0, ClassicCallback, &HvciContext, &classic)) ||
        classic == 0 || classic == provider)
        return HV_FAIL(2);
    if (EtwEventEnabled(provider, &desc) || EtwProviderEnabled(provider, 4, 0))
        return HV_FAIL(2);
    if (!NT_SUCCESS(EtwWrite(provider, &desc, NULL, 0, NULL)) || !NT_SUCCESS(EtwWrite(provider, &desc, NULL, 0, NULL)) ||
        !NT_SUCCESS(EtwWriteString(provider, 4, 0, NULL, L"hvci")) ||
        !NT_SUCCESS(EtwWriteEx(provider, &desc, 0, 0, NULL, NULL, 0, NULL)) ||
        !NT_SUCCESS(EtwWriteTransfer(provider, &desc, NULL, NULL, 0, NULL)) ||
        !NT_SUCCESS(EtwActivityIdControl(3 /* EVENT_ACTIVITY_CTRL_CREATE_ID */, &activity)) ||
        (activity.Data1 == 0 && activity.Data2 == 0 && activity.Data3 == 0) ||
        !NT_SUCCESS(EtwUnregister(provider)) || EtwUnregister(provider) != STATUS_INVALID_HANDLE)
        return HV_FAIL(2);
    return STATUS_SUCCESS;
}

static NTSTATUS Notifications(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Device, PDEVICE_OBJECT Second)
{
    PVOID entry = NULL, other = NULL;
    NTSTATUS st;
    int i;

    DriverObject->MajorFunction[IRP_MJ_SHUTDOWN] = ShutdownDispatch;
    if (!NT_SUCCESS(IoRegisterShutdownNotification(Device)) ||
        !NT_SUCCESS(IoRegisterLastChanceShutdownNotification(Device)) ||
        !NT_SUCCESS(IoRegisterShutdownNotification(Second)))
        return HV_FAIL(3);
    IoUnregisterShutdownNotification(Second);     /* leaves only Device's two */

    st = IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                        PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES,
                                        (PVOID)&HvciInterfaceGuid, DriverObject,
                                        (PDRIVER_NOTIFICATION_CALLBACK_ROUTINE)PnpCallback, &HvciContext, &entry);
    if (!NT_SUCCESS(st) || entry == NULL)
        return HV_FAIL(4);
    if (NT_SUCCESS(IoRegisterPlugPlayNotification((IO_NOTIFICATION_EVENT_CATEGORY)99, 0, NULL, DriverObject,
                                                  (PDRIVER_NOTIFICATION_CALLBACK_ROUTINE)PnpCallback, NULL, &entry)))
        return HV_FAIL(4);
    for (i = 0; i < 2; i++) {                 /* two more, unregistered again (plain and Ex) */
        st = IoRegisterPlugPlayNotification(EventCategoryHardwareProfileChange, 0, NULL, DriverObject,
                                            (PDRIVER_NOTIFICATION_CALLBACK_ROUTINE)PnpCallback, NULL, &other);
        if (!NT_SUCCESS(st) ||
            !NT_SUCCESS(i ? IoUnregisterPlugPlayNotificationEx(other) : IoUnregisterPlugPlayNotification(other)))
            return HV_FAIL(4);
    }

    if (PsSetCreateProcessNotifyRoutine(ProcessNotify, FALSE) != STATUS_SUCCESS ||
        PsSetCreateProcessNotifyRoutine(ProcessNotify, FALSE) != STATUS_INVALID_PARAMETER ||
        PsSetCreateProcessNotifyRoutine(ProcessNotify, TRUE) != STATUS_SUCCESS ||
        PsSetCreateProcessNotifyRoutine(ProcessNotify, TRUE) != STATUS_INVALID_PARAMETER ||
        PsSetCreateProcessNotifyRoutine(ProcessNotify, FALSE) != STATUS_SUCCESS)
        return HV_FAIL(5);

    st = PsSetCreateProcessNotifyRoutineEx(ProcessNotifyEx, FALSE);
#ifdef SIGNED
    if (st != STATUS_SUCCESS)
#else
    if (st != STATUS_ACCESS_DENIED)
#endif
        return HV_FAIL(6);

    if (PsSetCreateThreadNotifyRoutine(ThreadNotify) != STATUS_SUCCESS ||
        PsRemoveCreateThreadNotifyRoutine(ThreadNotify) != STATUS_SUCCESS ||
        PsRemoveCreateThreadNotifyRoutine(ThreadNotify) != STATUS_PROCEDURE_NOT_FOUND ||
        PsSetLoadImageNotifyRoutine(ImageNotify) != STATUS_SUCCESS ||
        PsSetLoadImageNotifyRoutine((PLOAD_IMAGE_NOTIFY_ROUTINE)ThreadNotify) != STATUS_SUCCESS ||
        PsRemoveLoadImageNotifyRoutine((PLOAD_IMAGE_NOTIFY_ROUTINE)ThreadNotify) != STATUS_SUCCESS ||
        PsRemoveLoadImageNotifyRoutine((PLOAD_IMAGE_NOTIFY_ROUTINE)ThreadNotify) != STATUS_PROCEDURE_NOT_FOUND)
        return HV_FAIL(7);
    return STATUS_SUCCESS;
}

static NTSTATUS RegistryAndObjectCallbacks(PDRIVER_OBJECT DriverObject)
{
    LARGE_INTEGER cookie, cookie2, stale;
    UNICODE_STRING altitude;
    OB_OPERATION_REGISTRATION op;
    OB_CALLBACK_REGISTRATION reg;
    PVOID handle = NULL;
#ifdef SIGNED
    PVOID other = NULL;
#endif
    NTSTATUS st;

    RtlInitUnicodeString(&altitude, L"385201");
    if (CmRegisterCallbackEx(RegistryCallback, &altitude, DriverObject, &HvciContext, &cookie, NULL) != STATUS_SUCCESS ||
        CmRegisterCallbackEx(RegistryCallback, &altitude, DriverObject, &HvciContext, &cookie2, NULL) !=
            STATUS_FLT_INSTANCE_ALTITUDE_COLLISION)
        return HV_FAIL(8);
    stale = cookie;
    if (CmUnRegisterCallback(cookie) != STATUS_SUCCESS || CmUnRegisterCallback(stale) != STATUS_INVALID_PARAMETER ||
        CmRegisterCallback(RegistryCallback, &HvciContext, &cookie2) != STATUS_SUCCESS)
        return HV_FAIL(8);

    op.ObjectType = PsProcessType;
    op.Operations = OB_OPERATION_HANDLE_CREATE;
    op.PreOperation = PreOperation;
    op.PostOperation = NULL;
    reg.Version = OB_FLT_REGISTRATION_VERSION;
    reg.OperationRegistrationCount = 1;
    RtlInitUnicodeString(&reg.Altitude, L"321000");
    reg.RegistrationContext = &HvciContext;
    reg.OperationRegistration = &op;
#ifdef SIGNED
    reg.Version = 0x99;
    if (ObRegisterCallbacks(&reg, &handle) != STATUS_INVALID_PARAMETER)
        return HV_FAIL(9);
    reg.Version = OB_FLT_REGISTRATION_VERSION;
    st = ObRegisterCallbacks(&reg, &handle);
    if (st != STATUS_SUCCESS || handle == NULL || ObRegisterCallbacks(&reg, &other) !=
                                                     STATUS_FLT_INSTANCE_ALTITUDE_COLLISION)
        return HV_FAIL(9);
    RtlInitUnicodeString(&reg.Altitude, L"321001");
    if (ObRegisterCallbacks(&reg, &other) != STATUS_SUCCESS || other == NULL || other == handle)
        return HV_FAIL(9);
    ObUnRegisterCallbacks(other);                 /* leaves the first registration */
#else
    st = ObRegisterCallbacks(&reg, &handle);
    if (st != STATUS_ACCESS_DENIED)
        return HV_FAIL(9);
#endif
    return STATUS_SUCCESS;
}

static NTSTATUS BugCheckAndCallbackObjects(void)
{
    PCALLBACK_OBJECT own = NULL, power = NULL, missing = NULL;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name;
    PVOID registration, setting = NULL;
    PKBUGCHECK_CALLBACK_RECORD record = &BugCheckRecord;
    PKBUGCHECK_REASON_CALLBACK_RECORD reasonRecord = &ReasonRecord;

    KeInitializeCallbackRecord(record);           /* the MinGW macro wants a plain pointer name */
    if (!KeRegisterBugCheckCallback(&BugCheckRecord, BugCheckCallback, BugCheckBuffer, sizeof(BugCheckBuffer),
                                    (PUCHAR)"hvci") ||
        BugCheckRecord.State != BufferInserted ||
        KeRegisterBugCheckCallback(&BugCheckRecord, BugCheckCallback, BugCheckBuffer, sizeof(BugCheckBuffer),
                                   (PUCHAR)"hvci") ||
        !KeDeregisterBugCheckCallback(&BugCheckRecord) || KeDeregisterBugCheckCallback(&BugCheckRecord))
        return HV_FAIL(10);
    KeInitializeCallbackRecord(reasonRecord);
    if (!KeRegisterBugCheckReasonCallback(&ReasonRecord, ReasonCallback, KbCallbackSecondaryDumpData,
                                          (PUCHAR)"hvci") ||
        ReasonRecord.State != BufferInserted)
        return HV_FAIL(10);

    RtlInitUnicodeString(&name, L"\\Callback\\HvciTest");
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_PERMANENT, NULL, NULL);
    if (!NT_SUCCESS(ExCreateCallback(&own, &oa, TRUE, TRUE)) || own == NULL)
        return HV_FAIL(11);
    registration = ExRegisterCallback(own, PowerStateCallback, &HvciContext);
    if (registration == NULL)
        return HV_FAIL(11);
    ExUnregisterCallback(registration);
    RtlInitUnicodeString(&name, L"\\Callback\\PowerState");
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (!NT_SUCCESS(ExCreateCallback(&power, &oa, FALSE, TRUE)) || power == NULL || power == own ||
        ExRegisterCallback(power, PowerStateCallback, &HvciContext) == NULL)
        return HV_FAIL(11);
    ExNotifyCallback(own, (PVOID)1, (PVOID)2);    /* nothing registered on it any more */
    RtlInitUnicodeString(&name, L"\\Callback\\HvciNoSuchCallback");
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (NT_SUCCESS(ExCreateCallback(&missing, &oa, FALSE, TRUE)))
        return HV_FAIL(11);

    if (!NT_SUCCESS(PoRegisterPowerSettingCallback(NULL, &AcDcPowerSource, PowerSettingCallback, &HvciContext,
                                                   &setting)) ||
        setting == NULL || !NT_SUCCESS(PoUnregisterPowerSettingCallback(setting)))
        return HV_FAIL(12);
    return STATUS_SUCCESS;
}

static NTSTATUS Objects(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Device)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    PVOID object = NULL;
    HANDLE handle = NULL;

    if (ObGetObjectType(DriverObject) != *IoDriverObjectType || ObGetObjectType(Device) != *IoDeviceObjectType ||
        ObGetObjectType(IMPCALL(PsGetCurrentProcess)()) != *PsProcessType ||
        ObGetObjectType(IMPCALL(KeGetCurrentThread)()) != *PsThreadType)
        return HV_FAIL(13);

    RtlInitUnicodeString(&name, L"\\Driver\\" HV_NAME_W);
    if (ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, *IoDriverObjectType, KernelMode, NULL,
                                &object) != STATUS_SUCCESS ||
        object != DriverObject)
        return HV_FAIL(14);
    ObDereferenceObject(object);
    if (ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, *IoDeviceObjectType, KernelMode, NULL,
                                &object) != STATUS_OBJECT_TYPE_MISMATCH)
        return HV_FAIL(14);
    RtlInitUnicodeString(&name, L"\\Driver\\HvciNoSuchDriver");
    if (ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, *IoDriverObjectType, KernelMode, NULL,
                                &object) != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(14);

    RtlInitUnicodeString(&name, DEVICE_NAME);
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    if (ObOpenObjectByName(&oa, *IoDeviceObjectType, KernelMode, NULL, 0, NULL, &handle) != STATUS_SUCCESS ||
        ObReferenceObjectByHandle(handle, 0, *IoDeviceObjectType, KernelMode, &object, NULL) != STATUS_SUCCESS ||
        object != Device)
        return HV_FAIL(15);
    ObDereferenceObject(object);
    object = NULL;
    if (ObReferenceObjectByHandleWithTag(handle, 0, *IoDeviceObjectType, KernelMode, 'tseT', &object, NULL) !=
            STATUS_SUCCESS || object != Device ||
        ObReferenceObjectByHandleWithTag(handle, 0, *IoDriverObjectType, KernelMode, 'tseT', &object, NULL) !=
            STATUS_OBJECT_TYPE_MISMATCH)
        return HV_FAIL(15);
    ObDereferenceObjectWithTag(Device, 'tseT');
    ZwClose(handle);
    return STATUS_SUCCESS;
}

static NTSTATUS NonCachedMemory(void)
{
    PVOID second;

    NonCached = MmAllocateNonCachedMemory(0x2000);
    if (NonCached == NULL || ((ULONG_PTR)NonCached & (PAGE_SIZE - 1)) != 0)
        return HV_FAIL(16);
    ((volatile ULONG *)NonCached)[0] = 0x5A5A5A5A;
    ((volatile ULONG *)NonCached)[0x7FF] = 0xA5A5A5A5;
    if (((volatile ULONG *)NonCached)[0] != 0x5A5A5A5A || ((volatile ULONG *)NonCached)[0x7FF] != 0xA5A5A5A5)
        return HV_FAIL(16);
    second = MmAllocateNonCachedMemory(0x100);
    if (second == NULL || second == NonCached)
        return HV_FAIL(16);
    MmFreeNonCachedMemory(second, 0x100);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    PDEVICE_OBJECT device = NULL, second = NULL;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(RegistryPath);
    RtlInitUnicodeString(&deviceName, DEVICE_NAME);
    st = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(st) || !NT_SUCCESS(IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &second)))
        return HV_FAIL(3);
    if (!NT_SUCCESS(st = ErrorLog(DriverObject, device)) || !NT_SUCCESS(st = Etw()) ||
        !NT_SUCCESS(st = Notifications(DriverObject, device, second)) ||
        !NT_SUCCESS(st = RegistryAndObjectCallbacks(DriverObject)) || !NT_SUCCESS(st = BugCheckAndCallbackObjects()) ||
        !NT_SUCCESS(st = Objects(DriverObject, device)) || !NT_SUCCESS(st = NonCachedMemory()))
        return st;
    DbgPrint("notify: ok\n");
    return STATUS_SUCCESS;
}
