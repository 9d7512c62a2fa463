"""The Zw file routines and the report's files_written.

tests/drivers/src/files.c drives the routines from driver code and checks statuses in C; here the
report is checked against what that C source leaves on the volume (corpus.json `files_written`),
and the path rules are checked on a real Kernel through the export stubs.
"""
from __future__ import annotations

import hashlib
import json
import struct

import pytest

from conftest import driver_path, load_manifest, read
from hooks.kernel import Kernel
from verifier.cli import main
from verifier.session import Options, run_driver

ENTRY = load_manifest()["files"]
STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND = 0xC0000034, 0xC000003A
STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_COLLISION = 0xC0000033, 0xC0000035
FILE_OPEN, FILE_CREATE = 1, 2
FILE_SYNCHRONOUS_IO_NONALERT = 0x20
GENERIC_READ_WRITE = 0xC0000000


def expected_files() -> list[dict]:
    return [{"path": f["path"], "size": len(f["content"]), "sha256": hashlib.sha256(f["content"].encode()).hexdigest(),
             "first_bytes": f["content"].encode().hex(), "deleted": f["deleted"]} for f in ENTRY["files_written"]]


def test_files_driver_leaves_what_its_source_wrote():
    report = run_driver(driver_path("files"), read("files"), Options(timeout=10))
    assert report.error is None and report.bugchecks == [] and report.unimplemented_apis == []
    assert report.entry_points[0].status == 0
    assert [vars(f) for f in report.files_written] == expected_files()


