"""Object manager: handles and references."""
from hooks.api import ACCESS_MASK, HANDLE, KPROCESSOR_MODE, NTSTATUS, PVOID, export

STATUS_SUCCESS = 0
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024


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
    if not address:
        return STATUS_OBJECT_TYPE_MISMATCH
    k.mem.write_q(Object, address)
    return STATUS_SUCCESS


@export("ObfDereferenceObject", "ObDereferenceObject", "ObfReferenceObject", "ObReferenceObject")
def ObfDereferenceObject(k, Object: PVOID) -> PVOID:
    return 1


@export("ObReferenceObjectByPointer")
def ObReferenceObjectByPointer(k, Object: PVOID, DesiredAccess: ACCESS_MASK, ObjectType: PVOID,
                               AccessMode: KPROCESSOR_MODE) -> NTSTATUS:
    return STATUS_SUCCESS
