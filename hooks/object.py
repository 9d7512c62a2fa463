"""Object manager: handles, references, object types and names."""
import ctypes
import struct

from emu.memory import PTE_P, poke
from hooks import kstructs as ks
from hooks.api import (ACCESS_MASK, HANDLE, KPROCESSOR_MODE, NTSTATUS, PHANDLE, POBJECT_ATTRIBUTES, PUNICODE_STRING,
                       PVOID, TAG, ULONG, export)
from hooks.registry import object_path
from hooks.security import ObjectRef

STATUS_SUCCESS = 0
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034


@export("ZwClose", "NtClose")
def ZwClose(k, Handle: HANDLE) -> NTSTATUS:
    obj = k.handles.get(Handle)
    if not k.handles.close(Handle):
        return STATUS_INVALID_HANDLE
    close = getattr(obj, "close", None)          # the object type's close procedure, if it has one
    if close is not None:
        close()
    return STATUS_SUCCESS


@export("ObReferenceObjectByHandle")
def ObReferenceObjectByHandle(k, Handle: HANDLE, DesiredAccess: ACCESS_MASK, ObjectType: PVOID,
                              AccessMode: KPROCESSOR_MODE, Object: PVOID, HandleInformation: PVOID) -> NTSTATUS:
    if Handle == 0xFFFFFFFFFFFFFFFF:              # NtCurrentProcess()
        k.mem.write_q(Object, k.system_process)
        return STATUS_SUCCESS
    if Handle == 0xFFFFFFFFFFFFFFFE:              # NtCurrentThread()
        k.mem.write_q(Object, k.current_thread)
        return STATUS_SUCCESS
    obj = k.handles.get(Handle)
    if obj is None:
        return STATUS_INVALID_HANDLE
    address = getattr(obj, "address", 0)
    known_type = k.object_types.of(k, address) if address else 0
    if not address or (ObjectType and known_type and known_type != ObjectType):
        return STATUS_OBJECT_TYPE_MISMATCH
    k.mem.write_q(Object, address)
    return STATUS_SUCCESS


@export("ObReferenceObjectByHandleWithTag")
def ObReferenceObjectByHandleWithTag(k, Handle: HANDLE, DesiredAccess: ACCESS_MASK, ObjectType: PVOID,
                                     AccessMode: KPROCESSOR_MODE, Tag: TAG, Object: PVOID,
                                     HandleInformation: PVOID) -> NTSTATUS:
    return ObReferenceObjectByHandle(k, Handle, DesiredAccess, ObjectType, AccessMode, Object, HandleInformation)


@export("ObfDereferenceObject", "ObDereferenceObject", "ObfReferenceObject", "ObReferenceObject",
        "ObDereferenceObjectDeferDelete")
def ObfDereferenceObject(k, Object: PVOID) -> PVOID:
    return 1


@export("ObfDereferenceObjectWithTag", "ObfReferenceObjectWithTag", "ObDereferenceObjectDeferDeleteWithTag")
def ObfDereferenceObjectWithTag(k, Object: PVOID, Tag: TAG) -> PVOID:
    return 1


@export("ObReferenceObjectByPointer")
def ObReferenceObjectByPointer(k, Object: PVOID, DesiredAccess: ACCESS_MASK, ObjectType: PVOID,
                               AccessMode: KPROCESSOR_MODE) -> NTSTATUS:
    return STATUS_SUCCESS


# ---- object types and names ------------------------------------------------------------------------------
# Type name -> the ntoskrnl variable that points at its OBJECT_TYPE.
TYPE_VARIABLES = {"Process": "PsProcessType", "Thread": "PsThreadType", "File": "IoFileObjectType",
                  "Device": "IoDeviceObjectType", "Driver": "IoDriverObjectType", "Event": "ExEventObjectType",
                  "Semaphore": "ExSemaphoreObjectType", "Key": "CmKeyObjectType", "Section": "MmSectionObjectType",
                  "Token": "SeTokenObjectType", "Job": "PsJobType"}
