/*
 * regquery.c - RtlQueryRegistryValues with the RTL_QUERY_REGISTRY_TABLE
 * semantics Microsoft documents, and the other Rtl*Registry* helpers, on the
 * driver's own service key (...\Services\<name>\Parameters).
 *
 * Return values (first failure wins):
 *   0xE0000001  RtlCheckRegistryKey: the service key not found, or a missing
 *               key not STATUS_OBJECT_NAME_NOT_FOUND
 *   0xE0000002  RtlCreateRegistryKey / RtlWriteRegistryValue failed
 *   0xE0000003  DIRECT|TYPECHECK REG_DWORD not stored in place
 *   0xE0000004  DIRECT REG_SZ into a UNICODE_STRING with a NULL Buffer: not
 *               allocated or wrong text/Length
 *   0xE0000005  DIRECT|NOEXPAND REG_EXPAND_SZ not the raw string
 *   0xE0000006  DIRECT|NOEXPAND REG_MULTI_SZ not one string with its NULs
 *   0xE0000007  DIRECT REG_BINARY behind a negative LONG size not stored
 *   0xE0000008  defaults: REG_DWORD DefaultData or REG_SZ with DefaultLength 0
 *               not returned for missing values
 *   0xE0000009  a REQUIRED missing value not STATUS_OBJECT_NAME_NOT_FOUND
 *   0xE000000A  TYPECHECK mismatch not STATUS_OBJECT_TYPE_MISMATCH
 *   0xE000000B  a too small caller buffer not STATUS_BUFFER_TOO_SMALL
 *   0xE000000C  SUBKEY then TOPKEY did not read Parameters\Dword and the
 *               service key's Start
 *   0xE000000D  REG_EXPAND_SZ not expanded from the Environment block
 *   0xE000000E  QueryRoutine over all values: wrong calls (Multi must come
 *               as two REG_SZ strings, Dword as REG_DWORD 0x1234, Context and
 *               EntryContext passed through)
 *   0xE000000F  QueryRoutine NOEXPAND/NOVALUE calls wrong
 *   0xE0000010  a QueryRoutine error did not end the walk with that status,
 *               or STATUS_BUFFER_TOO_SMALL from it was not ignored
 *   0xE0000011  DELETE / RtlDeleteRegistryValue results
 *   0xE0000012  RTL_REGISTRY_HANDLE query of RegistryPath's Start failed
 */
#include "compat.h"

#ifndef RTL_QUERY_REGISTRY_TYPECHECK
#define RTL_QUERY_REGISTRY_TYPECHECK       0x00000100
#define RTL_QUERY_REGISTRY_TYPECHECK_SHIFT 24
#endif

#define PARAMS HV_NAME_W L"\\Parameters"
#define CONTEXT_MAGIC ((PVOID)(ULONG_PTR)0xC0FFEE)

static NTSTATUS Query(ULONG relativeTo, PCWSTR path, RTL_QUERY_REGISTRY_TABLE *table, PVOID environment)
{
    return RtlQueryRegistryValues(relativeTo, path, table, CONTEXT_MAGIC, environment);
}

#ifndef CASE_FAULT
static const WCHAR MultiData[] = L"one\0two\0";          /* + the implicit final NUL */
static const UCHAR BlobData[8] = {1, 2, 3, 4, 5, 6, 7, 8};

typedef struct _COLLECTED {
    ULONG Calls, Dword, Text, Multi, MultiRaw, Blob, Expand, NoValue, Other;
    NTSTATUS Answer;
} COLLECTED;

