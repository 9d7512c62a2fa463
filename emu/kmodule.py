"""Synthesized kernel modules: real in-memory PE images whose exports are API stubs and variables.

Each module is an ordinary x64 PE built here: `.text` starts with the routines given as machine
code (`native`, 16-byte aligned), then holds the stub block, one `ret` per other routine (function
exports and internal routines that have no export, such as the invalid-request handler): only
that block is hooked (see emu.dispatch), so native code runs at JIT speed. `.data` holds the data
exports, and `.edata` a real export directory (with forwarders, `forwards`, for routines another
module implements), so MmGetSystemRoutineAddress and drivers that walk export tables find what
they would on Windows.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from emu.memory import PAGE, page_ceil

_SCN_CODE = 0x60000020        # CNT_CODE | MEM_EXECUTE | MEM_READ
_SCN_DATA = 0xC0000040        # CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE
_SCN_RDATA = 0x40000040       # CNT_INITIALIZED_DATA | MEM_READ
RET = 0xC3


@dataclass
class ModuleSpec:
    name: str                                   # e.g. "ntoskrnl.exe"
    functions: list[str]                        # exported routines, each gets a stub
    data: list[tuple[str, int]]                 # exported variables: (name, size in bytes)
    internal: list[str] = field(default_factory=list)   # routines with a stub but no export
    native: dict[str, bytes] = field(default_factory=dict)   # routines implemented in machine code
    forwards: dict[str, str] = field(default_factory=dict)   # export -> "module.Routine" it forwards to


@dataclass
class BuiltModule:
    spec: ModuleSpec
    image: bytes
    size_of_image: int
    text_rva: int
    text_size: int
    stub_block_rva: int                         # the `ret` stubs: [stub_block_rva, text_rva + text_size)
    stubs: dict[str, int]                       # routine name -> RVA of its stub (or native code)
    variables: dict[str, int]                   # data export name -> RVA


def build_module(spec: ModuleSpec) -> BuiltModule:
    routines = [r for r in list(spec.functions) + list(spec.internal)
                if r not in spec.native and r not in spec.forwards]
    text_rva = PAGE
    text = bytearray()
    stubs: dict[str, int] = {}
    for name, code in spec.native.items():
        stubs[name] = text_rva + len(text)
        text += code
        text += bytes([RET]) * (-len(text) % 16)
    stub_block_rva = text_rva + len(text)
    stubs.update({name: stub_block_rva + i for i, name in enumerate(routines)})
    text += bytes([RET]) * max(len(routines), 1)
    text_size = len(text)
    data_rva = text_rva + page_ceil(text_size)
    variables: dict[str, int] = {}
    offset = 0
    for name, size in spec.data:
        variables[name] = data_rva + offset
        offset += (max(size, 8) + 15) & ~15
    data_size = max(offset, 16)
    edata_rva = data_rva + page_ceil(data_size)
    edata = _export_directory(spec.name, edata_rva,
                              {**{n: stubs[n] for n in spec.functions if n in stubs}, **variables},
                              {n: spec.forwards[n] for n in spec.functions if n in spec.forwards})
    size_of_image = edata_rva + page_ceil(len(edata))
    sections = [(b".text", text_rva, text_size, _SCN_CODE, bytes(text)),
                (b".data", data_rva, data_size, _SCN_DATA, bytes(data_size)),
                (b".edata", edata_rva, len(edata), _SCN_RDATA, edata)]
    image = _pe_image(sections, size_of_image, edata_rva, len(edata))
    return BuiltModule(spec, image, size_of_image, text_rva, text_size, stub_block_rva, stubs, variables)


def _export_directory(module: str, rva: int, exports: dict[str, int], forwards: dict[str, str]) -> bytes:
    """IMAGE_EXPORT_DIRECTORY, its three tables and strings. A forwarder's address is the RVA of
    its "module.Routine" string inside the directory, as the PE format defines."""
    names = sorted({**exports, **forwards})    # the loader binary-searches names: keep them sorted
    n = len(names)
    dir_size = 40
    funcs_at = rva + dir_size
    names_at = funcs_at + 4 * n
    ords_at = names_at + 4 * n
    strings_at = ords_at + 2 * n
    blob = bytearray()
    module_name_rva = strings_at
    blob += module.encode() + b"\0"
    name_rvas = []
    for name in names:
        name_rvas.append(strings_at + len(blob))
        blob += name.encode() + b"\0"
    addresses = dict(exports)
    for name, target in forwards.items():
        addresses[name] = strings_at + len(blob)
        blob += target.encode() + b"\0"
    header = struct.pack("<IIHHIIIIIII", 0, 0, 0, 0, module_name_rva, 1, n, n, funcs_at, names_at, ords_at)
    funcs = b"".join(struct.pack("<I", addresses[name]) for name in names)
    name_ptrs = b"".join(struct.pack("<I", r) for r in name_rvas)
    ords = b"".join(struct.pack("<H", i) for i in range(n))
    return header + funcs + name_ptrs + ords + bytes(blob)


def _pe_image(sections: list[tuple[bytes, int, int, int, bytes]], size_of_image: int,
              export_rva: int, export_size: int) -> bytes:
    """A minimal, valid PE32+ image laid out with file offsets equal to RVAs (already 'mapped')."""
    pe_offset = 0x80
    dos = bytearray(pe_offset)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, pe_offset)
    data_dirs = [(0, 0)] * 16
    data_dirs[0] = (export_rva, export_size)
    optional = struct.pack("<HBBIIIIIQIIHHHHHHIIIIHHQQQQII", 0x20B, 14, 0, 0, 0, 0, 0, sections[0][1],
                           0x140000000, PAGE, PAGE, 10, 0, 10, 0, 10, 0, 0, size_of_image, PAGE, 0,
                           1, 0x160, 0x80000, 0x1000, 0x100000, 0x1000, 0, 16)
    optional += b"".join(struct.pack("<II", *d) for d in data_dirs)
    file_header = struct.pack("<HHIIIHH", 0x8664, len(sections), 0, 0, 0, len(optional), 0x2022)
    headers = bytearray(dos + b"PE\0\0" + file_header + optional)
    for name, rva, vsize, flags, body in sections:
        headers += struct.pack("<8sIIIIIIHHI", name, vsize, rva, page_ceil(len(body)), rva, 0, 0, 0, 0, flags)
    image = bytearray(size_of_image)
    image[:len(headers)] = headers
    for _, rva, _, _, body in sections:
        image[rva:rva + len(body)] = body
    return bytes(image)
