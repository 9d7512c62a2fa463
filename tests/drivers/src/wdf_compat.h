/*
 * wdf_compat.h - the part of the KMDF headers (wdf.h) the KMDF test drivers use, which MinGW-w64
 * does not ship, plus the startup every KMDF driver links in.
 *
 * Derived from Microsoft's KMDF 1.33 public headers (github.com/microsoft/Windows-Driver-Frameworks,
 * MIT, src/publicinc/wdf/kmdf/1.33/wdf*.h) and the loader interface (src/framework/shared/inc/
 * private/common/fxldr.h): structure layouts, the WDFFUNCENUM indices of the functions used (the
 * same numbers rootfs/wdf/kmdf.json holds; tests/test_wdf.py checks them) and the PFN_WDFXXX
 * prototypes. A framework function is called as KMDF's inline wrappers do:
 * ((PFN_WDFXXX) WdfFunctions[WdfXxxTableIndex])(WdfDriverGlobals, ...), here WDFCALL(WdfXxx, ...).
 *
 * FxDriverEntry is this project's own startup written from the documented behaviour of KMDF's
 * stub: fill a WDF_BIND_INFO (component L"KmdfLibrary", version, FuncCount, &WdfFunctions), call
 * WDFLDR.SYS!WdfVersionBind, then the driver's DriverEntry; unbind if DriverEntry fails.
 * KMDF_MINOR selects the version bound to (default 15); KMDF_FUNC_COUNT overrides the table size.
 * Up to 1.13 the framework copies the table into the driver's array, from 1.15 it sets a pointer.
 */
#ifndef HVCI_TEST_WDF_COMPAT_H
#define HVCI_TEST_WDF_COMPAT_H

#include "compat.h"

#ifndef KMDF_MINOR
#define KMDF_MINOR 15
#endif
#ifndef KMDF_FUNC_COUNT
#if KMDF_MINOR == 9
#define KMDF_FUNC_COUNT 396
#else
#define KMDF_FUNC_COUNT 444
#endif
#endif

typedef struct WDFOBJECT__ *WDFOBJECT;
typedef WDFOBJECT WDFDRIVER, WDFDEVICE, WDFQUEUE, WDFMEMORY, WDFKEY, WDFLOOKASIDE, WDFIOTARGET, WDFSPINLOCK,
                  WDFWAITLOCK, WDFCOLLECTION, WDFSTRING, WDFTIMER, WDFWORKITEM, WDFDPC, WDFREQUEST, WDFFILEOBJECT;
typedef struct WDFDEVICE_INIT__ *PWDFDEVICE_INIT;
typedef VOID (*WDFFUNC)(VOID);
typedef int WDF_DEVICE_IO_TYPE, WDF_REQUEST_TYPE;
#define WDF_NO_OBJECT_ATTRIBUTES NULL
#define WDF_NO_HANDLE NULL

#define WdfDeviceIoBuffered 2
#define WdfDeviceIoDirect 3
#define WdfIoQueueDispatchSequential 1
#define WdfIoQueueDispatchParallel 2
#define WdfIoQueueDispatchManual 3
#define WdfUseDefault 2
#define WdfDriverInitNonPnpDriver 0x1
#define WdfRequestTypeDeviceControl 0xE
#define WdfRequestTypeDeviceControlInternal 0xF
#define WdfExecutionLevelInheritFromParent 1
#define WdfSynchronizationScopeInheritFromParent 1

typedef struct _WDF_DRIVER_GLOBALS {
    WDFDRIVER Driver;
    ULONG DriverFlags;
    ULONG DriverTag;
    CHAR DriverName[32];
    BOOLEAN DisplaceDriverUnload;
} WDF_DRIVER_GLOBALS, *PWDF_DRIVER_GLOBALS;

typedef struct _WDF_VERSION { ULONG Major, Minor, Build; } WDF_VERSION;
typedef struct _WDF_BIND_INFO {
    ULONG Size;
    PWCHAR Component;
    WDF_VERSION Version;
    ULONG FuncCount;
    WDFFUNC *FuncTable;
    PVOID Module;
} WDF_BIND_INFO, *PWDF_BIND_INFO;

typedef VOID (NTAPI *PFN_WDF_OBJECT_CONTEXT_CLEANUP)(WDFOBJECT);
typedef VOID (NTAPI *PFN_WDF_OBJECT_CONTEXT_DESTROY)(WDFOBJECT);
typedef struct _WDF_OBJECT_CONTEXT_TYPE_INFO {
    ULONG Size;
    LPCSTR ContextName;
    size_t ContextSize;
    const struct _WDF_OBJECT_CONTEXT_TYPE_INFO *UniqueType;
    PVOID EvtDriverGetUniqueContextType;
} WDF_OBJECT_CONTEXT_TYPE_INFO;
typedef const WDF_OBJECT_CONTEXT_TYPE_INFO *PCWDF_OBJECT_CONTEXT_TYPE_INFO;

typedef struct _WDF_OBJECT_ATTRIBUTES {
    ULONG Size;
    PFN_WDF_OBJECT_CONTEXT_CLEANUP EvtCleanupCallback;
    PFN_WDF_OBJECT_CONTEXT_DESTROY EvtDestroyCallback;
    int ExecutionLevel;
    int SynchronizationScope;
    WDFOBJECT ParentObject;
    size_t ContextSizeOverride;
    PCWDF_OBJECT_CONTEXT_TYPE_INFO ContextTypeInfo;
} WDF_OBJECT_ATTRIBUTES, *PWDF_OBJECT_ATTRIBUTES;

/* WDF_OBJECT_ATTRIBUTES_INIT and the context-type declarations, as wdfobject.h defines them */
static __inline VOID WDF_OBJECT_ATTRIBUTES_INIT(PWDF_OBJECT_ATTRIBUTES a)
{
    RtlZeroMemory(a, sizeof(*a));
    a->Size = sizeof(*a);
    a->ExecutionLevel = WdfExecutionLevelInheritFromParent;
    a->SynchronizationScope = WdfSynchronizationScopeInheritFromParent;
}
#define WDF_DECLARE_CONTEXT_TYPE_INFO(T) \
    static const WDF_OBJECT_CONTEXT_TYPE_INFO WDF_##T##_TYPE_INFO = \
        { sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), #T, sizeof(T), &WDF_##T##_TYPE_INFO, NULL }
#define WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(a, T) ((a)->ContextTypeInfo = &WDF_##T##_TYPE_INFO)

