/*
 * flt.c - minifilters: the calls every file-system minifilter makes to
 * fltmgr.sys, and the two fltmgr DDIs that choose executable memory.
 *
 * -DCASE_MINIFILTER (flt_minifilter): registers (FLT_REGISTRATION with an
 *   instance-context registration, IRP_MJ_CREATE pre/post and IRP_MJ_WRITE pre
 *   callbacks, FilterUnload, InstanceSetup), builds the default security
 *   descriptor, creates the communication port \HvciFltPort, starts filtering,
 *   then exercises instances, contexts, names and messages.  Returns 0 when
 *   every result is the documented one.  FilterUnload closes the port and
 *   unregisters the filter, returning 0.
 *     0xE0000001  FltRegisterFilter failed
 *     0xE0000002  Version 0x0300 was not rejected with STATUS_INVALID_PARAMETER
 *     0xE0000003  a second registration did not fail with
 *                 STATUS_FLT_INSTANCE_ALTITUDE_COLLISION
 *     0xE0000004  FltBuildDefaultSecurityDescriptor failed
 *     0xE0000005  its DACL is not present with two ACCESS_ALLOWED ACEs that give
 *                 FLT_PORT_ALL_ACCESS to LocalSystem and to Administrators
 *     0xE0000006  FltCreateCommunicationPort failed
 *     0xE0000007  the same port name again was not STATUS_OBJECT_NAME_COLLISION
 *     0xE0000008  no OBJ_KERNEL_HANDLE was not STATUS_INVALID_PARAMETER
 *     0xE0000009  FltSendMessage with no client was not STATUS_PORT_DISCONNECTED
 *     0xE000000A  FltStartFiltering failed
 *     0xE000000B  a second FltStartFiltering was not STATUS_INVALID_PARAMETER
 *     0xE000000C  FltEnumerateInstances with no room: not STATUS_BUFFER_TOO_SMALL
 *                 and a count of 1
 *     0xE000000D  FltEnumerateInstances did not return one instance
 *     0xE000000E  FltAllocateContext (instance, NonPagedPoolNx) failed
 *     0xE000000F  a stream context (not registered) was not
 *                 STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND
 *     0xE0000010  FltSetInstanceContext failed, or KEEP_IF_EXISTS with a second
 *                 context was not STATUS_FLT_CONTEXT_ALREADY_DEFINED returning
 *                 the first
 *     0xE0000011  FltGetInstanceContext did not return the context set
 *     0xE0000012  FltGetFilterFromName(L"flt_minifilter") is not our filter
 *     0xE0000013  FltGetRoutineAddress("FltSendMessage") is not the import
 *     0xE0000014  FltAllocatePoolAlignedWithTag (NonPagedPoolNx) failed
 *     0xE0000015  FltGetFileNameInformation failed or the normalized name is
 *                 not \Device\HarddiskVolume1 + the file object's name
 *     0xE0000016  FltParseFileNameInformation failed
 *     0xE0000017  the parsed parts differ from Microsoft's example for
 *                 \Device\HarddiskVolume1\Docume~1\MyUser\My Documents\TestRe~1.txt:stream1:$DATA
 *     0xE0000018  FltIsOperationSynchronous: an asynchronous IRP read is not
 *                 FALSE, or with IRP_SYNCHRONOUS_API / as fast I/O not TRUE
 *     0xE0000019  FltObjectReference on the instance failed
 *     0xE000001A  FltEnumerateFilters: no room was not STATUS_BUFFER_TOO_SMALL
 *                 with a count of 1, or the list is not [our filter]
 *     0xE000001B  after FltReferenceContext, FltReleaseContext and
 *                 FltDeleteContext, the instance still has a context, or the
 *                 context (kept alive by the extra reference) cannot be set again
 *     0xE000001C  FltGetFileNameInformationUnsafe(file object) gave another name,
 *                 or a referenced name did not survive one release
 *     0xE000001D  FltIsOperationSynchronous: an IRP_MJ_DEVICE_CONTROL with a
 *                 METHOD_BUFFERED code is not TRUE, or with METHOD_NEITHER not FALSE
 *     0xE000001E  FltCloseClientPort did not leave the client port NULL
 *   Releasing a context or a name once too often ends in BAD_POOL_CALLER (0xC2).
 *
 * -DCASE_POOL (flt_pool_exec, -DNX flt_pool_nx): registers, starts, takes its
 *   instance, FltAllocatePoolAlignedWithTag(instance, NonPagedPool / NonPagedPoolNx,
 *   0x200, 'xEpF' / 'xNpF') once, frees it, unregisters; returns 0.
 * -DCASE_CONTEXT (flt_context_exec, -DNX flt_context_nx): registers an instance
 *   context of 0x40 bytes with PoolTag 'xEcF' / 'xNcF', then
 *   FltAllocateContext(filter, FLT_INSTANCE_CONTEXT, 0x40, NonPagedPool /
 *   NonPagedPoolNx) once, releases it, unregisters; returns 0.
 * Both return the failing status of a call they depend on.
 */
