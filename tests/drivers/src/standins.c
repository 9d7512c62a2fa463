/*
 * standins.c - what the emulated kernel answers for exports it does not implement.  Every export
 * called here has no handler: a stand-in answers it from its C prototype (rootfs/prototypes) with
 * "not done" in the declared type, and the report shows the decoded call.
 *
 * standins (CASE_KINDS) returns, first failure wins:
 *   0xE0000001  PoRegisterSystemState (returns PVOID) did not return NULL
 *   0xE0000002  IoVerifyPartitionTable (returns NTSTATUS) did not return STATUS_NOT_IMPLEMENTED
 *   0xE0000003  PoQueryWatchdogTime (returns BOOLEAN) did not return FALSE
 *   0xE0000004  KeGetRecommendedSharedDataAlignment (returns ULONG) did not return 0
 *   0xE0000005  IoReleaseVpbSpinLock (returns VOID) changed RAX
 *   0xE0000006  IoReportResourceForDetection (seven parameters, returns NTSTATUS) did not return
 *               STATUS_NOT_IMPLEMENTED
 *   0           every answer as declared (DriverEntry succeeds although stand-ins failed)
 *
 * standin_cut (CASE_CUT): a DriverEntry that gives up because of stand-ins, as a driver does on a
 * kernel that lacks what it needs: IoVerifyPartitionTable's failure is ignored, then
 * PoRegisterSystemState's NULL makes it return STATUS_INSUFFICIENT_RESOURCES (0xC000009A).
 */
#include "compat.h"

#define ES_SYSTEM_REQUIRED 0x00000001
#define FAKE_DEVICE ((PDEVICE_OBJECT)0x1234)

#ifdef CASE_KINDS
IMPSLOT(VOID, IoReleaseVpbSpinLock)(KIRQL);

/* RAX after calling a VOID export with RAX preloaded: a VOID routine leaves it alone. */
static NOINLINE ULONG64 RaxAfterVoidCall(void)
{
    ULONG64 rax;
    __asm__ volatile("sub $40, %%rsp\n\t"
                     "movabs $0x1122334455667788, %%rax\n\t"
                     "call *%1\n\t"
                     "add $40, %%rsp"
                     : "=&a"(rax)
                     : "r"(__imp_IoReleaseVpbSpinLock), "c"(0)
                     : "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
    return rax;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    BOOLEAN conflict = TRUE;
    ULONG seconds = 0;
    UNREFERENCED_PARAMETER(RegistryPath);

    if (PoRegisterSystemState(NULL, ES_SYSTEM_REQUIRED) != NULL)
        return HV_FAIL(1);
    if (IoVerifyPartitionTable(FAKE_DEVICE, TRUE) != STATUS_NOT_IMPLEMENTED)
        return HV_FAIL(2);
    if (PoQueryWatchdogTime(FAKE_DEVICE, &seconds) != FALSE)
        return HV_FAIL(3);
    if (KeGetRecommendedSharedDataAlignment() != 0)
        return HV_FAIL(4);
    if (RaxAfterVoidCall() != 0x1122334455667788ull)
        return HV_FAIL(5);
    if (IoReportResourceForDetection(DriverObject, NULL, 0x11, NULL, NULL, 0x22, &conflict) != STATUS_NOT_IMPLEMENTED)
        return HV_FAIL(6);
    return STATUS_SUCCESS;
}
#endif

#ifdef CASE_CUT
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    (void)IoVerifyPartitionTable(FAKE_DEVICE, FALSE);              /* best effort */
    if (PoRegisterSystemState(NULL, ES_SYSTEM_REQUIRED) == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    return STATUS_SUCCESS;
}
#endif
