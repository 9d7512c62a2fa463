/*
 * kmdf_io.c - KMDF drivers for the request path beyond one queue, deferred work, object deletion,
 * a bus driver's child list, device interfaces and the WPP in-flight recorder.  Entry point
 * FxDriverEntry (wdf_compat.h).  Expected results are those of Microsoft's KMDF documentation
 * (learn.microsoft.com, the WdfXxx pages) and source (github.com/microsoft/Windows-Driver-Frameworks).
 *
 * -DCASE_IO (kmdf_io): a non-PnP control device \Device\KmdfIo (link \DosDevices\KmdfIo) with an
 *   EvtIoInCallerContext, a parallel default queue (EvtIoDeviceControl) and a manual queue.
 *   DriverEntry returns 0 when every result is KMDF's, else:
 *     0xE0000001  WdfDriverCreate / the control device / its queues / its link failed
 *     0xE0000002  WdfTimerStart: the first start of a timer was not FALSE, a second not TRUE
 *     0xE0000003  WdfTimerStop: stopping an armed timer was not TRUE, stopping it again not FALSE
 *     0xE0000004  WdfWorkItemFlush did not run the (twice) enqueued work item exactly once, or a
 *                 second flush ran it again
 *     0xE0000005  WdfDpcEnqueue: not TRUE then FALSE; WdfDpcCancel: not TRUE then FALSE
 *     0xE0000006  WdfTimer/WorkItem/DpcGetParentObject is not the device
 *     0xE0000007  WdfObjectDelete did not run the object's EvtCleanupCallback and EvtDestroyCallback
 *                 (once each) before returning
 *   It then leaves the timer started, the work item and the DPC queued: each callback prints
 *   "kmdf_io: <callback> parent ok" when WdfXxxGetParentObject is the device (else "... parent BAD"),
 *   and the work item also "kmdf_io: work item run 2" (its second run).  The device's
 *   EvtCleanupCallback prints "kmdf_io: device cleanup" when the driver unloads.
 *   Requests (METHOD_BUFFERED codes of FILE_DEVICE_UNKNOWN, functions 0x900...):
 *     Every request has a REQUEST_MARK context (WdfDeviceInitSetRequestAttributes), zeroed, which
 *     EvtIoInCallerContext marks 0xABCD.  EvtDeviceFileCreate completes the CREATE with STATUS_SUCCESS
 *     when WdfFileObjectGetFileName is an empty name and WdfFileObjectWdmGetFileObject the FILE_OBJECT
 *     of the IRP (WdfRequestWdmGetIrp), else with HV_FAIL(0x30).
 *     EvtIoInCallerContext reads WdfRequestGetParameters and WdfRequestGetFileObject into a request
 *     context; IOCTL_IO_REJECT (0x222404) it completes with STATUS_ACCESS_DENIED; everything else it
 *     hands to WdfDeviceEnqueueRequest.
 *     IOCTL_IO_PARAMS (0x222400): the output is four ULONGs, the Type, IoControlCode,
 *       InputBufferLength and OutputBufferLength the caller context saw (Information 16), or
 *       HV_FAIL(0x10) when they differ from EvtIoDeviceControl's arguments, there was no file object
 *       or the request's mark is not 0xABCD; HV_FAIL(0x14) when the WDFMEMORYs of its buffers
 *       (WdfRequestRetrieveInputMemory/OutputMemory) are not those buffers and lengths.
 *     IOCTL_IO_PARK (0x222408): forwarded to the manual queue (WdfRequestForwardToIoQueue): pends.
 *     IOCTL_IO_UNPARK (0x22240C): takes the parked request of its file object back
 *       (WdfIoQueueRetrieveRequestByFileObject) and completes it with STATUS_SUCCESS, Information
 *       0x55; then WdfIoQueueRetrieveNextRequest must say STATUS_NO_MORE_ENTRIES; completes with
 *       STATUS_SUCCESS and Information 1, or HV_FAIL(0x11) / HV_FAIL(0x12).
 *     IOCTL_IO_PURGE (0x222410): WdfIoQueuePurgeSynchronously on the manual queue (a parked request
 *       completes with STATUS_CANCELLED), then forwarding itself there must fail with STATUS_WDF_BUSY;
 *       WdfIoQueueStart; then WdfIoQueuePurge with a PurgeComplete callback and context 0x77 (the
 *       callback prints "kmdf_io: EvtIoQueueState manual context 0x77" -- %p spelling aside) and
 *       WdfIoQueueStart again; completes with STATUS_SUCCESS, or HV_FAIL(0x13).
 *
 * -DCASE_BUS (kmdf_bus): a PnP bus driver.  DriverEntry starts the WPP recorder
 *   (WppAutoLogStart) and traces one message, WppAutoLogTrace(NULL, level 4, flags 1, guid
 *   {7D3F2A6E-1B2C-4D5E-8F90-A1B2C3D4E5F6}, number 10, one ULONG argument 0x1234): 0, or 0xE0000001
 *   when WppAutoLogTrace fails or WdfDriverCreate does.  EvtDriverUnload stops the recorder.
 *   EvtDriverDeviceAdd makes the FDO with a default child list (identification descriptions of
 *   12 bytes: header, serial, extra; EvtChildListIdentificationDescriptionCompare compares serials),
 *   a parallel default queue (EvtIoDeviceControl) and the interface {5F6A0A6B-7C3C-4F7E-9D1B-
 *   2A3B4C5D6E7F}; then IoGetDeviceInterfaces of that class is an empty list (not enabled before
 *   start) and, with DEVICE_INTERFACE_INCLUDE_NONACTIVE, one link; it returns 0, else
 *     0xE0000002  WdfDeviceCreate / WdfIoQueueCreate / WdfDeviceCreateDeviceInterface failed
 *     0xE0000003  IoGetDeviceInterfaces (active only) failed or was not empty
 *     0xE0000004  IoGetDeviceInterfaces (non-active too) failed or was not exactly one link
 *     0xE0000005  WdfDeviceWdmGetPhysicalDevice is NULL, or the FDO is not this driver's / is the PDO
 *     0xE0000006  IoRegisterDeviceInterface on the PDO failed or a second one gave another link, or on
 *                 the FDO it was not STATUS_INVALID_DEVICE_REQUEST
 *     0xE0000007  IoSetDeviceInterfaceState: enabling not STATUS_SUCCESS then STATUS_OBJECT_NAME_EXISTS,
 *                 the enabled interface not listed once, or disabling not STATUS_SUCCESS then
 *                 STATUS_OBJECT_NAME_NOT_FOUND
 *     0xE0000008  WdfDeviceOpenRegistryKey (PLUGPLAY_REGKEY_DEVICE), assigning a REG_MULTI_SZ of two
 *                 GUIDs there, or WdfRegistryQueryMultiString into a collection of two strings failed
 *     0xE0000009  RtlGUIDFromString of the second string is not that GUID, of text without braces not
 *                 STATUS_INVALID_PARAMETER, or RtlStringFromGUID not the upper-case braced text
 *     0xE000000A  IoOpenDeviceRegistryKey (PLUGPLAY_REGKEY_DRIVER) of the PDO failed, or of the FDO
 *                 was not STATUS_INVALID_DEVICE_REQUEST
 *     0xE000000B  WdfDeviceCreateSymbolicLink \DosDevices\KmdfBus on the unnamed FDO failed (it links
 *                 to the PDO's name)
 *   IOCTL_BUS_PLUG (0x2A2000, FILE_DEVICE_BUS_EXTENDER) completes with STATUS_SUCCESS (Information 0)
 *   when, in order: WdfFdoGetDefaultChildList is not NULL; adding serial 1 succeeds; adding serial 1
 *   with another extra is STATUS_OBJECT_NAME_EXISTS (the compare callback ran); a description of the
 *   wrong size is STATUS_INVALID_PARAMETER; serial 2 as missing is STATUS_NO_SUCH_DEVICE; iterating
 *   the devices gives STATUS_NO_MORE_ENTRIES (no PDO: nothing enumerates the bus); serial 1 as
 *   missing succeeds, and again is STATUS_NO_SUCH_DEVICE; IoGetDeviceInterfaces (active only) is now
 *   one link (the device started).  The first failing step n completes with HV_FAIL(0x20 + n),
 *   Information n.
 */
