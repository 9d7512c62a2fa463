/*
 * kernel_more.c - kernel services file systems, redirectors and tools call in DriverEntry and in
 * their dispatch routines: SIDs, Unicode prefix tables, MUP/UNC and file-system registration,
 * file-system filter callbacks, the caller's mode and privileges, named events, PCI configuration
 * space through the HAL, XSTATE features and the top-level IRP.  Expected values come from
 * Microsoft's documentation of each routine (and of the SID layout, winnt.h).
 *
 * DriverEntry returns (first failure wins):
 *   0xE0000001  RtlLengthRequiredSid(2) != 16
 *   0xE0000002  RtlInitializeSid + RtlSubAuthoritySid did not build S-1-5-32-544 byte for byte, or
 *               RtlValidSid / RtlLengthSid / RtlSubAuthorityCountSid disagree with it
 *   0xE0000003  RtlInitializeSid with 16 sub-authorities (max 15) did not fail
 *   0xE0000004  RtlCopySid: a too-small buffer did not give STATUS_BUFFER_TOO_SMALL, or the copy is
 *               not RtlEqualSid to the source, or a changed copy still is
 *   0xE0000018  RtlAddAccessAllowedAceEx did not append one ACCESS_ALLOWED_ACE with the given AceFlags,
 *               mask and SID (AceSize 8 + the SID's 16 bytes)
 *   0xE0000005  RtlInsertUnicodePrefix: a new prefix was refused, or a duplicate (other case) accepted
 *   0xE0000006  RtlFindUnicodePrefix: "\a\b\x" not found under "\a\b", "\a\bx" not under "\a"
 *               (prefixes end on a component), or "\A\B\X" (case-insensitive from 0) not under "\a\b"
 *   0xE0000007  RtlFindUnicodePrefix found something for "\d"
 *   0xE0000008  after RtlRemoveUnicodePrefix("\a\b"), "\a\b\x" is not found under "\a"
 *   0xE0000009  RtlNextUnicodePrefix did not enumerate the 2 entries left
 *   0xE000000A  FsRtlRegisterUncProviderEx failed or gave no handle
 *   0xE000000B  FsRtlRegisterFileSystemFilterCallbacks failed
 *   0xE000000C  ExGetPreviousMode() in DriverEntry is not KernelMode
 *   0xE000000D  SeCaptureSubjectContext gave no primary token
 *   0xE000000E  SePrivilegeCheck(SeTcbPrivilege, UserMode) for the System process failed, or did not
 *               mark the privilege SE_PRIVILEGE_USED_FOR_ACCESS
 *   0xE000000F  SeSinglePrivilegeCheck(SeTcbPrivilege, UserMode) in the System process failed
 *   0xE0000010  IoCreateNotificationEvent gave no event, or it is not Signaled (a new event is)
 *   0xE0000011  a second IoCreateNotificationEvent of the same name did not open the same event
 *               through a new handle
 *   0xE0000012  IoCreateSynchronizationEvent: not Signaled, or a satisfied wait did not reset it
 *   0xE0000013  ObReferenceObjectByHandle(event handle, *ExEventObjectType) is not the event
 *   0xE0000014  HalGetBusDataByOffset of bus 0 slot 0 (empty) did not return 2 with VendorID
 *               PCI_INVALID_VENDORID
 *   0xE0000015  HalGetBusDataByOffset of a bus that does not exist did not return 0, or
 *               HalSetBusDataByOffset to an empty slot did not return 0
 *   0xE0000016  RtlGetEnabledExtendedFeatures does not report x87, SSE and AVX (mask 7), or reports
 *               a feature it was not asked about
 *   0xE0000017  IoGetTopLevelIrp is not NULL at first, or not what IoSetTopLevelIrp set
 *
 * IRP_MJ_CREATE (a user request: the emulated user process is an elevated administrator) completes with:
 *   0xE0000020  ExGetPreviousMode() is not UserMode
 *   0xE0000021  SeSinglePrivilegeCheck(SeDebugPrivilege, UserMode) failed (administrators hold it)
 *   0xE0000022  SeSinglePrivilegeCheck(SeTcbPrivilege, UserMode) passed (administrators lack it)
 *   0xE0000023  SePrivilegeCheck of {SeLoadDriverPrivilege, SeTcbPrivilege}: any-one did not pass
 *               with only SeLoadDriverPrivilege marked used, or all-necessary passed
 *   else STATUS_SUCCESS.
 *
 * Exported for the Python test: FsDevice (IoRegisterFileSystem'd, stays registered), PreAcquire
 * (the filter callback set).
 */
