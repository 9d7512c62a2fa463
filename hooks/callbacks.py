"""Notification and callback registrations: shutdown, PnP, process/thread/image, registry,
object, bug-check, callback-object and power-setting callbacks, in one typed registry.

Nothing is invoked here: each registration is a `Callback` record (kind, routine, context, the
API that registered it, where from) that a later stage can call as Windows would. Checks Windows
makes at registration are made too: PsSetCreateProcessNotifyRoutineEx/Ex2 and ObRegisterCallbacks
refuse (STATUS_ACCESS_DENIED) routines in an image linked without /INTEGRITYCHECK
(IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY), duplicates and unknown removals are refused as
documented.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from hooks import kstructs as ks
from hooks.api import (BOOLEAN, CType, LONGLONG, NTSTATUS, PDEVICE_OBJECT, PDRIVER_OBJECT, PLARGE_INTEGER,
                       PUNICODE_STRING, PVOID, ULONG, ULONG_PTR, export)
from hooks.etw import guid_text
from hooks.registry import object_path

PCALLBACK_OBJECT = CType("PCALLBACK_OBJECT", 64, "ptr")

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_PROCEDURE_NOT_FOUND = 0xC000007A
STATUS_FLT_INSTANCE_ALTITUDE_COLLISION = 0xC01C0011
IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY = 0x80
OB_FLT_REGISTRATION_VERSION = 0x100
OB_OBJECT_TYPES = ("PsProcessType", "PsThreadType", "ExDesktopObjectType")
EventCategoryHardwareProfileChange, EventCategoryDeviceInterfaceChange = 1, 2
EventCategoryTargetDeviceChange, EventCategoryKernelSoftRestart = 3, 4
PSCREATEPROCESSNOTIFYTYPE_SUBSYSTEMS = 0       # PsCreateProcessNotifySubsystems
PSCREATETHREADNOTIFYTYPE = (0, 1)              # PsCreateThreadNotifyNonSystem, PsCreateThreadNotifySubsystems
MAX_NOTIFY_ROUTINES = 64                       # per kind, as documented for the Ps* routines
CALLBACK_TAG = 0x6B6C4243                      # 'klBC': reads "CBlk"
# Callback objects Windows creates at boot (ExCreateCallback with Create FALSE finds them).
SYSTEM_CALLBACK_OBJECTS = ("\\Callback\\SetSystemTime", "\\Callback\\PowerState", "\\Callback\\ProcessorAdd")


@dataclass
class Callback:
    """One registered routine. `cookie` is what unregistering names (a handle, the routine, the
    record, the device); `detail` says what it watches (category GUID, object type, altitude...)."""

    kind: str
    routine: int
    context: int
    api: str
    caller: int
    cookie: int
    detail: str = ""
    active: bool = True


class Callbacks:
    def __init__(self) -> None:
        self.registered: list[Callback] = []
        self._objects: dict[str, int] = {}         # callback object name (lower case) -> object

    def add(self, k, kind: str, routine: int, context: int, cookie: int = 0, detail: str = "") -> Callback:
        """Record a registration; without a cookie of its own it gets a fresh kernel address."""
        if not cookie:
            cookie = k.pool.allocate(16, executable=False, paged=False, tag=CALLBACK_TAG, owner=0)
        entry = Callback(kind, routine, context, k.current_export.name, k.caller, cookie, detail)
        self.registered.append(entry)
        return entry

    def active(self, kind: str) -> list[Callback]:
        return [c for c in self.registered if c.active and c.kind == kind]

    def find(self, kinds: tuple[str, ...], cookie: int) -> list[Callback]:
        return [c for c in self.registered if c.active and c.kind in kinds and c.cookie == cookie]

    def objects(self, k) -> dict[str, int]:
        """Callback objects by lower-case name, starting with those Windows creates at boot."""
        if not self._objects:
            for name in SYSTEM_CALLBACK_OBJECTS:
                self._objects[name.lower()] = k.pool.allocate(16, executable=False, paged=False, tag=CALLBACK_TAG,
                                                              owner=0)
        return self._objects

    def remove(self, kinds: tuple[str, ...], cookie: int) -> bool:
        found = self.find(kinds, cookie)
        for c in found:
            c.active = False
        return bool(found)


def integrity_checked(k, routine: int) -> bool:
    """Whether the routine lies in an image linked with /INTEGRITYCHECK (Windows requires it of
    process-notify and object callbacks: the image must be signed and checked at load)."""
    image = k.image_at(routine)
    return image is not None and bool(image.image.pe.OPTIONAL_HEADER.DllCharacteristics
                                      & IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY)


# ---- shutdown and PnP ---------------------------------------------------------------------------------
def _shutdown(k, kind: str, device: int) -> int:
    driver = k.mem.read_q(device + ks.offset_of(ks.DEVICE_OBJECT, "DriverObject"))
    routine = k.mem.read_q(driver + ks.offset_of(ks.DRIVER_OBJECT, f"MajorFunction[{ks.IRP_MJ_SHUTDOWN}]"))
    k.callbacks.add(k, kind, routine, device, cookie=device, detail="IRP_MJ_SHUTDOWN")
    return STATUS_SUCCESS


@export("IoRegisterShutdownNotification")
def IoRegisterShutdownNotification(k, DeviceObject: PDEVICE_OBJECT) -> NTSTATUS:
    """Windows sends the device an IRP_MJ_SHUTDOWN: the routine is the driver's dispatch routine
    for it (as set when registering; context = the device)."""
    return _shutdown(k, "shutdown", DeviceObject)


@export("IoRegisterLastChanceShutdownNotification")
def IoRegisterLastChanceShutdownNotification(k, DeviceObject: PDEVICE_OBJECT) -> NTSTATUS:
    return _shutdown(k, "last-chance-shutdown", DeviceObject)


@export("IoUnregisterShutdownNotification")
def IoUnregisterShutdownNotification(k, DeviceObject: PDEVICE_OBJECT) -> None:
    k.callbacks.remove(("shutdown", "last-chance-shutdown"), DeviceObject)


@export("IoRegisterPlugPlayNotification")
def IoRegisterPlugPlayNotification(k, EventCategory: ULONG, EventCategoryFlags: ULONG, EventCategoryData: PVOID,
                                   DriverObject: PDRIVER_OBJECT, CallbackRoutine: PVOID, Context: PVOID,
                                   NotificationEntry: PVOID) -> NTSTATUS:
    if EventCategory == EventCategoryDeviceInterfaceChange:
        if not EventCategoryData:
            return STATUS_INVALID_PARAMETER
        detail = f"device interface {guid_text(k, EventCategoryData)}"
    elif EventCategory == EventCategoryTargetDeviceChange:
        detail = f"target device (file object 0x{EventCategoryData:x})"
    elif EventCategory in (EventCategoryHardwareProfileChange, EventCategoryKernelSoftRestart):
        detail = "hardware profile change" if EventCategory == EventCategoryHardwareProfileChange else "soft restart"
    else:
        return STATUS_INVALID_PARAMETER
    entry = k.callbacks.add(k, "pnp", CallbackRoutine, Context, detail=detail)
    k.mem.write_q(NotificationEntry, entry.cookie)
    return STATUS_SUCCESS


@export("IoUnregisterPlugPlayNotification", "IoUnregisterPlugPlayNotificationEx")
def IoUnregisterPlugPlayNotification(k, NotificationEntry: PVOID) -> NTSTATUS:
    return STATUS_SUCCESS if k.callbacks.remove(("pnp",), NotificationEntry) else STATUS_INVALID_PARAMETER


# ---- process, thread and image notifications ------------------------------------------------------------
def _notify(k, kind: str, routine: int, remove: bool, checked: bool = False) -> int:
    """Register or remove a Ps* notify routine (the routine itself is the cookie)."""
    if remove:
        return STATUS_SUCCESS if k.callbacks.remove((kind,), routine) else STATUS_INVALID_PARAMETER
    if checked and not integrity_checked(k, routine):
        return STATUS_ACCESS_DENIED
    if k.callbacks.find((kind,), routine) or len(k.callbacks.active(kind)) >= MAX_NOTIFY_ROUTINES:
        return STATUS_INVALID_PARAMETER
    k.callbacks.add(k, kind, routine, 0, cookie=routine)
    return STATUS_SUCCESS


@export("PsSetCreateProcessNotifyRoutine")
def PsSetCreateProcessNotifyRoutine(k, NotifyRoutine: PVOID, Remove: BOOLEAN) -> NTSTATUS:
    return _notify(k, "process-create", NotifyRoutine, bool(Remove))


@export("PsSetCreateProcessNotifyRoutineEx")
def PsSetCreateProcessNotifyRoutineEx(k, NotifyRoutine: PVOID, Remove: BOOLEAN) -> NTSTATUS:
    return _notify(k, "process-create-ex", NotifyRoutine, bool(Remove), checked=True)


@export("PsSetCreateProcessNotifyRoutineEx2")
def PsSetCreateProcessNotifyRoutineEx2(k, NotifyType: ULONG, NotifyInformation: PVOID, Remove: BOOLEAN) -> NTSTATUS:
    if NotifyType != PSCREATEPROCESSNOTIFYTYPE_SUBSYSTEMS:
        return STATUS_INVALID_PARAMETER
    return _notify(k, "process-create-ex2", NotifyInformation, bool(Remove), checked=True)


@export("PsSetCreateThreadNotifyRoutine")
def PsSetCreateThreadNotifyRoutine(k, NotifyRoutine: PVOID) -> NTSTATUS:
    return _notify(k, "thread-create", NotifyRoutine, False)


@export("PsSetCreateThreadNotifyRoutineEx")
def PsSetCreateThreadNotifyRoutineEx(k, NotifyType: ULONG, NotifyInformation: PVOID) -> NTSTATUS:
    if NotifyType not in PSCREATETHREADNOTIFYTYPE:
        return STATUS_INVALID_PARAMETER
    return _notify(k, "thread-create", NotifyInformation, False)


@export("PsRemoveCreateThreadNotifyRoutine")
def PsRemoveCreateThreadNotifyRoutine(k, NotifyRoutine: PVOID) -> NTSTATUS:
    return STATUS_SUCCESS if k.callbacks.remove(("thread-create",), NotifyRoutine) else STATUS_PROCEDURE_NOT_FOUND


@export("PsSetLoadImageNotifyRoutine")
def PsSetLoadImageNotifyRoutine(k, NotifyRoutine: PVOID) -> NTSTATUS:
    return _notify(k, "image-load", NotifyRoutine, False)


@export("PsSetLoadImageNotifyRoutineEx")
def PsSetLoadImageNotifyRoutineEx(k, NotifyRoutine: PVOID, Flags: ULONG_PTR) -> NTSTATUS:
    return _notify(k, "image-load", NotifyRoutine, False)


@export("PsRemoveLoadImageNotifyRoutine")
def PsRemoveLoadImageNotifyRoutine(k, NotifyRoutine: PVOID) -> NTSTATUS:
    return STATUS_SUCCESS if k.callbacks.remove(("image-load",), NotifyRoutine) else STATUS_PROCEDURE_NOT_FOUND


# ---- registry and object callbacks -----------------------------------------------------------------------
def _registry_callback(k, function: int, context: int, cookie: int, detail: str) -> int:
    if not function or not cookie:
        return STATUS_INVALID_PARAMETER
    entry = k.callbacks.add(k, "registry", function, context, detail=detail)
    k.mem.write_q(cookie, entry.cookie)
    return STATUS_SUCCESS


@export("CmRegisterCallback")
def CmRegisterCallback(k, Function: PVOID, Context: PVOID, Cookie: PLARGE_INTEGER) -> NTSTATUS:
    return _registry_callback(k, Function, Context, Cookie, "")


@export("CmRegisterCallbackEx")
def CmRegisterCallbackEx(k, Function: PVOID, Altitude: PUNICODE_STRING, Driver: PVOID, Context: PVOID,
                         Cookie: PLARGE_INTEGER, Reserved: PVOID) -> NTSTATUS:
    altitude = k.read_unicode_string(Altitude) if Altitude else ""
    if not altitude or not Driver:
        return STATUS_INVALID_PARAMETER
    if any(c.detail == f"altitude {altitude}" for c in k.callbacks.active("registry")):
        return STATUS_FLT_INSTANCE_ALTITUDE_COLLISION
    return _registry_callback(k, Function, Context, Cookie, f"altitude {altitude}")


@export("CmUnRegisterCallback")
def CmUnRegisterCallback(k, Cookie: LONGLONG) -> NTSTATUS:
    return STATUS_SUCCESS if k.callbacks.remove(("registry",), Cookie) else STATUS_INVALID_PARAMETER


@export("ObRegisterCallbacks")
def ObRegisterCallbacks(k, CallbackRegistration: PVOID, RegistrationHandle: PVOID) -> NTSTATUS:
    """Checks what Windows checks: the version, at least one operation on a process, thread or
    desktop type, a free altitude, and routines in an /INTEGRITYCHECK image."""
    reg = k.read_struct(ks.OB_CALLBACK_REGISTRATION, CallbackRegistration)
    if (reg.Version != OB_FLT_REGISTRATION_VERSION or not reg.OperationRegistrationCount
            or not reg.OperationRegistration):
        return STATUS_INVALID_PARAMETER
    size = ctypes.sizeof(ks.OB_OPERATION_REGISTRATION)
    ops = [k.read_struct(ks.OB_OPERATION_REGISTRATION, reg.OperationRegistration + i * size)
           for i in range(reg.OperationRegistrationCount)]
    # WDK headers declare PsProcessType & co. without dllimport, so a driver passes the address
    # of the kernel's variable; MinGW's declare it dllimport, so its drivers pass the variable's
    # value (the OBJECT_TYPE). Both name the same type.
    nt = k.module_exports["ntoskrnl.exe"]
    types = {nt[name]: name for name in OB_OBJECT_TYPES if name in nt}
    types.update({k.mem.read_q(variable): name for variable, name in list(types.items()) if k.mem.read_q(variable)})
    if any(op.ObjectType not in types or not op.Operations or not (op.PreOperation or op.PostOperation) for op in ops):
        return STATUS_INVALID_PARAMETER
    routines = [r for op in ops for r in (op.PreOperation, op.PostOperation) if r]
    if not all(integrity_checked(k, r) for r in routines):
        return STATUS_ACCESS_DENIED
    altitude = k.read_unicode_string(CallbackRegistration + ks.offset_of(ks.OB_CALLBACK_REGISTRATION, "Altitude"))
    if not altitude:
        return STATUS_INVALID_PARAMETER
    if any(c.detail.endswith(f"altitude {altitude}") for c in k.callbacks.active("object-pre") +
           k.callbacks.active("object-post")):
        return STATUS_FLT_INSTANCE_ALTITUDE_COLLISION
    handle = 0
    for op in ops:
        for kind, routine in (("object-pre", op.PreOperation), ("object-post", op.PostOperation)):
            if routine:
                detail = f"{types[op.ObjectType]} operations 0x{op.Operations:x} altitude {altitude}"
                handle = k.callbacks.add(k, kind, routine, reg.RegistrationContext, handle, detail).cookie
    k.mem.write_q(RegistrationHandle, handle)
    return STATUS_SUCCESS


@export("ObUnRegisterCallbacks")
def ObUnRegisterCallbacks(k, RegistrationHandle: PVOID) -> None:
    k.callbacks.remove(("object-pre", "object-post"), RegistrationHandle)


# ---- bug-check callbacks ------------------------------------------------------------------------------------
def _insert_record(k, cls, at: int, kind: str, context: int, detail: str, **fields: int) -> int:
    """Fill and insert a KBUGCHECK_(REASON_)CALLBACK_RECORD; FALSE if it is already inserted
    (its State is not BufferEmpty, as KeInitializeCallbackRecord leaves it)."""
    record = k.read_struct(cls, at)
    if record.State != ks.BufferEmpty:
        return 0
    for name, value in fields.items():
        setattr(record, name, value)
    record.Checksum = sum(fields.values()) & 0xFFFFFFFFFFFFFFFF
    record.State = ks.BufferInserted
    k.write_struct(at, record)
    k.callbacks.add(k, kind, fields["CallbackRoutine"], context, at, detail)
    return 1


def _remove_record(k, cls, at: int, kind: str) -> int:
    if not k.callbacks.remove((kind,), at):
        return 0
    k.mem.write(at + ks.offset_of(cls, "State"), bytes([ks.BufferEmpty]))
    return 1


@export("KeRegisterBugCheckCallback")
def KeRegisterBugCheckCallback(k, CallbackRecord: PVOID, CallbackRoutine: PVOID, Buffer: PVOID, Length: ULONG,
                               Component: PVOID) -> BOOLEAN:
    component = k.mem.read_cstr(Component).decode("latin-1") if Component else ""
    return _insert_record(k, ks.KBUGCHECK_CALLBACK_RECORD, CallbackRecord, "bugcheck", Buffer, component,
                          CallbackRoutine=CallbackRoutine, Buffer=Buffer, Length=Length, Component=Component)


@export("KeDeregisterBugCheckCallback")
def KeDeregisterBugCheckCallback(k, CallbackRecord: PVOID) -> BOOLEAN:
    return _remove_record(k, ks.KBUGCHECK_CALLBACK_RECORD, CallbackRecord, "bugcheck")


@export("KeRegisterBugCheckReasonCallback")
def KeRegisterBugCheckReasonCallback(k, CallbackRecord: PVOID, CallbackRoutine: PVOID, Reason: ULONG,
                                     Component: PVOID) -> BOOLEAN:
    return _insert_record(k, ks.KBUGCHECK_REASON_CALLBACK_RECORD, CallbackRecord, "bugcheck-reason", CallbackRecord,
                          f"reason {Reason}", CallbackRoutine=CallbackRoutine, Component=Component, Reason=Reason)


@export("KeDeregisterBugCheckReasonCallback")
def KeDeregisterBugCheckReasonCallback(k, CallbackRecord: PVOID) -> BOOLEAN:
    return _remove_record(k, ks.KBUGCHECK_REASON_CALLBACK_RECORD, CallbackRecord, "bugcheck-reason")


# ---- callback objects and power settings --------------------------------------------------------------------
@export("ExCreateCallback")
def ExCreateCallback(k, CallbackObject: PVOID, ObjectAttributes: PVOID, Create: BOOLEAN,
                     AllowMultipleCallbacks: BOOLEAN) -> NTSTATUS:
    name = object_path(k, ObjectAttributes).lower()
    objects = k.callbacks.objects(k)
    if name not in objects:
        if not Create:
            return STATUS_OBJECT_NAME_NOT_FOUND
        objects[name] = k.pool.allocate(16, executable=False, paged=False, tag=CALLBACK_TAG, owner=k.caller)
    k.mem.write_q(CallbackObject, objects[name])
    return STATUS_SUCCESS


@export("ExRegisterCallback")
def ExRegisterCallback(k, CallbackObject: PCALLBACK_OBJECT, CallbackFunction: PVOID, CallbackContext: PVOID) -> PVOID:
    names = {obj: name for name, obj in k.callbacks.objects(k).items()}
    if CallbackObject not in names:
        return 0
    return k.callbacks.add(k, "callback-object", CallbackFunction, CallbackContext, detail=names[CallbackObject]).cookie


@export("ExUnregisterCallback")
def ExUnregisterCallback(k, CbRegistration: PVOID) -> None:
    k.callbacks.remove(("callback-object",), CbRegistration)


@export("ExNotifyCallback")
def ExNotifyCallback(k, CallbackObject: PVOID, Argument1: PVOID, Argument2: PVOID) -> None:
    """Calls the object's registered routines: left to the stage that runs callbacks."""
    return None


@export("PoRegisterPowerSettingCallback")
def PoRegisterPowerSettingCallback(k, DeviceObject: PDEVICE_OBJECT, SettingGuid: PVOID, Callback: PVOID,
                                   Context: PVOID, Handle: PVOID) -> NTSTATUS:
    """Windows calls the routine once at once with the setting's current value; that call is
    left to the stage that runs callbacks."""
    if not SettingGuid or not Callback:
        return STATUS_INVALID_PARAMETER
    entry = k.callbacks.add(k, "power-setting", Callback, Context, detail=f"setting {guid_text(k, SettingGuid)}")
    if Handle:
        k.mem.write_q(Handle, entry.cookie)
    return STATUS_SUCCESS


@export("PoUnregisterPowerSettingCallback")
def PoUnregisterPowerSettingCallback(k, Handle: PVOID) -> NTSTATUS:
    return STATUS_SUCCESS if k.callbacks.remove(("power-setting",), Handle) else STATUS_INVALID_PARAMETER

