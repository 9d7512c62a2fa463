/*
 * wfp.c (wfp_engine) - a WFP callout driver's set-up and tear-down through FWPKCLNT.SYS, as WinDivert
 * does it, checked in C against Microsoft's fwpmk.h / fwpsk.h reference pages (return codes from
 * ntstatus.h).  DriverEntry returns 0 when every result is the documented one, else:
 *   0xE0000001  IoCreateDevice, FwpsInjectionHandleCreate0 or FwpsInjectionHandleDestroy0 failed
 *   0xE0000002  FwpmEngineOpen0 failed (local engine, RPC_C_AUTHN_WINNT)
 *   0xE0000003  FwpmTransactionBegin0 failed, or a second one was not STATUS_FWP_TXN_IN_PROGRESS
 *   0xE0000004  FwpmProviderAdd0 failed, or adding the same key was not STATUS_FWP_ALREADY_EXISTS
 *   0xE0000005  FwpmSubLayerAdd0 failed
 *   0xE0000006  after FwpmTransactionAbort0 the provider is still there (delete is not
 *               STATUS_FWP_PROVIDER_NOT_FOUND), or a commit with no transaction was not
 *               STATUS_FWP_NO_TXN_IN_PROGRESS
 *   0xE0000007  provider + sublayer again in a committed transaction failed
 *   0xE0000008  FwpsCalloutRegister0 failed, or the same key again was not STATUS_FWP_ALREADY_EXISTS
 *   0xE0000009  FwpmCalloutAdd0 failed or its calloutId is not the registered callout's
 *   0xE000000A  FwpmFilterAdd0 (a zero filterKey: the engine picks one) failed or gave filter id 0
 *   0xE000000B  deleting a filter key never added was not STATUS_FWP_FILTER_NOT_FOUND
 *   0xE000000C  FwpmSubLayerDeleteByKey0 failed, or again was not STATUS_FWP_SUBLAYER_NOT_FOUND
 *   0xE000000D  FwpmCalloutDeleteByKey0 / FwpsCalloutUnregisterByKey0 failed, or unregistering again
 *               was not STATUS_FWP_CALLOUT_NOT_FOUND
 *   0xE000000E  FwpmProviderDeleteByKey0 or FwpmEngineClose0 failed
 */
#include "compat.h"

#define CHECK(cond, n) do { if (!(cond)) return HV_FAIL(n); } while (0)
#define STATUS_FWP_CALLOUT_NOT_FOUND ((NTSTATUS)0xC0220001)
#define STATUS_FWP_FILTER_NOT_FOUND ((NTSTATUS)0xC0220003)
#define STATUS_FWP_PROVIDER_NOT_FOUND ((NTSTATUS)0xC0220005)
#define STATUS_FWP_SUBLAYER_NOT_FOUND ((NTSTATUS)0xC0220007)
#define STATUS_FWP_ALREADY_EXISTS ((NTSTATUS)0xC0220009)
#define STATUS_FWP_NO_TXN_IN_PROGRESS ((NTSTATUS)0xC022000D)
#define STATUS_FWP_TXN_IN_PROGRESS ((NTSTATUS)0xC022000E)
#define RPC_C_AUTHN_WINNT 10
#define AF_INET 2
#define FWPS_INJECTION_TYPE_NETWORK 0x4

/* The leading members of the fwpmtypes.h / fwpsk.h structures (x64); the rest stays zeroed, as a
 * driver's RtlZeroMemory leaves it.  Sizes: FWPM_PROVIDER0 64, FWPM_SUBLAYER0 72, FWPM_CALLOUT0 88,
 * FWPM_FILTER0 200, FWPS_CALLOUT0 48, FWPM_SESSION0 72 bytes. */
