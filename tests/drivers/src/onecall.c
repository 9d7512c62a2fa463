/*
 * onecall.c - the "one call" run-time drivers.
 *
 * Build with exactly one -DCASE_xxx, optionally -DNX for the NX twin.
 * DriverEntry calls the interesting export exactly once, at one call site
 * (a `call qword ptr [rip+IAT]`), then frees/unmaps what it got and returns
 * STATUS_SUCCESS.  If a call the driver depends on fails it returns that
 * status (STATUS_INSUFFICIENT_RESOURCES for a NULL allocation) so a broken
 * emulation shows up as a non-zero DriverEntry status.
 *
 * The executable variants are what Driver Verifier's code-integrity option
 * reports as bug check 0xC4 / 0x2000 (pool type), 0x2001 (page protection)
 * or 0x2002 (MDL mapping priority), with Arg2 = return address of the call.
 */
#include "compat.h"

#define ONE_PAGE 0x1000

static VOID NTAPI OneCallUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

/* ------------------------------------------------------------------------ */
#if defined(CASE_NX_OPTIN) || defined(CASE_NX_OPTIN_VER)
/*
 * What POOL_NX_OPTIN does, written out: a driver-global pool type that
 * starts as NonPagedPool and becomes NonPagedPoolNx on Windows 8 and later.
 * The allocation passes the variable, so the pool type depends on the
 * version the emulated kernel reports.
 */
POOL_TYPE HvDefaultNonPagedPoolType = (POOL_TYPE)HV_NonPagedPool;

static NOINLINE VOID HvInitializeDriverRuntime(VOID)
{
#if defined(CASE_NX_OPTIN)
    if (RtlIsNtDdiVersionAvailable(NTDDI_WIN8))
        HvDefaultNonPagedPoolType = (POOL_TYPE)HV_NonPagedPoolNx;
#else
    RTL_OSVERSIONINFOW vi;
    RtlZeroMemory(&vi, sizeof(vi));
    vi.dwOSVersionInfoSize = sizeof(vi);
    if (NT_SUCCESS(RtlGetVersion(&vi)) &&
        (vi.dwMajorVersion > 6 || (vi.dwMajorVersion == 6 && vi.dwMinorVersion >= 2)))
        HvDefaultNonPagedPoolType = (POOL_TYPE)HV_NonPagedPoolNx;
#endif
}
#endif

#if defined(CASE_NPLA)
static NPAGED_LOOKASIDE_LIST g_NPagedList;
#endif
#if defined(CASE_LOOKASIDE_EX)
static LOOKASIDE_LIST_EX g_LookasideEx;
#endif