#include "wdf_compat.h"

#define CHECK(cond, n) do { if (!(cond)) return HV_FAIL(n); } while (0)
#define STATUS_OBJECT_NAME_EXISTS ((NTSTATUS)0x40000000)
#define STATUS_NO_MORE_ENTRIES ((NTSTATUS)0x8000001A)
#define STATUS_WDF_BUSY ((NTSTATUS)0xC0200204)

static WDFDRIVER g_driver;

static NTSTATUS create_driver(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath, ULONG flags,
                              PFN_WDF_DRIVER_DEVICE_ADD add, PFN_WDF_DRIVER_UNLOAD unload)
{
    WDF_DRIVER_CONFIG config;
    RtlZeroMemory(&config, sizeof(config));
    config.Size = sizeof(config);
    config.EvtDriverDeviceAdd = add;
    config.EvtDriverUnload = unload;
    config.DriverInitFlags = flags;
    return WDFCALL(WdfDriverCreate, DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &g_driver);
}

#if defined(CASE_IO)
#define IOCTL_IO_PARAMS  0x222400
#define IOCTL_IO_REJECT  0x222404
#define IOCTL_IO_PARK    0x222408
#define IOCTL_IO_UNPARK  0x22240C
#define IOCTL_IO_PURGE   0x222410

