/*
 * user_faults.c - faults whose bug check depends on the address range and the IRQL (-DCASE_xxx).
 *
 * A kernel-mode access to an invalid user-range address (the NULL page included) is an access
 * violation exception; nobody handles it in DriverEntry, which runs in a system thread: 0x7E.
 * At IRQL >= DISPATCH_LEVEL the kernel cannot take a page fault at all: 0xD1 from driver code.
 *
 *   CASE_NULL_READ     reads  *(ULONG *)0                         -> 0x7E c0000005 (read of 0)
 *   CASE_USER_WRITE    writes *(ULONG *)0x10000                   -> 0x7E c0000005 (write of 0x10000)
 *   CASE_NULL_CALL     calls a NULL function pointer              -> 0x7E c0000005, Arg2 0 (execute of 0)
 *   CASE_IRQL_READ     KeRaiseIrqlToDpcLevel, reads 0xFFFFF80DEAD00000 -> 0xD1 (addr, 2, 0, instruction)
 *   CASE_IRQL_NULL_WRITE KeRaiseIrqlToDpcLevel, writes *(ULONG *)0  -> 0xD1 (0, 2, 1, instruction)
 *
 * None of them returns from DriverEntry on a correct emulation.
 */
#include "compat.h"

#define UNMAPPED_KERNEL_VA 0xFFFFF80DEAD00000ULL

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    DbgPrint("%s: about to fault\n", HV_NAME_A);

#if defined(CASE_NULL_READ)
    {
        volatile ULONG_PTR address = 0;
        return (NTSTATUS)*(volatile ULONG *)address;
    }
#elif defined(CASE_USER_WRITE)
    {
        volatile ULONG_PTR address = 0x10000;
        *(volatile ULONG *)address = 0x57524954;
    }
#elif defined(CASE_NULL_CALL)
    {
        typedef NTSTATUS (*CODE_FN)(VOID);
        volatile ULONG_PTR target = 0;
        return ((CODE_FN)target)();
    }
#elif defined(CASE_IRQL_READ)
    {
        volatile ULONG_PTR address = UNMAPPED_KERNEL_VA;
        KIRQL old = KeRaiseIrqlToDpcLevel();
        NTSTATUS value = (NTSTATUS)*(volatile ULONG *)address;
        KeLowerIrql(old);
        return value;
    }
#elif defined(CASE_IRQL_NULL_WRITE)
    {
        volatile ULONG_PTR address = 0;
        KIRQL old = KeRaiseIrqlToDpcLevel();
        *(volatile ULONG *)address = 1;
        KeLowerIrql(old);
    }
#else
#error "user_faults.c: define one CASE_xxx"
#endif
    return STATUS_SUCCESS;
}