typedef NTSTATUS (NTAPI *PFN_WDF_DRIVER_DEVICE_ADD)(WDFDRIVER, PWDFDEVICE_INIT);
typedef VOID (NTAPI *PFN_WDF_DRIVER_UNLOAD)(WDFDRIVER);
typedef struct _WDF_DRIVER_CONFIG {
    ULONG Size;
    PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd;
    PFN_WDF_DRIVER_UNLOAD EvtDriverUnload;
    ULONG DriverInitFlags;
    ULONG DriverPoolTag;
} WDF_DRIVER_CONFIG, *PWDF_DRIVER_CONFIG;

typedef VOID (NTAPI *PFN_WDF_IO_QUEUE_IO)(WDFQUEUE, WDFREQUEST, size_t, size_t, ULONG);
typedef struct _WDF_IO_QUEUE_CONFIG {
    ULONG Size;
    int DispatchType;
    int PowerManaged;
    BOOLEAN AllowZeroLengthRequests;
    BOOLEAN DefaultQueue;
    PVOID EvtIoDefault;
    PVOID EvtIoRead;
    PVOID EvtIoWrite;
    PFN_WDF_IO_QUEUE_IO EvtIoDeviceControl;
    PVOID EvtIoInternalDeviceControl;
    PVOID EvtIoStop;
    PVOID EvtIoResume;
    PVOID EvtIoCanceledOnQueue;
    union { struct { ULONG NumberOfPresentedRequests; } Parallel; } Settings;
    WDFDRIVER Driver;
} WDF_IO_QUEUE_CONFIG, *PWDF_IO_QUEUE_CONFIG;

/* WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE, as wdfio.h defines it */
static __inline VOID WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(PWDF_IO_QUEUE_CONFIG c, int dispatch)
{
    RtlZeroMemory(c, sizeof(*c));
    c->Size = sizeof(*c);
    c->PowerManaged = WdfUseDefault;
    c->DispatchType = dispatch;
    c->DefaultQueue = TRUE;
}

typedef struct _WDF_FILEOBJECT_CONFIG {
    ULONG Size;
    PVOID EvtDeviceFileCreate;
    PVOID EvtFileClose;
    PVOID EvtFileCleanup;
    int AutoForwardCleanupClose;
    int FileObjectClass;
} WDF_FILEOBJECT_CONFIG, *PWDF_FILEOBJECT_CONFIG;

typedef struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    ULONG Size;
    PVOID EvtDeviceD0Entry, EvtDeviceD0EntryPostInterruptsEnabled, EvtDeviceD0Exit,
          EvtDeviceD0ExitPreInterruptsDisabled, EvtDevicePrepareHardware, EvtDeviceReleaseHardware,
          EvtDeviceSelfManagedIoCleanup, EvtDeviceSelfManagedIoFlush, EvtDeviceSelfManagedIoInit,
          EvtDeviceSelfManagedIoSuspend, EvtDeviceSelfManagedIoRestart, EvtDeviceSurpriseRemoval,
          EvtDeviceQueryRemove, EvtDeviceQueryStop, EvtDeviceUsageNotification, EvtDeviceRelationsQuery,
          EvtDeviceUsageNotificationEx;
} WDF_PNPPOWER_EVENT_CALLBACKS, *PWDF_PNPPOWER_EVENT_CALLBACKS;

/* WDF_TIMER_CONFIG, WDF_WORKITEM_CONFIG, WDF_DPC_CONFIG: Size and the callback come first */
typedef struct _WDF_TIMER_CONFIG {
    ULONG Size; PVOID EvtTimerFunc; ULONG Period; BOOLEAN AutomaticSerialization; ULONG TolerableDelay;
    BOOLEAN UseHighResolutionTimer __attribute__((aligned(8)));
} WDF_TIMER_CONFIG, *PWDF_TIMER_CONFIG;
typedef struct _WDF_WORKITEM_CONFIG { ULONG Size; PVOID EvtWorkItemFunc; BOOLEAN AutomaticSerialization; }
    WDF_WORKITEM_CONFIG, *PWDF_WORKITEM_CONFIG;
typedef struct _WDF_DPC_CONFIG { ULONG Size; PVOID EvtDpcFunc; BOOLEAN AutomaticSerialization; }
    WDF_DPC_CONFIG, *PWDF_DPC_CONFIG;

/* WDF_TIMER_CONFIG_INIT, WDF_WORKITEM_CONFIG_INIT, WDF_DPC_CONFIG_INIT, as wdftimer.h, wdfworkitem.h
 * and wdfdpc.h define them (automatic serialization on, a one-shot timer) */
#define WDF_CALLBACK_CONFIG_INIT(c, field, fn) \
    (RtlZeroMemory((c), sizeof(*(c))), (c)->Size = sizeof(*(c)), (c)->field = (fn), (c)->AutomaticSerialization = TRUE)
#define WDF_TIMER_CONFIG_INIT(c, fn) WDF_CALLBACK_CONFIG_INIT(c, EvtTimerFunc, fn)
#define WDF_WORKITEM_CONFIG_INIT(c, fn) WDF_CALLBACK_CONFIG_INIT(c, EvtWorkItemFunc, fn)
#define WDF_DPC_CONFIG_INIT(c, fn) WDF_CALLBACK_CONFIG_INIT(c, EvtDpcFunc, fn)

typedef struct _WDF_CHILD_LIST_CONFIG {
    ULONG Size;
    ULONG IdentificationDescriptionSize;
    ULONG AddressDescriptionSize;
    PVOID EvtChildListCreateDevice, EvtChildListScanForChildren, EvtChildListIdentificationDescriptionCopy,
          EvtChildListIdentificationDescriptionDuplicate, EvtChildListIdentificationDescriptionCleanup,
          EvtChildListIdentificationDescriptionCompare, EvtChildListAddressDescriptionCopy,
          EvtChildListAddressDescriptionDuplicate, EvtChildListAddressDescriptionCleanup,
          EvtChildListDeviceReenumerated;
} WDF_CHILD_LIST_CONFIG, *PWDF_CHILD_LIST_CONFIG;

/* DEVPROPKEY, DEVPROPTYPE and DEVPROP_TYPE_* come from MinGW's devpropdef.h */
typedef struct _WDF_DEVICE_PROPERTY_DATA {
    ULONG Size;
    const DEVPROPKEY *PropertyKey;
    LCID Lcid;
    ULONG Flags;
} WDF_DEVICE_PROPERTY_DATA, *PWDF_DEVICE_PROPERTY_DATA;
typedef PVOID PFN_WDF_IO_IN_CALLER_CONTEXT;