typedef struct { ULONG Type, IoControlCode, InputLength, OutputLength; WDFFILEOBJECT File; } REQUEST_CONTEXT;
typedef struct { ULONG Marker; } REQUEST_MARK;        /* every request's (WdfDeviceInitSetRequestAttributes) */
WDF_DECLARE_CONTEXT_TYPE_INFO(REQUEST_CONTEXT);
WDF_DECLARE_CONTEXT_TYPE_INFO(REQUEST_MARK);
#define MARKER 0xABCD

static WDFDEVICE g_device;
static WDFQUEUE g_manual;
static LONG g_work_runs, g_cleanups, g_destroys;

static VOID NTAPI EvtDriverUnload(WDFDRIVER driver) { (void)driver; }

static VOID NTAPI EvtInCallerContext(WDFDEVICE device, WDFREQUEST request)
{
    WDF_REQUEST_PARAMETERS params;
    WDF_OBJECT_ATTRIBUTES attributes;
    REQUEST_CONTEXT *ctx = NULL;
    NTSTATUS status;

    REQUEST_MARK *mark = WDFCALL(WdfObjectGetTypedContextWorker, request, &WDF_REQUEST_MARK_TYPE_INFO);
    if (mark != NULL && mark->Marker == 0)
        mark->Marker = MARKER;
    WDF_REQUEST_PARAMETERS_INIT(&params);
    WDFCALL(WdfRequestGetParameters, request, &params);
    if (params.Type == WdfRequestTypeDeviceControl &&
        params.Parameters.DeviceIoControl.IoControlCode == IOCTL_IO_REJECT) {
        WDFCALL(WdfRequestComplete, request, STATUS_ACCESS_DENIED);
        return;
    }
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, REQUEST_CONTEXT);
    status = WDFCALL(WdfObjectAllocateContext, request, &attributes, (PVOID *)&ctx);
    if (NT_SUCCESS(status)) {
        ctx->Type = params.Type;
        ctx->IoControlCode = params.Parameters.DeviceIoControl.IoControlCode;
        ctx->InputLength = (ULONG)params.Parameters.DeviceIoControl.InputBufferLength;
        ctx->OutputLength = (ULONG)params.Parameters.DeviceIoControl.OutputBufferLength;
        ctx->File = WDFCALL(WdfRequestGetFileObject, request);
        status = WDFCALL(WdfDeviceEnqueueRequest, device, request);
    }
    if (!NT_SUCCESS(status))
        WDFCALL(WdfRequestComplete, request, status);
}

static NTSTATUS params(WDFREQUEST r, size_t out, size_t in, ULONG code)
{
    REQUEST_CONTEXT *ctx = WDFCALL(WdfObjectGetTypedContextWorker, r, &WDF_REQUEST_CONTEXT_TYPE_INFO);
    REQUEST_MARK *mark = WDFCALL(WdfObjectGetTypedContextWorker, r, &WDF_REQUEST_MARK_TYPE_INFO);
    ULONG *output;
    size_t length;
    if (ctx == NULL || mark == NULL || mark->Marker != MARKER || ctx->Type != WdfRequestTypeDeviceControl || ctx->IoControlCode != code ||
        ctx->InputLength != in || ctx->OutputLength != out || ctx->File == NULL ||
        !NT_SUCCESS(WDFCALL(WdfRequestRetrieveOutputBuffer, r, 4 * sizeof(ULONG), (PVOID *)&output, &length)))
        return HV_FAIL(0x10);
    WDFMEMORY in_memory, out_memory;
    size_t in_size = 0, out_size = 0;
    if (!NT_SUCCESS(WDFCALL(WdfRequestRetrieveInputMemory, r, &in_memory)) ||
        !NT_SUCCESS(WDFCALL(WdfRequestRetrieveOutputMemory, r, &out_memory)) ||
        WDFCALL(WdfMemoryGetBuffer, out_memory, &out_size) != output || out_size != out ||
        WDFCALL(WdfMemoryGetBuffer, in_memory, &in_size) == NULL || in_size != in)
        return HV_FAIL(0x14);
    output[0] = ctx->Type;
    output[1] = ctx->IoControlCode;
    output[2] = ctx->InputLength;
    output[3] = ctx->OutputLength;
    WDFCALL(WdfRequestSetInformation, r, 4 * sizeof(ULONG));
    return STATUS_SUCCESS;
}

