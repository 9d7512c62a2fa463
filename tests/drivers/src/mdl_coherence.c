/*
 * mdl_coherence.c - a second (NX) mapping of pool memory through an MDL must
 * alias the same physical pages as the pool address.
 *
 *   ExAllocatePoolWithTag(NonPagedPoolNx, 0x2000) -> IoAllocateMdl ->
 *   MmBuildMdlForNonPagedPool -> MmMapLockedPagesSpecifyCache(KernelMode,
 *   MmCached, NULL, FALSE, NormalPagePriority | MdlMappingNoExecute)
 *
 * then writes through the mapping and reads through the pool address, and
 * the other way round, on both pages.  No code-integrity finding expected.
 *
 * Return values (first failure wins):
 *   0xE0000001  pool allocation failed
 *   0xE0000002  IoAllocateMdl failed or the MDL does not describe the buffer
 *               (ByteCount != 0x2000, StartVa/ByteOffset wrong)
 *   0xE0000003  after MmBuildMdlForNonPagedPool: MDL_SOURCE_IS_NONPAGED_POOL
 *               missing or MappedSystemVa != the pool address
 *   0xE0000004  the MDL's PFN array disagrees with MmGetPhysicalAddress
 *   0xE0000005  MmMapLockedPagesSpecifyCache returned NULL
 *   0xE0000006  MmGetPhysicalAddress differs between the two addresses
 *   0xE0000007  a write through the mapping is not visible through the pool address
 *   0xE0000008  a write through the pool address is not visible through the mapping
 */
#include "compat.h"

#define SIZE 0x2000
#define TAG 'oCdM' /* "MdCo" */

static NOINLINE NTSTATUS Check(PUCHAR pool, PMDL mdl, volatile UCHAR *map)
{
    PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
    ULONG page, off;

    for (page = 0; page < SIZE / PAGE_SIZE; page++) {
        PHYSICAL_ADDRESS a = MmGetPhysicalAddress(pool + page * PAGE_SIZE);
        PHYSICAL_ADDRESS b = MmGetPhysicalAddress((PVOID)(map + page * PAGE_SIZE));
        if ((ULONG64)(a.QuadPart >> PAGE_SHIFT) != (ULONG64)pfns[page])
            return HV_FAIL(4);
        if (a.QuadPart != b.QuadPart)
            return HV_FAIL(6);
    }
    for (off = 0; off < SIZE; off += 0x7F3) {
        map[off] = (UCHAR)(0xA0 ^ off);
        if (((volatile UCHAR *)pool)[off] != (UCHAR)(0xA0 ^ off))
            return HV_FAIL(7);
        ((volatile UCHAR *)pool)[off + 1] = (UCHAR)(0x5C ^ off);
        if (map[off + 1] != (UCHAR)(0x5C ^ off))
            return HV_FAIL(8);
    }
    /* the last byte of the second page, both directions */
    map[SIZE - 1] = 0xE7;
    if (((volatile UCHAR *)pool)[SIZE - 1] != 0xE7)
        return HV_FAIL(7);
    ((volatile UCHAR *)pool)[SIZE - 1] = 0x7E;
    if (map[SIZE - 1] != 0x7E)
        return HV_FAIL(8);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PUCHAR pool;
    PMDL mdl;
    PVOID map;
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    pool = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPoolNx, SIZE, TAG);
    if (pool == NULL)
        return HV_FAIL(1);
    mdl = IoAllocateMdl(pool, SIZE, FALSE, FALSE, NULL);
    if (mdl == NULL) {
        ExFreePoolWithTag(pool, TAG);
        return HV_FAIL(2);
    }
    if (MmGetMdlByteCount(mdl) != SIZE || MmGetMdlVirtualAddress(mdl) != pool) {
        st = HV_FAIL(2);
        goto free_mdl;
    }
    MmBuildMdlForNonPagedPool(mdl);
    if ((mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) == 0 || mdl->MappedSystemVa != pool) {
        st = HV_FAIL(3);
        goto free_mdl;
    }

    map = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE,
                                       (MM_PAGE_PRIORITY)(NormalPagePriority | HV_MdlMappingNoExecute));
    if (map == NULL) {
        st = HV_FAIL(5);
        goto free_mdl;
    }
    DbgPrint("mdl_coherence: pool=%p mapping=%p\n", pool, map);
    st = Check(pool, mdl, (volatile UCHAR *)map);
    MmUnmapLockedPages(map, mdl);

free_mdl:
    IoFreeMdl(mdl);
    ExFreePoolWithTag(pool, TAG);
    if (st == STATUS_SUCCESS)
        DbgPrint("mdl_coherence: ok\n");
    return st;
}
