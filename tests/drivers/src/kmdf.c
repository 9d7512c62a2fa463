/*
 * kmdf.c - KMDF drivers: binding through WDFLDR.SYS, the framework objects a driver builds, and the
 * six KMDF DDIs that take a POOL_TYPE.  The image's entry point is FxDriverEntry (wdf_compat.h),
 * which binds and then calls DriverEntry below.  Expected results are those of Microsoft's KMDF
 * documentation and source (github.com/microsoft/Windows-Driver-Frameworks).
 *
 * -DCASE_CONTROL (kmdf_control): a non-PnP driver building a control device the way WinDivert
 *   does, then using the objects every driver uses.  Returns 0 when all results are KMDF's:
 *     0xE0000001  WdfDriverCreate failed, or the globals' Driver is not the handle it returned
 *     0xE0000002  DriverName is not the service name (the image's name, e.g. "kmdf_control") or
 *                 DriverTag not its first four characters
 *     0xE0000003  WdfDriverWdmGetDriverObject is not the DRIVER_OBJECT
 *     0xE0000004  a second WdfDriverCreate was not STATUS_DRIVER_INTERNAL_ERROR
 *     0xE0000005  WdfControlDeviceInitAllocate returned NULL
 *     0xE0000006  WdfDeviceCreate failed or left the PWDFDEVICE_INIT non-NULL
 *     0xE0000007  the handle is not a kernel address XOR ~7 (KMDF's handle encoding)
 *     0xE0000008  the device context is missing, not zeroed, or not its object's
 *     0xE0000009  WdfObjectAllocateContext: a second type failed, or the same type again was
 *                 not STATUS_OBJECT_NAME_EXISTS with the existing context
 *     0xE000000A  the DEVICE_OBJECT: type, DO_DIRECT_IO, FILE_DEVICE_SECURE_OPEN or
 *                 DO_DEVICE_INITIALIZING (set before WdfControlFinishInitializing) wrong
 *     0xE000000B  WdfWdmDeviceGetWdfDeviceHandle is not the device
 *     0xE000000C  WdfIoQueueCreate failed, or default queue / its device differ
 *     0xE000000D  a second default queue was accepted
 *     0xE000000E  WdfDeviceCreateSymbolicLink failed
 *     0xE000000F  DO_DEVICE_INITIALIZING still set after WdfControlFinishInitializing
 *     0xE0000010  WdfMemoryCreate (NonPagedPoolNx) failed or its buffer/size differ
 *     0xE0000011  WdfMemoryCopyFromBuffer/ToBuffer did not round-trip, or past the end was not
 *                 STATUS_INVALID_BUFFER_SIZE
 *     0xE0000012  WdfMemoryCreatePreallocated does not describe the buffer given
 *     0xE0000013  WdfLookasideListCreate (NonPagedPoolNx) or WdfMemoryCreateFromLookaside failed
 *     0xE0000014  a spin lock or wait lock failed
 *     0xE0000015  a collection of two objects does not count and index them
 *     0xE0000016  WdfStringCreate / WdfStringGetUnicodeString lost the text
 *     0xE0000017  Parameters key: assign and query a ULONG failed, or a missing value was not
 *                 STATUS_OBJECT_NAME_NOT_FOUND
 *     0xE0000018  WdfRegistryQueryMemory (NonPagedPoolNx) of a REG_SZ gave other data
 *     0xE0000019  a timer with the device as parent failed, or a work item without a parent was
 *                 not STATUS_WDF_PARENT_NOT_SPECIFIED
 *     0xE000001A  WdfObjectCreate with a child failed
 *     0xE000001B  WdfDriverGetRegistryPath is not the registry path DriverEntry got
 *     0xE000001C  the DEVICE_OBJECT lacks DO_EXCLUSIVE (WdfDeviceInitSetExclusive) or its
 *                 characteristics are not exactly FILE_DEVICE_SECURE_OPEN | FILE_READ_ONLY_DEVICE
 *                 (WdfDeviceInitSetCharacteristics without OrInValues)
 *     0xE000001D  a manual queue for internal device control: WdfDeviceConfigureRequestDispatching failed, or
 *                 an unknown request type was not STATUS_INVALID_PARAMETER
 *     0xE000001E  WdfCollectionRemove left the wrong item
 *     0xE000001F  WdfRegistryQueryValue: the ULONG, its length and REG_DWORD, or with 2 bytes of room
 *                 not STATUS_BUFFER_OVERFLOW with the length needed
 *     0xE0000020  WdfRegistryQueryUnicodeString: the text and its byte length, or with 4 bytes of room
 *                 not STATUS_BUFFER_OVERFLOW
 *     0xE0000021  WdfDpcCreate with the device as parent failed
 *     0xE0000022  WdfDeviceCreateDeviceInterface on a control device was not STATUS_INVALID_DEVICE_REQUEST
 *   It also allocates a second control PWDFDEVICE_INIT and frees it (WdfDeviceInitFree), and
 *   references and dereferences its device (WdfObjectReferenceActual / WdfObjectDereferenceActual).
 *   Requests: EvtDeviceFileCreate completes with STATUS_SUCCESS (WdfRequestCompleteWithInformation);
 *   EvtIoDeviceControl handles IOCTL_KMDF_XOR (0x222000, METHOD_BUFFERED): out[i] = in[i] ^ 0x5A,
 *   Information = the input length, STATUS_BUFFER_TOO_SMALL when the buffers do not fit; any other
 *   code completes with STATUS_INVALID_DEVICE_REQUEST.
 *   Before returning it deletes a parent object with one child; the framework records the
 *   cleanup/destroy callbacks (child first).
 *
 * -DCASE_BAD_HANDLE (kmdf_bad_handle): passes its WDFDRIVER to WdfDeviceWdmGetDeviceObject:
 *   WDF_VIOLATION (0x10D) Arg1 WDF_INVALID_HANDLE (5), Arg2 the handle, Arg3 FX_TYPE_DEVICE 0x1002.
 *
 * -DCASE_V9 (kmdf_bind_v9): binds as KMDF 1.9 (396 functions, the table copied into its array)
 *   and creates its driver object; returns 0 (0xE0000001: WdfDriverCreate failed).
 * -DCASE_BAD_COUNT (kmdf_bad_count): FuncCount 445, no released table size: WdfVersionBind
 *   fails with STATUS_INVALID_PARAMETER, which FxDriverEntry returns.
 *
 * -DCASE_WDF_LOOP (kmdf_loop, benchmark): exports ULONG64 WdfLoop(ULONG64 n), n calls of
 *   WdfDriverWdmGetDriverObject, counting those that return the DRIVER_OBJECT; DriverEntry runs
 *   WdfLoop(1000) and returns 0 if all 1000 did, else 0xE0000001.
 *
 * -DCASE_PNP (kmdf_pnp): DriverEntry creates a PnP driver (EvtDriverDeviceAdd, EvtDriverUnload,
 *   DriverPoolTag 'PfdK') and returns 0.  EvtDriverDeviceAdd records PnP/power callbacks
 *   (EvtDevicePrepareHardware, EvtDeviceD0Entry), takes power policy ownership, declares a bus
 *   driver's default child list (EvtChildListCreateDevice), creates the device with buffered I/O
 *   and a sequential default queue (EvtIoRead, EvtIoWrite, EvtIoDeviceControl), registers the
 *   device interface {5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F} and sets its children's bus
 *   information (BusNumber 7); returns 0 or
 *     0xE0000001  WdfDeviceCreate failed    0xE0000002  DO_DEVICE_INITIALIZING still set
 *     0xE0000003  WdfIoQueueCreate failed   0xE0000004  WdfDeviceCreateDeviceInterface failed
 *
 * The six DDIs taking a POOL_TYPE, each called once with NonPagedPool (_exec) or NonPagedPoolNx
 * (-DNX, _nx); in DriverEntry after WdfDriverCreate:
 *   -DCASE_MEMORY    WdfMemoryCreate(NULL, type, 'xEmW' / 'xNmW', 0x40, ...)
 *   -DCASE_LOOKASIDE WdfLookasideListCreate(NULL, 0x40, type, NULL, 0, ...): tag 0, so the
 *                    driver's tag ('kmdf' from the service name kmdf_lookaside_*)
 *   -DCASE_REGISTRY  WdfRegistryQueryMemory(Parameters key, L"Blob", type, ...) of a REG_BINARY
 *                    value it assigned: the driver's tag
 * and in EvtDriverDeviceAdd (the PnP driver, DriverPoolTag 'PfdK'):
 *   -DCASE_PROPERTY    WdfDeviceAllocAndQueryProperty(device, DevicePropertyHardwareID, type)
 *   -DCASE_PROPERTY_EX WdfDeviceAllocAndQueryPropertyEx(device, DEVPKEY_Device_HardwareIds, type)
 *   -DCASE_FDO         WdfFdoInitAllocAndQueryProperty(init, DevicePropertyHardwareID, type)
 *   -DCASE_FDO_EX      WdfFdoInitAllocAndQueryPropertyEx(init, DEVPKEY_Device_HardwareIds, type)
 *   -DCASE_TARGET      WdfIoTargetAllocAndQueryTargetProperty(WdfDeviceGetIoTarget(device),
 *                      DevicePropertyHardwareID, type)
 *   each returns 0, or 0xE00000F1 when the call fails.
 */