static NTSTATUS unpark(WDFREQUEST r)
{
    WDFREQUEST parked = NULL, more = NULL;
    if (!NT_SUCCESS(WDFCALL(WdfIoQueueRetrieveRequestByFileObject, g_manual, WDFCALL(WdfRequestGetFileObject, r),
                           &parked)) || parked == NULL)
        return HV_FAIL(0x11);
    WDFCALL(WdfRequestCompleteWithInformation, parked, STATUS_SUCCESS, 0x55);
    if (WDFCALL(WdfIoQueueRetrieveNextRequest, g_manual, &more) != STATUS_NO_MORE_ENTRIES || more != NULL)
        return HV_FAIL(0x12);
    WDFCALL(WdfRequestSetInformation, r, 1);
    return STATUS_SUCCESS;
}

static VOID NTAPI EvtPurged(WDFQUEUE q, PVOID context)
{
    DbgPrint("kmdf_io: EvtIoQueueState %s context %p\n", q == g_manual ? "manual" : "BAD", context);
}

static NTSTATUS purge(WDFREQUEST r)
{
    WDFCALL(WdfIoQueuePurgeSynchronously, g_manual);
    NTSTATUS forwarded = WDFCALL(WdfRequestForwardToIoQueue, r, g_manual);
    WDFCALL(WdfIoQueueStart, g_manual);
    WDFCALL(WdfIoQueuePurge, g_manual, EvtPurged, (PVOID)0x77);
    WDFCALL(WdfIoQueueStart, g_manual);
    return forwarded == STATUS_WDF_BUSY ? STATUS_SUCCESS : HV_FAIL(0x13);
}

static VOID NTAPI EvtIoDeviceControl(WDFQUEUE q, WDFREQUEST r, size_t out, size_t in, ULONG code)
{
    NTSTATUS status;
    (void)q;
    switch (code) {
    case IOCTL_IO_PARAMS: status = params(r, out, in, code); break;
    case IOCTL_IO_PARK:
        status = WDFCALL(WdfRequestForwardToIoQueue, r, g_manual);
        if (NT_SUCCESS(status))
            return;                                     /* the manual queue owns it now */
        break;
    case IOCTL_IO_UNPARK: status = unpark(r); break;
    case IOCTL_IO_PURGE: status = purge(r); break;
    default: status = STATUS_INVALID_DEVICE_REQUEST; break;
    }
    WDFCALL(WdfRequestComplete, r, status);
}

static VOID NTAPI EvtTimer(WDFTIMER t)
{
    DbgPrint("kmdf_io: EvtTimerFunc parent %s\n", WDFCALL(WdfTimerGetParentObject, t) == g_device ? "ok" : "BAD");
}

static VOID NTAPI EvtWorkItem(WDFWORKITEM w)
{
    if (++g_work_runs == 2)
        DbgPrint("kmdf_io: EvtWorkItemFunc parent %s\n",
                 WDFCALL(WdfWorkItemGetParentObject, w) == g_device ? "ok" : "BAD");
}

static VOID NTAPI EvtDpc(WDFDPC d)
{
    DbgPrint("kmdf_io: EvtDpcFunc parent %s\n", WDFCALL(WdfDpcGetParentObject, d) == g_device ? "ok" : "BAD");
}

/* The file object of the open: its name is empty (the device itself was opened) and its WDM
 * FILE_OBJECT is the one in the CREATE IRP's stack location. */
static VOID NTAPI EvtFileCreate(WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f)
{
    PUNICODE_STRING name = WDFCALL(WdfFileObjectGetFileName, f);
    PIRP irp = WDFCALL(WdfRequestWdmGetIrp, r);
    (void)d;
    WDFCALL(WdfRequestComplete, r, name != NULL && name->Length == 0 &&
            WDFCALL(WdfFileObjectWdmGetFileObject, f) == IoGetCurrentIrpStackLocation(irp)->FileObject
            ? STATUS_SUCCESS : HV_FAIL(0x30));
}

