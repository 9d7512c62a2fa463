"""WDFQUEUE: I/O queues and which requests reach them.

WdfIoQueueCreate records the queue's dispatch type and the callbacks of its WDF_IO_QUEUE_CONFIG
(EvtIoDefault, EvtIoRead, EvtIoWrite, EvtIoDeviceControl, EvtIoInternalDeviceControl...); a
default queue receives every request type not configured to another queue
(WdfDeviceConfigureRequestDispatching). A device has at most one default queue.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PVOID, export
from hooks.wdf.device import device_of
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_DEVICE, FX_TYPE_QUEUE, STATUS_INVALID_PARAMETER, STATUS_SUCCESS,
                                 lookup, new_object)
from hooks.wdf.types import ENUM, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFDEVICE, WDFQUEUE

DISPATCH_TYPES = {1: "sequential", 2: "parallel", 3: "manual"}
STATUS_WDF_QUEUE_ALREADY_EXISTS = 0xC0000035      # STATUS_OBJECT_NAME_COLLISION, what KMDF returns
REQUEST_TYPES = {0x00: "create", 0x03: "read", 0x04: "write", 0x0E: "device control",
                 0x0F: "internal device control"}


@dataclass
class IoQueue:
    device: object = field(repr=False)          # the device's WdfObject
    dispatch: str
    default: bool
    callbacks: dict[str, int]
    power_managed: int


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