#if defined(CASE_V9)
#define KMDF_MINOR 9
#elif defined(CASE_BAD_COUNT)
#define KMDF_FUNC_COUNT 445
#endif
#include "wdf_compat.h"

#ifdef NX
#define POOL NonPagedPoolNx
#define TAG_MEMORY 'xNmW'
#else
#define POOL NonPagedPool
#define TAG_MEMORY 'xEmW'
#endif
#define STATUS_DRIVER_INTERNAL_ERROR ((NTSTATUS)0xC0000183)
#define STATUS_OBJECT_NAME_EXISTS ((NTSTATUS)0x40000000)
#define STATUS_INVALID_BUFFER_SIZE ((NTSTATUS)0xC0000206)
#define STATUS_WDF_PARENT_NOT_SPECIFIED ((NTSTATUS)0xC0200216)
#define DevicePropertyHardwareID 1
#define NAME_TEXT2(x) #x
#define NAME_TEXT(x) NAME_TEXT2(x)
#define CHECK(cond, n) do { if (!(cond)) return HV_FAIL(n); } while (0)

#if defined(CASE_FDO_EX) || defined(CASE_PROPERTY_EX)
static const DEVPROPKEY DEVPKEY_Device_HardwareIds =
    {{0xa45c254e, 0xdf1c, 0x4efd, {0x80, 0x20, 0x67, 0xd1, 0x46, 0xa8, 0x50, 0xe0}}, 3};
