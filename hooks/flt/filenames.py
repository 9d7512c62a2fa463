"""What a minifilter learns about an operation from its FLT_CALLBACK_DATA: the target's name
(FltGetFileNameInformation, parsed by FltParseFileNameInformation as Microsoft's examples show)
and whether the operation is synchronous (FltIsOperationSynchronous's documented rules).

Names come from the target FILE_OBJECT's FileName, which is relative to the one emulated volume;
there is no name cache and no 8.3 name generation (a short name is the final component as is).
"""
from __future__ import annotations

import ctypes

from hooks import kstructs as ks
from hooks import pool
from hooks.api import BOOLEAN, NTSTATUS, PVOID, ULONG, export
from hooks.flt.manager import FLTMGR, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, SYSTEM_VOLUME

FLT_FILE_NAME_NORMALIZED, FLT_FILE_NAME_OPENED, FLT_FILE_NAME_SHORT = 1, 2, 3
FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT, FLTFL_FILE_NAME_PARSED_EXTENSION = 0x1, 0x2
FLTFL_FILE_NAME_PARSED_STREAM, FLTFL_FILE_NAME_PARSED_PARENT_DIR = 0x4, 0x8
NETWORK_VOLUMES = ("\\device\\mup", "\\device\\lanmanredirector")     # followed by \server\share
FLTFL_CALLBACK_DATA_IRP_OPERATION = 0x1
IRP_PAGING_IO, IRP_SYNCHRONOUS_API, IRP_SYNCHRONOUS_PAGING_IO = 0x2, 0x4, 0x40
FO_SYNCHRONOUS_IO = 0x2
METHOD_BUFFERED = 0
# FLT_PARAMETERS.DeviceIoControl.Common.IoControlCode and .FileSystemControl.Common.FsControlCode:
# after two POINTER_ALIGNMENT ULONGs, in the union that follows the fixed FLT_IO_PARAMETER_BLOCK.
CONTROL_CODE_OFFSET = ctypes.sizeof(ks.FLT_IO_PARAMETER_BLOCK) + 0x10
TAG_NAME = 0x6E664D46                     # 'FMfn'


def _target(k, callback_data: int) -> tuple[ks.FLT_CALLBACK_DATA, ks.FLT_IO_PARAMETER_BLOCK, int]:
    data = k.read_struct(ks.FLT_CALLBACK_DATA, callback_data)
    iopb = k.read_struct(ks.FLT_IO_PARAMETER_BLOCK, data.Iopb)
    return data, iopb, iopb.TargetFileObject


def operation_synchronous(k, callback_data: int) -> bool:
    data, iopb, file_object = _target(k, callback_data)
    if not data.Flags & FLTFL_CALLBACK_DATA_IRP_OPERATION:
        return True                                        # fast I/O and FsFilter callbacks
    if iopb.IrpFlags & IRP_PAGING_IO:
        return bool(iopb.IrpFlags & IRP_SYNCHRONOUS_PAGING_IO)
    if file_object and k.read_struct(ks.FILE_OBJECT, file_object).Flags & FO_SYNCHRONOUS_IO:
        return True
    if iopb.IrpFlags & IRP_SYNCHRONOUS_API:
        return True
    if iopb.MajorFunction in (ks.IRP_MJ_FILE_SYSTEM_CONTROL, ks.IRP_MJ_DEVICE_CONTROL, ks.IRP_MJ_INTERNAL_DEVICE_CONTROL):
        return k.mem.read_u32(data.Iopb + CONTROL_CODE_OFFSET) & 3 == METHOD_BUFFERED
    return False


@export("FltIsOperationSynchronous", module=FLTMGR)
def FltIsOperationSynchronous(k, CallbackData: PVOID) -> BOOLEAN:
    return int(operation_synchronous(k, CallbackData))


def _name_information(k, file_object: int, options: int, out: int) -> int:
    path = k.read_unicode_string(file_object + ks.offset_of(ks.FILE_OBJECT, "FileName")) if file_object else ""
    fmt = options & 0xFF
    name = path.rsplit("\\", 1)[-1] if fmt == FLT_FILE_NAME_SHORT else SYSTEM_VOLUME + path
    data = name.encode("utf-16-le")
    size = ctypes.sizeof(ks.FLT_FILE_NAME_INFORMATION)
    va = k.pool.allocate(size + len(data), executable=False, paged=True, tag=TAG_NAME, owner=k.caller)
    info = ks.FLT_FILE_NAME_INFORMATION(Size=size, Format=fmt)
    info.Name = ks.UNICODE_STRING(len(data), len(data), va + size)
    k.mem.write(va, bytes(info) + data)
    k.filter_manager.names[va] = 1
    k.mem.write_q(out, va)
    return STATUS_SUCCESS