#include "compat.h"

#define SE_LUID(n) RtlConvertLongToLuid(n)

__declspec(dllexport) PDEVICE_OBJECT FsDevice;

__declspec(dllexport) NTSTATUS NTAPI PreAcquire(PFS_FILTER_CALLBACK_DATA Data, PVOID *CompletionContext)
{
    return STATUS_SUCCESS;
}

static BOOLEAN Same(const void *a, const void *b, SIZE_T n)
{
    return RtlCompareMemory(a, b, n) == n;
}

static NTSTATUS AllowedAce(PSID sid)
{
    ULONG64 storage[8];
    PACL acl = (PACL)storage;
    PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)(acl + 1);

    if (RtlCreateAcl(acl, sizeof(storage), ACL_REVISION) != STATUS_SUCCESS ||
        RtlAddAccessAllowedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, GENERIC_READ, sid) !=
            STATUS_SUCCESS)
        return HV_FAIL(0x18);
    if (acl->AceCount != 1 || ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE ||
        ace->Header.AceFlags != (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE) || ace->Header.AceSize != 8 + 16 ||
        ace->Mask != GENERIC_READ || !Same(&ace->SidStart, sid, 16))
        return HV_FAIL(0x18);
    return STATUS_SUCCESS;
}

static NTSTATUS Sids(void)
{
    static const UCHAR admins[16] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};   /* S-1-5-32-544 */
    SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
    ULONG sid[4], copy[4], small[2];

    if (RtlLengthRequiredSid(2) != 16)
        return HV_FAIL(1);
    if (RtlInitializeSid(sid, &nt, 2) != STATUS_SUCCESS)
        return HV_FAIL(2);
    *RtlSubAuthoritySid(sid, 0) = SECURITY_BUILTIN_DOMAIN_RID;
    *RtlSubAuthoritySid(sid, 1) = DOMAIN_ALIAS_RID_ADMINS;
    if (!Same(sid, admins, 16) || !RtlValidSid(sid) || RtlLengthSid(sid) != 16 || *RtlSubAuthorityCountSid(sid) != 2)
        return HV_FAIL(2);
    if (RtlInitializeSid(copy, &nt, 16) != STATUS_INVALID_PARAMETER)
        return HV_FAIL(3);
    if (RtlCopySid(sizeof(small), small, sid) != STATUS_BUFFER_TOO_SMALL)
        return HV_FAIL(4);
    if (RtlCopySid(sizeof(copy), copy, sid) != STATUS_SUCCESS || !RtlEqualSid(copy, sid))
        return HV_FAIL(4);
    copy[3] = DOMAIN_ALIAS_RID_USERS;
    if (RtlEqualSid(copy, sid))
        return HV_FAIL(4);
    return AllowedAce(sid);
}

static NTSTATUS Prefixes(void)
{
    static UNICODE_PREFIX_TABLE table;
    static UNICODE_PREFIX_TABLE_ENTRY a, ab, c, dup;
    UNICODE_STRING sa = RTL_CONSTANT_STRING(L"\\a"), sab = RTL_CONSTANT_STRING(L"\\a\\b");
    UNICODE_STRING sc = RTL_CONSTANT_STRING(L"\\c"), sdup = RTL_CONSTANT_STRING(L"\\A\\B");
    UNICODE_STRING under_ab = RTL_CONSTANT_STRING(L"\\a\\b\\x"), abx = RTL_CONSTANT_STRING(L"\\a\\bx");
    UNICODE_STRING upper = RTL_CONSTANT_STRING(L"\\A\\B\\X"), d = RTL_CONSTANT_STRING(L"\\d");
    PUNICODE_PREFIX_TABLE_ENTRY e;
    int n = 0;

    RtlInitializeUnicodePrefix(&table);
    if (!RtlInsertUnicodePrefix(&table, &sa, &a) || !RtlInsertUnicodePrefix(&table, &sab, &ab) ||
        !RtlInsertUnicodePrefix(&table, &sc, &c) || RtlInsertUnicodePrefix(&table, &sdup, &dup))
        return HV_FAIL(5);
    if (RtlFindUnicodePrefix(&table, &under_ab, 0) != &ab || RtlFindUnicodePrefix(&table, &abx, 0) != &a ||
        RtlFindUnicodePrefix(&table, &upper, 0) != &ab)
        return HV_FAIL(6);
    if (RtlFindUnicodePrefix(&table, &d, 0) != NULL)
        return HV_FAIL(7);
    RtlRemoveUnicodePrefix(&table, &ab);
    if (RtlFindUnicodePrefix(&table, &under_ab, 0) != &a)
        return HV_FAIL(8);
    for (e = RtlNextUnicodePrefix(&table, TRUE); e != NULL && n < 10; e = RtlNextUnicodePrefix(&table, FALSE))
        n++;
    if (n != 2)
        return HV_FAIL(9);
    return STATUS_SUCCESS;
}

