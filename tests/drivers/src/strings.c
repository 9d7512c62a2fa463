/*
 * strings.c - the Rtl string routines and the small C runtime that ntoskrnl
 * exports, all called through the IAT, and DbgPrintEx/DbgPrint formatting.
 *
 * Return values (first failure wins):
 *   0xE0000001  RtlInitUnicodeString: Length/MaximumLength/Buffer wrong
 *   0xE0000002  RtlCopyUnicodeString: length or text wrong
 *   0xE0000003  RtlCompareUnicodeString: equal, case-insensitive or ordering wrong
 *   0xE0000004  RtlAppendUnicodeToString failed or length wrong
 *   0xE0000005  RtlAppendUnicodeToString past MaximumLength did not return
 *               STATUS_BUFFER_TOO_SMALL or changed the string
 *   0xE0000006  RtlUnicodeStringToAnsiString (allocating) wrong
 *   0xE0000007  RtlCompareMemory did not return the matching prefix length 5
 *   0xE0000008  memset / memcpy / memmove (overlapping) wrong
 *   0xE0000009  _snwprintf result or return value wrong
 *   0xE000000A  wcslen / wcscpy / _wcsnicmp / strlen wrong
 *
 * Debug output on success, in order (DbgPrintEx uses DPFLTR_IHVDRIVER_ID,
 * DPFLTR_ERROR_LEVEL):
 *   "strings: HvciVerifier-Test len=17 HvciVerifier-Test wide 0x00C0FFEE 1122334455667788 42%\n"
 *   "strings: [   42|ab   |Z] build=22631/0x5867\n"
 *   "strings: ok\n"
 */
#include "compat.h"

/* C runtime exports of ntoskrnl.exe, called through their IAT slots. */
IMPSLOT(void *, memset)(void *, int, size_t);
IMPSLOT(void *, memcpy)(void *, const void *, size_t);
IMPSLOT(void *, memmove)(void *, const void *, size_t);
IMPSLOT(size_t, wcslen)(const wchar_t *);
IMPSLOT(wchar_t *, wcscpy)(wchar_t *, const wchar_t *);
IMPSLOT(int, _wcsnicmp)(const wchar_t *, const wchar_t *, size_t);
IMPSLOT(size_t, strlen)(const char *);

static NOINLINE BOOLEAN WEqual(const WCHAR *a, const WCHAR *b, ULONG count)
{
    ULONG i;
    for (i = 0; i < count; i++) {
        if (a[i] != b[i])
            return FALSE;
    }
    return TRUE;
}

static NOINLINE BOOLEAN AEqual(const char *a, const char *b, ULONG count)
{
    ULONG i;
    for (i = 0; i < count; i++) {
        if (a[i] != b[i])
            return FALSE;
    }
    return TRUE;
}

static NTSTATUS Run(VOID)
{
    static const WCHAR text[] = L"HvciVerifier";
    UNICODE_STRING a, upper, dst, tiny;
    ANSI_STRING ansi;
    WCHAR dstBuf[64], tinyBuf[2], wbuf[64], wbuf2[16];
    char bytes[16];
    NTSTATUS st;
    int n;

    /* RtlInitUnicodeString */
    RtlInitUnicodeString(&a, text);
    if (a.Length != 24 || a.MaximumLength != 26 || a.Buffer != text)
        return HV_FAIL(1);

    /* RtlCopyUnicodeString */
    dst.Buffer = dstBuf;
    dst.Length = 0;
    dst.MaximumLength = sizeof(dstBuf);
    RtlCopyUnicodeString(&dst, &a);
    if (dst.Length != 24 || !WEqual(dst.Buffer, L"HvciVerifier", 12))
        return HV_FAIL(2);

    /* RtlCompareUnicodeString */
    RtlInitUnicodeString(&upper, L"HVCIVERIFIER");
    if (RtlCompareUnicodeString(&a, &dst, FALSE) != 0 ||
        RtlCompareUnicodeString(&a, &upper, TRUE) != 0 ||
        RtlCompareUnicodeString(&a, &upper, FALSE) <= 0)
        return HV_FAIL(3);

    /* RtlAppendUnicodeToString */
    st = RtlAppendUnicodeToString(&dst, L"-Test");
    if (st != STATUS_SUCCESS || dst.Length != 34 || !WEqual(dst.Buffer, L"HvciVerifier-Test", 17))
        return HV_FAIL(4);
    tinyBuf[0] = L'x';
    tiny.Buffer = tinyBuf;
    tiny.Length = sizeof(WCHAR);
    tiny.MaximumLength = sizeof(tinyBuf);
    st = RtlAppendUnicodeToString(&tiny, L"toolong");
    if (st != STATUS_BUFFER_TOO_SMALL || tiny.Length != sizeof(WCHAR) || tinyBuf[0] != L'x')
        return HV_FAIL(5);

    /* RtlUnicodeStringToAnsiString, allocating */
    st = RtlUnicodeStringToAnsiString(&ansi, &dst, TRUE);
    if (st != STATUS_SUCCESS)
        return HV_FAIL(6);
    if (ansi.Length != 17 || ansi.MaximumLength != 18 || ansi.Buffer == NULL ||
        RtlCompareMemory(ansi.Buffer, "HvciVerifier-Test", 18) != 18) {
        RtlFreeAnsiString(&ansi);
        return HV_FAIL(6);
    }

    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
               "strings: %s len=%u %wZ %ws 0x%08X %I64X %d%%\n",
               ansi.Buffer, (ULONG)ansi.Length, &dst, L"wide", 0xC0FFEEu, 0x1122334455667788ULL, 42);
    RtlFreeAnsiString(&ansi);

    /* RtlCompareMemory returns the length of the matching prefix */
    if (RtlCompareMemory("abcdefgh", "abcdeXgh", 8) != 5)
        return HV_FAIL(7);

    /* memset / memcpy / memmove */
    IMPCALL(memset)(bytes, 0x5A, sizeof(bytes));
    if (bytes[0] != 0x5A || bytes[15] != 0x5A)
        return HV_FAIL(8);
    IMPCALL(memcpy)(bytes, "0123456789", 10);
    if (!AEqual(bytes, "0123456789\x5A", 11))
        return HV_FAIL(8);
    IMPCALL(memmove)(bytes + 2, bytes, 8);
    if (!AEqual(bytes, "0101234567", 10))
        return HV_FAIL(8);

    /* _snwprintf */
    IMPCALL(memset)(wbuf, 0, sizeof(wbuf));
    n = _snwprintf(wbuf, 64, L"%ws=%d/0x%x", L"build", 22631, 0x5867);
    if (n != 18 || !WEqual(wbuf, L"build=22631/0x5867", 19))
        return HV_FAIL(9);

    /* wcslen / wcscpy / _wcsnicmp / strlen */
    if (IMPCALL(wcslen)(L"HvciVerifier") != 12)
        return HV_FAIL(10);
    if (IMPCALL(wcscpy)(wbuf2, L"copy") != wbuf2 || !WEqual(wbuf2, L"copy", 5))
        return HV_FAIL(10);
    if (IMPCALL(_wcsnicmp)(L"HVCIx", L"hvciY", 4) != 0 || IMPCALL(strlen)("reloc") != 5)
        return HV_FAIL(10);

    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "strings: [%5d|%-5s|%c] %ws\n", 42, "ab", 'Z', wbuf);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    st = Run();
    if (st == STATUS_SUCCESS)
        DbgPrint("strings: ok\n");
    return st;
}
