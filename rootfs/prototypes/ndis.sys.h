/* NDIS.SYS: hand-written prototypes for rootfs/make_prototypes.py (MinGW-w64's ddk/ndis.h is NDIS 5 and does
 * not compile alongside ntifs.h; Wine's declares almost nothing). Source: Microsoft's ndis.h reference,
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/ndis/nf-ndis-<name in lower case>.
 * Declared: the routines hooks/ndis implements and the others wintun.sys and wireguard.sys import.
 * NDIS_STATUS values are NTSTATUS values (ndis.h defines NDIS_STATUS_SUCCESS as STATUS_SUCCESS and so
 * on), so NDIS_STATUS is typed as one: a stand-in answers STATUS_NOT_IMPLEMENTED, not NDIS_STATUS_SUCCESS.
 * Structures a routine takes by address stay incomplete.
 */
typedef PVOID NDIS_HANDLE, *PNDIS_HANDLE;
typedef NTSTATUS NDIS_STATUS;
typedef unsigned int UINT;
typedef ULONG NDIS_PORT_NUMBER;
typedef int NDIS_ERROR_CODE;
typedef struct _NET_BUFFER_LIST *PNET_BUFFER_LIST;
typedef struct _NET_BUFFER *PNET_BUFFER;
typedef struct _NDIS_MINIPORT_DRIVER_CHARACTERISTICS *PNDIS_MINIPORT_DRIVER_CHARACTERISTICS;
typedef struct _NDIS_PROTOCOL_DRIVER_CHARACTERISTICS *PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS;
typedef struct _NET_BUFFER_LIST_POOL_PARAMETERS *PNET_BUFFER_LIST_POOL_PARAMETERS;
typedef struct _NET_BUFFER_POOL_PARAMETERS *PNET_BUFFER_POOL_PARAMETERS;
typedef struct _NDIS_GENERIC_OBJECT *PNDIS_GENERIC_OBJECT;
typedef union _NDIS_MINIPORT_ADAPTER_ATTRIBUTES *PNDIS_MINIPORT_ADAPTER_ATTRIBUTES;
typedef struct _NDIS_STATUS_INDICATION *PNDIS_STATUS_INDICATION;

/* version and registration */
UINT NTAPI NdisGetVersion(void);
NDIS_STATUS NTAPI NdisMRegisterMiniportDriver(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
                                              NDIS_HANDLE MiniportDriverContext,
                                              PNDIS_MINIPORT_DRIVER_CHARACTERISTICS MiniportDriverCharacteristics,
                                              PNDIS_HANDLE NdisMiniportDriverHandle);
VOID NTAPI NdisMDeregisterMiniportDriver(NDIS_HANDLE NdisMiniportDriverHandle);
NDIS_STATUS NTAPI NdisRegisterProtocolDriver(NDIS_HANDLE ProtocolDriverContext,
                                             PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS ProtocolCharacteristics,
                                             PNDIS_HANDLE NdisProtocolHandle);
VOID NTAPI NdisDeregisterProtocolDriver(NDIS_HANDLE NdisProtocolHandle);
NDIS_STATUS NTAPI NdisMSetMiniportAttributes(NDIS_HANDLE NdisMiniportHandle,
                                             PNDIS_MINIPORT_ADAPTER_ATTRIBUTES MiniportAttributes);
VOID NTAPI NdisMGetDeviceProperty(NDIS_HANDLE MiniportAdapterHandle, PDEVICE_OBJECT *PhysicalDeviceObject,
                                  PDEVICE_OBJECT *FunctionalDeviceObject, PDEVICE_OBJECT *NextDeviceObject,
                                  PCM_RESOURCE_LIST *AllocatedResources, PCM_RESOURCE_LIST *AllocatedResourcesTranslated);
VOID NTAPI NdisMIndicateStatusEx(NDIS_HANDLE MiniportAdapterHandle, PNDIS_STATUS_INDICATION StatusIndication);
VOID __cdecl NdisWriteErrorLogEntry(NDIS_HANDLE NdisAdapterHandle, NDIS_ERROR_CODE ErrorCode,
                                    ULONG NumberOfErrorLogData, ...);

/* memory */
PVOID NTAPI NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag, EX_POOL_PRIORITY Priority);
VOID NTAPI NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags);
VOID NTAPI NdisFreeMemoryWithTagPriority(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, ULONG Tag);
PNDIS_GENERIC_OBJECT NTAPI NdisAllocateGenericObject(PDRIVER_OBJECT DriverObject, ULONG Tag, USHORT Size);
VOID NTAPI NdisFreeGenericObject(PNDIS_GENERIC_OBJECT NdisObject);

/* NET_BUFFER and NET_BUFFER_LIST pools and structures */
NDIS_HANDLE NTAPI NdisAllocateNetBufferListPool(NDIS_HANDLE NdisHandle, PNET_BUFFER_LIST_POOL_PARAMETERS Parameters);
VOID NTAPI NdisFreeNetBufferListPool(NDIS_HANDLE PoolHandle);
NDIS_HANDLE NTAPI NdisAllocateNetBufferPool(NDIS_HANDLE NdisHandle, PNET_BUFFER_POOL_PARAMETERS Parameters);
VOID NTAPI NdisFreeNetBufferPool(NDIS_HANDLE PoolHandle);
PNET_BUFFER_LIST NTAPI NdisAllocateNetBufferAndNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                                             USHORT ContextBackFill, PMDL MdlChain, ULONG DataOffset,
                                                             SIZE_T DataLength);
PNET_BUFFER_LIST NTAPI NdisAllocateNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize, USHORT ContextBackFill);
VOID NTAPI NdisFreeNetBufferList(PNET_BUFFER_LIST NetBufferList);
PNET_BUFFER NTAPI NdisAllocateNetBuffer(NDIS_HANDLE PoolHandle, PMDL MdlChain, ULONG DataOffset, SIZE_T DataLength);
PNET_BUFFER NTAPI NdisAllocateNetBufferMdlAndData(NDIS_HANDLE PoolHandle);
VOID NTAPI NdisFreeNetBuffer(PNET_BUFFER NetBuffer);
PVOID NTAPI NdisGetDataBuffer(PNET_BUFFER NetBuffer, ULONG BytesNeeded, PVOID Storage, UINT AlignMultiple,
                              UINT AlignOffset);
VOID NTAPI NdisMSendNetBufferListsComplete(NDIS_HANDLE MiniportAdapterHandle, PNET_BUFFER_LIST NetBufferList,
                                           ULONG SendCompleteFlags);
VOID NTAPI NdisMIndicateReceiveNetBufferLists(NDIS_HANDLE MiniportAdapterHandle, PNET_BUFFER_LIST NetBufferList,
                                              NDIS_PORT_NUMBER PortNumber, ULONG NumberOfNetBufferLists,
                                              ULONG ReceiveFlags);