#endif

static WDFDRIVER g_driver;

/* IOCTL_KMDF_XOR (0x222000, METHOD_BUFFERED): out[i] = in[i] ^ 0x5A, Information = the input length
 * (the output must hold it); any other code completes with STATUS_INVALID_DEVICE_REQUEST. */
#define IOCTL_KMDF_XOR 0x222000
static __attribute__((unused)) VOID NTAPI EvtIoDeviceControl(WDFQUEUE q, WDFREQUEST r, size_t out, size_t in, ULONG code)
{
    PUCHAR input, output;
    size_t in_length, out_length;
    (void)q;
    if (code != IOCTL_KMDF_XOR) {
        WDFCALL(WdfRequestComplete, r, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    if (!NT_SUCCESS(WDFCALL(WdfRequestRetrieveInputBuffer, r, 1, (PVOID *)&input, &in_length)) ||
        !NT_SUCCESS(WDFCALL(WdfRequestRetrieveOutputBuffer, r, in, (PVOID *)&output, &out_length)) ||
        in_length != in || out_length != out) {
        WDFCALL(WdfRequestComplete, r, STATUS_BUFFER_TOO_SMALL);
        return;
    }
    for (size_t i = 0; i < in_length; i++)
        output[i] = input[i] ^ 0x5A;
    WDFCALL(WdfRequestSetInformation, r, in_length);
    WDFCALL(WdfRequestComplete, r, STATUS_SUCCESS);
}

static VOID NTAPI EvtDriverUnload(WDFDRIVER driver) { (void)driver; }

static NTSTATUS create_driver(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath, ULONG flags,
                              PFN_WDF_DRIVER_DEVICE_ADD add, ULONG tag)
{
    WDF_DRIVER_CONFIG config;
    RtlZeroMemory(&config, sizeof(config));
    config.Size = sizeof(config);
    config.EvtDriverDeviceAdd = add;
    config.EvtDriverUnload = EvtDriverUnload;
    config.DriverInitFlags = flags;
    config.DriverPoolTag = tag;
    return WDFCALL(WdfDriverCreate, DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &g_driver);
}

#if defined(CASE_CONTROL)
typedef struct { ULONG Magic; UCHAR Pad[60]; } DEVICE_CONTEXT;
typedef struct { ULONG64 Counter; } EXTRA_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_INFO(DEVICE_CONTEXT);
WDF_DECLARE_CONTEXT_TYPE_INFO(EXTRA_CONTEXT);

static VOID NTAPI EvtFileCreate(WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f)
{
    (void)d; (void)f;
    WDFCALL(WdfRequestCompleteWithInformation, r, STATUS_SUCCESS, 0);
}
static VOID NTAPI EvtFileClose(WDFFILEOBJECT f) { (void)f; }
static VOID NTAPI EvtParentCleanup(WDFOBJECT o) { (void)o; }
static VOID NTAPI EvtChildCleanup(WDFOBJECT o) { (void)o; }
static VOID NTAPI EvtChildDestroy(WDFOBJECT o) { (void)o; }
static VOID NTAPI EvtTimer(WDFTIMER t) { (void)t; }
static VOID NTAPI EvtWorkItem(WDFWORKITEM w) { (void)w; }
static VOID NTAPI EvtDpc(WDFDPC d) { (void)d; }

static int same_text(const char *a, const char *b)
{
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static int zeroed(const UCHAR *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static NTSTATUS objects(WDFDEVICE device)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFMEMORY memory, pre, from_list;
    WDFLOOKASIDE lookaside;
    PVOID buffer;
    size_t size = 0;
    UCHAR in[16], out[16], local[24];
    for (int i = 0; i < 16; i++) in[i] = (UCHAR)(0xA0 + i);

    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCreate, WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 'mdfK', 0x40, &memory,
                             &buffer)), 0x10);
    CHECK(WDFCALL(WdfMemoryGetBuffer, memory, &size) == buffer && size == 0x40, 0x10);
    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCopyFromBuffer, memory, 0x30, in, 16)), 0x11);
    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCopyToBuffer, memory, 0x30, out, 16)) && RtlCompareMemory(in, out, 16) == 16,
          0x11);
    CHECK(WDFCALL(WdfMemoryCopyFromBuffer, memory, 0x31, in, 16) == STATUS_INVALID_BUFFER_SIZE, 0x11);
    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCreatePreallocated, WDF_NO_OBJECT_ATTRIBUTES, local, sizeof(local), &pre)), 0x12);
    CHECK(WDFCALL(WdfMemoryGetBuffer, pre, &size) == local && size == sizeof(local), 0x12);

    CHECK(NT_SUCCESS(WDFCALL(WdfLookasideListCreate, WDF_NO_OBJECT_ATTRIBUTES, 0x30, NonPagedPoolNx,
                             WDF_NO_OBJECT_ATTRIBUTES, 'ldfK', &lookaside)), 0x13);
    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCreateFromLookaside, lookaside, &from_list)), 0x13);
    CHECK(WDFCALL(WdfMemoryGetBuffer, from_list, &size) != NULL && size == 0x30, 0x13);

    WDFSPINLOCK spin;
    WDFWAITLOCK wait;
    CHECK(NT_SUCCESS(WDFCALL(WdfSpinLockCreate, WDF_NO_OBJECT_ATTRIBUTES, &spin)), 0x14);
    WDFCALL(WdfSpinLockAcquire, spin);
    WDFCALL(WdfSpinLockRelease, spin);
    CHECK(NT_SUCCESS(WDFCALL(WdfWaitLockCreate, WDF_NO_OBJECT_ATTRIBUTES, &wait)), 0x14);
    CHECK(WDFCALL(WdfWaitLockAcquire, wait, NULL) == STATUS_SUCCESS, 0x14);
    WDFCALL(WdfWaitLockRelease, wait);

    WDFCOLLECTION collection;
    CHECK(NT_SUCCESS(WDFCALL(WdfCollectionCreate, WDF_NO_OBJECT_ATTRIBUTES, &collection)), 0x15);
    CHECK(NT_SUCCESS(WDFCALL(WdfCollectionAdd, collection, memory)), 0x15);
    CHECK(NT_SUCCESS(WDFCALL(WdfCollectionAdd, collection, pre)), 0x15);
    CHECK(WDFCALL(WdfCollectionGetCount, collection) == 2, 0x15);
    CHECK(WDFCALL(WdfCollectionGetItem, collection, 1) == pre && WDFCALL(WdfCollectionGetItem, collection, 2) == NULL,
          0x15);
    WDFCALL(WdfCollectionRemove, collection, memory);
    CHECK(WDFCALL(WdfCollectionGetCount, collection) == 1 && WDFCALL(WdfCollectionGetItem, collection, 0) == pre, 0x1E);

    UNICODE_STRING text = RTL_CONSTANT_STRING(L"KMDF string"), got;
    WDFSTRING string;
    CHECK(NT_SUCCESS(WDFCALL(WdfStringCreate, &text, WDF_NO_OBJECT_ATTRIBUTES, &string)), 0x16);
    WDFCALL(WdfStringGetUnicodeString, string, &got);
    CHECK(RtlEqualUnicodeString(&text, &got, FALSE) && got.Buffer != text.Buffer, 0x16);

    WDFKEY key;
    ULONG value = 0;
    UNICODE_STRING level = RTL_CONSTANT_STRING(L"Level"), missing = RTL_CONSTANT_STRING(L"Missing"),
                   label = RTL_CONSTANT_STRING(L"Label");
    static const WCHAR label_text[] = L"control";
    CHECK(NT_SUCCESS(WDFCALL(WdfDriverOpenParametersRegistryKey, g_driver, KEY_READ | KEY_WRITE,
                             WDF_NO_OBJECT_ATTRIBUTES, &key)), 0x17);
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryAssignULong, key, &level, 7)), 0x17);
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryQueryULong, key, &level, &value)) && value == 7, 0x17);
    CHECK(WDFCALL(WdfRegistryQueryULong, key, &missing, &value) == STATUS_OBJECT_NAME_NOT_FOUND, 0x17);
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryAssignValue, key, &label, REG_SZ, sizeof(label_text), (PVOID)label_text)),
          0x18);
    WDFMEMORY blob;
    ULONG type = 0;
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryQueryMemory, key, &label, NonPagedPoolNx, WDF_NO_OBJECT_ATTRIBUTES, &blob,
                             &type)) && type == REG_SZ, 0x18);
    buffer = WDFCALL(WdfMemoryGetBuffer, blob, &size);
    CHECK(size == sizeof(label_text) && RtlCompareMemory(buffer, label_text, size) == size, 0x18);
    ULONG length = 0, small = 0;
    value = 0;
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryQueryValue, key, &level, sizeof(value), &value, &length, &type)) &&
          value == 7 && length == 4 && type == REG_DWORD, 0x1F);
    CHECK(WDFCALL(WdfRegistryQueryValue, key, &level, 2, &small, &length, NULL) == STATUS_BUFFER_OVERFLOW &&
          length == 4, 0x1F);
    WCHAR text_buffer[16], tiny_buffer[2];
    UNICODE_STRING text_value = {0, sizeof(text_buffer), text_buffer}, tiny = {0, sizeof(tiny_buffer), tiny_buffer};
    UNICODE_STRING expected = RTL_CONSTANT_STRING(L"control");
    USHORT bytes = 0;
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryQueryUnicodeString, key, &label, &bytes, &text_value)) &&
          RtlEqualUnicodeString(&text_value, &expected, FALSE) && bytes == expected.Length, 0x20);
    CHECK(WDFCALL(WdfRegistryQueryUnicodeString, key, &label, NULL, &tiny) == STATUS_BUFFER_OVERFLOW, 0x20);
    WDFCALL(WdfRegistryClose, key);

    WDF_TIMER_CONFIG timer_config;
    WDF_WORKITEM_CONFIG work_config;
    WDF_DPC_CONFIG dpc_config;
    WDFTIMER timer;
    WDFWORKITEM work;
    WDFDPC dpc;
    WDF_TIMER_CONFIG_INIT(&timer_config, EvtTimer);
    WDF_DPC_CONFIG_INIT(&dpc_config, EvtDpc);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = device;
    CHECK(NT_SUCCESS(WDFCALL(WdfTimerCreate, &timer_config, &attributes, &timer)), 0x19);
    CHECK(NT_SUCCESS(WDFCALL(WdfDpcCreate, &dpc_config, &attributes, &dpc)), 0x21);
    WDF_WORKITEM_CONFIG_INIT(&work_config, EvtWorkItem);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    CHECK(WDFCALL(WdfWorkItemCreate, &work_config, &attributes, &work) == STATUS_WDF_PARENT_NOT_SPECIFIED, 0x19);

    WDFOBJECT parent;
    WDFMEMORY child;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = EvtParentCleanup;
    CHECK(NT_SUCCESS(WDFCALL(WdfObjectCreate, &attributes, &parent)), 0x1A);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = parent;
    attributes.EvtCleanupCallback = EvtChildCleanup;
    attributes.EvtDestroyCallback = EvtChildDestroy;
    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCreate, &attributes, NonPagedPoolNx, 'cdfK', 0x10, &child, NULL)), 0x1A);
    WDFCALL(WdfObjectDelete, parent);
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DECLARE_CONST_UNICODE_STRING(sddl, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
    DECLARE_CONST_UNICODE_STRING(name, L"\\Device\\KmdfControl");
    DECLARE_CONST_UNICODE_STRING(link, L"\\DosDevices\\KmdfControl");
    WDF_FILEOBJECT_CONFIG file_config;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG queue_config;
    WDFDEVICE device;
    WDFQUEUE queue, second;
    NTSTATUS status;

    CHECK(NT_SUCCESS(create_driver(DriverObject, RegistryPath, WdfDriverInitNonPnpDriver, NULL, 0)) &&
          WdfDriverGlobals->Driver == g_driver, 1);
    CHECK(same_text(WdfDriverGlobals->DriverName, NAME_TEXT(HV_NAME)) && WdfDriverGlobals->DriverTag == 'fdmk', 2);
    CHECK(WDFCALL(WdfDriverWdmGetDriverObject, g_driver) == DriverObject, 3);
    CHECK(create_driver(DriverObject, RegistryPath, WdfDriverInitNonPnpDriver, NULL, 0) ==
          STATUS_DRIVER_INTERNAL_ERROR, 4);

    PWDFDEVICE_INIT init = WDFCALL(WdfControlDeviceInitAllocate, g_driver, &sddl);
    CHECK(init != NULL, 5);
    WDFCALL(WdfDeviceInitSetDeviceType, init, FILE_DEVICE_NETWORK);
    WDFCALL(WdfDeviceInitSetIoType, init, WdfDeviceIoDirect);
    WDFCALL(WdfDeviceInitSetExclusive, init, TRUE);
    WDFCALL(WdfDeviceInitSetCharacteristics, init, FILE_DEVICE_SECURE_OPEN | FILE_READ_ONLY_DEVICE, FALSE);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceInitAssignName, init, &name)), 5);
    RtlZeroMemory(&file_config, sizeof(file_config));
    file_config.Size = sizeof(file_config);
    file_config.EvtDeviceFileCreate = EvtFileCreate;
    file_config.EvtFileClose = EvtFileClose;
    file_config.AutoForwardCleanupClose = WdfUseDefault;
    WDFCALL(WdfDeviceInitSetFileObjectConfig, init, &file_config, WDF_NO_OBJECT_ATTRIBUTES);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, DEVICE_CONTEXT);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreate, &init, &attributes, &device)) && init == NULL, 6);
    ULONG_PTR object = (ULONG_PTR)device ^ ~(ULONG_PTR)7;
    CHECK(object >= 0xFFFF800000000000ull && ((ULONG_PTR)device & 7) == 0, 7);

    DEVICE_CONTEXT *ctx = WDFCALL(WdfObjectGetTypedContextWorker, device, &WDF_DEVICE_CONTEXT_TYPE_INFO);
    CHECK(ctx != NULL && zeroed((const UCHAR *)ctx, sizeof(*ctx)), 8);
    CHECK(WDFCALL(WdfObjectContextGetObject, ctx) == device, 8);
    CHECK(WDFCALL(WdfObjectGetTypedContextWorker, device, &WDF_EXTRA_CONTEXT_TYPE_INFO) == NULL, 8);
    PVOID extra = NULL, again = NULL;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, EXTRA_CONTEXT);
    CHECK(NT_SUCCESS(WDFCALL(WdfObjectAllocateContext, device, &attributes, &extra)) && extra != NULL &&
          extra == WDFCALL(WdfObjectGetTypedContextWorker, device, &WDF_EXTRA_CONTEXT_TYPE_INFO), 9);
    CHECK(WDFCALL(WdfObjectAllocateContext, device, &attributes, &again) == STATUS_OBJECT_NAME_EXISTS &&
          again == extra, 9);

    PDEVICE_OBJECT devobj = WDFCALL(WdfDeviceWdmGetDeviceObject, device);
    CHECK(devobj != NULL && devobj->DeviceType == FILE_DEVICE_NETWORK && (devobj->Flags & DO_DIRECT_IO) &&
          (devobj->Characteristics & FILE_DEVICE_SECURE_OPEN) && (devobj->Flags & DO_DEVICE_INITIALIZING) &&
          devobj->DriverObject == DriverObject, 0xA);
    CHECK(WDFCALL(WdfWdmDeviceGetWdfDeviceHandle, devobj) == device, 0xB);
    CHECK((devobj->Flags & DO_EXCLUSIVE) && devobj->Characteristics == (FILE_DEVICE_SECURE_OPEN | FILE_READ_ONLY_DEVICE),
          0x1C);

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue_config, WdfIoQueueDispatchParallel);
    queue_config.EvtIoDeviceControl = EvtIoDeviceControl;
    CHECK(NT_SUCCESS(WDFCALL(WdfIoQueueCreate, device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, &queue)), 0xC);
    CHECK(WDFCALL(WdfDeviceGetDefaultQueue, device) == queue && WDFCALL(WdfIoQueueGetDevice, queue) == device, 0xC);
    CHECK(!NT_SUCCESS(WDFCALL(WdfIoQueueCreate, device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, &second)), 0xD);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreateSymbolicLink, device, &link)), 0xE);
    WDFCALL(WdfControlFinishInitializing, device);
    CHECK(!(devobj->Flags & DO_DEVICE_INITIALIZING), 0xF);

    PCWSTR path = WDFCALL(WdfDriverGetRegistryPath, g_driver);
    CHECK(path != NULL && RtlCompareMemory(path, RegistryPath->Buffer, RegistryPath->Length) == RegistryPath->Length &&
          path[RegistryPath->Length / sizeof(WCHAR)] == L'\0', 0x1B);
    PWDFDEVICE_INIT unused = WDFCALL(WdfControlDeviceInitAllocate, g_driver, &sddl);
    CHECK(unused != NULL, 5);
    WDFCALL(WdfDeviceInitFree, unused);

    WDF_IO_QUEUE_CONFIG manual_config;
    WDFQUEUE manual;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&manual_config, WdfIoQueueDispatchManual);
    manual_config.DefaultQueue = FALSE;
    CHECK(NT_SUCCESS(WDFCALL(WdfIoQueueCreate, device, &manual_config, WDF_NO_OBJECT_ATTRIBUTES, &manual)), 0x1D);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceConfigureRequestDispatching, device, manual,
                             WdfRequestTypeDeviceControlInternal)), 0x1D);
    CHECK(WDFCALL(WdfDeviceConfigureRequestDispatching, device, manual, 99) == STATUS_INVALID_PARAMETER, 0x1D);

    WDFCALL(WdfObjectReferenceActual, device, NULL, __LINE__, __FILE__);
    WDFCALL(WdfObjectDereferenceActual, device, NULL, __LINE__, __FILE__);
    static const GUID interface_guid = {0x5f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f}};
    CHECK(WDFCALL(WdfDeviceCreateDeviceInterface, device, &interface_guid, NULL) == STATUS_INVALID_DEVICE_REQUEST,
          0x22);

    status = objects(device);
    return status;
}

