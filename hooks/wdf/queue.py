"""WDFQUEUE: I/O queues and which requests reach them.

WdfIoQueueCreate records the queue's dispatch type and the callbacks of its WDF_IO_QUEUE_CONFIG
(EvtIoDefault, EvtIoRead, EvtIoWrite, EvtIoDeviceControl, EvtIoInternalDeviceControl...); a
default queue receives every request type not configured to another queue
(WdfDeviceConfigureRequestDispatching). A device has at most one default queue.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PVOID, VOID, export
from hooks.wdf.device import device_of
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_DEVICE, FX_TYPE_FILEOBJECT, FX_TYPE_QUEUE, FX_TYPE_REQUEST,
                                 STATUS_INVALID_PARAMETER, STATUS_SUCCESS, WdfObject, lookup, new_object,
                                 run_callback)
from hooks.wdf.request import complete, enqueue_on
from hooks.wdf.types import (ENUM, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFDEVICE, WDFFILEOBJECT, WDFQUEUE,
                             WDFREQUEST)

DISPATCH_TYPES = {1: "sequential", 2: "parallel", 3: "manual"}
STATUS_WDF_QUEUE_ALREADY_EXISTS = 0xC0000035      # STATUS_OBJECT_NAME_COLLISION, what KMDF returns
STATUS_CANCELLED = 0xC0000120
STATUS_NO_MORE_ENTRIES = 0x8000001A
STATUS_WDF_BUSY = 0xC0200204                        # wdfstatus.h: the queue accepts no new requests
IO_CALLBACKS = ("EvtIoDeviceControl", "EvtIoInternalDeviceControl", "EvtIoDefault")
REQUEST_TYPES = {0x00: "create", 0x03: "read", 0x04: "write", 0x0E: "device control",
                 0x0F: "internal device control"}


@dataclass
class IoQueue:
    device: object = field(repr=False)          # the device's WdfObject
    dispatch: str
    default: bool
    callbacks: dict[str, int]
    power_managed: int
    pending: list = field(default_factory=list)     # requests waiting on a manual queue (WdfObjects)
    accepting: bool = True                          # WdfIoQueuePurge/Stop: new requests are refused


@export("WdfIoQueueCreate", module=FRAMEWORK)
def WdfIoQueueCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, Config: PVOID,
                     QueueAttributes: PWDF_OBJECT_ATTRIBUTES, Queue: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    device_obj = lookup(k, client.globals, Device, FX_TYPE_DEVICE)
    device = device_obj.state
    config = k.read_struct(ks.WDF_IO_QUEUE_CONFIG, Config)
    if config.DispatchType not in DISPATCH_TYPES:
        return STATUS_INVALID_PARAMETER
    if config.DefaultQueue and device.default_queue is not None:
        return STATUS_WDF_QUEUE_ALREADY_EXISTS
    callbacks = {name: getattr(config, name) for name, _ in ks.WDF_IO_QUEUE_CONFIG._fields_
                 if name.startswith("Evt") and getattr(config, name)}
    state = IoQueue(device_obj, DISPATCH_TYPES[config.DispatchType], bool(config.DefaultQueue),
                    callbacks, config.PowerManaged)
    obj = new_object(k, client, FX_TYPE_QUEUE, QueueAttributes, device_obj, state)
    device.queues.append(obj)
    if config.DefaultQueue:
        device.default_queue = obj
    if Queue:
        k.mem.write_q(Queue, obj.handle)
    return STATUS_SUCCESS


@export("WdfDeviceConfigureRequestDispatching", module=FRAMEWORK)
def WdfDeviceConfigureRequestDispatching(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, Queue: WDFQUEUE,
                                         RequestType: ENUM) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    device = device_of(k, DriverGlobals, Device)
    queue = lookup(k, client.globals, Queue, FX_TYPE_QUEUE)
    if RequestType not in REQUEST_TYPES:
        return STATUS_INVALID_PARAMETER
    device.dispatching[RequestType] = queue
    return STATUS_SUCCESS


@export("WdfIoQueueGetDevice", module=FRAMEWORK)
def WdfIoQueueGetDevice(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) -> WDFDEVICE:
    return lookup(k, DriverGlobals, Queue, FX_TYPE_QUEUE).state.device.handle


def io_control_callbacks(k, driver_object: int) -> list[int]:
    """The routines a KMDF driver's IOCTLs reach: its devices' EvtIoInCallerContext and their queues'
    EvtIoDeviceControl, EvtIoInternalDeviceControl and EvtIoDefault (for IOCTL harvesting)."""
    routines = []
    for device in k.wdf.devices:
        if device.client.driver_object != driver_object:
            continue
        routines += [a for n, a in device.state.callbacks.items() if n == "EvtIoInCallerContext"]
        for queue in device.state.queues:
            routines += [a for n, a in queue.state.callbacks.items() if n in IO_CALLBACKS]
    return list(dict.fromkeys(routines))


def _queue(k, globals_address: int, handle: int) -> WdfObject:
    return lookup(k, globals_address, handle, FX_TYPE_QUEUE)


def _purge(k, queue: WdfObject, callback: int, context: int, name: str) -> None:
    """Refuse new requests, cancel those waiting (STATUS_CANCELLED), then the driver's callback."""
    queue.state.accepting = False
    while queue.state.pending:
        complete(k, queue.state.pending.pop(0), STATUS_CANCELLED, 0)
    if callback:
        run_callback(k, name, callback, [queue.handle, context])


