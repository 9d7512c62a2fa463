/*
 * compat.h - shared header for the test-driver corpus.
 *
 * Pulls in the MinGW-w64 DDK headers (ntifs.h -> ntddk.h -> wdm.h) and adds
 * the few declarations and constants those headers lack or get wrong for a
 * Windows 10/11 x64 target.  Every function declared here is imported from
 * ntoskrnl.exe (dllimport), so call sites compile to
 * `call qword ptr [rip+__imp_X]`.  (MinGW declares a few functions, DbgPrint
 * and memset among them, without dllimport: those calls go through a
 * `jmp qword ptr [rip+__imp_X]` thunk in .text.)  Exports that are missing from MinGW's
 * libntoskrnl.a are listed in ntoskrnl_extra.def; build.sh turns that into an
 * import library with x86_64-w64-mingw32-dlltool.
 *
 * Works with x86_64-w64-mingw32-gcc and with clang --target=x86_64-pc-windows-msvc.
 */
#ifndef HVCI_TEST_COMPAT_H
#define HVCI_TEST_COMPAT_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#ifndef NTDDI_VERSION
#define NTDDI_VERSION 0x0A000000
#endif
#ifndef POOL_TAGGING
#define POOL_TAGGING 1
#endif

#include <ntifs.h>

#define IMPORT __declspec(dllimport)
#define NOINLINE __attribute__((noinline))

/* ---- constants the MinGW headers do not define ------------------------- */

typedef ULONG64 POOL_FLAGS;

#define POOL_FLAG_USE_QUOTA          0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED      0x0000000000000002ULL
#define POOL_FLAG_SESSION            0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED      0x0000000000000008ULL
#define POOL_FLAG_RAISE_ON_FAILURE   0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED          0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE  0x0000000000000080ULL
#define POOL_FLAG_PAGED              0x0000000000000100ULL

#ifndef POOL_NX_ALLOCATION
#define POOL_NX_ALLOCATION 512
#endif
#ifndef POOL_QUOTA_FAIL_INSTEAD_OF_RAISE
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8
#endif

/* Values from the WDK's POOL_TYPE enum, spelled as plain integers so the
 * manifest and the source agree at a glance. */
#define HV_NonPagedPool                 0
#define HV_PagedPool                    1
#define HV_NonPagedPoolCacheAligned     4
#define HV_NonPagedPoolNx               0x200
#define HV_NonPagedPoolNxCacheAligned   0x204

#define HV_MdlMappingNoExecute          0x40000000u

#ifndef MM_ANY_NODE_OK
#define MM_ANY_NODE_OK 0x80000000u
#endif

#ifndef NtCurrentProcess
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#endif

#ifndef NTDDI_WIN8
#define NTDDI_WIN8 0x06020000
#endif

/* ---- functions missing from the MinGW headers --------------------------- */

typedef struct _POOL_EXTENDED_PARAMETER *PCPOOL_EXTENDED_PARAMETER_HV;

IMPORT PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
IMPORT PVOID NTAPI ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                                   PCPOOL_EXTENDED_PARAMETER_HV ExtendedParameters,
                                   ULONG ExtendedParametersCount);
IMPORT PVOID NTAPI MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                  ULONG Protect);
IMPORT PVOID NTAPI MmAllocateContiguousNodeMemory(SIZE_T NumberOfBytes,
                                                  PHYSICAL_ADDRESS LowestAcceptableAddress,
                                                  PHYSICAL_ADDRESS HighestAcceptableAddress,
                                                  PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                                  ULONG Protect,
                                                  NODE_REQUIREMENT PreferredNode);
IMPORT NTSTATUS NTAPI ZwProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                             PSIZE_T RegionSize, ULONG NewProtect,
                                             PULONG OldProtect);
IMPORT NTSTATUS NTAPI NtMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle,
                                         PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                         SIZE_T CommitSize, PLARGE_INTEGER SectionOffset,
                                         PSIZE_T ViewSize, SECTION_INHERIT InheritDisposition,
                                         ULONG AllocationType, ULONG Win32Protect);
IMPORT int __cdecl _snwprintf(wchar_t *Buffer, size_t Count, const wchar_t *Format, ...);

