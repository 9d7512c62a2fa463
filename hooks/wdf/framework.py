"""The framework's state: bound clients, and every WDF object a driver holds a handle to.

KMDF hands out handles that are its object's address XORed with ~7 (FxObject::_ToHandle in
src/framework/shared/inc/private/common/fxobject.hpp of microsoft/Windows-Driver-Frameworks): the
object lives in non-paged NX pool and the handle is not a usable pointer. Here each object is a
small pool block, so the handles a driver sees have the value and shape Windows would give it.
Each object may carry context memory (WDF_OBJECT_ATTRIBUTES' context type), a parent, children
(deleted with it), and the cleanup/destroy callbacks the driver registered, recorded in order.

Looking up a handle of the wrong type is what KMDF does without its verifier: WDF_VIOLATION
(0x10D) with WDF_INVALID_HANDLE, the handle and the expected type (FxObjectHandleGetPtr).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache

import rootfs
from emu.machine import Halt
from hooks import kstructs as ks
from hooks.events import Crash

WDFLDR = "wdfldr.sys"
FRAMEWORK = "Wdf01000.sys"          # the KMDF library; its function table is what drivers call
HANDLE_MASK = ~7 & 0xFFFFFFFFFFFFFFFF
OBJECT_SIZE = 0x40                  # the pool block behind a handle (KMDF's FxObject is bigger; never read)
FX_TAG = 0x72447846                 # 'rDxF' (fxmacros.hpp): the framework's own tag

WDF_VIOLATION = 0x10D
WDF_INVALID_HANDLE = 0x5
WDF_REQUIRED_PARAMETER_IS_NULL = 0x4

# FX_OBJECT_TYPES (src/framework/shared/inc/private/common/fxtypes.h)
FX_TYPE_OBJECT = 0x1000
FX_TYPE_DRIVER = 0x1001
FX_TYPE_DEVICE = 0x1002
FX_TYPE_QUEUE = 0x1003
FX_TYPE_REG_KEY = 0x1006
FX_TYPE_STRING = 0x1007
FX_TYPE_REQUEST = 0x1008
FX_TYPE_LOOKASIDE = 0x1009
IFX_TYPE_MEMORY = 0x100A
FX_TYPE_COLLECTION = 0x100E
FX_TYPE_DPC = 0x1015
FX_TYPE_FILEOBJECT = 0x1018
FX_TYPE_WAIT_LOCK = 0x1023
FX_TYPE_SPIN_LOCK = 0x1024
FX_TYPE_WORKITEM = 0x1025
FX_TYPE_TIMER = 0x1028

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_NAME_EXISTS = 0x40000000
STATUS_INSUFFICIENT_RESOURCES = 0xC000009A
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_DRIVER_INTERNAL_ERROR = 0xC0000183


@lru_cache(maxsize=None)
def table() -> dict:
    """rootfs/wdf/kmdf.json: the function table (order, prototypes, first version) and its sizes."""
    with open(os.path.join(rootfs.HERE, "wdf", "kmdf.json"), encoding="utf-8") as fh:
        return json.load(fh)


@dataclass
class Context:
    """One context area on an object (WdfObjectAllocateContext adds more than one type)."""

    type_info: int                              # the driver's WDF_OBJECT_CONTEXT_TYPE_INFO, its identity
    address: int
    size: int


@dataclass(eq=False)                # an object is itself: compared by identity, hashable
class WdfObject:
    handle: int
    address: int
    type: int
    client: "Client" = field(repr=False)
    parent: "WdfObject | None" = field(default=None, repr=False)
    children: list["WdfObject"] = field(default_factory=list, repr=False)
    contexts: list[Context] = field(default_factory=list)
    cleanup: list[int] = field(default_factory=list)        # EvtCleanupCallback per attributes given
    destroy: list[int] = field(default_factory=list)
    state: object = None            # the type's own record (Queue, MemoryBlock...); may define on_delete(k)
    deleted: bool = False


@dataclass
class Client:
    """A driver bound to the framework: what WdfVersionBind gave it and what it registered."""

    globals: int
    driver_object: int
    registry_path: int
    version: tuple[int, int, int]
    func_count: int
    func_table: int                 # BindInfo.FuncTable: the driver's WdfFunctions (pointer or array)
    component: str
    tag: int = 0
    driver: WdfObject | None = None
    config: dict[str, int] = field(default_factory=dict)     # WDF_DRIVER_CONFIG members
    unbound: bool = False                                       # WdfVersionUnbind ran (DriverEntry failed)


@dataclass
class Framework:
    """Per-kernel KMDF state. `table` is the function table's address once the library is built."""

    table: int = 0
    clients: dict[int, Client] = field(default_factory=dict)         # globals address -> client
    objects: dict[int, WdfObject] = field(default_factory=dict)      # handle -> object
    device_inits: dict[int, object] = field(default_factory=dict)    # PWDFDEVICE_INIT -> device.DeviceInit
    devices: list[WdfObject] = field(default_factory=list)           # every device created (also deleted ones)
    calls: list[str] = field(default_factory=list)                   # framework functions a driver called
    ran: list[str] = field(default_factory=list)                     # driver callbacks the framework ran
    registered: list[str] = field(default_factory=list)              # kinds of object callbacks set (cleanup, timer...)
    queued: list[int] = field(default_factory=list)                  # handles of timers, work items, DPCs due to run
    deleted: list[tuple[str, int, int]] = field(default_factory=list)  # (callback kind, routine, handle)

    def client(self, k, globals_address: int) -> Client:
        client = self.clients.get(globals_address)
        if client is None or client.unbound:
            raise Halt(Crash(0x50, (globals_address, 0, k.caller, 0), k.caller, k.current_export.name,
                             f"{k.current_export.name}: 0x{globals_address:x} is not the PWDF_DRIVER_GLOBALS "
                             "WdfVersionBind returned"))
        return client


