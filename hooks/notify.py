"""What Windows hands the notification routines a driver registered (hooks/callbacks.py records them).

One scripted event per kind, in the calling user process (hooks/irp.py's UserProcess): it starts
(process-create routines: legacy, Ex and Ex2 forms), creates its thread, maps its image, sets a
registry value, and another process opens a handle to it (object callbacks, pre then post). The
arguments are built as the kernel builds them (ntddk.h/wdm.h layouts in hooks/kstructs.py):
legacy process notify (ParentId, ProcessId, Create), Ex (Process, ProcessId, PS_CREATE_NOTIFY_INFO),
thread notify (ProcessId, ThreadId, Create), image notify (FullImageName, ProcessId, IMAGE_INFO),
registry (Context, RegNtPreSetValueKey, REG_SET_VALUE_KEY_INFORMATION), object callbacks
(RegistrationContext, OB_PRE/POST_OPERATION_INFORMATION for a handle creation with PROCESS_ALL_ACCESS).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from hooks import kstructs as ks
from hooks.callbacks import Callback

USER_PROCESS_ID = 0x1A2C              # the calling process's id (PsGetProcessId, the notifications)
USER_PARENT_ID = 0x0F10               # its parent's
USER_THREAD_ID = 0x1A30               # its thread's
IMAGE_PATH = "\\Device\\HarddiskVolume3\\Windows\\System32\\notepad.exe"
IMAGE_OPEN_NAME = "\\??\\C:\\Windows\\System32\\notepad.exe"
COMMAND_LINE = "notepad.exe C:\\Users\\test\\notes.txt"
USER_IMAGE_BASE = 0x00007FF6A0000000
USER_IMAGE_SIZE = 0x38000
IMAGE_ADDRESSING_MODE_32BIT = 3       # what x64 images report too (ntddk.h)
REG_NT_PRE_SET_VALUE_KEY = 1          # REG_NOTIFY_CLASS RegNtPreSetValueKey
REG_DWORD = 4
REGISTRY_KEY = "\\REGISTRY\\MACHINE\\SOFTWARE\\HvciTest"
OB_OPERATION_HANDLE_CREATE = 1
PROCESS_ALL_ACCESS = 0x001FFFFF
THREAD_ALL_ACCESS = 0x001FFFFF
# Kinds in the order the events happen; VOID routines have no status worth reporting.
KINDS = ("process-create", "process-create-ex", "process-create-ex2", "thread-create", "image-load",
         "registry", "object-pre", "object-post")
RETURNS_STATUS = ("registry", "object-pre")     # NTSTATUS, OB_PREOP_CALLBACK_STATUS


@dataclass
class Notification:
    """One call Windows would make: the registration and the arguments."""

    callback: Callback
    args: list[int]


def notifications(k, kind: str) -> list[Notification]:
    """Every active routine of `kind`, with the arguments of this kind's scripted event."""
    process = k.io.process
    out = []
    for cb in k.callbacks.active(kind):
        args = _ARGS[kind](k, process, cb)
        if args is not None:
            out.append(Notification(cb, args))
    return out


def _legacy_process(k, process, cb: Callback) -> list[int]:
    return [USER_PARENT_ID, USER_PROCESS_ID, 1]


def _process_ex(k, process, cb: Callback) -> list[int]:
    file_object = k.new_struct(ks.FILE_OBJECT(Type=ks.IO_TYPE_FILE, Size=ctypes.sizeof(ks.FILE_OBJECT),
                                              FileName=k.read_struct(ks.UNICODE_STRING, k.unicode_string(
                                                  IMAGE_PATH.removeprefix("\\Device\\HarddiskVolume3")))))
    info = ks.PS_CREATE_NOTIFY_INFO(Size=ctypes.sizeof(ks.PS_CREATE_NOTIFY_INFO), Flags=1,   # FileOpenNameAvailable
                                    ParentProcessId=USER_PARENT_ID,
                                    CreatingThreadId=ks.CLIENT_ID(USER_PARENT_ID, USER_PARENT_ID + 4),
                                    FileObject=file_object, ImageFileName=k.unicode_string(IMAGE_OPEN_NAME),
                                    CommandLine=k.unicode_string(COMMAND_LINE))
    return [process.eprocess, USER_PROCESS_ID, k.new_struct(info)]


def _thread(k, process, cb: Callback) -> list[int]:
    return [USER_PROCESS_ID, USER_THREAD_ID, 1]


def _image(k, process, cb: Callback) -> list[int]:
    info = ks.IMAGE_INFO(Properties=IMAGE_ADDRESSING_MODE_32BIT, ImageBase=USER_IMAGE_BASE, ImageSize=USER_IMAGE_SIZE)
    return [k.unicode_string(IMAGE_PATH), USER_PROCESS_ID, k.new_struct(info)]


def _registry(k, process, cb: Callback) -> list[int]:
    data = k.new_struct(ks.ULONG(1))
    info = ks.REG_SET_VALUE_KEY_INFORMATION(Object=k.unicode_string(REGISTRY_KEY), ValueName=k.unicode_string("Test"),
                                            Type=REG_DWORD, Data=data, DataSize=4)
    return [cb.context, REG_NT_PRE_SET_VALUE_KEY, k.new_struct(info)]


def _object_target(k, process, cb: Callback) -> tuple[int, int, int] | None:
    """(object, its OBJECT_TYPE, desired access) for the object type the registration watches."""
    nt = k.module_exports["ntoskrnl.exe"]
    for name, obj, access in (("PsProcessType", process.eprocess, PROCESS_ALL_ACCESS),
                              ("PsThreadType", process.thread, THREAD_ALL_ACCESS)):
        if cb.detail.startswith(name) and name in nt:
            return obj, k.mem.read_q(nt[name]), access
    return None


def _object_pre(k, process, cb: Callback) -> list[int] | None:
    target = _object_target(k, process, cb)
    if target is None:
        return None
    obj, obj_type, access = target
    params = k.new_struct(ks.OB_PRE_CREATE_HANDLE_INFORMATION(access, access))
    info = ks.OB_PRE_OPERATION_INFORMATION(Operation=OB_OPERATION_HANDLE_CREATE, Object=obj, ObjectType=obj_type,
                                           Parameters=params)
    return [cb.context, k.new_struct(info)]


def _object_post(k, process, cb: Callback) -> list[int] | None:
    target = _object_target(k, process, cb)
    if target is None:
        return None
    obj, obj_type, access = target
    params = k.new_struct(ks.OB_POST_CREATE_HANDLE_INFORMATION(access))
    info = ks.OB_POST_OPERATION_INFORMATION(Operation=OB_OPERATION_HANDLE_CREATE, Object=obj, ObjectType=obj_type,
                                            Parameters=params)
    return [cb.context, k.new_struct(info)]


_ARGS = {"process-create": _legacy_process, "process-create-ex": _process_ex, "process-create-ex2": _process_ex,
         "thread-create": _thread, "image-load": _image, "registry": _registry,
         "object-pre": _object_pre, "object-post": _object_post}
