"""FWPKCLNT.SYS, the Windows Filtering Platform's kernel client: what WFP callout drivers register.

A callout driver (WinDivert) opens a session to the filter engine (FwpmEngineOpen0), adds its
provider, sublayers, callouts and filters inside a transaction, registers its callout functions
(FwpsCalloutRegister0) and creates packet-injection handles. `FilterEngine` keeps those objects by
key, as the base filtering engine does: adding a key twice is STATUS_FWP_ALREADY_EXISTS, deleting an
unknown one STATUS_FWP_PROVIDER_NOT_FOUND / _SUBLAYER_NOT_FOUND / ... (fwpmk.h, fwpsk.h; Microsoft's
"FwpmProviderAdd0 function (fwpmk.h)" and related pages give the codes). A transaction commits or
aborts as a whole: what was added inside an aborted one is removed. No packet is ever classified:
nothing calls the registered classify functions (the emulated machine has no network stack).

The module has no export list of its own (rootfs/exports lacks fwpkclnt.sys): the routines a driver
imports get these handlers by name, the others stand-ins.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hooks.api import HANDLE, NTSTATUS, PVOID, ULONG, export

FWPKCLNT = "fwpkclnt.sys"
UINT32 = ULONG
STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_FWP_CALLOUT_NOT_FOUND = 0xC0220001          # ntstatus.h
STATUS_FWP_FILTER_NOT_FOUND = 0xC0220003
STATUS_FWP_PROVIDER_NOT_FOUND = 0xC0220005
STATUS_FWP_SUBLAYER_NOT_FOUND = 0xC0220007
STATUS_FWP_ALREADY_EXISTS = 0xC0220009
STATUS_FWP_NO_TXN_IN_PROGRESS = 0xC022000D
STATUS_FWP_TXN_IN_PROGRESS = 0xC022000E
HANDLE_TAG = 0x48706657                             # 'WfpH': the pool block behind a handle
KINDS = {"provider": STATUS_FWP_PROVIDER_NOT_FOUND, "sublayer": STATUS_FWP_SUBLAYER_NOT_FOUND,
         "callout": STATUS_FWP_CALLOUT_NOT_FOUND, "filter": STATUS_FWP_FILTER_NOT_FOUND}


@dataclass
class Session:
    """One FwpmEngineOpen0 handle, and the objects added in its open transaction."""

    in_transaction: bool = False
    added: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class FilterEngine:
    """The engine's objects by kind and key (GUID bytes), sessions and injection handles."""

    objects: dict[str, dict[bytes, int]] = field(default_factory=lambda: {kind: {} for kind in KINDS})
    sessions: dict[int, Session] = field(default_factory=dict)
    injection_handles: set[int] = field(default_factory=set)
    registered_callouts: dict[bytes, int] = field(default_factory=dict)    # FwpsCalloutRegister0: key -> id
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _new_handle(k) -> int:
    address = k.pool.allocate(0x10, executable=False, paged=False, tag=HANDLE_TAG, owner=0)
    k.mem.write(address, bytes(0x10))
    return address


def _key(k, address: int) -> bytes:
    return k.mem.read(address, 16)


def _add(k, engine: int, kind: str, key: bytes, value: int) -> int:
    session = k.wfp.sessions.get(engine)
    if session is None:
        return STATUS_INVALID_HANDLE
    table = k.wfp.objects[kind]
    if key in table:
        return STATUS_FWP_ALREADY_EXISTS
    table[key] = value
    if session.in_transaction:
        session.added.append((kind, key))
    return STATUS_SUCCESS


def _delete(k, engine: int, kind: str, key: int) -> int:
    if engine not in k.wfp.sessions:
        return STATUS_INVALID_HANDLE
    if not key or k.wfp.objects[kind].pop(_key(k, key), None) is None:
        return KINDS[kind]
    return STATUS_SUCCESS


@export("FwpmEngineOpen0", module=FWPKCLNT)
def FwpmEngineOpen0(k, serverName: PVOID, authnService: UINT32, authIdentity: PVOID, session: PVOID,
                    engineHandle: PVOID) -> NTSTATUS:
    if serverName or not engineHandle:                   # kernel callers open the local engine only
        return STATUS_INVALID_PARAMETER
    handle = _new_handle(k)
    k.wfp.sessions[handle] = Session()
    k.mem.write_q(engineHandle, handle)
    return STATUS_SUCCESS


@export("FwpmEngineClose0", module=FWPKCLNT)
def FwpmEngineClose0(k, engineHandle: HANDLE) -> NTSTATUS:
    session = k.wfp.sessions.pop(engineHandle, None)
    if session is None:
        return STATUS_INVALID_HANDLE
    _roll_back(k, session)                               # closing inside a transaction aborts it
    k.pool.free(engineHandle)
    return STATUS_SUCCESS


def _session(k, handle: int, in_transaction: bool) -> tuple[Session | None, int]:
    """The session and STATUS_SUCCESS, or None and why not: an unknown handle, a transaction already
    open (when none should be) or none open (when one should be)."""
    session = k.wfp.sessions.get(handle)
    if session is None:
        return None, STATUS_INVALID_HANDLE
    if session.in_transaction != in_transaction:
        return None, STATUS_FWP_NO_TXN_IN_PROGRESS if in_transaction else STATUS_FWP_TXN_IN_PROGRESS
    return session, STATUS_SUCCESS


@export("FwpmTransactionBegin0", module=FWPKCLNT)
def FwpmTransactionBegin0(k, engineHandle: HANDLE, flags: UINT32) -> NTSTATUS:
    session, status = _session(k, engineHandle, in_transaction=False)
    if session is not None:
        session.in_transaction, session.added = True, []
    return status


