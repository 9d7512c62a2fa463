/*
 * ndis6.h - the NDIS 6 declarations ndis_miniport.c uses, which MinGW-w64's ddk/ndis.h (NDIS 5)
 * lacks: layouts and prototypes as Microsoft's ndis.h reference documents them
 * (ns-ndis-_ndis_miniport_driver_characteristics, ns-objectheader-ndis_object_header,
 * ns-ndis-_net_buffer_list_pool_parameters, ns-ndis-_net_buffer_pool_parameters,
 * ns-ndis-_ndis_generic_object, ns-ndis-_ndis_protocol_driver_characteristics and the nf-ndis-*
 * pages).  Handler members are plain code pointers: only their place in the layout matters here.
 * The routines are imported from NDIS.SYS (MinGW-w64's libndis.a).
 */
#ifndef HVCI_TEST_NDIS6_H
#define HVCI_TEST_NDIS6_H
#include "compat.h"

typedef PVOID NDIS_HANDLE, *PNDIS_HANDLE;
typedef LONG NDIS_STATUS;
typedef unsigned int UINT;
typedef void (*NDIS_ROUTINE)(void);

#define NDIS_STATUS_SUCCESS              ((NDIS_STATUS)0x00000000L)
#define NDIS_STATUS_BAD_VERSION          ((NDIS_STATUS)0xC0010004L)
#define NDIS_STATUS_BAD_CHARACTERISTICS  ((NDIS_STATUS)0xC0010005L)

#define NDIS_OBJECT_TYPE_DEFAULT                          0x80
#define NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS  0x8A
#define NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS  0x95
#define NDIS_OBJECT_REVISION_1                            1
#define NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2   2
#define NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1   1

typedef struct _NDIS_OBJECT_HEADER {
    UCHAR Type;
    UCHAR Revision;
    USHORT Size;
} NDIS_OBJECT_HEADER;

typedef struct _NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    UCHAR MajorNdisVersion, MinorNdisVersion, MajorDriverVersion, MinorDriverVersion;
    ULONG Flags;
    NDIS_ROUTINE SetOptionsHandler, InitializeHandlerEx, HaltHandlerEx;
    DRIVER_UNLOAD *UnloadHandler;
    NDIS_ROUTINE PauseHandler, RestartHandler, OidRequestHandler, SendNetBufferListsHandler,
        ReturnNetBufferListsHandler, CancelSendHandler, CheckForHangHandlerEx, ResetHandlerEx,
        DevicePnPEventNotifyHandler, ShutdownHandlerEx, CancelOidRequestHandler;
    NDIS_ROUTINE DirectOidRequestHandler, CancelDirectOidRequestHandler;     /* revision 2, NDIS 6.1 */
    NDIS_ROUTINE SynchronousOidRequestHandler;                                /* revision 3, NDIS 6.80 */
} NDIS_MINIPORT_DRIVER_CHARACTERISTICS;

/* RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, CancelDirectOidRequestHandler) */
#define NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2 \
    (FIELD_OFFSET(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, CancelDirectOidRequestHandler) + sizeof(NDIS_ROUTINE))

typedef struct _NDIS_PROTOCOL_DRIVER_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    UCHAR MajorNdisVersion, MinorNdisVersion, MajorDriverVersion, MinorDriverVersion;
    ULONG Flags;
    UNICODE_STRING Name;                    /* NDIS_STRING */
    NDIS_ROUTINE Handlers[13];              /* SetOptionsHandler .. UninstallHandler */
} NDIS_PROTOCOL_DRIVER_CHARACTERISTICS;

typedef struct _NET_BUFFER_LIST_POOL_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    UCHAR ProtocolId;
    BOOLEAN fAllocateNetBuffer;
    USHORT ContextSize;
    ULONG PoolTag;
    ULONG DataSize;
} NET_BUFFER_LIST_POOL_PARAMETERS;

typedef struct _NET_BUFFER_POOL_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    ULONG PoolTag;
    ULONG DataSize;
} NET_BUFFER_POOL_PARAMETERS;

typedef struct _NDIS_GENERIC_OBJECT {
    NDIS_OBJECT_HEADER Header;
    PVOID Caller;
    PVOID CallersCaller;
    PDRIVER_OBJECT DriverObject;
} NDIS_GENERIC_OBJECT, *PNDIS_GENERIC_OBJECT;

#define NDISAPI __declspec(dllimport)
NDISAPI UINT NTAPI NdisGetVersion(void);
NDISAPI NDIS_STATUS NTAPI NdisMRegisterMiniportDriver(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
    NDIS_HANDLE MiniportDriverContext, NDIS_MINIPORT_DRIVER_CHARACTERISTICS *MiniportDriverCharacteristics,
    PNDIS_HANDLE NdisMiniportDriverHandle);
NDISAPI VOID NTAPI NdisMDeregisterMiniportDriver(NDIS_HANDLE NdisMiniportDriverHandle);
NDISAPI NDIS_STATUS NTAPI NdisRegisterProtocolDriver(NDIS_HANDLE ProtocolDriverContext,
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS *ProtocolCharacteristics, PNDIS_HANDLE NdisProtocolHandle);
NDISAPI NDIS_HANDLE NTAPI NdisAllocateNetBufferListPool(NDIS_HANDLE NdisHandle,
    NET_BUFFER_LIST_POOL_PARAMETERS *Parameters);
NDISAPI VOID NTAPI NdisFreeNetBufferListPool(NDIS_HANDLE PoolHandle);
NDISAPI NDIS_HANDLE NTAPI NdisAllocateNetBufferPool(NDIS_HANDLE NdisHandle, NET_BUFFER_POOL_PARAMETERS *Parameters);
NDISAPI VOID NTAPI NdisFreeNetBufferPool(NDIS_HANDLE PoolHandle);
NDISAPI PNDIS_GENERIC_OBJECT NTAPI NdisAllocateGenericObject(PDRIVER_OBJECT DriverObject, ULONG Tag, USHORT Size);
NDISAPI VOID NTAPI NdisFreeGenericObject(PNDIS_GENERIC_OBJECT NdisObject);
NDISAPI PVOID NTAPI NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag,
    EX_POOL_PRIORITY Priority);
NDISAPI VOID NTAPI NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags);
#endif