#elif defined(CASE_BAD_HANDLE)
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status = create_driver(DriverObject, RegistryPath, WdfDriverInitNonPnpDriver, NULL, 0);
    if (!NT_SUCCESS(status))
        return status;
    return WDFCALL(WdfDeviceWdmGetDeviceObject, (WDFDEVICE)g_driver) ? STATUS_SUCCESS : HV_FAIL(1);
}

#elif defined(CASE_WDF_LOOP)
static PDRIVER_OBJECT g_driver_object;

__declspec(dllexport) __attribute__((noinline)) ULONG64 WdfLoop(ULONG64 n)
{
    ULONG64 same = 0;
    for (ULONG64 i = 0; i < n; i++)
        same += WDFCALL(WdfDriverWdmGetDriverObject, g_driver) == g_driver_object;
    return same;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG64 n = 1000;
    g_driver_object = DriverObject;
    CHECK(NT_SUCCESS(create_driver(DriverObject, RegistryPath, WdfDriverInitNonPnpDriver, NULL, 0)), 1);
    return WdfLoop(n) == 1000 ? STATUS_SUCCESS : HV_FAIL(1);
}

#elif defined(CASE_V9) || defined(CASE_BAD_COUNT) || defined(CASE_MEMORY) || defined(CASE_LOOKASIDE) || \
      defined(CASE_REGISTRY)
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    CHECK(NT_SUCCESS(create_driver(DriverObject, RegistryPath, WdfDriverInitNonPnpDriver, NULL, 0)), 1);
#if defined(CASE_MEMORY)
    WDFMEMORY memory;
    CHECK(NT_SUCCESS(WDFCALL(WdfMemoryCreate, WDF_NO_OBJECT_ATTRIBUTES, POOL, TAG_MEMORY, 0x40, &memory, NULL)), 0xF1);
