/*
 * registry.c - the service key a driver gets in RegistryPath.
 *
 *   ZwOpenKey(RegistryPath) -> ZwQueryValueKey("Start") twice (size probe,
 *   then the data) -> ZwCreateKey("Parameters", volatile) -> ZwSetValueKey
 *   of a REG_DWORD and a REG_SZ -> ZwQueryValueKey both back -> query a
 *   missing value -> ZwClose everything.
 *
 * Return values (first failure wins):
 *   0xE0000001  ZwOpenKey on RegistryPath failed
 *   0xE0000002  size probe of "Start" (Length 0) did not return
 *               STATUS_BUFFER_TOO_SMALL with ResultLength 16
 *   0xE0000003  "Start" is not a REG_DWORD between 0 and 4
 *   0xE0000004  ZwCreateKey of "Parameters" failed or the disposition is
 *               neither REG_CREATED_NEW_KEY nor REG_OPENED_EXISTING_KEY
 *   0xE0000005  ZwSetValueKey failed
 *   0xE0000006  "HvciDword" did not read back as REG_DWORD 0x12345678
 *   0xE0000007  "HvciString" did not read back as REG_SZ L"emulated" (18 bytes)
 *   0xE0000008  querying the missing value "HvciMissing" did not return
 *               STATUS_OBJECT_NAME_NOT_FOUND
 */
#include "compat.h"

#define INFO_SIZE 64

typedef union _VALUE_BUFFER {
    KEY_VALUE_PARTIAL_INFORMATION Info;
    UCHAR Raw[FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + INFO_SIZE];
} VALUE_BUFFER;

static NOINLINE NTSTATUS QueryValue(HANDLE key, PCWSTR name, VALUE_BUFFER *buffer, PULONG resultLength)
{
    UNICODE_STRING valueName;
    RtlInitUnicodeString(&valueName, name);
    return ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, buffer, sizeof(*buffer),
                           resultLength);
}

static NOINLINE NTSTATUS SetValue(HANDLE key, PCWSTR name, ULONG type, const VOID *data, ULONG size)
{
    UNICODE_STRING valueName;
    RtlInitUnicodeString(&valueName, name);
    return ZwSetValueKey(key, &valueName, 0, type, (PVOID)data, size);
}

static NTSTATUS Run(PUNICODE_STRING RegistryPath, HANDLE *serviceKey, HANDLE *paramsKey)
{
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name, start;
    VALUE_BUFFER value;
    ULONG resultLength = 0, disposition = 0, dword = 0x12345678;
    KEY_VALUE_PARTIAL_INFORMATION probe;
    static const WCHAR text[] = L"emulated";
    NTSTATUS st;
    ULONG i;

    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    st = ZwOpenKey(serviceKey, KEY_READ, &oa);
    if (!NT_SUCCESS(st)) {
        DbgPrint("registry: ZwOpenKey(%wZ) failed 0x%08X\n", RegistryPath, st);
        return HV_FAIL(1);
    }

    /* size probe: no room even for the fixed header */
    RtlInitUnicodeString(&start, L"Start");
    st = ZwQueryValueKey(*serviceKey, &start, KeyValuePartialInformation, &probe, 0, &resultLength);
    if (st != STATUS_BUFFER_TOO_SMALL ||
        resultLength != FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + sizeof(ULONG)) {
        DbgPrint("registry: size probe returned 0x%08X, ResultLength %u\n", st, resultLength);
        return HV_FAIL(2);
    }

    st = QueryValue(*serviceKey, L"Start", &value, &resultLength);
    if (!NT_SUCCESS(st) || value.Info.Type != REG_DWORD || value.Info.DataLength != sizeof(ULONG) ||
        *(ULONG *)value.Info.Data > 4)
        return HV_FAIL(3);
    DbgPrint("registry: Start = %u\n", *(ULONG *)value.Info.Data);

    RtlInitUnicodeString(&name, L"Parameters");
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, *serviceKey, NULL);
    st = ZwCreateKey(paramsKey, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_VOLATILE, &disposition);
    if (!NT_SUCCESS(st) ||
        (disposition != REG_CREATED_NEW_KEY && disposition != REG_OPENED_EXISTING_KEY))
        return HV_FAIL(4);

    if (!NT_SUCCESS(SetValue(*paramsKey, L"HvciDword", REG_DWORD, &dword, sizeof(dword))) ||
        !NT_SUCCESS(SetValue(*paramsKey, L"HvciString", REG_SZ, text, sizeof(text))))
        return HV_FAIL(5);

    st = QueryValue(*paramsKey, L"HvciDword", &value, &resultLength);
    if (!NT_SUCCESS(st) || value.Info.Type != REG_DWORD || value.Info.DataLength != 4 ||
        *(ULONG *)value.Info.Data != 0x12345678)
        return HV_FAIL(6);

    st = QueryValue(*paramsKey, L"HvciString", &value, &resultLength);
    if (!NT_SUCCESS(st) || value.Info.Type != REG_SZ || value.Info.DataLength != sizeof(text))
        return HV_FAIL(7);
    for (i = 0; i < sizeof(text) / sizeof(WCHAR); i++) {
        if (((WCHAR *)value.Info.Data)[i] != text[i])
            return HV_FAIL(7);
    }

    st = QueryValue(*paramsKey, L"HvciMissing", &value, &resultLength);
    if (st != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(8);

    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE serviceKey = NULL, paramsKey = NULL;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);

    st = Run(RegistryPath, &serviceKey, &paramsKey);
    if (paramsKey != NULL)
        ZwClose(paramsKey);
    if (serviceKey != NULL)
        ZwClose(serviceKey);
    if (st == STATUS_SUCCESS)
        DbgPrint("registry: ok\n");
    return st;
}