# Objects recognisable by their leading header: (CSHORT Type, CSHORT Size) of I/O objects, or the
# DISPATCHER_HEADER (Type byte, Size byte in LONGs) of events and semaphores.
_IO_TYPES = {ks.IO_TYPE_DEVICE: "Device", ks.IO_TYPE_DRIVER: "Driver", ks.IO_TYPE_FILE: "File"}
_DISPATCHER_TYPES = {(ks.EventNotificationObject, ctypes.sizeof(ks.KEVENT) // 4): "Event",
                     (ks.EventSynchronizationObject, ctypes.sizeof(ks.KEVENT) // 4): "Event",
                     (ks.SemaphoreObject, ctypes.sizeof(ks.KSEMAPHORE) // 4): "Semaphore"}
_IO_SIZES = {"Driver": ctypes.sizeof(ks.DRIVER_OBJECT), "File": ctypes.sizeof(ks.FILE_OBJECT)}


class ObjectTypes:
    """The OBJECT_TYPEs behind PsProcessType & co.: named (OBJECT_TYPE.Name) and looked up by object."""

    def __init__(self, k):
        nt = k.module_exports["ntoskrnl.exe"]
        self.address: dict[str, int] = {}
        for index, (name, variable) in enumerate(TYPE_VARIABLES.items(), start=2):
            if variable not in nt:
                continue
            at = k.mem.read_q(nt[variable])
            text = k.read_struct(ks.UNICODE_STRING, k.unicode_string(name))
            obj = ks.OBJECT_TYPE(Name=text, Index=index)
            obj.TypeList.Flink = obj.TypeList.Blink = at
            poke(k.mem, at, bytes(obj))
            self.address[name] = at

    def of(self, k, obj: int) -> int:
        """The OBJECT_TYPE of an object this kernel made or a driver laid out as one; 0 if unknown."""
        name = None
        if obj == k.system_process:
            name = "Process"
        elif obj == k.current_thread or obj in k.deferred.threads:
            name = "Thread"
        elif obj in k.devices:
            name = "Device"
        elif k.mem.is_mapped(obj) and k.mem.pte(obj) & PTE_P:
            io_type, io_size = struct.unpack("<hH", k.mem.read(obj, 4))
            kind, _, size = k.mem.read(obj, 3)
            name = _IO_TYPES.get(io_type)
            if name and io_size < _IO_SIZES.get(name, 0):
                name = None
            name = name or _DISPATCHER_TYPES.get((kind, size))
        return self.address.get(name, 0) if name else 0


def object_by_name(k, name: str) -> int:
    """The object a \\Driver\\X, \\Device\\X or \\??\\X (symbolic link) name refers to, else 0."""
    lower = name.lower()
    for prefix in ("\\??\\", "\\dosdevices\\", "\\global??\\"):
        if lower.startswith(prefix):
            link = lower[len(prefix):]
            target = k.symlinks.get("\\??\\" + link) or k.symlinks.get("\\dosdevices\\" + link)
            return object_by_name(k, target) if target else 0
    if lower.startswith("\\driver\\"):
        return next((d.driver_object for d in k.drivers if d.name.lower() == lower[8:]), 0)
    return k.object_names.get(lower, 0)


def _open_by_name(k, name: str, object_type: int) -> tuple[int, int]:
    """(status, object) for a lookup by name with an optional expected OBJECT_TYPE."""
    obj = object_by_name(k, name)
    if not obj:
        return STATUS_OBJECT_NAME_NOT_FOUND, 0
    if object_type and k.object_types.of(k, obj) != object_type:
        return STATUS_OBJECT_TYPE_MISMATCH, 0
    return STATUS_SUCCESS, obj


@export("ObGetObjectType")
def ObGetObjectType(k, Object: PVOID) -> PVOID:
    return k.object_types.of(k, Object)


@export("ObReferenceObjectByName")
def ObReferenceObjectByName(k, ObjectName: PUNICODE_STRING, Attributes: ULONG, AccessState: PVOID,
                            DesiredAccess: ACCESS_MASK, ObjectType: PVOID, AccessMode: KPROCESSOR_MODE,
                            ParseContext: PVOID, Object: PVOID) -> NTSTATUS:
    status, obj = _open_by_name(k, k.read_unicode_string(ObjectName), ObjectType)
    if status == STATUS_SUCCESS:
        k.mem.write_q(Object, obj)
    return status


@export("ObOpenObjectByName")
def ObOpenObjectByName(k, ObjectAttributes: POBJECT_ATTRIBUTES, ObjectType: PVOID, AccessMode: KPROCESSOR_MODE,
                       AccessState: PVOID, DesiredAccess: ACCESS_MASK, ParseContext: PVOID,
                       Handle: PHANDLE) -> NTSTATUS:
    status, obj = _open_by_name(k, object_path(k, ObjectAttributes), ObjectType)
    if status == STATUS_SUCCESS:
        k.mem.write_q(Handle, k.handles.open(ObjectRef(obj)))
    return status
