"""Event Tracing for Windows, provider side (Etw*): registrations and writes, recorded.

No trace session listens here, so EtwEventEnabled/EtwProviderEnabled say FALSE and writes go
nowhere; what is kept is which providers a driver registered (GUID, enable callback, context:
a later stage may call the callback to enable it) and how many events each wrote. Payloads are
not decoded. Manifest-based, TraceLogging and WPP drivers all come through these routines.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from hooks.api import BOOLEAN, CType, NTSTATUS, PCWSTR, PVOID, UCHAR, ULONG, ULONG64, export

REGHANDLE = CType("REGHANDLE", 64, "ptr")
LPCGUID = CType("LPCGUID", 64, "ptr")
PCEVENT_DESCRIPTOR = CType("PCEVENT_DESCRIPTOR", 64, "ptr")

STATUS_SUCCESS = 0
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_INVALID_PARAMETER = 0xC000000D
REGHANDLE_BASE = 0x00000E7000000000        # REGHANDLEs are opaque; these are recognisable in a dump
EVENT_ACTIVITY_CTRL_GET_ID, EVENT_ACTIVITY_CTRL_SET_ID, EVENT_ACTIVITY_CTRL_CREATE_ID = 1, 2, 3
EVENT_ACTIVITY_CTRL_GET_SET_ID, EVENT_ACTIVITY_CTRL_CREATE_SET_ID = 4, 5
ACTIVITY_CONTROLS = (EVENT_ACTIVITY_CTRL_GET_ID, EVENT_ACTIVITY_CTRL_SET_ID, EVENT_ACTIVITY_CTRL_CREATE_ID,
                     EVENT_ACTIVITY_CTRL_GET_SET_ID, EVENT_ACTIVITY_CTRL_CREATE_SET_ID)


@dataclass
class Provider:
    guid: str
    enable_callback: int
    context: int
    api: str                    # EtwRegister or EtwRegisterClassicProvider
    caller: int
    writes: int = 0
    registered: bool = True


class Etw:
    def __init__(self) -> None:
        self.providers: dict[int, Provider] = {}      # REGHANDLE -> provider, kept after EtwUnregister
        self.activity = bytes(16)                     # the (one) thread's activity ID
        self.activities_created = 0


def guid_text(k, address: int) -> str:
    d1, d2, d3, d4 = struct.unpack("<IHH8s", k.mem.read(address, 16))
    return f"{{{d1:08x}-{d2:04x}-{d3:04x}-{d4[:2].hex()}-{d4[2:].hex()}}}"


def _register(k, provider_id: int, callback: int, context: int, reg_handle: int) -> int:
    if not provider_id or not reg_handle:
        return STATUS_INVALID_PARAMETER
    handle = REGHANDLE_BASE + len(k.etw.providers) + 1
    k.etw.providers[handle] = Provider(guid_text(k, provider_id), callback, context, k.current_export.name, k.caller)
    k.mem.write_q(reg_handle, handle)
    return STATUS_SUCCESS


@export("EtwRegister")
def EtwRegister(k, ProviderId: LPCGUID, EnableCallback: PVOID, CallbackContext: PVOID, RegHandle: PVOID) -> NTSTATUS:
    return _register(k, ProviderId, EnableCallback, CallbackContext, RegHandle)


@export("EtwRegisterClassicProvider")
def EtwRegisterClassicProvider(k, ProviderId: LPCGUID, Type: ULONG, EnableCallback: PVOID, CallbackContext: PVOID,
                               RegHandle: PVOID) -> NTSTATUS:
    return _register(k, ProviderId, EnableCallback, CallbackContext, RegHandle)


def _live(k, handle: int) -> Provider | None:
    provider = k.etw.providers.get(handle)
    return provider if provider is not None and provider.registered else None


@export("EtwUnregister")
def EtwUnregister(k, RegHandle: REGHANDLE) -> NTSTATUS:
    provider = _live(k, RegHandle)
    if provider is None:
        return STATUS_INVALID_HANDLE
    provider.registered = False
    return STATUS_SUCCESS


@export("EtwEventEnabled")
def EtwEventEnabled(k, RegHandle: REGHANDLE, EventDescriptor: PCEVENT_DESCRIPTOR) -> BOOLEAN:
    return 0


@export("EtwProviderEnabled")
def EtwProviderEnabled(k, RegHandle: REGHANDLE, Level: UCHAR, Keyword: ULONG64) -> BOOLEAN:
    return 0


def _write(k, handle: int) -> int:
    provider = _live(k, handle)
    if provider is None:
        return STATUS_INVALID_HANDLE
    provider.writes += 1
    return STATUS_SUCCESS


@export("EtwWrite")
def EtwWrite(k, RegHandle: REGHANDLE, EventDescriptor: PCEVENT_DESCRIPTOR, ActivityId: LPCGUID, UserDataCount: ULONG,
             UserData: PVOID) -> NTSTATUS:
    return _write(k, RegHandle)


@export("EtwWriteEx")
def EtwWriteEx(k, RegHandle: REGHANDLE, EventDescriptor: PCEVENT_DESCRIPTOR, Filter: ULONG64, Flags: ULONG,
               ActivityId: LPCGUID, RelatedActivityId: LPCGUID, UserDataCount: ULONG, UserData: PVOID) -> NTSTATUS:
    return _write(k, RegHandle)


@export("EtwWriteTransfer")
def EtwWriteTransfer(k, RegHandle: REGHANDLE, EventDescriptor: PCEVENT_DESCRIPTOR, ActivityId: LPCGUID,
                     RelatedActivityId: LPCGUID, UserDataCount: ULONG, UserData: PVOID) -> NTSTATUS:
    return _write(k, RegHandle)


@export("EtwWriteString")
def EtwWriteString(k, RegHandle: REGHANDLE, Level: UCHAR, Keyword: ULONG64, ActivityId: LPCGUID,
                   String: PCWSTR) -> NTSTATUS:
    return _write(k, RegHandle)


@export("EtwSetInformation")
def EtwSetInformation(k, RegHandle: REGHANDLE, InformationClass: ULONG, EventInformation: PVOID,
                      InformationLength: ULONG) -> NTSTATUS:
    """TraceLogging sets its provider traits here; accepted for a registered provider."""
    return STATUS_SUCCESS if _live(k, RegHandle) else STATUS_INVALID_HANDLE


@export("EtwActivityIdControl")
def EtwActivityIdControl(k, ControlCode: ULONG, ActivityId: LPCGUID) -> NTSTATUS:
    """The thread's activity ID (evntprov.h EVENT_ACTIVITY_CTRL_*): get, set, create (fresh,
    deterministic), create-and-set, get-and-set."""
    if not ActivityId or ControlCode not in ACTIVITY_CONTROLS:
        return STATUS_INVALID_PARAMETER
    given = k.mem.read(ActivityId, 16)
    if ControlCode in (EVENT_ACTIVITY_CTRL_CREATE_ID, EVENT_ACTIVITY_CTRL_CREATE_SET_ID):
        k.etw.activities_created += 1
        fresh = struct.pack("<IHH8s", 0xE7A00000 + k.etw.activities_created, 0x4000, 0x8000, b"hvciactv")
        k.mem.write(ActivityId, fresh)
        if ControlCode == EVENT_ACTIVITY_CTRL_CREATE_SET_ID:
            k.etw.activity, fresh = fresh, k.etw.activity
            k.mem.write(ActivityId, fresh)
    elif ControlCode == EVENT_ACTIVITY_CTRL_GET_ID:
        k.mem.write(ActivityId, k.etw.activity)
    elif ControlCode == EVENT_ACTIVITY_CTRL_SET_ID:
        k.etw.activity = given
    else:                                          # GET_SET: return the old one, keep the given one
        k.mem.write(ActivityId, k.etw.activity)
        k.etw.activity = given
    return STATUS_SUCCESS
