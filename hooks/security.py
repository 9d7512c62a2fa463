"""Security: SIDs, ACLs and security descriptors (Rtl*/Se*), and the SeExports table.

Drivers that create a device with a security descriptor (IoCreateDeviceSecure from wdmsec.lib is
static code in the driver) build an ACL from SeExports' well-known SIDs and hand it to the object
manager. The layouts are the documented x64 ones; access checks themselves are not modelled.
"""
import struct

from hooks.api import (ACCESS_MASK, BOOLEAN, HANDLE, KPROCESSOR_MODE, NTSTATUS, PHANDLE, POOL_TYPE, PULONG, PVOID,
                       UCHAR, ULONG, export)

STATUS_SUCCESS = 0
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_INVALID_SID = 0xC0000078
STATUS_INVALID_ACL = 0xC0000077
STATUS_ALLOTTED_SPACE_EXCEEDED = 0xC0000099
STATUS_INVALID_PARAMETER = 0xC000000D
SID_REVISION, SID_MAX_SUB_AUTHORITIES = 1, 15
SE_OWNER_DEFAULTED, SE_GROUP_DEFAULTED, SE_DACL_PRESENT, SE_DACL_DEFAULTED = 0x1, 0x2, 0x4, 0x8
SE_SACL_PRESENT, SE_SACL_DEFAULTED, SE_SELF_RELATIVE = 0x10, 0x20, 0x8000
ABSOLUTE_SIZE, RELATIVE_SIZE = 40, 20

# SE_EXPORTS: 23 privilege LUIDs, then these SID pointers in this order (ntifs.h).
WELL_KNOWN_SIDS = (
    ("SeNullSid", 0, ()), ("SeWorldSid", 1, (0,)), ("SeLocalSid", 2, (0,)), ("SeCreatorOwnerSid", 3, (0,)),
    ("SeCreatorGroupSid", 3, (1,)), ("SeNtAuthoritySid", 5, ()), ("SeDialupSid", 5, (1,)),
    ("SeNetworkSid", 5, (2,)), ("SeBatchSid", 5, (3,)), ("SeInteractiveSid", 5, (4,)),
    ("SeLocalSystemSid", 5, (18,)), ("SeAliasAdminsSid", 5, (32, 544)), ("SeAliasUsersSid", 5, (32, 545)),
    ("SeAliasGuestsSid", 5, (32, 546)), ("SeAliasPowerUsersSid", 5, (32, 547)),
    ("SeAliasAccountOpsSid", 5, (32, 548)), ("SeAliasSystemOpsSid", 5, (32, 549)),
    ("SeAliasPrintOpsSid", 5, (32, 550)), ("SeAliasBackupOpsSid", 5, (32, 551)),
    ("SeAuthenticatedUsersSid", 5, (11,)), ("SeRestrictedSid", 5, (12,)), ("SeAnonymousLogonSid", 5, (7,)),
)
PRIVILEGES_BEFORE_SIDS = 23


def sid_bytes(authority: int, subs: tuple[int, ...]) -> bytes:
    return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + b"".join(struct.pack("<I", s) for s in subs)


def fill_se_exports(k, table: int) -> None:
    """Privilege LUIDs (their documented values 2..24) and pointers to the well-known SIDs."""
    luids = b"".join(struct.pack("<Q", 2 + i) for i in range(PRIVILEGES_BEFORE_SIDS))
    sids = [sid_bytes(a, s) for _, a, s in WELL_KNOWN_SIDS]
    blob_at = table + len(luids) + 8 * len(sids) + 0x100
    pointers, blob = [], b""
    for sid in sids:
        pointers.append(blob_at + len(blob))
        blob += sid.ljust((len(sid) + 7) & ~7, b"\0")
    k.mem.write(table, luids + b"".join(struct.pack("<Q", p) for p in pointers))
    k.mem.write(blob_at, blob)


def sid_length(k, sid: int) -> int:
    return 8 + 4 * k.mem.read(sid + 1, 1)[0]


def acl_length(k, acl: int) -> int:
    return k.mem.read_u16(acl + 2)