static VOID NTAPI CountCleanup(WDFOBJECT o) { (void)o; g_cleanups++; }
static VOID NTAPI CountDestroy(WDFOBJECT o) { (void)o; g_destroys++; }
static VOID NTAPI DeviceCleanup(WDFOBJECT o) { (void)o; DbgPrint("kmdf_io: device cleanup\n"); }

static NTSTATUS deferred(void)
{
    WDF_TIMER_CONFIG timer_config;
    WDF_WORKITEM_CONFIG work_config;
    WDF_DPC_CONFIG dpc_config;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFTIMER timer;
    WDFWORKITEM work;
    WDFDPC dpc;

    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = g_device;
    WDF_TIMER_CONFIG_INIT(&timer_config, EvtTimer);
    WDF_WORKITEM_CONFIG_INIT(&work_config, EvtWorkItem);
    WDF_DPC_CONFIG_INIT(&dpc_config, EvtDpc);
    CHECK(NT_SUCCESS(WDFCALL(WdfTimerCreate, &timer_config, &attributes, &timer)) &&
          NT_SUCCESS(WDFCALL(WdfWorkItemCreate, &work_config, &attributes, &work)) &&
          NT_SUCCESS(WDFCALL(WdfDpcCreate, &dpc_config, &attributes, &dpc)), 1);

    CHECK(!WDFCALL(WdfTimerStart, timer, -10000) && WDFCALL(WdfTimerStart, timer, -10000), 2);
    CHECK(WDFCALL(WdfTimerStop, timer, FALSE) && !WDFCALL(WdfTimerStop, timer, FALSE), 3);
    WDFCALL(WdfTimerStart, timer, -10000);

    WDFCALL(WdfWorkItemEnqueue, work);
    WDFCALL(WdfWorkItemEnqueue, work);
    WDFCALL(WdfWorkItemFlush, work);
    CHECK(g_work_runs == 1, 4);
    WDFCALL(WdfWorkItemFlush, work);
    CHECK(g_work_runs == 1, 4);
    WDFCALL(WdfWorkItemEnqueue, work);

    CHECK(WDFCALL(WdfDpcEnqueue, dpc) && !WDFCALL(WdfDpcEnqueue, dpc), 5);
    CHECK(WDFCALL(WdfDpcCancel, dpc, FALSE) && !WDFCALL(WdfDpcCancel, dpc, FALSE), 5);
    WDFCALL(WdfDpcEnqueue, dpc);

    CHECK(WDFCALL(WdfTimerGetParentObject, timer) == g_device &&
          WDFCALL(WdfWorkItemGetParentObject, work) == g_device &&
          WDFCALL(WdfDpcGetParentObject, dpc) == g_device, 6);

    WDFOBJECT object;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = CountCleanup;
    attributes.EvtDestroyCallback = CountDestroy;
    CHECK(NT_SUCCESS(WDFCALL(WdfObjectCreate, &attributes, &object)), 7);
    WDFCALL(WdfObjectDelete, object);
    CHECK(g_cleanups == 1 && g_destroys == 1, 7);
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DECLARE_CONST_UNICODE_STRING(sddl, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
    DECLARE_CONST_UNICODE_STRING(name, L"\\Device\\KmdfIo");
    DECLARE_CONST_UNICODE_STRING(link, L"\\DosDevices\\KmdfIo");
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG queue_config;
    WDF_FILEOBJECT_CONFIG file_config;

    CHECK(NT_SUCCESS(create_driver(DriverObject, RegistryPath, WdfDriverInitNonPnpDriver, NULL, EvtDriverUnload)), 1);
    PWDFDEVICE_INIT init = WDFCALL(WdfControlDeviceInitAllocate, g_driver, &sddl);
    CHECK(init != NULL && NT_SUCCESS(WDFCALL(WdfDeviceInitAssignName, init, &name)), 1);
    WDFCALL(WdfDeviceInitSetIoInCallerContextCallback, init, EvtInCallerContext);
    RtlZeroMemory(&file_config, sizeof(file_config));
    file_config.Size = sizeof(file_config);
    file_config.EvtDeviceFileCreate = EvtFileCreate;
    file_config.AutoForwardCleanupClose = WdfUseDefault;
    WDFCALL(WdfDeviceInitSetFileObjectConfig, init, &file_config, WDF_NO_OBJECT_ATTRIBUTES);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, REQUEST_MARK);
    WDFCALL(WdfDeviceInitSetRequestAttributes, init, &attributes);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = DeviceCleanup;
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreate, &init, &attributes, &g_device)), 1);
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue_config, WdfIoQueueDispatchParallel);
    queue_config.EvtIoDeviceControl = EvtIoDeviceControl;
    CHECK(NT_SUCCESS(WDFCALL(WdfIoQueueCreate, g_device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE)), 1);
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue_config, WdfIoQueueDispatchManual);
    queue_config.DefaultQueue = FALSE;
    CHECK(NT_SUCCESS(WDFCALL(WdfIoQueueCreate, g_device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, &g_manual)), 1);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreateSymbolicLink, g_device, &link)), 1);
    WDFCALL(WdfControlFinishInitializing, g_device);
    return deferred();
}

