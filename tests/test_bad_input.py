"""Unusable input: each bad file is one clear error line, the others are still checked, exit 2, no traceback."""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys

import pytest

from conftest import built, driver_path, load_manifest, pe_offsets, read, static_of
from verifier.cli import main

MANIFEST = load_manifest()
CLEAN = next(n for n in built(MANIFEST) if static_of(MANIFEST[n]) == [] and n.startswith("clean"))
VERIFIER = [sys.executable, "-m", "verifier"]


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def _bad_images() -> dict[str, bytes]:
    good = read(CLEAN)
    off = pe_offsets(good)
    return {
        "random.sys": random.Random(1).randbytes(4096),
        "empty.sys": b"",
        "truncated.sys": good[:300],
        "x86.sys": _patched(good, off["machine"], "<H", 0x14C),
        "arm64.sys": _patched(good, off["machine"], "<H", 0xAA64),
        "sections.sys": _patched(good, off["nsections"], "<H", 0xFFFF),
        "importdir.sys": _patched(_patched(good, off["datadir"] + 8, "<I", 0xFFFFFFF0),
                                  off["datadir"] + 12, "<I", 0xFFFFFFF0),
    }


BAD = sorted(_bad_images())


def _cases():
    for command in ("scan", "run"):
        for bad in BAD:
            yield pytest.param(command, bad, id=f"{command}-{bad}")


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    for name, data in _bad_images().items():
        (d / name).write_bytes(data)
    return d


def _json(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    return code, json.loads(cap.out), cap.err


@pytest.mark.parametrize("command,bad", list(_cases()))
def test_bad_image_alone(command, bad, bad_dir, capsys):
    extra = ["--timeout", "5"] if command == "run" else []
    code, doc, err = _json(capsys, [command, "--format", "json", *extra, str(bad_dir / bad)])
    (d,) = doc["drivers"]
    assert d["error"], f"{bad}: no error reported"
    assert "\n" not in d["error"]
    assert d["bugchecks"] == []
    assert code == 2 and doc["exit_code"] == 2
    assert err.count("\n") == 1 and bad in err


@pytest.mark.parametrize("command", ["scan", "run"])
def test_bad_and_good_together(command, bad_dir, capsys):
    extra = ["--timeout", "5"] if command == "run" else []
    good = driver_path(CLEAN)
    code, doc, _ = _json(capsys, [command, "--format", "json", *extra,
                                  *[str(bad_dir / b) for b in BAD], good])
    by_path = {d["path"]: d for d in doc["drivers"]}
    assert by_path[good]["error"] is None
    assert all(by_path[str(bad_dir / b)]["error"] for b in BAD)
    assert code == 2      # nothing found, some input unusable


@pytest.mark.parametrize("command", ["scan", "run"])
def test_missing_file_and_empty_directory(command, tmp_path, capsys):
    code, doc, _ = _json(capsys, [command, "--format", "json", str(tmp_path / "nope.sys"), str(tmp_path)])
    assert [bool(d["error"]) for d in doc["drivers"]] == [True, True]
    assert code == 2


def _cli(*argv):
    return subprocess.run([*VERIFIER, *argv], capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("command", ["scan", "run"])
def test_cli_text_bad_inputs_no_traceback(command, bad_dir, tmp_path):
    for bad in BAD + ["missing.sys"]:
        p = _cli(command, str(bad_dir / bad))
        assert "Traceback" not in p.stdout + p.stderr
        assert p.returncode == 2, (bad, p.stdout, p.stderr)
        both = p.stdout + p.stderr
        assert "Traceback" not in both
        lines = [ln for ln in both.splitlines() if bad in ln]
        assert len(lines) >= 1, both


@pytest.mark.parametrize("argv", [
    ["run", "--flags", "nonsense", "x.sys"],
    ["run", "--timeout", "-1", "x.sys"],
    ["run", "--max-instructions", "-5", "x.sys"],
    ["frobnicate", "x.sys"],
    ["scan", "--format", "xml", "x.sys"],
    [],
])
def test_usage_errors(argv):
    p = _cli(*argv)
    assert p.returncode == 2
    assert "Traceback" not in p.stdout + p.stderr
    if argv:
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_usage_errors_in_process(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--flags", "nonsense", "x.sys"])
    assert exc.value.code == 2
    assert "--flags" in capsys.readouterr().err
