"""The I/O manager's side of a request: IRPs built as Windows builds them, sent down a device stack,
completed with their completion routines, and the user process that asked.

A user request (CreateFile, DeviceIoControl, ReadFile...) becomes an IRP whose stack has one
location per device in the target's stack (DEVICE_OBJECT.StackSize), CurrentLocation one past the
last, and the next location filled in: the driver's inline IoGetCurrentIrpStackLocation,
IoSkipCurrentIrpStackLocation and IoCopyCurrentIrpStackLocationToNext then work on the real layout.
Buffers follow the transfer method: METHOD_BUFFERED / DO_BUFFERED_IO get a NonPagedPoolNx system
buffer copied back on completion up to Information, the DIRECT methods an MDL over a buffer in the
calling process's user range, METHOD_NEITHER raw user addresses. What the I/O manager reports back
(final status, Information, output bytes) is kept per IRP in an `IrpRecord`, updated whenever the
IRP completes: at once, or later for a pending IRP.
"""
from __future__ import annotations

import copy

import contextlib
import ctypes
import struct
from dataclasses import dataclass
from typing import Callable

from emu.machine import Halt, Raised
from emu.memory import PAGE, PROT_RW, PTE_P, PTE_U, PTE_W, page_ceil
from hooks import kstructs as ks
from hooks.api import BOOLEAN, KIRQL, NTSTATUS, PDEVICE_OBJECT, PIRP, PVOID, SIZE_T, ULONG, export
from hooks.dispatcher import set_event
from hooks.events import Crash
from hooks.io import STATUS_INVALID_DEVICE_REQUEST
from hooks.seh import EXCEPTION_NONCONTINUABLE, STATUS_ACCESS_VIOLATION, STATUS_DATATYPE_MISALIGNMENT
from hooks.objects import HandleTable
from hooks.threads import running
from hooks.volume import FILE_NON_DIRECTORY_FILE, FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT

# wdm.h names of the major functions, by code.
MAJOR_NAMES = ("CREATE", "CREATE_NAMED_PIPE", "CLOSE", "READ", "WRITE", "QUERY_INFORMATION", "SET_INFORMATION",
               "QUERY_EA", "SET_EA", "FLUSH_BUFFERS", "QUERY_VOLUME_INFORMATION", "SET_VOLUME_INFORMATION",
               "DIRECTORY_CONTROL", "FILE_SYSTEM_CONTROL", "DEVICE_CONTROL", "INTERNAL_DEVICE_CONTROL", "SHUTDOWN",
               "LOCK_CONTROL", "CLEANUP", "CREATE_MAILSLOT", "QUERY_SECURITY", "SET_SECURITY", "POWER",
               "SYSTEM_CONTROL", "DEVICE_CHANGE", "QUERY_QUOTA", "SET_QUOTA", "PNP")