/* MinGW maps ExAllocatePoolWithQuotaTag to ExAllocatePoolWithQuota unless
 * POOL_TAGGING is set before the include, and maps RtlIsNtDdiVersionAvailable
 * to a static-library helper.  We want the real ntoskrnl exports. */
#ifdef ExAllocatePoolWithQuotaTag
#undef ExAllocatePoolWithQuotaTag
#endif
#ifdef RtlIsNtDdiVersionAvailable
#undef RtlIsNtDdiVersionAvailable
#endif
IMPORT BOOLEAN NTAPI RtlIsNtDdiVersionAvailable(ULONG Version);

/*
 * Calling an export through its import slot explicitly.  MinGW implements a
 * few exports (PsGetCurrentThread, KeGetCurrentIrql, ...) as inline functions;
 * IMPCALL(Name) names the IAT slot that the import library defines, so
 * IMPCALL(PsGetCurrentThread)() is `call qword ptr [rip+__imp_PsGetCurrentThread]`.
 */
#define IMPSLOT(type, name) extern type (NTAPI *__imp_##name)
#define IMPCALL(name) (*__imp_##name)

/* Failure codes of the emulation-core checks: customer-defined NTSTATUS
 * values (severity error + customer bit), so they never collide with a real
 * status an emulated export might return.  HV_FAIL(1) == 0xE0000001. */
#define HV_FAIL(n) ((NTSTATUS)(0xE0000000u + (unsigned)(n)))

/* Stringify the driver name passed as -DHV_NAME=xxx, narrow and wide. */
#define HV_STR2(x) #x
#define HV_STR(x) HV_STR2(x)
#define HV_WIDEN2(x) L##x
#define HV_WIDEN(x) HV_WIDEN2(x)
#ifdef HV_NAME
#define HV_NAME_A HV_STR(HV_NAME)
#define HV_NAME_W HV_WIDEN(HV_STR(HV_NAME))
#endif

/* Executable variant by default; -DNX selects the NX twin. */
#ifdef NX
#define PICK(exec_value, nx_value) (nx_value)
#else
#define PICK(exec_value, nx_value) (exec_value)
#endif

/*
 * Every image carries at least one DIR64 base relocation, as MSVC-built
 * drivers always do (GNU ld omits .reloc entirely when nothing needs it).
 * The pointer is 8-byte aligned in .data, so it never straddles a page.
 */