/* WDFFUNCENUM indices (src/publicinc/wdf/kmdf/1.33/wdffuncenum.h) */
#define WdfCollectionCreateTableIndex 13
#define WdfCollectionGetCountTableIndex 14
#define WdfCollectionAddTableIndex 15
#define WdfCollectionRemoveTableIndex 16
#define WdfCollectionGetItemTableIndex 18
#define WdfControlDeviceInitAllocateTableIndex 25
#define WdfControlFinishInitializingTableIndex 27
#define WdfWdmDeviceGetWdfDeviceHandleTableIndex 30
#define WdfDeviceWdmGetDeviceObjectTableIndex 31
#define WdfDeviceGetIoTargetTableIndex 42
#define WdfDeviceInitFreeTableIndex 54
#define WdfDeviceInitSetPnpPowerEventCallbacksTableIndex 55
#define WdfDeviceInitSetPowerPolicyOwnershipTableIndex 57
#define WdfDeviceInitSetIoTypeTableIndex 61
#define WdfDeviceInitSetExclusiveTableIndex 62
#define WdfDeviceInitSetDeviceTypeTableIndex 66
#define WdfDeviceInitAssignNameTableIndex 67
#define WdfDeviceInitSetCharacteristicsTableIndex 70
#define WdfDeviceInitSetFileObjectConfigTableIndex 71
#define WdfDeviceInitSetIoInCallerContextCallbackTableIndex 74
#define WdfDeviceCreateTableIndex 75
#define WdfDeviceCreateDeviceInterfaceTableIndex 77
#define WdfDeviceCreateSymbolicLinkTableIndex 80
#define WdfDeviceAllocAndQueryPropertyTableIndex 82
#define WdfDeviceSetBusInformationForChildrenTableIndex 85
#define WdfDeviceGetDefaultQueueTableIndex 92
#define WdfDeviceConfigureRequestDispatchingTableIndex 93
#define WdfDpcCreateTableIndex 111
#define WdfDriverCreateTableIndex 116
#define WdfDriverGetRegistryPathTableIndex 117
#define WdfDriverWdmGetDriverObjectTableIndex 118
#define WdfDriverOpenParametersRegistryKeyTableIndex 119
#define WdfFdoInitAllocAndQueryPropertyTableIndex 127
#define WdfFdoInitSetDefaultChildListConfigTableIndex 130
#define WdfIoQueueCreateTableIndex 152
#define WdfIoQueueGetDeviceTableIndex 157
#define WdfIoTargetAllocAndQueryTargetPropertyTableIndex 176
#define WdfMemoryCreateTableIndex 192
#define WdfMemoryCreatePreallocatedTableIndex 193
#define WdfMemoryGetBufferTableIndex 194
#define WdfMemoryCopyToBufferTableIndex 196
#define WdfMemoryCopyFromBufferTableIndex 197
#define WdfLookasideListCreateTableIndex 198
#define WdfMemoryCreateFromLookasideTableIndex 199
#define WdfObjectGetTypedContextWorkerTableIndex 202
#define WdfObjectAllocateContextTableIndex 203
#define WdfObjectContextGetObjectTableIndex 204
#define WdfObjectReferenceActualTableIndex 205
#define WdfObjectDereferenceActualTableIndex 206
#define WdfObjectCreateTableIndex 207
#define WdfObjectDeleteTableIndex 208
#define WdfRegistryCloseTableIndex 231
#define WdfRegistryQueryValueTableIndex 235
#define WdfRegistryQueryMemoryTableIndex 236
#define WdfRegistryQueryUnicodeStringTableIndex 238
#define WdfRegistryQueryULongTableIndex 240
#define WdfRegistryAssignValueTableIndex 241
#define WdfRegistryAssignULongTableIndex 246
#define WdfRequestCompleteTableIndex 263
#define WdfRequestCompleteWithInformationTableIndex 265
#define WdfRequestRetrieveInputBufferTableIndex 269
#define WdfRequestRetrieveOutputBufferTableIndex 270
#define WdfRequestSetInformationTableIndex 275
#define WdfStringCreateTableIndex 308
#define WdfStringGetUnicodeStringTableIndex 309
#define WdfWaitLockCreateTableIndex 312
#define WdfWaitLockAcquireTableIndex 313
#define WdfWaitLockReleaseTableIndex 314
#define WdfSpinLockCreateTableIndex 315
#define WdfSpinLockAcquireTableIndex 316
#define WdfSpinLockReleaseTableIndex 317
#define WdfTimerCreateTableIndex 318
#define WdfWorkItemCreateTableIndex 379
#define WdfDeviceAllocAndQueryPropertyExTableIndex 434
#define WdfFdoInitAllocAndQueryPropertyExTableIndex 437

