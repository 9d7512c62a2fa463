/*
 * seh.c - structured exception handling in driver code (clang's MSVC target, which emits
 * __C_specific_handler scope tables like MSVC does).
 *
 * seh:           every case is caught by the driver's own __except; DriverEntry returns 0, or
 *                0xE00000nn naming the first case that went wrong (see each check below).
 * seh_unhandled: -DCASE_UNHANDLED_RAISE raises 0xE0000BAD with no handler on the stack;
 *                -DCASE_UNHANDLED_FAULT reads the NULL page outside any __try.
 */
#include "compat.h"

#define FAIL(n) ((NTSTATUS)(0xE0000000u | (n)))
#define CUSTOM_CODE 0xE0001234u
#define CONTINUABLE_CODE 0x60000001u

/* Not declared by the MinGW headers (ntddk.h in the WDK). */
IMPORT VOID NTAPI RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord);

#if !defined(CASE_UNHANDLED_RAISE)
static volatile LONG Sink;

/* The fault happens in a callee, so the __try's scope contains the call's return address. */
NOINLINE static LONG ReadAt(volatile LONG *p) { return *p; }
#endif

#if !defined(CASE_UNHANDLED_RAISE) && !defined(CASE_UNHANDLED_FAULT)
NOINLINE static LONG Deeper(volatile LONG *p) { LONG v = ReadAt(p); return v + 1; }

static ULONG_PTR SeenInfo0, SeenInfo1, SeenParams, SeenParam1;

static LONG AccessFilter(PEXCEPTION_POINTERS info)
{
    SeenInfo0 = info->ExceptionRecord->ExceptionInformation[0];
    SeenInfo1 = info->ExceptionRecord->ExceptionInformation[1];
    return info->ExceptionRecord->ExceptionCode == STATUS_ACCESS_VIOLATION
        ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH;
}

static LONG ParamFilter(PEXCEPTION_POINTERS info)
{
    SeenParams = info->ExceptionRecord->NumberParameters;
    SeenParam1 = info->ExceptionRecord->ExceptionInformation[1];
    return EXCEPTION_EXECUTE_HANDLER;
}

static LONG ContinueFilter(PEXCEPTION_POINTERS info)
{
    return info->ExceptionRecord->ExceptionCode == CONTINUABLE_CODE
        ? EXCEPTION_CONTINUE_EXECUTION : EXCEPTION_CONTINUE_SEARCH;
}

/* 1: a NULL read in a callee is an access violation caught by EXCEPTION_EXECUTE_HANDLER. */
NOINLINE static NTSTATUS CaseFault(void)
{
    ULONG code = 0;
    __try { Sink = ReadAt((volatile LONG *)0); return FAIL(0x11); }
    __except (code = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) { }
    return code == STATUS_ACCESS_VIOLATION ? STATUS_SUCCESS : FAIL(0x12);
}

/* 2: a filter function sees the exception record: read (0) of address 0x10. */
NOINLINE static NTSTATUS CaseFilter(void)
{
    __try { Sink = Deeper((volatile LONG *)0x10); return FAIL(0x21); }
    __except (AccessFilter(GetExceptionInformation())) { }
    if (SeenInfo0 != 0) return FAIL(0x22);
    if (SeenInfo1 != 0x10) return FAIL(0x23);
    return STATUS_SUCCESS;
}

/* 3: ExRaiseStatus through a __finally: the finally runs abnormally, then the __except. */
NOINLINE static NTSTATUS CaseFinally(void)
{
    volatile LONG finally_ran = 0;
    ULONG code = 0;
    __try {
        __try { ExRaiseStatus((NTSTATUS)CUSTOM_CODE); return FAIL(0x31); }
        __finally { finally_ran = AbnormalTermination() ? 2 : 1; }
    }
    __except (code = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) { }
    if (code != CUSTOM_CODE) return FAIL(0x32);
    if (finally_ran != 2) return FAIL(0x33);
    return STATUS_SUCCESS;
}

/* 4: an inner filter declines (continue search), the outer one takes it. */
NOINLINE static NTSTATUS CaseNested(void)
{
    volatile LONG where = 0;
    __try {
        __try { ExRaiseStatus((NTSTATUS)CUSTOM_CODE); }
        __except (GetExceptionCode() == STATUS_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                               : EXCEPTION_CONTINUE_SEARCH) { where = 1; }
    }
    __except (EXCEPTION_EXECUTE_HANDLER) { where = 2; }
    return where == 2 ? STATUS_SUCCESS : FAIL(0x41);
}

/* 5: values the catching frame keeps in callee-saved registers survive the unwind. */
NOINLINE static NTSTATUS CaseRegisters(ULONG seed)
{
    ULONG a = seed * 3, b = seed ^ 0x5A5A, c = seed + 77;
    __try { Sink = Deeper((volatile LONG *)8); }
    __except (EXCEPTION_EXECUTE_HANDLER) { Sink = (LONG)(a + b + c); }
    return (a == seed * 3 && b == (seed ^ 0x5A5A) && c == seed + 77) ? STATUS_SUCCESS : FAIL(0x51);
}

/* 6: RtlRaiseException with parameters, read by the filter. */
NOINLINE static NTSTATUS CaseRecord(void)
{
    EXCEPTION_RECORD rec;
    RtlZeroMemory(&rec, sizeof rec);
    rec.ExceptionCode = (NTSTATUS)CUSTOM_CODE;
    rec.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    rec.NumberParameters = 2;
    rec.ExceptionInformation[0] = 7;
    rec.ExceptionInformation[1] = 0x1234567890ull;
    __try { RtlRaiseException(&rec); return FAIL(0x61); }
    __except (ParamFilter(GetExceptionInformation())) { }
    if (SeenParams != 2) return FAIL(0x62);
    if (SeenParam1 != 0x1234567890ull) return FAIL(0x63);
    return STATUS_SUCCESS;
}

/* 7: a continuable exception, EXCEPTION_CONTINUE_EXECUTION: RtlRaiseException returns. */
NOINLINE static NTSTATUS CaseContinue(void)
{
    EXCEPTION_RECORD rec;
    volatile LONG after = 0;
    RtlZeroMemory(&rec, sizeof rec);
    rec.ExceptionCode = (NTSTATUS)CONTINUABLE_CODE;
    __try { RtlRaiseException(&rec); after = 1; }
    __except (ContinueFilter(GetExceptionInformation())) { return FAIL(0x71); }
    return after == 1 ? STATUS_SUCCESS : FAIL(0x72);
}

#endif

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject; (void)RegistryPath;
#if defined(CASE_UNHANDLED_RAISE)
    ExRaiseStatus((NTSTATUS)0xE0000BADu);
    return FAIL(0x81);
#elif defined(CASE_UNHANDLED_FAULT)
    Sink = ReadAt((volatile LONG *)0);
    return FAIL(0x82);
#else
    NTSTATUS status;
    if ((status = CaseFault()) != STATUS_SUCCESS) return status;
    if ((status = CaseFilter()) != STATUS_SUCCESS) return status;
    if ((status = CaseFinally()) != STATUS_SUCCESS) return status;
    if ((status = CaseNested()) != STATUS_SUCCESS) return status;
    if ((status = CaseRegisters(41)) != STATUS_SUCCESS) return status;
    if ((status = CaseRecord()) != STATUS_SUCCESS) return status;
    if ((status = CaseContinue()) != STATUS_SUCCESS) return status;
    return STATUS_SUCCESS;
#endif
}