static BOOLEAN SameText(const WCHAR *a, const WCHAR *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static BOOLEAN StringIs(const UNICODE_STRING *s, const WCHAR *text)
{
    USHORT n = 0, i;
    while (text[n])
        n++;
    if (s->Buffer == NULL || s->Length != n * sizeof(WCHAR))
        return FALSE;
    for (i = 0; i < n; i++) {
        if (s->Buffer[i] != text[i])
            return FALSE;
    }
    return TRUE;
}

static NTSTATUS NTAPI Collect(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength, PVOID Context,
                              PVOID EntryContext)
{
    COLLECTED *c = EntryContext;

    if (Context != CONTEXT_MAGIC)
        return STATUS_UNSUCCESSFUL;
    c->Calls++;
    if (ValueName == NULL) {
        c->NoValue += ValueType == REG_NONE && ValueData == NULL && ValueLength == 0;
    } else if (SameText(ValueName, L"Dword")) {
        c->Dword += ValueType == REG_DWORD && ValueLength == 4 && *(ULONG *)ValueData == 0x1234;
    } else if (SameText(ValueName, L"Text")) {
        c->Text += ValueType == REG_SZ && ValueLength == sizeof(L"hello") && SameText(ValueData, L"hello");
    } else if (SameText(ValueName, L"Multi")) {
        if (ValueType == REG_MULTI_SZ)
            c->MultiRaw += ValueLength == sizeof(MultiData);
        else
            c->Multi += ValueType == REG_SZ && (SameText(ValueData, L"one") || SameText(ValueData, L"two"));
    } else if (SameText(ValueName, L"Blob")) {
        c->Blob += ValueType == REG_BINARY && ValueLength == sizeof(BlobData);
    } else if (SameText(ValueName, L"Expand")) {
        c->Expand += ValueType == REG_SZ;
    } else {
        c->Other++;
    }
    return c->Answer;
}

static NTSTATUS Setup(void)
{
    ULONG dword = 0x1234;
    static const WCHAR text[] = L"hello", expand[] = L"%SystemRoot%\\system32";

    if (RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, HV_NAME_W) != STATUS_SUCCESS ||
        RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"HvciNoSuchService") != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(1);
    if (RtlCreateRegistryKey(RTL_REGISTRY_SERVICES, PARAMS) != STATUS_SUCCESS ||
        RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, PARAMS) != STATUS_SUCCESS ||
        RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Dword", REG_DWORD, &dword, sizeof(dword)) ||
        RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Text", REG_SZ, (PVOID)text, sizeof(text)) ||
        RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Expand", REG_EXPAND_SZ, (PVOID)expand, sizeof(expand)) ||
        RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Multi", REG_MULTI_SZ, (PVOID)MultiData,
                              sizeof(MultiData)) ||
        RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Blob", REG_BINARY, (PVOID)BlobData, sizeof(BlobData)))
        return HV_FAIL(2);
    return STATUS_SUCCESS;
}