def _components(k, sd: int) -> tuple[int, int, int, int, int]:
    """(control, owner, group, sacl, dacl) addresses of an absolute or self-relative descriptor."""
    control = k.mem.read_u16(sd + 2)
    if control & SE_SELF_RELATIVE:
        offs = struct.unpack("<IIII", k.mem.read(sd + 4, 16))
        return (control, *[sd + o if o else 0 for o in offs])
    return (control, *struct.unpack("<QQQQ", k.mem.read(sd + 8, 32)))


def _pieces(k, sd: int) -> tuple[int, list[bytes]]:
    control, owner, group, sacl, dacl = _components(k, sd)
    read = [(owner, sid_length), (group, sid_length), (sacl if control & SE_SACL_PRESENT else 0, acl_length),
            (dacl if control & SE_DACL_PRESENT else 0, acl_length)]
    return control, [k.mem.read(p, size(k, p)) if p else b"" for p, size in read]


@export("RtlCreateSecurityDescriptor")
def RtlCreateSecurityDescriptor(k, SecurityDescriptor: PVOID, Revision: ULONG) -> NTSTATUS:
    k.mem.write(SecurityDescriptor, struct.pack("<BB", Revision, 0) + bytes(ABSOLUTE_SIZE - 2))
    return STATUS_SUCCESS


@export("RtlValidSecurityDescriptor")
def RtlValidSecurityDescriptor(k, SecurityDescriptor: PVOID) -> BOOLEAN:
    return int(k.mem.read(SecurityDescriptor, 1)[0] == 1)


@export("RtlLengthSid")
def RtlLengthSid(k, Sid: PVOID) -> ULONG:
    return sid_length(k, Sid)


@export("RtlValidSid")
def RtlValidSid(k, Sid: PVOID) -> BOOLEAN:
    revision, count = k.mem.read(Sid, 2)
    return int(revision == 1 and count <= 15)


@export("RtlLengthRequiredSid")
def RtlLengthRequiredSid(k, SubAuthorityCount: ULONG) -> ULONG:
    return 8 + 4 * SubAuthorityCount


@export("RtlInitializeSid")
def RtlInitializeSid(k, Sid: PVOID, IdentifierAuthority: PVOID, SubAuthorityCount: UCHAR) -> NTSTATUS:
    """Revision, count and the 6-byte authority; the sub-authorities are the caller's to fill."""
    if SubAuthorityCount > SID_MAX_SUB_AUTHORITIES:
        return STATUS_INVALID_PARAMETER
    k.mem.write(Sid, bytes([SID_REVISION, SubAuthorityCount]) + k.mem.read(IdentifierAuthority, 6))
    return STATUS_SUCCESS


@export("RtlSubAuthoritySid")
def RtlSubAuthoritySid(k, Sid: PVOID, SubAuthority: ULONG) -> PVOID:
    return Sid + 8 + 4 * SubAuthority


@export("RtlSubAuthorityCountSid")
def RtlSubAuthorityCountSid(k, Sid: PVOID) -> PVOID:
    return Sid + 1


@export("RtlEqualSid")
def RtlEqualSid(k, Sid1: PVOID, Sid2: PVOID) -> BOOLEAN:
    return int(k.mem.read(Sid1, sid_length(k, Sid1)) == k.mem.read(Sid2, sid_length(k, Sid2)))


@export("RtlCopySid")
def RtlCopySid(k, DestinationSidLength: ULONG, DestinationSid: PVOID, SourceSid: PVOID) -> NTSTATUS:
    length = sid_length(k, SourceSid)
    if DestinationSidLength < length:
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(DestinationSid, k.mem.read(SourceSid, length))
    return STATUS_SUCCESS


@export("RtlCreateAcl")
def RtlCreateAcl(k, Acl: PVOID, AclLength: ULONG, AclRevision: ULONG) -> NTSTATUS:
    if AclLength < 8:
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(Acl, struct.pack("<BBHHH", AclRevision, 0, AclLength, 0, 0))
    return STATUS_SUCCESS


def _add_allowed_ace(k, acl: int, flags: int, access_mask: int, sid_address: int) -> int:
    """Append an ACCESS_ALLOWED_ACE (type 0, the given AceFlags) after the ACL's last ACE."""
    _, _, size, count, _ = struct.unpack("<BBHHH", k.mem.read(acl, 8))
    end = acl + 8
    for _ in range(count):
        end += k.mem.read_u16(end + 2)
    sid = k.mem.read(sid_address, sid_length(k, sid_address))
    ace = struct.pack("<BBHI", 0, flags, 8 + len(sid), access_mask) + sid
    if end + len(ace) > acl + size:
        return STATUS_ALLOTTED_SPACE_EXCEEDED
    k.mem.write(end, ace)
    k.mem.write_u16(acl + 4, count + 1)
    return STATUS_SUCCESS