METHOD_BUFFERED, METHOD_IN_DIRECT, METHOD_OUT_DIRECT, METHOD_NEITHER = 0, 1, 2, 3
METHOD_NAMES = ("METHOD_BUFFERED", "METHOD_IN_DIRECT", "METHOD_OUT_DIRECT", "METHOD_NEITHER")
DO_BUFFERED_IO, DO_DIRECT_IO = 0x4, 0x10
IRP_BUFFERED_IO, IRP_DEALLOCATE_BUFFER, IRP_INPUT_OPERATION = 0x10, 0x20, 0x40
SL_PENDING_RETURNED, SL_INVOKE_ON_CANCEL, SL_INVOKE_ON_SUCCESS, SL_INVOKE_ON_ERROR = 0x01, 0x20, 0x40, 0x80
KernelMode, UserMode = 0, 1
STATUS_SUCCESS = 0
STATUS_PENDING = 0x103
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_NOT_SUPPORTED = 0xC00000BB
NO_MORE_IRP_STACK_LOCATIONS = 0x35
FILE_DEVICE_UNKNOWN = 0x22
IRP_MN_START_DEVICE, IRP_MN_REMOVE_DEVICE, IRP_MN_SET_POWER = 0x00, 0x02, 0x02
MM_USER_PROBE_ADDRESS = 0x7FFFFFFF0000          # the value of the MmUserProbeAddress export
KTHREAD_PROCESS = 0xB8                          # KTHREAD.ApcState.Process on x64 Windows 10/11
TAG_IRP, TAG_FILE, TAG_SYSBUF = 0x20707249, 0x656C6946, 0x66756249   # 'Irp ', 'File', 'Ibuf'
# The calling process's heap, which its requests' buffers come from (16-byte aligned, never reused:
# fresh zeroed memory each, as a new allocation is); a buffer that does not fit gets pages of its own.
USER_HEAP = 64 * PAGE
GENERIC_READ_WRITE_FILE = 0x12019F              # FILE_GENERIC_READ | FILE_GENERIC_WRITE
ACCESS_STATE_SIZE = 0xA0                        # sizeof(ACCESS_STATE) on x64: zeroed, never NULL
CREATE_OPTIONS = FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE     # CreateDisposition in the high byte
IRP_SIZE = ctypes.sizeof(ks.IRP)
STACK_SIZE = ctypes.sizeof(ks.IO_STACK_LOCATION)
_CURRENT = ks.offset_of(ks.IRP, "Tail.Overlay.CurrentStackLocation")
_LOCATION = ks.offset_of(ks.IRP, "CurrentLocation")
_STATUS = ks.offset_of(ks.IRP, "IoStatus")
_PENDING_RETURNED = ks.offset_of(ks.IRP, "PendingReturned")
_SL_CONTROL = ks.offset_of(ks.IO_STACK_LOCATION, "Control")
_SL_ROUTINE = ks.offset_of(ks.IO_STACK_LOCATION, "CompletionRoutine")     # then Context
_SL_DEVICE = ks.offset_of(ks.IO_STACK_LOCATION, "DeviceObject")
_DRIVER_OF_DEVICE = ks.offset_of(ks.DEVICE_OBJECT, "DriverObject")
_MAJOR_FUNCTIONS = ks.offset_of(ks.DRIVER_OBJECT, "MajorFunction")
_ATTACHED = ks.offset_of(ks.DEVICE_OBJECT, "AttachedDevice")
_STACK_SIZE_OF_DEVICE = ks.offset_of(ks.DEVICE_OBJECT, "StackSize")
_LOCATION_BYTE = struct.Struct("<b")
_IO_STATUS = struct.Struct("<I4xQ")            # IO_STATUS_BLOCK: Status (then padding), Information
assert ctypes.sizeof(ks.IO_STATUS_BLOCK) == _IO_STATUS.size
_ROUTINE = struct.Struct("<QQ")
_COUNT = ks.offset_of(ks.IRP, "StackCount")                               # then CurrentLocation
_COUNTS = struct.Struct("<bb")
_CANCEL = ks.offset_of(ks.IRP, "Cancel")
# IoStatus.Status ... Cancel in one read; PendingReturned, StackCount, CurrentLocation in one write
_STATUS_CANCEL = struct.Struct(f"<I{_CANCEL - _STATUS - 4}xB")
assert ks.offset_of(ks.IO_STACK_LOCATION, "Context") == _SL_ROUTINE + 8
assert _COUNT == _PENDING_RETURNED + 1 and ks.offset_of(ks.IRP, "CurrentLocation") == _COUNT + 1 < _CANCEL


def major_name(major: int) -> str:
    return f"IRP_MJ_{MAJOR_NAMES[major]}" if major < len(MAJOR_NAMES) else f"IRP_MJ_0x{major:02X}"


def ioctl_method(code: int) -> int:
    return code & 3


def nt_error(status: int) -> bool:
    """NT_ERROR: severity error (a warning is not an error, but not a success either)."""
    return status >= 0xC0000000


def nt_success(status: int) -> bool:
    """NT_SUCCESS: success or informational severity."""
    return status < 0x80000000


@dataclass
class UserProcess:
    """The process a user request comes from: an EPROCESS-like object, one thread, its handles."""

    eprocess: int
    thread: int
    handles: HandleTable


@dataclass
class IrpRequest:
    """What a caller asks the I/O manager for (one scenario step)."""

    major: int
    minor: int = 0
    ioctl: int | None = None
    input: bytes = b""
    output_length: int = 0
    method: int | None = None          # overrides the IOCTL code's low bits
    user: bool = True                  # RequestorMode UserMode, sent from the user process's thread
    file_name: str = ""                # IRP_MJ_CREATE: the name opened below the device (FILE_OBJECT.FileName)
    disposition: int = FILE_OPEN       # IRP_MJ_CREATE: CreateDisposition (DISPOSITIONS)


@dataclass
class IrpRecord:
    """One IRP the I/O manager sent, and what came back when it completed."""

    irp: int
    request: IrpRequest
    system_buffer: int = 0
    user_output: int = 0               # where the caller's output buffer is
    copy_back: bool = False            # system buffer -> user output on completion (buffered transfers)
    completed: bool = False
    status: int | None = None
    information: int = 0
    output: bytes = b""
    on_complete: Callable[["IrpRecord"], None] | None = None