#elif defined(CASE_LOOKASIDE)
    WDFLOOKASIDE lookaside;
    CHECK(NT_SUCCESS(WDFCALL(WdfLookasideListCreate, WDF_NO_OBJECT_ATTRIBUTES, 0x40, POOL, WDF_NO_OBJECT_ATTRIBUTES,
                             0, &lookaside)), 0xF1);
#elif defined(CASE_REGISTRY)
    static const UCHAR blob_data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    UNICODE_STRING blob_name = RTL_CONSTANT_STRING(L"Blob");
    WDFKEY key;
    WDFMEMORY blob;
    CHECK(NT_SUCCESS(WDFCALL(WdfDriverOpenParametersRegistryKey, g_driver, KEY_READ | KEY_WRITE,
                             WDF_NO_OBJECT_ATTRIBUTES, &key)), 0xF1);
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryAssignValue, key, &blob_name, REG_BINARY, sizeof(blob_data),
                             (PVOID)blob_data)), 0xF1);
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryQueryMemory, key, &blob_name, POOL, WDF_NO_OBJECT_ATTRIBUTES, &blob, NULL)),
          0xF1);
    WDFCALL(WdfRegistryClose, key);
#endif
    return STATUS_SUCCESS;
}

#else   /* PnP drivers: CASE_PNP and the property cases */
typedef PVOID WDFCMRESLIST;
static NTSTATUS NTAPI EvtPrepareHardware(WDFDEVICE d, WDFCMRESLIST r, WDFCMRESLIST t) { (void)d; (void)r; (void)t; return 0; }
static NTSTATUS NTAPI EvtD0Entry(WDFDEVICE d, int s) { (void)d; (void)s; return 0; }
static VOID NTAPI EvtIoRead(WDFQUEUE q, WDFREQUEST r, size_t n) { (void)q; (void)r; (void)n; }
static VOID NTAPI EvtIoWrite(WDFQUEUE q, WDFREQUEST r, size_t n) { (void)q; (void)r; (void)n; }
static __attribute__((unused)) NTSTATUS NTAPI EvtChildListCreateDevice(PVOID l, PVOID id, PWDFDEVICE_INIT i)
{
    (void)l; (void)id; (void)i;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI EvtDriverDeviceAdd(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_IO_QUEUE_CONFIG queue_config;
    WDFDEVICE device;
    WDFMEMORY memory;
    (void)driver;
#if defined(CASE_FDO) || defined(CASE_FDO_EX)
#if defined(CASE_FDO)
    CHECK(NT_SUCCESS(WDFCALL(WdfFdoInitAllocAndQueryProperty, init, DevicePropertyHardwareID, POOL,
                             WDF_NO_OBJECT_ATTRIBUTES, &memory)), 0xF1);
#else
    WDF_DEVICE_PROPERTY_DATA data = {sizeof(data), &DEVPKEY_Device_HardwareIds, 0, 0};
    DEVPROPTYPE type;
    CHECK(NT_SUCCESS(WDFCALL(WdfFdoInitAllocAndQueryPropertyEx, init, &data, POOL, WDF_NO_OBJECT_ATTRIBUTES, &memory,
                             &type)) && type == DEVPROP_TYPE_STRING_LIST, 0xF1);
#endif
#endif
    RtlZeroMemory(&pnp, sizeof(pnp));
    pnp.Size = sizeof(pnp);
    pnp.EvtDevicePrepareHardware = EvtPrepareHardware;
    pnp.EvtDeviceD0Entry = EvtD0Entry;
    WDFCALL(WdfDeviceInitSetPnpPowerEventCallbacks, init, &pnp);
    WDFCALL(WdfDeviceInitSetIoType, init, WdfDeviceIoBuffered);
#if defined(CASE_PNP)
    WDF_CHILD_LIST_CONFIG children;
    RtlZeroMemory(&children, sizeof(children));
    children.Size = sizeof(children);
    children.IdentificationDescriptionSize = 16;
    children.EvtChildListCreateDevice = EvtChildListCreateDevice;
    WDFCALL(WdfDeviceInitSetPowerPolicyOwnership, init, TRUE);
    WDFCALL(WdfFdoInitSetDefaultChildListConfig, init, &children, WDF_NO_OBJECT_ATTRIBUTES);
#endif
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreate, &init, WDF_NO_OBJECT_ATTRIBUTES, &device)), 1);
    CHECK(!(WDFCALL(WdfDeviceWdmGetDeviceObject, device)->Flags & DO_DEVICE_INITIALIZING), 2);
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue_config, WdfIoQueueDispatchSequential);
    queue_config.EvtIoRead = EvtIoRead;
    queue_config.EvtIoWrite = EvtIoWrite;
    queue_config.EvtIoDeviceControl = EvtIoDeviceControl;
    CHECK(NT_SUCCESS(WDFCALL(WdfIoQueueCreate, device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE)), 3);