#if defined(CASE_ZWSECTION) || defined(CASE_NTSECTION) || defined(CASE_ZWMAP) || defined(CASE_NTMAP)
static VOID InitKernelHandleAttributes(POBJECT_ATTRIBUTES Oa)
{
    InitializeObjectAttributes(Oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
}
#endif

#if defined(CASE_MDL_MAP) || defined(CASE_MDL_MAPLOCKED) || defined(CASE_MDL_PROTECT)
#define MDL_TAG 'fBdM' /* "MdBf": the NX buffer the MDL describes */
#endif

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = OneCallUnload;

/* ---- pool -------------------------------------------------------------- */
#if defined(CASE_POOL_TAG)
    /* ExAllocatePoolWithTag(NonPagedPool | NonPagedPoolNx, 0x40, tag) */
    {
        const ULONG tag = PICK('tseT', 'xNtP');
        PVOID p = ExAllocatePoolWithTag((POOL_TYPE)PICK(HV_NonPagedPool, HV_NonPagedPoolNx), 0x40, tag);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }
#elif defined(CASE_POOL)
    /* ExAllocatePool(NonPagedPool | NonPagedPoolNx, 0x40): no tag argument */
    {
        PVOID p = ExAllocatePool((POOL_TYPE)PICK(HV_NonPagedPool, HV_NonPagedPoolNx), 0x40);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePool(p);
    }
#elif defined(CASE_QUOTA_TAG)
    /* ExAllocatePoolWithQuotaTag((NonPagedPool|NonPagedPoolNx) | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, ...) */
    {
        const ULONG tag = PICK('xEtQ', 'xNtQ');
        PVOID p = ExAllocatePoolWithQuotaTag(
            (POOL_TYPE)(PICK(HV_NonPagedPool, HV_NonPagedPoolNx) | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE),
            0x40, tag);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }
#elif defined(CASE_QUOTA)
    /* ExAllocatePoolWithQuota(NonPagedPool | NonPagedPoolNx, 0x40): raises on failure */
    {
        PVOID p = ExAllocatePoolWithQuota((POOL_TYPE)PICK(HV_NonPagedPool, HV_NonPagedPoolNx), 0x40);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePool(p);
    }
#elif defined(CASE_PRIO)
    /* ExAllocatePoolWithTagPriority(..., NormalPoolPriority) */
    {
        const ULONG tag = PICK('xErP', 'xNrP');
        PVOID p = ExAllocatePoolWithTagPriority((POOL_TYPE)PICK(HV_NonPagedPool, HV_NonPagedPoolNx),
                                                0x40, tag, NormalPoolPriority);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }
#elif defined(CASE_POOL2)
    /* ExAllocatePool2(POOL_FLAG_NON_PAGED_EXECUTE (0x80) | POOL_FLAG_NON_PAGED (0x40), 0x40, tag) */
    {
        const ULONG tag = PICK('xE2P', 'xN2P');
        PVOID p = ExAllocatePool2(PICK(POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_NON_PAGED), 0x40, tag);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }
#elif defined(CASE_POOL3)
    /* ExAllocatePool3(flags, 0x40, tag, NULL, 0) */
    {
        const ULONG tag = PICK('xE3P', 'xN3P');
        PVOID p = ExAllocatePool3(PICK(POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_NON_PAGED), 0x40, tag,
                                  NULL, 0);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }
#elif defined(CASE_CACHE)
    /* NonPagedPoolCacheAligned (4) | NonPagedPoolNxCacheAligned (0x204) */
    {
        const ULONG tag = PICK('xEaC', 'xNaC');
        PVOID p = ExAllocatePoolWithTag((POOL_TYPE)PICK(HV_NonPagedPoolCacheAligned,
                                                        HV_NonPagedPoolNxCacheAligned),
                                        0x40, tag);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }
#elif defined(CASE_PAGED)
    /* PagedPool (1) is NX on x64: no finding */
    {
        PVOID p = ExAllocatePoolWithTag((POOL_TYPE)HV_PagedPool, 0x40, 'egaP');
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, 'egaP');
    }