__attribute__((used)) static void *volatile hv_reloc_anchor = (void *)&hv_reloc_anchor;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* ---- dispatcher objects, threads, system information, notifications ----
 * (added for the handlers of issue 7; values from the WDK's wdm.h/ntddk.h
 * and Microsoft's DDI reference where the MinGW headers lack them) */

/* KOBJECTS (wdm.h, Windows 10 numbering) */
#define HV_EventNotificationObject      0
#define HV_EventSynchronizationObject   1
#define HV_MutantObject                 2
#define HV_SemaphoreObject              5
#define HV_ThreadObject                 6
#define HV_TimerNotificationObject      8
#define HV_TimerSynchronizationObject   9
#define HV_DpcObject                    19
#define HV_ThreadedDpcObject            26

/* ZwQuerySystemInformation (documented in the DDI reference; the structures
 * as winternl.h / ntexapi.h lay them out on x64) */
#define HV_SystemBasicInformation           0
#define HV_SystemProcessorInformation       1
#define HV_SystemProcessInformation         5
#define HV_SystemModuleInformation          11
#define HV_SystemKernelDebuggerInformation  35
#define HV_SystemCodeIntegrityInformation   103
#define HV_CODEINTEGRITY_OPTION_ENABLED            0x01
#define HV_CODEINTEGRITY_OPTION_HVCI_KMCI_ENABLED  0x400
#define HV_PROCESSOR_ARCHITECTURE_AMD64     9
#ifndef STATUS_INFO_LENGTH_MISMATCH
#define STATUS_INFO_LENGTH_MISMATCH ((NTSTATUS)0xC0000004L)
#endif
#ifndef STATUS_INVALID_INFO_CLASS
#define STATUS_INVALID_INFO_CLASS ((NTSTATUS)0xC0000003L)
#endif

typedef struct _HV_SYSTEM_BASIC_INFORMATION {
    ULONG Reserved;
    ULONG TimerResolution;
    ULONG PageSize;
    ULONG NumberOfPhysicalPages;
    ULONG LowestPhysicalPageNumber;
    ULONG HighestPhysicalPageNumber;
    ULONG AllocationGranularity;
    ULONG_PTR MinimumUserModeAddress;
    ULONG_PTR MaximumUserModeAddress;
    KAFFINITY ActiveProcessorsAffinityMask;
    CCHAR NumberOfProcessors;
} HV_SYSTEM_BASIC_INFORMATION;

typedef struct _HV_SYSTEM_PROCESSOR_INFORMATION {
    USHORT ProcessorArchitecture;
    USHORT ProcessorLevel;
    USHORT ProcessorRevision;
    USHORT MaximumProcessors;
    ULONG ProcessorFeatureBits;
} HV_SYSTEM_PROCESSOR_INFORMATION;

typedef struct _HV_RTL_PROCESS_MODULE_INFORMATION {
    HANDLE Section;
    PVOID MappedBase;
    PVOID ImageBase;
    ULONG ImageSize;
    ULONG Flags;
    USHORT LoadOrderIndex;
    USHORT InitOrderIndex;
    USHORT LoadCount;
    USHORT OffsetToFileName;
    UCHAR FullPathName[256];
} HV_RTL_PROCESS_MODULE_INFORMATION;

typedef struct _HV_RTL_PROCESS_MODULES {
    ULONG NumberOfModules;
    HV_RTL_PROCESS_MODULE_INFORMATION Modules[1];
} HV_RTL_PROCESS_MODULES;

typedef struct _HV_SYSTEM_PROCESS_INFORMATION {
    ULONG NextEntryOffset;
    ULONG NumberOfThreads;
    UCHAR Reserved1[48];
    UNICODE_STRING ImageName;
    LONG BasePriority;
    HANDLE UniqueProcessId;
    /* ... the rest is not read by the tests */
} HV_SYSTEM_PROCESS_INFORMATION;

typedef struct _HV_SYSTEM_KERNEL_DEBUGGER_INFORMATION {
    BOOLEAN KernelDebuggerEnabled;
    BOOLEAN KernelDebuggerNotPresent;
} HV_SYSTEM_KERNEL_DEBUGGER_INFORMATION;

typedef struct _HV_SYSTEM_CODEINTEGRITY_INFORMATION {
    ULONG Length;
    ULONG CodeIntegrityOptions;
} HV_SYSTEM_CODEINTEGRITY_INFORMATION;

IMPORT NTSTATUS NTAPI ZwQuerySystemInformation(ULONG SystemInformationClass, PVOID SystemInformation,
                                               ULONG SystemInformationLength, PULONG ReturnLength);

/* Object manager and ETW routines the MinGW headers do not declare */
extern IMPORT POBJECT_TYPE *IoDriverObjectType;
extern IMPORT POBJECT_TYPE *IoDeviceObjectType;
IMPORT POBJECT_TYPE NTAPI ObGetObjectType(PVOID Object);
IMPORT NTSTATUS NTAPI ObOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE ObjectType,
                                         KPROCESSOR_MODE AccessMode, PACCESS_STATE AccessState,
                                         ACCESS_MASK DesiredAccess, PVOID ParseContext, PHANDLE Handle);
typedef VOID (NTAPI *HV_ETW_CLASSIC_CALLBACK)(LPCGUID Guid, UCHAR ControlCode, PVOID EnableContext,
                                              PVOID CallbackContext);
IMPORT NTSTATUS NTAPI EtwRegisterClassicProvider(LPCGUID ProviderGuid, ULONG Type,
                                                 HV_ETW_CLASSIC_CALLBACK EnableCallback,
                                                 PVOID CallbackContext, PREGHANDLE RegHandle);
#ifndef STATUS_FLT_INSTANCE_ALTITUDE_COLLISION
#define STATUS_FLT_INSTANCE_ALTITUDE_COLLISION ((NTSTATUS)0xC01C0011L)
#endif

#endif /* HVCI_TEST_COMPAT_H */
