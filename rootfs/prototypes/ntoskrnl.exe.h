/* ntoskrnl.exe: hand-written prototypes for rootfs/make_prototypes.py, for routines that neither
 * mingw-w64's nor Wine's headers declare. Each cites the page it was written from; DDI pages are
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/<header>/nf-<header>-<name in lower case>,
 * cited below as "DDI <header>". Types only passed by address stay incomplete structures.
 */
typedef ULONG64 POOL_FLAGS;
typedef const struct _POOL_EXTENDED_PARAMETER *PCPOOL_EXTENDED_PARAMETER;
typedef ULONG NODE_REQUIREMENT;
typedef ULONG64 TRACEHANDLE;
typedef LONG EX_SPIN_LOCK, *PEX_SPIN_LOCK;
typedef struct _KFLOATING_SAVE *PKFLOATING_SAVE;
typedef struct _DL_EUI48 DL_EUI48;
typedef VOID (NTAPI *PETW_CLASSIC_CALLBACK)(LPCGUID Guid, UCHAR ControlCode, PVOID EnableContext, PVOID CallbackContext);
typedef VOID (NTAPI *PEXPAND_STACK_CALLOUT)(PVOID Parameter);
struct in_addr;
struct in6_addr;

/* DDI wdm: the pool routines of Windows 10 2004 and later */
PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                            PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG ExtendedParametersCount);
VOID NTAPI ExFreePool2(PVOID P, ULONG Tag, PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG ExtendedParametersCount);
PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePoolPriorityZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, EX_POOL_PRIORITY Priority);
PVOID NTAPI ExAllocatePoolPriorityUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                                EX_POOL_PRIORITY Priority);

/* DDI wdm: reader/writer spin locks */
KIRQL NTAPI ExAcquireSpinLockExclusive(PEX_SPIN_LOCK SpinLock);
VOID NTAPI ExAcquireSpinLockExclusiveAtDpcLevel(PEX_SPIN_LOCK SpinLock);
KIRQL NTAPI ExAcquireSpinLockShared(PEX_SPIN_LOCK SpinLock);
VOID NTAPI ExAcquireSpinLockSharedAtDpcLevel(PEX_SPIN_LOCK SpinLock);
VOID NTAPI ExReleaseSpinLockExclusive(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql);
VOID NTAPI ExReleaseSpinLockExclusiveFromDpcLevel(PEX_SPIN_LOCK SpinLock);
VOID NTAPI ExReleaseSpinLockShared(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql);
VOID NTAPI ExReleaseSpinLockSharedFromDpcLevel(PEX_SPIN_LOCK SpinLock);
LOGICAL NTAPI ExTryConvertSharedSpinLockExclusive(PEX_SPIN_LOCK SpinLock);

/* DDI wdm */
PVOID NTAPI MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG Protect);
PVOID NTAPI MmAllocateContiguousNodeMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS LowestAcceptableAddress,
                                           PHYSICAL_ADDRESS HighestAcceptableAddress,
                                           PHYSICAL_ADDRESS BoundaryAddressMultiple, ULONG Protect,
                                           NODE_REQUIREMENT PreferredNode);
NTSTATUS NTAPI KeSaveFloatingPointState(PKFLOATING_SAVE FloatSave);
NTSTATUS NTAPI KeRestoreFloatingPointState(PKFLOATING_SAVE FloatSave);
NTSTATUS NTAPI KeExpandKernelStackAndCalloutEx(PEXPAND_STACK_CALLOUT Callout, PVOID Parameter, SIZE_T Size,
                                               BOOLEAN Wait, PVOID Context);
NTSTATUS NTAPI EtwRegisterClassicProvider(LPCGUID ProviderId, ULONG Type, PETW_CLASSIC_CALLBACK EnableCallback,
                                          PVOID CallbackContext, PREGHANDLE RegHandle);
NTSTATUS WmiTraceMessage(TRACEHANDLE LoggerHandle, ULONG MessageFlags, LPCGUID MessageGuid, USHORT MessageNumber, ...);
NTSTATUS NTAPI WmiTraceMessageVa(TRACEHANDLE LoggerHandle, ULONG MessageFlags, LPCGUID MessageGuid,
                                 USHORT MessageNumber, va_list MessageArgList);