#elif defined(CASE_NPLA)
    /* ExInitializeNPagedLookasideList(Flags 0 | POOL_NX_ALLOCATION): the finding is at Initialize */
    {
        const ULONG tag = PICK('xElN', 'xNlN');
        PVOID p;
        ExInitializeNPagedLookasideList(&g_NPagedList, NULL, NULL, PICK(0, POOL_NX_ALLOCATION),
                                        0x40, tag, 0);
        p = ExAllocateFromNPagedLookasideList(&g_NPagedList);
        if (p != NULL)
            ExFreeToNPagedLookasideList(&g_NPagedList, p);
        ExDeleteNPagedLookasideList(&g_NPagedList);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
#elif defined(CASE_LOOKASIDE_EX)
    /* ExInitializeLookasideListEx(PoolType NonPagedPool | NonPagedPoolNx) */
    {
        const ULONG tag = PICK('xExL', 'xNxL');
        PVOID p;
        NTSTATUS st = ExInitializeLookasideListEx(&g_LookasideEx, NULL, NULL,
                                                  (POOL_TYPE)PICK(HV_NonPagedPool, HV_NonPagedPoolNx),
                                                  0, 0x40, tag, 0);
        if (!NT_SUCCESS(st))
            return st;
        p = ExAllocateFromLookasideListEx(&g_LookasideEx);
        if (p != NULL)
            ExFreeToLookasideListEx(&g_LookasideEx, p);
        ExDeleteLookasideListEx(&g_LookasideEx);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
#elif defined(CASE_NX_OPTIN) || defined(CASE_NX_OPTIN_VER)
    {
#if defined(CASE_NX_OPTIN)
        const ULONG tag = 'pOxN';
#else
        const ULONG tag = 'rVxN';
#endif
        PVOID p;
        HvInitializeDriverRuntime();
        p = ExAllocatePoolWithTag(HvDefaultNonPagedPoolType, 0x40, tag);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        ExFreePoolWithTag(p, tag);
    }

/* ---- MDL mappings ------------------------------------------------------- */
#elif defined(CASE_MDL_MAP) || defined(CASE_MDL_MAPLOCKED) || defined(CASE_MDL_PROTECT)
    {
        PVOID buf, va;
        PMDL mdl;
        NTSTATUS st = STATUS_SUCCESS;

        buf = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPoolNx, ONE_PAGE, MDL_TAG);
        if (buf == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        mdl = IoAllocateMdl(buf, ONE_PAGE, FALSE, FALSE, NULL);
        if (mdl == NULL) {
            ExFreePoolWithTag(buf, MDL_TAG);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        MmBuildMdlForNonPagedPool(mdl);
#if defined(CASE_MDL_MAP)
        /* Priority NormalPagePriority (16) | NormalPagePriority|MdlMappingNoExecute (0x40000010) */
        va = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE,
                                          (MM_PAGE_PRIORITY)PICK(NormalPagePriority,
                                                                 NormalPagePriority | HV_MdlMappingNoExecute));
#elif defined(CASE_MDL_MAPLOCKED)
        /* MmMapLockedPages has no priority argument: a KernelMode mapping is always executable.
         * The twin maps for UserMode, which is no executable system-space mapping. */
        va = MmMapLockedPages(mdl, PICK(KernelMode, UserMode));
#else
        /* NX mapping first (no finding), then change its protection */
        va = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE,
                                          (MM_PAGE_PRIORITY)(NormalPagePriority | HV_MdlMappingNoExecute));
        if (va != NULL)
            st = MmProtectMdlSystemAddress(mdl, PICK(PAGE_EXECUTE_READ, PAGE_READONLY));
#endif
        if (va == NULL)
            st = STATUS_INSUFFICIENT_RESOURCES;
        else
            MmUnmapLockedPages(va, mdl);
        IoFreeMdl(mdl);
        ExFreePoolWithTag(buf, MDL_TAG);
        if (!NT_SUCCESS(st))
            return st;
    }

/* ---- I/O space and contiguous memory ------------------------------------ */
#elif defined(CASE_IOSPACE_EX)
    {
        PHYSICAL_ADDRESS pa;
        PVOID va;
        pa.QuadPart = 0xFED00000; /* HPET registers */
        va = MmMapIoSpaceEx(pa, ONE_PAGE, PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE | PAGE_NOCACHE));
        if (va == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        MmUnmapIoSpace(va, ONE_PAGE);
    }
#elif defined(CASE_IOSPACE)
    {
        PHYSICAL_ADDRESS pa;
        PVOID va;
        pa.QuadPart = 0xFED00000;
        va = MmMapIoSpace(pa, ONE_PAGE, MmNonCached);
        if (va == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        MmUnmapIoSpace(va, ONE_PAGE);
    }
#elif defined(CASE_CONTIG_NODE)
    {
        PHYSICAL_ADDRESS lowest, highest, boundary;
        PVOID p;
        lowest.QuadPart = 0;
        highest.QuadPart = -1;
        boundary.QuadPart = 0;
        p = MmAllocateContiguousNodeMemory(ONE_PAGE, lowest, highest, boundary,
                                           PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE), MM_ANY_NODE_OK);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        MmFreeContiguousMemory(p);
    }
#elif defined(CASE_CONTIG)
    {
        PHYSICAL_ADDRESS highest;
        PVOID p;
        highest.QuadPart = -1;
        p = MmAllocateContiguousMemory(ONE_PAGE, highest);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        MmFreeContiguousMemory(p);
    }
#elif defined(CASE_CONTIG_CACHE)
    {
        PHYSICAL_ADDRESS lowest, highest, boundary;
        PVOID p;
        lowest.QuadPart = 0;
        highest.QuadPart = -1;
        boundary.QuadPart = 0;
        p = MmAllocateContiguousMemorySpecifyCache(ONE_PAGE, lowest, highest, boundary, MmCached);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        MmFreeContiguousMemorySpecifyCache(p, ONE_PAGE, MmCached);
    }
#elif defined(CASE_CONTIG_CACHE_NODE)
    {
        PHYSICAL_ADDRESS lowest, highest, boundary;
        PVOID p;
        lowest.QuadPart = 0;
        highest.QuadPart = -1;
        boundary.QuadPart = 0;
        p = MmAllocateContiguousMemorySpecifyCacheNode(ONE_PAGE, lowest, highest, boundary, MmCached,
                                                       MM_ANY_NODE_OK);
        if (p == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        MmFreeContiguousMemorySpecifyCache(p, ONE_PAGE, MmCached);
    }

/* ---- virtual memory and sections ---------------------------------------- */
#elif defined(CASE_ZWALLOC) || defined(CASE_ZWPROTECT)
    {
        PVOID base = NULL;
        SIZE_T size = ONE_PAGE;
        NTSTATUS st;
#if defined(CASE_ZWALLOC)
        st = ZwAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size, MEM_COMMIT | MEM_RESERVE,
                                     PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE));
        if (!NT_SUCCESS(st))
            return st;
#else
        ULONG oldProtect = 0;
        st = ZwAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size, MEM_COMMIT | MEM_RESERVE,
                                     PAGE_READWRITE);
        if (!NT_SUCCESS(st))
            return st;
        st = ZwProtectVirtualMemory(NtCurrentProcess(), &base, &size,
                                    PICK(PAGE_EXECUTE_READ, PAGE_READONLY), &oldProtect);