#include "flt_compat.h"

static PFLT_FILTER Filter;

#ifdef CASE_MINIFILTER
static PFLT_PORT ServerPort;
static PFLT_PORT ClientPort;

typedef struct _INSTANCE_CONTEXT {
    ULONG Magic;
    ULONG Opens;
} INSTANCE_CONTEXT;

static FLT_PREOP_CALLBACK_STATUS NTAPI PreCreate(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
                                                PVOID *CompletionContext)
{
    *CompletionContext = NULL;
    return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS NTAPI PostCreate(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
                                                  PVOID CompletionContext, ULONG Flags)
{
    return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_PREOP_CALLBACK_STATUS NTAPI PreWrite(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
                                               PVOID *CompletionContext)
{
    return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static NTSTATUS NTAPI InstanceSetup(PCFLT_RELATED_OBJECTS FltObjects, ULONG Flags, DEVICE_TYPE VolumeDeviceType,
                                    int VolumeFilesystemType)
{
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI PortConnect(PFLT_PORT Client, PVOID ServerPortCookie, PVOID ConnectionContext,
                                  ULONG SizeOfContext, PVOID *ConnectionPortCookie)
{
    ClientPort = Client;
    return STATUS_SUCCESS;
}

static VOID NTAPI PortDisconnect(PVOID ConnectionCookie)
{
    FltCloseClientPort(Filter, &ClientPort);
}

static NTSTATUS NTAPI PortMessage(PVOID PortCookie, PVOID InputBuffer, ULONG InputBufferLength,
                                  PVOID OutputBuffer, ULONG OutputBufferLength, PULONG ReturnOutputBufferLength)
{
    *ReturnOutputBufferLength = 0;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI FilterUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
    FltCloseCommunicationPort(ServerPort);
    FltUnregisterFilter(Filter);
    return STATUS_SUCCESS;
}

static const FLT_CONTEXT_REGISTRATION Contexts[] = {
    {FLT_INSTANCE_CONTEXT, 0, NULL, sizeof(INSTANCE_CONTEXT), 'xtCF', NULL, NULL, NULL},
    {FLT_CONTEXT_END},
};

static const FLT_OPERATION_REGISTRATION Operations[] = {
    {IRP_MJ_CREATE, 0, PreCreate, PostCreate, NULL},
    {IRP_MJ_WRITE, FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO, PreWrite, NULL, NULL},
    {IRP_MJ_OPERATION_END},
};

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, Contexts, Operations,
    FilterUnload, InstanceSetup,
};

static BOOLEAN SameString(const UNICODE_STRING *s, PCWSTR text)
{
    UNICODE_STRING t;
    RtlInitUnicodeString(&t, text);
    return RtlEqualUnicodeString(s, &t, FALSE);
}

/* Whether one of the DACL's ACEs allows exactly `mask` to `sid`. */
static BOOLEAN Allows(PACL dacl, PSID sid, ACCESS_MASK mask)
{
    PUCHAR at = (PUCHAR)(dacl + 1);
    ULONG length = RtlLengthSid(sid);
    USHORT i;

    for (i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = (ACCESS_ALLOWED_ACE *)at;
        if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && ace->Mask == mask &&
            ace->Header.AceSize == FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + length &&
            RtlCompareMemory(&ace->SidStart, sid, length) == length)
            return TRUE;
        at += ace->Header.AceSize;
    }
    return FALSE;
}

static NTSTATUS CheckPort(void)
{
    PSECURITY_DESCRIPTOR sd;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name;
    PFLT_PORT other;
    BOOLEAN present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    LARGE_INTEGER timeout;
    ULONG message = 0x4D534748;
    NTSTATUS st;

    if (!NT_SUCCESS(FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS)))
        return HV_FAIL(4);
    st = RtlGetDaclSecurityDescriptor(sd, &present, &dacl, &defaulted);
    if (!NT_SUCCESS(st) || !present || dacl == NULL || dacl->AceCount != 2 ||
        !Allows(dacl, SeExports->SeLocalSystemSid, FLT_PORT_ALL_ACCESS) ||
        !Allows(dacl, SeExports->SeAliasAdminsSid, FLT_PORT_ALL_ACCESS))
        return HV_FAIL(5);
    RtlInitUnicodeString(&name, L"\\HvciFltPort");
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, sd);
    st = FltCreateCommunicationPort(Filter, &ServerPort, &oa, NULL, PortConnect, PortDisconnect, PortMessage, 1);
    if (!NT_SUCCESS(st))
        return HV_FAIL(6);
    if (FltCreateCommunicationPort(Filter, &other, &oa, NULL, PortConnect, PortDisconnect, PortMessage, 1) !=
        STATUS_OBJECT_NAME_COLLISION)
        return HV_FAIL(7);
    RtlInitUnicodeString(&name, L"\\HvciFltPort2");
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, NULL, sd);
    if (FltCreateCommunicationPort(Filter, &other, &oa, NULL, PortConnect, PortDisconnect, PortMessage, 1) !=
        STATUS_INVALID_PARAMETER)
        return HV_FAIL(8);
    FltFreeSecurityDescriptor(sd);
    timeout.QuadPart = -10000;
    if (FltSendMessage(Filter, &ClientPort, &message, sizeof(message), NULL, NULL, &timeout) !=
        STATUS_PORT_DISCONNECTED)
        return HV_FAIL(9);
    return STATUS_SUCCESS;
}