static NTSTATUS Direct(void)
{
    RTL_QUERY_REGISTRY_TABLE t[8];
    ULONG dword = 0, missing = 0, def = 0x77;
    UNICODE_STRING text = {0, 0, NULL}, raw, multi, fallback = {0, 0, NULL};
    WCHAR rawBuf[64], multiBuf[64];
    LONG blob[4] = {-(LONG)sizeof(blob), 0, 0, 0};
    NTSTATUS st;

    RtlInitEmptyUnicodeString(&raw, rawBuf, sizeof(rawBuf));
    RtlInitEmptyUnicodeString(&multi, multiBuf, sizeof(multiBuf));
    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED | RTL_QUERY_REGISTRY_TYPECHECK;
    t[0].Name = L"Dword";
    t[0].EntryContext = &dword;
    t[0].DefaultType = (REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_NONE;
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK | RTL_QUERY_REGISTRY_NOEXPAND;
    t[1].Name = L"Text";
    t[1].EntryContext = &text;
    t[1].DefaultType = (REG_SZ << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_NONE;
    t[2].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_NOEXPAND;
    t[2].Name = L"Expand";
    t[2].EntryContext = &raw;
    t[3].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_NOEXPAND;
    t[3].Name = L"Multi";
    t[3].EntryContext = &multi;
    t[4].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[4].Name = L"Blob";
    t[4].EntryContext = blob;
    t[5].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[5].Name = L"Missing";
    t[5].EntryContext = &missing;
    t[5].DefaultType = REG_DWORD;
    t[5].DefaultData = &def;
    t[5].DefaultLength = sizeof(def);
    t[6].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_NOEXPAND;
    t[6].Name = L"MissingText";
    t[6].EntryContext = &fallback;
    t[6].DefaultType = REG_SZ;
    t[6].DefaultData = L"fallback";
    t[6].DefaultLength = 0;                                   /* computed, as documented */
    st = Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL);
    if (!NT_SUCCESS(st) || dword != 0x1234)
        return HV_FAIL(3);
    if (!StringIs(&text, L"hello") || text.MaximumLength < text.Length + sizeof(WCHAR))
        return HV_FAIL(4);
    RtlFreeUnicodeString(&text);
    if (!StringIs(&raw, L"%SystemRoot%\\system32"))
        return HV_FAIL(5);
    if (multi.Length != sizeof(MultiData) - sizeof(WCHAR) || RtlCompareMemory(multi.Buffer, MultiData,
                                                                              sizeof(MultiData)) != sizeof(MultiData))
        return HV_FAIL(6);
    if (RtlCompareMemory(blob, BlobData, sizeof(BlobData)) != sizeof(BlobData))
        return HV_FAIL(7);
    if (missing != 0x77 || !StringIs(&fallback, L"fallback"))
        return HV_FAIL(8);
    RtlFreeUnicodeString(&fallback);
    return STATUS_SUCCESS;
}

static NTSTATUS Failures(void)
{
    RTL_QUERY_REGISTRY_TABLE t[2];
    ULONG value = 0;
    WCHAR small[2];
    UNICODE_STRING tiny;

    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Missing";
    t[0].EntryContext = &value;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(9);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    t[0].Name = L"Text";
    t[0].DefaultType = (REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_NONE;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_OBJECT_TYPE_MISMATCH || value != 0)
        return HV_FAIL(10);
    RtlInitEmptyUnicodeString(&tiny, small, sizeof(small));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_NOEXPAND;
    t[0].EntryContext = &tiny;
    t[0].DefaultType = REG_NONE;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_BUFFER_TOO_SMALL)
        return HV_FAIL(11);
    return STATUS_SUCCESS;
}

static NTSTATUS SubkeysAndExpansion(void)
{
    RTL_QUERY_REGISTRY_TABLE t[5];
    ULONG dword = 0, start = 0xFFFFFFFF;
    WCHAR buf[64];
    UNICODE_STRING expanded;
    static const WCHAR environment[] = L"SystemRoot=D:\\Win\0";   /* + the final NUL: the block's end */

    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    t[0].Name = L"Parameters";
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[1].Name = L"Dword";
    t[1].EntryContext = &dword;
    t[2].Flags = RTL_QUERY_REGISTRY_TOPKEY;
    t[3].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[3].Name = L"Start";
    t[3].EntryContext = &start;
    if (Query(RTL_REGISTRY_SERVICES, HV_NAME_W, t, NULL) != STATUS_SUCCESS || dword != 0x1234 || start > 4)
        return HV_FAIL(12);

    RtlZeroMemory(t, sizeof(t));
    RtlInitEmptyUnicodeString(&expanded, buf, sizeof(buf));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Expand";
    t[0].EntryContext = &expanded;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, (PVOID)environment) != STATUS_SUCCESS ||
        !StringIs(&expanded, L"D:\\Win\\system32"))
        return HV_FAIL(13);
    return STATUS_SUCCESS;
}