@export("RtlAddAccessAllowedAce")
def RtlAddAccessAllowedAce(k, Acl: PVOID, AceRevision: ULONG, AccessMask: ACCESS_MASK, Sid: PVOID) -> NTSTATUS:
    return _add_allowed_ace(k, Acl, 0, AccessMask, Sid)


@export("RtlAddAccessAllowedAceEx")
def RtlAddAccessAllowedAceEx(k, Acl: PVOID, AceRevision: ULONG, AceFlags: ULONG, AccessMask: ACCESS_MASK,
                             Sid: PVOID) -> NTSTATUS:
    """AceFlags (OBJECT_INHERIT_ACE, CONTAINER_INHERIT_ACE...) go into the ACE header's flags byte."""
    return _add_allowed_ace(k, Acl, AceFlags & 0xFF, AccessMask, Sid)


def _set_component(k, sd: int, index: int, value: int, flag: int, present: bool, defaulted: int) -> None:
    k.mem.write_q(sd + 8 + 8 * index, value if present else 0)
    control = k.mem.read_u16(sd + 2) & ~(flag | (flag << 1))
    k.mem.write_u16(sd + 2, control | (flag if present else 0) | ((flag << 1) if defaulted else 0))


@export("RtlSetDaclSecurityDescriptor")
def RtlSetDaclSecurityDescriptor(k, SecurityDescriptor: PVOID, DaclPresent: BOOLEAN, Dacl: PVOID,
                                 DaclDefaulted: BOOLEAN) -> NTSTATUS:
    _set_component(k, SecurityDescriptor, 3, Dacl, SE_DACL_PRESENT, bool(DaclPresent), DaclDefaulted)
    return STATUS_SUCCESS


@export("RtlSetSaclSecurityDescriptor")
def RtlSetSaclSecurityDescriptor(k, SecurityDescriptor: PVOID, SaclPresent: BOOLEAN, Sacl: PVOID,
                                 SaclDefaulted: BOOLEAN) -> NTSTATUS:
    _set_component(k, SecurityDescriptor, 2, Sacl, SE_SACL_PRESENT, bool(SaclPresent), SaclDefaulted)
    return STATUS_SUCCESS


@export("RtlSetOwnerSecurityDescriptor", "RtlSetGroupSecurityDescriptor")
def RtlSetOwnerSecurityDescriptor(k, SecurityDescriptor: PVOID, Sid: PVOID, Defaulted: BOOLEAN) -> NTSTATUS:
    index = 0 if k.current_export.name == "RtlSetOwnerSecurityDescriptor" else 1
    k.mem.write_q(SecurityDescriptor + 8 + 8 * index, Sid)
    return STATUS_SUCCESS


def self_relative(k, sd: int) -> bytes:
    control, pieces = _pieces(k, sd)
    offsets, body, at = [], b"", RELATIVE_SIZE
    for piece in pieces:
        offsets.append(at if piece else 0)
        body += piece
        at += len(piece)
    header = struct.pack("<BBHIIII", k.mem.read(sd, 1)[0], 0, control | SE_SELF_RELATIVE, *offsets)
    return header + body


@export("RtlAbsoluteToSelfRelativeSD")
def RtlAbsoluteToSelfRelativeSD(k, AbsoluteSecurityDescriptor: PVOID, SelfRelativeSecurityDescriptor: PVOID,
                                BufferLength: PULONG) -> NTSTATUS:
    blob = self_relative(k, AbsoluteSecurityDescriptor)
    if not SelfRelativeSecurityDescriptor or k.mem.read_u32(BufferLength) < len(blob):
        k.mem.write_u32(BufferLength, len(blob))
        return STATUS_BUFFER_TOO_SMALL
    k.mem.write(SelfRelativeSecurityDescriptor, blob)
    return STATUS_SUCCESS


@export("RtlLengthSecurityDescriptor")
def RtlLengthSecurityDescriptor(k, SecurityDescriptor: PVOID) -> ULONG:
    return len(self_relative(k, SecurityDescriptor))


