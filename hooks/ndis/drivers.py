"""NDIS's version and the registration of miniport and protocol drivers.

NdisMRegisterMiniportDriver checks the NDIS_MINIPORT_DRIVER_CHARACTERISTICS as Microsoft's reference
(ndis.h, ns-ndis-_ndis_miniport_driver_characteristics) describes it: Header.Type is
NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS and Header.Size at least the size of its Revision (1:
through CancelOidRequestHandler, 2 (NDIS 6.1+): through CancelDirectOidRequestHandler, 3 (NDIS 6.80):
through SynchronousOidRequestHandler), else NDIS_STATUS_BAD_CHARACTERISTICS; MajorNdisVersion 6 with a
minor version this NDIS implements, else NDIS_STATUS_BAD_VERSION. The handlers are recorded for whatever
later drives the miniport; the miniport's UnloadHandler (a DRIVER_UNLOAD) becomes the driver's unload
routine, which NDIS calls when the driver unloads.
"""
from __future__ import annotations

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PDRIVER_OBJECT, PUNICODE_STRING, PVOID, ULONG, export
from hooks.ndis.state import (NDIS, NDIS_STATUS_BAD_CHARACTERISTICS, NDIS_STATUS_BAD_VERSION, NDIS_STATUS_SUCCESS,
                              MiniportDriver, ProtocolDriver, new_handle)

NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS = 0x8A
NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS = 0x95
_CHARACTERISTICS = ks.NDIS_MINIPORT_DRIVER_CHARACTERISTICS
_END = {1: "CancelOidRequestHandler", 2: "CancelDirectOidRequestHandler", 3: "SynchronousOidRequestHandler"}
MINIPORT_CHARACTERISTICS_SIZE = {rev: ks.offset_of(_CHARACTERISTICS, name) + 8 for rev, name in _END.items()}
_HANDLERS = [name for name, _ in _CHARACTERISTICS._fields_[6:]]
# NDIS_PROTOCOL_DRIVER_CHARACTERISTICS: Header, four version bytes, Flags, then the NDIS_STRING Name.
_PROTOCOL_NAME = 0x10


def ndis_version(k) -> tuple[int, int]:
    """(major, minor) of the NDIS the profile's Windows ships, rootfs/profiles/*.json "ndis": Microsoft's
    "Overview of NDIS versions" (network/overview-of-ndis-versions) gives 6.87 for Windows 11 22H2, which
    23H2 shares (an enablement package on the same build base), and 6.84 for Windows 10 2004, which 22H2
    shares the same way."""
    major, minor = k.profile["ndis"]
    return major, minor


@export("NdisGetVersion", module=NDIS)
def NdisGetVersion(k) -> ULONG:
    """Major version in the high 16 bits, minor in the low 16 (ndis.h, nf-ndis-ndisgetversion)."""
    major, minor = ndis_version(k)
    return major << 16 | minor


def _check_versions(k, major: int, minor: int) -> bool:
    return major == 6 and minor <= ndis_version(k)[1]


@export("NdisMRegisterMiniportDriver", module=NDIS)
def NdisMRegisterMiniportDriver(k, DriverObject: PDRIVER_OBJECT, RegistryPath: PUNICODE_STRING,
                                MiniportDriverContext: PVOID, MiniportDriverCharacteristics: PVOID,
                                NdisMiniportDriverHandle: PVOID) -> NTSTATUS:
    chars = k.read_struct(_CHARACTERISTICS, MiniportDriverCharacteristics)
    header = chars.Header
    needed = MINIPORT_CHARACTERISTICS_SIZE.get(header.Revision)
    if header.Type != NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS or needed is None or header.Size < needed:
        return NDIS_STATUS_BAD_CHARACTERISTICS
    if not _check_versions(k, chars.MajorNdisVersion, chars.MinorNdisVersion):
        return NDIS_STATUS_BAD_VERSION
    handlers = {name: getattr(chars, name) for name in _HANDLERS
                if ks.offset_of(_CHARACTERISTICS, name) < needed and getattr(chars, name)}
    handle = new_handle(k, 0x444D444E)                                                   # 'NDMD'
    k.ndis.miniports[handle] = MiniportDriver(handle, DriverObject, MiniportDriverContext,
                                              (chars.MajorNdisVersion, chars.MinorNdisVersion),
                                              (chars.MajorDriverVersion, chars.MinorDriverVersion), chars.Flags,
                                              handlers)
    if "UnloadHandler" in handlers:
        k.mem.write_q(DriverObject + ks.offset_of(ks.DRIVER_OBJECT, "DriverUnload"), handlers["UnloadHandler"])
    k.mem.write_q(NdisMiniportDriverHandle, handle)
    return NDIS_STATUS_SUCCESS


@export("NdisMDeregisterMiniportDriver", module=NDIS)
def NdisMDeregisterMiniportDriver(k, NdisMiniportDriverHandle: PVOID) -> None:
    k.ndis.miniports.pop(NdisMiniportDriverHandle, None)


@export("NdisRegisterProtocolDriver", module=NDIS)
def NdisRegisterProtocolDriver(k, ProtocolDriverContext: PVOID, ProtocolCharacteristics: PVOID,
                               NdisProtocolHandle: PVOID) -> NTSTATUS:
    """Checks the header type and NDIS version and records the protocol's name; its handlers are not read."""
    header = k.read_struct(ks.NDIS_OBJECT_HEADER, ProtocolCharacteristics)
    if header.Type != NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS:
        return NDIS_STATUS_BAD_CHARACTERISTICS
    major, minor = k.mem.read(ProtocolCharacteristics + 4, 2)
    if not _check_versions(k, major, minor):
        return NDIS_STATUS_BAD_VERSION
    handle = new_handle(k, 0x5250444E)                                                   # 'NDPR'
    name = k.read_unicode_string(ProtocolCharacteristics + _PROTOCOL_NAME)
    k.ndis.protocols[handle] = ProtocolDriver(handle, ProtocolDriverContext, (major, minor), name)
    k.mem.write_q(NdisProtocolHandle, handle)
    return NDIS_STATUS_SUCCESS


@export("NdisDeregisterProtocolDriver", module=NDIS)
def NdisDeregisterProtocolDriver(k, NdisProtocolHandle: PVOID) -> None:
    k.ndis.protocols.pop(NdisProtocolHandle, None)