/* PFN_WDFXXX prototypes (the wdf*.h typedefs: every function takes PWDF_DRIVER_GLOBALS first) */
typedef NTSTATUS (NTAPI *PFN_WDFCOLLECTIONCREATE)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFCOLLECTION*);
typedef ULONG (NTAPI *PFN_WDFCOLLECTIONGETCOUNT)(PWDF_DRIVER_GLOBALS, WDFCOLLECTION);
typedef NTSTATUS (NTAPI *PFN_WDFCOLLECTIONADD)(PWDF_DRIVER_GLOBALS, WDFCOLLECTION, WDFOBJECT);
typedef VOID (NTAPI *PFN_WDFCOLLECTIONREMOVE)(PWDF_DRIVER_GLOBALS, WDFCOLLECTION, WDFOBJECT);
typedef WDFOBJECT (NTAPI *PFN_WDFCOLLECTIONGETITEM)(PWDF_DRIVER_GLOBALS, WDFCOLLECTION, ULONG);
typedef PWDFDEVICE_INIT (NTAPI *PFN_WDFCONTROLDEVICEINITALLOCATE)(PWDF_DRIVER_GLOBALS, WDFDRIVER, PCUNICODE_STRING);
typedef VOID (NTAPI *PFN_WDFCONTROLFINISHINITIALIZING)(PWDF_DRIVER_GLOBALS, WDFDEVICE);
typedef WDFDEVICE (NTAPI *PFN_WDFWDMDEVICEGETWDFDEVICEHANDLE)(PWDF_DRIVER_GLOBALS, PDEVICE_OBJECT);
typedef PDEVICE_OBJECT (NTAPI *PFN_WDFDEVICEWDMGETDEVICEOBJECT)(PWDF_DRIVER_GLOBALS, WDFDEVICE);
typedef WDFIOTARGET (NTAPI *PFN_WDFDEVICEGETIOTARGET)(PWDF_DRIVER_GLOBALS, WDFDEVICE);
typedef VOID (NTAPI *PFN_WDFDEVICEINITFREE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETPNPPOWEREVENTCALLBACKS)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PWDF_PNPPOWER_EVENT_CALLBACKS);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETPOWERPOLICYOWNERSHIP)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, BOOLEAN);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETIOTYPE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, WDF_DEVICE_IO_TYPE);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETEXCLUSIVE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, BOOLEAN);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETDEVICETYPE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, DEVICE_TYPE);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICEINITASSIGNNAME)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PCUNICODE_STRING);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETCHARACTERISTICS)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, ULONG, BOOLEAN);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETFILEOBJECTCONFIG)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PWDF_FILEOBJECT_CONFIG, PWDF_OBJECT_ATTRIBUTES);
typedef VOID (NTAPI *PFN_WDFDEVICEINITSETIOINCALLERCONTEXTCALLBACK)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PFN_WDF_IO_IN_CALLER_CONTEXT);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICECREATE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT*, PWDF_OBJECT_ATTRIBUTES, WDFDEVICE*);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICECREATEDEVICEINTERFACE)(PWDF_DRIVER_GLOBALS, WDFDEVICE, CONST GUID*, PCUNICODE_STRING);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICECREATESYMBOLICLINK)(PWDF_DRIVER_GLOBALS, WDFDEVICE, PCUNICODE_STRING);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICEALLOCANDQUERYPROPERTY)(PWDF_DRIVER_GLOBALS, WDFDEVICE, DEVICE_REGISTRY_PROPERTY, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, WDFMEMORY*);
typedef VOID (NTAPI *PFN_WDFDEVICESETBUSINFORMATIONFORCHILDREN)(PWDF_DRIVER_GLOBALS, WDFDEVICE, PPNP_BUS_INFORMATION);
typedef WDFQUEUE (NTAPI *PFN_WDFDEVICEGETDEFAULTQUEUE)(PWDF_DRIVER_GLOBALS, WDFDEVICE);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICECONFIGUREREQUESTDISPATCHING)(PWDF_DRIVER_GLOBALS, WDFDEVICE, WDFQUEUE, WDF_REQUEST_TYPE);
typedef NTSTATUS (NTAPI *PFN_WDFDPCCREATE)(PWDF_DRIVER_GLOBALS, PWDF_DPC_CONFIG, PWDF_OBJECT_ATTRIBUTES, WDFDPC*);
typedef NTSTATUS (NTAPI *PFN_WDFDRIVERCREATE)(PWDF_DRIVER_GLOBALS, PDRIVER_OBJECT, PCUNICODE_STRING, PWDF_OBJECT_ATTRIBUTES, PWDF_DRIVER_CONFIG, WDFDRIVER*);
typedef PWSTR (NTAPI *PFN_WDFDRIVERGETREGISTRYPATH)(PWDF_DRIVER_GLOBALS, WDFDRIVER);
typedef PDRIVER_OBJECT (NTAPI *PFN_WDFDRIVERWDMGETDRIVEROBJECT)(PWDF_DRIVER_GLOBALS, WDFDRIVER);
typedef NTSTATUS (NTAPI *PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY)(PWDF_DRIVER_GLOBALS, WDFDRIVER, ACCESS_MASK, PWDF_OBJECT_ATTRIBUTES, WDFKEY*);
typedef NTSTATUS (NTAPI *PFN_WDFFDOINITALLOCANDQUERYPROPERTY)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, DEVICE_REGISTRY_PROPERTY, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, WDFMEMORY*);
typedef VOID (NTAPI *PFN_WDFFDOINITSETDEFAULTCHILDLISTCONFIG)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PWDF_CHILD_LIST_CONFIG, PWDF_OBJECT_ATTRIBUTES);
typedef NTSTATUS (NTAPI *PFN_WDFIOQUEUECREATE)(PWDF_DRIVER_GLOBALS, WDFDEVICE, PWDF_IO_QUEUE_CONFIG, PWDF_OBJECT_ATTRIBUTES, WDFQUEUE*);
typedef WDFDEVICE (NTAPI *PFN_WDFIOQUEUEGETDEVICE)(PWDF_DRIVER_GLOBALS, WDFQUEUE);
typedef NTSTATUS (NTAPI *PFN_WDFIOTARGETALLOCANDQUERYTARGETPROPERTY)(PWDF_DRIVER_GLOBALS, WDFIOTARGET, DEVICE_REGISTRY_PROPERTY, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, WDFMEMORY*);
typedef NTSTATUS (NTAPI *PFN_WDFMEMORYCREATE)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, POOL_TYPE, ULONG, size_t, WDFMEMORY*, PVOID*);
typedef NTSTATUS (NTAPI *PFN_WDFMEMORYCREATEPREALLOCATED)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, PVOID, size_t, WDFMEMORY*);
typedef PVOID (NTAPI *PFN_WDFMEMORYGETBUFFER)(PWDF_DRIVER_GLOBALS, WDFMEMORY, size_t*);
typedef NTSTATUS (NTAPI *PFN_WDFMEMORYCOPYTOBUFFER)(PWDF_DRIVER_GLOBALS, WDFMEMORY, size_t, PVOID, size_t);
typedef NTSTATUS (NTAPI *PFN_WDFMEMORYCOPYFROMBUFFER)(PWDF_DRIVER_GLOBALS, WDFMEMORY, size_t, PVOID, size_t);
typedef NTSTATUS (NTAPI *PFN_WDFLOOKASIDELISTCREATE)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, size_t, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, ULONG, WDFLOOKASIDE*);
typedef NTSTATUS (NTAPI *PFN_WDFMEMORYCREATEFROMLOOKASIDE)(PWDF_DRIVER_GLOBALS, WDFLOOKASIDE, WDFMEMORY*);
typedef PVOID (NTAPI *PFN_WDFOBJECTGETTYPEDCONTEXTWORKER)(PWDF_DRIVER_GLOBALS, WDFOBJECT, PCWDF_OBJECT_CONTEXT_TYPE_INFO);
typedef NTSTATUS (NTAPI *PFN_WDFOBJECTALLOCATECONTEXT)(PWDF_DRIVER_GLOBALS, WDFOBJECT, PWDF_OBJECT_ATTRIBUTES, PVOID*);
typedef WDFOBJECT (NTAPI *PFN_WDFOBJECTCONTEXTGETOBJECT)(PWDF_DRIVER_GLOBALS, PVOID);
typedef VOID (NTAPI *PFN_WDFOBJECTREFERENCEACTUAL)(PWDF_DRIVER_GLOBALS, WDFOBJECT, PVOID, LONG, PCCH);
typedef VOID (NTAPI *PFN_WDFOBJECTDEREFERENCEACTUAL)(PWDF_DRIVER_GLOBALS, WDFOBJECT, PVOID, LONG, PCCH);
typedef NTSTATUS (NTAPI *PFN_WDFOBJECTCREATE)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFOBJECT*);
typedef VOID (NTAPI *PFN_WDFOBJECTDELETE)(PWDF_DRIVER_GLOBALS, WDFOBJECT);
typedef VOID (NTAPI *PFN_WDFREGISTRYCLOSE)(PWDF_DRIVER_GLOBALS, WDFKEY);
typedef NTSTATUS (NTAPI *PFN_WDFREGISTRYQUERYVALUE)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING, ULONG, PVOID, PULONG, PULONG);
typedef NTSTATUS (NTAPI *PFN_WDFREGISTRYQUERYMEMORY)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, WDFMEMORY*, PULONG);
typedef NTSTATUS (NTAPI *PFN_WDFREGISTRYQUERYUNICODESTRING)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING, PUSHORT, PUNICODE_STRING);
typedef NTSTATUS (NTAPI *PFN_WDFREGISTRYQUERYULONG)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING, PULONG);
typedef NTSTATUS (NTAPI *PFN_WDFREGISTRYASSIGNVALUE)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING, ULONG, ULONG, PVOID);
typedef NTSTATUS (NTAPI *PFN_WDFREGISTRYASSIGNULONG)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING, ULONG);
typedef VOID (NTAPI *PFN_WDFREQUESTCOMPLETE)(PWDF_DRIVER_GLOBALS, WDFREQUEST, NTSTATUS);
typedef VOID (NTAPI *PFN_WDFREQUESTCOMPLETEWITHINFORMATION)(PWDF_DRIVER_GLOBALS, WDFREQUEST, NTSTATUS, ULONG_PTR);
typedef NTSTATUS (NTAPI *PFN_WDFREQUESTRETRIEVEINPUTBUFFER)(PWDF_DRIVER_GLOBALS, WDFREQUEST, size_t, PVOID*, size_t*);
typedef NTSTATUS (NTAPI *PFN_WDFREQUESTRETRIEVEOUTPUTBUFFER)(PWDF_DRIVER_GLOBALS, WDFREQUEST, size_t, PVOID*, size_t*);
typedef VOID (NTAPI *PFN_WDFREQUESTSETINFORMATION)(PWDF_DRIVER_GLOBALS, WDFREQUEST, ULONG_PTR);
typedef NTSTATUS (NTAPI *PFN_WDFSTRINGCREATE)(PWDF_DRIVER_GLOBALS, PCUNICODE_STRING, PWDF_OBJECT_ATTRIBUTES, WDFSTRING*);
typedef VOID (NTAPI *PFN_WDFSTRINGGETUNICODESTRING)(PWDF_DRIVER_GLOBALS, WDFSTRING, PUNICODE_STRING);
typedef NTSTATUS (NTAPI *PFN_WDFWAITLOCKCREATE)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFWAITLOCK*);
typedef NTSTATUS (NTAPI *PFN_WDFWAITLOCKACQUIRE)(PWDF_DRIVER_GLOBALS, WDFWAITLOCK, PLONGLONG);
typedef VOID (NTAPI *PFN_WDFWAITLOCKRELEASE)(PWDF_DRIVER_GLOBALS, WDFWAITLOCK);
typedef NTSTATUS (NTAPI *PFN_WDFSPINLOCKCREATE)(PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFSPINLOCK*);
typedef VOID (NTAPI *PFN_WDFSPINLOCKACQUIRE)(PWDF_DRIVER_GLOBALS, WDFSPINLOCK);
typedef VOID (NTAPI *PFN_WDFSPINLOCKRELEASE)(PWDF_DRIVER_GLOBALS, WDFSPINLOCK);
typedef NTSTATUS (NTAPI *PFN_WDFTIMERCREATE)(PWDF_DRIVER_GLOBALS, PWDF_TIMER_CONFIG, PWDF_OBJECT_ATTRIBUTES, WDFTIMER*);
typedef NTSTATUS (NTAPI *PFN_WDFWORKITEMCREATE)(PWDF_DRIVER_GLOBALS, PWDF_WORKITEM_CONFIG, PWDF_OBJECT_ATTRIBUTES, WDFWORKITEM*);
typedef NTSTATUS (NTAPI *PFN_WDFDEVICEALLOCANDQUERYPROPERTYEX)(PWDF_DRIVER_GLOBALS, WDFDEVICE, PWDF_DEVICE_PROPERTY_DATA, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, WDFMEMORY*, PDEVPROPTYPE);
typedef NTSTATUS (NTAPI *PFN_WDFFDOINITALLOCANDQUERYPROPERTYEX)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PWDF_DEVICE_PROPERTY_DATA, POOL_TYPE, PWDF_OBJECT_ATTRIBUTES, WDFMEMORY*, PDEVPROPTYPE);
typedef PFN_WDFCOLLECTIONCREATE PFN_WdfCollectionCreate;
typedef PFN_WDFCOLLECTIONGETCOUNT PFN_WdfCollectionGetCount;
typedef PFN_WDFCOLLECTIONADD PFN_WdfCollectionAdd;
typedef PFN_WDFCOLLECTIONREMOVE PFN_WdfCollectionRemove;
typedef PFN_WDFCOLLECTIONGETITEM PFN_WdfCollectionGetItem;
typedef PFN_WDFCONTROLDEVICEINITALLOCATE PFN_WdfControlDeviceInitAllocate;
typedef PFN_WDFCONTROLFINISHINITIALIZING PFN_WdfControlFinishInitializing;
typedef PFN_WDFWDMDEVICEGETWDFDEVICEHANDLE PFN_WdfWdmDeviceGetWdfDeviceHandle;
typedef PFN_WDFDEVICEWDMGETDEVICEOBJECT PFN_WdfDeviceWdmGetDeviceObject;
typedef PFN_WDFDEVICEGETIOTARGET PFN_WdfDeviceGetIoTarget;
typedef PFN_WDFDEVICEINITFREE PFN_WdfDeviceInitFree;
typedef PFN_WDFDEVICEINITSETPNPPOWEREVENTCALLBACKS PFN_WdfDeviceInitSetPnpPowerEventCallbacks;
typedef PFN_WDFDEVICEINITSETPOWERPOLICYOWNERSHIP PFN_WdfDeviceInitSetPowerPolicyOwnership;
typedef PFN_WDFDEVICEINITSETIOTYPE PFN_WdfDeviceInitSetIoType;
typedef PFN_WDFDEVICEINITSETEXCLUSIVE PFN_WdfDeviceInitSetExclusive;
typedef PFN_WDFDEVICEINITSETDEVICETYPE PFN_WdfDeviceInitSetDeviceType;
typedef PFN_WDFDEVICEINITASSIGNNAME PFN_WdfDeviceInitAssignName;
typedef PFN_WDFDEVICEINITSETCHARACTERISTICS PFN_WdfDeviceInitSetCharacteristics;
typedef PFN_WDFDEVICEINITSETFILEOBJECTCONFIG PFN_WdfDeviceInitSetFileObjectConfig;
typedef PFN_WDFDEVICEINITSETIOINCALLERCONTEXTCALLBACK PFN_WdfDeviceInitSetIoInCallerContextCallback;
typedef PFN_WDFDEVICECREATE PFN_WdfDeviceCreate;
typedef PFN_WDFDEVICECREATEDEVICEINTERFACE PFN_WdfDeviceCreateDeviceInterface;
typedef PFN_WDFDEVICECREATESYMBOLICLINK PFN_WdfDeviceCreateSymbolicLink;
typedef PFN_WDFDEVICEALLOCANDQUERYPROPERTY PFN_WdfDeviceAllocAndQueryProperty;
typedef PFN_WDFDEVICESETBUSINFORMATIONFORCHILDREN PFN_WdfDeviceSetBusInformationForChildren;
typedef PFN_WDFDEVICEGETDEFAULTQUEUE PFN_WdfDeviceGetDefaultQueue;
typedef PFN_WDFDEVICECONFIGUREREQUESTDISPATCHING PFN_WdfDeviceConfigureRequestDispatching;
typedef PFN_WDFDPCCREATE PFN_WdfDpcCreate;
typedef PFN_WDFDRIVERCREATE PFN_WdfDriverCreate;
typedef PFN_WDFDRIVERGETREGISTRYPATH PFN_WdfDriverGetRegistryPath;
typedef PFN_WDFDRIVERWDMGETDRIVEROBJECT PFN_WdfDriverWdmGetDriverObject;
typedef PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY PFN_WdfDriverOpenParametersRegistryKey;
typedef PFN_WDFFDOINITALLOCANDQUERYPROPERTY PFN_WdfFdoInitAllocAndQueryProperty;
typedef PFN_WDFFDOINITSETDEFAULTCHILDLISTCONFIG PFN_WdfFdoInitSetDefaultChildListConfig;
typedef PFN_WDFIOQUEUECREATE PFN_WdfIoQueueCreate;
typedef PFN_WDFIOQUEUEGETDEVICE PFN_WdfIoQueueGetDevice;
typedef PFN_WDFIOTARGETALLOCANDQUERYTARGETPROPERTY PFN_WdfIoTargetAllocAndQueryTargetProperty;
typedef PFN_WDFMEMORYCREATE PFN_WdfMemoryCreate;
typedef PFN_WDFMEMORYCREATEPREALLOCATED PFN_WdfMemoryCreatePreallocated;
typedef PFN_WDFMEMORYGETBUFFER PFN_WdfMemoryGetBuffer;
typedef PFN_WDFMEMORYCOPYTOBUFFER PFN_WdfMemoryCopyToBuffer;
typedef PFN_WDFMEMORYCOPYFROMBUFFER PFN_WdfMemoryCopyFromBuffer;
typedef PFN_WDFLOOKASIDELISTCREATE PFN_WdfLookasideListCreate;
typedef PFN_WDFMEMORYCREATEFROMLOOKASIDE PFN_WdfMemoryCreateFromLookaside;
typedef PFN_WDFOBJECTGETTYPEDCONTEXTWORKER PFN_WdfObjectGetTypedContextWorker;
typedef PFN_WDFOBJECTALLOCATECONTEXT PFN_WdfObjectAllocateContext;
typedef PFN_WDFOBJECTCONTEXTGETOBJECT PFN_WdfObjectContextGetObject;
typedef PFN_WDFOBJECTREFERENCEACTUAL PFN_WdfObjectReferenceActual;
typedef PFN_WDFOBJECTDEREFERENCEACTUAL PFN_WdfObjectDereferenceActual;
typedef PFN_WDFOBJECTCREATE PFN_WdfObjectCreate;
typedef PFN_WDFOBJECTDELETE PFN_WdfObjectDelete;
typedef PFN_WDFREGISTRYCLOSE PFN_WdfRegistryClose;
typedef PFN_WDFREGISTRYQUERYVALUE PFN_WdfRegistryQueryValue;
typedef PFN_WDFREGISTRYQUERYMEMORY PFN_WdfRegistryQueryMemory;
typedef PFN_WDFREGISTRYQUERYUNICODESTRING PFN_WdfRegistryQueryUnicodeString;
typedef PFN_WDFREGISTRYQUERYULONG PFN_WdfRegistryQueryULong;
typedef PFN_WDFREGISTRYASSIGNVALUE PFN_WdfRegistryAssignValue;
typedef PFN_WDFREGISTRYASSIGNULONG PFN_WdfRegistryAssignULong;
typedef PFN_WDFREQUESTCOMPLETE PFN_WdfRequestComplete;
typedef PFN_WDFREQUESTCOMPLETEWITHINFORMATION PFN_WdfRequestCompleteWithInformation;
typedef PFN_WDFREQUESTRETRIEVEINPUTBUFFER PFN_WdfRequestRetrieveInputBuffer;
typedef PFN_WDFREQUESTRETRIEVEOUTPUTBUFFER PFN_WdfRequestRetrieveOutputBuffer;
typedef PFN_WDFREQUESTSETINFORMATION PFN_WdfRequestSetInformation;
typedef PFN_WDFSTRINGCREATE PFN_WdfStringCreate;
typedef PFN_WDFSTRINGGETUNICODESTRING PFN_WdfStringGetUnicodeString;
typedef PFN_WDFWAITLOCKCREATE PFN_WdfWaitLockCreate;
typedef PFN_WDFWAITLOCKACQUIRE PFN_WdfWaitLockAcquire;
typedef PFN_WDFWAITLOCKRELEASE PFN_WdfWaitLockRelease;
typedef PFN_WDFSPINLOCKCREATE PFN_WdfSpinLockCreate;
typedef PFN_WDFSPINLOCKACQUIRE PFN_WdfSpinLockAcquire;
typedef PFN_WDFSPINLOCKRELEASE PFN_WdfSpinLockRelease;
typedef PFN_WDFTIMERCREATE PFN_WdfTimerCreate;
typedef PFN_WDFWORKITEMCREATE PFN_WdfWorkItemCreate;
typedef PFN_WDFDEVICEALLOCANDQUERYPROPERTYEX PFN_WdfDeviceAllocAndQueryPropertyEx;
typedef PFN_WDFFDOINITALLOCANDQUERYPROPERTYEX PFN_WdfFdoInitAllocAndQueryPropertyEx;