static NTSTATUS CheckContexts(PFLT_INSTANCE instance)
{
    PFLT_CONTEXT context, second, old = NULL, got = NULL;
    NTSTATUS st;

    if (!NT_SUCCESS(FltAllocateContext(Filter, FLT_INSTANCE_CONTEXT, sizeof(INSTANCE_CONTEXT), NonPagedPoolNx,
                                       &context)))
        return HV_FAIL(14);
    ((INSTANCE_CONTEXT *)context)->Magic = 0x48564349;
    if (FltAllocateContext(Filter, FLT_STREAM_CONTEXT, 0x20, NonPagedPoolNx, &second) !=
        STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND)
        return HV_FAIL(15);
    if (!NT_SUCCESS(FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, context, NULL)))
        return HV_FAIL(16);
    if (!NT_SUCCESS(FltAllocateContext(Filter, FLT_INSTANCE_CONTEXT, sizeof(INSTANCE_CONTEXT), NonPagedPoolNx,
                                       &second)))
        return HV_FAIL(14);
    st = FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, second, &old);
    if (st != STATUS_FLT_CONTEXT_ALREADY_DEFINED || old != context)
        return HV_FAIL(16);
    FltReleaseContext(old);
    FltReleaseContext(second);
    if (!NT_SUCCESS(FltGetInstanceContext(instance, &got)) || got != context ||
        ((INSTANCE_CONTEXT *)got)->Magic != 0x48564349)
        return HV_FAIL(17);
    FltReleaseContext(got);

    /* An extra reference keeps the context alive through its deletion from the instance. */
    FltReferenceContext(context);
    FltReleaseContext(context);                 /* FltAllocateContext's reference */
    FltDeleteContext(context);                  /* the instance's reference */
    got = context;
    if (FltGetInstanceContext(instance, &got) != STATUS_NOT_FOUND || got != NULL)
        return HV_FAIL(27);
    if (!NT_SUCCESS(FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, context, NULL)))
        return HV_FAIL(27);
    FltReleaseContext(context);                 /* FltReferenceContext's; the instance keeps one */
    return STATUS_SUCCESS;
}