#elif defined(CASE_BUS)
#define IOCTL_BUS_PLUG 0x2A2000

/* WppRecorder.sys (the WDK's WPP templates: km-init.tpl and the ENABLE_WPP_RECORDER part of the
 * generated trace headers) */
IMPORT VOID WppAutoLogStart(PVOID WppCb, PDRIVER_OBJECT DrvObj, PCUNICODE_STRING RegPath);
IMPORT VOID WppAutoLogStop(PVOID WppCb, PDRIVER_OBJECT DrvObj);
IMPORT NTSTATUS WppAutoLogTrace(PVOID AutoLogContext, UCHAR MessageLevel, ULONG MessageFlags, LPGUID MessageGuid,
                                USHORT MessageNumber, ...);

typedef struct {
    WDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER Header;
    ULONG Serial;
    ULONG Extra;
} CHILD_ID;

static GUID g_message_guid = {0x7d3f2a6e, 0x1b2c, 0x4d5e, {0x8f, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}};
static const GUID g_interface = {0x5f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f}};
static const GUID g_interface2 = {0x5f6a0a6b, 0x7c3c, 0x4f7e, {0x9d, 0x1b, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x80}};
static UCHAR g_wpp_control[64];           /* the WPP control block WPP_INIT_TRACING would pass */
static PDRIVER_OBJECT g_driver_object;
static WDFDEVICE g_device;
static LONG g_compares;

static VOID NTAPI EvtDriverUnload(WDFDRIVER driver)
{
    (void)driver;
    WppAutoLogStop(g_wpp_control, g_driver_object);
}

static BOOLEAN NTAPI EvtCompare(WDFCHILDLIST list, PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER a,
                                PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER b)
{
    (void)list;
    g_compares++;
    return ((CHILD_ID *)a)->Serial == ((CHILD_ID *)b)->Serial;
}

static NTSTATUS NTAPI EvtCreateChild(WDFCHILDLIST list, PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER id,
                                     PWDFDEVICE_INIT init)
{
    (void)list; (void)id; (void)init;
    return STATUS_SUCCESS;
}

/* The number of links in an IoGetDeviceInterfaces list of a class, or -1 when the call fails. */
static int interfaces_of(const GUID *guid, ULONG flags)
{
    PWSTR list = NULL;
    int count = 0;
    if (!NT_SUCCESS(IoGetDeviceInterfaces(guid, NULL, flags, &list)) || list == NULL)
        return -1;
    for (PWSTR p = list; *p; p += wcslen(p) + 1)
        count++;
    ExFreePool(list);
    return count;
}
#define interfaces(flags) interfaces_of(&g_interface, (flags))

/* The PDO's own interface through the I/O manager: register (twice: the same link), enable (twice:
 * STATUS_OBJECT_NAME_EXISTS), listed once, disable (twice: STATUS_OBJECT_NAME_NOT_FOUND); an FDO is
 * not a PDO (STATUS_INVALID_DEVICE_REQUEST). */
static NTSTATUS wdm_interface(PDEVICE_OBJECT pdo, PDEVICE_OBJECT fdo)
{
    UNICODE_STRING link, again, none;
    CHECK(NT_SUCCESS(IoRegisterDeviceInterface(pdo, &g_interface2, NULL, &link)), 6);
    CHECK(NT_SUCCESS(IoRegisterDeviceInterface(pdo, &g_interface2, NULL, &again)) &&
          RtlEqualUnicodeString(&link, &again, TRUE), 6);
    RtlFreeUnicodeString(&again);
    CHECK(IoRegisterDeviceInterface(fdo, &g_interface2, NULL, &none) == STATUS_INVALID_DEVICE_REQUEST, 6);
    CHECK(IoSetDeviceInterfaceState(&link, TRUE) == STATUS_SUCCESS &&
          IoSetDeviceInterfaceState(&link, TRUE) == STATUS_OBJECT_NAME_EXISTS, 7);
    CHECK(interfaces_of(&g_interface2, 0) == 1, 7);
    CHECK(IoSetDeviceInterfaceState(&link, FALSE) == STATUS_SUCCESS &&
          IoSetDeviceInterfaceState(&link, FALSE) == STATUS_OBJECT_NAME_NOT_FOUND, 7);
    RtlFreeUnicodeString(&link);
    return STATUS_SUCCESS;
}

