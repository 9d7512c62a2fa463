"""The framework's side of the WDM entry points: IRPs become WDFREQUESTs delivered to queue callbacks.

WdfDriverCreate points every DriverObject->MajorFunction at the framework's dispatcher (unless
WdfDriverInitNoDispatchOverride), sets DriverUnload (a PnP driver, or a non-PnP one with an
EvtDriverUnload) and, for a PnP driver, DriverExtension->AddDevice, as FxDriver::Initialize does
(src/framework/shared/core/fxdriver.cpp). Those three are routines of Wdf01000.sys here too:

- `FxDeviceDispatch` takes an IRP for one of the driver's devices. IRP_MJ_CREATE / CLOSE / CLEANUP
  go to the file-object callbacks (completed with STATUS_SUCCESS when there is none, or after close
  and cleanup); READ, WRITE, DEVICE_CONTROL and INTERNAL_DEVICE_CONTROL go to the queue configured
  for that request type (WDF_REQUEST_TYPE equals the major function code), else the default queue,
  whose EvtIoRead/EvtIoWrite/EvtIoDeviceControl/EvtIoInternalDeviceControl (or EvtIoDefault) runs
  as a nested call. A request the driver does not complete, or one put on a manual queue, pends
  (STATUS_PENDING, the IRP marked pending); with no queue or no callback it completes with
  STATUS_INVALID_DEVICE_REQUEST. IRP_MJ_PNP START_DEVICE / REMOVE_DEVICE of a PnP device run its
  PnP/power callbacks in the framework's order; its power IRPs complete with STATUS_SUCCESS (the
  framework's power policy: D0 entry ran at start). If the device has an EvtIoInCallerContext, a
  read, write or device-control request goes there first, in the requestor's context, and reaches
  the queues only when the driver calls WdfDeviceEnqueueRequest. Other major functions complete with
  STATUS_INVALID_DEVICE_REQUEST.
- `FxDriverUnload` calls EvtDriverUnload, then deletes the WDFDRIVER and its children.
- `FxDriverAddDevice` hands EvtDriverDeviceAdd a PnP PWDFDEVICE_INIT.

WdfRequestComplete(WithInformation) completes the IRP through the I/O manager's IofCompleteRequest.
WdfRequestRetrieveInputBuffer/OutputBuffer (and the WDFMEMORY over it, Retrieve*Memory) return what
the transfer method gives: the system buffer
(METHOD_BUFFERED, and the input of the direct methods, and buffered reads/writes), the MDL's system
mapping (the direct methods' output, direct reads/writes); METHOD_NEITHER requests have no buffer
to retrieve (STATUS_INVALID_DEVICE_REQUEST; such drivers use EvtIoInCallerContext).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from hooks import kstructs as ks
from hooks import mdl as mdls
from hooks.api import (EXPORTS, NTSTATUS, PDEVICE_OBJECT, PDRIVER_OBJECT, PIRP, PUNICODE_STRING, PVOID,
                       SIZE_T, ULONG_PTR, VOID, export)
from hooks.wdf.device import DO_BUFFERED_IO, DO_DIRECT_IO, DeviceState, pnp_device_init
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_DEVICE, FX_TYPE_FILEOBJECT, FX_TYPE_REQUEST, IFX_TYPE_MEMORY,
                                 STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS, Client,
                                 WdfObject, delete, lookup, new_object, run_callback)
from hooks.wdf.memory import MemoryBlock
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, WDFDEVICE, WDFFILEOBJECT, WDFREQUEST

FX_DISPATCH, FX_UNLOAD, FX_ADD_DEVICE = "FxDeviceDispatch", "FxDriverUnload", "FxDriverAddDevice"
INTERNAL_ROUTINES = (FX_DISPATCH, FX_UNLOAD, FX_ADD_DEVICE)
IRP_MJ_CREATE, IRP_MJ_CLOSE, IRP_MJ_READ, IRP_MJ_WRITE = 0x00, 0x02, 0x03, 0x04
IRP_MJ_DEVICE_CONTROL, IRP_MJ_INTERNAL_DEVICE_CONTROL, IRP_MJ_CLEANUP = 0x0E, 0x0F, 0x12
IRP_MJ_POWER, IRP_MJ_PNP = 0x16, 0x1B
IRP_MJ_MAXIMUM_FUNCTION = IRP_MJ_PNP
IRP_MN_START_DEVICE, IRP_MN_REMOVE_DEVICE = 0x00, 0x02
WDF_POWER_DEVICE_D3_FINAL = 5             # WDF_POWER_DEVICE_STATE: the state before start and after removal
FX_TYPE_CM_RES_LIST = 0x1036
# The callbacks a PnP start and an orderly removal run, in the framework's order (Microsoft's KMDF
# "PnP and power management scenarios": starting a device, removing a device), with their extra argument.
START_SEQUENCE = (("EvtDevicePrepareHardware", "resources"), ("EvtDeviceD0Entry", "D3Final"),
                  ("EvtDeviceD0EntryPostInterruptsEnabled", "D3Final"), ("EvtDeviceSelfManagedIoInit", None))
REMOVE_SEQUENCE = (("EvtDeviceSelfManagedIoSuspend", None), ("EvtDeviceD0ExitPreInterruptsDisabled", "D3Final"),
                   ("EvtDeviceD0Exit", "D3Final"), ("EvtDeviceReleaseHardware", "translated"),
                   ("EvtDeviceSelfManagedIoCleanup", None))
QUEUE_CALLBACKS = {IRP_MJ_READ: "EvtIoRead", IRP_MJ_WRITE: "EvtIoWrite", IRP_MJ_DEVICE_CONTROL: "EvtIoDeviceControl",
                   IRP_MJ_INTERNAL_DEVICE_CONTROL: "EvtIoInternalDeviceControl"}
FILE_CALLBACKS = {IRP_MJ_CLOSE: "EvtFileClose", IRP_MJ_CLEANUP: "EvtFileCleanup"}
METHOD_BUFFERED, METHOD_NEITHER = 0, 3
STATUS_PENDING = 0x103
SL_PENDING_RETURNED = 0x01
KERNEL_MODE = 0
NORMAL_PAGE_PRIORITY_NX = 16 | 0x40000000       # NormalPagePriority | MdlMappingNoExecute
_STACK = ks.offset_of(ks.IRP, "Tail.Overlay.CurrentStackLocation")
_IO_STATUS = ks.offset_of(ks.IRP, "IoStatus")
_CONTROL = ks.offset_of(ks.IO_STACK_LOCATION, "Control")
_PARAMETERS = ks.offset_of(ks.IO_STACK_LOCATION, "Parameters")
_FILE_NAME = ks.offset_of(ks.FILE_OBJECT, "FileName")


@dataclass
class Request:
    irp: int
    major: int
    stack: ks.IO_STACK_LOCATION
    device: DeviceState
    information: int = 0
    status: int | None = None             # set when completed


def wire_driver_object(k, client: Client, non_pnp: bool) -> None:
    """Point the DRIVER_OBJECT's entry points at the framework, as FxDriver::Initialize does."""
    driver = k.read_struct(ks.DRIVER_OBJECT, client.driver_object)
    driver.DriverUnload = k.address_of(FRAMEWORK, FX_UNLOAD) if not non_pnp or client.config["EvtDriverUnload"] else 0
    for major in range(IRP_MJ_MAXIMUM_FUNCTION + 1):
        driver.MajorFunction[major] = k.address_of(FRAMEWORK, FX_DISPATCH)
    k.write_struct(client.driver_object, driver)
    if driver.DriverExtension:
        k.mem.write_q(driver.DriverExtension + ks.offset_of(ks.DRIVER_EXTENSION, "AddDevice"),
                      0 if non_pnp else k.address_of(FRAMEWORK, FX_ADD_DEVICE))