@export("WdfIoQueuePurge", module=FRAMEWORK)
def WdfIoQueuePurge(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE, PurgeComplete: PVOID,
                    Context: PVOID) -> VOID:
    _purge(k, _queue(k, DriverGlobals, Queue), PurgeComplete, Context, "EvtIoQueueState")


@export("WdfIoQueuePurgeSynchronously", module=FRAMEWORK)
def WdfIoQueuePurgeSynchronously(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) -> VOID:
    _purge(k, _queue(k, DriverGlobals, Queue), 0, 0, "")


@export("WdfIoQueueStart", module=FRAMEWORK)
def WdfIoQueueStart(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) -> VOID:
    _queue(k, DriverGlobals, Queue).state.accepting = True


@export("WdfIoQueueRetrieveNextRequest", module=FRAMEWORK)
def WdfIoQueueRetrieveNextRequest(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE,
                                  OutRequest: PVOID) -> NTSTATUS:
    """The oldest request waiting on a manual queue; the driver now owns it."""
    queue = _queue(k, DriverGlobals, Queue)
    k.mem.write_q(OutRequest, 0)
    if not queue.state.pending:
        return STATUS_NO_MORE_ENTRIES
    k.mem.write_q(OutRequest, queue.state.pending.pop(0).handle)
    return STATUS_SUCCESS


@export("WdfIoQueueRetrieveRequestByFileObject", module=FRAMEWORK)
def WdfIoQueueRetrieveRequestByFileObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE,
                                          FileObject: WDFFILEOBJECT, OutRequest: PVOID) -> NTSTATUS:
    queue = _queue(k, DriverGlobals, Queue)
    file_object = lookup(k, DriverGlobals, FileObject, FX_TYPE_FILEOBJECT).state
    k.mem.write_q(OutRequest, 0)
    found = next((r for r in queue.state.pending if r.state.stack.FileObject == file_object), None)
    if found is None:
        return STATUS_NO_MORE_ENTRIES
    queue.state.pending.remove(found)
    k.mem.write_q(OutRequest, found.handle)
    return STATUS_SUCCESS


@export("WdfRequestForwardToIoQueue", module=FRAMEWORK)
def WdfRequestForwardToIoQueue(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST,
                               DestinationQueue: WDFQUEUE) -> NTSTATUS:
    """Move a request the driver holds to another queue of the same device, which presents it (or keeps
    it, if manual); a queue being purged refuses it."""
    request = lookup(k, DriverGlobals, Request, FX_TYPE_REQUEST)
    queue = _queue(k, DriverGlobals, DestinationQueue)
    if not queue.state.accepting:
        return STATUS_WDF_BUSY
    return enqueue_on(k, queue, request)
