/*
 * sysinfo.c - ZwQuerySystemInformation as drivers use it: probe the size
 * with an empty buffer, allocate, query; compare with what the kernel says
 * elsewhere (data exports, the driver's own image, PsLoadedModuleList).
 *
 * Return values (first failure wins):
 *   0xE0000001  SystemBasicInformation: a size probe (length 0, or one too
 *               many) did not give STATUS_INFO_LENGTH_MISMATCH with
 *               ReturnLength == sizeof(SYSTEM_BASIC_INFORMATION)
 *   0xE0000002  SystemBasicInformation: PageSize, NumberOfProcessors
 *               (KeNumberProcessors), ActiveProcessorsAffinityMask
 *               (KeQueryActiveProcessors) or MaximumUserModeAddress
 *               (MmHighestUserAddress) wrong
 *   0xE0000003  SystemProcessorInformation is not AMD64
 *   0xE0000004  SystemModuleInformation: the empty probe did not give
 *               STATUS_INFO_LENGTH_MISMATCH with a usable ReturnLength, or
 *               the query with that length failed
 *   0xE0000005  the module list does not start with ntoskrnl.exe containing
 *               ZwQuerySystemInformation, or lacks hal.dll
 *   0xE0000006  no module named sysinfo.sys with this image's DriverStart
 *               and DriverSize
 *   0xE0000007  NumberOfModules differs from the number of entries on
 *               PsLoadedModuleList (the ring through DriverObject->DriverSection)
 *   0xE0000008  SystemProcessInformation: probe or query failed, or no
 *               process 4 named "System" with at least one thread
 *   0xE0000009  SystemKernelDebuggerInformation disagrees with
 *               KdDebuggerEnabled / KdDebuggerNotPresent
 *   0xE000000A  SystemCodeIntegrityInformation does not report code
 *               integrity and HVCI kernel-mode code integrity enabled
 *   0xE000000B  an unknown class did not give STATUS_INVALID_INFO_CLASS
 */
#include "compat.h"

static BOOLEAN SameNoCase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y)
            return FALSE;
    }
    return *a == *b;
}

static BOOLEAN Contains(const HV_RTL_PROCESS_MODULE_INFORMATION *m, const void *p)
{
    return (ULONG_PTR)p >= (ULONG_PTR)m->ImageBase && (ULONG_PTR)p < (ULONG_PTR)m->ImageBase + m->ImageSize;
}

static NTSTATUS Basic(void)
{
    HV_SYSTEM_BASIC_INFORMATION basic[2];
    HV_SYSTEM_PROCESSOR_INFORMATION cpu;
    ULONG len = 0;

    if (ZwQuerySystemInformation(HV_SystemBasicInformation, NULL, 0, &len) != STATUS_INFO_LENGTH_MISMATCH ||
        len != sizeof(basic[0]))
        return HV_FAIL(1);
    len = 0;
    if (ZwQuerySystemInformation(HV_SystemBasicInformation, basic, sizeof(basic[0]) + 8, &len) !=
            STATUS_INFO_LENGTH_MISMATCH || len != sizeof(basic[0]))
        return HV_FAIL(1);
    if (!NT_SUCCESS(ZwQuerySystemInformation(HV_SystemBasicInformation, basic, sizeof(basic[0]), &len)) ||
        basic[0].PageSize != PAGE_SIZE || basic[0].NumberOfProcessors != KeNumberProcessors ||
        basic[0].ActiveProcessorsAffinityMask != KeQueryActiveProcessors() ||
        basic[0].MaximumUserModeAddress != (ULONG_PTR)MmHighestUserAddress)
        return HV_FAIL(2);
    if (!NT_SUCCESS(ZwQuerySystemInformation(HV_SystemProcessorInformation, &cpu, sizeof(cpu), NULL)) ||
        cpu.ProcessorArchitecture != HV_PROCESSOR_ARCHITECTURE_AMD64)
        return HV_FAIL(3);
    return STATUS_SUCCESS;
}