static NTSTATUS FileSystems(PDRIVER_OBJECT DriverObject)
{
    static FS_FILTER_CALLBACKS callbacks;
    UNICODE_STRING redir = RTL_CONSTANT_STRING(L"\\Device\\KernelMoreRedir");
    PDEVICE_OBJECT other;
    HANDLE mup = NULL;
    NTSTATUS st;

    st = IoCreateDevice(DriverObject, 0, &redir, FILE_DEVICE_NETWORK_FILE_SYSTEM, 0, FALSE, &FsDevice);
    if (!NT_SUCCESS(st))
        return st;
    st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_DISK_FILE_SYSTEM, 0, FALSE, &other);
    if (!NT_SUCCESS(st))
        return st;
    if (FsRtlRegisterUncProviderEx(&mup, &redir, FsDevice, 0) != STATUS_SUCCESS || mup == NULL)
        return HV_FAIL(10);
    FsRtlDeregisterUncProvider(mup);
    IoRegisterFileSystem(FsDevice);
    IoRegisterFileSystem(other);
    IoUnregisterFileSystem(other);
    callbacks.SizeOfFsFilterCallbacks = sizeof(callbacks);
    callbacks.PreAcquireForSectionSynchronization = PreAcquire;
    if (FsRtlRegisterFileSystemFilterCallbacks(DriverObject, &callbacks) != STATUS_SUCCESS)
        return HV_FAIL(11);
    return STATUS_SUCCESS;
}

static NTSTATUS KernelCaller(void)
{
    SECURITY_SUBJECT_CONTEXT subject;
    PRIVILEGE_SET set;
    BOOLEAN held;

    if (ExGetPreviousMode() != KernelMode)
        return HV_FAIL(12);
    SeCaptureSubjectContext(&subject);
    SeLockSubjectContext(&subject);
    if (subject.PrimaryToken == NULL)
        return HV_FAIL(13);
    set.PrivilegeCount = 1;
    set.Control = PRIVILEGE_SET_ALL_NECESSARY;
    set.Privilege[0].Luid = SE_LUID(SE_TCB_PRIVILEGE);
    set.Privilege[0].Attributes = 0;
    held = SePrivilegeCheck(&set, &subject, UserMode);
    SeUnlockSubjectContext(&subject);
    SeReleaseSubjectContext(&subject);
    if (!held || !(set.Privilege[0].Attributes & SE_PRIVILEGE_USED_FOR_ACCESS))
        return HV_FAIL(14);
    if (!SeSinglePrivilegeCheck(SE_LUID(SE_TCB_PRIVILEGE), UserMode))
        return HV_FAIL(15);
    return STATUS_SUCCESS;
}

static NTSTATUS NamedEvents(void)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\KernelMoreNotify");
    UNICODE_STRING sync_name = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\KernelMoreSync");
    HANDLE h1 = NULL, h2 = NULL, hs = NULL;
    PKEVENT e1, e2, es;
    PVOID object = NULL;
    LARGE_INTEGER zero = {0};
    NTSTATUS st = STATUS_SUCCESS;

    e1 = IoCreateNotificationEvent(&name, &h1);
    if (e1 == NULL || h1 == NULL || KeReadStateEvent(e1) != 1)
        return HV_FAIL(16);
    e2 = IoCreateNotificationEvent(&name, &h2);
    if (e2 != e1 || h2 == NULL || h2 == h1)
        st = HV_FAIL(17);
    es = IoCreateSynchronizationEvent(&sync_name, &hs);
    if (NT_SUCCESS(st) && (es == NULL || KeReadStateEvent(es) != 1 ||
                           KeWaitForSingleObject(es, Executive, KernelMode, FALSE, &zero) != STATUS_SUCCESS ||
                           KeReadStateEvent(es) != 0))
        st = HV_FAIL(18);
    if (NT_SUCCESS(st)) {
        if (ObReferenceObjectByHandle(h1, 0, *ExEventObjectType, KernelMode, &object, NULL) != STATUS_SUCCESS ||
            object != e1)
            st = HV_FAIL(19);
        else
            ObDereferenceObject(object);
    }
    ZwClose(h1);
    if (h2)
        ZwClose(h2);
    if (hs)
        ZwClose(hs);
    return st;
}

