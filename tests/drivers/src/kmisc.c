/*
 * kmisc.c - kernel routines real drivers call in DriverEntry or AddDevice (CH341S64, ImDisk's
 * awealloc, imdisk), checked against Microsoft's documentation:
 *   0xE0000001  IoGetConfigurationInformation: NULL, Version != sizeof, or a count that does not
 *               stick (drivers increment SerialCount when they add a port)
 *   0xE0000002  MmPageEntireDriver did not return this image's base (DriverObject->DriverStart)
 *   0xE0000003  KeSetPriorityThread did not return the previous priority (8 first, then the one set)
 *   0xE0000004  MmAllocatePagesForMdl: NULL, ByteCount != the size asked, a PFN of 0, or two PFNs equal
 *   0xE0000005  the pages mapped with MmMapLockedPagesSpecifyCache(MdlMappingNoExecute) are not zeroed,
 *               or a write through the mapping does not stick
 *   0xE0000006  MmAllocatePagesForMdl accepted a HighAddress below every page
 */
#include "compat.h"

IMPSLOT(PETHREAD, PsGetCurrentThread)(VOID);

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PCONFIGURATION_INFORMATION config = IoGetConfigurationInformation();
    PHYSICAL_ADDRESS low, high, skip;
    PMDL mdl;
    PPFN_NUMBER pfns;
    volatile UCHAR *va;
    ULONG i;
    (void)RegistryPath;

    if (config == NULL || config->Version != sizeof(CONFIGURATION_INFORMATION))
        return HV_FAIL(1);
    config->SerialCount++;
    if (IoGetConfigurationInformation()->SerialCount != 1)
        return HV_FAIL(1);
    MmResetDriverPaging(DriverEntry);
    if (MmPageEntireDriver(DriverEntry) != DriverObject->DriverStart)
        return HV_FAIL(2);
    if (KeSetPriorityThread((PKTHREAD)IMPCALL(PsGetCurrentThread)(), 12) != 8 ||
        KeSetPriorityThread((PKTHREAD)IMPCALL(PsGetCurrentThread)(), 8) != 12)
        return HV_FAIL(3);

    low.QuadPart = 0;
    high.QuadPart = -1;
    skip.QuadPart = 0;
    mdl = MmAllocatePagesForMdl(low, high, skip, 3 * PAGE_SIZE);
    if (mdl == NULL || MmGetMdlByteCount(mdl) != 3 * PAGE_SIZE)
        return HV_FAIL(4);
    pfns = MmGetMdlPfnArray(mdl);
    if (pfns[0] == 0 || pfns[0] == pfns[1] || pfns[1] == pfns[2] || pfns[0] == pfns[2])
        return HV_FAIL(4);
    va = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority | 0x40000000);
    if (va == NULL)
        return HV_FAIL(5);
    for (i = 0; i < 3 * PAGE_SIZE; i += 512)
        if (va[i] != 0)
            return HV_FAIL(5);
    va[PAGE_SIZE + 7] = 0x5A;
    if (va[PAGE_SIZE + 7] != 0x5A)
        return HV_FAIL(5);
    MmUnmapLockedPages((PVOID)va, mdl);
    MmFreePagesFromMdl(mdl);
    ExFreePool(mdl);

    high.QuadPart = 0xFFF;            /* below every page */
    if ((mdl = MmAllocatePagesForMdl(low, high, skip, PAGE_SIZE)) != NULL)
        return HV_FAIL(6);
    return STATUS_SUCCESS;
}
