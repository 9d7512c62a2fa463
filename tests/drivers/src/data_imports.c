/*
 * data_imports.c - exported ntoskrnl *variables*, reached through the IAT
 * (`mov rax, [rip+__imp_X]` then a load from rax), must exist, live in
 * kernel space and hold Windows 11 23H2 (build 22631) x64 values.
 *
 * Return values (first failure wins):
 *   0xE0000001  (NtBuildNumber & 0xFFFF) != 22631
 *   0xE0000002  NtBuildNumber >> 28 != 0xF (free build marker)
 *   0xE0000003  MmUserProbeAddress != 0x7FFFFFFF0000
 *   0xE0000004  MmHighestUserAddress != 0x7FFFFFFEFFFF
 *   0xE0000005  MmSystemRangeStart != 0xFFFF800000000000
 *   0xE0000006  KdDebuggerNotPresent or KdDebuggerEnabled is not 0 or 1
 *   0xE0000007  InitSafeBootMode != 0 (normal boot)
 *   0xE0000008  KeNumberProcessors outside 1..64
 *   0xE0000009  PsInitialSystemProcess is NULL or not a kernel address
 *   0xE000000A  PsInitialSystemProcess != IoGetCurrentProcess() (DriverEntry runs in System)
 *   0xE000000B  one of the variables' own addresses is not a kernel address
 * On success it DbgPrints every value and returns STATUS_SUCCESS.
 */
#include "compat.h"

/* Not declared by the MinGW headers. */
extern IMPORT ULONG NtBuildNumber;
extern IMPORT ULONG InitSafeBootMode;

#define KERNEL_SPACE 0xFFFF800000000000ULL
#define IS_KERNEL(p) ((ULONG_PTR)(p) >= KERNEL_SPACE)

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    ULONG build = NtBuildNumber;
    ULONG64 probe = MmUserProbeAddress;
    PVOID highest = MmHighestUserAddress;
    PVOID systemStart = MmSystemRangeStart;
    BOOLEAN notPresent = KdDebuggerNotPresent;
    BOOLEAN enabled = KdDebuggerEnabled;
    ULONG safeBoot = InitSafeBootMode;
    LONG cpus = KeNumberProcessors;
    PEPROCESS system = PsInitialSystemProcess;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    DbgPrint("data_imports: NtBuildNumber=0x%08X MmUserProbeAddress=0x%I64X "
             "MmHighestUserAddress=%p MmSystemRangeStart=%p\n",
             build, probe, highest, systemStart);
    DbgPrint("data_imports: KdDebuggerNotPresent=%u KdDebuggerEnabled=%u InitSafeBootMode=%u "
             "KeNumberProcessors=%d PsInitialSystemProcess=%p\n",
             (ULONG)notPresent, (ULONG)enabled, safeBoot, cpus, system);

    if ((build & 0xFFFF) != 22631)
        return HV_FAIL(1);
    if ((build >> 28) != 0xF)
        return HV_FAIL(2);
    if (probe != 0x7FFFFFFF0000ULL)
        return HV_FAIL(3);
    if ((ULONG_PTR)highest != 0x7FFFFFFEFFFFULL)
        return HV_FAIL(4);
    if ((ULONG_PTR)systemStart != KERNEL_SPACE)
        return HV_FAIL(5);
    if (notPresent > 1 || enabled > 1)
        return HV_FAIL(6);
    if (safeBoot != 0)
        return HV_FAIL(7);
    if (cpus < 1 || cpus > 64)
        return HV_FAIL(8);
    if (system == NULL || !IS_KERNEL(system))
        return HV_FAIL(9);
    if (system != IoGetCurrentProcess())
        return HV_FAIL(10);
    if (!IS_KERNEL(&NtBuildNumber) || !IS_KERNEL(&MmUserProbeAddress) || !IS_KERNEL(&MmHighestUserAddress) ||
        !IS_KERNEL(&MmSystemRangeStart) || !IS_KERNEL(&KdDebuggerNotPresent) || !IS_KERNEL(&InitSafeBootMode) ||
        !IS_KERNEL((const void *)&KeNumberProcessors) || !IS_KERNEL(&PsInitialSystemProcess))
        return HV_FAIL(11);

    DbgPrint("data_imports: ok\n");
    return STATUS_SUCCESS;
}