/* Requests, queues, deferred-work objects and child lists (kmdf_io.c; KMDF 1.33 wdfrequest.h, wdfio.h,
 * wdftimer.h, wdfworkitem.h, wdfdpc.h, wdfchildlist.h, wdffuncenum.h) */
#define WdfChildListBeginScanTableIndex 4
#define WdfChildListEndScanTableIndex 5
#define WdfChildListBeginIterationTableIndex 6
#define WdfChildListRetrieveNextDeviceTableIndex 7
#define WdfChildListEndIterationTableIndex 8
#define WdfChildListAddOrUpdateChildDescriptionAsPresentTableIndex 9
#define WdfChildListUpdateChildDescriptionAsMissingTableIndex 10
#define WdfDeviceEnqueueRequestTableIndex 91
#define WdfDpcEnqueueTableIndex 112
#define WdfDpcCancelTableIndex 113
#define WdfDpcGetParentObjectTableIndex 114
#define WdfFdoGetDefaultChildListTableIndex 132
#define WdfIoQueueStartTableIndex 154
#define WdfIoQueueRetrieveNextRequestTableIndex 158
#define WdfIoQueueRetrieveRequestByFileObjectTableIndex 159
#define WdfIoQueuePurgeSynchronouslyTableIndex 164
#define WdfIoQueuePurgeTableIndex 165
#define WdfRequestGetParametersTableIndex 266
#define WdfRequestGetFileObjectTableIndex 277
#define WdfRequestForwardToIoQueueTableIndex 281
#define WdfTimerStartTableIndex 319
#define WdfTimerStopTableIndex 320
#define WdfTimerGetParentObjectTableIndex 321
#define WdfWorkItemEnqueueTableIndex 380
#define WdfWorkItemGetParentObjectTableIndex 381
#define WdfWorkItemFlushTableIndex 382