#undef RtlZeroMemory
#undef RtlFillMemory
#undef RtlCopyMemory
#undef RtlMoveMemory
VOID NTAPI RtlZeroMemory(PVOID Destination, SIZE_T Length);
VOID NTAPI RtlFillMemory(PVOID Destination, SIZE_T Length, int Fill);
VOID NTAPI RtlCopyMemory(PVOID Destination, const VOID *Source, SIZE_T Length);
VOID NTAPI RtlMoveMemory(PVOID Destination, const VOID *Source, SIZE_T Length);

/* DDI ntddk */
#undef PsGetCurrentProcess
PEPROCESS NTAPI PsGetCurrentProcess(VOID);

/* https://learn.microsoft.com/en-us/windows/win32/api/ip2string/ (kernel-mode callable, exported by ntoskrnl) */
PSTR NTAPI RtlIpv4AddressToStringA(const struct in_addr *Addr, PSTR S);
PWSTR NTAPI RtlIpv4AddressToStringW(const struct in_addr *Addr, PWSTR S);
NTSTATUS NTAPI RtlIpv4AddressToStringExA(const struct in_addr *Address, USHORT Port, PSTR AddressString,
                                         PULONG AddressStringLength);
NTSTATUS NTAPI RtlIpv4AddressToStringExW(const struct in_addr *Address, USHORT Port, PWSTR AddressString,
                                         PULONG AddressStringLength);
NTSTATUS NTAPI RtlIpv4StringToAddressA(PCSTR S, BOOLEAN Strict, PCSTR *Terminator, struct in_addr *Addr);
NTSTATUS NTAPI RtlIpv4StringToAddressW(PCWSTR S, BOOLEAN Strict, PCWSTR *Terminator, struct in_addr *Addr);
NTSTATUS NTAPI RtlIpv4StringToAddressExA(PCSTR AddressString, BOOLEAN Strict, struct in_addr *Address, PUSHORT Port);
NTSTATUS NTAPI RtlIpv4StringToAddressExW(PCWSTR AddressString, BOOLEAN Strict, struct in_addr *Address, PUSHORT Port);
PSTR NTAPI RtlIpv6AddressToStringA(const struct in6_addr *Addr, PSTR S);
PWSTR NTAPI RtlIpv6AddressToStringW(const struct in6_addr *Addr, PWSTR S);
NTSTATUS NTAPI RtlIpv6AddressToStringExA(const struct in6_addr *Address, ULONG ScopeId, USHORT Port,
                                         PSTR AddressString, PULONG AddressStringLength);
NTSTATUS NTAPI RtlIpv6AddressToStringExW(const struct in6_addr *Address, ULONG ScopeId, USHORT Port,
                                         PWSTR AddressString, PULONG AddressStringLength);
NTSTATUS NTAPI RtlIpv6StringToAddressA(PCSTR S, PCSTR *Terminator, struct in6_addr *Addr);
NTSTATUS NTAPI RtlIpv6StringToAddressW(PCWSTR S, PCWSTR *Terminator, struct in6_addr *Addr);
NTSTATUS NTAPI RtlIpv6StringToAddressExA(PCSTR AddressString, struct in6_addr *Address, PULONG ScopeId, PUSHORT Port);
NTSTATUS NTAPI RtlIpv6StringToAddressExW(PCWSTR AddressString, struct in6_addr *Address, PULONG ScopeId, PUSHORT Port);
PSTR NTAPI RtlEthernetAddressToStringA(const DL_EUI48 *Addr, PSTR S);
PWSTR NTAPI RtlEthernetAddressToStringW(const DL_EUI48 *Addr, PWSTR S);
NTSTATUS NTAPI RtlEthernetStringToAddressA(PCSTR S, PCSTR *Terminator, DL_EUI48 *Addr);
NTSTATUS NTAPI RtlEthernetStringToAddressW(PCWSTR S, PCWSTR *Terminator, DL_EUI48 *Addr);

/* https://learn.microsoft.com/en-us/windows/win32/devnotes/obopenobjectbyname-function */
NTSTATUS NTAPI ObOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE ObjectType,
                                  KPROCESSOR_MODE AccessMode, PACCESS_STATE AccessState, ACCESS_MASK DesiredAccess,
                                  PVOID ParseContext, PHANDLE Handle);

/* The C runtime: https://learn.microsoft.com/en-us/cpp/c-runtime-library/reference/purecall */
int __cdecl _purecall(void);
