"""Files: the Zw/Nt file routines, on the run's volume (hooks.volume).

A name is absolute (any spelling hooks.volume resolves) or relative to an open directory handle.
Status codes, CreateDisposition and IO_STATUS_BLOCK.Information follow the ZwCreateFile, ZwReadFile,
ZwWriteFile, ZwQueryInformationFile, ZwSetInformationFile and ZwQueryDirectoryFile reference pages.
I/O completes synchronously; byte-range locks, sharing modes and alternate data streams are not
modelled.
"""
from __future__ import annotations

import ctypes
import fnmatch
from typing import Callable

from hooks import kstructs as ks
from hooks.api import (ACCESS_MASK, BOOLEAN, HANDLE, NTSTATUS, PHANDLE, PLARGE_INTEGER, POBJECT_ATTRIBUTES,
                       PULONG, PUNICODE_STRING, PVOID, ULONG, CType, export)
from hooks.volume import (CLUSTER, FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL,
                          FILE_CREATE, FILE_DELETE_ON_CLOSE, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE, FILE_OPEN,
                          FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_SUPERSEDE, FILE_SYNCHRONOUS_IO_ALERT,
                          FILE_SYNCHRONOUS_IO_NONALERT,
                          FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_VALID_FLAGS, STATUS_OBJECT_NAME_INVALID,
                          STATUS_OBJECT_NAME_NOT_FOUND, granted_access,
                          STATUS_SUCCESS, FileSystem, Node, OpenFile)

STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_NO_MORE_FILES = 0x80000006
STATUS_INVALID_INFO_CLASS = 0xC0000003
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_NO_SUCH_FILE = 0xC000000F
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_END_OF_FILE = 0xC0000011
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024
STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_DELETE_PENDING = 0xC0000056
STATUS_OBJECT_PATH_SYNTAX_BAD = 0xC000003B
STATUS_FILE_IS_A_DIRECTORY = 0xC00000BA
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_DIRECTORY_NOT_EMPTY = 0xC0000101
STATUS_NOT_A_DIRECTORY = 0xC0000103
STATUS_CANNOT_DELETE = 0xC0000121

# IO_STATUS_BLOCK.Information of a create
FILE_SUPERSEDED, FILE_OPENED, FILE_CREATED, FILE_OVERWRITTEN, FILE_EXISTS, FILE_DOES_NOT_EXIST = range(6)
# what FileModeInformation reports: write-through, sequential, no buffering, synchronous, delete on close
FILE_MODE_OPTIONS = 0x2 | 0x4 | 0x8 | FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT | FILE_DELETE_ON_CLOSE
# Access rights
FILE_READ_DATA, FILE_WRITE_DATA, FILE_APPEND_DATA, DELETE = 0x1, 0x2, 0x4, 0x10000
# Special ByteOffset values (LowPart with HighPart -1)
FILE_WRITE_TO_END_OF_FILE, FILE_USE_FILE_POINTER_POSITION = 0xFFFFFFFF, 0xFFFFFFFE
FO_SYNCHRONOUS_IO = 0x2
FILE_DEVICE_DISK = 7
CreateFileTypeNone = 0

(FileDirectoryInformation, FileFullDirectoryInformation, FileBothDirectoryInformation, FileBasicInformation,
 FileStandardInformation, FileInternalInformation, FileEaInformation, FileAccessInformation, FileNameInformation,
 FileRenameInformation) = range(1, 11)
FileNamesInformation, FileDispositionInformation, FilePositionInformation = 12, 13, 14
FileModeInformation, FileAlignmentInformation, FileAllInformation = 16, 17, 18
FileEndOfFileInformation, FileNetworkOpenInformation, FileAttributeTagInformation = 20, 34, 35
FileFsSizeInformation, FileFsDeviceInformation = 3, 4