typedef struct WDFCHILDLIST__ *WDFCHILDLIST;
typedef struct _WDF_REQUEST_PARAMETERS {
    USHORT Size;
    UCHAR MinorFunction;
    WDF_REQUEST_TYPE Type;
    union {
        struct { size_t Length; ULONG POINTER_ALIGNMENT Key; LONGLONG DeviceOffset; } Read, Write;
        struct { size_t OutputBufferLength; size_t POINTER_ALIGNMENT InputBufferLength;
                 ULONG POINTER_ALIGNMENT IoControlCode; PVOID Type3InputBuffer; } DeviceIoControl;
    } Parameters;
} WDF_REQUEST_PARAMETERS, *PWDF_REQUEST_PARAMETERS;
/* WDF_REQUEST_PARAMETERS_INIT, as wdfrequest.h defines it */
static __inline VOID WDF_REQUEST_PARAMETERS_INIT(PWDF_REQUEST_PARAMETERS p)
{
    RtlZeroMemory(p, sizeof(*p));
    p->Size = sizeof(*p);
}
typedef struct _WDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER { ULONG IdentificationDescriptionSize; }
    WDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER, *PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER;
typedef struct _WDF_CHILD_ADDRESS_DESCRIPTION_HEADER { ULONG AddressDescriptionSize; }
    WDF_CHILD_ADDRESS_DESCRIPTION_HEADER, *PWDF_CHILD_ADDRESS_DESCRIPTION_HEADER;
