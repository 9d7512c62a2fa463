"""Shared helpers: the driver corpus, its manifest (tests/drivers/corpus.json) and small PE utilities.

corpus.json is written by hand next to the driver sources: what each driver must produce, from
what its C code does. It is read at test time.
"""
from __future__ import annotations

import json
import os
import struct

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
DRIVERS = os.path.join(TESTS, "drivers")
BIN = os.path.join(DRIVERS, "bin")
MANIFEST = os.path.join(DRIVERS, "corpus.json")

# ---- manifest access -----------------------------------------------------------------------------------
def _num(v):
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return v
    return v


def load_manifest() -> dict[str, dict]:
    """Driver name -> its corpus.json entry."""
    with open(MANIFEST, encoding="utf-8") as fh:
        return {entry["name"]: entry for entry in json.load(fh)["drivers"]}


def driver_path(name: str) -> str:
    return os.path.join(BIN, f"{name}.sys")


def built(names) -> list[str]:
    return sorted(n for n in names if os.path.exists(driver_path(n)))


def static_of(entry: dict) -> list[tuple[int, str]] | None:
    items = entry.get("static")
    if items is None:
        return None
    out = []
    for it in items:
        if isinstance(it, dict):
            out.append((_num(it.get("rule", it.get("arg1"))), it.get("section")))
        else:
            out.append((_num(it[0]), it[1]))
    return sorted(out)


def runtime_of(entry: dict) -> list[dict]:
    """Normalised run-time expectations: code, rule, api, args (4 items, None = not specified)."""
    items = entry.get("runtime") or []
    if isinstance(items, dict):
        items = [items]
    out = []
    for it in items:
        args = [None] * 4
        given = it.get("args")
        if isinstance(given, dict):
            for k, v in given.items():
                args[int(str(k).lower().removeprefix("arg")) - 1] = _num(v)
        elif isinstance(given, list):
            for i, v in enumerate(given[:4]):
                args[i] = _num(v)
        for i in range(4):
            for key in (f"arg{i + 1}", f"Arg{i + 1}"):
                if key in it:
                    args[i] = _num(it[key])
        rule = _num(it.get("rule"))
        out.append({"code": _num(it.get("code", 0xC4)), "rule": rule, "api": it.get("api"), "args": args})
    return out


def status_of(entry: dict):
    v = entry.get("driver_entry_status")
    return _num(v) if v is not None else None


def read(name_or_path: str) -> bytes:
    path = name_or_path if os.sep in name_or_path else driver_path(name_or_path)
    with open(path, "rb") as fh:
        return fh.read()


# ---- PE header offsets, computed from the bytes (no product code) ---------------------------------------
def pe_offsets(data: bytes) -> dict[str, int]:
    e_lfanew = struct.unpack_from("<I", data, 0x3C)[0]
    coff = e_lfanew + 4
    opt = coff + 20
    return {"e_lfanew": e_lfanew, "machine": coff, "nsections": coff + 2, "opt": opt,
            "opt_size": struct.unpack_from("<H", data, coff + 16)[0],
            "datadir": opt + 112, "sections": opt + struct.unpack_from("<H", data, coff + 16)[0]}


@pytest.fixture(scope="session")
def manifest() -> dict[str, dict]:
    return load_manifest()
