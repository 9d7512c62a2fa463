"""Communication ports: the server ports a minifilter opens for its user-mode side, and the default
security descriptor it usually builds for them.

No user-mode application runs here, so no client ever connects: FltSendMessage finds no client
port and returns STATUS_PORT_DISCONNECTED, as fltmgr does once the client has gone. The
ConnectNotify, DisconnectNotify and MessageNotify routines are recorded with the port.
"""
from __future__ import annotations

from hooks import pool, security
from hooks import kstructs as ks
from hooks.api import ACCESS_MASK, LONG, NTSTATUS, PLARGE_INTEGER, POBJECT_ATTRIBUTES, PULONG, PVOID, ULONG, export
from hooks.flt.manager import (FLTMGR, STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_COLLISION,
                               STATUS_PORT_DISCONNECTED, STATUS_SUCCESS, Port, new_object)

OBJ_KERNEL_HANDLE = 0x200
ACL_REVISION = 2
SECURITY_DESCRIPTOR_REVISION = 1
TAG_SECURITY = 0x63655346                  # 'FSec'
# FltBuildDefaultSecurityDescriptor grants access to these two only (its documentation).
DEFAULT_SD_SIDS = ("SeLocalSystemSid", "SeAliasAdminsSid")


def _well_known_sid(k, name: str) -> int:
    """Address of a SID from the SeExports table."""
    table = k.mem.read_q(k.address_of("ntoskrnl.exe", "SeExports"))
    index = [n for n, _, _ in security.WELL_KNOWN_SIDS].index(name)
    return k.mem.read_q(table + 8 * (security.PRIVILEGES_BEFORE_SIDS + index))


@export("FltBuildDefaultSecurityDescriptor", module=FLTMGR)
def FltBuildDefaultSecurityDescriptor(k, SecurityDescriptor: PVOID, DesiredAccess: ACCESS_MASK) -> NTSTATUS:
    """An absolute SECURITY_DESCRIPTOR from paged pool whose DACL allows DesiredAccess to
    LocalSystem and Administrators; the ACL follows it in the same block."""
    sids = [_well_known_sid(k, name) for name in DEFAULT_SD_SIDS]
    acl_size = 8 + sum(8 + security.sid_length(k, sid) for sid in sids)
    sd = k.pool.allocate(security.ABSOLUTE_SIZE + acl_size, executable=False, paged=True, tag=TAG_SECURITY,
                         owner=k.caller)
    acl = sd + security.ABSOLUTE_SIZE
    security.RtlCreateSecurityDescriptor(k, sd, SECURITY_DESCRIPTOR_REVISION)
    security.RtlCreateAcl(k, acl, acl_size, ACL_REVISION)
    for sid in sids:
        security.RtlAddAccessAllowedAce(k, acl, ACL_REVISION, DesiredAccess, sid)
    security.RtlSetDaclSecurityDescriptor(k, sd, 1, acl, 0)
    k.mem.write_q(SecurityDescriptor, sd)
    return STATUS_SUCCESS


@export("FltFreeSecurityDescriptor", module=FLTMGR)
def FltFreeSecurityDescriptor(k, SecurityDescriptor: PVOID) -> None:
    pool.free(k, SecurityDescriptor, TAG_SECURITY)


@export("FltCreateCommunicationPort", module=FLTMGR)
def FltCreateCommunicationPort(k, Filter: PVOID, ServerPort: PVOID, ObjectAttributes: POBJECT_ATTRIBUTES,
                               ServerPortCookie: PVOID, ConnectNotifyCallback: PVOID,
                               DisconnectNotifyCallback: PVOID, MessageNotifyCallback: PVOID,
                               MaxConnections: LONG) -> NTSTATUS:
    fm = k.filter_manager
    flt = fm.filters.get(Filter)
    oa = k.read_struct(ks.OBJECT_ATTRIBUTES, ObjectAttributes)
    if flt is None or not oa.Attributes & OBJ_KERNEL_HANDLE or not oa.ObjectName:
        return STATUS_INVALID_PARAMETER
    name = k.read_unicode_string(oa.ObjectName)
    if any(p.name.lower() == name.lower() for p in fm.ports.values()):
        return STATUS_OBJECT_NAME_COLLISION
    port = Port(new_object(k, 0x70634D46), flt, name, ServerPortCookie, ConnectNotifyCallback,      # 'FMcp'
                DisconnectNotifyCallback, MessageNotifyCallback, MaxConnections)
    fm.ports[port.address] = port
    k.mem.write_q(ServerPort, port.address)
    return STATUS_SUCCESS


@export("FltCloseCommunicationPort", module=FLTMGR)
def FltCloseCommunicationPort(k, ServerPort: PVOID) -> None:
    k.filter_manager.ports.pop(ServerPort, None)


@export("FltCloseClientPort", module=FLTMGR)
def FltCloseClientPort(k, Filter: PVOID, ClientPort: PVOID) -> None:
    """Closes the client port the variable names (none can be connected here) and sets it to NULL."""
    k.mem.write_q(ClientPort, 0)


@export("FltSendMessage", module=FLTMGR)
def FltSendMessage(k, Filter: PVOID, ClientPort: PVOID, SenderBuffer: PVOID, SenderBufferLength: ULONG,
                   ReplyBuffer: PVOID, ReplyLength: PULONG, Timeout: PLARGE_INTEGER) -> NTSTATUS:
    return STATUS_PORT_DISCONNECTED
