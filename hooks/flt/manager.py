"""The filter manager's state: registered minifilters, their instances, ports and contexts.

Every object a minifilter holds (PFLT_FILTER, PFLT_INSTANCE, PFLT_PORT, PFLT_CONTEXT) is a real
address in non-paged NX pool, so a driver may store, compare and pass it like on Windows; what it
stands for lives here. The callbacks a minifilter registered are kept as routine addresses with
their major function and flags, for whatever later drives file-system operations through them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FLTMGR = "fltmgr.sys"
STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_PORT_DISCONNECTED = 0xC0000037
STATUS_NOT_FOUND = 0xC0000225
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_FLT_INSTANCE_ALTITUDE_COLLISION = 0xC01C0011
STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND = 0xC01C0016
STATUS_FLT_FILTER_NOT_FOUND = 0xC01C0013
STATUS_FLT_CONTEXT_ALREADY_DEFINED = 0xC01C0002
STATUS_FLT_CONTEXT_ALREADY_LINKED = 0xC01C0027

SYSTEM_VOLUME = "\\Device\\HarddiskVolume1"     # the one volume a started filter attaches to
OBJECT_SIZE = 0x100                              # opaque objects: big enough for any driver peeking


@dataclass
class Operation:
    """One FLT_OPERATION_REGISTRATION entry: the callbacks for one major function."""

    major: int
    flags: int
    pre: int
    post: int


@dataclass
class ContextRegistration:
    """One FLT_CONTEXT_REGISTRATION entry."""

    type: int
    flags: int
    size: int
    tag: int
    cleanup: int
    allocate: int
    free: int


@dataclass
class Filter:
    address: int
    name: str                                   # the service name, as fltmgr takes it from the driver
    driver_object: int
    version: int
    flags: int
    operations: list[Operation]
    contexts: list[ContextRegistration]
    callbacks: dict[str, int]                   # FLT_REGISTRATION member -> routine, non-NULL only
    started: bool = False
    references: int = 0                         # rundown references handed out (FltObjectReference...)


@dataclass
class Instance:
    """A filter attached to a volume. Created by FltStartFiltering; the InstanceSetupCallback, if
    any, has not run (that belongs to the code that drives file-system operations)."""

    address: int
    filter: Filter
    volume: str
    context: int = 0
    references: int = 0


@dataclass
class Port:
    """A communication server port (FltCreateCommunicationPort)."""

    address: int
    filter: Filter
    name: str
    cookie: int
    connect: int
    disconnect: int
    message: int
    max_connections: int


@dataclass
class Context:
    address: int
    filter: Filter
    type: int
    size: int
    references: int = 1
    linked: object = None                       # the Instance it is set on


@dataclass
class Volume:
    """A volume the filter manager knows (PFLT_VOLUME): the system volume, made when first handed out."""

    address: int
    name: str
    references: int = 0
    disk_device: int = 0                        # its DEVICE_OBJECT, made on first FltGetDiskDeviceObject


@dataclass
class FilterManager:
    filters: dict[int, Filter] = field(default_factory=dict)
    volumes: dict[int, Volume] = field(default_factory=dict)
    instances: dict[int, Instance] = field(default_factory=dict)
    ports: dict[int, Port] = field(default_factory=dict)
    contexts: dict[int, Context] = field(default_factory=dict)
    names: dict[int, int] = field(default_factory=dict)     # FLT_FILE_NAME_INFORMATION -> references

    def object(self, address: int) -> Filter | Instance | Volume | None:
        """A filter, instance or volume, the objects FltObjectReference/Dereference take."""
        return self.filters.get(address) or self.instances.get(address) or self.volumes.get(address)

    def filter_of_driver(self, driver_object: int) -> Filter | None:
        return next((f for f in self.filters.values() if f.driver_object == driver_object), None)


def new_object(k, tag: int) -> int:
    """An opaque filter-manager object in non-paged NX pool, zeroed."""
    va = k.pool.allocate(OBJECT_SIZE, executable=False, paged=False, tag=tag, owner=0)
    k.mem.write(va, bytes(OBJECT_SIZE))
    return va
