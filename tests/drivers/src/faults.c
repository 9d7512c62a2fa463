/*
 * faults.c - drivers that crash on purpose, one fault each (-DCASE_xxx).
 *
 *   CASE_PATCH_CODE      writes one byte into its own .text        -> 0xBE
 *   CASE_EXEC_NX_POOL    calls a `ret` copied into NonPagedPoolNx  -> 0xFC
 *   CASE_READ_UNMAPPED   reads  0xFFFFF80DEAD00000                 -> 0x50, Arg2 0
 *   CASE_WRITE_UNMAPPED  writes 0xFFFFF80DEAD00000                 -> 0x50, Arg2 2
 *   CASE_EXEC_UNMAPPED   calls  0xFFFFF80DEAD00000                 -> 0x50, Arg2 0x10
 *   CASE_INT3            __debugbreak()                            -> 0x7E (0x80000003)
 *   CASE_UD2             ud2                                       -> 0x7E (0xC000001D)
 *   CASE_DIV0            integer division by a volatile zero       -> 0x7E (0xC0000094)
 *   CASE_BUGCHECK        KeBugCheckEx(0xE2, 1, 2, 3, 4)            -> 0xE2
 *   CASE_SPIN_FOREVER    an endless loop without API calls (instruction/time budgets)
 *
 * None of them returns from DriverEntry on a correct emulation. DriverEntry runs in a system
 * thread, so an exception nobody handles there is 0x7E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED
 * (Microsoft's bug-check-0x7e page), not 0x1E.
 */
#include "compat.h"

#define UNMAPPED_KERNEL_VA 0xFFFFF80DEAD00000ULL

#if defined(CASE_PATCH_CODE)
/* Exported so a test can resolve the address the write goes to (0xBE Arg1). */
__declspec(dllexport) NOINLINE ULONG PatchTarget(VOID)
{
    return 0x5A5A;
}
#endif

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    /* A trace line first (and an ntoskrnl import for every image). */
    DbgPrint("%s: about to fault\n", HV_NAME_A);

#if defined(CASE_PATCH_CODE)
    {
        volatile UCHAR *code = (volatile UCHAR *)(ULONG_PTR)&PatchTarget;
        *code = 0xC3; /* memory integrity: .text is never writable */
        return (NTSTATUS)PatchTarget();
    }
#elif defined(CASE_EXEC_NX_POOL)
    {
        typedef VOID (*CODE_FN)(VOID);
        volatile UCHAR *p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPoolNx, 0x10, 'cxEN');
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        p[0] = 0xC3; /* ret */
        ((CODE_FN)(ULONG_PTR)p)();
        ExFreePoolWithTag((PVOID)p, 'cxEN');
    }
#elif defined(CASE_READ_UNMAPPED)
    {
        volatile ULONG64 *p = (volatile ULONG64 *)UNMAPPED_KERNEL_VA;
        return (NTSTATUS)*p;
    }
#elif defined(CASE_WRITE_UNMAPPED)
    {
        volatile ULONG64 *p = (volatile ULONG64 *)UNMAPPED_KERNEL_VA;
        *p = 0x5752495445ULL;
    }
#elif defined(CASE_EXEC_UNMAPPED)
    {
        typedef VOID (*CODE_FN)(VOID);
        volatile ULONG64 target = UNMAPPED_KERNEL_VA;
        ((CODE_FN)target)();
    }
#elif defined(CASE_INT3)
    __debugbreak();
#elif defined(CASE_UD2)
    __asm__ __volatile__("ud2");
#elif defined(CASE_DIV0)
    {
        volatile ULONG zero = 0;
        volatile ULONG result = 1000u / zero;
        return (NTSTATUS)result;
    }
#elif defined(CASE_BUGCHECK)
    KeBugCheckEx(0xE2, 1, 2, 3, 4);
#elif defined(CASE_SPIN_FOREVER)
    {
        volatile ULONG64 counter = 0;
        for (;;)
            counter++;
    }
#else
#error "faults.c: define one CASE_xxx"
#endif
    return STATUS_SUCCESS;
}