static NTSTATUS Modules(PDRIVER_OBJECT DriverObject)
{
    HV_RTL_PROCESS_MODULES *mods;
    ULONG len = 0, i, listed = 0;
    BOOLEAN hal = FALSE, self = FALSE;
    PLIST_ENTRY e;
    NTSTATUS st = STATUS_SUCCESS;

    if (ZwQuerySystemInformation(HV_SystemModuleInformation, NULL, 0, &len) != STATUS_INFO_LENGTH_MISMATCH ||
        len < sizeof(HV_RTL_PROCESS_MODULES))
        return HV_FAIL(4);
    mods = ExAllocatePoolWithTag(PagedPool, len, 'domS');
    if (mods == NULL)
        return HV_FAIL(4);
    if (!NT_SUCCESS(ZwQuerySystemInformation(HV_SystemModuleInformation, mods, len, &len))) {
        st = HV_FAIL(4);
        goto out;
    }
    if (mods->NumberOfModules < 3 ||
        !SameNoCase((const char *)mods->Modules[0].FullPathName + mods->Modules[0].OffsetToFileName, "ntoskrnl.exe") ||
        !Contains(&mods->Modules[0], (const void *)ZwQuerySystemInformation)) {
        st = HV_FAIL(5);
        goto out;
    }
    for (i = 0; i < mods->NumberOfModules; i++) {
        const HV_RTL_PROCESS_MODULE_INFORMATION *m = &mods->Modules[i];
        const char *file = (const char *)m->FullPathName + m->OffsetToFileName;
        hal |= SameNoCase(file, "hal.dll");
        self |= SameNoCase(file, "sysinfo.sys") && m->ImageBase == DriverObject->DriverStart &&
                m->ImageSize == DriverObject->DriverSize && Contains(m, (const void *)DriverEntry);
    }
    if (!hal) {
        st = HV_FAIL(5);
        goto out;
    }
    if (!self) {
        st = HV_FAIL(6);
        goto out;
    }
    /* This driver's loader entry is on PsLoadedModuleList: the ring through it holds every
     * module's entry and the list head itself. */
    for (e = ((PLIST_ENTRY)DriverObject->DriverSection)->Flink;
         e != (PLIST_ENTRY)DriverObject->DriverSection && listed < 1000; e = e->Flink)
        listed++;
    if (listed != mods->NumberOfModules)
        st = HV_FAIL(7);
out:
    ExFreePoolWithTag(mods, 'domS');
    return st;
}

static NTSTATUS Processes(void)
{
    UCHAR *buffer;
    HV_SYSTEM_PROCESS_INFORMATION *p;
    ULONG len = 0;
    BOOLEAN found = FALSE;
    UNICODE_STRING system;
    NTSTATUS st;

    if (ZwQuerySystemInformation(HV_SystemProcessInformation, NULL, 0, &len) != STATUS_INFO_LENGTH_MISMATCH ||
        len < sizeof(HV_SYSTEM_PROCESS_INFORMATION))
        return HV_FAIL(8);
    buffer = ExAllocatePoolWithTag(NonPagedPoolNx, len, 'corP');
    if (buffer == NULL)
        return HV_FAIL(8);
    st = ZwQuerySystemInformation(HV_SystemProcessInformation, buffer, len, NULL);
    RtlInitUnicodeString(&system, L"System");
    for (p = (HV_SYSTEM_PROCESS_INFORMATION *)buffer; NT_SUCCESS(st);
         p = (HV_SYSTEM_PROCESS_INFORMATION *)((UCHAR *)p + p->NextEntryOffset)) {
        if (p->UniqueProcessId == (HANDLE)4 && p->NumberOfThreads >= 1 &&
            RtlEqualUnicodeString(&p->ImageName, &system, FALSE))
            found = TRUE;
        if (p->NextEntryOffset == 0)
            break;
    }
    ExFreePoolWithTag(buffer, 'corP');
    return found ? STATUS_SUCCESS : HV_FAIL(8);
}

static NTSTATUS DebuggerAndIntegrity(void)
{
    HV_SYSTEM_KERNEL_DEBUGGER_INFORMATION kd;
    HV_SYSTEM_CODEINTEGRITY_INFORMATION ci = {sizeof(ci), 0};
    const ULONG wanted = HV_CODEINTEGRITY_OPTION_ENABLED | HV_CODEINTEGRITY_OPTION_HVCI_KMCI_ENABLED;
    ULONG junk;

    if (!NT_SUCCESS(ZwQuerySystemInformation(HV_SystemKernelDebuggerInformation, &kd, sizeof(kd), NULL)) ||
        kd.KernelDebuggerEnabled != KdDebuggerEnabled || kd.KernelDebuggerNotPresent != KdDebuggerNotPresent)
        return HV_FAIL(9);
    if (!NT_SUCCESS(ZwQuerySystemInformation(HV_SystemCodeIntegrityInformation, &ci, sizeof(ci), NULL)) ||
        (ci.CodeIntegrityOptions & wanted) != wanted)
        return HV_FAIL(10);
    if (ZwQuerySystemInformation(0x7FFF, &junk, sizeof(junk), NULL) != STATUS_INVALID_INFO_CLASS)
        return HV_FAIL(11);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(RegistryPath);
    if (!NT_SUCCESS(st = Basic()) || !NT_SUCCESS(st = Modules(DriverObject)) || !NT_SUCCESS(st = Processes()) ||
        !NT_SUCCESS(st = DebuggerAndIntegrity()))
        return st;
    DbgPrint("sysinfo: ok\n");
    return STATUS_SUCCESS;
}
