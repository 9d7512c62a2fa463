"""Windows x64 kernel structures, declared once as ctypes layouts.

The emulated kernel builds these objects in guest memory (DRIVER_OBJECT, IRP, MDL, the
KUSER_SHARED_DATA page, the KPCR behind GS) and drivers read them at fixed offsets. Declaring
each layout once, with the documented field names, lets hooks write
``irp.Tail.Overlay.CurrentStackLocation`` instead of ``base + 0xB8``, takes every offset from one
place, and makes ``bytes(obj)`` the exact guest image.

Little-endian, natural alignment (what MSVC x64 produces for these types), pointers and handles
as ``c_uint64`` guest addresses, unions where the header has them. Members or structures the
header over-aligns (POINTER_ALIGNMENT, DECLSPEC_ALIGN) go through ``_layout``, which inserts the
padding MSVC would; such classes also carry ``_align_``, which ctypes honours from Python 3.13.
tests/test_kstructs.py pins sizes and offsets to numbers obtained independently of this module.
"""
from __future__ import annotations

import ctypes
import re
from functools import cache
from ctypes import (
    LittleEndianStructure,
    LittleEndianUnion,
    c_int8,
    c_int16,
    c_int32,
    c_int64,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
)
from typing import NamedTuple

# --- Windows type names -> fixed-size ctypes --------------------------------------------------
UCHAR = BOOLEAN = CCHAR = KIRQL = KPROCESSOR_MODE = c_uint8
CHAR = c_int8
USHORT = WCHAR = c_uint16            # WCHAR is UTF-16: never ctypes.c_wchar (4 bytes on Linux)
SHORT = CSHORT = c_int16
ULONG = DEVICE_TYPE = ACCESS_MASK = SECURITY_INFORMATION = LCID = c_uint32
LONG = NTSTATUS = c_int32
ENUM = c_int32                       # C enums are 32-bit ints under MSVC
POOL_TYPE = ENUM
LONGLONG = LARGE_INTEGER = c_int64
ULONGLONG = ULONG64 = ULARGE_INTEGER = c_uint64
PVOID = HANDLE = ULONG_PTR = SIZE_T = KAFFINITY = c_uint64   # guest addresses / pointer-sized
KSPIN_LOCK = c_uint64

MEMORY_ALLOCATION_ALIGNMENT = 16     # ntdef.h, _WIN64
SYSTEM_CACHE_ALIGNMENT_SIZE = 64     # ntdef.h, x64: LOOKASIDE_ALIGN = DECLSPEC_CACHEALIGN
POINTER_ALIGNMENT = 8                # wdm.h: DECLSPEC_ALIGN(8) under _WIN64


# --- layout helpers ---------------------------------------------------------------------------
class _Aligned(NamedTuple):
    """A member declared with more than its natural alignment (POINTER_ALIGNMENT etc.)."""
    name: str
    ctype: type
    align: int


def _ptr_aligned(name: str, ctype: type) -> _Aligned:
    return _Aligned(name, ctype, POINTER_ALIGNMENT)