static NTSTATUS CheckNames(PFLT_INSTANCE instance)
{
    static const WCHAR path[] = L"\\Docume~1\\MyUser\\My Documents\\TestRe~1.txt:stream1:$DATA";
    FILE_OBJECT file;
    FLT_IO_PARAMETER_BLOCK iopb;
    FLT_CALLBACK_DATA data;
    PFLT_FILE_NAME_INFORMATION info, unsafe;

    RtlZeroMemory(&file, sizeof(file));
    RtlZeroMemory(&iopb, sizeof(iopb));
    RtlZeroMemory(&data, sizeof(data));
    file.Type = IO_TYPE_FILE;
    file.Size = sizeof(file);
    RtlInitUnicodeString(&file.FileName, path);
    iopb.MajorFunction = IRP_MJ_READ;
    iopb.TargetFileObject = &file;
    data.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION;
    data.Iopb = &iopb;

    if (!NT_SUCCESS(FltGetFileNameInformation(&data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT,
                                              &info)) ||
        !SameString(&info->Name,
                    L"\\Device\\HarddiskVolume1\\Docume~1\\MyUser\\My Documents\\TestRe~1.txt:stream1:$DATA"))
        return HV_FAIL(21);
    if (!NT_SUCCESS(FltParseFileNameInformation(info)))
        return HV_FAIL(22);
    if (!SameString(&info->Volume, L"\\Device\\HarddiskVolume1") || info->Share.Length != 0 ||
        !SameString(&info->ParentDir, L"\\Docume~1\\MyUser\\My Documents\\") ||
        !SameString(&info->FinalComponent, L"TestRe~1.txt:stream1:$DATA") ||
        !SameString(&info->Stream, L":stream1:$DATA") || !SameString(&info->Extension, L"txt") ||
        (info->NamesParsed & 0xF) != 0xF)
        return HV_FAIL(23);
    if (!NT_SUCCESS(FltGetFileNameInformationUnsafe(&file, instance, FLT_FILE_NAME_NORMALIZED, &unsafe)) ||
        !RtlEqualUnicodeString(&unsafe->Name, &info->Name, FALSE))
        return HV_FAIL(28);
    FltReleaseFileNameInformation(unsafe);
    FltReferenceFileNameInformation(info);
    FltReleaseFileNameInformation(info);
    if (!SameString(&info->FinalComponent, L"TestRe~1.txt:stream1:$DATA"))
        return HV_FAIL(28);
    FltReleaseFileNameInformation(info);

    if (FltIsOperationSynchronous(&data))
        return HV_FAIL(24);
    iopb.IrpFlags = IRP_SYNCHRONOUS_API;
    if (!FltIsOperationSynchronous(&data))
        return HV_FAIL(24);
    iopb.IrpFlags = 0;
    data.Flags = FLTFL_CALLBACK_DATA_FAST_IO_OPERATION;
    if (!FltIsOperationSynchronous(&data))
        return HV_FAIL(24);
    data.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION;
    iopb.MajorFunction = IRP_MJ_DEVICE_CONTROL;
    iopb.Parameters.DeviceIoControl.IoControlCode = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
    if (!FltIsOperationSynchronous(&data))
        return HV_FAIL(29);
    iopb.Parameters.DeviceIoControl.IoControlCode = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_NEITHER, FILE_ANY_ACCESS);
    if (FltIsOperationSynchronous(&data))
        return HV_FAIL(29);
    return STATUS_SUCCESS;
}