@export("FltGetFileNameInformation", module=FLTMGR)
def FltGetFileNameInformation(k, CallbackData: PVOID, NameOptions: ULONG, FileNameInformation: PVOID) -> NTSTATUS:
    if not CallbackData or not FileNameInformation:
        return STATUS_INVALID_PARAMETER
    return _name_information(k, _target(k, CallbackData)[2], NameOptions, FileNameInformation)


@export("FltGetFileNameInformationUnsafe", module=FLTMGR)
def FltGetFileNameInformationUnsafe(k, FileObject: PVOID, Instance: PVOID, NameOptions: ULONG,
                                    FileNameInformation: PVOID) -> NTSTATUS:
    if not FileObject or not FileNameInformation:
        return STATUS_INVALID_PARAMETER
    return _name_information(k, FileObject, NameOptions, FileNameInformation)


def _component_end(name: str, start: int) -> int:
    """Index of the separator that ends the component starting at `start` (or the name's end)."""
    found = name.find("\\", start + 1)
    return len(name) if found < 0 else found


def parse(name: str) -> dict[str, tuple[int, int]]:
    """(start, length) in characters of each part of a file name, as FltParseFileNameInformation
    splits it: the \\Device\\X volume, \\server\\share after a network volume, the parent
    directory with both separators, the final component, its stream (from the first ':') and
    its extension."""
    parts, rest = {}, 0
    if name.startswith("\\"):
        rest = _component_end(name, _component_end(name, 0))
        parts["Volume"] = (0, rest)
        if name[:rest].lower() in NETWORK_VOLUMES:
            share, rest = rest, _component_end(name, _component_end(name, rest))
            parts["Share"] = (share, rest - share)
        last = name.rfind("\\", rest)
        if last >= rest:
            parts["ParentDir"] = (rest, last + 1 - rest)
            rest = last + 1
    final = name[rest:]
    parts["FinalComponent"] = (rest, len(final))
    colon = final.find(":")
    base = final if colon < 0 else final[:colon]
    if colon >= 0:
        parts["Stream"] = (rest + colon, len(final) - colon)
    dot = base.rfind(".")
    if dot >= 0:
        parts["Extension"] = (rest + dot + 1, len(base) - dot - 1)
    return parts


@export("FltParseFileNameInformation", module=FLTMGR)
def FltParseFileNameInformation(k, FileNameInformation: PVOID) -> NTSTATUS:
    info = k.read_struct(ks.FLT_FILE_NAME_INFORMATION, FileNameInformation)
    name = k.read_unicode_string(FileNameInformation + ks.offset_of(ks.FLT_FILE_NAME_INFORMATION, "Name"))
    for member, (start, length) in parse(name).items():
        setattr(info, member, ks.UNICODE_STRING(2 * length, 2 * length, info.Name.Buffer + 2 * start))
    info.NamesParsed |= (FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT | FLTFL_FILE_NAME_PARSED_EXTENSION |
                         FLTFL_FILE_NAME_PARSED_STREAM | FLTFL_FILE_NAME_PARSED_PARENT_DIR)
    k.write_struct(FileNameInformation, info)
    return STATUS_SUCCESS


@export("FltReferenceFileNameInformation", module=FLTMGR)
def FltReferenceFileNameInformation(k, FileNameInformation: PVOID) -> None:
    names = k.filter_manager.names
    if FileNameInformation in names:
        names[FileNameInformation] += 1


@export("FltReleaseFileNameInformation", module=FLTMGR)
def FltReleaseFileNameInformation(k, FileNameInformation: PVOID) -> None:
    names = k.filter_manager.names
    if FileNameInformation not in names:
        pool.free(k, FileNameInformation, None)      # released once too often: a double free
        return
    names[FileNameInformation] -= 1
    if not names[FileNameInformation]:
        del names[FileNameInformation]
        k.pool.free(FileNameInformation)
