/*
 * notify_run.c - notification routines that only run when the system event they watch happens:
 * a process starts (legacy and Ex process notify), it creates a thread and maps its image, a
 * registry value is set, another process opens a handle to it (object callbacks, pre and post),
 * and the system shuts down (IRP_MJ_SHUTDOWN to a device registered for it). Each routine reports
 * with DbgPrint what it was handed; the Python tests compare the lines with the event the emulated
 * kernel scripts (hooks/notify.py). Linked with /INTEGRITYCHECK, as Windows requires of process-Ex and
 * object callbacks.
 *
 * notify_run_exec: the Ex process notify routine also allocates NonPagedPool ('crPN'): a 0x2000
 * reachable only when a process starts.
 * DriverEntry returns 0, or 0xE0000001 when a registration fails.
 */
#include "compat.h"

IMPSLOT(HANDLE, PsGetProcessId)(PEPROCESS);

static PDEVICE_OBJECT Device;
static LARGE_INTEGER RegistryCookie;
static PVOID ObHandle;
static ULONG Context = 0x5A5A;

static VOID ProcessNotify(HANDLE Parent, HANDLE Process, BOOLEAN Create)
{
    DbgPrint("notify: process parent=%p pid=%p create=%d\n", Parent, Process, Create);
}

static VOID ProcessNotifyEx(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO Info)
{
    DbgPrint("notify: process-ex pid=%p same=%d parent=%p image=%wZ cmd=%wZ open-name=%d file=%wZ\n", ProcessId,
             IMPCALL(PsGetProcessId)(Process) == ProcessId, Info->ParentProcessId, Info->ImageFileName,
             Info->CommandLine, (int)Info->FileOpenNameAvailable, &Info->FileObject->FileName);
#ifdef CASE_EXEC
    ExFreePoolWithTag(ExAllocatePoolWithTag(NonPagedPool, 0x40, 'crPN'), 'crPN');
#endif
}

static VOID ThreadNotify(HANDLE Process, HANDLE Thread, BOOLEAN Create)
{
    DbgPrint("notify: thread pid=%p tid=%p create=%d\n", Process, Thread, Create);
}

static VOID ImageNotify(PUNICODE_STRING Name, HANDLE Process, PIMAGE_INFO Info)
{
    DbgPrint("notify: image %wZ pid=%p base=%p size=0x%Ix system=%d\n", Name, Process, Info->ImageBase,
             Info->ImageSize, (int)Info->SystemModeImage);
}

static NTSTATUS RegistryCallback(PVOID Ctx, PVOID Argument1, PVOID Argument2)
{
    PREG_SET_VALUE_KEY_INFORMATION set = Argument2;
    if ((REG_NOTIFY_CLASS)(ULONG_PTR)Argument1 == RegNtPreSetValueKey)
        DbgPrint("notify: registry ctx=%lx set %wZ type=%lu data=%lu size=%lu\n", *(ULONG *)Ctx, set->ValueName,
                 set->Type, *(ULONG *)set->Data, set->DataSize);
    return STATUS_SUCCESS;
}

static OB_PREOP_CALLBACK_STATUS PreOperation(PVOID Ctx, POB_PRE_OPERATION_INFORMATION Info)
{
    DbgPrint("notify: object pre ctx=%lx op=%lu process=%d access=0x%lx\n", *(ULONG *)Ctx, Info->Operation,
             Info->ObjectType == *PsProcessType, Info->Parameters->CreateHandleInformation.DesiredAccess);
    return OB_PREOP_SUCCESS;
}

static VOID PostOperation(PVOID Ctx, POB_POST_OPERATION_INFORMATION Info)
{
    DbgPrint("notify: object post ctx=%lx op=%lu granted=0x%lx\n", *(ULONG *)Ctx, Info->Operation,
             Info->Parameters->CreateHandleInformation.GrantedAccess);
}

static NTSTATUS Shutdown(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    DbgPrint("notify: shutdown irp major=%u own-device=%d\n",
             (unsigned)IoGetCurrentIrpStackLocation(Irp)->MajorFunction, DeviceObject == Device);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static VOID Unload(PDRIVER_OBJECT DriverObject)
{
    ObUnRegisterCallbacks(ObHandle);
    CmUnRegisterCallback(RegistryCookie);
    PsRemoveLoadImageNotifyRoutine(ImageNotify);
    PsRemoveCreateThreadNotifyRoutine(ThreadNotify);
    PsSetCreateProcessNotifyRoutineEx(ProcessNotifyEx, TRUE);
    PsSetCreateProcessNotifyRoutine(ProcessNotify, TRUE);
    IoUnregisterShutdownNotification(Device);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    OB_OPERATION_REGISTRATION op;
    OB_CALLBACK_REGISTRATION reg;
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_SHUTDOWN] = Shutdown;
    DriverObject->DriverUnload = Unload;
    if (!NT_SUCCESS(IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &Device)) ||
        !NT_SUCCESS(IoRegisterShutdownNotification(Device)) ||
        !NT_SUCCESS(PsSetCreateProcessNotifyRoutine(ProcessNotify, FALSE)) ||
        !NT_SUCCESS(PsSetCreateProcessNotifyRoutineEx(ProcessNotifyEx, FALSE)) ||
        !NT_SUCCESS(PsSetCreateThreadNotifyRoutine(ThreadNotify)) ||
        !NT_SUCCESS(PsSetLoadImageNotifyRoutine(ImageNotify)) ||
        !NT_SUCCESS(CmRegisterCallback(RegistryCallback, &Context, &RegistryCookie)))
        return HV_FAIL(1);
    op.ObjectType = PsProcessType;
    op.Operations = OB_OPERATION_HANDLE_CREATE;
    op.PreOperation = PreOperation;
    op.PostOperation = PostOperation;
    reg.Version = OB_FLT_REGISTRATION_VERSION;
    reg.OperationRegistrationCount = 1;
    RtlInitUnicodeString(&reg.Altitude, L"321002");
    reg.RegistrationContext = &Context;
    reg.OperationRegistration = &op;
    if (!NT_SUCCESS(ObRegisterCallbacks(&reg, &ObHandle)))
        return HV_FAIL(1);
    return STATUS_SUCCESS;
}
