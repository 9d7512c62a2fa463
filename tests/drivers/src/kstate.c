/*
 * kstate.c - the kernel state a driver sees in DriverEntry.  Load it as
 * "kstate" (file kstate.sys, service key ...\Services\kstate).
 *
 * Return values (first failure wins):
 *   0xE0000001  IRQL read from CR8 is not PASSIVE_LEVEL
 *   0xE0000002  the KeGetCurrentIrql export disagrees with CR8
 *   0xE0000003  after KeRaiseIrql(DISPATCH_LEVEL): old IRQL != 0, or CR8 or
 *               the KeGetCurrentIrql export != DISPATCH_LEVEL
 *   0xE0000004  after KeLowerIrql: CR8 != PASSIVE_LEVEL
 *   0xE0000005  the PsGetCurrentThread export is NULL or differs from
 *               KeGetCurrentThread() (gs:[188h])
 *   0xE0000006  the PsGetCurrentProcess export, IoGetCurrentProcess() and
 *               PsInitialSystemProcess are not all the same process
 *   0xE0000007  DriverObject->DriverName != L"\Driver\kstate"
 *   0xE0000008  RegistryPath does not end with L"\Services\kstate"
 *               (case-insensitive)
 *   0xE0000009  some DriverObject->MajorFunction[0..27] entry is NULL
 *               (the I/O manager pre-fills them before DriverEntry)
 *   0xE000000A  RtlGetVersion is not 10.0.22631
 *   0xE000000B  DriverObject->Type != IO_TYPE_DRIVER (4) or Size wrong
 *   0xE000000C  DriverStart/DriverSize/DriverInit do not describe this image
 *   0xE000000D  DriverObject->DriverExtension missing or not linked back
 *   0xE000000E  PsGetCurrentProcessId() != 4 (the System process)
 *   0xE000000F  KPCR: gs:[18h] (Self) is NULL or gs:[20h] (CurrentPrcb) !=
 *               Self + 180h
 */
#include "compat.h"
#include <ntimage.h>

extern IMAGE_DOS_HEADER __image_base__;
#define HV_IMAGE_BASE ((PUCHAR)&__image_base__)

/* MinGW implements these as inline functions; call the real exports. */
IMPSLOT(KIRQL, KeGetCurrentIrql)(VOID);
IMPSLOT(PETHREAD, PsGetCurrentThread)(VOID);
IMPSLOT(PEPROCESS, PsGetCurrentProcess)(VOID);

static NOINLINE BOOLEAN EqualExact(PCUNICODE_STRING s, PCWSTR literal)
{
    USHORT i, n = s->Length / sizeof(WCHAR);
    for (i = 0; i < n; i++) {
        if (literal[i] == L'\0' || s->Buffer[i] != literal[i])
            return FALSE;
    }
    return literal[n] == L'\0';
}

static WCHAR Lower(WCHAR c)
{
    return (c >= L'A' && c <= L'Z') ? (WCHAR)(c + (L'a' - L'A')) : c;
}

static NOINLINE BOOLEAN EndsWithNoCase(PCUNICODE_STRING s, PCWSTR suffix)
{
    USHORT n = s->Length / sizeof(WCHAR), m = 0, i;
    while (suffix[m] != L'\0')
        m++;
    if (s->Buffer == NULL || n < m)
        return FALSE;
    for (i = 0; i < m; i++) {
        if (Lower(s->Buffer[n - m + i]) != Lower(suffix[i]))
            return FALSE;
    }
    return TRUE;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL oldIrql;
    ULONG64 cr8;
    PETHREAD thread;
    PEPROCESS process;
    RTL_OSVERSIONINFOW vi;
    PIMAGE_NT_HEADERS64 nt;
    ULONG64 pcrSelf, prcb;
    ULONG i;

    DbgPrint("kstate: DriverName=%wZ RegistryPath=%wZ\n", &DriverObject->DriverName, RegistryPath);

    /* IRQL */
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        return HV_FAIL(1);
    if (IMPCALL(KeGetCurrentIrql)() != PASSIVE_LEVEL)
        return HV_FAIL(2);
    KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
    cr8 = __readcr8();
    if (oldIrql != PASSIVE_LEVEL || cr8 != DISPATCH_LEVEL || IMPCALL(KeGetCurrentIrql)() != DISPATCH_LEVEL) {
        KeLowerIrql(oldIrql);
        return HV_FAIL(3);
    }
    KeLowerIrql(oldIrql);
    if (__readcr8() != PASSIVE_LEVEL)
        return HV_FAIL(4);

    /* current thread and process */
    thread = IMPCALL(PsGetCurrentThread)();
    if (thread == NULL || thread != (PETHREAD)KeGetCurrentThread())
        return HV_FAIL(5);
    process = IMPCALL(PsGetCurrentProcess)();
    if (process == NULL || process != IoGetCurrentProcess() || process != PsInitialSystemProcess)
        return HV_FAIL(6);

    /* driver object */
    if (!EqualExact(&DriverObject->DriverName, L"\\Driver\\kstate"))
        return HV_FAIL(7);
    if (!EndsWithNoCase(RegistryPath, L"\\Services\\kstate"))
        return HV_FAIL(8);
    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        if (DriverObject->MajorFunction[i] == NULL)
            return HV_FAIL(9);
    }

    /* version */
    RtlZeroMemory(&vi, sizeof(vi));
    vi.dwOSVersionInfoSize = sizeof(vi);
    if (!NT_SUCCESS(RtlGetVersion(&vi)) || vi.dwMajorVersion != 10 || vi.dwMinorVersion != 0 ||
        vi.dwBuildNumber != 22631)
        return HV_FAIL(10);

    if (DriverObject->Type != IO_TYPE_DRIVER || DriverObject->Size != sizeof(DRIVER_OBJECT))
        return HV_FAIL(11);
    nt = (PIMAGE_NT_HEADERS64)(HV_IMAGE_BASE + ((PIMAGE_DOS_HEADER)HV_IMAGE_BASE)->e_lfanew);
    if ((PUCHAR)DriverObject->DriverStart != HV_IMAGE_BASE ||
        DriverObject->DriverSize != nt->OptionalHeader.SizeOfImage ||
        DriverObject->DriverInit != DriverEntry)
        return HV_FAIL(12);
    if (DriverObject->DriverExtension == NULL || DriverObject->DriverExtension->DriverObject != DriverObject)
        return HV_FAIL(13);
    if (PsGetCurrentProcessId() != (HANDLE)4)
        return HV_FAIL(14);

    /* KPCR self-description */
    pcrSelf = __readgsqword(0x18);
    prcb = __readgsqword(0x20);
    if (pcrSelf == 0 || prcb != pcrSelf + 0x180)
        return HV_FAIL(15);

    DbgPrint("kstate: ok: thread=%p process=%p build=%u\n", thread, process, vi.dwBuildNumber);
    return STATUS_SUCCESS;
}