VOLUME_BYTES, FREE_BYTES = 64 << 30, 32 << 30
FILE_ALL_INFORMATION_SIZE = 104      # sizeof(FILE_ALL_INFORMATION), its FileName[1] included
FILE_INFORMATION_CLASS = CType("FILE_INFORMATION_CLASS", 32, "enum")
PIO_STATUS_BLOCK = CType("PIO_STATUS_BLOCK", 64, "ptr")


# ---- helpers over guest memory ----------------------------------------------------------------------
def _status(k, iosb: int, status: int, information: int = 0) -> int:
    if iosb:
        k.mem.write(iosb, bytes(ks.IO_STATUS_BLOCK(Status=_as_ntstatus(status), Information=information)))
    return status


def _as_ntstatus(status: int) -> int:
    return status - (1 << 32) if status >> 31 else status


def _resolve(k, attributes: int) -> tuple[int, Node | None, str | None, Node | None]:
    """Resolve an OBJECT_ATTRIBUTES: (status, parent, last name, node)."""
    oa = k.read_struct(ks.OBJECT_ATTRIBUTES, attributes)
    name = k.read_unicode_string(oa.ObjectName) if oa.ObjectName else ""
    if oa.RootDirectory:
        root = k.handles.get(oa.RootDirectory)
        if not isinstance(root, OpenFile):
            return STATUS_INVALID_HANDLE if root is None else STATUS_OBJECT_TYPE_MISMATCH, None, None, None
        if name.startswith("\\"):
            return STATUS_OBJECT_PATH_SYNTAX_BAD, None, None, None
        parts = k.files.components(name)
        start = root.node
    else:
        if not name.startswith("\\"):
            return STATUS_OBJECT_PATH_SYNTAX_BAD, None, None, None
        parts = k.files.split(name)
        start = k.files.root
    if isinstance(parts, int):
        return parts, None, None, None
    return k.files.walk(start, parts)


def _new_file_object(k, node: Node, access: int, share: int, synchronous: bool) -> int:
    fo = ks.FILE_OBJECT()
    fo.Type = ks.IO_TYPE_FILE
    fo.Size = ctypes.sizeof(ks.FILE_OBJECT)
    fo.Flags = FO_SYNCHRONOUS_IO if synchronous else 0
    fo.ReadAccess = bool(access & FILE_READ_DATA)
    fo.WriteAccess = bool(access & (FILE_WRITE_DATA | FILE_APPEND_DATA))
    fo.DeleteAccess = bool(access & DELETE)
    fo.SharedRead, fo.SharedWrite, fo.SharedDelete = bool(share & 1), bool(share & 2), bool(share & 4)
    fo.FileName = k.read_struct(ks.UNICODE_STRING, k.unicode_string(node.volume_path))
    return k.new_struct(fo, tag=0x656C6946)                       # 'File'


def _disposition(fs: FileSystem, parent: Node, name: str, node: Node | None, disposition: int, options: int,
                 attributes: int) -> tuple[int, int, Node | None]:
    """(status, Information, node) of a create, per ZwCreateFile's CreateDisposition table."""
    want_dir, want_file = options & FILE_DIRECTORY_FILE, options & FILE_NON_DIRECTORY_FILE
    if disposition > FILE_OVERWRITE_IF or (want_dir and want_file) or \
            (want_dir and disposition not in (FILE_CREATE, FILE_OPEN, FILE_OPEN_IF)):
        return STATUS_INVALID_PARAMETER, 0, None
    if node is None:
        if disposition in (FILE_OPEN, FILE_OVERWRITE):
            return STATUS_OBJECT_NAME_NOT_FOUND, FILE_DOES_NOT_EXIST, None
        return STATUS_SUCCESS, FILE_CREATED, fs.create(parent, name, bool(want_dir), attributes)
    if node.delete_pending:
        return STATUS_DELETE_PENDING, 0, None
    if disposition == FILE_CREATE:
        return STATUS_OBJECT_NAME_COLLISION, FILE_EXISTS, None
    if want_dir and not node.directory:
        return STATUS_NOT_A_DIRECTORY, 0, None
    if node.directory and (want_file or disposition not in (FILE_OPEN, FILE_OPEN_IF)):
        return STATUS_FILE_IS_A_DIRECTORY, 0, None
    if disposition in (FILE_OPEN, FILE_OPEN_IF):
        return STATUS_SUCCESS, FILE_OPENED, node
    del node.data[:]
    node.attributes = (attributes & FILE_ATTRIBUTE_VALID_FLAGS) | FILE_ATTRIBUTE_ARCHIVE
    fs.wrote(node)
    return STATUS_SUCCESS, FILE_SUPERSEDED if disposition == FILE_SUPERSEDE else FILE_OVERWRITTEN, node