#if defined(CASE_PNP)
    static const GUID interface_guid = {0x5f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f}};
    PNP_BUS_INFORMATION bus = {{0}, Internal, 7};
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreateDeviceInterface, device, &interface_guid, NULL)), 4);
    WDFCALL(WdfDeviceSetBusInformationForChildren, device, &bus);
#endif
#if defined(CASE_PROPERTY)
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceAllocAndQueryProperty, device, DevicePropertyHardwareID, POOL,
                             WDF_NO_OBJECT_ATTRIBUTES, &memory)), 0xF1);
#elif defined(CASE_PROPERTY_EX)
    WDF_DEVICE_PROPERTY_DATA data = {sizeof(data), &DEVPKEY_Device_HardwareIds, 0, 0};
    DEVPROPTYPE type;
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceAllocAndQueryPropertyEx, device, &data, POOL, WDF_NO_OBJECT_ATTRIBUTES, &memory,
                             &type)), 0xF1);
#elif defined(CASE_TARGET)
    WDFIOTARGET target = WDFCALL(WdfDeviceGetIoTarget, device);
    CHECK(NT_SUCCESS(WDFCALL(WdfIoTargetAllocAndQueryTargetProperty, target, DevicePropertyHardwareID, POOL,
                             WDF_NO_OBJECT_ATTRIBUTES, &memory)), 0xF1);
#endif
    (void)memory;
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    return create_driver(DriverObject, RegistryPath, 0, EvtDriverDeviceAdd, 'PfdK');
}
#endif
