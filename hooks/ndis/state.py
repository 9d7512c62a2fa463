"""NDIS's state: the miniport and protocol drivers registered, and the pools handed out.

Every handle NDIS gives a driver (NDIS_HANDLE of a miniport driver, a pool) is a real address in
non-paged NX pool, so a driver may store and compare it as on Windows; what it stands for lives here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NDIS = "ndis.sys"
NDIS_STATUS_SUCCESS = 0
NDIS_STATUS_BAD_VERSION = 0xC0010004
NDIS_STATUS_BAD_CHARACTERISTICS = 0xC0010005
HANDLE_SIZE = 0x100                     # opaque objects: big enough for any driver peeking


@dataclass
class MiniportDriver:
    """A NdisMRegisterMiniportDriver registration: versions and the handlers NDIS will call."""

    handle: int
    driver_object: int
    context: int
    ndis_version: tuple[int, int]
    driver_version: tuple[int, int]
    flags: int
    handlers: dict[str, int]            # NDIS_MINIPORT_DRIVER_CHARACTERISTICS member -> routine, non-NULL


@dataclass
class ProtocolDriver:
    handle: int
    context: int
    ndis_version: tuple[int, int]
    name: str


@dataclass
class Pool:
    """A NET_BUFFER_LIST or NET_BUFFER pool."""

    handle: int
    kind: str                           # "NET_BUFFER_LIST" | "NET_BUFFER"
    tag: int
    data_size: int
    context_size: int = 0


@dataclass
class Ndis:
    miniports: dict[int, MiniportDriver] = field(default_factory=dict)
    protocols: dict[int, ProtocolDriver] = field(default_factory=dict)
    pools: dict[int, Pool] = field(default_factory=dict)
    generic_objects: set[int] = field(default_factory=set)


def new_handle(k, tag: int) -> int:
    va = k.pool.allocate(HANDLE_SIZE, executable=False, paged=False, tag=tag, owner=0)
    k.mem.write(va, bytes(HANDLE_SIZE))
    return va