typedef struct { GUID providerKey; PWSTR name, description; UCHAR rest[64 - 32]; } FWPM_PROVIDER0;
typedef struct { GUID subLayerKey; PWSTR name, description; UCHAR rest[72 - 32]; } FWPM_SUBLAYER0;
typedef struct { GUID calloutKey; PWSTR name, description; UCHAR rest[88 - 32]; } FWPM_CALLOUT0;
typedef struct { GUID filterKey; PWSTR name, description; UCHAR rest[200 - 32]; } FWPM_FILTER0;
typedef struct { GUID calloutKey; ULONG flags; PVOID classifyFn, notifyFn, flowDeleteFn; } FWPS_CALLOUT0;
typedef struct { UCHAR bytes[72]; } FWPM_SESSION0;

IMPORT NTSTATUS NTAPI FwpmEngineOpen0(const wchar_t *, ULONG, PVOID, const FWPM_SESSION0 *, HANDLE *);
IMPORT NTSTATUS NTAPI FwpmEngineClose0(HANDLE);
IMPORT NTSTATUS NTAPI FwpmTransactionBegin0(HANDLE, ULONG);
IMPORT NTSTATUS NTAPI FwpmTransactionCommit0(HANDLE);
IMPORT NTSTATUS NTAPI FwpmTransactionAbort0(HANDLE);
IMPORT NTSTATUS NTAPI FwpmProviderAdd0(HANDLE, const FWPM_PROVIDER0 *, PSECURITY_DESCRIPTOR);
IMPORT NTSTATUS NTAPI FwpmProviderDeleteByKey0(HANDLE, const GUID *);
IMPORT NTSTATUS NTAPI FwpmSubLayerAdd0(HANDLE, const FWPM_SUBLAYER0 *, PSECURITY_DESCRIPTOR);
IMPORT NTSTATUS NTAPI FwpmSubLayerDeleteByKey0(HANDLE, const GUID *);
IMPORT NTSTATUS NTAPI FwpmCalloutAdd0(HANDLE, const FWPM_CALLOUT0 *, PSECURITY_DESCRIPTOR, UINT32 *);
IMPORT NTSTATUS NTAPI FwpmCalloutDeleteByKey0(HANDLE, const GUID *);
IMPORT NTSTATUS NTAPI FwpmFilterAdd0(HANDLE, const FWPM_FILTER0 *, PSECURITY_DESCRIPTOR, UINT64 *);
IMPORT NTSTATUS NTAPI FwpmFilterDeleteByKey0(HANDLE, const GUID *);
IMPORT NTSTATUS NTAPI FwpsCalloutRegister0(PVOID, const FWPS_CALLOUT0 *, UINT32 *);
IMPORT NTSTATUS NTAPI FwpsCalloutUnregisterByKey0(const GUID *);
IMPORT NTSTATUS NTAPI FwpsInjectionHandleCreate0(USHORT, UINT32, HANDLE *);
IMPORT NTSTATUS NTAPI FwpsInjectionHandleDestroy0(HANDLE);

static const GUID PROVIDER = {0x1f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x01}};
static const GUID SUBLAYER = {0x1f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x02}};
static const GUID CALLOUT = {0x1f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x03}};
static const GUID NEVER_ADDED = {0x1f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x04}};