def to_handle(address: int) -> int:
    return address ^ HANDLE_MASK


def bug_check(k, code: int, arg2: int, arg3: int, globals_address: int, note: str):
    """WDF_VIOLATION as FxVerifierBugCheck raises it: Arg4 is the caller's driver globals."""
    raise Halt(Crash(WDF_VIOLATION, (code, arg2, arg3, globals_address), k.caller, k.current_export.name, note))


def new_object(k, client: Client, fx_type: int, attributes: int, parent: WdfObject | None = None,
               state: object = None) -> WdfObject:
    """An object with the context and callbacks WDF_OBJECT_ATTRIBUTES ask for (attributes may be 0).
    The parent is the attributes' ParentObject if given, else `parent` (the type's default)."""
    address = k.pool.allocate(OBJECT_SIZE, executable=False, paged=False, tag=client.tag or FX_TAG, owner=0)
    k.mem.write(address, bytes(OBJECT_SIZE))
    obj = WdfObject(to_handle(address), address, fx_type, client, state=state)
    if attributes:
        attrs = k.read_struct(ks.WDF_OBJECT_ATTRIBUTES, attributes)
        if attrs.ParentObject:
            parent = lookup(k, client.globals, attrs.ParentObject, FX_TYPE_OBJECT)
        add_context(k, obj, attrs)
    if parent is not None:
        obj.parent = parent
        parent.children.append(obj)
    k.wdf.objects[obj.handle] = obj
    return obj


def add_context(k, obj: WdfObject, attrs: ks.WDF_OBJECT_ATTRIBUTES) -> Context | None:
    """Record the callbacks and allocate zeroed context memory of the type's size (or the override)."""
    if attrs.EvtCleanupCallback:
        obj.cleanup.append(attrs.EvtCleanupCallback)
        register(k, "EvtCleanupCallback")
    if attrs.EvtDestroyCallback:
        obj.destroy.append(attrs.EvtDestroyCallback)
        register(k, "EvtDestroyCallback")
    if not attrs.ContextTypeInfo:
        return None
    info = k.read_struct(ks.WDF_OBJECT_CONTEXT_TYPE_INFO, attrs.ContextTypeInfo)
    type_info = info.UniqueType or attrs.ContextTypeInfo
    size = max(attrs.ContextSizeOverride, info.ContextSize, 1)
    address = k.pool.allocate(size, executable=False, paged=False, tag=obj.client.tag or FX_TAG, owner=0)
    k.mem.write(address, bytes(size))
    context = Context(type_info, address, size)
    obj.contexts.append(context)
    return context


def register(k, kind: str) -> None:
    """Note that a driver set a callback of this kind on an object (for the report's never-ran list)."""
    if kind not in k.wdf.registered:
        k.wdf.registered.append(kind)


def lookup(k, globals_address: int, handle: int, fx_type: int) -> WdfObject:
    """The object behind a handle, checked as FxObjectHandleGetPtr checks it (FX_TYPE_OBJECT: any)."""
    obj = k.wdf.objects.get(handle)
    if obj is not None and (obj.type == fx_type or fx_type == FX_TYPE_OBJECT):
        return obj
    if obj is not None:
        bug_check(k, WDF_INVALID_HANDLE, handle, fx_type, globals_address,
                  f"{k.current_export.name}: handle 0x{handle:x} is a 0x{obj.type:x} object, not 0x{fx_type:x}")
    if handle == 0:
        bug_check(k, WDF_INVALID_HANDLE, handle, fx_type, globals_address,
                  f"{k.current_export.name}: NULL handle where a 0x{fx_type:x} object was expected")
    address = handle ^ HANDLE_MASK          # KMDF dereferences the decoded handle: not an object, the read faults
    raise Halt(Crash(0x50, (address, 0, k.caller, 0), k.caller, k.current_export.name,
                     f"{k.current_export.name}: 0x{handle:x} is not a WDF handle (KMDF reads 0x{address:x})"))


def run_callback(k, name: str, routine: int, args: list[int]) -> int:
    """Call a driver callback from the framework, noting which ran (for the report); stand-ins it calls
    are reported as called in `name`."""
    if name not in k.wdf.ran:
        k.wdf.ran.append(name)
    outer, k.standins.entry = k.standins.entry, name
    try:
        return k.call_nested(routine, args)
    finally:
        k.standins.entry = outer


def delete(k, obj: WdfObject) -> None:
    """Delete an object and, first, its children (youngest first), running the callbacks in the order
    KMDF runs them: every cleanup, then every destroy (each also recorded in `Framework.deleted`)."""
    if obj.deleted:                     # a callback deleted it (or its parent) already
        return
    obj.deleted = True
    for child in reversed(list(obj.children)):
        delete(k, child)
    for kind, routines in (("EvtCleanupCallback", obj.cleanup), ("EvtDestroyCallback", obj.destroy)):
        for routine in routines:
            k.wdf.deleted.append((kind, routine, obj.handle))
            run_callback(k, kind, routine, [obj.handle])
    if obj.parent is not None:
        obj.parent.children.remove(obj)
    k.wdf.objects.pop(obj.handle, None)
    if obj.handle in k.wdf.queued:
        k.wdf.queued.remove(obj.handle)     # a deleted timer, work item or DPC never runs
    on_delete = getattr(obj.state, "on_delete", None)
    if on_delete is not None:
        on_delete(k)
    for context in obj.contexts:
        k.pool.free(context.address)
    k.pool.free(obj.address)