typedef struct _WDF_CHILD_LIST_ITERATOR { ULONG Size; ULONG Flags; PVOID Reserved[4]; }
    WDF_CHILD_LIST_ITERATOR, *PWDF_CHILD_LIST_ITERATOR;
typedef struct _WDF_CHILD_RETRIEVE_INFO {
    ULONG Size;
    PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER IdentificationDescription;
    PWDF_CHILD_ADDRESS_DESCRIPTION_HEADER AddressDescription;
    int Status;
    PVOID EvtChildListIdentificationDescriptionCompare;
} WDF_CHILD_RETRIEVE_INFO, *PWDF_CHILD_RETRIEVE_INFO;
#define WdfRetrieveAllChildren 0x3          /* WDF_RETRIEVE_CHILD_FLAGS: present | missing */

typedef VOID (NTAPI *PFN_WdfChildListBeginScan)(PWDF_DRIVER_GLOBALS, WDFCHILDLIST);
typedef VOID (NTAPI *PFN_WdfChildListEndScan)(PWDF_DRIVER_GLOBALS, WDFCHILDLIST);
typedef VOID (NTAPI *PFN_WdfChildListBeginIteration)(PWDF_DRIVER_GLOBALS, WDFCHILDLIST, PWDF_CHILD_LIST_ITERATOR);
typedef NTSTATUS (NTAPI *PFN_WdfChildListRetrieveNextDevice)(PWDF_DRIVER_GLOBALS, WDFCHILDLIST,
                                                            PWDF_CHILD_LIST_ITERATOR, WDFDEVICE*, PWDF_CHILD_RETRIEVE_INFO);
typedef VOID (NTAPI *PFN_WdfChildListEndIteration)(PWDF_DRIVER_GLOBALS, WDFCHILDLIST, PWDF_CHILD_LIST_ITERATOR);
typedef NTSTATUS (NTAPI *PFN_WdfChildListAddOrUpdateChildDescriptionAsPresent)(
    PWDF_DRIVER_GLOBALS, WDFCHILDLIST, PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER, PWDF_CHILD_ADDRESS_DESCRIPTION_HEADER);
typedef NTSTATUS (NTAPI *PFN_WdfChildListUpdateChildDescriptionAsMissing)(
    PWDF_DRIVER_GLOBALS, WDFCHILDLIST, PWDF_CHILD_IDENTIFICATION_DESCRIPTION_HEADER);
typedef NTSTATUS (NTAPI *PFN_WdfDeviceEnqueueRequest)(PWDF_DRIVER_GLOBALS, WDFDEVICE, WDFREQUEST);
typedef BOOLEAN (NTAPI *PFN_WdfDpcEnqueue)(PWDF_DRIVER_GLOBALS, WDFDPC);
typedef BOOLEAN (NTAPI *PFN_WdfDpcCancel)(PWDF_DRIVER_GLOBALS, WDFDPC, BOOLEAN);
typedef WDFOBJECT (NTAPI *PFN_WdfDpcGetParentObject)(PWDF_DRIVER_GLOBALS, WDFDPC);
typedef WDFCHILDLIST (NTAPI *PFN_WdfFdoGetDefaultChildList)(PWDF_DRIVER_GLOBALS, WDFDEVICE);
typedef VOID (NTAPI *PFN_WdfIoQueueStart)(PWDF_DRIVER_GLOBALS, WDFQUEUE);
typedef NTSTATUS (NTAPI *PFN_WdfIoQueueRetrieveNextRequest)(PWDF_DRIVER_GLOBALS, WDFQUEUE, WDFREQUEST*);
typedef NTSTATUS (NTAPI *PFN_WdfIoQueueRetrieveRequestByFileObject)(PWDF_DRIVER_GLOBALS, WDFQUEUE, WDFFILEOBJECT,
                                                                   WDFREQUEST*);