static VOID NTAPI Classify(PVOID a, PVOID b, PVOID c, PVOID d, UINT64 e, PVOID f) { (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; }
static NTSTATUS NTAPI Notify(ULONG type, const GUID *key, PVOID filter) { (void)type; (void)key; (void)filter; return 0; }

static NTSTATUS add_provider_and_sublayer(HANDLE engine)
{
    FWPM_PROVIDER0 provider;
    FWPM_SUBLAYER0 sublayer;
    RtlZeroMemory(&provider, sizeof(provider));
    RtlZeroMemory(&sublayer, sizeof(sublayer));
    provider.providerKey = PROVIDER;
    provider.name = L"hvci-verifier test provider";
    sublayer.subLayerKey = SUBLAYER;
    sublayer.name = L"hvci-verifier test sublayer";
    NTSTATUS status = FwpmProviderAdd0(engine, &provider, NULL);
    if (!NT_SUCCESS(status))
        return status;
    if (FwpmProviderAdd0(engine, &provider, NULL) != STATUS_FWP_ALREADY_EXISTS)
        return HV_FAIL(4);
    return FwpmSubLayerAdd0(engine, &sublayer, NULL);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    FWPM_SESSION0 session;
    FWPS_CALLOUT0 runtime_callout;
    FWPM_CALLOUT0 callout;
    FWPM_FILTER0 filter;
    HANDLE injection = NULL, engine = NULL;
    UINT32 callout_id = 0, added_id = 0;
    UINT64 filter_id = 0;
    PDEVICE_OBJECT device;
    (void)RegistryPath;

    CHECK(NT_SUCCESS(IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_NETWORK, 0, FALSE, &device)), 1);
    CHECK(NT_SUCCESS(FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, &injection)) &&
          injection != NULL && NT_SUCCESS(FwpsInjectionHandleDestroy0(injection)), 1);

    RtlZeroMemory(&session, sizeof(session));
    CHECK(NT_SUCCESS(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &session, &engine)) && engine != NULL, 2);
    CHECK(NT_SUCCESS(FwpmTransactionBegin0(engine, 0)) &&
          FwpmTransactionBegin0(engine, 0) == STATUS_FWP_TXN_IN_PROGRESS, 3);
    NTSTATUS status = add_provider_and_sublayer(engine);
    CHECK(status != HV_FAIL(4), 4);
    CHECK(NT_SUCCESS(status), 5);
    CHECK(NT_SUCCESS(FwpmTransactionAbort0(engine)), 6);
    CHECK(FwpmProviderDeleteByKey0(engine, &PROVIDER) == STATUS_FWP_PROVIDER_NOT_FOUND &&
          FwpmTransactionCommit0(engine) == STATUS_FWP_NO_TXN_IN_PROGRESS, 6);

    CHECK(NT_SUCCESS(FwpmTransactionBegin0(engine, 0)) && NT_SUCCESS(add_provider_and_sublayer(engine)), 7);
    RtlZeroMemory(&runtime_callout, sizeof(runtime_callout));
    runtime_callout.calloutKey = CALLOUT;
    runtime_callout.classifyFn = Classify;
    runtime_callout.notifyFn = Notify;
    CHECK(NT_SUCCESS(FwpsCalloutRegister0(device, &runtime_callout, &callout_id)) &&
          FwpsCalloutRegister0(device, &runtime_callout, NULL) == STATUS_FWP_ALREADY_EXISTS, 8);
    RtlZeroMemory(&callout, sizeof(callout));
    callout.calloutKey = CALLOUT;
    CHECK(NT_SUCCESS(FwpmCalloutAdd0(engine, &callout, NULL, &added_id)) && added_id == callout_id, 9);
    RtlZeroMemory(&filter, sizeof(filter));
    CHECK(NT_SUCCESS(FwpmFilterAdd0(engine, &filter, NULL, &filter_id)) && filter_id != 0, 0xA);
    CHECK(NT_SUCCESS(FwpmTransactionCommit0(engine)), 7);

    CHECK(FwpmFilterDeleteByKey0(engine, &NEVER_ADDED) == STATUS_FWP_FILTER_NOT_FOUND, 0xB);
    CHECK(NT_SUCCESS(FwpmSubLayerDeleteByKey0(engine, &SUBLAYER)) &&
          FwpmSubLayerDeleteByKey0(engine, &SUBLAYER) == STATUS_FWP_SUBLAYER_NOT_FOUND, 0xC);
    CHECK(NT_SUCCESS(FwpmCalloutDeleteByKey0(engine, &CALLOUT)) && NT_SUCCESS(FwpsCalloutUnregisterByKey0(&CALLOUT)) &&
          FwpsCalloutUnregisterByKey0(&CALLOUT) == STATUS_FWP_CALLOUT_NOT_FOUND, 0xD);
    CHECK(NT_SUCCESS(FwpmProviderDeleteByKey0(engine, &PROVIDER)) && NT_SUCCESS(FwpmEngineClose0(engine)), 0xE);
    IoDeleteDevice(device);
    return STATUS_SUCCESS;
}