def _device(k, device_object: int) -> WdfObject | None:
    return next((o for o in k.wdf.objects.values()
                 if o.type == FX_TYPE_DEVICE and o.state.device_object == device_object), None)


def _complete_irp(k, irp: int, status: int, information: int) -> None:
    k.mem.write(irp + _IO_STATUS, (status & 0xFFFFFFFF).to_bytes(8, "little") + information.to_bytes(8, "little"))
    EXPORTS["IofCompleteRequest"].handler(k, irp, 0)


def _file_object(k, device: WdfObject, file_object: int) -> WdfObject:
    found = next((o for o in k.wdf.objects.values() if o.type == FX_TYPE_FILEOBJECT and o.state == file_object), None)
    return found or new_object(k, device.client, FX_TYPE_FILEOBJECT, device.state.file_attributes, device, file_object)


@export(FX_DISPATCH, module=FRAMEWORK)
def FxDeviceDispatch(k, DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS:
    device = _device(k, DeviceObject)
    stack_at = k.mem.read_q(Irp + _STACK)
    stack = k.read_struct(ks.IO_STACK_LOCATION, stack_at)
    major = stack.MajorFunction
    if device is None:
        _complete_irp(k, Irp, STATUS_INVALID_DEVICE_REQUEST, 0)
        return STATUS_INVALID_DEVICE_REQUEST
    state: DeviceState = device.state
    if major == IRP_MJ_PNP and not state.control:
        return _pnp(k, device, Irp, stack.MinorFunction)
    if major == IRP_MJ_POWER and not state.control:
        # the framework's power state machine owns power IRPs: D0 entry ran at START (no device below)
        _complete_irp(k, Irp, STATUS_SUCCESS, 0)
        return STATUS_SUCCESS
    if major == IRP_MJ_CREATE or major in FILE_CALLBACKS:
        return _file_request(k, device, Irp, stack, major)
    if major not in QUEUE_CALLBACKS:
        _complete_irp(k, Irp, STATUS_INVALID_DEVICE_REQUEST, 0)
        return STATUS_INVALID_DEVICE_REQUEST
    request = new_object(k, device.client, FX_TYPE_REQUEST, state.request_attributes, device,
                         Request(Irp, major, stack, state))
    in_caller_context = state.callbacks.get("EvtIoInCallerContext")
    if in_caller_context:                  # the driver enqueues it (WdfDeviceEnqueueRequest) or completes it
        run_callback(k, "EvtIoInCallerContext", in_caller_context, [device.handle, request.handle])
    else:
        status = enqueue(k, device, request)
        if status != STATUS_SUCCESS:
            complete(k, request, status, 0)
    return _returned(k, request, stack_at)


def enqueue(k, device: WdfObject, request: WdfObject) -> int:
    """Put a request on the queue its type is configured to, else the default queue (see `enqueue_on`);
    STATUS_INVALID_DEVICE_REQUEST when there is none (the caller completes the request then)."""
    state: DeviceState = device.state
    queue = state.dispatching.get(request.state.major) or state.default_queue
    if queue is None:
        return STATUS_INVALID_DEVICE_REQUEST
    return enqueue_on(k, queue, request)


def enqueue_on(k, queue: WdfObject, request: WdfObject) -> int:
    """Present a request on `queue`: its callback for the request type (or EvtIoDefault) runs, or a manual
    queue keeps it; STATUS_INVALID_DEVICE_REQUEST when the queue has no callback for it."""
    major = request.state.major
    callbacks = queue.state.callbacks
    routine = callbacks.get(QUEUE_CALLBACKS[major], callbacks.get("EvtIoDefault"))
    if routine is None and queue.state.dispatch != "manual":
        return STATUS_INVALID_DEVICE_REQUEST
    _reparent(request, queue)
    if queue.state.dispatch == "manual":
        queue.state.pending.append(request)
    else:
        name = next(n for n, a in callbacks.items() if a == routine)
        run_callback(k, name, routine, [queue.handle, request.handle,
                                        *_queue_arguments(request.state.stack, major, routine, callbacks)])
    return STATUS_SUCCESS


def _reparent(obj: WdfObject, parent: WdfObject) -> None:
    if obj.parent is not None:
        obj.parent.children.remove(obj)
    obj.parent = parent
    parent.children.append(obj)


def _queue_arguments(stack: ks.IO_STACK_LOCATION, major: int, routine: int, callbacks: dict) -> list[int]:
    """After (Queue, Request): EvtIoRead/EvtIoWrite take the length, EvtIo(Internal)DeviceControl the
    output and input lengths and the control code; EvtIoDefault nothing more."""
    if routine == callbacks.get("EvtIoDefault") and QUEUE_CALLBACKS[major] not in callbacks:
        return []
    if major in (IRP_MJ_READ, IRP_MJ_WRITE):
        return [stack.Parameters.Read.Length]
    control = stack.Parameters.DeviceIoControl
    return [control.OutputBufferLength, control.InputBufferLength, control.IoControlCode]


def _returned(k, request: WdfObject, stack_at: int) -> int:
    """What the dispatch routine returns: the completion status, or STATUS_PENDING (IRP marked pending)."""
    if request.state.status is not None:
        return request.state.status
    k.mem.write(stack_at + _CONTROL, bytes([k.mem.read(stack_at + _CONTROL, 1)[0] | SL_PENDING_RETURNED]))
    return STATUS_PENDING


def _file_request(k, device: WdfObject, irp: int, stack: ks.IO_STACK_LOCATION, major: int) -> int:
    callbacks = device.state.callbacks
    file_object = _file_object(k, device, stack.FileObject)
    if major == IRP_MJ_CREATE and "EvtDeviceFileCreate" in callbacks:
        request = new_object(k, device.client, FX_TYPE_REQUEST, device.state.request_attributes, device,
                             Request(irp, major, stack, device.state))
        run_callback(k, "EvtDeviceFileCreate", callbacks["EvtDeviceFileCreate"],
             [device.handle, request.handle, file_object.handle])
        return _returned(k, request, k.mem.read_q(irp + _STACK))
    if major in FILE_CALLBACKS and FILE_CALLBACKS[major] in callbacks:
        run_callback(k, FILE_CALLBACKS[major], callbacks[FILE_CALLBACKS[major]], [file_object.handle])
    if major == IRP_MJ_CLOSE:
        delete(k, file_object)
    _complete_irp(k, irp, STATUS_SUCCESS, 0)
    return STATUS_SUCCESS


def _pnp(k, device: WdfObject, irp: int, minor: int) -> int:
    """START_DEVICE and REMOVE_DEVICE of a PnP device: its PnP/power callbacks in the framework's order
    (an empty resource list: the emulated device has no hardware). A failing callback fails the start.
    Other minor functions complete with the IRP's status as it stands (no device below to pass it to)."""
    sequence = {IRP_MN_START_DEVICE: START_SEQUENCE, IRP_MN_REMOVE_DEVICE: REMOVE_SEQUENCE}.get(minor)
    if sequence is None:
        status = k.mem.read_u32(irp + _IO_STATUS)
        _complete_irp(k, irp, status, 0)
        return status
    lists = [new_object(k, device.client, FX_TYPE_CM_RES_LIST, 0, device).handle for _ in range(2)]
    extra = {"resources": lists, "translated": lists[1:], "D3Final": [WDF_POWER_DEVICE_D3_FINAL], None: []}
    for name, argument in sequence:
        routine = device.state.callbacks.get(name)
        if routine:
            status = run_callback(k, name, routine, [device.handle, *extra[argument]]) & 0xFFFFFFFF
            if status >= 0x80000000 and name in dict(START_SEQUENCE):
                _complete_irp(k, irp, status, 0)
                return status
    if minor == IRP_MN_START_DEVICE:              # the interfaces WdfDeviceCreateDeviceInterface registered go live
        for guid, reference in device.state.interfaces:
            k.interfaces.register(guid, device.state.pdo or device.state.device_object, reference).enabled = True
    if minor == IRP_MN_REMOVE_DEVICE:
        device_object = device.state.device_object
        delete(k, device)
        EXPORTS["IoDeleteDevice"].handler(k, device_object)
    _complete_irp(k, irp, STATUS_SUCCESS, 0)
    return STATUS_SUCCESS


@export(FX_UNLOAD, module=FRAMEWORK)
def FxDriverUnload(k, DriverObject: PDRIVER_OBJECT) -> VOID:
    client = next((c for c in k.wdf.clients.values() if c.driver_object == DriverObject and c.driver), None)
    if client is None:
        return
    if client.config["EvtDriverUnload"]:
        run_callback(k, "EvtDriverUnload", client.config["EvtDriverUnload"], [client.driver.handle])
    delete(k, client.driver)


@export(FX_ADD_DEVICE, module=FRAMEWORK)
def FxDriverAddDevice(k, DriverObject: PDRIVER_OBJECT, PhysicalDeviceObject: PDEVICE_OBJECT) -> NTSTATUS:
    client = next(c for c in k.wdf.clients.values() if c.driver_object == DriverObject and c.driver)
    return run_callback(k, "EvtDriverDeviceAdd", client.config["EvtDriverDeviceAdd"],
                [client.driver.handle, pnp_device_init(k, client, PhysicalDeviceObject)]) & 0xFFFFFFFF


# ---- WDFREQUEST ---------------------------------------------------------------------------------------
def _request(k, globals_address: int, handle: int) -> Request:
    return lookup(k, globals_address, handle, FX_TYPE_REQUEST).state


def complete(k, obj: WdfObject, status: int, information: int) -> None:
    request: Request = obj.state
    request.status, request.information = status & 0xFFFFFFFF, information
    _complete_irp(k, request.irp, status, information)
    delete(k, obj)


@export("WdfRequestComplete", module=FRAMEWORK)
def WdfRequestComplete(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST, Status: NTSTATUS) -> VOID:
    obj = lookup(k, DriverGlobals, Request, FX_TYPE_REQUEST)
    complete(k, obj, Status, obj.state.information)


@export("WdfRequestCompleteWithInformation", module=FRAMEWORK)
def WdfRequestCompleteWithInformation(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST, Status: NTSTATUS,
                                      Information: ULONG_PTR) -> VOID:
    complete(k, lookup(k, DriverGlobals, Request, FX_TYPE_REQUEST), Status, Information)


@export("WdfRequestSetInformation", module=FRAMEWORK)
def WdfRequestSetInformation(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST,
                             Information: ULONG_PTR) -> VOID:
    _request(k, DriverGlobals, Request).information = Information


@export("WdfRequestGetInformation", module=FRAMEWORK)
def WdfRequestGetInformation(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> ULONG_PTR:
    return _request(k, DriverGlobals, Request).information


def _buffer(k, request: Request, output: bool) -> tuple[int, int] | None:
    """(address, length) of the request's input or output buffer; None for METHOD_NEITHER."""
    irp = k.read_struct(ks.IRP, request.irp)
    if request.major in (IRP_MJ_DEVICE_CONTROL, IRP_MJ_INTERNAL_DEVICE_CONTROL):
        control = request.stack.Parameters.DeviceIoControl
        method = control.IoControlCode & 3
        if method == METHOD_NEITHER:
            return None
        length = control.OutputBufferLength if output else control.InputBufferLength
        if output and method != METHOD_BUFFERED:
            return _mdl_buffer(k, irp.MdlAddress), length
        return irp.AssociatedIrp.SystemBuffer, length
    if (request.major == IRP_MJ_READ) != output:
        return 0, 0                                   # a read has no input, a write no output
    length = request.stack.Parameters.Read.Length
    flags = k.mem.read_u32(request.device.device_object + ks.offset_of(ks.DEVICE_OBJECT, "Flags"))
    if flags & DO_DIRECT_IO:
        return _mdl_buffer(k, irp.MdlAddress), length
    if flags & DO_BUFFERED_IO:
        return irp.AssociatedIrp.SystemBuffer, length
    return None


def _mdl_buffer(k, mdl: int) -> int:
    """The MDL's system address, mapping it (no-execute) as MmGetSystemAddressForMdlSafe would."""
    if not mdl:
        return 0
    m = k.read_struct(ks.MDL, mdl)
    if m.MdlFlags & ks.MDL_MAPPED_TO_SYSTEM_VA:
        return m.MappedSystemVa
    return mdls.map_locked_pages(k, mdl, KERNEL_MODE, NORMAL_PAGE_PRIORITY_NX, False, (mdl,))


def _retrieve(k, globals_address: int, handle: int, minimum: int, buffer_out: int, length_out: int,
              output: bool) -> int:
    found = _buffer(k, _request(k, globals_address, handle), output)
    if found is None:
        return STATUS_INVALID_DEVICE_REQUEST
    address, length = found
    if length == 0 or not address or length < minimum:
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write_q(buffer_out, address)
    if length_out:
        k.mem.write_q(length_out, length)
    return STATUS_SUCCESS


def _retrieve_memory(k, globals_address: int, handle: int, memory_out: int, output: bool) -> int:
    """A WDFMEMORY over the request's input or output buffer, owned by the request (deleted with it)."""
    obj = lookup(k, globals_address, handle, FX_TYPE_REQUEST)
    found = _buffer(k, obj.state, output)
    if found is None:
        return STATUS_INVALID_DEVICE_REQUEST
    address, length = found
    if length == 0 or not address:
        return STATUS_BUFFER_TOO_SMALL
    memory = new_object(k, obj.client, IFX_TYPE_MEMORY, 0, obj, MemoryBlock(address, length, owned=False))
    k.mem.write_q(memory_out, memory.handle)
    return STATUS_SUCCESS


@export("WdfRequestRetrieveInputMemory", module=FRAMEWORK)
def WdfRequestRetrieveInputMemory(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST, Memory: PVOID) -> NTSTATUS:
    return _retrieve_memory(k, DriverGlobals, Request, Memory, output=False)


@export("WdfRequestRetrieveOutputMemory", module=FRAMEWORK)
def WdfRequestRetrieveOutputMemory(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST,
                                   Memory: PVOID) -> NTSTATUS:
    return _retrieve_memory(k, DriverGlobals, Request, Memory, output=True)


@export("WdfRequestRetrieveInputBuffer", module=FRAMEWORK)
def WdfRequestRetrieveInputBuffer(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST,
                                  MinimumRequiredLength: SIZE_T, Buffer: PVOID, Length: PVOID) -> NTSTATUS:
    return _retrieve(k, DriverGlobals, Request, MinimumRequiredLength, Buffer, Length, output=False)


@export("WdfRequestRetrieveOutputBuffer", module=FRAMEWORK)
def WdfRequestRetrieveOutputBuffer(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST,
                                   MinimumRequiredSize: SIZE_T, Buffer: PVOID, Length: PVOID) -> NTSTATUS:
    return _retrieve(k, DriverGlobals, Request, MinimumRequiredSize, Buffer, Length, output=True)



@export("WdfRequestWdmGetIrp", module=FRAMEWORK)
def WdfRequestWdmGetIrp(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> PIRP:
    """The IRP the framework made the request from (WinDivert reads its requestor process there)."""
    return _request(k, DriverGlobals, Request).irp


@export("WdfFileObjectGetDevice", module=FRAMEWORK)
def WdfFileObjectGetDevice(k, DriverGlobals: PWDF_DRIVER_GLOBALS, FileObject: WDFFILEOBJECT) -> WDFDEVICE:
    """The device the file object was opened on (its parent)."""
    return lookup(k, DriverGlobals, FileObject, FX_TYPE_FILEOBJECT).parent.handle


@export("WdfDeviceEnqueueRequest", module=FRAMEWORK)
def WdfDeviceEnqueueRequest(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, Request: WDFREQUEST) -> NTSTATUS:
    """From EvtIoInCallerContext: hand the request to the framework's queues, as if it had just arrived."""
    device = lookup(k, DriverGlobals, Device, FX_TYPE_DEVICE)
    return enqueue(k, device, lookup(k, DriverGlobals, Request, FX_TYPE_REQUEST))


@export("WdfRequestGetParameters", module=FRAMEWORK)
def WdfRequestGetParameters(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST, Parameters: PVOID) -> VOID:
    """The request's type (its major function) and the parameters of its I/O stack location."""
    request = _request(k, DriverGlobals, Request)
    params = ks.WDF_REQUEST_PARAMETERS(Size=k.mem.read_u16(Parameters),     # WDF_REQUEST_PARAMETERS_INIT set it
                                       MinorFunction=request.stack.MinorFunction, Type=request.major)
    raw = bytes(request.stack)[_PARAMETERS:_PARAMETERS + ctypes.sizeof(params.Parameters)]
    ctypes.memmove(params.Parameters, raw, len(raw))
    k.write_struct(Parameters, params)


@export("WdfRequestGetFileObject", module=FRAMEWORK)
def WdfRequestGetFileObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> WDFFILEOBJECT:
    """The WDFFILEOBJECT of the handle the request came on (NULL for a request without a file object)."""
    obj = lookup(k, DriverGlobals, Request, FX_TYPE_REQUEST)
    file_object = obj.state.stack.FileObject
    if not file_object:
        return 0
    device = _device(k, obj.state.device.device_object)
    return _file_object(k, device, file_object).handle


@export("WdfFileObjectGetFileName", module=FRAMEWORK)
def WdfFileObjectGetFileName(k, DriverGlobals: PWDF_DRIVER_GLOBALS, FileObject: WDFFILEOBJECT) -> PUNICODE_STRING:
    """The FILE_OBJECT's FileName (empty when the device itself was opened)."""
    return lookup(k, DriverGlobals, FileObject, FX_TYPE_FILEOBJECT).state + _FILE_NAME


@export("WdfFileObjectWdmGetFileObject", module=FRAMEWORK)
def WdfFileObjectWdmGetFileObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, FileObject: WDFFILEOBJECT) -> PVOID:
    return lookup(k, DriverGlobals, FileObject, FX_TYPE_FILEOBJECT).state