def _layout(*members, align: int = 1) -> list[tuple[str, type]]:
    """``_fields_`` for `members`, padded the way MSVC pads over-aligned members and structures.

    Members are ``(name, ctype)`` pairs or ``_Aligned``; `align` is a DECLSPEC_ALIGN on the
    structure itself. ctypes already handles natural alignment, so padding is only inserted where
    the declared alignment exceeds it. Bit-fields are not supported here.
    """
    fields: list[tuple[str, type]] = []
    offset, natural_max, declared_max = 0, 1, align
    for member in members:
        name, ctype, wanted = member if isinstance(member, _Aligned) else (*member, 1)
        natural = ctypes.alignment(ctype)
        natural_max = max(natural_max, natural)
        wanted = max(wanted, natural)
        declared_max = max(declared_max, wanted)
        start = -(-offset // wanted) * wanted
        if wanted > natural and start > offset:
            fields.append((f"_AlignPad_{offset:X}", c_uint8 * (start - offset)))
        fields.append((name, ctype))
        offset = start + ctypes.sizeof(ctype)
    end = -(-offset // declared_max) * declared_max
    if end > -(-offset // natural_max) * natural_max:
        fields.append((f"_AlignPad_{offset:X}", c_uint8 * (end - offset)))
    return fields


def _struct(name: str, *members, anonymous: tuple[str, ...] = ()) -> type:
    """A small structure for an unnamed member shape that several places share."""
    return type(name, (LittleEndianStructure,),
                {"_anonymous_": anonymous, "_fields_": _layout(*members)})


def _alias_union(name: str, ctype: type, *names: str) -> type:
    """A union whose members are all the same type under different names (e.g. Misses/Hits)."""
    return type(name, (LittleEndianUnion,), {"_fields_": [(n, ctype) for n in names]})


_FIELD_PART = re.compile(r"([A-Za-z_]\w*)((?:\[\d+\])*)")


def offset_of(struct, path: str) -> int:
    """Byte offset of a field given as a dotted path, e.g. ``"Tail.Overlay.CurrentStackLocation"``.

    `struct` is a structure/union class or instance. Members of anonymous unions/structures are
    found by their own names (as in C), and array elements by index: ``"MajorFunction[14]"``.
    """
    return _offset_of(struct if isinstance(struct, type) else type(struct), path)


@cache
def _offset_of(ctype: type, path: str) -> int:
    """offset_of for a class, computed once per (class, path): handlers ask on every call."""
    offset = 0
    for part in path.split("."):
        match = _FIELD_PART.fullmatch(part)
        if match is None:
            raise ValueError(f"malformed field path {path!r}")
        name, indexes = match.groups()
        found = _find_member(ctype, name)
        if found is None:
            raise AttributeError(f"{getattr(ctype, '__name__', ctype)} has no field {name!r} "
                                 f"(in path {path!r})")
        field_offset, ctype = found
        offset += field_offset
        for index in map(int, re.findall(r"\[(\d+)\]", indexes)):
            if not issubclass(ctype, ctypes.Array):
                raise TypeError(f"{name!r} in {path!r} is not an array")
            if index >= ctype._length_:
                raise IndexError(f"{name}[{index}] out of range ({ctype._length_} elements)")
            ctype = ctype._type_
            offset += index * ctypes.sizeof(ctype)
    return offset


def _find_member(ctype: type, name: str) -> tuple[int, type] | None:
    if not (isinstance(ctype, type) and issubclass(ctype, (ctypes.Structure, ctypes.Union))):
        return None
    for klass in ctype.__mro__:
        fields = {f[0]: f[1] for f in klass.__dict__.get("_fields_", ())}
        if name in fields:
            return getattr(ctype, name).offset, fields[name]
        for anonymous in klass.__dict__.get("_anonymous_", ()):
            inner = _find_member(fields[anonymous], name)
            if inner is not None:
                return getattr(ctype, anonymous).offset + inner[0], inner[1]
    return None


# --- constants that go with the structures (wdm.h) --------------------------------------------
IRP_MJ_CREATE = 0x00
IRP_MJ_CREATE_NAMED_PIPE = 0x01
IRP_MJ_CLOSE = 0x02
IRP_MJ_READ = 0x03
IRP_MJ_WRITE = 0x04
IRP_MJ_QUERY_INFORMATION = 0x05
IRP_MJ_SET_INFORMATION = 0x06
IRP_MJ_QUERY_EA = 0x07
IRP_MJ_SET_EA = 0x08
IRP_MJ_FLUSH_BUFFERS = 0x09
IRP_MJ_QUERY_VOLUME_INFORMATION = 0x0A
IRP_MJ_SET_VOLUME_INFORMATION = 0x0B
IRP_MJ_DIRECTORY_CONTROL = 0x0C
IRP_MJ_FILE_SYSTEM_CONTROL = 0x0D
IRP_MJ_DEVICE_CONTROL = 0x0E
IRP_MJ_INTERNAL_DEVICE_CONTROL = 0x0F
IRP_MJ_SCSI = IRP_MJ_INTERNAL_DEVICE_CONTROL
IRP_MJ_SHUTDOWN = 0x10
IRP_MJ_LOCK_CONTROL = 0x11
IRP_MJ_CLEANUP = 0x12
IRP_MJ_CREATE_MAILSLOT = 0x13
IRP_MJ_QUERY_SECURITY = 0x14
IRP_MJ_SET_SECURITY = 0x15
IRP_MJ_POWER = 0x16
IRP_MJ_SYSTEM_CONTROL = 0x17
IRP_MJ_DEVICE_CHANGE = 0x18
IRP_MJ_QUERY_QUOTA = 0x19
IRP_MJ_SET_QUOTA = 0x1A
IRP_MJ_PNP = 0x1B
IRP_MJ_PNP_POWER = IRP_MJ_PNP
IRP_MJ_MAXIMUM_FUNCTION = 0x1B

IO_TYPE_ADAPTER = 1
IO_TYPE_CONTROLLER = 2
IO_TYPE_DEVICE = 3
IO_TYPE_DRIVER = 4
IO_TYPE_FILE = 5
IO_TYPE_IRP = 6
IO_TYPE_MASTER_ADAPTER = 7
IO_TYPE_OPEN_PACKET = 8
IO_TYPE_TIMER = 9
IO_TYPE_VPB = 10
IO_TYPE_ERROR_LOG = 11
IO_TYPE_ERROR_MESSAGE = 12
IO_TYPE_DEVICE_OBJECT_EXTENSION = 13

MDL_MAPPED_TO_SYSTEM_VA = 0x0001
MDL_PAGES_LOCKED = 0x0002
MDL_SOURCE_IS_NONPAGED_POOL = 0x0004
MDL_ALLOCATED_FIXED_SIZE = 0x0008
MDL_PARTIAL = 0x0010
MDL_PARTIAL_HAS_BEEN_MAPPED = 0x0020
MDL_IO_PAGE_READ = 0x0040
MDL_WRITE_OPERATION = 0x0080
MDL_LOCKED_PAGE_TABLES = 0x0100
MDL_PARENT_MAPPED_SYSTEM_VA = MDL_LOCKED_PAGE_TABLES
MDL_FREE_EXTRA_PTES = 0x0200
MDL_DESCRIBES_AWE = 0x0400
MDL_IO_SPACE = 0x0800
MDL_NETWORK_HEADER = 0x1000
MDL_MAPPING_CAN_FAIL = 0x2000
MDL_PAGE_CONTENTS_INVARIANT = 0x4000
MDL_ALLOCATED_MUST_SUCCEED = MDL_PAGE_CONTENTS_INVARIANT
MDL_INTERNAL = 0x8000

KI_USER_SHARED_DATA = 0xFFFFF78000000000      # kernel-mode address of KUSER_SHARED_DATA (wdm.h)
MM_SHARED_USER_DATA_VA = 0x7FFE0000           # the same page as user mode sees it


# --- strings and lists ------------------------------------------------------------------------
class _CountedString(LittleEndianStructure):
    """UNICODE_STRING and STRING share this shape; Length/MaximumLength are in bytes."""
    _fields_ = [
        ("Length", USHORT),
        ("MaximumLength", USHORT),
        ("Buffer", PVOID),
    ]


class UNICODE_STRING(_CountedString):
    pass


class STRING(_CountedString):
    pass


ANSI_STRING = OEM_STRING = STRING


class LIST_ENTRY(LittleEndianStructure):
    _fields_ = [("Flink", PVOID), ("Blink", PVOID)]


class SINGLE_LIST_ENTRY(LittleEndianStructure):
    _fields_ = [("Next", PVOID)]


class _SListHeaderHalves(LittleEndianStructure):
    _fields_ = [("Alignment", ULONGLONG), ("Region", ULONGLONG)]


class _SListHeaderX64(LittleEndianStructure):
    _fields_ = [
        ("Depth", ULONGLONG, 16),
        ("Sequence", ULONGLONG, 48),
        ("Reserved", ULONGLONG, 4),
        ("NextEntry", ULONGLONG, 60),   # address >> 4: entries are 16-byte aligned
    ]


class SLIST_HEADER(LittleEndianUnion):
    """DECLSPEC_ALIGN(16) union; 16 bytes, so natural layout already gives the right size."""
    _align_ = MEMORY_ALLOCATION_ALIGNMENT
    _anonymous_ = ("_Halves",)
    _fields_ = [("_Halves", _SListHeaderHalves), ("HeaderX64", _SListHeaderX64)]


class CLIENT_ID(LittleEndianStructure):
    _fields_ = [("UniqueProcess", HANDLE), ("UniqueThread", HANDLE)]


class KSYSTEM_TIME(LittleEndianStructure):
    """12 bytes, 4-aligned (the KUSER_SHARED_DATA header asserts __alignof == 4)."""
    _fields_ = [("LowPart", ULONG), ("High1Time", LONG), ("High2Time", LONG)]


# --- dispatcher objects -----------------------------------------------------------------------
# KOBJECTS: DISPATCHER_HEADER.Type / KDPC.Type (wdm.h; Windows 10 numbering, where the two Timer2
# types precede ThreadedDpcObject).
EventNotificationObject = 0
EventSynchronizationObject = 1
MutantObject = 2
ProcessObject = 3
SemaphoreObject = 5
ThreadObject = 6
GateObject = 7
TimerNotificationObject = 8
TimerSynchronizationObject = 9
DpcObject = 19
ThreadedDpcObject = 26
# KDPC_IMPORTANCE
LowImportance, MediumImportance, HighImportance, MediumHighImportance = 0, 1, 2, 3
MAXIMUM_PROCESSORS = 64                   # x64: KeSetTargetProcessorDpc stores Number + this
KTHREAD_PROCESS_OFFSET = 0xB8             # KTHREAD.ApcState.Process, x64 Windows 10/11 (public symbols)


class _DispatcherHeaderBytes(LittleEndianStructure):
    """The four leading bytes; each is read under different names by different object types."""
    _anonymous_ = ("_b1", "_b2", "_b3")
    _fields_ = [
        ("Type", UCHAR),
        ("_b1", _alias_union("_DispatcherByte1", UCHAR, "Signalling", "Abandoned",
                             "TimerControlFlags")),
        ("_b2", _alias_union("_DispatcherByte2", UCHAR, "Size", "Hand", "ThreadControlFlags")),
        ("_b3", _alias_union("_DispatcherByte3", UCHAR, "Reserved1", "DpcActive",
                             "DebugActive", "TimerMiscFlags")),
    ]


class _DispatcherHeaderLead(LittleEndianUnion):
    _anonymous_ = ("_Bytes",)
    _fields_ = [("_Bytes", _DispatcherHeaderBytes), ("Lock", LONG)]


class DISPATCHER_HEADER(LittleEndianStructure):
    _anonymous_ = ("_Lead",)
    _fields_ = [
        ("_Lead", _DispatcherHeaderLead),
        ("SignalState", LONG),
        ("WaitListHead", LIST_ENTRY),
    ]


class KEVENT(LittleEndianStructure):
    _fields_ = [("Header", DISPATCHER_HEADER)]


class KSEMAPHORE(LittleEndianStructure):
    _fields_ = [("Header", DISPATCHER_HEADER), ("Limit", LONG)]


class KMUTANT(LittleEndianStructure):
    _fields_ = [
        ("Header", DISPATCHER_HEADER),
        ("MutantListEntry", LIST_ENTRY),
        ("OwnerThread", PVOID),
        ("Abandoned", BOOLEAN),
        ("ApcDisable", UCHAR),
    ]


KMUTEX = KMUTANT


class _KDpcTarget(LittleEndianStructure):
    _fields_ = [("Type", UCHAR), ("Importance", UCHAR), ("Number", USHORT)]


class KDPC(LittleEndianStructure):
    """Windows 8+ layout (the mingw header still has Win7's LIST_ENTRY here; offsets agree)."""
    _anonymous_ = ("_Target",)
    _fields_ = [
        ("_Target", type("_KDpcTargetInfo", (LittleEndianUnion,), {
            "_anonymous_": ("_t",),
            "_fields_": [("TargetInfoAsUlong", ULONG), ("_t", _KDpcTarget)]})),
        ("DpcListEntry", SINGLE_LIST_ENTRY),
        ("ProcessorHistory", KAFFINITY),
        ("DeferredRoutine", PVOID),
        ("DeferredContext", PVOID),
        ("SystemArgument1", PVOID),
        ("SystemArgument2", PVOID),
        ("DpcData", PVOID),
    ]


class KTIMER(LittleEndianStructure):
    _fields_ = [
        ("Header", DISPATCHER_HEADER),
        ("DueTime", ULARGE_INTEGER),
        ("TimerListEntry", LIST_ENTRY),
        ("Dpc", PVOID),
        ("Processor", ULONG),
        ("Period", ULONG),
    ]


class KAPC(LittleEndianStructure):
    _fields_ = [
        ("Type", UCHAR),
        ("SpareByte0", UCHAR),
        ("Size", UCHAR),
        ("SpareByte1", UCHAR),
        ("SpareLong0", ULONG),
        ("Thread", PVOID),
        ("ApcListEntry", LIST_ENTRY),
        ("KernelRoutine", PVOID),
        ("RundownRoutine", PVOID),
        ("NormalRoutine", PVOID),
        ("NormalContext", PVOID),
        ("SystemArgument1", PVOID),
        ("SystemArgument2", PVOID),
        ("ApcStateIndex", CCHAR),
        ("ApcMode", KPROCESSOR_MODE),
        ("Inserted", BOOLEAN),
    ]


class KDEVICE_QUEUE_ENTRY(LittleEndianStructure):
    _fields_ = [("DeviceListEntry", LIST_ENTRY), ("SortKey", ULONG), ("Inserted", BOOLEAN)]


class _KDeviceQueueHint(LittleEndianStructure):
    _fields_ = [("Reserved", c_int64, 8), ("Hint", c_int64, 56)]


class KDEVICE_QUEUE(LittleEndianStructure):
    _anonymous_ = ("_Busy",)
    _fields_ = [
        ("Type", CSHORT),
        ("Size", CSHORT),
        ("DeviceListHead", LIST_ENTRY),
        ("Lock", KSPIN_LOCK),
        ("_Busy", type("_KDeviceQueueBusy", (LittleEndianUnion,), {
            "_anonymous_": ("_h",),
            "_fields_": [("Busy", BOOLEAN), ("_h", _KDeviceQueueHint)]})),
    ]


# --- executive synchronization ----------------------------------------------------------------
class _OwnerCount(LittleEndianStructure):
    _fields_ = [
        ("IoPriorityBoosted", ULONG, 1),
        ("OwnerReferenced", ULONG, 1),
        ("OwnerCount", ULONG, 30),
    ]


class OWNER_ENTRY(LittleEndianStructure):
    _anonymous_ = ("_Count",)
    _fields_ = [
        ("OwnerThread", ULONG_PTR),
        ("_Count", type("_OwnerEntryCount", (LittleEndianUnion,), {
            "_anonymous_": ("_c",),
            "_fields_": [("_c", _OwnerCount), ("TableSize", ULONG)]})),
    ]


class ERESOURCE(LittleEndianStructure):
    _anonymous_ = ("_Creator",)
    _fields_ = [
        ("SystemResourcesList", LIST_ENTRY),
        ("OwnerTable", PVOID),
        ("ActiveCount", SHORT),
        ("Flag", USHORT),
        ("SharedWaiters", PVOID),
        ("ExclusiveWaiters", PVOID),
        ("OwnerEntry", OWNER_ENTRY),
        ("ActiveEntries", ULONG),
        ("ContentionCount", ULONG),
        ("NumberOfSharedWaiters", ULONG),
        ("NumberOfExclusiveWaiters", ULONG),
        ("Reserved2", PVOID),                       # _WIN64 only
        ("_Creator", _alias_union("_EResourceCreator", PVOID, "Address",
                                  "CreatorBackTraceIndex")),
        ("SpinLock", KSPIN_LOCK),
    ]


class FAST_MUTEX(LittleEndianStructure):
    _fields_ = [
        ("Count", LONG),
        ("Owner", PVOID),
        ("Contention", ULONG),
        ("Event", KEVENT),
        ("OldIrql", ULONG),
    ]


KGUARDED_MUTEX = FAST_MUTEX                 # WDK 10 wdm.h: one structure for both since Windows 8
FM_LOCK_BIT = 0x1                           # FAST_MUTEX.Count bit 0: set = unlocked



class _PushLockBits(LittleEndianStructure):
    _fields_ = [
        ("Locked", ULONGLONG, 1),
        ("Waiting", ULONGLONG, 1),
        ("Waking", ULONGLONG, 1),
        ("MultipleShared", ULONGLONG, 1),
        ("Shared", ULONGLONG, 60),
    ]


class EX_PUSH_LOCK(LittleEndianUnion):
    """Pointer-sized lock word. Not in the public headers (ntifs.h only has the pointer type);
    bit layout as published for x64 builds by the Vergilius Project / public symbols."""
    _anonymous_ = ("_Bits",)
    _fields_ = [("_Bits", _PushLockBits), ("Value", ULONG_PTR), ("Ptr", PVOID)]


# --- I/O manager ------------------------------------------------------------------------------
class IO_STATUS_BLOCK(LittleEndianStructure):
    _anonymous_ = ("_Status",)
    _fields_ = [
        ("_Status", type("_IoStatus", (LittleEndianUnion,), {
            "_fields_": [("Status", NTSTATUS), ("Pointer", PVOID)]})),
        ("Information", ULONG_PTR),
    ]


class OBJECT_ATTRIBUTES(LittleEndianStructure):
    _fields_ = [
        ("Length", ULONG),
        ("RootDirectory", HANDLE),
        ("ObjectName", PVOID),
        ("Attributes", ULONG),
        ("SecurityDescriptor", PVOID),
        ("SecurityQualityOfService", PVOID),
    ]


class DRIVER_EXTENSION(LittleEndianStructure):
    """Public part only (wdm.h); the kernel's private tail is never read by drivers."""
    _fields_ = [
        ("DriverObject", PVOID),
        ("AddDevice", PVOID),
        ("Count", ULONG),
        ("ServiceKeyName", UNICODE_STRING),
    ]


class DRIVER_OBJECT(LittleEndianStructure):
    _fields_ = [
        ("Type", CSHORT),                   # IO_TYPE_DRIVER
        ("Size", CSHORT),
        ("DeviceObject", PVOID),
        ("Flags", ULONG),
        ("DriverStart", PVOID),
        ("DriverSize", ULONG),
        ("DriverSection", PVOID),           # the driver's KLDR_DATA_TABLE_ENTRY
        ("DriverExtension", PVOID),
        ("DriverName", UNICODE_STRING),
        ("HardwareDatabase", PVOID),
        ("FastIoDispatch", PVOID),
        ("DriverInit", PVOID),
        ("DriverStartIo", PVOID),
        ("DriverUnload", PVOID),
        ("MajorFunction", PVOID * (IRP_MJ_MAXIMUM_FUNCTION + 1)),
    ]


class WAIT_CONTEXT_BLOCK(LittleEndianStructure):
    _fields_ = [
        ("WaitQueueEntry", KDEVICE_QUEUE_ENTRY),
        ("DeviceRoutine", PVOID),
        ("DeviceContext", PVOID),
        ("NumberOfMapRegisters", ULONG),
        ("DeviceObject", PVOID),
        ("CurrentIrp", PVOID),
        ("BufferChainingDpc", PVOID),
    ]


class DEVOBJ_EXTENSION(LittleEndianStructure):
    """Public part only: wdm.h declares just these members; the rest is private to the kernel."""
    _fields_ = [("Type", CSHORT), ("Size", USHORT), ("DeviceObject", PVOID)]


class DEVICE_OBJECT(LittleEndianStructure):
    """DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) in the WDK, hence 0x150 rather than 0x148."""
    _align_ = MEMORY_ALLOCATION_ALIGNMENT
    _fields_ = _layout(
        ("Type", CSHORT),                   # IO_TYPE_DEVICE
        ("Size", USHORT),
        ("ReferenceCount", LONG),
        ("DriverObject", PVOID),
        ("NextDevice", PVOID),
        ("AttachedDevice", PVOID),
        ("CurrentIrp", PVOID),
        ("Timer", PVOID),
        ("Flags", ULONG),
        ("Characteristics", ULONG),
        ("Vpb", PVOID),
        ("DeviceExtension", PVOID),
        ("DeviceType", DEVICE_TYPE),
        ("StackSize", CCHAR),
        ("Queue", type("_DeviceObjectQueue", (LittleEndianUnion,), {
            "_fields_": [("ListEntry", LIST_ENTRY), ("Wcb", WAIT_CONTEXT_BLOCK)]})),
        ("AlignmentRequirement", ULONG),
        ("DeviceQueue", KDEVICE_QUEUE),
        ("Dpc", KDPC),
        ("ActiveThreadCount", ULONG),
        ("SecurityDescriptor", PVOID),
        ("DeviceLock", KEVENT),
        ("SectorSize", USHORT),
        ("Spare1", USHORT),
        ("DeviceObjectExtension", PVOID),
        ("Reserved", PVOID),
        align=MEMORY_ALLOCATION_ALIGNMENT,
    )


_FAST_IO_ROUTINES = (
    "FastIoCheckIfPossible", "FastIoRead", "FastIoWrite", "FastIoQueryBasicInfo",
    "FastIoQueryStandardInfo", "FastIoLock", "FastIoUnlockSingle", "FastIoUnlockAll",
    "FastIoUnlockAllByKey", "FastIoDeviceControl", "AcquireFileForNtCreateSection",
    "ReleaseFileForNtCreateSection", "FastIoDetachDevice", "FastIoQueryNetworkOpenInfo",
    "AcquireForModWrite", "MdlRead", "MdlReadComplete", "PrepareMdlWrite", "MdlWriteComplete",
    "FastIoReadCompressed", "FastIoWriteCompressed", "MdlReadCompleteCompressed",
    "MdlWriteCompleteCompressed", "FastIoQueryOpen", "ReleaseForModWrite", "AcquireForCcFlush",
    "ReleaseForCcFlush",
)


class FAST_IO_DISPATCH(LittleEndianStructure):
    _fields_ = [("SizeOfFastIoDispatch", ULONG)] + [(n, PVOID) for n in _FAST_IO_ROUTINES]


class MDL(LittleEndianStructure):
    """Followed in memory by the PFN array (ULONG_PTR per page)."""
    _fields_ = [
        ("Next", PVOID),
        ("Size", CSHORT),
        ("MdlFlags", CSHORT),
        ("AllocationProcessorNumber", USHORT),   # WDK 10; padding in older headers
        ("Reserved", USHORT),
        ("Process", PVOID),
        ("MappedSystemVa", PVOID),
        ("StartVa", PVOID),
        ("ByteCount", ULONG),
        ("ByteOffset", ULONG),
    ]


class FILE_OBJECT(LittleEndianStructure):
    _fields_ = [
        ("Type", CSHORT),                   # IO_TYPE_FILE
        ("Size", CSHORT),
        ("DeviceObject", PVOID),
        ("Vpb", PVOID),
        ("FsContext", PVOID),
        ("FsContext2", PVOID),
        ("SectionObjectPointer", PVOID),
        ("PrivateCacheMap", PVOID),
        ("FinalStatus", NTSTATUS),
        ("RelatedFileObject", PVOID),
        ("LockOperation", BOOLEAN),
        ("DeletePending", BOOLEAN),
        ("ReadAccess", BOOLEAN),
        ("WriteAccess", BOOLEAN),
        ("DeleteAccess", BOOLEAN),
        ("SharedRead", BOOLEAN),
        ("SharedWrite", BOOLEAN),
        ("SharedDelete", BOOLEAN),
        ("Flags", ULONG),
        ("FileName", UNICODE_STRING),
        ("CurrentByteOffset", LARGE_INTEGER),
        ("Waiters", ULONG),
        ("Busy", ULONG),
        ("LastLock", PVOID),
        ("Lock", KEVENT),
        ("Event", KEVENT),
        ("CompletionContext", PVOID),
        ("IrpListLock", KSPIN_LOCK),
        ("IrpList", LIST_ENTRY),
        ("FileObjectExtension", PVOID),
    ]


# IRP -------------------------------------------------------------------------------------------
class _IrpAssociatedIrp(LittleEndianUnion):
    _fields_ = [("MasterIrp", PVOID), ("IrpCount", LONG), ("SystemBuffer", PVOID)]


class _IrpAsynchronousParameters(LittleEndianStructure):
    _anonymous_ = ("_Apc",)
    _fields_ = [
        ("_Apc", _alias_union("_IrpUserApc", PVOID, "UserApcRoutine", "IssuingProcess")),
        ("UserApcContext", PVOID),
    ]


class _IrpOverlay(LittleEndianUnion):
    _fields_ = [
        ("AsynchronousParameters", _IrpAsynchronousParameters),
        ("AllocationSize", LARGE_INTEGER),
    ]


class _IrpTailOverlay(LittleEndianStructure):
    # The header's anonymous struct { LIST_ENTRY ListEntry; union {...}; } is flattened: same bytes.
    _anonymous_ = ("_Queue", "_Location")
    _fields_ = [
        ("_Queue", type("_IrpTailQueue", (LittleEndianUnion,), {
            "_fields_": [("DeviceQueueEntry", KDEVICE_QUEUE_ENTRY),
                         ("DriverContext", PVOID * 4)]})),
        ("Thread", PVOID),
        ("AuxiliaryBuffer", PVOID),
        ("ListEntry", LIST_ENTRY),
        ("_Location", type("_IrpTailLocation", (LittleEndianUnion,), {
            "_fields_": [("CurrentStackLocation", PVOID), ("PacketType", ULONG)]})),
        ("OriginalFileObject", PVOID),
    ]


class _IrpTail(LittleEndianUnion):
    _fields_ = [("Overlay", _IrpTailOverlay), ("Apc", KAPC), ("CompletionKey", PVOID)]


class IRP(LittleEndianStructure):
    """Fixed part; IoAllocateIrp places StackSize IO_STACK_LOCATIONs right after it."""
    _align_ = MEMORY_ALLOCATION_ALIGNMENT
    _fields_ = _layout(
        ("Type", CSHORT),                   # IO_TYPE_IRP
        ("Size", USHORT),
        ("AllocationProcessorNumber", USHORT),   # WDK 10; padding in older headers
        ("Reserved", USHORT),
        ("MdlAddress", PVOID),
        ("Flags", ULONG),
        ("AssociatedIrp", _IrpAssociatedIrp),
        ("ThreadListEntry", LIST_ENTRY),
        ("IoStatus", IO_STATUS_BLOCK),
        ("RequestorMode", KPROCESSOR_MODE),
        ("PendingReturned", BOOLEAN),
        ("StackCount", CHAR),
        ("CurrentLocation", CHAR),
        ("Cancel", BOOLEAN),
        ("CancelIrql", KIRQL),
        ("ApcEnvironment", CCHAR),
        ("AllocationFlags", UCHAR),
        ("UserIosb", PVOID),
        ("UserEvent", PVOID),
        ("Overlay", _IrpOverlay),
        ("CancelRoutine", PVOID),
        ("UserBuffer", PVOID),
        ("Tail", _IrpTail),
        align=MEMORY_ALLOCATION_ALIGNMENT,
    )


# IO_STACK_LOCATION.Parameters -------------------------------------------------------------------
# One class per distinct shape; members of the union that share a shape share the class.
def _ulong_pair(first: str, second: str) -> type:
    """{ ULONG <first>; ULONG POINTER_ALIGNMENT <second>; } - the commonest parameter shape."""
    return _struct(f"_{first}And{second}", (first, ULONG), _ptr_aligned(second, ULONG))


def _control(code: str) -> type:
    """DeviceIoControl and FileSystemControl differ only in the control code's name."""
    return _struct(f"_{code}Parameters",
                   ("OutputBufferLength", ULONG),
                   _ptr_aligned("InputBufferLength", ULONG),
                   _ptr_aligned(code, ULONG),
                   ("Type3InputBuffer", PVOID))


def _single(name: str, ctype: type) -> type:
    return _struct(f"_{name}Parameter", (name, ctype))


_ReadWriteParameters = _struct(
    "_ReadWriteParameters",
    ("Length", ULONG),
    _ptr_aligned("Key", ULONG),
    ("Flags", ULONG),                        # _WIN64 only
    ("ByteOffset", LARGE_INTEGER),
)
_VolumeParameters = _struct("_VolumeParameters", ("Vpb", PVOID), ("DeviceObject", PVOID))
_LengthParameter = _single("Length", ULONG)
_FsInformationParameters = _ulong_pair("Length", "FsInformationClass")
_SetFileTarget = type("_SetFileTarget", (LittleEndianUnion,), {
    "_anonymous_": ("_Flags",),
    "_fields_": [("_Flags", _struct("_SetFileFlags", ("ReplaceIfExists", BOOLEAN),
                                    ("AdvanceOnly", BOOLEAN))),
                 ("ClusterCount", ULONG),
                 ("DeleteHandle", HANDLE)]})


class IO_STACK_LOCATION_PARAMETERS(LittleEndianUnion):
    _fields_ = [
        ("Create", _struct("_CreateParameters",
                           ("SecurityContext", PVOID),
                           ("Options", ULONG),
                           _ptr_aligned("FileAttributes", USHORT),
                           ("ShareAccess", USHORT),
                           _ptr_aligned("EaLength", ULONG))),
        ("Read", _ReadWriteParameters),
        ("Write", _ReadWriteParameters),
        ("QueryDirectory", _struct("_QueryDirectoryParameters",
                                   ("Length", ULONG),
                                   ("FileName", PVOID),
                                   ("FileInformationClass", ENUM),
                                   _ptr_aligned("FileIndex", ULONG))),
        ("NotifyDirectory", _ulong_pair("Length", "CompletionFilter")),
        ("QueryFile", _ulong_pair("Length", "FileInformationClass")),
        ("SetFile", _struct("_SetFileParameters",
                            ("Length", ULONG),
                            _ptr_aligned("FileInformationClass", ENUM),
                            ("FileObject", PVOID),
                            ("_Target", _SetFileTarget),
                            anonymous=("_Target",))),
        ("QueryEa", _struct("_QueryEaParameters",
                            ("Length", ULONG),
                            ("EaList", PVOID),
                            ("EaListLength", ULONG),
                            _ptr_aligned("EaIndex", ULONG))),
        ("SetEa", _LengthParameter),
        ("QueryVolume", _FsInformationParameters),
        ("SetVolume", _FsInformationParameters),
        ("FileSystemControl", _control("FsControlCode")),
        ("LockControl", _struct("_LockControlParameters",
                                ("Length", PVOID),
                                _ptr_aligned("Key", ULONG),
                                ("ByteOffset", LARGE_INTEGER))),
        ("DeviceIoControl", _control("IoControlCode")),
        ("QuerySecurity", _ulong_pair("SecurityInformation", "Length")),
        ("SetSecurity", _struct("_SetSecurityParameters",
                                ("SecurityInformation", SECURITY_INFORMATION),
                                ("SecurityDescriptor", PVOID))),
        ("MountVolume", _VolumeParameters),
        ("VerifyVolume", _VolumeParameters),
        ("Scsi", _single("Srb", PVOID)),
        ("QueryQuota", _struct("_QueryQuotaParameters",
                               ("Length", ULONG),
                               ("StartSid", PVOID),
                               ("SidList", PVOID),
                               ("SidListLength", ULONG))),
        ("SetQuota", _LengthParameter),
        ("QueryDeviceRelations", _single("Type", ENUM)),
        ("QueryInterface", _struct("_QueryInterfaceParameters",
                                   ("InterfaceType", PVOID),
                                   ("Size", USHORT),
                                   ("Version", USHORT),
                                   ("Interface", PVOID),
                                   ("InterfaceSpecificData", PVOID))),
        ("DeviceCapabilities", _single("Capabilities", PVOID)),
        ("FilterResourceRequirements", _single("IoResourceRequirementList", PVOID)),
        ("ReadWriteConfig", _struct("_ReadWriteConfigParameters",
                                    ("WhichSpace", ULONG),
                                    ("Buffer", PVOID),
                                    ("Offset", ULONG),
                                    _ptr_aligned("Length", ULONG))),
        ("SetLock", _single("Lock", BOOLEAN)),
        ("QueryId", _single("IdType", ENUM)),
        ("QueryDeviceText", _struct("_QueryDeviceTextParameters",
                                    ("DeviceTextType", ENUM),
                                    _ptr_aligned("LocaleId", LCID))),
        ("UsageNotification", _struct("_UsageNotificationParameters",
                                      ("InPath", BOOLEAN),
                                      ("Reserved", BOOLEAN * 3),
                                      _ptr_aligned("Type", ENUM))),
        ("WaitWake", _single("PowerState", ENUM)),
        ("PowerSequence", _single("PowerSequence", PVOID)),
        ("Power", _struct("_PowerParameters",
                          ("_Context", _alias_union("_PowerContext", ULONG, "SystemContext",
                                                    "SystemPowerStateContext")),
                          _ptr_aligned("Type", ENUM),
                          _ptr_aligned("State", ULONG),      # POWER_STATE: a 4-byte union
                          _ptr_aligned("ShutdownType", ENUM),
                          anonymous=("_Context",))),
        ("StartDevice", _struct("_StartDeviceParameters",
                                ("AllocatedResources", PVOID),
                                ("AllocatedResourcesTranslated", PVOID))),
        ("WMI", _struct("_WmiParameters",
                        ("ProviderId", ULONG_PTR),
                        ("DataPath", PVOID),
                        ("BufferSize", ULONG),
                        ("Buffer", PVOID))),
        ("Others", _struct("_OtherParameters", *[(f"Argument{i}", PVOID) for i in range(1, 5)])),
    ]


class IO_STACK_LOCATION(LittleEndianStructure):
    _fields_ = [
        ("MajorFunction", UCHAR),
        ("MinorFunction", UCHAR),
        ("Flags", UCHAR),
        ("Control", UCHAR),
        ("Parameters", IO_STACK_LOCATION_PARAMETERS),
        ("DeviceObject", PVOID),
        ("FileObject", PVOID),
        ("CompletionRoutine", PVOID),
        ("Context", PVOID),
    ]


class IO_SECURITY_CONTEXT(LittleEndianStructure):
    """IO_STACK_LOCATION.Parameters.Create.SecurityContext points at one of these."""
    _fields_ = [
        ("SecurityQos", PVOID),
        ("AccessState", PVOID),
        ("DesiredAccess", ACCESS_MASK),
        ("FullCreateOptions", ULONG),
    ]


class IO_CSQ(LittleEndianStructure):
    """A cancel-safe queue: the driver's callbacks, called by IoCsq* (wdm.h)."""
    _fields_ = [
        ("Type", ULONG),                    # IO_TYPE_CSQ, or IO_TYPE_CSQ_EX for IoCsqInitializeEx
        ("CsqInsertIrp", PVOID),
        ("CsqRemoveIrp", PVOID),
        ("CsqPeekNextIrp", PVOID),
        ("CsqAcquireLock", PVOID),
        ("CsqReleaseLock", PVOID),
        ("CsqCompleteCanceledIrp", PVOID),
        ("ReservePointer", PVOID),
    ]


class IO_CSQ_IRP_CONTEXT(LittleEndianStructure):
    _fields_ = [("Type", ULONG), ("Irp", PVOID), ("Csq", PVOID)]


# Hardware resources handed over with IRP_MN_START_DEVICE (wdm.h, #include <pshpack4.h>).
class CM_PARTIAL_RESOURCE_DESCRIPTOR(LittleEndianStructure):
    """The `u` union (Port, Interrupt, Memory, Dma... at most 16 bytes) is kept as raw ULONGs."""
    _pack_ = 4
    _fields_ = [("Type", UCHAR), ("ShareDisposition", UCHAR), ("Flags", USHORT), ("u", ULONG * 4)]


class CM_PARTIAL_RESOURCE_LIST(LittleEndianStructure):
    _pack_ = 4
    _fields_ = [("Version", USHORT), ("Revision", USHORT), ("Count", ULONG),
                ("PartialDescriptors", CM_PARTIAL_RESOURCE_DESCRIPTOR * 1)]


class CM_FULL_RESOURCE_DESCRIPTOR(LittleEndianStructure):
    _pack_ = 4
    _fields_ = [("InterfaceType", ENUM), ("BusNumber", ULONG), ("PartialResourceList", CM_PARTIAL_RESOURCE_LIST)]


class CM_RESOURCE_LIST(LittleEndianStructure):
    _pack_ = 4
    _fields_ = [("Count", ULONG), ("List", CM_FULL_RESOURCE_DESCRIPTOR * 1)]


# --- lookaside lists --------------------------------------------------------------------------
# wdm.h's GENERAL_LOOKASIDE_LAYOUT macro: the one member list both lookaside headers expand.
_GENERAL_LOOKASIDE_ANONYMOUS = ("DUMMYUNIONNAME", "DUMMYUNIONNAME2", "DUMMYUNIONNAME3",
                                "DUMMYUNIONNAME4", "DUMMYUNIONNAME5", "DUMMYUNIONNAME6")
_GENERAL_LOOKASIDE_LAYOUT = (
    ("DUMMYUNIONNAME", type("_LookasideHead", (LittleEndianUnion,), {
        "_fields_": [("ListHead", SLIST_HEADER), ("SingleListHead", SINGLE_LIST_ENTRY)]})),
    ("Depth", USHORT),
    ("MaximumDepth", USHORT),
    ("TotalAllocates", ULONG),
    ("DUMMYUNIONNAME2", _alias_union("_LookasideAllocates", ULONG, "AllocateMisses",
                                     "AllocateHits")),
    ("TotalFrees", ULONG),
    ("DUMMYUNIONNAME3", _alias_union("_LookasideFrees", ULONG, "FreeMisses", "FreeHits")),
    ("Type", POOL_TYPE),
    ("Tag", ULONG),
    ("Size", ULONG),
    ("DUMMYUNIONNAME4", _alias_union("_LookasideAllocate", PVOID, "AllocateEx", "Allocate")),
    ("DUMMYUNIONNAME5", _alias_union("_LookasideFree", PVOID, "FreeEx", "Free")),
    ("ListEntry", LIST_ENTRY),
    ("LastTotalAllocates", ULONG),
    ("DUMMYUNIONNAME6", _alias_union("_LookasideLastAllocates", ULONG, "LastAllocateMisses",
                                     "LastAllocateHits")),
    ("Future", ULONG * 2),
)


class GENERAL_LOOKASIDE(LittleEndianStructure):
    """LOOKASIDE_ALIGN (64-byte cache alignment on x64): 0x60 bytes of members padded to 0x80."""
    _align_ = SYSTEM_CACHE_ALIGNMENT_SIZE
    _anonymous_ = _GENERAL_LOOKASIDE_ANONYMOUS
    _fields_ = _layout(*_GENERAL_LOOKASIDE_LAYOUT, align=SYSTEM_CACHE_ALIGNMENT_SIZE)


class GENERAL_LOOKASIDE_POOL(LittleEndianStructure):
    """Same members as GENERAL_LOOKASIDE but no LOOKASIDE_ALIGN in wdm.h, hence 0x60."""
    _anonymous_ = _GENERAL_LOOKASIDE_ANONYMOUS
    _fields_ = _layout(*_GENERAL_LOOKASIDE_LAYOUT)


class NPAGED_LOOKASIDE_LIST(LittleEndianStructure):
    """x64: just the cache-aligned GENERAL_LOOKASIDE (the Lock member exists only on x86)."""
    _align_ = SYSTEM_CACHE_ALIGNMENT_SIZE
    _fields_ = [("L", GENERAL_LOOKASIDE)]


class PAGED_LOOKASIDE_LIST(LittleEndianStructure):
    _align_ = SYSTEM_CACHE_ALIGNMENT_SIZE
    _fields_ = [("L", GENERAL_LOOKASIDE)]


class LOOKASIDE_LIST_EX(LittleEndianStructure):
    _fields_ = [("L", GENERAL_LOOKASIDE_POOL)]


# --- version and registry information ---------------------------------------------------------
class RTL_OSVERSIONINFOW(LittleEndianStructure):
    _fields_ = [
        ("dwOSVersionInfoSize", ULONG),
        ("dwMajorVersion", ULONG),
        ("dwMinorVersion", ULONG),
        ("dwBuildNumber", ULONG),
        ("dwPlatformId", ULONG),
        ("szCSDVersion", WCHAR * 128),
    ]


class RTL_OSVERSIONINFOEXW(RTL_OSVERSIONINFOW):
    """RTL_OSVERSIONINFOW followed by the EX members (ctypes appends subclass fields)."""
    _fields_ = [
        ("wServicePackMajor", USHORT),
        ("wServicePackMinor", USHORT),
        ("wSuiteMask", USHORT),
        ("wProductType", UCHAR),
        ("wReserved", UCHAR),
    ]


class _KeyValueHeader(LittleEndianStructure):
    _fields_ = [("TitleIndex", ULONG), ("Type", ULONG)]


class KEY_VALUE_PARTIAL_INFORMATION(_KeyValueHeader):
    """Variable-size: Data[1] is the first of DataLength bytes."""
    _fields_ = [("DataLength", ULONG), ("Data", UCHAR * 1)]


class KEY_VALUE_BASIC_INFORMATION(_KeyValueHeader):
    _fields_ = [("NameLength", ULONG), ("Name", WCHAR * 1)]


class KEY_VALUE_FULL_INFORMATION(_KeyValueHeader):
    _fields_ = [("DataOffset", ULONG), ("DataLength", ULONG), ("NameLength", ULONG),
                ("Name", WCHAR * 1)]


class KEY_BASIC_INFORMATION(LittleEndianStructure):
    _fields_ = [("LastWriteTime", LARGE_INTEGER), ("TitleIndex", ULONG), ("NameLength", ULONG),
                ("Name", WCHAR * 1)]


class RTL_QUERY_REGISTRY_TABLE(LittleEndianStructure):
    """One entry of RtlQueryRegistryValues' table; the table ends with QueryRoutine and Name NULL."""
    _fields_ = [
        ("QueryRoutine", PVOID),
        ("Flags", ULONG),
        ("Name", PVOID),
        ("EntryContext", PVOID),
        ("DefaultType", ULONG),
        ("DefaultData", PVOID),
        ("DefaultLength", ULONG),
    ]


# --- error log (wdm.h) ------------------------------------------------------------------------
class IO_ERROR_LOG_PACKET(LittleEndianStructure):
    """Variable-size: DumpData[1] is the first of DumpDataSize/4 ULONGs; insertion strings follow
    at StringOffset."""
    _fields_ = [
        ("MajorFunctionCode", UCHAR),
        ("RetryCount", UCHAR),
        ("DumpDataSize", USHORT),
        ("NumberOfStrings", USHORT),
        ("StringOffset", USHORT),
        ("EventCategory", USHORT),
        ("ErrorCode", NTSTATUS),
        ("UniqueErrorValue", ULONG),
        ("FinalStatus", NTSTATUS),
        ("SequenceNumber", ULONG),
        ("IoControlCode", ULONG),
        ("DeviceOffset", LARGE_INTEGER),
        ("DumpData", ULONG * 1),
    ]


class IO_ERROR_LOG_MESSAGE(LittleEndianStructure):
    _fields_ = [
        ("Type", USHORT),
        ("Size", USHORT),
        ("DriverNameLength", USHORT),
        ("TimeStamp", LARGE_INTEGER),
        ("DriverNameOffset", ULONG),
        ("EntryData", IO_ERROR_LOG_PACKET),
    ]


# wdm.h, _WIN64: the message header plus 40 WCHARs of driver name, the port message limit of 512.
IO_ERROR_LOG_MESSAGE_HEADER_LENGTH = (ctypes.sizeof(IO_ERROR_LOG_MESSAGE) - ctypes.sizeof(IO_ERROR_LOG_PACKET)
                                      + 2 * 40)
ERROR_LOG_LIMIT_SIZE = 240
PORT_MAXIMUM_MESSAGE_LENGTH = 512
ERROR_LOG_MAXIMUM_SIZE = (min(PORT_MAXIMUM_MESSAGE_LENGTH, ERROR_LOG_LIMIT_SIZE + IO_ERROR_LOG_MESSAGE_HEADER_LENGTH)
                          - IO_ERROR_LOG_MESSAGE_HEADER_LENGTH)


# --- object manager ---------------------------------------------------------------------------
class OBJECT_TYPE(LittleEndianStructure):
    """The leading members of the kernel's OBJECT_TYPE (not in the public headers; stable x64
    prefix from public symbols, Vergilius Project). Drivers compare the pointer with *PsProcessType
    etc. and sometimes read Name."""
    _fields_ = [
        ("TypeList", LIST_ENTRY),
        ("Name", UNICODE_STRING),
        ("DefaultObject", PVOID),
        ("Index", UCHAR),
        ("TotalNumberOfObjects", ULONG),
        ("TotalNumberOfHandles", ULONG),
    ]


class OB_OPERATION_REGISTRATION(LittleEndianStructure):
    _fields_ = [
        ("ObjectType", PVOID),              # POBJECT_TYPE *
        ("Operations", ULONG),              # OB_OPERATION_HANDLE_CREATE 1 | _DUPLICATE 2
        ("PreOperation", PVOID),
        ("PostOperation", PVOID),
    ]


class OB_CALLBACK_REGISTRATION(LittleEndianStructure):
    _fields_ = [
        ("Version", USHORT),                # OB_FLT_REGISTRATION_VERSION 0x100
        ("OperationRegistrationCount", USHORT),
        ("Altitude", UNICODE_STRING),
        ("RegistrationContext", PVOID),
        ("OperationRegistration", PVOID),
    ]


# --- bug-check callbacks (wdm.h) --------------------------------------------------------------
BufferEmpty, BufferInserted = 0, 1          # KBUGCHECK_BUFFER_DUMP_STATE


class KBUGCHECK_CALLBACK_RECORD(LittleEndianStructure):
    _fields_ = [
        ("Entry", LIST_ENTRY),
        ("CallbackRoutine", PVOID),
        ("Buffer", PVOID),
        ("Length", ULONG),
        ("Component", PVOID),
        ("Checksum", ULONG_PTR),
        ("State", UCHAR),
    ]


class KBUGCHECK_REASON_CALLBACK_RECORD(LittleEndianStructure):
    _fields_ = [
        ("Entry", LIST_ENTRY),
        ("CallbackRoutine", PVOID),
        ("Component", PVOID),
        ("Checksum", ULONG_PTR),
        ("Reason", ENUM),
        ("State", UCHAR),
    ]


# --- system information (ZwQuerySystemInformation; winternl.h / ntexapi.h) --------------------
class SYSTEM_BASIC_INFORMATION(LittleEndianStructure):
    _fields_ = [
        ("Reserved", ULONG),
        ("TimerResolution", ULONG),
        ("PageSize", ULONG),
        ("NumberOfPhysicalPages", ULONG),
        ("LowestPhysicalPageNumber", ULONG),
        ("HighestPhysicalPageNumber", ULONG),
        ("AllocationGranularity", ULONG),
        ("MinimumUserModeAddress", ULONG_PTR),
        ("MaximumUserModeAddress", ULONG_PTR),
        ("ActiveProcessorsAffinityMask", KAFFINITY),
        ("NumberOfProcessors", CCHAR),
    ]


class SYSTEM_PROCESSOR_INFORMATION(LittleEndianStructure):
    _fields_ = [
        ("ProcessorArchitecture", USHORT),
        ("ProcessorLevel", USHORT),
        ("ProcessorRevision", USHORT),
        ("MaximumProcessors", USHORT),
        ("ProcessorFeatureBits", ULONG),
    ]


class RTL_PROCESS_MODULE_INFORMATION(LittleEndianStructure):
    _fields_ = [
        ("Section", HANDLE),
        ("MappedBase", PVOID),
        ("ImageBase", PVOID),
        ("ImageSize", ULONG),
        ("Flags", ULONG),
        ("LoadOrderIndex", USHORT),
        ("InitOrderIndex", USHORT),
        ("LoadCount", USHORT),
        ("OffsetToFileName", USHORT),
        ("FullPathName", UCHAR * 256),
    ]


class RTL_PROCESS_MODULES(LittleEndianStructure):
    """Variable-size: NumberOfModules entries from Modules[0]."""
    _fields_ = [("NumberOfModules", ULONG), ("Modules", RTL_PROCESS_MODULE_INFORMATION * 1)]


class SYSTEM_THREAD_INFORMATION(LittleEndianStructure):
    _fields_ = [
        ("KernelTime", LARGE_INTEGER),
        ("UserTime", LARGE_INTEGER),
        ("CreateTime", LARGE_INTEGER),
        ("WaitTime", ULONG),
        ("StartAddress", PVOID),
        ("ClientId", CLIENT_ID),
        ("Priority", LONG),
        ("BasePriority", LONG),
        ("ContextSwitches", ULONG),
        ("ThreadState", ULONG),
        ("WaitReason", ULONG),
    ]


class SYSTEM_PROCESS_INFORMATION(LittleEndianStructure):
    """Followed by NumberOfThreads SYSTEM_THREAD_INFORMATION; NextEntryOffset 0 ends the list."""
    _fields_ = [
        ("NextEntryOffset", ULONG),
        ("NumberOfThreads", ULONG),
        ("WorkingSetPrivateSize", LARGE_INTEGER),
        ("HardFaultCount", ULONG),
        ("NumberOfThreadsHighWatermark", ULONG),
        ("CycleTime", ULONGLONG),
        ("CreateTime", LARGE_INTEGER),
        ("UserTime", LARGE_INTEGER),
        ("KernelTime", LARGE_INTEGER),
        ("ImageName", UNICODE_STRING),
        ("BasePriority", LONG),
        ("UniqueProcessId", HANDLE),
        ("InheritedFromUniqueProcessId", HANDLE),
        ("HandleCount", ULONG),
        ("SessionId", ULONG),
        ("UniqueProcessKey", ULONG_PTR),
        ("PeakVirtualSize", SIZE_T),
        ("VirtualSize", SIZE_T),
        ("PageFaultCount", ULONG),
        ("PeakWorkingSetSize", SIZE_T),
        ("WorkingSetSize", SIZE_T),
        ("QuotaPeakPagedPoolUsage", SIZE_T),
        ("QuotaPagedPoolUsage", SIZE_T),
        ("QuotaPeakNonPagedPoolUsage", SIZE_T),
        ("QuotaNonPagedPoolUsage", SIZE_T),
        ("PagefileUsage", SIZE_T),
        ("PeakPagefileUsage", SIZE_T),
        ("PrivatePageCount", SIZE_T),
        ("ReadOperationCount", LARGE_INTEGER),
        ("WriteOperationCount", LARGE_INTEGER),
        ("OtherOperationCount", LARGE_INTEGER),
        ("ReadTransferCount", LARGE_INTEGER),
        ("WriteTransferCount", LARGE_INTEGER),
        ("OtherTransferCount", LARGE_INTEGER),
    ]


class SYSTEM_KERNEL_DEBUGGER_INFORMATION(LittleEndianStructure):
    _fields_ = [("KernelDebuggerEnabled", BOOLEAN), ("KernelDebuggerNotPresent", BOOLEAN)]


class SYSTEM_CODEINTEGRITY_INFORMATION(LittleEndianStructure):
    _fields_ = [("Length", ULONG), ("CodeIntegrityOptions", ULONG)]


# --- loader -----------------------------------------------------------------------------------
class _LdrHashLinks(LittleEndianUnion):
    _anonymous_ = ("_Section",)
    _fields_ = [
        ("HashLinks", LIST_ENTRY),
        ("_Section", _struct("_LdrSection", ("SectionPointer", PVOID), ("CheckSum", ULONG))),
    ]


class LDR_DATA_TABLE_ENTRY(LittleEndianStructure):
    """The stable public x64 prefix (winternl.h documents DllBase 0x30, FullDllName 0x48,
    TimeDateStamp 0x80 and reserves the rest). The kernel's KLDR_DATA_TABLE_ENTRY, which
    DRIVER_OBJECT.DriverSection and PsLoadedModuleList point at, has different members in
    0x10..0x2F but the same DllBase..Flags offsets."""
    _anonymous_ = ("_Hash",)
    _fields_ = [
        ("InLoadOrderLinks", LIST_ENTRY),
        ("InMemoryOrderLinks", LIST_ENTRY),
        ("InInitializationOrderLinks", LIST_ENTRY),
        ("DllBase", PVOID),
        ("EntryPoint", PVOID),
        ("SizeOfImage", ULONG),
        ("FullDllName", UNICODE_STRING),
        ("BaseDllName", UNICODE_STRING),
        ("Flags", ULONG),
        ("LoadCount", USHORT),              # ObsoleteLoadCount since Windows 8
        ("TlsIndex", USHORT),
        ("_Hash", _LdrHashLinks),
        ("TimeDateStamp", ULONG),
    ]


# --- KUSER_SHARED_DATA ------------------------------------------------------------------------
class _TickCount(LittleEndianUnion):
    _fields_ = [("TickCount", KSYSTEM_TIME), ("TickCountQuad", ULONG64)]


class KUSER_SHARED_DATA(LittleEndianStructure):
    """The shared page at KI_USER_SHARED_DATA / MM_SHARED_USER_DATA_VA.

    Offsets are the ones the Windows Kits header pins with C_ASSERTs next to the definition
    (ntddk.h / ntexapi.h); the Windows 7-era mingw ntddk.h agrees wherever it has the field.
    Fields that moved between builds or that nobody reads are opaque Reserved_<offset> bytes.
    Size 0x708 is Windows 10 1507's; later builds grow it (0x720, then 0xA80), so map a page.
    """
    _anonymous_ = ("_Tick",)
    _fields_ = [
        ("TickCountLowDeprecated", ULONG),          # 0x000
        ("TickCountMultiplier", ULONG),             # 0x004
        ("InterruptTime", KSYSTEM_TIME),            # 0x008
        ("SystemTime", KSYSTEM_TIME),               # 0x014
        ("TimeZoneBias", KSYSTEM_TIME),             # 0x020
        ("ImageNumberLow", USHORT),                 # 0x02C
        ("ImageNumberHigh", USHORT),                # 0x02E
        ("NtSystemRoot", WCHAR * 260),              # 0x030
        ("MaxStackTraceDepth", ULONG),              # 0x238
        ("CryptoExponent", ULONG),                  # 0x23C
        ("TimeZoneId", ULONG),                      # 0x240
        ("LargePageMinimum", ULONG),                # 0x244
        ("AitSamplingValue", ULONG),                # 0x248
        ("AppCompatFlag", ULONG),                   # 0x24C
        ("RNGSeedVersion", ULONGLONG),              # 0x250
        ("GlobalValidationRunlevel", ULONG),        # 0x258
        ("TimeZoneBiasStamp", LONG),                # 0x25C
        ("NtBuildNumber", ULONG),                   # 0x260
        ("NtProductType", ENUM),                    # 0x264
        ("ProductTypeIsValid", BOOLEAN),            # 0x268
        ("Reserved0", UCHAR * 1),                   # 0x269
        ("NativeProcessorArchitecture", USHORT),    # 0x26A
        ("NtMajorVersion", ULONG),                  # 0x26C
        ("NtMinorVersion", ULONG),                  # 0x270
        ("ProcessorFeatures", BOOLEAN * 64),        # 0x274  PROCESSOR_FEATURE_MAX
        ("Reserved1", ULONG),                       # 0x2B4
        ("Reserved3", ULONG),                       # 0x2B8
        ("TimeSlip", ULONG),                        # 0x2BC
        ("AlternativeArchitecture", ENUM),          # 0x2C0
        ("BootId", ULONG),                          # 0x2C4
        ("SystemExpirationDate", LARGE_INTEGER),    # 0x2C8
        ("SuiteMask", ULONG),                       # 0x2D0
        ("KdDebuggerEnabled", BOOLEAN),             # 0x2D4
        ("MitigationPolicies", UCHAR),              # 0x2D5  (NXSupportPolicy bits, etc.)
        ("CyclesPerYield", USHORT),                 # 0x2D6
        ("ActiveConsoleId", ULONG),                 # 0x2D8
        ("DismountCount", ULONG),                   # 0x2DC
        ("ComPlusPackage", ULONG),                  # 0x2E0
        ("LastSystemRITEventTickCount", ULONG),     # 0x2E4
        ("NumberOfPhysicalPages", ULONG),           # 0x2E8
        ("SafeBootMode", BOOLEAN),                  # 0x2EC
        ("VirtualizationFlags", UCHAR),             # 0x2ED
        ("Reserved12", UCHAR * 2),                  # 0x2EE
        ("SharedDataFlags", ULONG),                 # 0x2F0
        ("DataFlagsPad", ULONG * 1),                # 0x2F4
        ("TestRetInstruction", ULONGLONG),          # 0x2F8
        ("QpcFrequency", LONGLONG),                 # 0x300
        ("SystemCall", ULONG),                      # 0x308  (0x300 before Windows 8)
        ("Reserved2", ULONG),                       # 0x30C
        ("Reserved_310", UCHAR * 0x10),             # 0x310  SystemCallPad / FullNumberOf...
        ("_Tick", _TickCount),                      # 0x320  TickCount / TickCountQuad
        ("Cookie", ULONG),                          # 0x330
        ("CookiePad", ULONG * 1),                   # 0x334
        ("ConsoleSessionForegroundProcessId", LONGLONG),  # 0x338
        ("TimeUpdateLock", ULONGLONG),              # 0x340
        ("BaselineSystemTimeQpc", ULONGLONG),       # 0x348
        ("BaselineInterruptTimeQpc", ULONGLONG),    # 0x350
        ("QpcSystemTimeIncrement", ULONGLONG),      # 0x358
        ("QpcInterruptTimeIncrement", ULONGLONG),   # 0x360
        ("QpcSystemTimeIncrementShift", UCHAR),     # 0x368
        ("QpcInterruptTimeIncrementShift", UCHAR),  # 0x369
        ("UnparkedProcessorCount", USHORT),         # 0x36A
        ("EnclaveFeatureMask", ULONG * 4),          # 0x36C
        ("TelemetryCoverageRound", ULONG),          # 0x37C
        ("UserModeGlobalLogger", USHORT * 16),      # 0x380
        ("ImageFileExecutionOptions", ULONG),       # 0x3A0
        ("LangGenerationCount", ULONG),             # 0x3A4
        ("Reserved4", ULONGLONG),                   # 0x3A8
        ("InterruptTimeBias", ULONGLONG),           # 0x3B0
        ("QpcBias", ULONGLONG),                     # 0x3B8
        ("ActiveProcessorCount", ULONG),            # 0x3C0
        ("ActiveGroupCount", UCHAR),                # 0x3C4
        ("Reserved9", UCHAR),                       # 0x3C5
        ("QpcData", USHORT),                        # 0x3C6  QpcBypassEnabled, QpcReserved/Shift
        ("TimeZoneBiasEffectiveStart", LARGE_INTEGER),  # 0x3C8
        ("TimeZoneBiasEffectiveEnd", LARGE_INTEGER),    # 0x3D0
        ("Reserved_3D8", UCHAR * (0x708 - 0x3D8)),  # 0x3D8  XSTATE_CONFIGURATION (size varies)
    ]


# --- processor control region (what GS points at in kernel mode) ------------------------------
class KPRCB(LittleEndianStructure):
    """Leading members of the x64 KPRCB, stable since Windows 7. The real structure is tens of
    kilobytes and build-specific; only this prefix is modelled.

    Source: Vergilius Project / public-symbol dumps of _KPRCB (Windows 7 - 11 x64), the WRK
    amd64 layout. Number is a ULONG at +0x24 from Windows 7 on; the byte at +0x4 is
    LegacyNumber (with ReservedMustBeZero after it), which is why mingw-w64's ntddk.h
    KeGetCurrentProcessorNumber can still read a word at gs:[0x184] (Vista kept a USHORT there).
    """
    _fields_ = [
        ("MxCsr", ULONG),                   # +0x00
        ("LegacyNumber", UCHAR),            # +0x04
        ("ReservedMustBeZero", UCHAR),      # +0x05
        ("InterruptRequest", BOOLEAN),      # +0x06
        ("IdleHalt", BOOLEAN),              # +0x07
        ("CurrentThread", PVOID),           # +0x08  gs:[0x188], KeGetCurrentThread (wdm.h)
        ("NextThread", PVOID),              # +0x10
        ("IdleThread", PVOID),              # +0x18
        ("NestingLevel", UCHAR),            # +0x20
        ("ClockOwner", BOOLEAN),            # +0x21
        ("PendingTickFlags", UCHAR),        # +0x22
        ("IdleState", UCHAR),               # +0x23
        ("Number", ULONG),                  # +0x24
        ("RspBase", ULONGLONG),             # +0x28
        ("PrcbLock", KSPIN_LOCK),           # +0x30
    ]


class KPCR(LittleEndianStructure):
    """x64 KPCR, laid out as in mingw-w64 ntddk.h (_AMD64_ KPCR) up to PcrAlign1, followed by the
    embedded KPRCB at 0x180 (Vergilius / public symbols: ``+0x180 Prcb : _KPRCB``; the KPRCB is
    16-byte aligned, hence 8 bytes of padding after PcrAlign1). The header's NtTib union is
    flattened to its anonymous-struct view; NT_TIB.Self would be Used_Self at 0x30."""
    _fields_ = _layout(
        ("GdtBase", PVOID),                 # 0x00
        ("TssBase", PVOID),                 # 0x08
        ("UserRsp", ULONG64),               # 0x10
        ("Self", PVOID),                    # 0x18  KeGetPcr(): gs:[0x18]
        ("CurrentPrcb", PVOID),             # 0x20
        ("LockArray", PVOID),               # 0x28
        ("Used_Self", PVOID),               # 0x30
        ("IdtBase", PVOID),                 # 0x38
        ("Unused", ULONG64 * 2),            # 0x40
        ("Irql", KIRQL),                    # 0x50  x64 keeps the IRQL in CR8; kept for layout
        ("SecondLevelCacheAssociativity", UCHAR),
        ("ObsoleteNumber", UCHAR),          # 0x52
        ("Fill0", UCHAR),
        ("Unused0", ULONG * 3),             # 0x54
        ("MajorVersion", USHORT),           # 0x60
        ("MinorVersion", USHORT),           # 0x62
        ("StallScaleFactor", ULONG),        # 0x64
        ("Unused1", PVOID * 3),             # 0x68
        ("KernelReserved", ULONG * 15),     # 0x80
        ("SecondLevelCacheSize", ULONG),    # 0xBC
        ("HalReserved", ULONG * 16),        # 0xC0
        ("Unused2", ULONG),                 # 0x100
        ("KdVersionBlock", PVOID),          # 0x108
        ("Unused3", PVOID),                 # 0x110
        ("PcrAlign1", ULONG * 24),          # 0x118
        _Aligned("Prcb", KPRCB, 16),        # 0x180  gs:[0x188] = Prcb.CurrentThread
    )


# fltmgr.sys (fltKernel.h; layouts from Microsoft's fltkernel DDI reference) ---------------------------
FLT_CONTEXT_END = 0xFFFF                 # ContextType of the last FLT_CONTEXT_REGISTRATION
IRP_MJ_OPERATION_END = 0x80              # MajorFunction of the last FLT_OPERATION_REGISTRATION


class FLT_CONTEXT_REGISTRATION(LittleEndianStructure):
    _fields_ = [
        ("ContextType", USHORT),            # FLT_CONTEXT_TYPE
        ("Flags", USHORT),                  # FLT_CONTEXT_REGISTRATION_FLAGS
        ("ContextCleanupCallback", PVOID),
        ("Size", SIZE_T),
        ("PoolTag", ULONG),
        ("ContextAllocateCallback", PVOID),
        ("ContextFreeCallback", PVOID),
        ("Reserved1", PVOID),
    ]


class FLT_OPERATION_REGISTRATION(LittleEndianStructure):
    _fields_ = [
        ("MajorFunction", UCHAR),
        ("Flags", ULONG),                   # FLT_OPERATION_REGISTRATION_FLAGS
        ("PreOperation", PVOID),
        ("PostOperation", PVOID),
        ("Reserved1", PVOID),
    ]


class FLT_REGISTRATION(LittleEndianStructure):
    """FLT_REGISTRATION_VERSION 0x0203; 0x0201 ends before TransactionNotificationCallback and
    0x0202 before SectionNotificationCallback."""
    _fields_ = [
        ("Size", USHORT),
        ("Version", USHORT),
        ("Flags", ULONG),                   # FLT_REGISTRATION_FLAGS
        ("ContextRegistration", PVOID),
        ("OperationRegistration", PVOID),
        ("FilterUnloadCallback", PVOID),
        ("InstanceSetupCallback", PVOID),
        ("InstanceQueryTeardownCallback", PVOID),
        ("InstanceTeardownStartCallback", PVOID),
        ("InstanceTeardownCompleteCallback", PVOID),
        ("GenerateFileNameCallback", PVOID),
        ("NormalizeNameComponentCallback", PVOID),
        ("NormalizeContextCleanupCallback", PVOID),
        ("TransactionNotificationCallback", PVOID),
        ("NormalizeNameComponentExCallback", PVOID),
        ("SectionNotificationCallback", PVOID),
    ]


class FLT_IO_PARAMETER_BLOCK(LittleEndianStructure):
    """The fixed part; FLT_PARAMETERS (a union per operation) follows at offset 0x18."""
    _fields_ = [
        ("IrpFlags", ULONG),
        ("MajorFunction", UCHAR),
        ("MinorFunction", UCHAR),
        ("OperationFlags", UCHAR),
        ("Reserved", UCHAR),
        ("TargetFileObject", PVOID),
        ("TargetInstance", PVOID),
    ]


class FLT_CALLBACK_DATA(LittleEndianStructure):
    """The part before the queue links, which is all the filter manager's routines read here."""
    _fields_ = [
        ("Flags", ULONG),                   # FLTFL_CALLBACK_DATA_*
        ("Thread", PVOID),
        ("Iopb", PVOID),
        ("IoStatus", IO_STATUS_BLOCK),
    ]


class FLT_FILE_NAME_INFORMATION(LittleEndianStructure):
    _fields_ = [
        ("Size", USHORT),
        ("NamesParsed", USHORT),            # FLTFL_FILE_NAME_PARSED_*
        ("Format", ULONG),                  # FLT_FILE_NAME_OPTIONS
        ("Name", UNICODE_STRING),
        ("Volume", UNICODE_STRING),
        ("Share", UNICODE_STRING),
        ("Extension", UNICODE_STRING),
        ("Stream", UNICODE_STRING),
        ("FinalComponent", UNICODE_STRING),
        ("ParentDir", UNICODE_STRING),
    ]

# --- exception dispatch: what the kernel builds on the stack when a driver's code faults ---------
class EXCEPTION_RECORD(LittleEndianStructure):
    """EXCEPTION_RECORD (x64 = EXCEPTION_RECORD64, winnt.h)."""
    _fields_ = _layout(
        ("ExceptionCode", NTSTATUS),        # 0x00
        ("ExceptionFlags", ULONG),          # 0x04
        ("ExceptionRecord", PVOID),         # 0x08
        ("ExceptionAddress", PVOID),        # 0x10
        ("NumberParameters", ULONG),        # 0x18
        ("ExceptionInformation", ULONG_PTR * 15),   # 0x20
    )


EXCEPTION_MAXIMUM_PARAMETERS = 15


class EXCEPTION_POINTERS(LittleEndianStructure):
    """What an __except filter gets (GetExceptionInformation())."""
    _fields_ = [("ExceptionRecord", PVOID), ("ContextRecord", PVOID)]


# CONTEXT's general registers in x64 encoding order (0 Rax .. 4 Rsp .. 15 R15), as the CPU and the
# unwinder number them.
CONTEXT_GPRS = ("Rax", "Rcx", "Rdx", "Rbx", "Rsp", "Rbp", "Rsi", "Rdi",
                "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15")


class CONTEXT(LittleEndianStructure):
    """CONTEXT (x64, winnt.h; DECLSPEC_ALIGN(16)). The x87/SSE save area and vector registers are
    kept as bytes: the kernel here records integer state only."""
    _fields_ = _layout(
        ("P1Home", ULONG64 * 6),            # 0x00
        ("ContextFlags", ULONG),            # 0x30
        ("MxCsr", ULONG),                   # 0x34
        ("SegCs", USHORT), ("SegDs", USHORT), ("SegEs", USHORT),
        ("SegFs", USHORT), ("SegGs", USHORT), ("SegSs", USHORT),   # 0x38..0x42
        ("EFlags", ULONG),                  # 0x44
        ("Dr0", ULONG64), ("Dr1", ULONG64), ("Dr2", ULONG64), ("Dr3", ULONG64),
        ("Dr6", ULONG64), ("Dr7", ULONG64),                        # 0x48..0x70
        ("Rax", ULONG64), ("Rcx", ULONG64), ("Rdx", ULONG64), ("Rbx", ULONG64),   # 0x78
        ("Rsp", ULONG64), ("Rbp", ULONG64), ("Rsi", ULONG64), ("Rdi", ULONG64),   # 0x98
        ("R8", ULONG64), ("R9", ULONG64), ("R10", ULONG64), ("R11", ULONG64),     # 0xB8
        ("R12", ULONG64), ("R13", ULONG64), ("R14", ULONG64), ("R15", ULONG64),   # 0xD8
        ("Rip", ULONG64),                   # 0xF8
        ("FltSave", UCHAR * 512),           # 0x100 XMM_SAVE_AREA32
        ("VectorRegister", UCHAR * (26 * 16)),   # 0x300 M128A[26]
        ("VectorControl", ULONG64),         # 0x4A0
        ("DebugControl", ULONG64),
        ("LastBranchToRip", ULONG64), ("LastBranchFromRip", ULONG64),
        ("LastExceptionToRip", ULONG64), ("LastExceptionFromRip", ULONG64),   # 0x4C8
        align=16,
    )


CONTEXT_AMD64 = 0x00100000
CONTEXT_CONTROL = CONTEXT_AMD64 | 0x1
CONTEXT_INTEGER = CONTEXT_AMD64 | 0x2


class KTRAP_FRAME(LittleEndianStructure):
    """KTRAP_FRAME (x64), the frame the trap handlers build; the layout of the public symbols
    (`dt nt!_KTRAP_FRAME`, Windows 10/11). The XMM and debug-register parts are kept as bytes."""
    _fields_ = _layout(
        ("P1Home", ULONG64), ("P2Home", ULONG64), ("P3Home", ULONG64), ("P4Home", ULONG64),
        ("P5", ULONG64),                    # 0x20
        ("PreviousMode", CHAR),             # 0x28
        ("PreviousIrql", KIRQL),            # 0x29
        ("FaultIndicator", UCHAR),          # 0x2A
        ("ExceptionActive", UCHAR),         # 0x2B
        ("MxCsr", ULONG),                   # 0x2C
        ("Rax", ULONG64), ("Rcx", ULONG64), ("Rdx", ULONG64), ("R8", ULONG64),    # 0x30
        ("R9", ULONG64), ("R10", ULONG64), ("R11", ULONG64),                       # 0x50
        ("GsBase", ULONG64),                # 0x68
        ("Xmm", UCHAR * (6 * 16)),          # 0x70 Xmm0..Xmm5
        ("FaultAddress", ULONG64),          # 0xD0
        ("DebugRegisters", ULONG64 * 6),    # 0xD8 Dr0..Dr3, Dr6, Dr7
        ("BranchRecords", ULONG64 * 5),     # 0x108 DebugControl, LastBranch*, LastException*
        ("SegDs", USHORT), ("SegEs", USHORT), ("SegFs", USHORT), ("SegGs", USHORT),   # 0x130
        ("TrapFrame", ULONG64),             # 0x138
        ("Rbx", ULONG64), ("Rdi", ULONG64), ("Rsi", ULONG64), ("Rbp", ULONG64),   # 0x140
        ("ErrorCode", ULONG64),             # 0x160
        ("Rip", ULONG64),                   # 0x168
        ("SegCs", USHORT), ("Fill0", UCHAR), ("Logging", UCHAR), ("Fill1", USHORT * 2),   # 0x170
        ("EFlags", ULONG), ("Fill2", ULONG),    # 0x178
        ("Rsp", ULONG64),                   # 0x180
        ("SegSs", USHORT), ("Fill3", USHORT), ("Fill4", ULONG),   # 0x188
    )


# --- file information (wdm.h / ntifs.h FILE_*_INFORMATION) ---------------------------------------
# Variable-length ones end in FileName[1]; offset_of(cls, "FileName") is where the name starts.
class FILE_BASIC_INFORMATION(LittleEndianStructure):
    _fields_ = [("CreationTime", LARGE_INTEGER), ("LastAccessTime", LARGE_INTEGER),
                ("LastWriteTime", LARGE_INTEGER), ("ChangeTime", LARGE_INTEGER), ("FileAttributes", ULONG)]


class FILE_STANDARD_INFORMATION(LittleEndianStructure):
    _fields_ = [("AllocationSize", LARGE_INTEGER), ("EndOfFile", LARGE_INTEGER), ("NumberOfLinks", ULONG),
                ("DeletePending", BOOLEAN), ("Directory", BOOLEAN)]


class FILE_NETWORK_OPEN_INFORMATION(LittleEndianStructure):
    _fields_ = [("CreationTime", LARGE_INTEGER), ("LastAccessTime", LARGE_INTEGER),
                ("LastWriteTime", LARGE_INTEGER), ("ChangeTime", LARGE_INTEGER), ("AllocationSize", LARGE_INTEGER),
                ("EndOfFile", LARGE_INTEGER), ("FileAttributes", ULONG)]


class FILE_ATTRIBUTE_TAG_INFORMATION(LittleEndianStructure):
    _fields_ = [("FileAttributes", ULONG), ("ReparseTag", ULONG)]


class FILE_NAME_INFORMATION(LittleEndianStructure):
    _fields_ = [("FileNameLength", ULONG), ("FileName", WCHAR * 1)]


class FILE_RENAME_INFORMATION(LittleEndianStructure):
    _fields_ = [("ReplaceIfExists", BOOLEAN), ("RootDirectory", HANDLE), ("FileNameLength", ULONG),
                ("FileName", WCHAR * 1)]


class FILE_DIRECTORY_INFORMATION(LittleEndianStructure):
    _fields_ = [("NextEntryOffset", ULONG), ("FileIndex", ULONG), ("CreationTime", LARGE_INTEGER),
                ("LastAccessTime", LARGE_INTEGER), ("LastWriteTime", LARGE_INTEGER), ("ChangeTime", LARGE_INTEGER),
                ("EndOfFile", LARGE_INTEGER), ("AllocationSize", LARGE_INTEGER), ("FileAttributes", ULONG),
                ("FileNameLength", ULONG), ("FileName", WCHAR * 1)]


class FILE_FULL_DIR_INFORMATION(LittleEndianStructure):
    _fields_ = FILE_DIRECTORY_INFORMATION._fields_[:-1] + [("EaSize", ULONG), ("FileName", WCHAR * 1)]


class FILE_BOTH_DIR_INFORMATION(LittleEndianStructure):
    _fields_ = FILE_DIRECTORY_INFORMATION._fields_[:-1] + [
        ("EaSize", ULONG), ("ShortNameLength", CCHAR), ("ShortName", WCHAR * 12), ("FileName", WCHAR * 1)]


class FILE_NAMES_INFORMATION(LittleEndianStructure):
    _fields_ = [("NextEntryOffset", ULONG), ("FileIndex", ULONG), ("FileNameLength", ULONG),
                ("FileName", WCHAR * 1)]


class FILE_FS_SIZE_INFORMATION(LittleEndianStructure):
    _fields_ = [("TotalAllocationUnits", LARGE_INTEGER), ("AvailableAllocationUnits", LARGE_INTEGER),
                ("SectorsPerAllocationUnit", ULONG), ("BytesPerSector", ULONG)]


class FILE_FS_DEVICE_INFORMATION(LittleEndianStructure):
    _fields_ = [("DeviceType", DEVICE_TYPE), ("Characteristics", ULONG)]


# --- work items -----------------------------------------------------------------------------------
class WORK_QUEUE_ITEM(LittleEndianStructure):
    """wdm.h WORK_QUEUE_ITEM (ExInitializeWorkItem fills it inline; ExQueueWorkItem queues it)."""
    _fields_ = [
        ("List", LIST_ENTRY),
        ("WorkerRoutine", PVOID),           # VOID (*)(PVOID Parameter)
        ("Parameter", PVOID),
    ]


class IO_WORKITEM(LittleEndianStructure):
    """The opaque IO_WORKITEM (IoAllocateWorkItem / IoSizeofWorkItem); the layout of the public
    symbols (`dt nt!_IO_WORKITEM`, Windows 10/11 x64), 0x58 bytes."""
    _fields_ = [
        ("WorkItem", WORK_QUEUE_ITEM),      # 0x00
        ("Routine", PVOID),                 # 0x20
        ("IoObject", PVOID),                # 0x28
        ("Context", PVOID),                 # 0x30
        ("WorkOnBehalfThread", PVOID),      # 0x38
        ("Type", ULONG),                    # 0x40
        ("ActivityId", c_uint8 * 16),       # 0x44 GUID
    ]


# --- what notification routines are handed (ntddk.h, wdm.h) -----------------------------------------
class PS_CREATE_NOTIFY_INFO(LittleEndianStructure):
    """PsSetCreateProcessNotifyRoutineEx's CreateInfo (ntddk.h); Flags bit 0 FileOpenNameAvailable."""
    _fields_ = [
        ("Size", SIZE_T),
        ("Flags", ULONG),
        ("ParentProcessId", HANDLE),        # +0x10
        ("CreatingThreadId", CLIENT_ID),    # +0x18
        ("FileObject", PVOID),              # +0x28
        ("ImageFileName", PVOID),           # +0x30 PCUNICODE_STRING
        ("CommandLine", PVOID),             # +0x38 PCUNICODE_STRING
        ("CreationStatus", NTSTATUS),       # +0x40
    ]


class IMAGE_INFO(LittleEndianStructure):
    """PsSetLoadImageNotifyRoutine's ImageInfo (ntddk.h): Properties bits 0-7 ImageAddressingMode,
    bit 8 SystemModeImage, bit 9 ImageMappedToAllPids, bit 10 ExtendedInfoPresent..."""
    _fields_ = [
        ("Properties", ULONG),
        ("ImageBase", PVOID),               # +0x08
        ("ImageSelector", ULONG),           # +0x10
        ("ImageSize", SIZE_T),              # +0x18
        ("ImageSectionNumber", ULONG),      # +0x20
    ]


class REG_SET_VALUE_KEY_INFORMATION(LittleEndianStructure):
    """A registry callback's Argument2 for RegNtPreSetValueKey (wdm.h)."""
    _fields_ = [
        ("Object", PVOID),
        ("ValueName", PVOID),               # PUNICODE_STRING
        ("TitleIndex", ULONG),
        ("Type", ULONG),
        ("Data", PVOID),
        ("DataSize", ULONG),
        ("CallContext", PVOID),
        ("ObjectContext", PVOID),
        ("Reserved", PVOID),
    ]


class OB_PRE_OPERATION_INFORMATION(LittleEndianStructure):
    """An object callback's PreOperation argument (wdm.h); Flags bit 0 KernelHandle."""
    _fields_ = [
        ("Operation", ULONG),               # OB_OPERATION_HANDLE_CREATE 1 / _DUPLICATE 2
        ("Flags", ULONG),
        ("Object", PVOID),
        ("ObjectType", PVOID),
        ("CallContext", PVOID),
        ("Parameters", PVOID),              # POB_PRE_OPERATION_PARAMETERS
    ]


class OB_PRE_CREATE_HANDLE_INFORMATION(LittleEndianStructure):
    _fields_ = [("DesiredAccess", ACCESS_MASK), ("OriginalDesiredAccess", ACCESS_MASK)]


class OB_POST_OPERATION_INFORMATION(LittleEndianStructure):
    """An object callback's PostOperation argument (wdm.h)."""
    _fields_ = [
        ("Operation", ULONG),
        ("Flags", ULONG),
        ("Object", PVOID),
        ("ObjectType", PVOID),
        ("CallContext", PVOID),
        ("ReturnStatus", NTSTATUS),
        ("Parameters", PVOID),              # POB_POST_OPERATION_PARAMETERS
    ]


class OB_POST_CREATE_HANDLE_INFORMATION(LittleEndianStructure):
    _fields_ = [("GrantedAccess", ACCESS_MASK)]


class CONFIGURATION_INFORMATION(LittleEndianStructure):
    """ntddk.h CONFIGURATION_INFORMATION (IoGetConfigurationInformation): device counts drivers bump."""
    _fields_ = [
        ("DiskCount", ULONG),
        ("FloppyCount", ULONG),
        ("CdRomCount", ULONG),
        ("TapeCount", ULONG),
        ("ScsiPortCount", ULONG),
        ("SerialCount", ULONG),
        ("ParallelCount", ULONG),
        ("AtDiskPrimaryAddressClaimed", BOOLEAN),
        ("AtDiskSecondaryAddressClaimed", BOOLEAN),
        ("Version", ULONG),
        ("MediumChangerCount", ULONG),
    ]

# --- KMDF (microsoft/Windows-Driver-Frameworks src/publicinc/wdf/kmdf/1.33, and
#     src/framework/shared/inc/private/common/fxldr.h for the loader's bind info) ------------------
class WDF_VERSION(LittleEndianStructure):
    _fields_ = [("Major", ULONG), ("Minor", ULONG), ("Build", ULONG)]


class WDF_BIND_INFO(LittleEndianStructure):
    _fields_ = [
        ("Size", ULONG),
        ("Component", PVOID),               # PWCHAR, e.g. L"KmdfLibrary"
        ("Version", WDF_VERSION),
        ("FuncCount", ULONG),
        ("FuncTable", PVOID),               # &WdfFunctions (1.15+) or the table itself (up to 1.13)
        ("Module", PVOID),
    ]


class WDF_DRIVER_GLOBALS(LittleEndianStructure):
    _fields_ = [
        ("Driver", PVOID),                  # WDFDRIVER, set by WdfDriverCreate
        ("DriverFlags", ULONG),
        ("DriverTag", ULONG),
        ("DriverName", CHAR * 32),          # WDF_DRIVER_GLOBALS_NAME_LEN
        ("DisplaceDriverUnload", BOOLEAN),
    ]


class WDF_OBJECT_ATTRIBUTES(LittleEndianStructure):
    _fields_ = [
        ("Size", ULONG),
        ("EvtCleanupCallback", PVOID),
        ("EvtDestroyCallback", PVOID),
        ("ExecutionLevel", ENUM),
        ("SynchronizationScope", ENUM),
        ("ParentObject", PVOID),
        ("ContextSizeOverride", SIZE_T),
        ("ContextTypeInfo", PVOID),         # PCWDF_OBJECT_CONTEXT_TYPE_INFO
    ]


class WDF_OBJECT_CONTEXT_TYPE_INFO(LittleEndianStructure):
    _fields_ = [
        ("Size", ULONG),
        ("ContextName", PVOID),
        ("ContextSize", SIZE_T),
        ("UniqueType", PVOID),
        ("EvtDriverGetUniqueContextType", PVOID),
    ]


class WDF_DRIVER_CONFIG(LittleEndianStructure):
    _fields_ = [
        ("Size", ULONG),
        ("EvtDriverDeviceAdd", PVOID),
        ("EvtDriverUnload", PVOID),
        ("DriverInitFlags", ULONG),
        ("DriverPoolTag", ULONG),
    ]


class WDF_IO_QUEUE_CONFIG(LittleEndianStructure):
    _fields_ = [
        ("Size", ULONG),
        ("DispatchType", ENUM),
        ("PowerManaged", ENUM),             # WDF_TRI_STATE
        ("AllowZeroLengthRequests", BOOLEAN),
        ("DefaultQueue", BOOLEAN),
        ("EvtIoDefault", PVOID),
        ("EvtIoRead", PVOID),
        ("EvtIoWrite", PVOID),
        ("EvtIoDeviceControl", PVOID),
        ("EvtIoInternalDeviceControl", PVOID),
        ("EvtIoStop", PVOID),
        ("EvtIoResume", PVOID),
        ("EvtIoCanceledOnQueue", PVOID),
        ("NumberOfPresentedRequests", ULONG),   # Settings.Parallel
        ("Driver", PVOID),
    ]


class WDF_FILEOBJECT_CONFIG(LittleEndianStructure):
    _fields_ = [
        ("Size", ULONG),
        ("EvtDeviceFileCreate", PVOID),
        ("EvtFileClose", PVOID),
        ("EvtFileCleanup", PVOID),
        ("AutoForwardCleanupClose", ENUM),
        ("FileObjectClass", ENUM),
    ]


class WDF_PNPPOWER_EVENT_CALLBACKS(LittleEndianStructure):
    _fields_ = [("Size", ULONG)] + [(name, PVOID) for name in (
        "EvtDeviceD0Entry", "EvtDeviceD0EntryPostInterruptsEnabled", "EvtDeviceD0Exit",
        "EvtDeviceD0ExitPreInterruptsDisabled", "EvtDevicePrepareHardware", "EvtDeviceReleaseHardware",
        "EvtDeviceSelfManagedIoCleanup", "EvtDeviceSelfManagedIoFlush", "EvtDeviceSelfManagedIoInit",
        "EvtDeviceSelfManagedIoSuspend", "EvtDeviceSelfManagedIoRestart", "EvtDeviceSurpriseRemoval",
        "EvtDeviceQueryRemove", "EvtDeviceQueryStop", "EvtDeviceUsageNotification", "EvtDeviceRelationsQuery",
        "EvtDeviceUsageNotificationEx")]


class WDF_CALLBACK_CONFIG(LittleEndianStructure):
    """The common head of WDF_TIMER_CONFIG, WDF_WORKITEM_CONFIG and WDF_DPC_CONFIG: Size, the callback."""

    _fields_ = [("Size", ULONG), ("Callback", PVOID)]


class WDF_TIMER_CONFIG(LittleEndianStructure):
    """KMDF 1.33 wdftimer.h (the members up to Period; TolerableDelay and UseHighResolutionTimer follow)."""

    _fields_ = [("Size", ULONG), ("EvtTimerFunc", PVOID), ("Period", ULONG)]


class WDF_CHILD_LIST_CONFIG(LittleEndianStructure):
    """KMDF 1.33 wdfchildlist.h: a bus driver's description of its children."""

    _fields_ = [("Size", ULONG), ("IdentificationDescriptionSize", ULONG), ("AddressDescriptionSize", ULONG)] + [
        (name, PVOID) for name in (
            "EvtChildListCreateDevice", "EvtChildListScanForChildren", "EvtChildListIdentificationDescriptionCopy",
            "EvtChildListIdentificationDescriptionDuplicate", "EvtChildListIdentificationDescriptionCleanup",
            "EvtChildListIdentificationDescriptionCompare", "EvtChildListAddressDescriptionCopy",
            "EvtChildListAddressDescriptionDuplicate", "EvtChildListAddressDescriptionCleanup",
            "EvtChildListDeviceReenumerated")]


class WDF_REQUEST_PARAMETERS(LittleEndianStructure):
    """KMDF 1.33 wdfrequest.h. Parameters is the union of Create/Read/Write/DeviceIoControl/Others, each four
    pointer-aligned slots laid out as the IO_STACK_LOCATION's (Read: Length, Key, DeviceOffset;
    DeviceIoControl: OutputBufferLength, InputBufferLength, IoControlCode, Type3InputBuffer)."""

    _fields_ = [("Size", USHORT), ("MinorFunction", UCHAR), ("Type", ENUM), ("Parameters", ULONGLONG * 4)]


class PNP_BUS_INFORMATION(LittleEndianStructure):
    _fields_ = [("BusTypeGuid", UCHAR * 16), ("LegacyBusType", ENUM), ("BusNumber", ULONG)]   # GUID, INTERFACE_TYPE


# --- security subjects, prefix tables, file-system filter callbacks --------------------------------
class SECURITY_SUBJECT_CONTEXT(LittleEndianStructure):
    """wdm.h SECURITY_SUBJECT_CONTEXT (SeCaptureSubjectContext fills it)."""
    _fields_ = [("ClientToken", PVOID), ("ImpersonationLevel", ENUM), ("PrimaryToken", PVOID),
                ("ProcessAuditId", PVOID)]


class UNICODE_PREFIX_TABLE_ENTRY(LittleEndianStructure):
    """ntifs.h UNICODE_PREFIX_TABLE_ENTRY: the caller's storage for one prefix."""
    _fields_ = [("NodeTypeCode", CSHORT), ("NameLength", CSHORT), ("NextPrefixTree", PVOID), ("CaseMatch", PVOID),
                ("Links", PVOID * 3),                # RTL_SPLAY_LINKS: Parent, LeftChild, RightChild
                ("Prefix", PVOID)]                   # PUNICODE_STRING


class UNICODE_PREFIX_TABLE(LittleEndianStructure):
    """ntifs.h UNICODE_PREFIX_TABLE: the table's header, in the caller's storage."""
    _fields_ = [("NodeTypeCode", CSHORT), ("NameLength", CSHORT), ("NextPrefixTree", PVOID),
                ("LastNextEntry", PVOID)]


class FS_FILTER_CALLBACKS(LittleEndianStructure):
    """ntifs.h FS_FILTER_CALLBACKS (FsRtlRegisterFileSystemFilterCallbacks)."""
    _fields_ = [("SizeOfFsFilterCallbacks", ULONG), ("Reserved", ULONG),
                ("PreAcquireForSectionSynchronization", PVOID), ("PostAcquireForSectionSynchronization", PVOID),
                ("PreReleaseForSectionSynchronization", PVOID), ("PostReleaseForSectionSynchronization", PVOID),
                ("PreAcquireForCcFlush", PVOID), ("PostAcquireForCcFlush", PVOID),
                ("PreReleaseForCcFlush", PVOID), ("PostReleaseForCcFlush", PVOID),
                ("PreAcquireForModifiedPageWriter", PVOID), ("PostAcquireForModifiedPageWriter", PVOID),
                ("PreReleaseForModifiedPageWriter", PVOID), ("PostReleaseForModifiedPageWriter", PVOID),
                ("PreQueryOpen", PVOID), ("PostQueryOpen", PVOID)]


# --- NDIS 6 (ndis.h, objectheader.h) -----------------------------------------------------------------
class NDIS_OBJECT_HEADER(LittleEndianStructure):
    _fields_ = [("Type", UCHAR), ("Revision", UCHAR), ("Size", USHORT)]


class NDIS_MINIPORT_DRIVER_CHARACTERISTICS(LittleEndianStructure):
    """Revision 3 (NDIS 6.80); revision 1 ends after CancelOidRequestHandler, revision 2 after
    CancelDirectOidRequestHandler."""
    _fields_ = [("Header", NDIS_OBJECT_HEADER), ("MajorNdisVersion", UCHAR), ("MinorNdisVersion", UCHAR),
                ("MajorDriverVersion", UCHAR), ("MinorDriverVersion", UCHAR), ("Flags", ULONG),
                ("SetOptionsHandler", PVOID), ("InitializeHandlerEx", PVOID), ("HaltHandlerEx", PVOID),
                ("UnloadHandler", PVOID), ("PauseHandler", PVOID), ("RestartHandler", PVOID),
                ("OidRequestHandler", PVOID), ("SendNetBufferListsHandler", PVOID),
                ("ReturnNetBufferListsHandler", PVOID), ("CancelSendHandler", PVOID),
                ("CheckForHangHandlerEx", PVOID), ("ResetHandlerEx", PVOID), ("DevicePnPEventNotifyHandler", PVOID),
                ("ShutdownHandlerEx", PVOID), ("CancelOidRequestHandler", PVOID),
                ("DirectOidRequestHandler", PVOID), ("CancelDirectOidRequestHandler", PVOID),
                ("SynchronousOidRequestHandler", PVOID)]


class NET_BUFFER_LIST_POOL_PARAMETERS(LittleEndianStructure):
    _fields_ = [("Header", NDIS_OBJECT_HEADER), ("ProtocolId", UCHAR), ("fAllocateNetBuffer", BOOLEAN),
                ("ContextSize", USHORT), ("PoolTag", ULONG), ("DataSize", ULONG)]


class NET_BUFFER_POOL_PARAMETERS(LittleEndianStructure):
    _fields_ = [("Header", NDIS_OBJECT_HEADER), ("PoolTag", ULONG), ("DataSize", ULONG)]


class NDIS_GENERIC_OBJECT(LittleEndianStructure):
    _fields_ = [("Header", NDIS_OBJECT_HEADER), ("Caller", PVOID), ("CallersCaller", PVOID),
                ("DriverObject", PVOID)]


# Where an EPROCESS keeps its primary token (an EX_FAST_REF: the low 4 bits count references) and where
# a TOKEN keeps its SEP_TOKEN_PRIVILEGES (Present, Enabled, EnabledByDefault: ULONGLONG masks, bit n =
# the privilege whose LUID is n): x64 Windows 10 2004 to Windows 11 23H2, public symbols
# (`dt nt!_EPROCESS Token`, `dt nt!_TOKEN Privileges`).
EPROCESS_TOKEN_OFFSET = 0x4B8
TOKEN_PRIVILEGES_OFFSET = 0x40