# ---- create, open, delete -------------------------------------------------------------------------
@export("ZwCreateFile", "NtCreateFile")
def ZwCreateFile(k, FileHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
                 IoStatusBlock: PIO_STATUS_BLOCK, AllocationSize: PLARGE_INTEGER, FileAttributes: ULONG,
                 ShareAccess: ULONG, CreateDisposition: ULONG, CreateOptions: ULONG, EaBuffer: PVOID,
                 EaLength: ULONG) -> NTSTATUS:
    status, parent, name, node = _resolve(k, ObjectAttributes)
    if status:
        return status
    status, information, node = _disposition(k.files, parent, name, node, CreateDisposition, CreateOptions,
                                             FileAttributes)
    if status:
        return _status(k, IoStatusBlock, status, information) if information else status
    synchronous = bool(CreateOptions & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
    access = granted_access(DesiredAccess)
    node.opens += 1
    handle = OpenFile(k.files, node, _new_file_object(k, node, access, ShareAccess, synchronous), access,
                      synchronous, bool(CreateOptions & FILE_DELETE_ON_CLOSE), CreateOptions & FILE_MODE_OPTIONS)
    k.mem.write_q(FileHandle, k.handles.open(handle))
    return _status(k, IoStatusBlock, STATUS_SUCCESS, information)


@export("IoCreateFile")
def IoCreateFile(k, FileHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
                 IoStatusBlock: PIO_STATUS_BLOCK, AllocationSize: PLARGE_INTEGER, FileAttributes: ULONG,
                 ShareAccess: ULONG, Disposition: ULONG, CreateOptions: ULONG, EaBuffer: PVOID, EaLength: ULONG,
                 CreateFileType: ULONG, InternalParameters: PVOID, Options: ULONG) -> NTSTATUS:
    """The I/O manager's create that ZwCreateFile is built on; named pipes and mailslots (other
    CreateFileTypes) are not on the volume."""
    if CreateFileType != CreateFileTypeNone:
        return STATUS_NOT_SUPPORTED
    return ZwCreateFile(k, FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, AllocationSize,
                        FileAttributes, ShareAccess, Disposition, CreateOptions, EaBuffer, EaLength)


@export("IoCreateFileEx", "IoCreateFileSpecifyDeviceObjectHint")
def IoCreateFileEx(k, FileHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
                   IoStatusBlock: PIO_STATUS_BLOCK, AllocationSize: PLARGE_INTEGER, FileAttributes: ULONG,
                   ShareAccess: ULONG, Disposition: ULONG, CreateOptions: ULONG, EaBuffer: PVOID, EaLength: ULONG,
                   CreateFileType: ULONG, InternalParameters: PVOID, Options: ULONG, Hint: PVOID) -> NTSTATUS:
    """IoCreateFile plus a driver create context (Ex) or the device to start at (hint): the one
    volume has no devices below it to skip."""
    return IoCreateFile(k, FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, AllocationSize,
                        FileAttributes, ShareAccess, Disposition, CreateOptions, EaBuffer, EaLength,
                        CreateFileType, InternalParameters, Options)


@export("ZwOpenFile", "NtOpenFile")
def ZwOpenFile(k, FileHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
               IoStatusBlock: PIO_STATUS_BLOCK, ShareAccess: ULONG, OpenOptions: ULONG) -> NTSTATUS:
    return ZwCreateFile(k, FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, 0, 0, ShareAccess,
                        FILE_OPEN, OpenOptions, 0, 0)


@export("ZwDeleteFile", "NtDeleteFile")
def ZwDeleteFile(k, ObjectAttributes: POBJECT_ATTRIBUTES) -> NTSTATUS:
    status, _, _, node = _resolve(k, ObjectAttributes)
    if status:
        return status
    if node is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    status = _delete_on_last_close(k.files, node)       # an open for delete, then its close
    if not status and not node.opens:
        k.files.remove(node)
    return status


# ---- read and write ----------------------------------------------------------------------------------
def _open_file(k, handle: int) -> OpenFile | int:
    obj = k.handles.get(handle)
    if obj is None:
        return STATUS_INVALID_HANDLE
    return obj if isinstance(obj, OpenFile) else STATUS_OBJECT_TYPE_MISMATCH


def _data_file(k, handle: int, rights: int) -> OpenFile | int:
    """The open file a read or write goes to, or the status refusing it."""
    f = _open_file(k, handle)
    if isinstance(f, int):
        return f
    if f.node.directory:
        return STATUS_INVALID_DEVICE_REQUEST
    return f if f.may(rights) else STATUS_ACCESS_DENIED


def _offset(k, f: OpenFile, byte_offset: int, write: bool) -> int | None:
    """The file offset an I/O starts at, or None when the parameter is invalid."""
    if byte_offset:
        low, high = k.mem.read_u32(byte_offset), k.mem.read_u32(byte_offset + 4)
        if high == 0xFFFFFFFF and low == FILE_WRITE_TO_END_OF_FILE and write:
            return len(f.node.data)
        if high == 0xFFFFFFFF and low == FILE_USE_FILE_POINTER_POSITION and f.synchronous:
            return f.position
        return None if high >> 31 else high << 32 | low
    return f.position if f.synchronous else None


def _moved(k, f: OpenFile, position: int) -> None:
    """A synchronous file object's position follows every transfer (FILE_OBJECT.CurrentByteOffset)."""
    f.position = position
    k.mem.write_q(f.address + ks.offset_of(ks.FILE_OBJECT, "CurrentByteOffset"), position)


@export("ZwReadFile", "NtReadFile")
def ZwReadFile(k, FileHandle: HANDLE, Event: HANDLE, ApcRoutine: PVOID, ApcContext: PVOID,
               IoStatusBlock: PIO_STATUS_BLOCK, Buffer: PVOID, Length: ULONG, ByteOffset: PLARGE_INTEGER,
               Key: PULONG) -> NTSTATUS:
    f = _data_file(k, FileHandle, FILE_READ_DATA)
    if isinstance(f, int):
        return f
    offset = _offset(k, f, ByteOffset, write=False)
    if offset is None:
        return STATUS_INVALID_PARAMETER
    data = f.node.data
    if Length and offset >= len(data):
        return _status(k, IoStatusBlock, STATUS_END_OF_FILE)
    chunk = bytes(data[offset:offset + Length])
    k.mem.write(Buffer, chunk)
    if f.synchronous:
        _moved(k, f, offset + len(chunk))
    return _status(k, IoStatusBlock, STATUS_SUCCESS, len(chunk))


@export("ZwWriteFile", "NtWriteFile")
def ZwWriteFile(k, FileHandle: HANDLE, Event: HANDLE, ApcRoutine: PVOID, ApcContext: PVOID,
                IoStatusBlock: PIO_STATUS_BLOCK, Buffer: PVOID, Length: ULONG, ByteOffset: PLARGE_INTEGER,
                Key: PULONG) -> NTSTATUS:
    f = _data_file(k, FileHandle, FILE_WRITE_DATA | FILE_APPEND_DATA)
    if isinstance(f, int):
        return f
    data = f.node.data
    if f.access & FILE_APPEND_DATA and not f.may(FILE_WRITE_DATA):
        offset = len(data)                                 # an append-only handle always writes at the end
    else:
        offset = _offset(k, f, ByteOffset, write=True)
    if offset is None:
        return STATUS_INVALID_PARAMETER
    if offset > len(data):
        data.extend(bytes(offset - len(data)))
    data[offset:offset + Length] = k.mem.read(Buffer, Length)
    k.files.wrote(f.node)
    if f.synchronous:
        _moved(k, f, offset + Length)
    return _status(k, IoStatusBlock, STATUS_SUCCESS, Length)


@export("ZwFlushBuffersFile")
def ZwFlushBuffersFile(k, FileHandle: HANDLE, IoStatusBlock: PIO_STATUS_BLOCK) -> NTSTATUS:
    f = _open_file(k, FileHandle)
    if isinstance(f, int):
        return f
    return _status(k, IoStatusBlock, STATUS_SUCCESS)


# ---- information -------------------------------------------------------------------------------------
def _times(node: Node) -> dict:
    return {"CreationTime": node.time, "LastAccessTime": node.time, "LastWriteTime": node.time,
            "ChangeTime": node.time}


def _basic(node: Node) -> ks.FILE_BASIC_INFORMATION:
    return ks.FILE_BASIC_INFORMATION(FileAttributes=node.shown_attributes, **_times(node))


def _network_open(node: Node) -> ks.FILE_NETWORK_OPEN_INFORMATION:
    return ks.FILE_NETWORK_OPEN_INFORMATION(AllocationSize=node.allocation, EndOfFile=len(node.data),
                                            FileAttributes=node.shown_attributes, **_times(node))


def _with_name(fixed: ctypes.Structure, name: str) -> bytes:
    """A FILE_*_INFORMATION with its trailing FileName: the fixed part up to FileName, then the name."""
    return bytes(fixed)[:ks.offset_of(type(fixed), "FileName")] + name.encode("utf-16-le")


def _store_info(k, iosb: int, buffer: int, length: int, blob: bytes, minimum: int) -> int:
    """Copy an information blob; a variable-length one that does not fit is cut (STATUS_BUFFER_OVERFLOW)."""
    if length < minimum:
        return STATUS_INFO_LENGTH_MISMATCH
    k.mem.write(buffer, blob[:length])
    return _status(k, iosb, STATUS_BUFFER_OVERFLOW if len(blob) > length else STATUS_SUCCESS, min(len(blob), length))


@export("ZwQueryInformationFile", "NtQueryInformationFile")
def ZwQueryInformationFile(k, FileHandle: HANDLE, IoStatusBlock: PIO_STATUS_BLOCK, FileInformation: PVOID,
                           Length: ULONG, FileInformationClass: FILE_INFORMATION_CLASS) -> NTSTATUS:
    f = _open_file(k, FileHandle)
    if isinstance(f, int):
        return f
    name = f.node.volume_path
    named = _with_name(ks.FILE_NAME_INFORMATION(FileNameLength=2 * len(name)), name)
    if FileInformationClass == FileNameInformation:
        return _store_info(k, IoStatusBlock, FileInformation, Length, named, ctypes.sizeof(ks.FILE_NAME_INFORMATION))
    fixed = _fixed_information(f)
    if FileInformationClass == FileAllInformation:
        # FILE_ALL_INFORMATION: Basic, Standard, Internal, Ea, Access, Position, Mode, Alignment, Name
        blob = b"".join(fixed[c]() for c in (FileBasicInformation, FileStandardInformation, FileInternalInformation,
                                             FileEaInformation, FileAccessInformation, FilePositionInformation,
                                             FileModeInformation, FileAlignmentInformation)) + named
        return _store_info(k, IoStatusBlock, FileInformation, Length, blob, FILE_ALL_INFORMATION_SIZE)
    if FileInformationClass not in fixed:
        return STATUS_INVALID_INFO_CLASS
    blob = fixed[FileInformationClass]()
    return _store_info(k, IoStatusBlock, FileInformation, Length, blob, len(blob))


def _fixed_information(f: OpenFile) -> dict[int, Callable[[], bytes]]:
    """The fixed-size information classes of an open file, each as the bytes of its structure."""
    node = f.node
    return {
        FileBasicInformation: lambda: bytes(_basic(node)),
        FileStandardInformation: lambda: bytes(ks.FILE_STANDARD_INFORMATION(
            AllocationSize=node.allocation, EndOfFile=len(node.data), NumberOfLinks=1,
            DeletePending=node.delete_pending, Directory=node.directory)),
        FileInternalInformation: lambda: bytes(ctypes.c_int64(node.index)),
        FileEaInformation: lambda: bytes(ctypes.c_uint32(0)),                     # no extended attributes
        FileAccessInformation: lambda: bytes(ctypes.c_uint32(f.access)),
        FilePositionInformation: lambda: bytes(ctypes.c_int64(f.position)),
        FileModeInformation: lambda: bytes(ctypes.c_uint32(f.mode)),
        FileAlignmentInformation: lambda: bytes(ctypes.c_uint32(0)),              # FILE_BYTE_ALIGNMENT
        FileNetworkOpenInformation: lambda: bytes(_network_open(node)),
        FileAttributeTagInformation: lambda: bytes(ks.FILE_ATTRIBUTE_TAG_INFORMATION(
            FileAttributes=node.shown_attributes)),
    }


@export("ZwSetInformationFile", "NtSetInformationFile")
def ZwSetInformationFile(k, FileHandle: HANDLE, IoStatusBlock: PIO_STATUS_BLOCK, FileInformation: PVOID,
                         Length: ULONG, FileInformationClass: FILE_INFORMATION_CLASS) -> NTSTATUS:
    f = _open_file(k, FileHandle)
    if isinstance(f, int):
        return f
    node = f.node
    sizes = {FilePositionInformation: 8, FileEndOfFileInformation: 8, FileDispositionInformation: 1,
             FileBasicInformation: ctypes.sizeof(ks.FILE_BASIC_INFORMATION),
             FileRenameInformation: ks.offset_of(ks.FILE_RENAME_INFORMATION, "FileName")}
    if FileInformationClass not in sizes:
        return STATUS_INVALID_INFO_CLASS
    if Length < sizes[FileInformationClass]:
        return STATUS_INFO_LENGTH_MISMATCH
    raw = k.mem.read(FileInformation, sizes[FileInformationClass])
    if FileInformationClass == FilePositionInformation:
        position = int.from_bytes(raw, "little", signed=True)
        if position < 0:
            return STATUS_INVALID_PARAMETER
        _moved(k, f, position)
    elif FileInformationClass == FileEndOfFileInformation:
        size = int.from_bytes(raw, "little", signed=True)
        if node.directory or size < 0:
            return STATUS_INVALID_PARAMETER
        node.data[size:] = b""
        node.data.extend(bytes(size - len(node.data)))
        k.files.wrote(node)
    elif FileInformationClass == FileDispositionInformation:
        if not raw[0]:
            node.delete_pending = False
        else:
            status = _delete_on_last_close(k.files, node)
            if status:
                return status
    elif FileInformationClass == FileBasicInformation:
        info = ks.FILE_BASIC_INFORMATION.from_buffer_copy(raw)
        if info.FileAttributes:
            node.attributes = (info.FileAttributes & FILE_ATTRIBUTE_VALID_FLAGS & ~FILE_ATTRIBUTE_NORMAL) | \
                (node.attributes & FILE_ATTRIBUTE_DIRECTORY)
        if info.LastWriteTime > 0:
            node.time = info.LastWriteTime
    else:
        status = _rename(k, f, FileInformation, Length)
        if status:
            return status
    return _status(k, IoStatusBlock, STATUS_SUCCESS)


def _delete_on_last_close(fs: FileSystem, node: Node) -> int:
    if node is fs.root or node.attributes & FILE_ATTRIBUTE_READONLY:
        return STATUS_CANNOT_DELETE
    if node.directory and node.children:
        return STATUS_DIRECTORY_NOT_EMPTY
    node.delete_pending = True
    return STATUS_SUCCESS


def _rename(k, f: OpenFile, info: int, length: int) -> int:
    """FileRenameInformation: a new name in the same or another directory of the volume."""
    ri = k.read_struct(ks.FILE_RENAME_INFORMATION, info)
    start = ks.offset_of(ks.FILE_RENAME_INFORMATION, "FileName")
    if start + ri.FileNameLength > length:
        return STATUS_INVALID_PARAMETER
    name = k.mem.read(info + start, ri.FileNameLength).decode("utf-16-le", "replace")
    if ri.RootDirectory:
        root = _open_file(k, ri.RootDirectory)
        if isinstance(root, int):
            return root
        parts, base = k.files.components(name), root.node
    elif name.startswith("\\"):
        parts, base = k.files.split(name), k.files.root
    else:
        parts, base = k.files.components(name), f.node.parent       # a bare name: same directory
    if isinstance(parts, int):
        return parts
    status, parent, leaf, existing = k.files.walk(base, parts)
    if status or parent is None:
        return status or STATUS_OBJECT_NAME_INVALID
    if existing is not None and existing is not f.node:
        if not ri.ReplaceIfExists or existing.directory or existing.opens:
            return STATUS_OBJECT_NAME_COLLISION if not ri.ReplaceIfExists else STATUS_ACCESS_DENIED
        k.files.remove(existing)
    node = f.node
    node.parent.children.pop(node.name.upper(), None)
    node.name, node.parent = leaf, parent
    parent.children[leaf.upper()] = node
    if not node.directory:
        k.files.wrote(node)
    return STATUS_SUCCESS


def _attributes(k, attributes: int, buffer: int, info: Callable[[Node], ctypes.Structure]) -> int:
    """Look a file up by name and store information about it, without opening it."""
    status, _, _, node = _resolve(k, attributes)
    if status:
        return status
    if node is None:
        return STATUS_OBJECT_NAME_NOT_FOUND
    k.mem.write(buffer, bytes(info(node)))
    return STATUS_SUCCESS


@export("ZwQueryFullAttributesFile")
def ZwQueryFullAttributesFile(k, ObjectAttributes: POBJECT_ATTRIBUTES, FileInformation: PVOID) -> NTSTATUS:
    return _attributes(k, ObjectAttributes, FileInformation, _network_open)


@export("ZwQueryAttributesFile", "NtQueryAttributesFile")
def ZwQueryAttributesFile(k, ObjectAttributes: POBJECT_ATTRIBUTES, FileInformation: PVOID) -> NTSTATUS:
    return _attributes(k, ObjectAttributes, FileInformation, _basic)


# ---- directories ------------------------------------------------------------------------------------------
def _entry(cls: int, index: int, name: str, node: Node) -> bytes:
    """One directory entry of the class, without NextEntryOffset (filled in by the caller)."""
    if cls == FileNamesInformation:
        return _with_name(ks.FILE_NAMES_INFORMATION(FileIndex=index, FileNameLength=2 * len(name)), name)
    struct = {FileDirectoryInformation: ks.FILE_DIRECTORY_INFORMATION,
              FileFullDirectoryInformation: ks.FILE_FULL_DIR_INFORMATION,
              FileBothDirectoryInformation: ks.FILE_BOTH_DIR_INFORMATION}[cls]
    return _with_name(struct(FileIndex=index, EndOfFile=len(node.data), AllocationSize=node.allocation,
                             FileAttributes=node.shown_attributes, FileNameLength=2 * len(name), **_times(node)),
                      name)


_ENTRY_CLASSES = {FileDirectoryInformation: ks.FILE_DIRECTORY_INFORMATION,
                  FileFullDirectoryInformation: ks.FILE_FULL_DIR_INFORMATION,
                  FileBothDirectoryInformation: ks.FILE_BOTH_DIR_INFORMATION,
                  FileNamesInformation: ks.FILE_NAMES_INFORMATION}


@export("ZwQueryDirectoryFile", "NtQueryDirectoryFile")
def ZwQueryDirectoryFile(k, FileHandle: HANDLE, Event: HANDLE, ApcRoutine: PVOID, ApcContext: PVOID,
                         IoStatusBlock: PIO_STATUS_BLOCK, FileInformation: PVOID, Length: ULONG,
                         FileInformationClass: FILE_INFORMATION_CLASS, ReturnSingleEntry: BOOLEAN,
                         FileName: PUNICODE_STRING, RestartScan: BOOLEAN) -> NTSTATUS:
    f = _open_file(k, FileHandle)
    if isinstance(f, int):
        return f
    if not f.node.directory:
        return STATUS_INVALID_PARAMETER
    if FileInformationClass not in _ENTRY_CLASSES:
        return STATUS_INVALID_INFO_CLASS
    if Length < ks.offset_of(_ENTRY_CLASSES[FileInformationClass], "FileName"):
        return STATUS_INFO_LENGTH_MISMATCH
    first = f.scan is None or RestartScan
    if f.scan is None and FileName:                 # the first call's expression holds for the handle
        f.pattern = k.read_unicode_string(FileName) or "*"
    if first:
        f.scan = 0
    node = f.node
    entries = ([(".", node), ("..", node.parent or node)] if node.parent else []) + \
        [(child.name, child) for _, child in sorted(node.children.items())]
    matching = [(n, c) for n, c in entries if fnmatch.fnmatchcase(n.upper(), f.pattern.upper())]
    out, last = bytearray(), None
    while f.scan < len(matching):
        name, child = matching[f.scan]
        entry = _entry(FileInformationClass, f.scan, name, child)
        start = (len(out) + 7) & ~7
        if start + len(entry) > Length:
            if out:
                break
            k.mem.write(FileInformation, entry[:Length])       # not even one entry fits: its name is cut
            f.scan += 1
            return _status(k, IoStatusBlock, STATUS_BUFFER_OVERFLOW, Length)
        if last is not None:
            out[last:last + 4] = (start - last).to_bytes(4, "little")
        out.extend(bytes(start - len(out)))
        last = start
        out.extend(entry)
        f.scan += 1
        if ReturnSingleEntry:
            break
    if not out:
        return _status(k, IoStatusBlock, STATUS_NO_SUCH_FILE if first else STATUS_NO_MORE_FILES)
    k.mem.write(FileInformation, bytes(out))
    return _status(k, IoStatusBlock, STATUS_SUCCESS, len(out))


@export("ZwQueryVolumeInformationFile", "NtQueryVolumeInformationFile")
def ZwQueryVolumeInformationFile(k, FileHandle: HANDLE, IoStatusBlock: PIO_STATUS_BLOCK, FsInformation: PVOID,
                                 Length: ULONG, FsInformationClass: FILE_INFORMATION_CLASS) -> NTSTATUS:
    f = _open_file(k, FileHandle)
    if isinstance(f, int):
        return f
    info = {FileFsSizeInformation: lambda: ks.FILE_FS_SIZE_INFORMATION(
                TotalAllocationUnits=VOLUME_BYTES // CLUSTER, AvailableAllocationUnits=FREE_BYTES // CLUSTER,
                SectorsPerAllocationUnit=CLUSTER // 512, BytesPerSector=512),
            FileFsDeviceInformation: lambda: ks.FILE_FS_DEVICE_INFORMATION(DeviceType=FILE_DEVICE_DISK)
            }.get(FsInformationClass)
    if info is None:
        return STATUS_INVALID_INFO_CLASS
    blob = bytes(info())
    return _store_info(k, IoStatusBlock, FsInformation, Length, blob, len(blob))
