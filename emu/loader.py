"""Maps a PE image into the address space the way the Windows loader does.

Headers read-only, each section with page protections from its flags (code R-X, writable data
RW-NX, read-only data R-NX; memory integrity never maps a page writable and executable, so a
section asking for both is mapped R-X), base relocations applied for the actual load address,
every import bound through a resolver supplied by the caller, and the load-config slots filled
as Windows fills them before the entry point runs (the /GS security cookie, Control Flow Guard's
routine pointers).
"""
from __future__ import annotations

import hashlib
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
# The cookie value /GS code is linked with: startup code that still finds it (or 0) knows the
# loader did not initialise it and fails fast (FAST_FAIL_GS_COOKIE_INIT).
DEFAULT_SECURITY_COOKIE = 0x00002B992DDFA232
COOKIE_BITS = 48                    # x64 Windows keeps the cookie's top 16 bits clear


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


@dataclass(frozen=True)
class Startup:
    """What the loader writes into an image's load-config slots before its entry point runs."""

    security_cookie: int | None       # None: leave the cookie as linked (tests of the failure path)
    guard_check: int                  # routine for an empty GuardCFCheckFunctionPointer slot
    guard_dispatch: int               # routine for an empty GuardCFDispatchFunctionPointer slot


def security_cookie(seed: int, image: PeImage) -> int:
    """A fresh /GS cookie as the x64 loader makes one: top 16 bits clear, never 0 and never the
    default. Derived from the run's seed and the image bytes, so a run reproduces exactly."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{seed}:{counter}:".encode() + image.data).digest()
        cookie = int.from_bytes(digest[:8], "little") & ((1 << COOKIE_BITS) - 1)
        if cookie not in (0, DEFAULT_SECURITY_COOKIE):
            return cookie
        counter += 1


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
              allow_wx: bool = False, startup: Startup | None = None) -> LoadedImage:
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
    if startup is not None:
        _fill_load_config(space, image, base, size, startup)
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


def _fill_load_config(space: AddressSpace, image: PeImage, base: int, size: int, startup: Startup) -> None:
    """The security cookie gets a fresh value; a Control Flow Guard slot the image left 0 gets the
    kernel's routine for CFG being off (check: return; dispatch: jump to RAX). Slots the image set
    keep its own routines (the linker's no-op defaults), as Windows leaves them when CFG is off.
    A slot outside the image is left alone: there is nothing of the image's there to initialise."""
    config = image.load_config
    if config is None:
        return

    def slot(va: int) -> int | None:
        rva = va - image.image_base
        return base + rva if va and 0 <= rva <= size - 8 else None

    cookie = slot(config.security_cookie)
    if cookie is not None and startup.security_cookie is not None:
        poke(space, cookie, struct.pack("<Q", startup.security_cookie))
    for va, routine in ((config.guard_check, startup.guard_check), (config.guard_dispatch, startup.guard_dispatch)):
        at = slot(va)
        if at is not None and not space.read_unchecked(at, 8).strip(b"\0"):
            poke(space, at, struct.pack("<Q", routine))