def _get(k, sd: int, index: int, flag: int, present_out: int, value_out: int, defaulted_out: int) -> int:
    control, *parts = _components(k, sd)
    if present_out:
        k.mem.write(present_out, bytes([int(bool(control & flag))]))
    k.mem.write_q(value_out, parts[index] if (not flag or control & flag) else 0)
    if defaulted_out:
        k.mem.write(defaulted_out, bytes([int(bool(control & (flag << 1 if flag else 1 << index)))]))
    return STATUS_SUCCESS


@export("RtlGetOwnerSecurityDescriptor")
def RtlGetOwnerSecurityDescriptor(k, SecurityDescriptor: PVOID, Owner: PVOID, OwnerDefaulted: PVOID) -> NTSTATUS:
    return _get(k, SecurityDescriptor, 0, 0, 0, Owner, OwnerDefaulted)


@export("RtlGetGroupSecurityDescriptor")
def RtlGetGroupSecurityDescriptor(k, SecurityDescriptor: PVOID, Group: PVOID, GroupDefaulted: PVOID) -> NTSTATUS:
    return _get(k, SecurityDescriptor, 1, 0, 0, Group, GroupDefaulted)


@export("RtlGetSaclSecurityDescriptor")
def RtlGetSaclSecurityDescriptor(k, SecurityDescriptor: PVOID, SaclPresent: PVOID, Sacl: PVOID,
                                 SaclDefaulted: PVOID) -> NTSTATUS:
    return _get(k, SecurityDescriptor, 2, SE_SACL_PRESENT, SaclPresent, Sacl, SaclDefaulted)


@export("RtlGetDaclSecurityDescriptor")
def RtlGetDaclSecurityDescriptor(k, SecurityDescriptor: PVOID, DaclPresent: PVOID, Dacl: PVOID,
                                 DaclDefaulted: PVOID) -> NTSTATUS:
    return _get(k, SecurityDescriptor, 3, SE_DACL_PRESENT, DaclPresent, Dacl, DaclDefaulted)


@export("SeCaptureSecurityDescriptor")
def SeCaptureSecurityDescriptor(k, InputSecurityDescriptor: PVOID, RequestorMode: KPROCESSOR_MODE,
                                PoolType: POOL_TYPE, ForceCapture: BOOLEAN, OutputSecurityDescriptor: PVOID) -> NTSTATUS:
    if RequestorMode == 0 and not ForceCapture:
        k.mem.write_q(OutputSecurityDescriptor, InputSecurityDescriptor)
        return STATUS_SUCCESS
    blob = self_relative(k, InputSecurityDescriptor)
    copy = k.pool.allocate(len(blob), executable=False, paged=bool(PoolType & 1), tag=0x63655353, owner=k.caller)
    k.mem.write(copy, blob)
    k.mem.write_q(OutputSecurityDescriptor, copy)
    return STATUS_SUCCESS


@export("SeReleaseSecurityDescriptor")
def SeReleaseSecurityDescriptor(k, CapturedSecurityDescriptor: PVOID, RequestorMode: KPROCESSOR_MODE,
                                ForceCapture: BOOLEAN) -> None:
    if CapturedSecurityDescriptor in k.pool.live:
        k.pool.free(CapturedSecurityDescriptor)


class ObjectRef:
    """A handle's target when the driver opened an object by pointer."""

    def __init__(self, address: int):
        self.address = address


@export("ObOpenObjectByPointer")
def ObOpenObjectByPointer(k, Object: PVOID, HandleAttributes: ULONG, PassedAccessState: PVOID,
                          DesiredAccess: ACCESS_MASK, ObjectType: PVOID, AccessMode: KPROCESSOR_MODE,
                          Handle: PHANDLE) -> NTSTATUS:
    k.mem.write_q(Handle, k.handles.open(ObjectRef(Object)))
    return STATUS_SUCCESS


@export("ZwSetSecurityObject", "NtSetSecurityObject")
def ZwSetSecurityObject(k, Handle: HANDLE, SecurityInformation: ULONG, SecurityDescriptor: PVOID) -> NTSTATUS:
    return STATUS_SUCCESS if k.handles.get(Handle) is not None else 0xC0000008
