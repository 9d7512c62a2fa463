/*
 * phys_window.c - a driver that writes memory through the physical-memory window.
 *
 * Exports ULONG WindowWrite(PVOID target, ULONG64 value): finds target's
 * physical address (MmGetPhysicalAddress), its alias in the window
 * (MmGetVirtualForPhysical, a 2 MiB-page mapping of all RAM), stores value
 * through the alias and reads it back through target.  Returns 0, or
 * 0xE0000001 no physical address; 0xE0000002 no alias; 0xE0000003 the store
 * through the alias is not seen at target.
 *
 * DriverEntry runs WindowWrite on an 8-byte NonPagedPoolNx block ('wndP')
 * and returns its result.  Snapshot tests use it: a store through a large
 * page is a guest write no 4 KiB PTE records.
 */
#include "compat.h"

#define WINDOW_TAG 'wndP'

__declspec(dllexport) NOINLINE ULONG WindowWrite(PVOID target, ULONG64 value)
{
    PHYSICAL_ADDRESS pa = MmGetPhysicalAddress(target);
    volatile ULONG64 *alias;

    if (pa.QuadPart == 0)
        return 0xE0000001;
    alias = (volatile ULONG64 *)MmGetVirtualForPhysical(pa);
    if (alias == NULL)
        return 0xE0000002;
    *alias = value;
    return *(volatile ULONG64 *)target == value ? 0 : 0xE0000003;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PVOID block = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(ULONG64), WINDOW_TAG);
    ULONG status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    if (block == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = WindowWrite(block, 0x5EA75EA75EA75EA7ULL);
    ExFreePoolWithTag(block, WINDOW_TAG);
    return (NTSTATUS)status;
}
