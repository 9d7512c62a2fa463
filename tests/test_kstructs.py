"""Pin hooks.kstructs to x64 sizes and offsets obtained independently of the module.

Unless a comment says otherwise, each number below was produced by the C compiler, not typed in
from memory: a probe file of ``sizeof``/``__builtin_offsetof`` operands was compiled with
``x86_64-w64-mingw32-gcc 12 -S -I/usr/x86_64-w64-mingw32/include/ddk -DNTDDI_VERSION=0x0A000000``
(mingw-w64 10.0.0 headers: ddk/ntddk.h + ddk/wdm.h, and winternl.h for LDR_DATA_TABLE_ENTRY),
each value emitted as an assembler immediate and read back from the .s file.

Values the mingw headers cannot give, because they lack the structure or predate the member,
are marked ``# published:`` with their source: the Windows Kits (WDK 10) headers, including the
C_ASSERT block that follows KUSER_SHARED_DATA, and public-symbol dumps of _KPCR/_KPRCB
(Vergilius Project).
"""
from __future__ import annotations

import ctypes

import pytest

from hooks import kstructs as ks
from hooks.kstructs import offset_of

# name -> (sizeof, {field path: offset})
LAYOUTS: dict[str, tuple[int, dict[str, int]]] = {
    "UNICODE_STRING": (0x10, {"Length": 0x0, "MaximumLength": 0x2, "Buffer": 0x8}),
    "STRING": (0x10, {"Length": 0x0, "MaximumLength": 0x2, "Buffer": 0x8}),
    "ANSI_STRING": (0x10, {"Buffer": 0x8}),
    "LIST_ENTRY": (0x10, {"Flink": 0x0, "Blink": 0x8}),
    "SINGLE_LIST_ENTRY": (0x8, {"Next": 0x0}),
    "SLIST_HEADER": (0x10, {"Alignment": 0x0, "Region": 0x8, "HeaderX64": 0x0}),
    "CLIENT_ID": (0x10, {"UniqueProcess": 0x0, "UniqueThread": 0x8}),
    "KSYSTEM_TIME": (0xC, {"LowPart": 0x0, "High1Time": 0x4, "High2Time": 0x8}),
    "DISPATCHER_HEADER": (0x18, {
        "Type": 0x0, "Lock": 0x0, "Signalling": 0x1, "Size": 0x2, "DpcActive": 0x3,
        "SignalState": 0x4, "WaitListHead": 0x8,
    }),
    "KEVENT": (0x18, {"Header": 0x0, "Header.SignalState": 0x4}),
    "KSEMAPHORE": (0x20, {"Header": 0x0, "Limit": 0x18}),
    "KMUTANT": (0x38, {
        "MutantListEntry": 0x18, "OwnerThread": 0x28, "Abandoned": 0x30, "ApcDisable": 0x31,
    }),
    "KMUTEX": (0x38, {"OwnerThread": 0x28}),
    "KDPC": (0x40, {
        "Type": 0x0, "Importance": 0x1, "Number": 0x2, "DpcListEntry": 0x8,
        "ProcessorHistory": 0x10,            # published: WDK 10 wdm.h (Win8+ KDPC)
        "DeferredRoutine": 0x18, "DeferredContext": 0x20, "SystemArgument1": 0x28,
        "SystemArgument2": 0x30, "DpcData": 0x38,
    }),
    "KTIMER": (0x40, {
        "DueTime": 0x18, "TimerListEntry": 0x20, "Dpc": 0x30, "Processor": 0x38, "Period": 0x3C,
    }),
    "KAPC": (0x58, {
        "Size": 0x2, "Thread": 0x8, "ApcListEntry": 0x10, "KernelRoutine": 0x20,
        "RundownRoutine": 0x28, "NormalRoutine": 0x30, "NormalContext": 0x38,
        "SystemArgument1": 0x40, "SystemArgument2": 0x48, "ApcStateIndex": 0x50,
        "ApcMode": 0x51, "Inserted": 0x52,
    }),
    "KDEVICE_QUEUE": (0x28, {"DeviceListHead": 0x8, "Lock": 0x18, "Busy": 0x20}),
    "KDEVICE_QUEUE_ENTRY": (0x18, {"DeviceListEntry": 0x0, "SortKey": 0x10, "Inserted": 0x14}),
    "OWNER_ENTRY": (0x10, {"OwnerThread": 0x0, "TableSize": 0x8}),
    "ERESOURCE": (0x68, {
        "OwnerTable": 0x10, "ActiveCount": 0x18, "Flag": 0x1A, "SharedWaiters": 0x20,
        "ExclusiveWaiters": 0x28, "OwnerEntry": 0x30, "ActiveEntries": 0x40,
        "NumberOfExclusiveWaiters": 0x4C, "Reserved2": 0x50, "Address": 0x58, "SpinLock": 0x60,
    }),
    "FAST_MUTEX": (0x38, {
        "Count": 0x0, "Owner": 0x8, "Contention": 0x10, "Event": 0x18, "OldIrql": 0x30,
    }),
    # published: not in the mingw headers; pointer-sized union per public symbols (_EX_PUSH_LOCK).
    "EX_PUSH_LOCK": (0x8, {"Value": 0x0, "Ptr": 0x0}),
    "IO_STATUS_BLOCK": (0x10, {"Status": 0x0, "Pointer": 0x0, "Information": 0x8}),
    "OBJECT_ATTRIBUTES": (0x30, {
        "RootDirectory": 0x8, "ObjectName": 0x10, "Attributes": 0x18,
        "SecurityDescriptor": 0x20, "SecurityQualityOfService": 0x28,
    }),
    "DRIVER_EXTENSION": (0x28, {"AddDevice": 0x8, "Count": 0x10, "ServiceKeyName": 0x18}),
    "DRIVER_OBJECT": (0x150, {
        "DeviceObject": 0x8, "Flags": 0x10, "DriverStart": 0x18, "DriverSize": 0x20,
        "DriverSection": 0x28, "DriverExtension": 0x30, "DriverName": 0x38,
        "HardwareDatabase": 0x48, "FastIoDispatch": 0x50, "DriverInit": 0x58,
        "DriverStartIo": 0x60, "DriverUnload": 0x68, "MajorFunction": 0x70,
        "MajorFunction[14]": 0xE0,           # IRP_MJ_DEVICE_CONTROL
    }),
    "WAIT_CONTEXT_BLOCK": (0x48, {"CurrentIrp": 0x38}),
    # mingw gives 0x148: its DEVICE_OBJECT lacks the WDK's
    # DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT).
    # published: WDK wdm.h declares that 16-byte alignment, so sizeof is 0x150 on x64.
    "DEVICE_OBJECT": (0x150, {
        "ReferenceCount": 0x4, "DriverObject": 0x8, "NextDevice": 0x10, "AttachedDevice": 0x18,
        "CurrentIrp": 0x20, "Timer": 0x28, "Flags": 0x30, "Characteristics": 0x34, "Vpb": 0x38,
        "DeviceExtension": 0x40, "DeviceType": 0x48, "StackSize": 0x4C, "Queue": 0x50,
        "Queue.Wcb.CurrentIrp": 0x88, "AlignmentRequirement": 0x98, "DeviceQueue": 0xA0,
        "Dpc": 0xC8, "ActiveThreadCount": 0x108, "SecurityDescriptor": 0x110,
        "DeviceLock": 0x118, "SectorSize": 0x130, "Spare1": 0x132,
        "DeviceObjectExtension": 0x138, "Reserved": 0x140,
    }),
    "DEVOBJ_EXTENSION": (0x10, {"Type": 0x0, "Size": 0x2, "DeviceObject": 0x8}),
    "FAST_IO_DISPATCH": (0xE0, {
        "FastIoCheckIfPossible": 0x8, "FastIoDeviceControl": 0x50, "FastIoQueryOpen": 0xC0,
        "ReleaseForCcFlush": 0xD8,
    }),
    "IRP": (0xD0, {
        "AllocationProcessorNumber": 0x4,    # published: WDK 10 wdm.h (padding in mingw)
        "MdlAddress": 0x8, "Flags": 0x10, "AssociatedIrp": 0x18,
        "AssociatedIrp.SystemBuffer": 0x18, "AssociatedIrp.MasterIrp": 0x18,
        "ThreadListEntry": 0x20, "IoStatus": 0x30, "IoStatus.Information": 0x38,
        "RequestorMode": 0x40, "PendingReturned": 0x41, "StackCount": 0x42,
        "CurrentLocation": 0x43, "Cancel": 0x44, "CancelIrql": 0x45, "ApcEnvironment": 0x46,
        "AllocationFlags": 0x47, "UserIosb": 0x48, "UserEvent": 0x50, "Overlay": 0x58,
        "Overlay.AsynchronousParameters.UserApcContext": 0x60, "CancelRoutine": 0x68,
        "UserBuffer": 0x70, "Tail": 0x78, "Tail.Overlay.DeviceQueueEntry": 0x78,
        "Tail.Overlay.DriverContext": 0x78, "Tail.Overlay.Thread": 0x98,
        "Tail.Overlay.AuxiliaryBuffer": 0xA0, "Tail.Overlay.ListEntry": 0xA8,
        "Tail.Overlay.CurrentStackLocation": 0xB8, "Tail.Overlay.PacketType": 0xB8,
        "Tail.Overlay.OriginalFileObject": 0xC0, "Tail.Apc": 0x78, "Tail.CompletionKey": 0x78,
    }),
    "IO_STACK_LOCATION": (0x48, {
        "MajorFunction": 0x0, "MinorFunction": 0x1, "Flags": 0x2, "Control": 0x3,
        "Parameters": 0x8,
        "Parameters.Create.SecurityContext": 0x8, "Parameters.Create.Options": 0x10,
        "Parameters.Create.FileAttributes": 0x18, "Parameters.Create.ShareAccess": 0x1A,
        "Parameters.Create.EaLength": 0x20,
        "Parameters.Read.Length": 0x8, "Parameters.Read.Key": 0x10,
        "Parameters.Read.Flags": 0x14, "Parameters.Read.ByteOffset": 0x18,
        "Parameters.Write.Length": 0x8, "Parameters.Write.Key": 0x10,
        "Parameters.Write.ByteOffset": 0x18,
        "Parameters.DeviceIoControl.OutputBufferLength": 0x8,
        "Parameters.DeviceIoControl.InputBufferLength": 0x10,
        "Parameters.DeviceIoControl.IoControlCode": 0x18,
        "Parameters.DeviceIoControl.Type3InputBuffer": 0x20,
        "Parameters.FileSystemControl.FsControlCode": 0x18,
        "Parameters.FileSystemControl.Type3InputBuffer": 0x20,
        "Parameters.QueryFile.Length": 0x8, "Parameters.QueryFile.FileInformationClass": 0x10,
        "Parameters.SetFile.FileInformationClass": 0x10, "Parameters.SetFile.FileObject": 0x18,
        "Parameters.SetFile.DeleteHandle": 0x20,
        "Parameters.QueryDirectory.FileName": 0x10,
        "Parameters.QueryDirectory.FileInformationClass": 0x18,
        "Parameters.QueryDirectory.FileIndex": 0x20,
        "Parameters.QueryVolume.FsInformationClass": 0x10,
        "Parameters.LockControl.Key": 0x10, "Parameters.LockControl.ByteOffset": 0x18,
        "Parameters.QuerySecurity.Length": 0x10,
        "Parameters.SetSecurity.SecurityDescriptor": 0x10,
        "Parameters.MountVolume.DeviceObject": 0x10,
        "Parameters.QueryInterface.Size": 0x10, "Parameters.QueryInterface.Version": 0x12,
        "Parameters.QueryInterface.Interface": 0x18,
        "Parameters.QueryInterface.InterfaceSpecificData": 0x20,
        "Parameters.ReadWriteConfig.Buffer": 0x10, "Parameters.ReadWriteConfig.Offset": 0x18,
        "Parameters.ReadWriteConfig.Length": 0x20,
        "Parameters.QueryDeviceText.LocaleId": 0x10, "Parameters.UsageNotification.Type": 0x10,
        "Parameters.Power.SystemContext": 0x8, "Parameters.Power.Type": 0x10,
        "Parameters.Power.State": 0x18, "Parameters.Power.ShutdownType": 0x20,
        "Parameters.StartDevice.AllocatedResourcesTranslated": 0x10,
        "Parameters.WMI.DataPath": 0x10, "Parameters.WMI.BufferSize": 0x18,
        "Parameters.WMI.Buffer": 0x20,
        "Parameters.Others.Argument1": 0x8, "Parameters.Others.Argument4": 0x20,
        "DeviceObject": 0x28, "FileObject": 0x30, "CompletionRoutine": 0x38, "Context": 0x40,
    }),
    "MDL": (0x30, {
        "Size": 0x8, "MdlFlags": 0xA,
        "AllocationProcessorNumber": 0xC,    # published: WDK 10 wdm.h (padding in mingw)
        "Reserved": 0xE,                     # published: WDK 10 wdm.h
        "Process": 0x10, "MappedSystemVa": 0x18, "StartVa": 0x20, "ByteCount": 0x28,
        "ByteOffset": 0x2C,
    }),
    "FILE_OBJECT": (0xD8, {
        "DeviceObject": 0x8, "Vpb": 0x10, "FsContext": 0x18, "FsContext2": 0x20,
        "SectionObjectPointer": 0x28, "PrivateCacheMap": 0x30, "FinalStatus": 0x38,
        "RelatedFileObject": 0x40, "LockOperation": 0x48, "SharedDelete": 0x4F, "Flags": 0x50,
        "FileName": 0x58, "CurrentByteOffset": 0x68, "Waiters": 0x70, "Busy": 0x74,
        "LastLock": 0x78, "Lock": 0x80, "Event": 0x98, "CompletionContext": 0xB0,
        "IrpListLock": 0xB8, "IrpList": 0xC0, "FileObjectExtension": 0xD0,
    }),
    "GENERAL_LOOKASIDE": (0x80, {
        "ListHead": 0x0, "SingleListHead": 0x0, "Depth": 0x10, "MaximumDepth": 0x12,
        "TotalAllocates": 0x14, "AllocateMisses": 0x18, "AllocateHits": 0x18,
        "TotalFrees": 0x1C, "FreeMisses": 0x20, "Type": 0x24, "Tag": 0x28, "Size": 0x2C,
        "AllocateEx": 0x30, "Allocate": 0x30, "FreeEx": 0x38, "ListEntry": 0x40,
        "LastTotalAllocates": 0x50, "LastAllocateMisses": 0x54, "Future": 0x58,
    }),
    # 0x60, not 0x80: wdm.h puts LOOKASIDE_ALIGN on GENERAL_LOOKASIDE only (alignof here is 16).
    "GENERAL_LOOKASIDE_POOL": (0x60, {"Allocate": 0x30, "ListEntry": 0x40, "Future": 0x58}),
    "NPAGED_LOOKASIDE_LIST": (0x80, {"L": 0x0, "L.Tag": 0x28}),
    "PAGED_LOOKASIDE_LIST": (0x80, {"L": 0x0, "L.Allocate": 0x30}),
    "LOOKASIDE_LIST_EX": (0x60, {"L": 0x0, "L.Free": 0x38}),
    "RTL_OSVERSIONINFOW": (0x114, {
        "dwMajorVersion": 0x4, "dwMinorVersion": 0x8, "dwBuildNumber": 0xC,
        "dwPlatformId": 0x10, "szCSDVersion": 0x14,
    }),
    "RTL_OSVERSIONINFOEXW": (0x11C, {
        "dwBuildNumber": 0xC, "wServicePackMajor": 0x114, "wServicePackMinor": 0x116,
        "wSuiteMask": 0x118, "wProductType": 0x11A, "wReserved": 0x11B,
    }),
    "KEY_VALUE_PARTIAL_INFORMATION": (0x10, {"Type": 0x4, "DataLength": 0x8, "Data": 0xC}),
    "KEY_VALUE_BASIC_INFORMATION": (0x10, {"Type": 0x4, "NameLength": 0x8, "Name": 0xC}),
    "KEY_VALUE_FULL_INFORMATION": (0x18, {
        "DataOffset": 0x8, "DataLength": 0xC, "NameLength": 0x10, "Name": 0x14,
    }),
    "KEY_BASIC_INFORMATION": (0x18, {"TitleIndex": 0x8, "NameLength": 0xC, "Name": 0x10}),
    # winternl.h (mingw) gives the documented members, size 0x88 and the Reserved* spans;
    # the names inside those spans are published: public symbols (_LDR_DATA_TABLE_ENTRY).
    "LDR_DATA_TABLE_ENTRY": (0x88, {
        "InLoadOrderLinks": 0x0,             # published (winternl: Reserved1 at 0x0)
        "InMemoryOrderLinks": 0x10,
        "InInitializationOrderLinks": 0x20,  # published (winternl: Reserved2 at 0x20)
        "DllBase": 0x30,
        "EntryPoint": 0x38,                  # published (winternl: Reserved3[2] at 0x38)
        "SizeOfImage": 0x40,                 # published
        "FullDllName": 0x48,
        "BaseDllName": 0x58,                 # published (winternl: Reserved4 at 0x58)
        "Flags": 0x68, "LoadCount": 0x6C, "TlsIndex": 0x6E, "HashLinks": 0x70,  # published
        "CheckSum": 0x78,
        "TimeDateStamp": 0x80,
    }),
    # published: size 0x708 is Windows 10 1507's (XState at 0x3D8 + 0x330); later builds are
    # larger (the current Windows Kits header asserts 0xA80). mingw's Win7-era struct is 0x5F0.
    "KUSER_SHARED_DATA": (0x708, {
        "TickCountLowDeprecated": 0x0, "TickCountMultiplier": 0x4, "InterruptTime": 0x8,
        "SystemTime": 0x14, "TimeZoneBias": 0x20, "ImageNumberLow": 0x2C,
        "ImageNumberHigh": 0x2E, "NtSystemRoot": 0x30, "MaxStackTraceDepth": 0x238,
        "CryptoExponent": 0x23C, "TimeZoneId": 0x240, "LargePageMinimum": 0x244,
        "NtBuildNumber": 0x260,              # published: WDK C_ASSERT (mingw: inside Reserved2)
        "NtProductType": 0x264, "ProductTypeIsValid": 0x268,
        "NativeProcessorArchitecture": 0x26A,  # published: WDK C_ASSERT
        "NtMajorVersion": 0x26C, "NtMinorVersion": 0x270, "ProcessorFeatures": 0x274,
        "Reserved1": 0x2B4, "Reserved3": 0x2B8, "TimeSlip": 0x2BC,
        "AlternativeArchitecture": 0x2C0, "SystemExpirationDate": 0x2C8, "SuiteMask": 0x2D0,
        "KdDebuggerEnabled": 0x2D4, "ActiveConsoleId": 0x2D8, "DismountCount": 0x2DC,
        "ComPlusPackage": 0x2E0, "LastSystemRITEventTickCount": 0x2E4,
        "NumberOfPhysicalPages": 0x2E8, "SafeBootMode": 0x2EC, "SharedDataFlags": 0x2F0,
        "TestRetInstruction": 0x2F8,
        "QpcFrequency": 0x300,               # published: WDK C_ASSERT
        "SystemCall": 0x308,                 # published: WDK C_ASSERT (mingw/Win7: 0x300)
        "TickCount": 0x320, "TickCountQuad": 0x320, "Cookie": 0x330,
        "ConsoleSessionForegroundProcessId": 0x338,
        "TimeUpdateLock": 0x340,             # published: WDK C_ASSERT (mingw/Win7: Wow64Shared...)
        "UserModeGlobalLogger": 0x380, "ImageFileExecutionOptions": 0x3A0,
        "LangGenerationCount": 0x3A4, "InterruptTimeBias": 0x3B0,
        "QpcBias": 0x3B8,                    # mingw calls it TscQpcBias
        "ActiveProcessorCount": 0x3C0, "ActiveGroupCount": 0x3C4,
        "QpcData": 0x3C6,                    # published: WDK C_ASSERT
        "Reserved_3D8": 0x3D8,               # published: WDK C_ASSERT XState (mingw/Win7: 0x3E0)
    }),
    # published: public symbols (_KPRCB, Windows 7-11 x64); mingw has no x64 KPRCB.
    # sizeof is this model's (the prefix through PrcbLock), not Windows' multi-KB KPRCB.
    "KPRCB": (0x38, {
        "MxCsr": 0x0, "LegacyNumber": 0x4, "CurrentThread": 0x8, "NextThread": 0x10,
        "IdleThread": 0x18, "Number": 0x24, "RspBase": 0x28, "PrcbLock": 0x30,
    }),
    # mingw ntddk.h (_AMD64_ KPCR, sizeof 0x178 without the KPRCB) gives 0x0..0x118;
    # "Prcb" at 0x180 is published: public symbols (_KPCR "+0x180 Prcb : _KPRCB").
    # sizeof is this model's: 0x180 + the 0x38-byte KPRCB prefix, rounded up to 16.
    "KPCR": (0x1C0, {
        "GdtBase": 0x0, "TssBase": 0x8, "UserRsp": 0x10, "Self": 0x18, "CurrentPrcb": 0x20,
        "LockArray": 0x28, "Used_Self": 0x30, "IdtBase": 0x38, "Irql": 0x50,
        "ObsoleteNumber": 0x52, "MajorVersion": 0x60, "MinorVersion": 0x62,
        "StallScaleFactor": 0x64, "KernelReserved": 0x80, "SecondLevelCacheSize": 0xBC,
        "HalReserved": 0xC0, "KdVersionBlock": 0x108, "PcrAlign1": 0x118,
        "Prcb": 0x180,
        "Prcb.LegacyNumber": 0x184,   # mingw ntddk.h KeGetCurrentProcessorNumber: gs:[0x184]
        "Prcb.CurrentThread": 0x188,  # mingw wdm.h KeGetCurrentThread: __readgsqword(0x188)
        "Prcb.IdleThread": 0x198,
        "Prcb.Number": 0x1A4,
    }),
    # Error log, registry query table, object callbacks: mingw wdm.h, compiled as above.
    "IO_ERROR_LOG_PACKET": (0x30, {"ErrorCode": 0xC, "DumpData": 0x28}),
    "IO_ERROR_LOG_MESSAGE": (0x48, {"EntryData": 0x18}),
    "RTL_QUERY_REGISTRY_TABLE": (0x38, {"DefaultLength": 0x30}),
    "OB_CALLBACK_REGISTRATION": (0x28, {"OperationRegistration": 0x20}),
    "OB_OPERATION_REGISTRATION": (0x20, {"PostOperation": 0x18}),
    "KGUARDED_MUTEX": (0x38, {}),
    "KBUGCHECK_CALLBACK_RECORD": (0x40, {"Component": 0x28, "State": 0x38}),
    "KBUGCHECK_REASON_CALLBACK_RECORD": (0x30, {"Reason": 0x28, "State": 0x2C}),
    # System information: mingw winternl.h (user-mode header, same x64 layouts), compiled as above.
    "SYSTEM_BASIC_INFORMATION": (0x40, {"NumberOfProcessors": 0x38}),
    "SYSTEM_PROCESS_INFORMATION": (0x100, {"ImageName": 0x38, "UniqueProcessId": 0x50, "HandleCount": 0x60}),
    "SYSTEM_THREAD_INFORMATION": (0x50, {"ClientId": 0x28, "WaitReason": 0x48}),
    "SYSTEM_CODEINTEGRITY_INFORMATION": (0x8, {"CodeIntegrityOptions": 0x4}),
    # FILE_*_INFORMATION (ddk/ntifs.h, wdm.h): checked with _Static_assert under x86_64-w64-mingw32-gcc
    "FILE_BASIC_INFORMATION": (40, {"ChangeTime": 24, "FileAttributes": 32}),
    "FILE_STANDARD_INFORMATION": (24, {"EndOfFile": 8, "NumberOfLinks": 16, "DeletePending": 20, "Directory": 21}),
    "FILE_NETWORK_OPEN_INFORMATION": (56, {"AllocationSize": 32, "EndOfFile": 40, "FileAttributes": 48}),
    "FILE_ATTRIBUTE_TAG_INFORMATION": (8, {"ReparseTag": 4}),
    "FILE_NAME_INFORMATION": (8, {"FileName": 4}),
    "FILE_RENAME_INFORMATION": (24, {"RootDirectory": 8, "FileNameLength": 16, "FileName": 20}),
    "FILE_DIRECTORY_INFORMATION": (72, {"EndOfFile": 40, "FileAttributes": 56, "FileName": 64}),
    "FILE_FULL_DIR_INFORMATION": (72, {"EaSize": 64, "FileName": 68}),
    "FILE_BOTH_DIR_INFORMATION": (96, {"ShortNameLength": 68, "ShortName": 70, "FileName": 94}),
    "FILE_NAMES_INFORMATION": (16, {"FileNameLength": 8, "FileName": 12}),
    "FILE_FS_SIZE_INFORMATION": (24, {"SectorsPerAllocationUnit": 16, "BytesPerSector": 20}),
    "FILE_FS_DEVICE_INFORMATION": (8, {"Characteristics": 4}),
    # I/O manager additions for dispatch routines (same gcc/offsetof method as above)
    "IO_SECURITY_CONTEXT": (24, {"AccessState": 8, "DesiredAccess": 16, "FullCreateOptions": 20}),
    "IO_CSQ": (64, {"CsqInsertIrp": 8, "CsqCompleteCanceledIrp": 48, "ReservePointer": 56}),
    "IO_CSQ_IRP_CONTEXT": (24, {"Irp": 8, "Csq": 16}),
    "CM_PARTIAL_RESOURCE_DESCRIPTOR": (20, {"u": 4}),
    "CM_PARTIAL_RESOURCE_LIST": (28, {"Count": 4, "PartialDescriptors": 8}),
    "CM_FULL_RESOURCE_DESCRIPTOR": (36, {"BusNumber": 4, "PartialResourceList": 8}),
    "CM_RESOURCE_LIST": (40, {"List": 4}),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_size(name):
    assert ctypes.sizeof(getattr(ks, name)) == LAYOUTS[name][0]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_offsets(name):
    struct = getattr(ks, name)
    actual = {path: offset_of(struct, path) for path in LAYOUTS[name][1]}
    assert {p: hex(o) for p, o in actual.items()} == \
        {p: hex(o) for p, o in LAYOUTS[name][1].items()}


def test_alignments_from_headers():
    # mingw: __alignof__(KSYSTEM_TIME) == 4 (KUSER_SHARED_DATA depends on it), LARGE_INTEGER 8.
    assert ctypes.alignment(ks.KSYSTEM_TIME) == 4
    assert ctypes.alignment(ks.LARGE_INTEGER) == 8
    # Declared alignments (mingw __alignof__: SLIST_HEADER 16, GENERAL_LOOKASIDE and the two
    # lookaside lists 64; WDK: DEVICE_OBJECT and IRP use MEMORY_ALLOCATION_ALIGNMENT = 16).
    # Python 3.11's ctypes ignores _align_, so the sizes above carry the padding instead.
    assert ks.SLIST_HEADER._align_ == 16
    assert ks.GENERAL_LOOKASIDE._align_ == 64
    assert ks.NPAGED_LOOKASIDE_LIST._align_ == 64
    assert ks.PAGED_LOOKASIDE_LIST._align_ == 64
    assert ks.DEVICE_OBJECT._align_ == 16
    assert ks.IRP._align_ == 16
    assert "_align_" not in vars(ks.GENERAL_LOOKASIDE_POOL)


def test_lookaside_layouts_agree():
    # wdm.h's LOOKASIDE_CHECK: every member sits at the same offset in both lookaside headers.
    for field in ("Depth", "TotalFrees", "FreeHits", "Type", "Tag", "Size", "FreeEx",
                  "ListEntry", "LastAllocateHits", "Future"):
        assert offset_of(ks.GENERAL_LOOKASIDE, field) == offset_of(ks.GENERAL_LOOKASIDE_POOL, field)


def test_constants():
    # wdm.h values (mingw-w64 10.0.0 and WDK 10 agree).
    expected_mj = {
        "CREATE": 0x00, "CREATE_NAMED_PIPE": 0x01, "CLOSE": 0x02, "READ": 0x03, "WRITE": 0x04,
        "QUERY_INFORMATION": 0x05, "SET_INFORMATION": 0x06, "QUERY_EA": 0x07, "SET_EA": 0x08,
        "FLUSH_BUFFERS": 0x09, "QUERY_VOLUME_INFORMATION": 0x0A,
        "SET_VOLUME_INFORMATION": 0x0B, "DIRECTORY_CONTROL": 0x0C,
        "FILE_SYSTEM_CONTROL": 0x0D, "DEVICE_CONTROL": 0x0E, "INTERNAL_DEVICE_CONTROL": 0x0F,
        "SCSI": 0x0F, "SHUTDOWN": 0x10, "LOCK_CONTROL": 0x11, "CLEANUP": 0x12,
        "CREATE_MAILSLOT": 0x13, "QUERY_SECURITY": 0x14, "SET_SECURITY": 0x15, "POWER": 0x16,
        "SYSTEM_CONTROL": 0x17, "DEVICE_CHANGE": 0x18, "QUERY_QUOTA": 0x19, "SET_QUOTA": 0x1A,
        "PNP": 0x1B, "PNP_POWER": 0x1B, "MAXIMUM_FUNCTION": 0x1B,
    }
    assert {k: getattr(ks, "IRP_MJ_" + k) for k in expected_mj} == expected_mj
    assert (ks.IO_TYPE_DEVICE, ks.IO_TYPE_DRIVER, ks.IO_TYPE_FILE, ks.IO_TYPE_IRP) == (3, 4, 5, 6)
    assert ks.IO_TYPE_DEVICE_OBJECT_EXTENSION == 13
    assert (ks.MDL_MAPPED_TO_SYSTEM_VA, ks.MDL_PAGES_LOCKED, ks.MDL_SOURCE_IS_NONPAGED_POOL,
            ks.MDL_ALLOCATED_FIXED_SIZE, ks.MDL_PARTIAL, ks.MDL_PARTIAL_HAS_BEEN_MAPPED,
            ks.MDL_IO_PAGE_READ, ks.MDL_WRITE_OPERATION, ks.MDL_PARENT_MAPPED_SYSTEM_VA,
            ks.MDL_FREE_EXTRA_PTES, ks.MDL_DESCRIBES_AWE, ks.MDL_IO_SPACE,
            ks.MDL_NETWORK_HEADER, ks.MDL_MAPPING_CAN_FAIL, ks.MDL_ALLOCATED_MUST_SUCCEED,
            ks.MDL_INTERNAL) == tuple(1 << i for i in range(16))
    assert ks.KI_USER_SHARED_DATA == 0xFFFFF78000000000      # wdm.h, _AMD64_
    assert len(ks.DRIVER_OBJECT().MajorFunction) == 0x1B + 1


# --- offset_of -------------------------------------------------------------------------------
def test_offset_of_accepts_instances_and_indexes():
    assert offset_of(ks.DRIVER_OBJECT(), "MajorFunction[27]") == 0x70 + 27 * 8
    assert offset_of(ks.KUSER_SHARED_DATA, "ProcessorFeatures[3]") == 0x274 + 3
    assert offset_of(ks.IRP, "Tail.Overlay.DriverContext[2]") == 0x78 + 2 * 8
    assert offset_of(ks.KUSER_SHARED_DATA, "TickCount.High1Time") == 0x324
    assert offset_of(ks.DEVICE_OBJECT, "Queue.Wcb.WaitQueueEntry.SortKey") == 0x50 + 0x10
    assert offset_of(ks.RTL_OSVERSIONINFOEXW, "szCSDVersion[127]") == 0x14 + 127 * 2


@pytest.mark.parametrize("struct, path, error", [
    ("IRP", "NoSuchField", AttributeError),
    ("IRP", "Tail.Overlay.Nope", AttributeError),
    ("IRP", "Flags.Sub", AttributeError),
    ("DRIVER_OBJECT", "MajorFunction[28]", IndexError),
    ("DRIVER_OBJECT", "Flags[0]", TypeError),
    ("IRP", "Tail..Overlay", ValueError),
    ("DRIVER_OBJECT", "MajorFunction[x]", ValueError),
    ("IRP", "", ValueError),
])
def test_offset_of_errors(struct, path, error):
    with pytest.raises(error):
        offset_of(getattr(ks, struct), path)


# --- the layouts behave as guest memory -------------------------------------------------------
def test_fields_write_the_documented_bytes():
    irp = ks.IRP()
    irp.Tail.Overlay.CurrentStackLocation = 0xFFFF_A000_0000_1234
    irp.AssociatedIrp.SystemBuffer = 0xFFFF_B000_0000_0010
    irp.IoStatus.Status = -0x3FFFFFF3            # STATUS_INVALID_PARAMETER (0xC000000D)
    raw = bytes(irp)
    assert int.from_bytes(raw[0xB8:0xC0], "little") == 0xFFFF_A000_0000_1234
    assert int.from_bytes(raw[0x18:0x20], "little") == 0xFFFF_B000_0000_0010
    assert raw[0x30:0x34] == (0xC000000D).to_bytes(4, "little")

    stack = ks.IO_STACK_LOCATION.from_buffer_copy(bytes(0x18) + (0x22200B).to_bytes(4, "little")
                                                  + bytes(0x48 - 0x1C))
    assert stack.Parameters.DeviceIoControl.IoControlCode == 0x22200B
    assert stack.Parameters.Others.Argument3 == 0x22200B

    kusd = ks.KUSER_SHARED_DATA()
    kusd.NtMajorVersion, kusd.NtBuildNumber = 10, 19045
    kusd.NtSystemRoot[:10] = [ord(c) for c in "C:\\Windows"]
    raw = bytes(kusd)
    assert raw[0x26C:0x270] == (10).to_bytes(4, "little")
    assert raw[0x260:0x264] == (19045).to_bytes(4, "little")
    assert raw[0x30:0x44].decode("utf-16-le") == "C:\\Windows"


def test_bitfields_match_msvc_packing():
    header = ks.SLIST_HEADER()
    header.HeaderX64.Depth = 5
    header.HeaderX64.Sequence = 7
    header.HeaderX64.NextEntry = 0xFFFFF800_0000_1230 >> 4    # entries are 16-byte aligned
    assert header.Alignment == 5 | (7 << 16)
    assert header.Region == 0xFFFFF800_0000_1230

    lock = ks.EX_PUSH_LOCK()
    lock.Locked, lock.Shared = 1, 3
    assert lock.Value == 1 | (3 << 4)

    queue = ks.KDEVICE_QUEUE()
    queue.Busy = 1
    assert bytes(queue)[0x20] == 1


def test_shared_shapes_are_shared():
    params = {name: ftype for name, ftype in ks.IO_STACK_LOCATION_PARAMETERS._fields_}
    assert params["Read"] is params["Write"]
    assert params["MountVolume"] is params["VerifyVolume"]
    assert params["QueryVolume"] is params["SetVolume"]
    assert params["SetEa"] is params["SetQuota"]
    assert ks.ANSI_STRING is ks.STRING
    assert ks.KMUTEX is ks.KMUTANT
    assert ctypes.sizeof(ks.IO_STACK_LOCATION_PARAMETERS) == 0x20


_FORBIDDEN = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_wchar_p, ctypes.c_wchar, ctypes.c_bool,
              ctypes.c_float, ctypes.c_double)


def _leaf_types(ctype, seen):
    if issubclass(ctype, ctypes.Array):
        yield from _leaf_types(ctype._type_, seen)
    elif issubclass(ctype, (ctypes.Structure, ctypes.Union)):
        if ctype in seen:
            return
        seen.add(ctype)
        for klass in ctype.__mro__:
            for field in vars(klass).get("_fields_", ()):
                yield from _leaf_types(field[1], seen)
    else:
        yield ctype


def test_only_fixed_width_integer_leaves():
    """Pointers are c_uint64 guest addresses; no host pointers, wchar_t or host-sized types."""
    seen: set = set()
    for value in vars(ks).values():
        if isinstance(value, type) and issubclass(value, (ctypes.Structure, ctypes.Union)):
            for leaf in _leaf_types(value, seen):
                assert not issubclass(leaf, ctypes._Pointer), leaf
                assert leaf not in _FORBIDDEN, leaf
                assert leaf._type_ in "bBhHiIlLqQ", leaf
    assert ks.DRIVER_OBJECT.DriverUnload.size == 8
    assert ks.UNICODE_STRING.Buffer.size == 8
    assert ctypes.sizeof(ks.WCHAR) == 2
