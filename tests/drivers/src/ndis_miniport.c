/*
 * ndis_miniport.c - what an NDIS 6 miniport's DriverEntry does (wintun and WireGuard do the same):
 * ask the NDIS version, register the miniport, set up NET_BUFFER_LIST and NET_BUFFER pools, generic
 * objects and pool memory; plus a protocol registration.  Statuses are those of Microsoft's
 * ndis.h reference.
 *
 * DriverEntry returns (first failure wins):
 *   0xE0000001  NdisGetVersion's major version (high 16 bits) is not 6
 *   0xE0000002  NdisMRegisterMiniportDriver accepted a header whose Type is not
 *               NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS (NDIS_STATUS_BAD_CHARACTERISTICS)
 *   0xE0000003  ... a revision-2 header with the revision-1 size (NDIS_STATUS_BAD_CHARACTERISTICS)
 *   0xE0000004  ... NDIS version 5.1, or 6.99, which no NDIS implements (NDIS_STATUS_BAD_VERSION)
 *   0xE0000005  a valid NDIS 6.30 revision-2 registration failed or gave no handle
 *   0xE0000006  NdisAllocateNetBufferListPool with valid parameters gave NULL
 *   0xE0000007  NdisAllocateNetBufferListPool with a wrong header type did not give NULL
 *   0xE0000008  NdisAllocateNetBufferPool with valid parameters gave NULL
 *   0xE0000009  NdisAllocateGenericObject gave NULL or an object not naming this DriverObject
 *   0xE000000A  NdisAllocateMemoryWithTagPriority gave NULL
 *   0xE000000B  NdisRegisterProtocolDriver failed or gave no handle
 *
 * Exported: NdisVersion (what NdisGetVersion returned), MiniportUnload (the UnloadHandler, which
 * frees the pools and deregisters the miniport).  The protocol stays registered.
 */
#include "ndis6.h"

__declspec(dllexport) ULONG NdisVersion;
static NDIS_HANDLE g_Miniport, g_ListPool, g_BufferPool;

static void MiniportHandler(void)
{
}

__declspec(dllexport) VOID NTAPI MiniportUnload(PDRIVER_OBJECT DriverObject)
{
    NdisFreeNetBufferPool(g_BufferPool);
    NdisFreeNetBufferListPool(g_ListPool);
    NdisMDeregisterMiniportDriver(g_Miniport);
}

static NTSTATUS Register(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS chars;
    NDIS_HANDLE handle = NULL;

    RtlZeroMemory(&chars, sizeof(chars));
    chars.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    chars.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    chars.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    chars.MajorNdisVersion = 6;
    chars.MinorNdisVersion = 30;
    chars.InitializeHandlerEx = chars.HaltHandlerEx = chars.PauseHandler = chars.RestartHandler =
        chars.OidRequestHandler = chars.SendNetBufferListsHandler = chars.ReturnNetBufferListsHandler =
        chars.CancelSendHandler = chars.DevicePnPEventNotifyHandler = chars.ShutdownHandlerEx =
        chars.CancelOidRequestHandler = MiniportHandler;
    chars.UnloadHandler = MiniportUnload;
    if (NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &chars, &handle) !=
            NDIS_STATUS_BAD_CHARACTERISTICS)
        return HV_FAIL(2);
    chars.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    chars.Header.Size = FIELD_OFFSET(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, DirectOidRequestHandler);
    if (NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &chars, &handle) !=
            NDIS_STATUS_BAD_CHARACTERISTICS)
        return HV_FAIL(3);
    chars.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    chars.MajorNdisVersion = 5;
    chars.MinorNdisVersion = 1;
    if (NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &chars, &handle) != NDIS_STATUS_BAD_VERSION)
        return HV_FAIL(4);
    chars.MajorNdisVersion = 6;
    chars.MinorNdisVersion = 99;
    if (NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &chars, &handle) != NDIS_STATUS_BAD_VERSION)
        return HV_FAIL(4);
    chars.MinorNdisVersion = 30;
    if (NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &chars, &handle) != NDIS_STATUS_SUCCESS ||
        handle == NULL)
        return HV_FAIL(5);
    g_Miniport = handle;
    return STATUS_SUCCESS;
}

static NTSTATUS Pools(void)
{
    NET_BUFFER_LIST_POOL_PARAMETERS lists;
    NET_BUFFER_POOL_PARAMETERS buffers;

    RtlZeroMemory(&lists, sizeof(lists));
    lists.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    lists.Header.Revision = NDIS_OBJECT_REVISION_1;
    lists.Header.Size = sizeof(lists);
    lists.fAllocateNetBuffer = TRUE;
    lists.PoolTag = 'lbNT';
    if ((g_ListPool = NdisAllocateNetBufferListPool(g_Miniport, &lists)) == NULL)
        return HV_FAIL(6);
    lists.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    if (NdisAllocateNetBufferListPool(g_Miniport, &lists) != NULL)
        return HV_FAIL(7);
    RtlZeroMemory(&buffers, sizeof(buffers));
    buffers.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    buffers.Header.Revision = NDIS_OBJECT_REVISION_1;
    buffers.Header.Size = sizeof(buffers);
    buffers.PoolTag = 'bnNT';
    if ((g_BufferPool = NdisAllocateNetBufferPool(g_Miniport, &buffers)) == NULL)
        return HV_FAIL(8);
    return STATUS_SUCCESS;
}

static NTSTATUS Memory(PDRIVER_OBJECT DriverObject)
{
    PNDIS_GENERIC_OBJECT object = NdisAllocateGenericObject(DriverObject, 'jbOT', 32);
    PUCHAR block;

    if (object == NULL || object->DriverObject != DriverObject)
        return HV_FAIL(9);
    RtlFillMemory(object + 1, 32, 0xA5);             /* the caller's 32 bytes follow the object */
    NdisFreeGenericObject(object);
    block = NdisAllocateMemoryWithTagPriority(g_Miniport, 64, 'meMT', NormalPoolPriority);
    if (block == NULL)
        return HV_FAIL(10);
    RtlFillMemory(block, 64, 0x5A);
    NdisFreeMemory(block, 64, 0);
    return STATUS_SUCCESS;
}

static NTSTATUS Protocol(void)
{
    static NDIS_PROTOCOL_DRIVER_CHARACTERISTICS chars;
    NDIS_HANDLE handle = NULL;

    chars.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    chars.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    chars.Header.Size = sizeof(chars);
    chars.MajorNdisVersion = 6;
    chars.MinorNdisVersion = 0;
    RtlInitUnicodeString(&chars.Name, L"HVNDISPROT");
    if (NdisRegisterProtocolDriver(NULL, &chars, &handle) != NDIS_STATUS_SUCCESS || handle == NULL)
        return HV_FAIL(11);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    NdisVersion = NdisGetVersion();
    if ((NdisVersion >> 16) != 6)
        return HV_FAIL(1);
    if (!NT_SUCCESS(st = Register(DriverObject, RegistryPath)) || !NT_SUCCESS(st = Pools()) ||
        !NT_SUCCESS(st = Memory(DriverObject)) || !NT_SUCCESS(st = Protocol()))
        return st;
    return STATUS_SUCCESS;
}
