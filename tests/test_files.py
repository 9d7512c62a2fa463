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
    """ZwCreateFile through its stub, on OBJECT_ATTRIBUTES built in guest memory."""

    def __init__(self):
        self.k = Kernel()
        self.scratch = self.k.alloc_kdata(0x4000)

    def create(self, name: str, disposition: int, root: int = 0) -> tuple[int, int, int]:
        k, base = self.k, self.scratch
        text = name.encode("utf-16-le")
        k.mem.write(base + 0x100, text)
        k.mem.write(base + 0x80, struct.pack("<HHIQ", len(text), len(text), 0, base + 0x100))
        k.mem.write(base + 0x40, struct.pack("<IIQQIIQQ", 48, 0, root, base + 0x80, 0x240, 0, 0, 0))
        k.mem.write(base, bytes(0x20))
        stop = k.call(k.address_of("ntoskrnl.exe", "ZwCreateFile"),
                      [base, GENERIC_READ_WRITE, base + 0x40, base + 0x20, 0, 0x80, 1, disposition,
                       FILE_SYNCHRONOUS_IO_NONALERT, 0, 0])
        assert stop.kind == "returned"
        return stop.return_value & 0xFFFFFFFF, k.mem.read_q(base), k.mem.read_q(base + 0x28)


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