typedef VOID (NTAPI *PFN_WdfIoQueuePurgeSynchronously)(PWDF_DRIVER_GLOBALS, WDFQUEUE);
typedef VOID (NTAPI *PFN_WdfIoQueuePurge)(PWDF_DRIVER_GLOBALS, WDFQUEUE, PVOID, PVOID);
typedef VOID (NTAPI *PFN_WdfRequestGetParameters)(PWDF_DRIVER_GLOBALS, WDFREQUEST, PWDF_REQUEST_PARAMETERS);
typedef WDFFILEOBJECT (NTAPI *PFN_WdfRequestGetFileObject)(PWDF_DRIVER_GLOBALS, WDFREQUEST);
typedef NTSTATUS (NTAPI *PFN_WdfRequestForwardToIoQueue)(PWDF_DRIVER_GLOBALS, WDFREQUEST, WDFQUEUE);
typedef BOOLEAN (NTAPI *PFN_WdfTimerStart)(PWDF_DRIVER_GLOBALS, WDFTIMER, LONGLONG);
typedef BOOLEAN (NTAPI *PFN_WdfTimerStop)(PWDF_DRIVER_GLOBALS, WDFTIMER, BOOLEAN);
typedef WDFOBJECT (NTAPI *PFN_WdfTimerGetParentObject)(PWDF_DRIVER_GLOBALS, WDFTIMER);
typedef VOID (NTAPI *PFN_WdfWorkItemEnqueue)(PWDF_DRIVER_GLOBALS, WDFWORKITEM);
typedef WDFOBJECT (NTAPI *PFN_WdfWorkItemGetParentObject)(PWDF_DRIVER_GLOBALS, WDFWORKITEM);
typedef VOID (NTAPI *PFN_WdfWorkItemFlush)(PWDF_DRIVER_GLOBALS, WDFWORKITEM);
#define WdfDeviceWdmGetPhysicalDeviceTableIndex 33
#define WdfDeviceOpenRegistryKeyTableIndex 48
#define WdfDeviceInitSetRequestAttributesTableIndex 72
#define WdfFileObjectGetFileNameTableIndex 137
#define WdfFileObjectWdmGetFileObjectTableIndex 140
#define WdfRegistryQueryMultiStringTableIndex 237
#define WdfRequestWdmGetIrpTableIndex 285
typedef PDEVICE_OBJECT (NTAPI *PFN_WdfDeviceWdmGetPhysicalDevice)(PWDF_DRIVER_GLOBALS, WDFDEVICE);
typedef NTSTATUS (NTAPI *PFN_WdfDeviceOpenRegistryKey)(PWDF_DRIVER_GLOBALS, WDFDEVICE, ULONG, ACCESS_MASK,
                                                      PWDF_OBJECT_ATTRIBUTES, WDFKEY*);
typedef VOID (NTAPI *PFN_WdfDeviceInitSetRequestAttributes)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT, PWDF_OBJECT_ATTRIBUTES);
typedef PUNICODE_STRING (NTAPI *PFN_WdfFileObjectGetFileName)(PWDF_DRIVER_GLOBALS, WDFFILEOBJECT);
typedef PFILE_OBJECT (NTAPI *PFN_WdfFileObjectWdmGetFileObject)(PWDF_DRIVER_GLOBALS, WDFFILEOBJECT);
typedef NTSTATUS (NTAPI *PFN_WdfRegistryQueryMultiString)(PWDF_DRIVER_GLOBALS, WDFKEY, PCUNICODE_STRING,
                                                         PWDF_OBJECT_ATTRIBUTES, WDFCOLLECTION);
typedef PIRP (NTAPI *PFN_WdfRequestWdmGetIrp)(PWDF_DRIVER_GLOBALS, WDFREQUEST);
#define WdfRequestRetrieveInputMemoryTableIndex 267
#define WdfRequestRetrieveOutputMemoryTableIndex 268
typedef NTSTATUS (NTAPI *PFN_WdfRequestRetrieveInputMemory)(PWDF_DRIVER_GLOBALS, WDFREQUEST, WDFMEMORY*);
typedef NTSTATUS (NTAPI *PFN_WdfRequestRetrieveOutputMemory)(PWDF_DRIVER_GLOBALS, WDFREQUEST, WDFMEMORY*);

extern PWDF_DRIVER_GLOBALS WdfDriverGlobals;
#if KMDF_MINOR <= 13
extern WDFFUNC WdfFunctions[KMDF_FUNC_COUNT];
#else
extern WDFFUNC *WdfFunctions;
#endif
#define WDFCALL(name, ...) ((PFN_##name) WdfFunctions[name##TableIndex])(WdfDriverGlobals, __VA_ARGS__)

__declspec(dllimport) NTSTATUS NTAPI WdfVersionBind(PDRIVER_OBJECT, PUNICODE_STRING, PWDF_BIND_INFO,
                                                     PWDF_DRIVER_GLOBALS *);
__declspec(dllimport) NTSTATUS NTAPI WdfVersionUnbind(PUNICODE_STRING, PWDF_BIND_INFO, PWDF_DRIVER_GLOBALS);

/* The KMDF startup: the image's entry point (FxDriverEntry), then the driver's DriverEntry. */
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
PWDF_DRIVER_GLOBALS WdfDriverGlobals;
#if KMDF_MINOR <= 13
WDFFUNC WdfFunctions[KMDF_FUNC_COUNT];
#define KMDF_TABLE ((WDFFUNC *) WdfFunctions)
#else
WDFFUNC *WdfFunctions;
#define KMDF_TABLE ((WDFFUNC *) &WdfFunctions)
#endif
static WDF_BIND_INFO WdfBindInfo = {
    sizeof(WDF_BIND_INFO), L"KmdfLibrary", {1, KMDF_MINOR, 0}, KMDF_FUNC_COUNT, KMDF_TABLE, NULL };

NTSTATUS FxDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status = WdfVersionBind(DriverObject, RegistryPath, &WdfBindInfo, &WdfDriverGlobals);
    if (!NT_SUCCESS(status))
        return status;
    status = DriverEntry(DriverObject, RegistryPath);
    if (!NT_SUCCESS(status))
        WdfVersionUnbind(RegistryPath, &WdfBindInfo, WdfDriverGlobals);
    return status;
}

#endif