def test_files_written_in_json_and_text(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", driver_path("files"), "--format", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["drivers"][0]["files_written"] == expected_files()
    assert main(["run", driver_path("files")]) == 0
    text = capsys.readouterr().out
    for f in expected_files():
        assert f"wrote file: {f['path']}{' (deleted)' if f['deleted'] else ''}, {f['size']} bytes, " \
               f"sha256 {f['sha256']}, starts {f['first_bytes']}" in text


def test_a_driver_that_writes_nothing_reports_no_files():
    report = run_driver(driver_path("crt"), read("crt"), Options(timeout=10))
    assert report.files_written == []


class Volume:
    """File routines called through their stubs, on structures built in guest memory."""

    def __init__(self):
        self.k = Kernel()
        self.scratch = self.k.alloc_kdata(0x4000)
        self.iosb = self.scratch + 0x20

    def call(self, name: str, *args: int) -> int:
        stop = self.k.call(self.k.address_of("ntoskrnl.exe", name), list(args))
        assert stop.kind == "returned"
        return stop.return_value & 0xFFFFFFFF

    def attributes(self, name: str) -> int:
        k, base = self.k, self.scratch
        text = name.encode("utf-16-le")
        k.mem.write(base + 0x100, text)
        k.mem.write(base + 0x80, struct.pack("<HHIQ", len(text), len(text), 0, base + 0x100))
        k.mem.write(base + 0x40, struct.pack("<IIQQIIQQ", 48, 0, 0, base + 0x80, 0x240, 0, 0, 0))
        return base + 0x40

    def create(self, name: str, disposition: int, access: int = GENERIC_READ_WRITE,
               options: int = FILE_SYNCHRONOUS_IO_NONALERT) -> tuple[int, int, int]:
        """(status, handle, IO_STATUS_BLOCK.Information)"""
        self.k.mem.write(self.scratch, bytes(0x20))
        status = self.call("ZwCreateFile", self.scratch, access, self.attributes(name), self.iosb, 0, 0x80, 1,
                           disposition, options, 0, 0)
        return status, self.k.mem.read_q(self.scratch), self.k.mem.read_q(self.iosb + 8)

    def io(self, name: str, handle: int, data: bytes, offset: int | None = None) -> tuple[int, int]:
        """ZwReadFile/ZwWriteFile of len(data) bytes from a guest buffer: (status, Information)."""
        buf, at = self.scratch + 0x1000, self.scratch + 0x18
        self.k.mem.write(buf, data)
        if offset is not None:
            self.k.mem.write_q(at, offset)
        status = self.call(name, handle, 0, 0, 0, self.iosb, buf, len(data), at if offset is not None else 0, 0)
        return status, self.k.mem.read_q(self.iosb + 8)

    def content(self, path: str) -> bytes | None:
        return next((bytes.fromhex(f.first_bytes) for f in self.k.files.written() if f.path == path and not f.deleted),
                    None)


@pytest.mark.parametrize("name", [
    "\\??\\C:\\Windows\\System32\\ntoskrnl.exe", "\\DosDevices\\C:\\WINDOWS\\system32\\NTOSKRNL.EXE",
    "\\GLOBAL??\\c:\\windows\\system32\\hal.dll", "\\SystemRoot\\System32\\drivers\\",
    "\\Device\\HarddiskVolume3\\Windows\\Temp", "\\??\\C:\\"])
def test_every_spelling_of_the_volume_reaches_it(name):
    status, handle, information = Volume().create(name, FILE_OPEN)
    assert (status, information) == (0, 1) and handle >> 63            # FILE_OPENED, a kernel handle


@pytest.mark.parametrize("name, status", [
    ("\\??\\C:\\Windows\\nothing.txt", STATUS_OBJECT_NAME_NOT_FOUND),
    ("\\??\\C:\\nothing\\file.txt", STATUS_OBJECT_PATH_NOT_FOUND),
    ("\\??\\D:\\file.txt", STATUS_OBJECT_PATH_NOT_FOUND),               # no D: symbolic link
    ("\\Device\\HarddiskVolume9\\file.txt", STATUS_OBJECT_PATH_NOT_FOUND),
    ("\\??\\C:\\Windows\\..\\file.txt", STATUS_OBJECT_NAME_INVALID),
    ("\\??\\C:\\Windows\\a*b.txt", STATUS_OBJECT_NAME_INVALID),
])
def test_names_that_do_not_resolve(name, status):
    assert Volume().create(name, FILE_OPEN)[0] == status


def test_names_compare_case_insensitively_and_keep_their_case():
    v = Volume()
    assert v.create("\\??\\C:\\Windows\\Temp\\MixedCase.Log", FILE_CREATE)[0] == 0
    assert v.create("\\??\\c:\\windows\\temp\\MIXEDCASE.LOG", FILE_CREATE)[0] == STATUS_OBJECT_NAME_COLLISION
    assert [f.path for f in v.k.files.written()] == ["C:\\Windows\\Temp\\MixedCase.Log"]


STATUS_INVALID_PARAMETER, STATUS_ACCESS_DENIED, STATUS_DIRECTORY_NOT_EMPTY = 0xC000000D, 0xC0000022, 0xC0000101
FILE_APPEND_DATA, SYNCHRONIZE, FILE_DIRECTORY_FILE, FILE_DELETE_ON_CLOSE = 0x4, 0x100000, 0x1, 0x1000
FILE_WRITE_TO_END_OF_FILE = 0xFFFFFFFFFFFFFFFF         # LowPart 0xFFFFFFFF, HighPart -1
LOG = "\\??\\C:\\Windows\\Temp\\t.log"


def test_append_only_handles_write_at_the_end():
    v = Volume()
    status, h, _ = v.create(LOG, FILE_CREATE)
    assert status == 0 and v.io("ZwWriteFile", h, b"0123456789") == (0, 10)
    _, a, _ = v.create(LOG, FILE_OPEN, FILE_APPEND_DATA | SYNCHRONIZE)
    assert v.io("ZwWriteFile", a, b"ab", offset=0) == (0, 2)          # ByteOffset ignored: appended
    assert v.io("ZwWriteFile", h, b"!", offset=FILE_WRITE_TO_END_OF_FILE) == (0, 1)
    assert v.content("C:\\Windows\\Temp\\t.log") == b"0123456789ab!"


def test_rights_and_positions_follow_the_open():
    v = Volume()
    _, h, _ = v.create(LOG, FILE_CREATE)
    v.io("ZwWriteFile", h, b"data")
    _, ro, _ = v.create(LOG, FILE_OPEN, 0x80000000 | SYNCHRONIZE)                 # GENERIC_READ
    assert v.io("ZwWriteFile", ro, b"x")[0] == STATUS_ACCESS_DENIED
    _, asynchronous, _ = v.create(LOG, FILE_OPEN, GENERIC_READ_WRITE, options=0)
    assert v.io("ZwReadFile", asynchronous, bytes(2))[0] == STATUS_INVALID_PARAMETER   # no position to use
    assert v.io("ZwReadFile", asynchronous, bytes(2), offset=2) == (0, 2)


def test_delete_on_close_and_non_empty_directories():
    v = Volume()
    status, d, _ = v.create("\\??\\C:\\Windows\\Temp\\dir", FILE_CREATE, options=FILE_DIRECTORY_FILE)
    assert status == 0
    _, f, _ = v.create("\\??\\C:\\Windows\\Temp\\dir\\x", FILE_CREATE,
                       options=FILE_SYNCHRONOUS_IO_NONALERT | FILE_DELETE_ON_CLOSE)
    assert v.call("ZwDeleteFile", v.attributes("\\??\\C:\\Windows\\Temp\\dir")) == STATUS_DIRECTORY_NOT_EMPTY
    assert v.call("ZwClose", f) == 0
    assert v.create("\\??\\C:\\Windows\\Temp\\dir\\x", FILE_OPEN)[0] == STATUS_OBJECT_NAME_NOT_FOUND
    assert v.call("ZwClose", d) == 0
    assert v.call("ZwDeleteFile", v.attributes("\\??\\C:\\Windows\\Temp\\dir")) == 0
