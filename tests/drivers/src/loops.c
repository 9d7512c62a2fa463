/*
 * loops.c - benchmark drivers.  Each exports its loop by name (export
 * directory), so a benchmark can call it directly with its own count, and
 * DriverEntry runs it once with the default count:
 *
 *   CASE_CPU_LOOP    ULONG64 BenchLoop(ULONG64 n): register-only xorshift
 *                    loop, no memory traffic and no calls; DriverEntry runs
 *                    n = 100000000 and DbgPrints the checksum.
 *   CASE_API_LOOP    ULONG64 ApiLoop(ULONG64 n): n calls of the cheap export
 *                    KeGetCurrentProcessorNumberEx(NULL), returns the sum of
 *                    the results; DriverEntry runs n = 200000.
 *   CASE_ALLOC_LOOP  ULONG64 AllocLoop(ULONG64 n): n rounds of
 *                    ExAllocatePoolWithTag(NonPagedPoolNx, 64, 'pmtA') + a
 *                    write + ExFreePoolWithTag(p, 'pmtA'); returns the number
 *                    of successful allocations; DriverEntry runs n = 50000 and
 *                    returns STATUS_INSUFFICIENT_RESOURCES if any failed.
 *
 *   CASE_IRQL_LOOP   ULONG64 IrqlLoop(ULONG64 n): n calls of the KeGetCurrentIrql
 *                    export (through its import slot, not MinGW's inline cr8
 *                    read), returns the sum of the results; DriverEntry runs
 *                    n = 100000 at PASSIVE_LEVEL (sum 0).
 *   CASE_LOOKASIDE_LOOP  ULONG64 LookasideLoop(ULONG64 n): n rounds of
 *                    ExInitializeNPagedLookasideList (7 arguments, 3 of them on
 *                    the stack; announces its pool type) + ExDeleteNPagedLookasideList
 *                    on a list in .data, returns n; DriverEntry runs n = 2000.
 *   CASE_MEM_LOOP    ULONG64 MemLoop(ULONG64 n): the xorshift of BenchLoop plus a
 *                    load and a store per iteration into a 4 KiB table in .data;
 *                    returns the sum; DriverEntry runs n = 1000000 and DbgPrints it.
 *
 * All these functions use the Microsoft x64 convention: n in RCX, result in RAX.
 */
#include "compat.h"

#if defined(CASE_CPU_LOOP)

__declspec(dllexport) NOINLINE ULONG64 BenchLoop(ULONG64 n)
{
    ULONG64 x = 0x9E3779B97F4A7C15ULL, sum = 0, i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += x ^ i;
    }
    return sum;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 100000000ULL;
    ULONG64 checksum;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    checksum = BenchLoop(n);
    DbgPrint("cpu_loop: BenchLoop(%I64u) = 0x%016I64X\n", (ULONG64)n, checksum);
    return STATUS_SUCCESS;
}

#elif defined(CASE_API_LOOP)

__declspec(dllexport) NOINLINE ULONG64 ApiLoop(ULONG64 n)
{
    ULONG64 sum = 0, i;
    for (i = 0; i < n; i++)
        sum += KeGetCurrentProcessorNumberEx(NULL);
    return sum;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 200000;
    ULONG64 sum;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    sum = ApiLoop(n);
    DbgPrint("api_loop: ApiLoop(%I64u) = %I64u\n", (ULONG64)n, sum);
    return STATUS_SUCCESS;
}

#elif defined(CASE_ALLOC_LOOP)

#define ALLOC_TAG 'pmtA' /* "Atmp" */

__declspec(dllexport) NOINLINE ULONG64 AllocLoop(ULONG64 n)
{
    ULONG64 ok = 0, i;
    for (i = 0; i < n; i++) {
        volatile UCHAR *p = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPoolNx, 64, ALLOC_TAG);
        if (p != NULL) {
            p[0] = (UCHAR)i;
            p[63] = (UCHAR)(i >> 8);
            ExFreePoolWithTag((PVOID)p, ALLOC_TAG);
            ok++;
        }
    }
    return ok;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 50000;
    ULONG64 ok;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    ok = AllocLoop(n);
    DbgPrint("alloc_loop: AllocLoop(%I64u) = %I64u\n", (ULONG64)n, ok);
    return ok == n ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

#elif defined(CASE_IRQL_LOOP)

IMPSLOT(KIRQL, KeGetCurrentIrql)(VOID);     /* MinGW inlines KeGetCurrentIrql as a cr8 read */

__declspec(dllexport) NOINLINE ULONG64 IrqlLoop(ULONG64 n)
{
    ULONG64 sum = 0, i;
    for (i = 0; i < n; i++)
        sum += IMPCALL(KeGetCurrentIrql)();
    return sum;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 100000;
    ULONG64 sum;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    sum = IrqlLoop(n);
    DbgPrint("irql_loop: IrqlLoop(%I64u) = %I64u\n", (ULONG64)n, sum);
    return sum == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

#elif defined(CASE_LOOKASIDE_LOOP)

#define LOOKASIDE_TAG 'kooL' /* "Look" */

static NPAGED_LOOKASIDE_LIST List;

__declspec(dllexport) NOINLINE ULONG64 LookasideLoop(ULONG64 n)
{
    ULONG64 i;
    for (i = 0; i < n; i++) {
        ExInitializeNPagedLookasideList(&List, NULL, NULL, POOL_NX_ALLOCATION, 64 + (SIZE_T)(i & 63),
                                        LOOKASIDE_TAG, 0);
        ExDeleteNPagedLookasideList(&List);
    }
    return n;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 2000;
    ULONG64 rounds;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    rounds = LookasideLoop(n);
    DbgPrint("lookaside_loop: LookasideLoop(%I64u) = %I64u\n", (ULONG64)n, rounds);
    return STATUS_SUCCESS;
}

#elif defined(CASE_MEM_LOOP)

static ULONG64 Table[512];                   /* 4 KiB of .data, apart from the code */

__declspec(dllexport) NOINLINE ULONG64 MemLoop(ULONG64 n)
{
    ULONG64 x = 0x9E3779B97F4A7C15ULL, sum = 0, i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += Table[x & 511];
        Table[i & 511] = x ^ i;
    }
    return sum;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 1000000;
    ULONG64 sum;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    sum = MemLoop(n);
    DbgPrint("mem_loop: MemLoop(%I64u) = 0x%016I64X\n", (ULONG64)n, sum);
    return STATUS_SUCCESS;
}

#else
#error "loops.c: define one CASE_xxx"
#endif