#endif
        size = 0;
        ZwFreeVirtualMemory(NtCurrentProcess(), &base, &size, MEM_RELEASE);
        if (!NT_SUCCESS(st))
            return st;
    }
#elif defined(CASE_ZWSECTION) || defined(CASE_NTSECTION)
    {
        OBJECT_ATTRIBUTES oa;
        LARGE_INTEGER maxSize;
        HANDLE section = NULL;
        NTSTATUS st;
        InitKernelHandleAttributes(&oa);
        maxSize.QuadPart = ONE_PAGE;
#if defined(CASE_ZWSECTION)
        st = ZwCreateSection(&section, SECTION_ALL_ACCESS, &oa, &maxSize,
                             PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE), SEC_COMMIT, NULL);
#else
        st = NtCreateSection(&section, SECTION_ALL_ACCESS, &oa, &maxSize,
                             PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE), SEC_COMMIT, NULL);
#endif
        if (!NT_SUCCESS(st))
            return st;
        ZwClose(section);
    }
#elif defined(CASE_ZWMAP) || defined(CASE_NTMAP)
    {
        OBJECT_ATTRIBUTES oa;
        LARGE_INTEGER maxSize;
        HANDLE section = NULL;
        PVOID base = NULL;
        SIZE_T viewSize = 0;
        NTSTATUS st;
        InitKernelHandleAttributes(&oa);
        maxSize.QuadPart = ONE_PAGE;
        /* An NX (PAGE_READWRITE) section: creating it is not a finding. */
        st = ZwCreateSection(&section, SECTION_ALL_ACCESS, &oa, &maxSize, PAGE_READWRITE, SEC_COMMIT, NULL);
        if (!NT_SUCCESS(st))
            return st;
#if defined(CASE_ZWMAP)
        st = ZwMapViewOfSection(section, NtCurrentProcess(), &base, 0, 0, NULL, &viewSize, ViewUnmap, 0,
                                PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE));
#else
        st = NtMapViewOfSection(section, NtCurrentProcess(), &base, 0, 0, NULL, &viewSize, ViewUnmap, 0,
                                PICK(PAGE_EXECUTE_READWRITE, PAGE_READWRITE));
#endif
        if (NT_SUCCESS(st))
            ZwUnmapViewOfSection(NtCurrentProcess(), base);
        ZwClose(section);
#if defined(NX)
        if (!NT_SUCCESS(st))
            return st;
#else
        /* Without the verifier, Windows refuses an executable view of a
         * PAGE_READWRITE section (STATUS_SECTION_PROTECTION); that failure
         * is expected and not reported. */
#endif
    }
#else
#error "onecall.c: define one CASE_xxx"
#endif
    return STATUS_SUCCESS;
}