@export("FwpmTransactionCommit0", module=FWPKCLNT)
def FwpmTransactionCommit0(k, engineHandle: HANDLE) -> NTSTATUS:
    session, status = _session(k, engineHandle, in_transaction=True)
    if session is not None:
        session.in_transaction, session.added = False, []
    return status


@export("FwpmTransactionAbort0", module=FWPKCLNT)
def FwpmTransactionAbort0(k, engineHandle: HANDLE) -> NTSTATUS:
    session, status = _session(k, engineHandle, in_transaction=True)
    if session is not None:
        _roll_back(k, session)
    return status


def _roll_back(k, session: Session) -> None:
    for kind, key in reversed(session.added):
        k.wfp.objects[kind].pop(key, None)
    session.in_transaction, session.added = False, []


# Provider and sublayer structures start with their key; deleting takes the key of any kind
ADD_KINDS = {"FwpmProviderAdd0": "provider", "FwpmSubLayerAdd0": "sublayer"}
DELETE_KINDS = {"FwpmProviderDeleteByKey0": "provider", "FwpmSubLayerDeleteByKey0": "sublayer",
                "FwpmCalloutDeleteByKey0": "callout", "FwpmFilterDeleteByKey0": "filter"}


@export(*ADD_KINDS, module=FWPKCLNT)
def FwpmProviderAdd0(k, engineHandle: HANDLE, item: PVOID, sd: PVOID) -> NTSTATUS:
    """FwpmProviderAdd0 / FwpmSubLayerAdd0: FWPM_PROVIDER0 and FWPM_SUBLAYER0 start with their key."""
    if not item:
        return STATUS_INVALID_PARAMETER
    return _add(k, engineHandle, ADD_KINDS[k.current_export.name], _key(k, item), 0)


@export(*DELETE_KINDS, module=FWPKCLNT)
def FwpmProviderDeleteByKey0(k, engineHandle: HANDLE, key: PVOID) -> NTSTATUS:
    """Fwpm{Provider,SubLayer,Callout,Filter}DeleteByKey0."""
    return _delete(k, engineHandle, DELETE_KINDS[k.current_export.name], key)


@export("FwpmCalloutAdd0", module=FWPKCLNT)
def FwpmCalloutAdd0(k, engineHandle: HANDLE, callout: PVOID, sd: PVOID, id: PVOID) -> NTSTATUS:
    """FWPM_CALLOUT0 starts with its calloutKey; the run-time id is the registered callout's, if any."""
    if not callout:
        return STATUS_INVALID_PARAMETER
    key = _key(k, callout)
    callout_id = k.wfp.registered_callouts.get(key) or k.wfp.new_id()
    status = _add(k, engineHandle, "callout", key, callout_id)
    if status == STATUS_SUCCESS and id:
        k.mem.write_u32(id, callout_id)
    return status


@export("FwpmFilterAdd0", module=FWPKCLNT)
def FwpmFilterAdd0(k, engineHandle: HANDLE, filter: PVOID, sd: PVOID, id: PVOID) -> NTSTATUS:
    """An all-zero filterKey asks the engine to make one up; the filter's run-time id goes to *id."""
    if not filter:
        return STATUS_INVALID_PARAMETER
    filter_id = k.wfp.new_id()
    key = _key(k, filter)                               # FWPM_FILTER0.filterKey
    if key == bytes(16):
        key = filter_id.to_bytes(16, "little")
    status = _add(k, engineHandle, "filter", key, filter_id)
    if status == STATUS_SUCCESS and id:
        k.mem.write_q(id, filter_id)
    return status


@export("FwpsCalloutRegister0", module=FWPKCLNT)
def FwpsCalloutRegister0(k, deviceObject: PVOID, callout: PVOID, calloutId: PVOID) -> NTSTATUS:
    """Register the callout's classify/notify functions under its calloutKey (FWPS_CALLOUT0's first member)."""
    if not callout:
        return STATUS_INVALID_PARAMETER
    key = _key(k, callout)
    if key in k.wfp.registered_callouts:
        return STATUS_FWP_ALREADY_EXISTS
    k.wfp.registered_callouts[key] = callout_id = k.wfp.objects["callout"].get(key) or k.wfp.new_id()
    if calloutId:
        k.mem.write_u32(calloutId, callout_id)
    return STATUS_SUCCESS


@export("FwpsCalloutUnregisterByKey0", module=FWPKCLNT)
def FwpsCalloutUnregisterByKey0(k, calloutKey: PVOID) -> NTSTATUS:
    if not calloutKey or k.wfp.registered_callouts.pop(_key(k, calloutKey), None) is None:
        return STATUS_FWP_CALLOUT_NOT_FOUND
    return STATUS_SUCCESS


@export("FwpsInjectionHandleCreate0", module=FWPKCLNT)
def FwpsInjectionHandleCreate0(k, addressFamily: ULONG, flags: UINT32, injectionHandle: PVOID) -> NTSTATUS:
    if not injectionHandle:
        return STATUS_INVALID_PARAMETER
    handle = _new_handle(k)
    k.wfp.injection_handles.add(handle)
    k.mem.write_q(injectionHandle, handle)
    return STATUS_SUCCESS


@export("FwpsInjectionHandleDestroy0", module=FWPKCLNT)
def FwpsInjectionHandleDestroy0(k, injectionHandle: HANDLE) -> NTSTATUS:
    if injectionHandle not in k.wfp.injection_handles:
        return STATUS_INVALID_HANDLE
    k.wfp.injection_handles.discard(injectionHandle)
    k.pool.free(injectionHandle)
    return STATUS_SUCCESS
