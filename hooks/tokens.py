"""Who is calling: the previous mode, access tokens, subject contexts and privilege checks (Se*).

Two callers exist. DriverEntry, deferred work and kernel-sent IRPs run in the System process, whose
token holds every privilege (SeCreateTokenPrivilege .. SeDelegateSessionUserImpersonatePrivilege, LUIDs
2..36, all enabled) and whose previous mode is KernelMode. A user request's dispatch routine runs in the
emulated user process's thread (hooks.irp.IoManager.requestor), previous mode UserMode; that process is
the usual test set-up, an elevated administrator (`whoami /priv` in an elevated prompt lists its 24
privileges) that has enabled them all with AdjustTokenPrivileges, as tools such as Process Explorer do
before talking to their drivers. So a driver's privilege check passes for a user request unless it
asks for a privilege administrators do not hold (SeTcbPrivilege, SeCreateTokenPrivilege...).

Tokens live in guest memory, found through EPROCESS.Token, each with its SEP_TOKEN_PRIVILEGES masks.
"""
from __future__ import annotations

import struct

from hooks import kstructs as ks
from hooks.api import BOOLEAN, KPROCESSOR_MODE, PVOID, ULONG64, export

KernelMode, UserMode = 0, 1
PRIVILEGE_SET_ALL_NECESSARY = 1
SE_PRIVILEGE_USED_FOR_ACCESS = 0x80000000
SE_MIN_WELL_KNOWN_PRIVILEGE, SE_MAX_WELL_KNOWN_PRIVILEGE = 2, 36
ALL_PRIVILEGES = sum(1 << n for n in range(SE_MIN_WELL_KNOWN_PRIVILEGE, SE_MAX_WELL_KNOWN_PRIVILEGE + 1))
# An elevated administrator's privileges (winnt.h LUIDs): IncreaseQuota 5, Security 8, TakeOwnership 9,
# LoadDriver 10, SystemProfile 11, Systemtime 12, ProfileSingleProcess 13, IncreaseBasePriority 14,
# CreatePagefile 15, Backup 17, Restore 18, Shutdown 19, Debug 20, SystemEnvironment 22, ChangeNotify 23,
# RemoteShutdown 24, Undock 25, ManageVolume 28, Impersonate 29, CreateGlobal 30, IncreaseWorkingSet 33,
# TimeZone 34, CreateSymbolicLink 35, DelegateSessionUserImpersonate 36.
ADMINISTRATOR_PRIVILEGES = sum(1 << n for n in (5, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 22, 23, 24, 25,
                                                28, 29, 30, 33, 34, 35, 36))
PRIVILEGE_SET_HEADER, LUID_AND_ATTRIBUTES_SIZE = 8, 12


def previous_mode(k) -> int:
    return UserMode if k.io.in_user_request() else KernelMode


def current_process(k) -> int:
    return k.mem.read_q(k.current_thread + ks.KTHREAD_PROCESS_OFFSET)


def primary_token(k, process: int) -> int:
    """The process's token, made on first use: every privilege for System, an administrator's otherwise."""
    slot = process + ks.EPROCESS_TOKEN_OFFSET
    token = k.mem.read_q(slot) & ~0xF
    if not token:
        token = k.alloc_kdata(0x1000)
        held = ALL_PRIVILEGES if process == k.system_process else ADMINISTRATOR_PRIVILEGES
        k.mem.write(token + ks.TOKEN_PRIVILEGES_OFFSET, struct.pack("<QQQ", held, held, held))
        k.mem.write_q(slot, token)
    return token


def enabled_privileges(k, token: int) -> int:
    return k.mem.read_q(token + ks.TOKEN_PRIVILEGES_OFFSET + 8)


@export("ExGetPreviousMode")
def ExGetPreviousMode(k) -> KPROCESSOR_MODE:
    return previous_mode(k)


@export("SeCaptureSubjectContext")
def SeCaptureSubjectContext(k, SubjectContext: PVOID) -> None:
    process = current_process(k)
    k.write_struct(SubjectContext, ks.SECURITY_SUBJECT_CONTEXT(PrimaryToken=primary_token(k, process),
                                                               ProcessAuditId=process))


@export("SeReleaseSubjectContext", "SeLockSubjectContext", "SeUnlockSubjectContext")
def SeReleaseSubjectContext(k, SubjectContext: PVOID) -> None:
    """Tokens are never freed and no other thread changes them: nothing to release or lock."""


def _subject_token(k, context: int) -> int:
    ctx = k.read_struct(ks.SECURITY_SUBJECT_CONTEXT, context)
    return ctx.ClientToken or ctx.PrimaryToken


@export("SePrivilegeCheck")
def SePrivilegeCheck(k, RequiredPrivileges: PVOID, SubjectSecurityContext: PVOID,
                     AccessMode: KPROCESSOR_MODE) -> BOOLEAN:
    """A KernelMode check always passes. Otherwise each privilege the token has enabled is marked
    SE_PRIVILEGE_USED_FOR_ACCESS; the check passes when all are held (PRIVILEGE_SET_ALL_NECESSARY)
    or when any one is."""
    count, control = struct.unpack("<II", k.mem.read(RequiredPrivileges, PRIVILEGE_SET_HEADER))
    if AccessMode == KernelMode:
        return 1
    enabled = enabled_privileges(k, _subject_token(k, SubjectSecurityContext))
    held = 0
    for i in range(count):
        entry = RequiredPrivileges + PRIVILEGE_SET_HEADER + LUID_AND_ATTRIBUTES_SIZE * i
        low, high, attributes = struct.unpack("<IiI", k.mem.read(entry, LUID_AND_ATTRIBUTES_SIZE))
        if high == 0 and low < 64 and enabled >> low & 1:
            held += 1
            k.mem.write_u32(entry + 8, attributes | SE_PRIVILEGE_USED_FOR_ACCESS)
    return int(held == count if control & PRIVILEGE_SET_ALL_NECESSARY else held > 0)


@export("SeSinglePrivilegeCheck")
def SeSinglePrivilegeCheck(k, PrivilegeValue: ULONG64, PreviousMode: KPROCESSOR_MODE) -> BOOLEAN:
    """PrivilegeValue is a LUID passed by value; checked against the current process's token."""
    if PreviousMode == KernelMode:
        return 1
    enabled = enabled_privileges(k, primary_token(k, current_process(k)))
    return int(PrivilegeValue < 64 and bool(enabled >> PrivilegeValue & 1))
