/*
 * deep_stack.c - a call chain for stack unwinding: DriverEntry -> Outer -> Middle -> Inner, and
 * Inner calls ExAllocatePoolWithTag(NonPagedPool, 0x80, 'pEeD') once (a 0x2000 at that call).
 *
 * The functions have different prologs on purpose, so unwinding must read each one's unwind codes
 * rather than assume a shape: Outer keeps a large frame (stack allocation over 0x80 bytes, i.e.
 * UWOP_ALLOC_LARGE) and uses callee-saved registers; Middle sets up a frame pointer (RBP) and a
 * variable-length array, so its RSP moves at run time; Inner is small.
 * DriverEntry returns STATUS_SUCCESS when the run continues past the finding.
 */
#include "compat.h"

static volatile ULONG g_sink;

NOINLINE PVOID Inner(SIZE_T size)
{
    PVOID p = ExAllocatePoolWithTag(NonPagedPool, size, 'pEeD');
    g_sink += 1;
    return p;
}

NOINLINE PVOID Middle(ULONG count)
{
    volatile UCHAR scratch[count];          /* variable length: forces a frame pointer */
    ULONG i;
    for (i = 0; i < count; i++)
        scratch[i] = (UCHAR)i;
    g_sink += scratch[count - 1];
    return Inner(0x80);
}

NOINLINE PVOID Outer(ULONG seed)
{
    volatile ULONG big[64];                 /* 256 bytes of locals: a large stack allocation */
    ULONG a = seed, b = seed * 3, c = seed * 7, i;
    for (i = 0; i < 64; i++)
        big[i] = a + i;
    PVOID p = Middle(16 + (seed & 7));
    g_sink += big[seed & 63] + a + b + c;
    return p;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PVOID p;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    p = Outer(5);
    if (p)
        ExFreePoolWithTag(p, 'pEeD');
    return STATUS_SUCCESS;
}