class IoManager:
    """IRPs in flight, device stacks (who is attached to whom), the calling user process."""

    def __init__(self, k):
        self.k = k
        self.records: dict[int, IrpRecord] = {}
        self.attached_to: dict[int, int] = {}         # device -> the device it is attached on top of
        self.pdos: list[int] = []                      # the PDOs the PnP manager enumerated (create_pdo)
        self._process: UserProcess | None = None
        self._configuration = 0
        self._scratch = 0
        self._heap = self._heap_end = 0               # the process's heap: next free byte, end

    def snapshot(self) -> object:
        """Its books (see hooks.state), saved by itself: every input adds IRPs. Records are copied,
        as a pending IRP's record changes when it completes."""
        process = self._process
        return ({irp: copy.copy(r) for irp, r in self.records.items()}, dict(self.attached_to), process,
                process.handles.entries() if process else None, self._configuration, self._scratch, list(self.pdos),
                self._heap, self._heap_end)

    def restore(self, saved: object) -> None:
        records, attached_to, self._process, handles, self._configuration, self._scratch, pdos, \
            self._heap, self._heap_end = saved
        live = self.records
        for irp in live.keys() - records.keys():     # IRPs sent since
            del live[irp]
        for irp, record in records.items():         # a pending IRP's record changes when it completes
            if live.get(irp) != record:
                live[irp] = copy.copy(record)
        if self.attached_to != attached_to:
            self.attached_to = dict(attached_to)
        if self.pdos != pdos:
            self.pdos = list(pdos)
        if self._process:
            self._process.handles.set_entries(handles)

    @property
    def configuration(self) -> int:
        """The CONFIGURATION_INFORMATION IoGetConfigurationInformation hands out: one disk (the
        emulated volume C:), nothing else; drivers increment the counts of what they add."""
        if not self._configuration:
            self._configuration = self.k.new_struct(ks.CONFIGURATION_INFORMATION(
                DiskCount=1, Version=ctypes.sizeof(ks.CONFIGURATION_INFORMATION)))
        return self._configuration

    # ---- the calling process -------------------------------------------------------------------
    @property
    def process(self) -> UserProcess:
        if self._process is None:
            k = self.k
            eprocess, thread = k.alloc_kdata(PAGE), k.alloc_kdata(PAGE)
            k.mem.write_q(thread + KTHREAD_PROCESS, eprocess)
            self._process = UserProcess(eprocess, thread, HandleTable())
            # A process has its heap and page tables: the buffers of its requests need no mapping of
            # their own (a fuzzer's snapshot after the first request then restores none per input).
            self._heap = k.va_ranges["user"].take(USER_HEAP)
            self._heap_end = self._heap + USER_HEAP
            k.mem.map_new(self._heap, USER_HEAP, PROT_RW | PTE_U)
            k.user_regions[self._heap] = USER_HEAP
            k.mem.prepare_tables(k.va_ranges["user"].next)
        return self._process

    def user_buffer(self, data: bytes, size: int) -> int:
        """`size` bytes (at least len(data)) of the calling process's memory, `data` at the start."""
        size = max(size, len(data))
        if not size:
            return 0
        self.process                               # made at the first request, with its heap
        if self._heap + size <= self._heap_end:
            va = self._heap
            self._heap = (va + size + 15) & ~15
            if data:
                self.k.mem.write(va, data)
            return va
        va = self.k.va_ranges["user"].take(size)
        self.k.mem.map_new(va, page_ceil(size), PROT_RW | PTE_U)
        self.k.user_regions[va] = page_ceil(size)
        self.k.mem.write(va, data)
        return va

    def in_user_request(self) -> bool:
        """Whether the current thread is the user process's: a user request's dispatch routine."""
        return self._process is not None and self.k.current_thread == self._process.thread

    def requestor(self, user: bool) -> contextlib.AbstractContextManager:
        """Run in the user process's thread (a user request) or the system thread, then switch back."""
        return running(self.k, self.process.thread) if user else contextlib.nullcontext()

    # ---- device stacks -------------------------------------------------------------------------
    def top_of_stack(self, device: int) -> int:
        read_q = self.k.mem.read_q
        while (above := read_q(device + _ATTACHED)) != 0:
            device = above
        return device

    def attach(self, source: int, target: int) -> int:
        """Put `source` on top of `target`'s stack; returns the device it now sits on."""
        k = self.k
        top = self.top_of_stack(target)
        k.mem.write_q(top + ks.offset_of(ks.DEVICE_OBJECT, "AttachedDevice"), source)
        size = k.mem.read(top + ks.offset_of(ks.DEVICE_OBJECT, "StackSize"), 1)[0]
        k.mem.write(source + ks.offset_of(ks.DEVICE_OBJECT, "StackSize"), bytes([min(size + 1, 127)]))
        self.attached_to[source] = top
        return top

    def detach(self, target: int) -> None:
        k = self.k
        slot = target + ks.offset_of(ks.DEVICE_OBJECT, "AttachedDevice")
        self.attached_to.pop(k.mem.read_q(slot), None)
        k.mem.write_q(slot, 0)

    def create_pdo(self) -> int:
        """A root-enumerated physical device object, as the PnP manager hands one to AddDevice."""
        k = self.k
        driver = ks.DRIVER_OBJECT(Type=ks.IO_TYPE_DRIVER, Size=ctypes.sizeof(ks.DRIVER_OBJECT))
        driver.DriverName = k.read_struct(ks.UNICODE_STRING, k.unicode_string("\\Driver\\PnpManager"))
        ntoskrnl = k.module_exports["ntoskrnl.exe"]
        routines = {ks.IRP_MJ_PNP: "IopPnPDispatch", ks.IRP_MJ_POWER: "IopPnPDispatch",
                    ks.IRP_MJ_CREATE: "IopBusCreateClose", ks.IRP_MJ_CLEANUP: "IopBusCreateClose",
                    ks.IRP_MJ_CLOSE: "IopBusCreateClose"}
        for i in range(len(driver.MajorFunction)):
            driver.MajorFunction[i] = ntoskrnl[routines.get(i, "IopInvalidDeviceRequest")]
        driver_va = k.new_struct(driver, tag=0x76697244)
        pdo = ks.DEVICE_OBJECT(Type=ks.IO_TYPE_DEVICE, Size=ctypes.sizeof(ks.DEVICE_OBJECT), ReferenceCount=1,
                               DriverObject=driver_va, DeviceType=FILE_DEVICE_UNKNOWN, StackSize=1)
        pdo_va = k.new_struct(pdo, tag=0x69766544)
        k.mem.write_q(driver_va + ks.offset_of(ks.DRIVER_OBJECT, "DeviceObject"), pdo_va)
        self.pdos.append(pdo_va)
        # a PDO's name is made up by the system (FILE_AUTOGENERATED_DEVICE_NAME): \Device\00000001...
        name = f"\\Device\\{len(self.pdos):08X}"
        k.object_names[name.lower()] = pdo_va
        k.devices[pdo_va] = name
        return pdo_va

    def count_handle(self, device: int, delta: int) -> None:
        """A handle to `device` was opened (+1, CREATE succeeded) or closed (-1, CLOSE sent): the I/O
        manager counts them in DEVICE_OBJECT.ReferenceCount (drivers' unload routines wait for 0)."""
        at = device + ks.offset_of(ks.DEVICE_OBJECT, "ReferenceCount")
        self.k.mem.write_u32(at, max(0, self.k.mem.read_u32(at) + delta))

    # ---- building an IRP -----------------------------------------------------------------------
    def new_file_object(self, device: int) -> int:
        fo = ks.FILE_OBJECT()
        fo.Type = ks.IO_TYPE_FILE
        fo.Size = ctypes.sizeof(ks.FILE_OBJECT)
        fo.DeviceObject = device
        fo.ReadAccess = fo.WriteAccess = 1
        fo.SharedRead = fo.SharedWrite = 1
        return self.k.new_struct(fo, tag=TAG_FILE)

    def _allocate(self, device: int, user: bool) -> tuple[int, ks.IRP]:
        """IoAllocateIrp(device's StackSize): the IRP's address and its fixed part, to fill in and
        write with `_write`."""
        k = self.k
        count = max(k.mem.read(device + _STACK_SIZE_OF_DEVICE, 1)[0], 1)
        va = k.pool.allocate(IRP_SIZE + count * STACK_SIZE, executable=False, paged=False, tag=TAG_IRP, owner=0)
        irp = ks.IRP()
        irp.Type = ks.IO_TYPE_IRP
        irp.Size = IRP_SIZE + count * STACK_SIZE
        irp.StackCount = count
        irp.CurrentLocation = count + 1
        irp.Tail.Overlay.CurrentStackLocation = va + IRP_SIZE + count * STACK_SIZE
        irp.RequestorMode = UserMode if user else KernelMode
        irp.Tail.Overlay.Thread = self.process.thread if user else k.current_thread
        return va, irp

    def build(self, device: int, request: IrpRequest, file_object: int = 0) -> IrpRecord:
        """An IRP for the top of `device`'s stack with its next stack location filled in."""
        k = self.k
        top = self.top_of_stack(device)
        va, irp = self._allocate(top, request.user)
        count = irp.StackCount
        irp.Tail.Overlay.OriginalFileObject = file_object
        if request.major == ks.IRP_MJ_PNP:
            irp.IoStatus.Status = STATUS_NOT_SUPPORTED     # what the PnP manager starts every PnP IRP with
        sl = ks.IO_STACK_LOCATION()
        sl.MajorFunction, sl.MinorFunction = request.major, request.minor
        sl.FileObject = file_object
        record = IrpRecord(va, request)
        self._buffers(record, irp, sl, top)
        self._write(va, irp, sl)
        self.records[va] = record
        return record

    def _write(self, va: int, irp: ks.IRP, sl: ks.IO_STACK_LOCATION) -> None:
        """The IRP, its stack locations zeroed but the next one, `sl` (one write: IRPs are the
        I/O manager's busiest structure)."""
        self.k.mem.write(va, bytes(irp) + bytes((irp.StackCount - 1) * STACK_SIZE) + bytes(sl))

    def build_device_control(self, device: int, code: int, internal: bool, input_va: int, input_length: int,
                             output_va: int, output_length: int, event: int, iosb: int) -> int:
        """IoBuildDeviceIoControlRequest: a kernel-mode (INTERNAL_)DEVICE_CONTROL IRP for `device`
        itself, its buffers laid out by the code's transfer method from the caller's kernel buffers.
        On completion the I/O manager copies a buffered output back, fills *iosb and sets the event."""
        k = self.k
        va, irp = self._allocate(device, user=False)
        major = ks.IRP_MJ_INTERNAL_DEVICE_CONTROL if internal else ks.IRP_MJ_DEVICE_CONTROL
        data = k.mem.read(input_va, input_length) if input_va and input_length else b""
        record = IrpRecord(va, IrpRequest(major, ioctl=code, input=data, output_length=output_length, user=False),
                           user_output=output_va if output_length else 0)
        sl = ks.IO_STACK_LOCATION(MajorFunction=major)
        params = sl.Parameters.DeviceIoControl
        params.IoControlCode, params.InputBufferLength, params.OutputBufferLength = code, input_length, output_length
        method = ioctl_method(code)
        if method == METHOD_BUFFERED:
            record.system_buffer = self._system_buffer(data, max(input_length, output_length))
            record.copy_back = True
            irp.Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | (IRP_INPUT_OPERATION if output_length else 0)
            irp.UserBuffer = output_va
        elif method == METHOD_NEITHER:
            params.Type3InputBuffer = input_va
            irp.UserBuffer = output_va
        else:
            record.system_buffer = self._system_buffer(data, input_length)
            irp.Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER if record.system_buffer else 0
            irp.MdlAddress = self.lock_pages(output_va, output_length, 0) if output_va and output_length else 0
        irp.AssociatedIrp.SystemBuffer = record.system_buffer
        irp.UserIosb, irp.UserEvent = iosb, event
        record.on_complete = lambda done: self._signal_caller(done, iosb, event)
        self._write(va, irp, sl)
        self.records[va] = record
        return va

    def _signal_caller(self, record: IrpRecord, iosb: int, event: int) -> None:
        """What the I/O manager does for the thread that built a synchronous IRP once it completed."""
        if iosb:
            self.k.write_struct(iosb, ks.IO_STATUS_BLOCK(Status=record.status, Information=record.information))
        if event:
            set_event(self.k, event)

    def _buffers(self, record: IrpRecord, irp: ks.IRP, sl: ks.IO_STACK_LOCATION, device: int) -> None:
        k, req = self.k, record.request
        params = sl.Parameters
        if req.major in (ks.IRP_MJ_DEVICE_CONTROL, ks.IRP_MJ_INTERNAL_DEVICE_CONTROL):
            code = req.ioctl or 0
            method = ioctl_method(code) if req.method is None else req.method
            params.DeviceIoControl.IoControlCode = code
            params.DeviceIoControl.InputBufferLength = len(req.input)
            params.DeviceIoControl.OutputBufferLength = req.output_length
            record.user_output = self.user_buffer(b"", req.output_length)
            if method == METHOD_BUFFERED:
                record.system_buffer = self._system_buffer(req.input, max(len(req.input), req.output_length))
                record.copy_back = True
                irp.Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | (IRP_INPUT_OPERATION if req.output_length else 0)
                irp.UserBuffer = record.user_output
            elif method == METHOD_NEITHER:
                params.DeviceIoControl.Type3InputBuffer = self.user_buffer(req.input, len(req.input))
                irp.UserBuffer = record.user_output
            else:
                record.system_buffer = self._system_buffer(req.input, len(req.input))
                if record.user_output:
                    irp.MdlAddress = self.lock_user_pages(record.user_output, req.output_length)
                if record.system_buffer:
                    irp.Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER
            irp.AssociatedIrp.SystemBuffer = record.system_buffer
        elif req.major in (ks.IRP_MJ_READ, ks.IRP_MJ_WRITE):
            writing = req.major == ks.IRP_MJ_WRITE
            length = len(req.input) if writing else req.output_length
            (params.Write if writing else params.Read).Length = length
            user = self.user_buffer(req.input if writing else b"", length)
            record.user_output = 0 if writing else user
            flags = k.mem.read_u32(device + ks.offset_of(ks.DEVICE_OBJECT, "Flags"))
            if flags & DO_BUFFERED_IO:
                record.system_buffer = self._system_buffer(req.input if writing else b"", length)
                record.copy_back = not writing
                irp.AssociatedIrp.SystemBuffer = record.system_buffer
                irp.Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | (0 if writing else IRP_INPUT_OPERATION)
            elif flags & DO_DIRECT_IO:
                irp.MdlAddress = self.lock_user_pages(user, length) if length else 0
            else:
                irp.UserBuffer = user
        elif req.major == ks.IRP_MJ_CREATE:
            if req.file_name and sl.FileObject:
                name = k.read_struct(ks.UNICODE_STRING, k.unicode_string(req.file_name))
                k.write_struct(sl.FileObject + ks.offset_of(ks.FILE_OBJECT, "FileName"), name)
            access_state = k.pool.allocate(ACCESS_STATE_SIZE, executable=False, paged=False, tag=TAG_FILE, owner=0)
            k.mem.write(access_state, bytes(ACCESS_STATE_SIZE))
            context = k.new_struct(ks.IO_SECURITY_CONTEXT(AccessState=access_state,
                                                          DesiredAccess=GENERIC_READ_WRITE_FILE))
            params.Create.SecurityContext = context
            params.Create.Options = req.disposition << 24 | CREATE_OPTIONS
            params.Create.FileAttributes = 0x80                # FILE_ATTRIBUTE_NORMAL
            params.Create.ShareAccess = 3                      # FILE_SHARE_READ | FILE_SHARE_WRITE
        elif req.major in (ks.IRP_MJ_QUERY_INFORMATION, ks.IRP_MJ_SET_INFORMATION):
            record.system_buffer = self._system_buffer(req.input, max(len(req.input), req.output_length))
            record.user_output = self.user_buffer(b"", req.output_length)
            record.copy_back = req.major == ks.IRP_MJ_QUERY_INFORMATION
            irp.AssociatedIrp.SystemBuffer = record.system_buffer
            info = params.QueryFile if req.major == ks.IRP_MJ_QUERY_INFORMATION else params.SetFile
            info.Length = max(len(req.input), req.output_length)
            info.FileInformationClass = req.minor or 4         # FileBasicInformation
            sl.MinorFunction = 0
        elif req.major == ks.IRP_MJ_PNP and req.minor == IRP_MN_START_DEVICE:
            params.StartDevice.AllocatedResources = self._empty_resources()
            params.StartDevice.AllocatedResourcesTranslated = self._empty_resources()
        elif req.major == ks.IRP_MJ_POWER:
            params.Power.Type = 1                              # DevicePowerState
            params.Power.State = 1                             # PowerDeviceD0

    def _system_buffer(self, data: bytes, size: int) -> int:
        if not size:
            return 0
        va = self.k.pool.allocate(size, executable=False, paged=False, tag=TAG_SYSBUF, owner=0)
        self.k.mem.write(va, data.ljust(size, b"\0"))
        return va

    def _empty_resources(self) -> int:
        """A CM_RESOURCE_LIST with one full descriptor and no partial descriptors: valid and empty."""
        cm = ks.CM_RESOURCE_LIST()
        cm.Count = 1
        cm.List[0].PartialResourceList.Version = cm.List[0].PartialResourceList.Revision = 1
        return self.k.new_struct(cm)

    def lock_user_pages(self, va: int, length: int) -> int:
        """An MDL over user memory, probed and locked as MmProbeAndLockPages leaves it."""
        return self.lock_pages(va, length, self.process.eprocess)

    def lock_pages(self, va: int, length: int, process: int) -> int:
        """An MDL over `process`'s memory (0: system memory), probed and locked."""
        k = self.k
        offset = va & (PAGE - 1)
        pages = page_ceil(offset + length) // PAGE
        size = ctypes.sizeof(ks.MDL) + 8 * pages
        mdl_va = k.pool.allocate(size, executable=False, paged=False, tag=0x206C644D, owner=0)
        mdl = ks.MDL(Size=size, MdlFlags=ks.MDL_PAGES_LOCKED | ks.MDL_WRITE_OPERATION, Process=process,
                     StartVa=va - offset, ByteOffset=offset, ByteCount=length)
        frames = [k.mem.translate(va - offset + i * PAGE) >> 12 for i in range(pages)]
        k.mem.write(mdl_va, bytes(mdl) + struct.pack(f"<{pages}Q", *frames))
        return mdl_va

    # ---- sending and completing ----------------------------------------------------------------
    def next_location(self, irp: int, device: int) -> tuple[int, list[int]]:
        """IofCallDriver up to the call: step to the next stack location and pick the dispatch routine."""
        k = self.k
        mem = k.mem
        location = _LOCATION_BYTE.unpack(mem.read(irp + _LOCATION, 1))[0] - 1
        if location <= 0:
            raise Halt(Crash(NO_MORE_IRP_STACK_LOCATIONS, (irp, 0, 0, 0), k.caller, "IofCallDriver",
                             "the IRP has no stack location left for this device"))
        mem.write(irp + _LOCATION, bytes([location & 0xFF]))
        sl = mem.read_q(irp + _CURRENT) - STACK_SIZE
        mem.write_q(irp + _CURRENT, sl)
        mem.write_q(sl + _SL_DEVICE, device)
        major = mem.read(sl, 1)[0]
        driver = mem.read_q(device + _DRIVER_OF_DEVICE)
        routine = mem.read_q(driver + _MAJOR_FUNCTIONS + 8 * min(major, ks.IRP_MJ_MAXIMUM_FUNCTION))
        return routine, [device, irp]

    def complete(self, irp: int) -> None:
        """IofCompleteRequest: completion routines from the current location up, then the caller's copy."""
        k = self.k
        mem = k.mem
        count, location = _COUNTS.unpack(mem.read(irp + _COUNT, 2))
        sl = mem.read_q(irp + _CURRENT)
        while location <= count:
            location += 1
            entry = mem.read(sl, STACK_SIZE)
            control = entry[_SL_CONTROL]
            routine, context = _ROUTINE.unpack_from(entry, _SL_ROUTINE)
            status, cancel = _STATUS_CANCEL.unpack(mem.read(irp + _STATUS, _CANCEL + 1 - _STATUS))
            mem.write(irp + _PENDING_RETURNED, bytes([control & SL_PENDING_RETURNED, count & 0xFF, location & 0xFF]))
            mem.write_q(irp + _CURRENT, sl + STACK_SIZE)
            wanted = (control & SL_INVOKE_ON_SUCCESS if nt_success(status) else control & SL_INVOKE_ON_ERROR) or \
                (cancel and control & SL_INVOKE_ON_CANCEL)
            mem.write(sl, bytes(STACK_SIZE))                  # ZeroIrpStackLocation... as Windows does
            if wanted and routine:
                device = 0 if location > count else mem.read_q(
                    sl + STACK_SIZE + _SL_DEVICE)
                result = k.call_nested(routine, [device, irp, context]) & 0xFFFFFFFF
                if result == STATUS_MORE_PROCESSING_REQUIRED:
                    return
            elif control & SL_PENDING_RETURNED and location <= count:
                above = sl + STACK_SIZE + _SL_CONTROL         # IoMarkIrpPending for the caller above
                mem.write(above, bytes([mem.read(above, 1)[0] | SL_PENDING_RETURNED]))
            sl += STACK_SIZE
        self._finish(irp)

    def _finish(self, irp: int) -> None:
        k = self.k
        record = self.records.get(irp)
        if record is None:
            return
        status, information = _IO_STATUS.unpack(k.mem.read(irp + _STATUS, _IO_STATUS.size))
        record.completed, record.status, record.information = True, status, information
        n = min(information, record.request.output_length)
        if record.user_output and n and not nt_error(status):
            if record.copy_back and record.system_buffer:
                k.mem.write(record.user_output, k.mem.read(record.system_buffer, n))
            record.output = k.mem.read(record.user_output, n)
        if record.on_complete:
            record.on_complete(record)

    def scratch_irql(self) -> int:
        """A KIRQL in kernel memory, for the kernel's side of callbacks that take a PKIRQL."""
        if not self._scratch:
            self._scratch = self.k.pool.allocate(16, executable=False, paged=False, tag=TAG_IRP, owner=0)
        return self._scratch

    def start_cancel(self, irp: int) -> tuple[int, list[int]] | None:
        """IoCancelIrp up to the call: set Cancel, take the cancel routine; None when there is none.

        Windows calls it at DISPATCH_LEVEL holding the cancel spin lock; here at the caller's
        IRQL, with CancelIrql recording it, so the routine's IoReleaseCancelSpinLock(CancelIrql)
        leaves the IRQL where it was."""
        k = self.k
        k.mem.write(irp + ks.offset_of(ks.IRP, "Cancel"), b"\x01")
        slot = irp + ks.offset_of(ks.IRP, "CancelRoutine")
        routine = k.mem.read_q(slot)
        if not routine:
            return None
        k.mem.write_q(slot, 0)
        sl = k.mem.read_q(irp + _CURRENT)
        return routine, [k.mem.read_q(sl + ks.offset_of(ks.IO_STACK_LOCATION, "DeviceObject")), irp]