/* The device's hardware key: a REG_MULTI_SZ of two GUIDs written and read back as a collection of
 * strings, the first turned back into a GUID; GUID text both ways; the software key through the
 * I/O manager (an FDO has none). */
static NTSTATUS device_keys(PDEVICE_OBJECT pdo, PDEVICE_OBJECT fdo)
{
    static const WCHAR guids[] = L"{5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F}\0{5f6a0a6b-7c3c-4f7e-9d1b-2a3b4c5d6e80}\0";
    DECLARE_CONST_UNICODE_STRING(value, L"InterfaceGuids");
    DECLARE_CONST_UNICODE_STRING(upper, L"{5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F}");
    UNICODE_STRING bad = RTL_CONSTANT_STRING(L"5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F"), text, first;
    WDFKEY key;
    WDFCOLLECTION strings;
    GUID guid;
    HANDLE handle;

    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceOpenRegistryKey, g_device, PLUGPLAY_REGKEY_DEVICE, KEY_READ | KEY_WRITE,
                             WDF_NO_OBJECT_ATTRIBUTES, &key)), 8);
    CHECK(NT_SUCCESS(WDFCALL(WdfRegistryAssignValue, key, &value, REG_MULTI_SZ, sizeof(guids), (PVOID)guids)), 8);
    CHECK(NT_SUCCESS(WDFCALL(WdfCollectionCreate, WDF_NO_OBJECT_ATTRIBUTES, &strings)) &&
          NT_SUCCESS(WDFCALL(WdfRegistryQueryMultiString, key, &value, WDF_NO_OBJECT_ATTRIBUTES, strings)) &&
          WDFCALL(WdfCollectionGetCount, strings) == 2, 8);
    WDFCALL(WdfStringGetUnicodeString, WDFCALL(WdfCollectionGetItem, strings, 1), &first);
    CHECK(NT_SUCCESS(RtlGUIDFromString(&first, &guid)) &&
          RtlCompareMemory(&guid, &g_interface2, sizeof(guid)) == sizeof(guid), 9);
    CHECK(RtlGUIDFromString(&bad, &guid) == STATUS_INVALID_PARAMETER, 9);
    CHECK(NT_SUCCESS(RtlStringFromGUID(&g_interface, &text)) && RtlEqualUnicodeString(&text, &upper, FALSE), 9);
    RtlFreeUnicodeString(&text);
    WDFCALL(WdfRegistryClose, key);
    CHECK(NT_SUCCESS(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DRIVER, KEY_ALL_ACCESS, &handle)) &&
          NT_SUCCESS(ZwClose(handle)), 0xA);
    CHECK(IoOpenDeviceRegistryKey(fdo, PLUGPLAY_REGKEY_DRIVER, KEY_ALL_ACCESS, &handle) ==
          STATUS_INVALID_DEVICE_REQUEST, 0xA);
    return STATUS_SUCCESS;
}

