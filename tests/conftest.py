"""Shared helpers: the driver corpus, its manifest (tests/drivers/corpus.json) and small PE utilities.

corpus.json is written by hand next to the driver sources and may still be growing, so it is read at
test time and entries whose .sys has not been built yet are left out.  While corpus.json does not
exist at all, a minimal manifest transcribed from the driver sources' own comments (build.sh,
onecall.c, faults.c) stands in for it, so the suite still checks something meaningful.
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

# ---- stand-in manifest (only used while corpus.json is absent) --------------------------------------
_ONECALL = {  # case -> (rule, API), from the comments and calls in tests/drivers/src/onecall.c
    "pool_tag": (0x2000, "ExAllocatePoolWithTag"), "pool": (0x2000, "ExAllocatePool"),
    "quota_tag": (0x2000, "ExAllocatePoolWithQuotaTag"), "quota": (0x2000, "ExAllocatePoolWithQuota"),
    "prio": (0x2000, "ExAllocatePoolWithTagPriority"), "pool2": (0x2000, "ExAllocatePool2"),
    "pool3": (0x2000, "ExAllocatePool3"), "cache": (0x2000, "ExAllocatePoolWithTag"),
    "npla": (0x2000, "ExInitializeNPagedLookasideList"), "lookaside_ex": (0x2000, "ExInitializeLookasideListEx"),
    "mdl_map": (0x2002, "MmMapLockedPagesSpecifyCache"), "mdl_protect": (0x2001, "MmProtectMdlSystemAddress"),
    "iospace_ex": (0x2001, "MmMapIoSpaceEx"), "contig_node": (0x2001, "MmAllocateContiguousNodeMemory"),
    "zwalloc": (0x2001, "ZwAllocateVirtualMemory"), "zwprotect": (0x2001, "ZwProtectVirtualMemory"),
    "zwsection": (0x2001, "ZwCreateSection"), "zwmap": (0x2001, "ZwMapViewOfSection"),
}


def _fallback() -> dict:
    m: dict = {}
    for cc in ("gcc", "clang"):
        m[f"clean_{cc}"] = {"static": [], "unsupported_relocs": 0, "driver_entry_status": 0}
        m[f"rwx_{cc}"] = {"static": [{"rule": 0x2003, "section": ".rwx"}]}
        m[f"init_rwx_{cc}"] = {"static": [{"rule": 0x2003, "section": "INIT"}], "driver_entry_status": 0}
        m[f"iat_exec_{cc}"] = {"static": [{"rule": 0x2005, "section": ".text"}]}
        m[f"straddle_reloc_{cc}"] = {"static": [], "unsupported_relocs": 1}
        m[f"reloc_check{'' if cc == 'gcc' else '_clang'}"] = {"static": [], "driver_entry_status": 0,
                                                              "category": "emulation-core"}
    for case, (rule, api) in _ONECALL.items():
        exec_name = f"{case}_exec" if os.path.exists(os.path.join(BIN, f"{case}_exec.sys")) else case
        m[exec_name] = {"static": [], "runtime": [{"code": 0xC4, "rule": rule, "api": api}]}
        m[f"{case}_nx"] = {"static": [], "driver_entry_status": 0}
    m["mdl_maplocked_exec"] = {"static": [], "runtime": [{"code": 0xC4, "rule": 0x2002, "api": "MmMapLockedPages"}]}
    m["ntsection_exec"] = {"static": [], "runtime": [{"code": 0xC4, "rule": 0x2001, "api": "NtCreateSection"}]}
    m["ntmap_exec"] = {"static": [], "runtime": [{"code": 0xC4, "rule": 0x2001, "api": "NtMapViewOfSection"}]}
    for name in ("paged", "nx_optin", "nx_optin_ver", "iospace", "contig", "contig_cache", "contig_cache_node"):
        m[name] = {"static": [], "driver_entry_status": 0}
    for name in ("data_imports", "args6", "strings", "kstate"):
        m[name] = {"static": [], "driver_entry_status": 0, "category": "emulation-core"}
    return m


# ---- manifest access -----------------------------------------------------------------------------------
def _num(v):
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return v
    return v


def load_manifest() -> dict[str, dict]:
    """name -> entry, whatever the top-level shape of corpus.json (mapping or list of entries)."""
    if not os.path.exists(MANIFEST):
        return _fallback()
    with open(MANIFEST, encoding="utf-8") as fh:
        raw = json.load(fh)
    if isinstance(raw, dict) and "drivers" in raw:
        raw = raw["drivers"]
    out: dict[str, dict] = {}
    if isinstance(raw, dict):
        for name, entry in raw.items():
            if isinstance(entry, dict) and not name.startswith(("$", "_")):
                out[os.path.splitext(name)[0]] = entry
    else:
        for entry in raw:
            name = entry.get("name") or entry.get("driver") or entry.get("file")
            out[os.path.splitext(os.path.basename(name))[0]] = entry
    return out


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
                args[int(str(k).lstrip("argArg")) - 1] = _num(v)
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