def mark_pending(k, irp: int) -> None:
    """IoMarkIrpPending (an inline macro in wdm.h): SL_PENDING_RETURNED in the current location."""
    sl = k.mem.read_q(irp + _CURRENT)
    k.mem.write(sl + _SL_CONTROL, bytes([k.mem.read(sl + _SL_CONTROL, 1)[0] | SL_PENDING_RETURNED]))


# ---- handlers -------------------------------------------------------------------------------------
@export("IofCompleteRequest", "IoCompleteRequest")
def IofCompleteRequest(k, Irp: PIRP, PriorityBoost: KIRQL) -> None:
    k.io.complete(Irp)


@export("IopInvalidDeviceRequest")
def IopInvalidDeviceRequest(k, DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS:
    """What every MajorFunction slot points at until the driver sets its own routine."""
    return _complete_here(k, Irp, STATUS_INVALID_DEVICE_REQUEST)


@export("IopBusCreateClose")
def IopBusCreateClose(k, DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS:
    """The driver under every PDO for IRP_MJ_CREATE, CLEANUP and CLOSE: they succeed. A filter
    passes them down, and below it Windows has a function or bus driver that opens the device
    (kbdclass under a keyboard filter, a USB hub's PDO under a USB driver); failing them here would
    leave the driver above with no handle, so none of its other requests would ever be sent."""
    return _complete_here(k, Irp, STATUS_SUCCESS)


def _complete_here(k, irp: int, status: int) -> int:
    """A kernel-side routine ends the IRP: IoStatus = (status, 0), IoCompleteRequest, status returned."""
    k.mem.write(irp + _STATUS, _IO_STATUS.pack(status, 0))
    k.io.complete(irp)
    return status


@export("IopPnPDispatch")
def IopPnPDispatch(k, DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS:
    """The root bus driver under every PDO: PnP and power IRPs succeed (start, remove, D0)."""
    k.mem.write(Irp + _STATUS, struct.pack("<I", STATUS_SUCCESS))
    k.io.complete(Irp)
    return STATUS_SUCCESS


@export("IofCallDriver", "IoCallDriver", "PoCallDriver")
def IofCallDriver(k, DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS:
    """Since Windows Vista PoCallDriver is IoCallDriver for power IRPs."""
    routine, args = k.io.next_location(Irp, DeviceObject)
    return k.call_nested(routine, args)


@export("IoBuildDeviceIoControlRequest")
def IoBuildDeviceIoControlRequest(k, IoControlCode: ULONG, DeviceObject: PDEVICE_OBJECT, InputBuffer: PVOID,
                                  InputBufferLength: ULONG, OutputBuffer: PVOID, OutputBufferLength: ULONG,
                                  InternalDeviceIoControl: BOOLEAN, Event: PVOID, IoStatusBlock: PVOID) -> PIRP:
    """The IRP the caller sends with IoCallDriver; the I/O manager frees it once completed."""
    return k.io.build_device_control(DeviceObject, IoControlCode, bool(InternalDeviceIoControl), InputBuffer,
                                     InputBufferLength, OutputBuffer, OutputBufferLength, Event, IoStatusBlock)


@export("PoStartNextPowerIrp")
def PoStartNextPowerIrp(k, Irp: PIRP) -> None:
    """Power IRPs are not serialized per device since Windows Vista: nothing to start."""


@export("IoGetRequestorProcess")
def IoGetRequestorProcess(k, Irp: PIRP) -> PVOID:
    thread = k.mem.read_q(Irp + ks.offset_of(ks.IRP, "Tail.Overlay.Thread"))
    return k.mem.read_q(thread + KTHREAD_PROCESS) if thread else 0


def _probe(k, address: int, length: int, alignment: int, write: bool) -> None:
    """What ProbeForRead/ProbeForWrite check; a failure raises the exception Windows raises in the caller."""
    if not length:
        return
    if alignment and address & (alignment - 1):
        raise Raised(STATUS_DATATYPE_MISALIGNMENT, flags=EXCEPTION_NONCONTINUABLE)
    end = address + length
    if end > MM_USER_PROBE_ADDRESS or end < address:
        raise Raised(STATUS_ACCESS_VIOLATION, flags=EXCEPTION_NONCONTINUABLE)
    if write:
        for page in range(address & ~(PAGE - 1), end, PAGE):
            if k.mem.pte(page) & (PTE_P | PTE_W | PTE_U) != PTE_P | PTE_W | PTE_U:
                raise Raised(STATUS_ACCESS_VIOLATION, flags=EXCEPTION_NONCONTINUABLE)


@export("ProbeForRead")
def ProbeForRead(k, Address: PVOID, Length: SIZE_T, Alignment: ULONG) -> None:
    _probe(k, Address, Length, Alignment, write=False)


@export("ProbeForWrite")
def ProbeForWrite(k, Address: PVOID, Length: SIZE_T, Alignment: ULONG) -> None:
    _probe(k, Address, Length, Alignment, write=True)


@export("IoCancelIrp")
def IoCancelIrp(k, Irp: PIRP) -> BOOLEAN:
    call = k.io.start_cancel(Irp)
    if call is not None:
        k.call_nested(*call)
    return int(call is not None)
