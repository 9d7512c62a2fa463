"""The run's disk volume C: as the Zw file routines see it: directories, files, open file objects.

Names resolve as the object manager and NTFS resolve them: `\\??\\C:\\..`, `\\DosDevices\\C:\\..`,
`\\GLOBAL??\\C:\\..`, `\\SystemRoot\\..` and the volume's device name `\\Device\\HarddiskVolume3\\..` all
reach the volume; components compare case-insensitively and keep the case they were created with;
"." / ".." components and the characters NTFS refuses make a name invalid.

The volume is seeded with what a driver plausibly opens: the Windows, System32, drivers, config and
Temp directories, ntoskrnl.exe and hal.dll (the bytes of the synthesized images) and each loaded
driver's own image file. Every file the driver creates or changes is remembered for the report.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Callable

from hooks.state import Fields

STATUS_SUCCESS = 0
STATUS_OBJECT_NAME_INVALID = 0xC0000033
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_PATH_NOT_FOUND = 0xC000003A

FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_ARCHIVE = 0x1, 0x10, 0x20
FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_VALID_FLAGS = 0x80, 0x7FB7
GENERIC_READ, GENERIC_WRITE, GENERIC_EXECUTE, GENERIC_ALL = 0x80000000, 0x40000000, 0x20000000, 0x10000000
MAXIMUM_ALLOWED, FILE_ALL_ACCESS = 0x02000000, 0x1F01FF
# CreateDisposition (ntifs.h, in order): ZwCreateFile's argument, the high byte of an IRP_MJ_CREATE's
# Parameters.Create.Options
DISPOSITIONS = ("FILE_SUPERSEDE", "FILE_OPEN", "FILE_CREATE", "FILE_OPEN_IF", "FILE_OVERWRITE", "FILE_OVERWRITE_IF")
FILE_SUPERSEDE, FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF = range(len(DISPOSITIONS))
# CreateOptions
FILE_DIRECTORY_FILE, FILE_SYNCHRONOUS_IO_ALERT, FILE_SYNCHRONOUS_IO_NONALERT = 0x1, 0x10, 0x20
FILE_NON_DIRECTORY_FILE, FILE_DELETE_ON_CLOSE = 0x40, 0x1000
# The file object type's GENERIC_MAPPING (FILE_GENERIC_READ, _WRITE, _EXECUTE, FILE_ALL_ACCESS in wdm.h)
FILE_GENERIC_MAPPING = {GENERIC_READ: 0x120089, GENERIC_WRITE: 0x120116, GENERIC_EXECUTE: 0x1200A0,
                        GENERIC_ALL: FILE_ALL_ACCESS, MAXIMUM_ALLOWED: FILE_ALL_ACCESS}

SYSTEM_VOLUME = "\\Device\\HarddiskVolume3"     # C: on a default install (EFI, MSR, then Windows)
_DOS_PREFIXES = ("\\??\\", "\\DosDevices\\", "\\GLOBAL??\\")
_INVALID_NAME_CHARS = set('<>:"|?*') | {chr(c) for c in range(0x20)}
CLUSTER = 0x1000
PREVIEW_BYTES = 32


@dataclass
class Node:
    """A file or directory on the volume. Nodes compare by value (`index` is unique, so two nodes of
    one volume are equal only if they are one); the parent link is left out of the comparison (it
    would recurse back up). Whoever changes `data` calls `FileSystem.wrote` afterwards: that is how
    a kernel snapshot knows file bytes changed."""

    name: str
    directory: bool
    parent: Node | None = field(compare=False, repr=False)
    index: int
    time: int
    attributes: int = FILE_ATTRIBUTE_ARCHIVE
    data: bytearray = field(default_factory=bytearray)
    children: dict[str, Node] = field(default_factory=dict)     # upper-case name -> node
    delete_pending: bool = False
    deleted: bool = False
    opens: int = 0

    @property
    def volume_path(self) -> str:
        """The name below the volume root, as FILE_OBJECT.FileName and FileNameInformation give it."""
        parts = []
        node = self
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "\\" + "\\".join(reversed(parts))

    @property
    def path(self) -> str:
        return "C:" + self.volume_path

    @property
    def shown_attributes(self) -> int:
        return self.attributes or FILE_ATTRIBUTE_NORMAL

    @property
    def allocation(self) -> int:
        return 0 if self.directory else (len(self.data) + CLUSTER - 1) & ~(CLUSTER - 1)


_NODE_FIELDS = tuple(f.name for f in fields(Node) if f.name != "data")


@dataclass
class WrittenFile:
    """What a driver left in a file it created or changed."""

    path: str
    size: int
    sha256: str
    first_bytes: str     # hex of the first PREVIEW_BYTES bytes
    deleted: bool        # the driver deleted it again before the run ended


class FileSystem:
    """The run's volume C: and the files the driver wrote to it."""

    def __init__(self, system_root: str, clock: Callable[[], int]):
        self.system_root = system_root            # "C:\\Windows"
        self.clock = clock                        # the kernel's system time, for file times
        self._next_index = 0
        self.nodes: list[Node] = []                # every node made, in order (kernel snapshots)
        self.writes = 0                            # changes to files' bytes, all made through `wrote`
        self.root = self._node("", True, None)
        self._written: dict[int, Node] = {}        # id -> node, in the order first written
        for folder in ("System32\\drivers", "System32\\config", "Temp"):
            self.make_dirs(f"{system_root}\\{folder}")

    @classmethod
    def for_kernel(cls, k) -> FileSystem:
        """The volume of a kernel: its system root, its clock, its modules' images in System32."""
        fs = cls(k.profile["system_root"], lambda: k.system_time)
        for loaded in k.modules.values():
            fs.add_file(f"\\SystemRoot\\System32\\{loaded.name}", loaded.image.data)
        return fs

    def _node(self, name: str, directory: bool, parent: Node | None) -> Node:
        self._next_index += 1
        node = Node(name, directory, parent, self._next_index, self.clock(),
                    FILE_ATTRIBUTE_DIRECTORY if directory else FILE_ATTRIBUTE_ARCHIVE)
        self.nodes.append(node)
        if parent is not None:
            parent.children[name.upper()] = node
        return node

    # ---- kernel snapshots (hooks.state): nodes stay the same objects, which open files refer to ----
    # A file's bytes are compared only when `writes` moved (comparing the seeded images' bytes on
    # every restore would cost more than the rest of the volume).
    def snapshot(self) -> object:
        return (self._next_index, self.writes, len(self.nodes), dict(self._written), Fields(self.nodes, _NODE_FIELDS),
                [bytes(n.data) for n in self.nodes])

    def restore(self, saved: object) -> None:
        next_index, writes, count, written, nodes, data = saved
        if self._next_index == next_index and self.writes == writes and self._written == written \
                and not nodes.changed():
            return
        self._next_index, self.writes = next_index, writes
        del self.nodes[count:]
        self._written.clear()
        self._written.update(written)
        nodes.put_back()
        for node, kept in zip(self.nodes, data):
            if node.data != kept:
                node.data[:] = kept

    def shared(self) -> list[Node]:
        return list(self.nodes)

    def make_dirs(self, dos_path: str) -> Node:
        node = self.root
        for part in dos_path.split("\\")[1:]:
            node = node.children.get(part.upper()) or self._node(part, True, node)
        return node

    def add_file(self, nt_path: str, data: bytes) -> Node:
        """Seed a file (an image the system loaded) under an NT path such as \\SystemRoot\\System32\\x."""
        parts = self.split(nt_path)
        assert isinstance(parts, list), nt_path
        parent = self.make_dirs("C:\\" + "\\".join(parts[:-1]) if parts[:-1] else "C:")
        node = parent.children.get(parts[-1].upper()) or self._node(parts[-1], False, parent)
        node.data[:] = data
        self.writes += 1
        return node

    # ---- names ----------------------------------------------------------------------------------
    def split(self, name: str) -> list[str] | int:
        """The components below the volume root of an absolute NT name, or the status it fails with."""
        upper = name.upper()
        rest = None
        if upper == "\\SYSTEMROOT" or upper.startswith("\\SYSTEMROOT\\"):
            rest = self.system_root + name[len("\\SystemRoot"):]
        elif upper == SYSTEM_VOLUME.upper() or upper.startswith(SYSTEM_VOLUME.upper() + "\\"):
            rest = "C:" + name[len(SYSTEM_VOLUME):]
        else:
            for prefix in _DOS_PREFIXES:
                if upper.startswith(prefix.upper()):
                    rest = name[len(prefix):]
                    break
        if rest is None or rest[:2].upper() != "C:" or rest[2:3] not in ("", "\\"):
            # An object directory or symbolic link that does not exist here: the last component
            # missing is "name not found", an earlier one "path not found".
            return STATUS_OBJECT_PATH_NOT_FOUND if "\\" in name.rstrip("\\")[1:] else STATUS_OBJECT_NAME_NOT_FOUND
        return self.components(rest[3:])

    @staticmethod
    def components(text: str) -> list[str] | int:
        parts = text.split("\\") if text else []
        if parts and parts[-1] == "":
            parts.pop()                            # a trailing backslash names the same object
        for part in parts:
            if part in ("", ".", "..") or _INVALID_NAME_CHARS & set(part):
                return STATUS_OBJECT_NAME_INVALID
        return parts

    def walk(self, start: Node, parts: list[str]) -> tuple[int, Node | None, str | None, Node | None]:
        """(status, parent, last name, node): node None when only the last component is missing."""
        node = start
        for i, part in enumerate(parts):
            if not node.directory:
                return STATUS_OBJECT_PATH_NOT_FOUND, None, None, None
            child = node.children.get(part.upper())
            if child is None:
                if i < len(parts) - 1:
                    return STATUS_OBJECT_PATH_NOT_FOUND, None, None, None
                return STATUS_SUCCESS, node, part, None
            if i == len(parts) - 1:
                return STATUS_SUCCESS, node, part, child
            node = child
        return STATUS_SUCCESS, node.parent, node.name, node

    # ---- changes --------------------------------------------------------------------------------
    def create(self, parent: Node, name: str, directory: bool, attributes: int) -> Node:
        node = self._node(name, directory, parent)
        if not directory:
            node.attributes = (attributes & FILE_ATTRIBUTE_VALID_FLAGS & ~FILE_ATTRIBUTE_DIRECTORY) | \
                FILE_ATTRIBUTE_ARCHIVE
            self.wrote(node)
        return node

    def wrote(self, node: Node) -> None:
        """Every change to a file's bytes is announced here, after it was made."""
        self.writes += 1
        self._written.setdefault(id(node), node)
        node.time = self.clock()

    def remove(self, node: Node) -> None:
        node.deleted = True
        if node.parent is not None:
            node.parent.children.pop(node.name.upper(), None)

    def written(self) -> list[WrittenFile]:
        return [WrittenFile(n.path, len(n.data), hashlib.sha256(n.data).hexdigest(),
                            bytes(n.data[:PREVIEW_BYTES]).hex(), n.deleted) for n in self._written.values()]


def granted_access(desired: int) -> int:
    """The rights a new file handle holds: generic rights mapped through the file type's mapping,
    MAXIMUM_ALLOWED as all of them (the run's single user may do anything)."""
    access = desired & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED)
    for generic, specific in FILE_GENERIC_MAPPING.items():
        if desired & generic:
            access |= specific
    return access


@dataclass(eq=False)
class OpenFile:
    """A handle's file object: the node, the position, what the handle may do."""

    fs: FileSystem
    node: Node
    address: int                  # the FILE_OBJECT (ObReferenceObjectByHandle hands it out)
    access: int                   # granted rights: specific rights only (see granted_access)
    synchronous: bool
    delete_on_close: bool
    mode: int = 0                 # the create options FileModeInformation reports
    scan: int | None = None       # next directory entry for ZwQueryDirectoryFile
    pattern: str = "*"
    position: int = 0

    def may(self, rights: int) -> bool:
        return bool(self.access & rights)

    def close(self) -> None:
        """The file object's close procedure: the last close of a file marked for deletion deletes it."""
        node = self.node
        node.opens -= 1
        node.delete_pending |= self.delete_on_close
        if node.delete_pending and node.opens == 0:
            self.fs.remove(node)
