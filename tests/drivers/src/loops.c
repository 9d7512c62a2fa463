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
 * All three functions use the Microsoft x64 convention: n in RCX, result in RAX.
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

#else
#error "loops.c: define one CASE_xxx"
#endif