static NTSTATUS Routines(void)
{
    RTL_QUERY_REGISTRY_TABLE t[3];
    COLLECTED all, some;

    RtlZeroMemory(t, sizeof(t));
    RtlZeroMemory(&all, sizeof(all));
    t[0].QueryRoutine = Collect;
    t[0].EntryContext = &all;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_SUCCESS || all.Calls != 6 || all.Dword != 1 ||
        all.Text != 1 || all.Multi != 2 || all.Blob != 1 || all.Expand != 1 || all.Other != 0)
        return HV_FAIL(14);

    RtlZeroMemory(&some, sizeof(some));
    t[0].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    t[0].Name = L"Multi";
    t[0].EntryContext = &some;
    t[1].QueryRoutine = Collect;
    t[1].Flags = RTL_QUERY_REGISTRY_NOVALUE;
    t[1].EntryContext = &some;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_SUCCESS || some.Calls != 2 || some.MultiRaw != 1 ||
        some.NoValue != 1)
        return HV_FAIL(15);

    some.Answer = STATUS_BUFFER_TOO_SMALL;                   /* ignored, as documented */
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_SUCCESS || some.Calls != 4)
        return HV_FAIL(16);
    some.Answer = STATUS_INSUFFICIENT_RESOURCES;            /* ends the walk at the first call */
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_INSUFFICIENT_RESOURCES || some.Calls != 5)
        return HV_FAIL(16);
    return STATUS_SUCCESS;
}

static NTSTATUS Deletion(PUNICODE_STRING RegistryPath)
{
    RTL_QUERY_REGISTRY_TABLE t[2];
    ULONG dword = 0, start = 0xFFFFFFFF;
    OBJECT_ATTRIBUTES oa;
    HANDLE key = NULL;
    NTSTATUS st;

    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_DELETE;
    t[0].Name = L"Dword";
    t[0].EntryContext = &dword;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_SUCCESS || dword != 0x1234)
        return HV_FAIL(17);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    if (Query(RTL_REGISTRY_SERVICES, PARAMS, t, NULL) != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(17);
    if (RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Text") != STATUS_SUCCESS ||
        RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, PARAMS, L"Text") != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(17);

    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa)))
        return HV_FAIL(18);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Start";
    t[0].EntryContext = &start;
    st = Query(RTL_REGISTRY_HANDLE, (PCWSTR)key, t, NULL);
    ZwClose(key);
    if (st != STATUS_SUCCESS || start > 4)
        return HV_FAIL(18);
    return STATUS_SUCCESS;
}

#endif /* !CASE_FAULT */

#ifdef CASE_FAULT
/* regquery_fault: the QueryRoutine (driver code, run from inside the kernel's
 * RtlQueryRegistryValues) writes to an unmapped system address: the bug check
 * must name this routine, not the kernel. */
__declspec(dllexport) NTSTATUS NTAPI FaultingRoutine(PWSTR ValueName, ULONG ValueType, PVOID ValueData,
                                                     ULONG ValueLength, PVOID Context, PVOID EntryContext)
{
    UNREFERENCED_PARAMETER(ValueName); UNREFERENCED_PARAMETER(ValueType); UNREFERENCED_PARAMETER(ValueData);
    UNREFERENCED_PARAMETER(ValueLength); UNREFERENCED_PARAMETER(Context); UNREFERENCED_PARAMETER(EntryContext);
    *(volatile ULONG *)(ULONG_PTR)0xFFFFF80DEAD00000ULL = 1;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    RTL_QUERY_REGISTRY_TABLE t[2];

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    RtlZeroMemory(t, sizeof(t));
    t[0].QueryRoutine = FaultingRoutine;
    t[0].Name = L"Start";
    return Query(RTL_REGISTRY_SERVICES, HV_NAME_W, t, NULL);
}
#else
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);
    if (!NT_SUCCESS(st = Setup()) || !NT_SUCCESS(st = Direct()) || !NT_SUCCESS(st = Failures()) ||
        !NT_SUCCESS(st = SubkeysAndExpansion()) || !NT_SUCCESS(st = Routines()) ||
        !NT_SUCCESS(st = Deletion(RegistryPath)))
        return st;
    DbgPrint("regquery: ok\n");
    return STATUS_SUCCESS;
}
#endif
