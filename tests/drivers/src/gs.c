/*
 * gs.c - /GS startup and Control Flow Guard as a current WDK builds them (clang, MSVC target).
 *
 * The image has a load-config directory (_load_config_used, written here) whose SecurityCookie
 * names __security_cookie. The entry point is GsDriverEntry, which does what the WDK's does:
 * __security_init_cookie fails fast with FAST_FAIL_GS_COOKIE_INIT (6) when the cookie is still 0
 * or the default 0x00002B992DDFA232 (the loader did not initialise it), else stores its
 * complement; then it calls DriverEntry. Functions with arrays are built with
 * -fstack-protector-strong: the prolog stores __security_cookie ^ RSP, the epilog hands it to
 * __security_check_cookie, whose failure path (__report_gsfailure) fails fast with
 * FAST_FAIL_STACK_COOKIE_CHECK_FAILURE (2), as the WDK's does in kernel mode.
 *
 *   CASE_GS_CLEAN    a guarded buffer used within bounds          -> returns 0
 *   CASE_GS_OVERRUN  the same function writes 48 bytes into 32    -> 0x139, Arg1 2
 *   CASE_CFG         built with -cfguard, /guard:cf: an indirect call goes through
 *                    __guard_dispatch_icall_fptr, which the image leaves 0 (the loader fills it);
 *                    __guard_check_icall_fptr is the image's own routine and must stay so
 *                                                                 -> returns 0
 *
 * Failure codes (CASE_GS_CLEAN, CASE_CFG):
 *   0xE0000001  __security_cookie has bits set in its top 16 (the x64 loader clears them)
 *   0xE0000002  __security_cookie_complement is not ~__security_cookie
 *   0xE0000003  the guarded function computed a wrong checksum
 *   0xE0000004  __guard_check_icall_fptr no longer points at the image's own routine
 *   0xE0000005  __guard_dispatch_icall_fptr is still 0 after loading
 *   0xE0000006  the indirect call returned a wrong value
 */
#include "compat.h"

#define DEFAULT_SECURITY_COOKIE 0x00002B992DDFA232ULL
#define FAST_FAIL_STACK_COOKIE_CHECK_FAILURE 2
#define FAST_FAIL_GS_COOKIE_INIT 6

ULONG_PTR __security_cookie = DEFAULT_SECURITY_COOKIE;
ULONG_PTR __security_cookie_complement = ~DEFAULT_SECURITY_COOKIE;

static __attribute__((noreturn)) VOID FastFail(ULONG Code)
{
    __asm__ volatile("int $0x29" : : "c"(Code) : "memory");
    __builtin_unreachable();
}

NOINLINE VOID __report_gsfailure(ULONG_PTR StackCookie)
{
    UNREFERENCED_PARAMETER(StackCookie);
    FastFail(FAST_FAIL_STACK_COOKIE_CHECK_FAILURE);
}

VOID __security_check_cookie(ULONG_PTR StackCookie)
{
    if (StackCookie != __security_cookie)
        __report_gsfailure(StackCookie);
}

NOINLINE static VOID SecurityInitCookie(VOID)
{
    ULONG_PTR cookie = *(volatile ULONG_PTR *)&__security_cookie;
    if (cookie == 0 || cookie == DEFAULT_SECURITY_COOKIE)
        FastFail(FAST_FAIL_GS_COOKIE_INIT);
    __security_cookie_complement = ~cookie;
}

#if defined(CASE_CFG)
/* The guard slots, in .00cfg as MSVC's runtime has them (read-only after load). */
NOINLINE static VOID OwnGuardCheck(VOID) { }
__attribute__((section(".00cfg"))) PVOID const volatile __guard_check_icall_fptr = (PVOID)OwnGuardCheck;
__attribute__((section(".00cfg"))) PVOID const volatile __guard_dispatch_icall_fptr = 0;
extern char __guard_fids_table[], __guard_fids_count[];
extern char __guard_iat_table[], __guard_iat_count[], __guard_longjmp_table[], __guard_longjmp_count[];
#define GUARD(x) ((ULONGLONG)(ULONG_PTR)(x))
#else
#define GUARD(x) 0
#endif