static NTSTATUS Run(PDRIVER_OBJECT DriverObject)
{
    FLT_REGISTRATION bad = Registration;
    PFLT_FILTER other, filters[4] = {NULL};
    PFLT_PORT noClient = NULL;
    PFLT_INSTANCE instances[2] = {NULL, NULL};
    ULONG count = 0;
    UNICODE_STRING name;
    PVOID buffer;
    NTSTATUS st;

    bad.Version = 0x0300;
    if (FltRegisterFilter(DriverObject, &bad, &other) != STATUS_INVALID_PARAMETER)
        return HV_FAIL(2);
    if (!NT_SUCCESS(FltRegisterFilter(DriverObject, &Registration, &Filter)))
        return HV_FAIL(1);
    if (FltRegisterFilter(DriverObject, &Registration, &other) != STATUS_FLT_INSTANCE_ALTITUDE_COLLISION)
        return HV_FAIL(3);
    st = CheckPort();
    if (!NT_SUCCESS(st))
        return st;
    if (!NT_SUCCESS(FltStartFiltering(Filter)))
        return HV_FAIL(10);
    if (FltStartFiltering(Filter) != STATUS_INVALID_PARAMETER)
        return HV_FAIL(11);

    st = FltEnumerateInstances(NULL, Filter, instances, 0, &count);
    if (st != STATUS_BUFFER_TOO_SMALL || count != 1)
        return HV_FAIL(12);
    if (!NT_SUCCESS(FltEnumerateInstances(NULL, Filter, instances, 2, &count)) || count != 1 || !instances[0])
        return HV_FAIL(13);
    if (!NT_SUCCESS(FltObjectReference(instances[0])))
        return HV_FAIL(25);
    FltObjectDereference(instances[0]);

    st = CheckContexts(instances[0]);
    if (!NT_SUCCESS(st))
        return st;

    RtlInitUnicodeString(&name, HV_NAME_W);
    if (!NT_SUCCESS(FltGetFilterFromName(&name, &other)) || other != Filter)
        return HV_FAIL(18);
    FltObjectDereference(other);
    if (FltEnumerateFilters(filters, 0, &count) != STATUS_BUFFER_TOO_SMALL || count != 1)
        return HV_FAIL(26);
    if (!NT_SUCCESS(FltEnumerateFilters(filters, 4, &count)) || count != 1 || filters[0] != Filter)
        return HV_FAIL(26);
    FltObjectDereference(filters[0]);
    FltCloseClientPort(Filter, &noClient);
    if (noClient != NULL)
        return HV_FAIL(30);
    if (FltGetRoutineAddress("FltSendMessage") != (PVOID)FltSendMessage)
        return HV_FAIL(19);

    buffer = FltAllocatePoolAlignedWithTag(instances[0], NonPagedPoolNx, 0x200, 'lAtF');
    if (buffer == NULL)
        return HV_FAIL(20);
    FltFreePoolAlignedWithTag(instances[0], buffer, 'lAtF');
    st = CheckNames(instances[0]);
    FltObjectDereference(instances[0]);
    return st;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    return Run(DriverObject);
}
#endif /* CASE_MINIFILTER */

#if defined(CASE_POOL) || defined(CASE_CONTEXT)
static const FLT_CONTEXT_REGISTRATION Contexts[] = {
    {FLT_INSTANCE_CONTEXT, 0, NULL, 0x40, PICK('xEcF', 'xNcF'), NULL, NULL, NULL},
    {FLT_CONTEXT_END},
};

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, Contexts, NULL,
};

static NOINLINE NTSTATUS UseMemory(void)
{
#ifdef CASE_POOL
    PFLT_INSTANCE instance = NULL;
    ULONG count = 0;
    PVOID buffer;
    NTSTATUS st;

    st = FltStartFiltering(Filter);
    if (!NT_SUCCESS(st))
        return st;
    st = FltEnumerateInstances(NULL, Filter, &instance, 1, &count);
    if (!NT_SUCCESS(st))
        return st;
    buffer = FltAllocatePoolAlignedWithTag(instance, PICK(HV_NonPagedPool, HV_NonPagedPoolNx), 0x200,
                                           PICK('xEpF', 'xNpF'));
    if (buffer != NULL)
        FltFreePoolAlignedWithTag(instance, buffer, PICK('xEpF', 'xNpF'));
    FltObjectDereference(instance);
    return buffer != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
#else
    PFLT_CONTEXT context;
    NTSTATUS st;

    st = FltAllocateContext(Filter, FLT_INSTANCE_CONTEXT, 0x40, PICK(HV_NonPagedPool, HV_NonPagedPoolNx), &context);
    if (!NT_SUCCESS(st))
        return st;
    FltReleaseContext(context);
    return STATUS_SUCCESS;
#endif
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st = FltRegisterFilter(DriverObject, &Registration, &Filter);
    if (!NT_SUCCESS(st))
        return st;
    st = UseMemory();
    FltUnregisterFilter(Filter);
    return st;
}
#endif /* CASE_POOL || CASE_CONTEXT */