static NTSTATUS Platform(void)
{
    UCHAR buf[4] = {0x11, 0x22, 0x33, 0x44};
    ULONG64 all = RtlGetEnabledExtendedFeatures((ULONG64)-1);

    if (HalGetBusDataByOffset(PCIConfiguration, 0, 0, buf, 0, sizeof(buf)) != 2 ||
        *(USHORT *)buf != PCI_INVALID_VENDORID)
        return HV_FAIL(20);
    if (HalGetBusDataByOffset(PCIConfiguration, 0xFF, 0, buf, 0, sizeof(buf)) != 0 ||
        HalSetBusDataByOffset(PCIConfiguration, 0, 0, buf, 4, 2) != 0)
        return HV_FAIL(21);
    if ((all & 7) != 7 || RtlGetEnabledExtendedFeatures(4) != 4 || RtlGetEnabledExtendedFeatures(1ULL << 62) != 0)
        return HV_FAIL(22);
    if (IoGetTopLevelIrp() != NULL)
        return HV_FAIL(23);
    IoSetTopLevelIrp((PIRP)FSRTL_FSP_TOP_LEVEL_IRP);
    if (IoGetTopLevelIrp() != (PIRP)FSRTL_FSP_TOP_LEVEL_IRP)
        return HV_FAIL(23);
    IoSetTopLevelIrp(NULL);
    return STATUS_SUCCESS;
}

static NTSTATUS UserCaller(void)
{
    SECURITY_SUBJECT_CONTEXT subject;
    struct { PRIVILEGE_SET set; LUID_AND_ATTRIBUTES more; } two;
    BOOLEAN any, all;

    if (ExGetPreviousMode() != UserMode)
        return HV_FAIL(0x20);
    if (!SeSinglePrivilegeCheck(SE_LUID(SE_DEBUG_PRIVILEGE), UserMode))
        return HV_FAIL(0x21);
    if (SeSinglePrivilegeCheck(SE_LUID(SE_TCB_PRIVILEGE), UserMode))
        return HV_FAIL(0x22);
    SeCaptureSubjectContext(&subject);
    RtlZeroMemory(&two, sizeof(two));
    two.set.PrivilegeCount = 2;
    two.set.Privilege[0].Luid = SE_LUID(SE_LOAD_DRIVER_PRIVILEGE);
    two.more.Luid = SE_LUID(SE_TCB_PRIVILEGE);
    any = SePrivilegeCheck(&two.set, &subject, UserMode);
    if (!any || !(two.set.Privilege[0].Attributes & SE_PRIVILEGE_USED_FOR_ACCESS) ||
        (two.more.Attributes & SE_PRIVILEGE_USED_FOR_ACCESS)) {
        SeReleaseSubjectContext(&subject);
        return HV_FAIL(0x23);
    }
    two.set.Control = PRIVILEGE_SET_ALL_NECESSARY;
    all = SePrivilegeCheck(&two.set, &subject, UserMode);
    SeReleaseSubjectContext(&subject);
    return all ? HV_FAIL(0x23) : STATUS_SUCCESS;
}

static NTSTATUS NTAPI Create(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    NTSTATUS st = UserCaller();
    Irp->IoStatus.Status = st;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS NTAPI Close(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    if (!NT_SUCCESS(st = Sids()) || !NT_SUCCESS(st = Prefixes()) || !NT_SUCCESS(st = FileSystems(DriverObject)) ||
        !NT_SUCCESS(st = KernelCaller()) || !NT_SUCCESS(st = NamedEvents()) || !NT_SUCCESS(st = Platform()))
        return st;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Create;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = Close;
    return STATUS_SUCCESS;
}
