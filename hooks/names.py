"""Kernel constants and their names, for decoding a call the way a driver developer wrote it."""
from __future__ import annotations

from hooks.api import CType

# POOL_TYPE
NonPagedPool, PagedPool, NonPagedPoolCacheAligned = 0, 1, 4
NonPagedPoolNx, NonPagedPoolNxCacheAligned, NonPagedPoolSessionNx = 0x200, 0x204, 0x220
POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, POOL_RAISE_IF_ALLOCATION_FAILURE = 8, 16
POOL_COLD_ALLOCATION, POOL_NX_ALLOCATION = 256, 512
POOL_TYPE_NAMES = {0: "NonPagedPool", 1: "PagedPool", 2: "NonPagedPoolMustSucceed", 3: "DontUseThisType",
                   4: "NonPagedPoolCacheAligned", 5: "PagedPoolCacheAligned", 6: "NonPagedPoolCacheAlignedMustS",
                   7: "MaxPoolType", 32: "NonPagedPoolSession", 33: "PagedPoolSession",
                   34: "NonPagedPoolMustSucceedSession", 35: "DontUseThisTypeSession",
                   36: "NonPagedPoolCacheAlignedSession", 37: "PagedPoolCacheAlignedSession",
                   38: "NonPagedPoolCacheAlignedMustSSession",
                   0x200: "NonPagedPoolNx", 0x204: "NonPagedPoolNxCacheAligned", 0x220: "NonPagedPoolSessionNx"}
POOL_TYPE_MODIFIERS = {8: "POOL_QUOTA_FAIL_INSTEAD_OF_RAISE", 16: "POOL_RAISE_IF_ALLOCATION_FAILURE",
                       256: "POOL_COLD_ALLOCATION"}

# POOL_FLAGS (ExAllocatePool2/3)
POOL_FLAG_USE_QUOTA, POOL_FLAG_UNINITIALIZED, POOL_FLAG_SESSION = 0x1, 0x2, 0x4
POOL_FLAG_CACHE_ALIGNED, POOL_FLAG_RAISE_ON_FAILURE = 0x8, 0x20
POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_PAGED = 0x40, 0x80, 0x100
POOL_FLAG_NAMES = {0x1: "POOL_FLAG_USE_QUOTA", 0x2: "POOL_FLAG_UNINITIALIZED", 0x4: "POOL_FLAG_SESSION",
                   0x8: "POOL_FLAG_CACHE_ALIGNED", 0x20: "POOL_FLAG_RAISE_ON_FAILURE",
                   0x40: "POOL_FLAG_NON_PAGED", 0x80: "POOL_FLAG_NON_PAGED_EXECUTE", 0x100: "POOL_FLAG_PAGED",
                   0x1_0000_0000: "POOL_FLAG_SPECIAL_POOL"}

# Page protections
PAGE_EXECUTE_MASK = 0xF0
PAGE_NAMES = {0x01: "PAGE_NOACCESS", 0x02: "PAGE_READONLY", 0x04: "PAGE_READWRITE", 0x08: "PAGE_WRITECOPY",
              0x10: "PAGE_EXECUTE", 0x20: "PAGE_EXECUTE_READ", 0x40: "PAGE_EXECUTE_READWRITE",
              0x80: "PAGE_EXECUTE_WRITECOPY", 0x100: "PAGE_GUARD", 0x200: "PAGE_NOCACHE",
              0x400: "PAGE_WRITECOMBINE"}

# MDL mapping priority
MdlMappingNoExecute, MdlMappingNoWrite, MdlMappingWithGuardPtes = 0x40000000, 0x80000000, 0x20000000
PRIORITY_NAMES = {0: "LowPagePriority", 16: "NormalPagePriority", 32: "HighPagePriority"}
PRIORITY_FLAGS = {0x20000000: "MdlMappingWithGuardPtes", 0x40000000: "MdlMappingNoExecute",
                  0x80000000: "MdlMappingNoWrite"}
MODE_NAMES = {0: "KernelMode", 1: "UserMode"}
CACHE_NAMES = {0: "MmNonCached", 1: "MmCached", 2: "MmWriteCombined"}

_PROTECTION_PARAMS = {"NewProtect", "Protect", "Win32Protect", "SectionPageProtection", "Protection"}


def _flags(value: int, names: dict[int, str], base: str | None = None) -> str:
    parts = [base] if base else []
    rest = value
    for bit, name in names.items():
        if value & bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(f"0x{rest:x}")
    return "|".join(parts) or "0"


def pool_type_name(value: int) -> str:
    base = value & ~0x118 & 0xFFFFFFFF
    return _flags(value & 0x118, POOL_TYPE_MODIFIERS, POOL_TYPE_NAMES.get(base, f"0x{base:x}"))


def protection_name(value: int) -> str:
    return _flags(value, PAGE_NAMES)


def priority_name(value: int) -> str:
    base = value & 0x0FFFFFFF
    return _flags(value & 0xF0000000, PRIORITY_FLAGS, PRIORITY_NAMES.get(base, str(base)))


def show_arg(api: str, pname: str, ctype: CType, value: int) -> str:
    if ctype.name == "POOL_TYPE":
        return pool_type_name(value)
    if ctype.name == "POOL_FLAGS":
        return _flags(value, POOL_FLAG_NAMES)
    if ctype.name == "KPROCESSOR_MODE":
        return MODE_NAMES.get(value, str(value))
    if pname in _PROTECTION_PARAMS:
        return protection_name(value)
    if pname == "Priority" and api.startswith("MmMapLockedPages"):
        return priority_name(value)
    if pname == "CacheType":
        return CACHE_NAMES.get(value, str(value))
    return ctype.show(value)
