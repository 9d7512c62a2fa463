"""A bug check read from a Windows kernel crash dump (MEMORY.DMP, a minidump).

Every 64-bit kernel dump starts with DUMP_HEADER64: "PAGE" "DU64", then at fixed offsets
PsLoadedModuleList 0x20, BugCheckCode 0x38, BugCheckParameter1..4 0x40..0x58, ContextRecord 0x348
and DumpType 0xF98 (the layout kdmp-parser pins with static_asserts in kdmp-parser-structs.h, after
Rekall's crashdump.py overlay; DumpType values: 1 full, 2 kernel summary, 4 triage/minidump, 5 bitmap).
- Full (1) and bitmap (5) kernel dumps, and the newer kernel/complete ones kdmp-parser reads, go
  through kdmp-parser (pip install 'hvci-verifier[dumps]'): bug check, context, and the driver's
  load base from the loaded-module list (PsLoadedModuleList, walked through the dump's page tables).
- Small minidumps (4): only their DUMP_HEADER64 bug-check fields; no module list, so the load base
  comes from --load-base.
"""
from __future__ import annotations

import ctypes
import os
import struct
import sys
from contextlib import contextmanager
from typing import Iterator

from hooks import kstructs as ks
from verifier.bugcheck_text import BugCheckTextError, Module, ReportedBugCheck, canonical

SIGNATURE = b"PAGEDU64"
BUGCHECK_CODE = 0x38
BUGCHECK_PARAMETERS = 0x40
DUMP_TYPE = 0xF98
MINIDUMP = 4
DUMP_KINDS = {1: "full", 2: "kernel summary", 4: "minidump", 5: "kernel bitmap", 6: "live kernel bitmap",
              8: "kernel memory", 9: "kernel and user memory", 10: "complete memory"}
MAX_MODULES = 4096                  # a looping list ends the walk
PAGE = 0x1000


def is_dump(head: bytes) -> bool:
    return head.startswith(SIGNATURE)


def read_dump(path: str, head: bytes) -> ReportedBugCheck:
    """The bug check of a kernel dump; BugCheckTextError for a dump that cannot be used."""
    if len(head) < DUMP_TYPE + 4:
        raise BugCheckTextError(f"{path}: truncated crash dump (header is {len(head)} bytes, DUMP_HEADER64 needs "
                                f"{DUMP_TYPE + 4})")
    kind = struct.unpack_from("<I", head, DUMP_TYPE)[0]
    what = DUMP_KINDS.get(kind, f"type {kind}")
    if kind == MINIDUMP:
        code = struct.unpack_from("<I", head, BUGCHECK_CODE)[0]
        args = struct.unpack_from("<4Q", head, BUGCHECK_PARAMETERS)
        return ReportedBugCheck(canonical(code), args, f"{path} ({what} header)")
    try:
        import kdmp_parser
    except ImportError:
        raise BugCheckTextError(f"{path}: reading a {what} dump needs kdmp-parser: pip install "
                                "'hvci-verifier[dumps]' (or paste the `!analyze -v` text instead)") from None
    try:
        with _quiet_stdout():
            dump = kdmp_parser.KernelDumpParser(path)
    except (RuntimeError, ValueError) as exc:
        raise BugCheckTextError(f"{path}: kdmp-parser cannot read this {what} dump ({exc})") from None
    header = dump.header
    reported = ReportedBugCheck(canonical(header.BugCheckCode), tuple(header.BugCheckCodeParameter[:4]),
                                f"{path} ({what} dump)")
    with _quiet_stdout():
        reported.modules = _modules(dump, header.PsLoadedModuleList)
    reported.context_rip = dump.context.Rip
    return reported


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """kdmp-parser explains a rejected dump with C printf on fd 1, which would corrupt a JSON report."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _modules(dump, head: int) -> list[Module]:
    """PsLoadedModuleList: a LIST_ENTRY of KLDR_DATA_TABLE_ENTRY (InLoadOrderLinks at 0)."""
    def read(address: int, size: int) -> bytes | None:
        out = b""
        while len(out) < size:
            page = dump.read_virtual_page(address + len(out))
            if page is None:
                return None
            offset = (address + len(out)) % PAGE
            out += bytes(page[offset:offset + size - len(out)])
        return out

    modules: list[Module] = []
    first = read(head, 8)
    link = struct.unpack("<Q", first)[0] if first else head
    size = ctypes.sizeof(ks.LDR_DATA_TABLE_ENTRY)
    while link != head and len(modules) < MAX_MODULES:
        raw = read(link, size)
        if raw is None:
            break
        entry = ks.LDR_DATA_TABLE_ENTRY.from_buffer_copy(raw)
        name = entry.BaseDllName
        text = read(name.Buffer, name.Length) if name.Buffer and name.Length else None
        if text is not None:
            modules.append(Module(text.decode("utf-16-le", "replace"), entry.DllBase,
                                  entry.DllBase + entry.SizeOfImage))
        link = entry.InLoadOrderLinks.Flink
    return modules