/* IMAGE_LOAD_CONFIG_DIRECTORY64 (winnt.h) up to GuardLongJumpTargetCount. */
typedef struct {
    ULONG Size, TimeDateStamp;
    USHORT MajorVersion, MinorVersion;
    ULONG GlobalFlagsClear, GlobalFlagsSet, CriticalSectionDefaultTimeout;
    ULONGLONG DeCommitFreeBlockThreshold, DeCommitTotalFreeThreshold, LockPrefixTable;
    ULONGLONG MaximumAllocationSize, VirtualMemoryThreshold, ProcessAffinityMask;
    ULONG ProcessHeapFlags;
    USHORT CSDVersion, DependentLoadFlags;
    ULONGLONG EditList, SecurityCookie, SEHandlerTable, SEHandlerCount;
    ULONGLONG GuardCFCheckFunctionPointer, GuardCFDispatchFunctionPointer;
    ULONGLONG GuardCFFunctionTable, GuardCFFunctionCount;
    ULONG GuardFlags;
    USHORT CodeIntegrityFlags, CodeIntegrityCatalog;
    ULONG CodeIntegrityCatalogOffset, CodeIntegrityReserved;
    ULONGLONG GuardAddressTakenIatEntryTable, GuardAddressTakenIatEntryCount;
    ULONGLONG GuardLongJumpTargetTable, GuardLongJumpTargetCount;
} HV_LOAD_CONFIG;

const HV_LOAD_CONFIG _load_config_used = {
    .Size = sizeof(HV_LOAD_CONFIG),
    .SecurityCookie = (ULONGLONG)(ULONG_PTR)&__security_cookie,
#if defined(CASE_CFG)
    .GuardCFCheckFunctionPointer = (ULONGLONG)(ULONG_PTR)&__guard_check_icall_fptr,
    .GuardCFDispatchFunctionPointer = (ULONGLONG)(ULONG_PTR)&__guard_dispatch_icall_fptr,
    .GuardCFFunctionTable = GUARD(__guard_fids_table),
    .GuardCFFunctionCount = GUARD(__guard_fids_count),
    /* IMAGE_GUARD_CF_INSTRUMENTED | IMAGE_GUARD_CF_FUNCTION_TABLE_PRESENT: a 32-bit field
       cannot take the address of lld's __guard_flags in a C initialiser. */
    .GuardFlags = 0x500,
    .GuardAddressTakenIatEntryTable = GUARD(__guard_iat_table),
    .GuardAddressTakenIatEntryCount = GUARD(__guard_iat_count),
    .GuardLongJumpTargetTable = GUARD(__guard_longjmp_table),
    .GuardLongJumpTargetCount = GUARD(__guard_longjmp_count),
#endif
};

#if defined(CASE_GS_OVERRUN)
static volatile ULONG FillLength = 48;     /* 16 bytes past the buffer: over the stack cookie */
#else
static volatile ULONG FillLength = 32;
#endif

NOINLINE static ULONG Checksum(volatile const UCHAR *Buffer, ULONG Length)
{
    ULONG sum = 0, i;
    for (i = 0; i < Length && i < 32; i++)
        sum = sum * 31 + Buffer[i];
    return sum;
}

/* A 32-byte local array: -fstack-protector-strong guards this frame with the cookie. */
NOINLINE static ULONG Guarded(ULONG Length)
{
    volatile UCHAR buffer[32];
    ULONG i;
    for (i = 0; i < Length; i++)
        buffer[i] = (UCHAR)(i * 7 + 1);
    return Checksum(buffer, 32);
}

#if defined(CASE_CFG)
NOINLINE static ULONG Twice(ULONG x) { return 2 * x; }
NOINLINE static ULONG Square(ULONG x) { return x * x; }
static ULONG (*volatile Operations[2])(ULONG) = {Twice, Square};
#endif

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    ULONG expected = 0, i;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    DbgPrint("%s: cookie initialised\n", HV_NAME_A);

    if (__security_cookie >> 48)
        return HV_FAIL(1);
    if (__security_cookie_complement != ~__security_cookie)
        return HV_FAIL(2);
    for (i = 0; i < 32; i++)
        expected = expected * 31 + (UCHAR)(i * 7 + 1);
    if (Guarded(FillLength) != expected)
        return HV_FAIL(3);
#if defined(CASE_CFG)
    if (__guard_check_icall_fptr != (PVOID)OwnGuardCheck)
        return HV_FAIL(4);
    if (__guard_dispatch_icall_fptr == 0)
        return HV_FAIL(5);
    if (Operations[0](21) != 42 || Operations[1](12) != 144)
        return HV_FAIL(6);
#endif
    return STATUS_SUCCESS;
}

/* The image's entry point, as the WDK links it (/ENTRY:GsDriverEntry). */
NTSTATUS NTAPI GsDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    SecurityInitCookie();
    return DriverEntry(DriverObject, RegistryPath);
}