static int plug(void)
{
    WDFCHILDLIST children = WDFCALL(WdfFdoGetDefaultChildList, g_device);
    CHILD_ID one = {{sizeof(CHILD_ID)}, 1, 5}, again = {{sizeof(CHILD_ID)}, 1, 6}, two = {{sizeof(CHILD_ID)}, 2, 5};
    CHILD_ID wrong = {{sizeof(CHILD_ID) + 4}, 3, 0};
    WDF_CHILD_LIST_ITERATOR iterator = {sizeof(iterator), WdfRetrieveAllChildren, {0}};
    WDFDEVICE child = (WDFDEVICE)1;
    if (children == NULL)
        return 1;
    if (WDFCALL(WdfChildListAddOrUpdateChildDescriptionAsPresent, children, &one.Header, NULL) != STATUS_SUCCESS)
        return 2;
    if (WDFCALL(WdfChildListAddOrUpdateChildDescriptionAsPresent, children, &again.Header, NULL) !=
        STATUS_OBJECT_NAME_EXISTS || g_compares == 0)
        return 3;
    if (WDFCALL(WdfChildListAddOrUpdateChildDescriptionAsPresent, children, &wrong.Header, NULL) !=
        STATUS_INVALID_PARAMETER)
        return 4;
    if (WDFCALL(WdfChildListUpdateChildDescriptionAsMissing, children, &two.Header) != STATUS_NO_SUCH_DEVICE)
        return 5;
    WDFCALL(WdfChildListBeginScan, children);
    WDFCALL(WdfChildListEndScan, children);
    WDFCALL(WdfChildListBeginIteration, children, &iterator);
    NTSTATUS next = WDFCALL(WdfChildListRetrieveNextDevice, children, &iterator, &child, NULL);
    WDFCALL(WdfChildListEndIteration, children, &iterator);
    if (next != STATUS_NO_MORE_ENTRIES || child != NULL)
        return 6;
    if (WDFCALL(WdfChildListUpdateChildDescriptionAsMissing, children, &one.Header) != STATUS_SUCCESS ||
        WDFCALL(WdfChildListUpdateChildDescriptionAsMissing, children, &one.Header) != STATUS_NO_SUCH_DEVICE)
        return 7;
    if (interfaces(0) != 1)
        return 8;
    return 0;
}

static VOID NTAPI EvtIoDeviceControl(WDFQUEUE q, WDFREQUEST r, size_t out, size_t in, ULONG code)
{
    (void)q; (void)out; (void)in;
    if (code != IOCTL_BUS_PLUG) {
        WDFCALL(WdfRequestComplete, r, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    int failed = plug();
    WDFCALL(WdfRequestCompleteWithInformation, r, failed ? HV_FAIL(0x20 + failed) : STATUS_SUCCESS, failed);
}

static NTSTATUS NTAPI EvtDriverDeviceAdd(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_CHILD_LIST_CONFIG children;
    WDF_IO_QUEUE_CONFIG queue_config;
    (void)driver;
    RtlZeroMemory(&children, sizeof(children));
    children.Size = sizeof(children);
    children.IdentificationDescriptionSize = sizeof(CHILD_ID);
    children.EvtChildListCreateDevice = EvtCreateChild;
    children.EvtChildListIdentificationDescriptionCompare = EvtCompare;
    WDFCALL(WdfFdoInitSetDefaultChildListConfig, init, &children, WDF_NO_OBJECT_ATTRIBUTES);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreate, &init, WDF_NO_OBJECT_ATTRIBUTES, &g_device)), 2);
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue_config, WdfIoQueueDispatchParallel);
    queue_config.EvtIoDeviceControl = EvtIoDeviceControl;
    CHECK(NT_SUCCESS(WDFCALL(WdfIoQueueCreate, g_device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE)), 2);
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreateDeviceInterface, g_device, &g_interface, NULL)), 2);
    CHECK(interfaces(0) == 0, 3);
    CHECK(interfaces(DEVICE_INTERFACE_INCLUDE_NONACTIVE) == 1, 4);
    PDEVICE_OBJECT pdo = WDFCALL(WdfDeviceWdmGetPhysicalDevice, g_device);
    PDEVICE_OBJECT fdo = WDFCALL(WdfDeviceWdmGetDeviceObject, g_device);
    CHECK(pdo != NULL && fdo != NULL && fdo != pdo && fdo->DriverObject == g_driver_object, 5);
    NTSTATUS status = wdm_interface(pdo, fdo);
    if (NT_SUCCESS(status))
        status = device_keys(pdo, fdo);
    CHECK(NT_SUCCESS(status), status & 0xFF);
    DECLARE_CONST_UNICODE_STRING(link, L"\\DosDevices\\KmdfBus");
    CHECK(NT_SUCCESS(WDFCALL(WdfDeviceCreateSymbolicLink, g_device, &link)), 0xB);
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    ULONG value = 0x1234;
    g_driver_object = DriverObject;
    WppAutoLogStart(g_wpp_control, DriverObject, RegistryPath);
    CHECK(WppAutoLogTrace(NULL, 4, 1, &g_message_guid, 10, &value, sizeof(value), NULL) == STATUS_SUCCESS, 1);
    CHECK(NT_SUCCESS(create_driver(DriverObject, RegistryPath, 0, EvtDriverDeviceAdd, EvtDriverUnload)), 1);
    return STATUS_SUCCESS;
}
#endif
