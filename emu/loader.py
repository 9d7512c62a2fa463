"""Maps a PE image into the address space the way the Windows loader does.

Headers read-only, each section with page protections from its flags (code R-X, writable data
RW-NX, read-only data R-NX; memory integrity never maps a page writable and executable, so a
section asking for both is mapped R-X), base relocations applied for the actual load address,
and every import bound through a resolver supplied by the caller.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from emu.memory import PAGE, PROT_R, PROT_RW, PROT_RWX, PROT_RX, AddressSpace, page_ceil, poke
from emu.pe import Import, PeImage
from emu.unwind import FunctionTable

# (dll, import) -> address to store in the IAT slot
Resolver = Callable[[Import], int]

IMAGE_REL_BASED_HIGHLOW = 3
IMAGE_REL_BASED_DIR64 = 10


class LoadError(Exception):
    """The image cannot be mapped (e.g. a relocation or import points outside it)."""


@dataclass
class LoadedImage:
    name: str
    image: PeImage
    base: int
    size: int

    @property
    def entry(self) -> int:
        return self.base + self.image.entry_rva

    def contains(self, address: int) -> bool:
        return self.base <= address < self.base + self.size

    def rva(self, address: int) -> int:
        return address - self.base

    @cached_property
    def functions(self) -> FunctionTable:
        """The image's .pdata function table, for unwinding call stacks."""
        return FunctionTable(self.image)


def page_protection(image: PeImage, page_rva: int, allow_wx: bool = False) -> int:
    """The PTE flags a page of the image gets: executable if any section on it is; read-only for
    pages holding only headers. Never W+X (memory integrity), unless `allow_wx` asks for the
    legacy loader's mapping of writable code (an INIT section never: Windows strips its W)."""
    executable = writable = False
    for s in image.sections:
        if s.rva < page_rva + PAGE and page_rva < s.rva + max(s.span, 1):
            executable |= s.executable
            writable |= s.writable and not (s.executable and s.name.upper() == "INIT")
    if executable:
        return PROT_RWX if writable and allow_wx else PROT_RX
    return PROT_RW if writable else PROT_R


def map_image(space: AddressSpace, image: PeImage, base: int, resolve: Resolver,
              allow_wx: bool = False) -> LoadedImage:
    size = page_ceil(image.size_of_image)
    if size == 0 or size > 256 << 20:
        raise LoadError(f"SizeOfImage 0x{image.size_of_image:x} is not loadable")
    space.map_new(base, size, PROT_RW)
    poke(space, base, image.data[:min(image.size_of_headers, size, len(image.data))])
    for s in image.sections:
        raw = image.data[s.raw_offset:s.raw_offset + min(s.raw_size, s.span)] if s.raw_size else b""
        if s.rva + len(raw) > size:
            raise LoadError(f"section {s.name} lies beyond SizeOfImage")
        poke(space, base + s.rva, raw)
    _relocate(space, image, base, size)
    for imp in image.imports:
        if imp.thunk_rva + 8 > size:
            raise LoadError(f"IAT slot of {imp.dll}!{imp.name or imp.ordinal} lies outside the image")
        poke(space, base + imp.thunk_rva, struct.pack("<Q", resolve(imp)))
    for page in range(0, size, PAGE):
        space.protect(base + page, PAGE, page_protection(image, page, allow_wx))
    return LoadedImage(image.name, image, base, size)


def _relocate(space: AddressSpace, image: PeImage, base: int, size: int) -> None:
    delta = base - image.image_base
    if not delta:
        return
    for kind, rva in image.relocations():
        if kind == IMAGE_REL_BASED_DIR64:
            width, fmt, mask = 8, "<Q", 0xFFFFFFFFFFFFFFFF
        elif kind == IMAGE_REL_BASED_HIGHLOW:
            width, fmt, mask = 4, "<I", 0xFFFFFFFF
        else:
            raise LoadError(f"unsupported base relocation type {kind} at RVA 0x{rva:x}")
        if rva + width > size:
            raise LoadError(f"base relocation at RVA 0x{rva:x} points outside the image")
        va = base + rva
        value = struct.unpack(fmt, space.read_unchecked(va, width))[0]
        poke(space, va, struct.pack(fmt, (value + delta) & mask))
