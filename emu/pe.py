"""Plain, bounded access to an x64 PE image: the facts both the loader and the static rules need.

pefile does the header parsing; the tables a hostile image can make huge (imports, relocations,
exports) are walked here with explicit bounds, so a malformed driver costs milliseconds and gives
one `ImageError` with a readable reason instead of an exception from deep inside a parser.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

import pefile

IMAGE_FILE_MACHINE_AMD64 = 0x8664
_MACHINES = {0x14C: "x86 (PE32)", 0xAA64: "ARM64", 0x1C0: "ARM", 0x1C4: "ARMv7 Thumb-2", 0x200: "Itanium"}
IMAGE_SCN_CNT_CODE = 0x20
IMAGE_SCN_MEM_DISCARDABLE = 0x02000000
IMAGE_SCN_MEM_EXECUTE = 0x20000000
IMAGE_SCN_MEM_READ = 0x40000000
IMAGE_SCN_MEM_WRITE = 0x80000000
IMAGE_FILE_DLL = 0x2000
IMAGE_SUBSYSTEM_NATIVE = 1
PAGE = 0x1000
MAX_SECTIONS = 96              # what the Windows loader accepts
MAX_IMPORT_DESCRIPTORS = 4096
MAX_THUNKS = 65536
MAX_RELOC_ENTRIES = 1 << 20
DIR_EXPORT, DIR_IMPORT, DIR_EXCEPTION, DIR_BASERELOC, DIR_LOAD_CONFIG, DIR_IAT = 0, 1, 3, 5, 10, 12
MIN_FILE_ALIGNMENT, MAX_FILE_ALIGNMENT = 0x200, 0x10000
# IMAGE_LOAD_CONFIG_DIRECTORY64 (winnt.h): field -> offset. The structure grew with each Windows
# release; its first field, Size, says how much of it an image has.
_LOAD_CONFIG_FIELDS = {"SecurityCookie": 0x58, "GuardCFCheckFunctionPointer": 0x70,
                       "GuardCFDispatchFunctionPointer": 0x78, "GuardFlags": 0x90}


# User-mode system DLLs: a kernel image importing one of them never loads (the kernel loader resolves
# imports only against kernel-mode modules: ntoskrnl.exe, hal.dll and export drivers).
USER_MODE_DLLS = frozenset({
    "ntdll.dll", "kernel32.dll", "kernelbase.dll", "user32.dll", "gdi32.dll", "win32u.dll", "advapi32.dll",
    "ucrtbase.dll", "msvcrt.dll", "ws2_32.dll", "iphlpapi.dll", "ole32.dll", "oleaut32.dll", "shell32.dll",
    "shlwapi.dll", "rpcrt4.dll", "sechost.dll", "crypt32.dll", "bcrypt.dll", "setupapi.dll", "version.dll"})
_USER_MODE_PREFIXES = ("api-ms-win-", "vcruntime", "msvcp")


def _user_mode_dll(name: str) -> bool:
    low = name.lower()
    return low in USER_MODE_DLLS or low.startswith(_USER_MODE_PREFIXES)


class ImageError(Exception):
    """The file is not an x64 image this tool can check; the message says why, in one line."""


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    rva: int
    virtual_size: int
    raw_offset: int
    raw_size: int
    characteristics: int
    header_offset: int     # file offset of the section header (mapped at ImageBase + this)

    @property
    def executable(self) -> bool:
        return bool(self.characteristics & IMAGE_SCN_MEM_EXECUTE)

    @property
    def writable(self) -> bool:
        return bool(self.characteristics & IMAGE_SCN_MEM_WRITE)

    @property
    def span(self) -> int:
        """Bytes the section occupies in memory (VirtualSize, or SizeOfRawData when it is 0)."""
        return self.virtual_size or self.raw_size

    def contains(self, rva: int) -> bool:
        return self.rva <= rva < self.rva + max(self.span, 1)


@dataclass(frozen=True)
class LoadConfig:
    """The load-config fields the loader acts on, as VAs at the preferred base (0 = absent)."""

    size: int
    security_cookie: int = 0
    guard_check: int = 0        # GuardCFCheckFunctionPointer: VA of the check routine's pointer slot
    guard_dispatch: int = 0     # GuardCFDispatchFunctionPointer: VA of the dispatch routine's slot
    guard_flags: int = 0


@dataclass(frozen=True)
class Import:
    dll: str
    name: str | None        # None when imported by ordinal
    ordinal: int | None
    thunk_rva: int          # the IAT slot the loader fills


class PeImage:
    """A parsed x64 image. Construct with `PeImage.parse`; everything else is read on demand."""

    def __init__(self, pe: pefile.PE, data: bytes, name: str):
        self.pe = pe
        self.data = data
        self.name = name
        opt = pe.OPTIONAL_HEADER
        self.image_base: int = opt.ImageBase
        self.size_of_image: int = opt.SizeOfImage
        self.size_of_headers: int = opt.SizeOfHeaders
        self.section_alignment: int = opt.SectionAlignment
        self.file_alignment: int = opt.FileAlignment
        self.entry_rva: int = opt.AddressOfEntryPoint
        self.subsystem: int = opt.Subsystem
        self.characteristics: int = pe.FILE_HEADER.Characteristics
        self.sections: list[Section] = [
            Section(i, s.Name.rstrip(b"\0").decode("utf-8", "replace"), s.VirtualAddress, s.Misc_VirtualSize,
                    s.PointerToRawData, s.SizeOfRawData, s.Characteristics, s.get_file_offset())
            for i, s in enumerate(pe.sections)]

    @classmethod
    def parse(cls, data: bytes, name: str = "image") -> "PeImage":
        if len(data) < 0x40 or data[:2] != b"MZ":
            raise ImageError("not a PE image (no MZ header)")
        try:
            pe = pefile.PE(data=data, fast_load=True)
        except pefile.PEFormatError as exc:
            raise ImageError(f"malformed PE image: {exc.value}") from None
        except Exception as exc:  # pefile raises plain errors on some truncations
            raise ImageError(f"malformed PE image: {type(exc).__name__}: {exc}") from None
        machine = pe.FILE_HEADER.Machine
        if machine != IMAGE_FILE_MACHINE_AMD64:
            what = _MACHINES.get(machine, f"machine 0x{machine:x}")
            raise ImageError(f"{what} image: only x64 (AMD64) drivers can be checked")
        if pe.OPTIONAL_HEADER is None or pe.OPTIONAL_HEADER.Magic != pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS:
            raise ImageError("AMD64 machine but no PE32+ optional header: malformed image")
        count = pe.FILE_HEADER.NumberOfSections
        if count == 0 or count > MAX_SECTIONS:
            raise ImageError(f"absurd section count {count} (Windows loads 1..{MAX_SECTIONS})")
        if len(pe.sections) != count:
            raise ImageError(f"truncated section table: {len(pe.sections)} of {count} section headers present")
        return cls(pe, data, name)

    # ---- data directories -------------------------------------------------------------------
    def directory(self, index: int) -> tuple[int, int]:
        dirs = self.pe.OPTIONAL_HEADER.DATA_DIRECTORY
        if index >= len(dirs):
            return 0, 0
        return dirs[index].VirtualAddress, dirs[index].Size

    def section_at(self, rva: int) -> Section | None:
        for s in self.sections:
            if s.contains(rva):
                return s
        return None

    def read(self, rva: int, size: int) -> bytes:
        """Bytes at an RVA as the loader would map them (zeros past raw data); b'' if unmapped."""
        if rva < self.size_of_headers:
            return self.data[rva:rva + size].ljust(min(size, self.size_of_headers - rva), b"\0")
        s = self.section_at(rva)
        if s is None:
            return b""
        off = rva - s.rva
        avail = max(s.span, 1) - off
        chunk = self.data[s.raw_offset + off:s.raw_offset + min(off + size, s.raw_size)] if off < s.raw_size else b""
        return chunk.ljust(min(size, avail), b"\0")

    def u32(self, rva: int) -> int | None:
        b = self.read(rva, 4)
        return struct.unpack("<I", b)[0] if len(b) == 4 else None

    def u64(self, rva: int) -> int | None:
        b = self.read(rva, 8)
        return struct.unpack("<Q", b)[0] if len(b) == 8 else None

    def cstring(self, rva: int, limit: int = 512) -> str | None:
        b = self.read(rva, limit)
        end = b.find(b"\0")
        return b[:end].decode("ascii", "replace") if end > 0 else None

    # ---- imports -------------------------------------------------------------------------------
    @cached_property
    def imports(self) -> list[Import]:
        """Import descriptors walked with bounds; a broken entry ends the walk with an ImageError."""
        rva, size = self.directory(DIR_IMPORT)
        result: list[Import] = []
        if not rva:
            return result
        for i in range(MAX_IMPORT_DESCRIPTORS):
            desc = self.read(rva + 20 * i, 20)
            if len(desc) < 20:
                raise ImageError(f"import descriptor {i} lies outside the image")
            oft, _, _, name_rva, first_thunk = struct.unpack("<IIIII", desc)
            if not (oft or name_rva or first_thunk):
                return result
            dll = self.cstring(name_rva)
            if not dll:
                raise ImageError(f"import descriptor {i} has no readable DLL name")
            lookup = oft or first_thunk
            for j in range(MAX_THUNKS):
                thunk = self.u64(lookup + 8 * j)
                if thunk is None:
                    raise ImageError(f"import thunks of {dll} run outside the image")
                if thunk == 0:
                    break
                if thunk >> 63:
                    result.append(Import(dll, None, thunk & 0xFFFF, first_thunk + 8 * j))
                else:
                    name = self.cstring((thunk & 0x7FFFFFFF) + 2)
                    if name is None:
                        raise ImageError(f"import {j} of {dll} has no readable name")
                    result.append(Import(dll, name, None, first_thunk + 8 * j))
            else:
                raise ImageError(f"import thunk array of {dll} is not terminated")
        raise ImageError("import directory is not terminated")

    def validate(self) -> None:
        """Refuse what Windows' image loader refuses (STATUS_INVALID_IMAGE_FORMAT), one reason at a
        time, and walk the import directory so an image the loader could not bind raises too.

        Rules from Microsoft's PE format reference (desktop-src/Debug/pe-format.md, "Optional
        Header Windows-Specific Fields" and "Section Table"): both alignments powers of two,
        SectionAlignment >= FileAlignment, FileAlignment 512..64K unless it equals a SectionAlignment
        below the page size; sections in ascending, non-overlapping order; SizeOfHeaders and
        SizeOfImage covering headers and sections; raw data inside the file. Only clear
        contradictions are refused: what Windows merely rounds (SizeOfImage not a multiple of
        SectionAlignment) is accepted as it accepts it.
        """
        try:
            self._check_layout()
        except ImageError as exc:
            raise ImageError(f"{exc}: Windows refuses to load this image (STATUS_INVALID_IMAGE_FORMAT); "
                             "relink it with a standard linker") from None
        _ = self.imports

    def _check_layout(self) -> None:
        fa, sa = self.file_alignment, self.section_alignment
        if not _power_of_two(sa) or not _power_of_two(fa):
            raise ImageError(f"SectionAlignment 0x{sa:x} and FileAlignment 0x{fa:x} must both be non-zero "
                             "powers of two")
        if sa < PAGE and fa != sa:
            raise ImageError(f"SectionAlignment 0x{sa:x} is below the page size, so FileAlignment (0x{fa:x}) "
                             "must equal it")
        if sa >= PAGE and not MIN_FILE_ALIGNMENT <= fa <= MAX_FILE_ALIGNMENT:
            raise ImageError(f"FileAlignment 0x{fa:x} is outside 0x200..0x10000")
        if sa < fa:
            raise ImageError(f"SectionAlignment 0x{sa:x} is smaller than FileAlignment 0x{fa:x}")
        image_end = _align(self.size_of_image, sa)
        if not self.size_of_headers or self.size_of_headers > image_end:
            raise ImageError(f"SizeOfHeaders 0x{self.size_of_headers:x} does not fit SizeOfImage "
                             f"0x{self.size_of_image:x}")
        previous_end, previous = _align(self.size_of_headers, sa), "the headers"
        for s in self.sections:
            if s.rva < previous_end:
                raise ImageError(f"section {s.name} at RVA 0x{s.rva:x} overlaps {previous} (ending at "
                                 f"0x{previous_end:x})")
            previous_end, previous = s.rva + _align(s.span, sa), f"section {s.name}"
            if previous_end > image_end:
                raise ImageError(f"section {s.name} ends at RVA 0x{previous_end:x}, beyond SizeOfImage "
                                 f"0x{self.size_of_image:x}")
            if s.raw_size and s.raw_offset + s.raw_size > len(self.data):
                raise ImageError(f"raw data of section {s.name} (file offset 0x{s.raw_offset:x} + 0x{s.raw_size:x}) "
                                 f"runs past the end of the file (0x{len(self.data):x} bytes)")
        if self.entry_rva >= image_end:
            raise ImageError(f"entry point RVA 0x{self.entry_rva:x} lies outside the image "
                             f"(SizeOfImage 0x{self.size_of_image:x})")

    @property
    def kernel_driver(self) -> bool:
        """Whether this is a kernel-mode driver: the native subsystem, or anything importing ntoskrnl.exe.

        One rule for `scan` and `run`, so a user-mode DLL is refused by both."""
        return self.subsystem == IMAGE_SUBSYSTEM_NATIVE or self.imports_module("ntoskrnl.exe")

    def require_kernel_driver(self) -> None:
        """Validate the image (see `validate`) and refuse anything that is not a kernel driver: also
        an image importing user-mode DLLs, which Windows' kernel loader cannot resolve (Wine's .sys
        files, for one, import kernel32.dll and ntdll.dll)."""
        self.validate()
        if not self.kernel_driver:
            raise ImageError("not a kernel driver (subsystem is not native and nothing is imported from "
                             "ntoskrnl.exe): check a .sys file")
        user = sorted({imp.dll for imp in self.imports if _user_mode_dll(imp.dll)}, key=str.lower)
        if user:
            raise ImageError(f"imports user-mode DLLs ({', '.join(user)}), which Windows' kernel loader cannot "
                             "resolve: this image does not load as a kernel driver")

    @cached_property
    def load_config(self) -> LoadConfig | None:
        """IMAGE_LOAD_CONFIG_DIRECTORY64, bounded by its own Size field; None if the image has none.
        Fields beyond what the image's version of the structure holds read as 0."""
        rva, _ = self.directory(DIR_LOAD_CONFIG)
        if not rva:
            return None
        size = self.u32(rva)
        if size is None:
            raise ImageError(f"load-config directory at RVA 0x{rva:x} lies outside the image")
        blob = self.read(rva, min(size, PAGE))
        values = {name: struct.unpack_from("<Q" if name != "GuardFlags" else "<I", blob, off)[0]
                  for name, off in _LOAD_CONFIG_FIELDS.items()
                  if off + (4 if name == "GuardFlags" else 8) <= len(blob)}
        return LoadConfig(size, values.get("SecurityCookie", 0), values.get("GuardCFCheckFunctionPointer", 0),
                          values.get("GuardCFDispatchFunctionPointer", 0), values.get("GuardFlags", 0))

    def imports_module(self, dll: str) -> bool:
        return any(imp.dll.lower() == dll.lower() for imp in self.imports)

    def iat_span(self) -> tuple[int, int] | None:
        """(rva, size) of the IAT: data directory 12, else the span of the FirstThunk arrays."""
        rva, size = self.directory(DIR_IAT)
        if rva:
            return rva, size
        slots = [imp.thunk_rva for imp in self.imports]
        if not slots:
            return None
        return min(slots), max(slots) + 8 - min(slots)

    # ---- base relocations -------------------------------------------------------------------------
    def relocations(self) -> list[tuple[int, int]]:
        """(type, rva) of every base relocation entry, bounded; ABSOLUTE padding entries skipped."""
        rva, size = self.directory(DIR_BASERELOC)
        out: list[tuple[int, int]] = []
        if not rva or not size:
            return out
        blob = self.read(rva, size)
        pos = 0
        while pos + 8 <= len(blob):
            page, block = struct.unpack_from("<II", blob, pos)
            if block < 8 or block & 1:
                if block == 0 and page == 0:
                    break
                raise ImageError(f"base relocation block at RVA 0x{rva + pos:x} has size {block}")
            count = (min(block, len(blob) - pos) - 8) // 2
            for (entry,) in struct.iter_unpack("<H", blob[pos + 8:pos + 8 + 2 * count]):
                kind = entry >> 12
                if kind:
                    out.append((kind, page + (entry & 0xFFF)))
            if len(out) > MAX_RELOC_ENTRIES:
                raise ImageError("absurd number of base relocations")
            pos += block
        return out

    # ---- exports -----------------------------------------------------------------------------------
    def exports(self) -> dict[str, int]:
        """Exported name -> RVA (bounded walk of the export directory)."""
        rva, _ = self.directory(DIR_EXPORT)
        if not rva:
            return {}
        hdr = self.read(rva, 40)
        if len(hdr) < 40:
            return {}
        n_funcs, n_names, funcs, names, ords = struct.unpack_from("<IIIII", hdr, 20)
        out: dict[str, int] = {}
        for i in range(min(n_names, MAX_THUNKS)):
            name_rva, ordinal = self.u32(names + 4 * i), self.read(ords + 2 * i, 2)
            if name_rva is None or len(ordinal) < 2:
                break
            idx = struct.unpack("<H", ordinal)[0]
            target = self.u32(funcs + 4 * idx) if idx < n_funcs else None
            name = self.cstring(name_rva)
            if name and target is not None:
                out[name] = target
        return out


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment
