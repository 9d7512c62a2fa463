"""Processor, IRQL, time, resources and process/thread queries (Ke*, Ps*, Ex*Resource*).

One processor and one thread: locks cannot contend (dispatcher objects and waits are in
hooks.dispatcher). IRQL is CR8 (see emu.machine's CR8 model) and the IRQL routines are machine
code, see NATIVE_ROUTINES.
"""
import struct

from emu.machine import MOV_CR8_RCX, MOV_RAX_CR8, Halt
from hooks.api import (BOOLEAN, HANDLE, KPROCESSOR_MODE, NTSTATUS, PLARGE_INTEGER, PUNICODE_STRING, PVOID, ULONG, ULONG64,
                       ULONG_PTR, export)
from hooks.dispatcher import TIME_INCREMENT, WAIT_ANY, advance_clock, deadline, wait, yield_execution
from hooks.events import Crash
from hooks.notify import USER_PROCESS_ID
from hooks.threads import CURRENT_THREAD_ID, SYSTEM_PROCESS_ID

STATUS_SUCCESS = 0


# IRQL lives in CR8, as on x64 Windows, so drivers' inline `mov cr8` and these routines agree.
# They run as machine code in ntoskrnl, below the hooked stub area: no Python on the path, nothing to keep in sync.
_MOV_RAX_CR8 = MOV_RAX_CR8                         # mov rax, cr8   (the old IRQL, returned)
_MOV_CR8_RCX = MOV_CR8_RCX                         # mov cr8, rcx
_MOV_CR8_RDX = bytes.fromhex("440f22c2")         # mov cr8, rdx
_MOV_CR8_RAX = bytes.fromhex("440f22c0")         # mov cr8, rax
_ECX_DISPATCH = bytes.fromhex("b902000000")      # mov ecx, DISPATCH_LEVEL
_RET = b"\xc3"
_RAISE_TO_DPC = _MOV_RAX_CR8 + _ECX_DISPATCH + _MOV_CR8_RCX + _RET
_LOWER_TO_CL = bytes.fromhex("0fb6c9") + _MOV_CR8_RCX + _RET            # movzx ecx, cl
NATIVE_ROUTINES: dict[str, bytes] = {
    "KiSetIrql": _MOV_CR8_RCX + _RET,       # internal: how the kernel puts back a resumed context's IRQL
    "KeGetCurrentIrql": _MOV_RAX_CR8 + _RET,
    "KfRaiseIrql": _MOV_RAX_CR8 + bytes.fromhex("0fb6c9") + _MOV_CR8_RCX + _RET,
    "KeRaiseIrqlToDpcLevel": _RAISE_TO_DPC,
    "KeRaiseIrqlToSynchLevel": _MOV_RAX_CR8 + bytes.fromhex("b90c000000") + _MOV_CR8_RCX + _RET,
    "KfLowerIrql": _LOWER_TO_CL,
    "KeLowerIrql": _LOWER_TO_CL,
    "KeAcquireSpinLockRaiseToDpc": _RAISE_TO_DPC,
    "KfAcquireSpinLock": _RAISE_TO_DPC,
    "KeReleaseSpinLock": bytes.fromhex("0fb6d2") + _MOV_CR8_RDX + _RET,    # movzx edx, dl
    "KfReleaseSpinLock": bytes.fromhex("0fb6d2") + _MOV_CR8_RDX + _RET,
    # KLOCK_QUEUE_HANDLE.OldIrql is at +0x10: mov [rdx+10h], al / movzx eax, byte [rcx+10h]
    "KeAcquireInStackQueuedSpinLock": _MOV_RAX_CR8 + bytes.fromhex("884210") + _ECX_DISPATCH + _MOV_CR8_RCX + _RET,
    "KeReleaseInStackQueuedSpinLock": bytes.fromhex("0fb64110") + _MOV_CR8_RAX + _RET,
    # The cancel spin lock: old IRQL to *Irql (mov [rcx], al), raise to DISPATCH_LEVEL; release lowers to it.
    "IoAcquireCancelSpinLock": _MOV_RAX_CR8 + bytes.fromhex("8801") + _ECX_DISPATCH + _MOV_CR8_RCX + _RET,
    "IoReleaseCancelSpinLock": _LOWER_TO_CL,
    # One processor: a spin lock taken at DISPATCH_LEVEL never spins.
    "KeAcquireSpinLockAtDpcLevel": _RET, "KeReleaseSpinLockFromDpcLevel": _RET, "KeInitializeSpinLock": _RET,
    "KefAcquireSpinLockAtDpcLevel": _RET, "KefReleaseSpinLockFromDpcLevel": _RET,
}


@export("KeQuerySystemTime", "KeQuerySystemTimePrecise")
def KeQuerySystemTime(k, CurrentTime: PLARGE_INTEGER) -> None:
    advance_clock(k, 10_000)                 # 1 ms per query keeps time moving, deterministically
    k.mem.write_q(CurrentTime, k.system_time)


@export("KeQueryInterruptTime")
def KeQueryInterruptTime(k) -> ULONG64:
    advance_clock(k, 10_000)
    return k.interrupt_time


@export("KeQueryTickCount")
def KeQueryTickCount(k, CurrentCount: PLARGE_INTEGER) -> None:
    k.mem.write_q(CurrentCount, k.interrupt_time // TIME_INCREMENT)


@export("KeQueryTimeIncrement")
def KeQueryTimeIncrement(k) -> ULONG:
    return TIME_INCREMENT


@export("KeQueryPerformanceCounter", module="hal.dll")
def KeQueryPerformanceCounter(k, PerformanceFrequency: PLARGE_INTEGER) -> ULONG64:
    if PerformanceFrequency:
        k.mem.write_q(PerformanceFrequency, 10_000_000)
    advance_clock(k, 10)
    return k.interrupt_time


@export("KeGetCurrentProcessorNumberEx")
def KeGetCurrentProcessorNumberEx(k, ProcNumber: PVOID) -> ULONG:
    if ProcNumber:
        k.mem.write(ProcNumber, bytes(4))
    return 0


@export("KeGetCurrentProcessorNumber")
def KeGetCurrentProcessorNumber(k) -> ULONG:
    return 0


@export("KeQueryActiveProcessors")
def KeQueryActiveProcessors(k) -> ULONG_PTR:
    return (1 << k.profile["processors"]) - 1


@export("KeQueryActiveProcessorCount", "KeQueryActiveProcessorCountEx", "KeQueryMaximumProcessorCount",
        "KeQueryMaximumProcessorCountEx")
def KeQueryActiveProcessorCount(k, Arg: PVOID) -> ULONG:
    if Arg and k.current_export.name == "KeQueryActiveProcessorCount":
        k.mem.write_q(Arg, (1 << k.profile["processors"]) - 1)
    return k.profile["processors"]


@export("KeSetSystemAffinityThread", "KeRevertToUserAffinityThread", "KeEnterCriticalRegion",
        "KeLeaveCriticalRegion", "KeEnterGuardedRegion", "KeLeaveGuardedRegion")
def no_effect_on_one_cpu(k) -> None:
    return None


@export("KeSetSystemAffinityThreadEx")
def KeSetSystemAffinityThreadEx(k, Affinity: ULONG_PTR) -> ULONG_PTR:
    return 1


@export("KeRevertToUserAffinityThreadEx")
def KeRevertToUserAffinityThreadEx(k, Affinity: ULONG_PTR) -> None:
    return None


@export("KeBugCheckEx")
def KeBugCheckEx(k, BugCheckCode: ULONG, P1: ULONG_PTR, P2: ULONG_PTR, P3: ULONG_PTR, P4: ULONG_PTR) -> None:
    raise Halt(Crash(BugCheckCode, (P1, P2, P3, P4), k.caller, "KeBugCheckEx"))


@export("KeBugCheck")
def KeBugCheck(k, BugCheckCode: ULONG) -> None:
    raise Halt(Crash(BugCheckCode, (0, 0, 0, 0), k.caller, "KeBugCheck"))


@export("KeDelayExecutionThread")
def KeDelayExecutionThread(k, WaitMode: KPROCESSOR_MODE, Alertable: BOOLEAN, Interval: PLARGE_INTEGER) -> NTSTATUS:
    """A wait on nothing until the interval has passed (other threads may run meanwhile); one
    already over (a zero interval, an absolute time in the past, a NULL Interval) is a yield."""
    until = deadline(k, Interval) if Interval else k.interrupt_time
    if until <= k.interrupt_time:
        return yield_execution(k)
    return wait(k, (), WAIT_ANY, until, STATUS_SUCCESS)


@export("KeStallExecutionProcessor", module="hal.dll")
def KeStallExecutionProcessor(k, MicroSeconds: ULONG) -> None:
    advance_clock(k, 10 * MicroSeconds)


# ---- executive resources and fast mutexes -------------------------------------------------------------
@export("ExInitializeResourceLite", "ExDeleteResourceLite", "ExReinitializeResourceLite")
def resource_lifecycle(k, Resource: PVOID) -> NTSTATUS:
    return STATUS_SUCCESS


@export("ExAcquireResourceExclusiveLite", "ExAcquireResourceSharedLite", "ExAcquireSharedStarveExclusive",
        "ExAcquireSharedWaitForExclusive")
def resource_acquire(k, Resource: PVOID, Wait: BOOLEAN) -> BOOLEAN:
    return 1


@export("ExReleaseResourceLite", "ExAcquirePushLockExclusiveEx", "ExReleasePushLockExclusiveEx",
        "ExfAcquirePushLockExclusive", "ExfReleasePushLockExclusive", "ExfAcquirePushLockShared",
        "ExfReleasePushLockShared", "ExReleaseResourceForThreadLite")
def release_or_acquire(k, Object: PVOID) -> None:
    return None


@export("ExEnterCriticalRegionAndAcquireResourceExclusive", "ExEnterCriticalRegionAndAcquireResourceShared")
def enter_and_acquire(k, Resource: PVOID) -> PVOID:
    return Resource


@export("ExReleaseResourceAndLeaveCriticalRegion")
def release_and_leave(k, Resource: PVOID) -> None:
    return None


@export("ExIsResourceAcquiredExclusiveLite")
def ExIsResourceAcquiredExclusiveLite(k, Resource: PVOID) -> BOOLEAN:
    return 1


# ---- process, thread, version ------------------------------------------------------------------------
@export("PsGetCurrentProcess", "IoGetCurrentProcess")
def PsGetCurrentProcess(k) -> PVOID:
    return k.mem.read_q(k.current_thread + 0xB8)       # KTHREAD.ApcState.Process: the user's in a user request


@export("PsGetCurrentThread", "KeGetCurrentThread")
def PsGetCurrentThread(k) -> PVOID:
    return k.current_thread


@export("PsGetCurrentProcessId")
def PsGetCurrentProcessId(k) -> HANDLE:
    return SYSTEM_PROCESS_ID


@export("PsGetCurrentThreadId")
def PsGetCurrentThreadId(k) -> HANDLE:
    return CURRENT_THREAD_ID


@export("PsGetProcessId")
def PsGetProcessId(k, Process: PVOID) -> HANDLE:
    if Process == k.system_process:
        return SYSTEM_PROCESS_ID
    return USER_PROCESS_ID if Process == k.io.process.eprocess else 0


@export("PsIsSystemThread")
def PsIsSystemThread(k, Thread: PVOID) -> BOOLEAN:
    return 1


@export("PsGetVersion")
def PsGetVersion(k, MajorVersion: PVOID, MinorVersion: PVOID, BuildNumber: PVOID, CSDVersion: PVOID) -> BOOLEAN:
    p = k.profile
    for ptr, value in ((MajorVersion, p["major"]), (MinorVersion, p["minor"]), (BuildNumber, p["build"])):
        if ptr:
            k.mem.write_u32(ptr, value)
    return 0                                  # FALSE: a free (retail) build


@export("RtlGetVersion")
def RtlGetVersion(k, VersionInformation: PVOID) -> NTSTATUS:
    p = k.profile
    size = k.mem.read_u32(VersionInformation)
    k.mem.write(VersionInformation + 4, struct.pack("<IIII", p["major"], p["minor"], p["build"], 2))
    k.mem.write(VersionInformation + 20, bytes(256))
    if size >= 0x11C:                           # RTL_OSVERSIONINFOEXW
        k.mem.write(VersionInformation + 276, struct.pack("<HHHBB", p["service_pack"], 0, p["suite_mask"],
                                                          p["product_type"], 0))
    return STATUS_SUCCESS


@export("RtlIsNtDdiVersionAvailable")
def RtlIsNtDdiVersionAvailable(k, Version: ULONG) -> BOOLEAN:
    # NTDDI_WIN10 family: 0x0A000000 + release; every release up to the profile's is available.
    return 1 if Version <= 0x0A00000F else 0


@export("RtlIsServicePackVersionInstalled")
def RtlIsServicePackVersionInstalled(k, Version: ULONG) -> BOOLEAN:
    return 1 if Version <= 0x0A00000F else 0


@export("MmGetSystemRoutineAddress")
def MmGetSystemRoutineAddress(k, SystemRoutineName: PUNICODE_STRING) -> PVOID:
    name = k.read_unicode_string(SystemRoutineName)
    for module in ("ntoskrnl.exe", "hal.dll"):
        address = k.module_exports.get(module, {}).get(name)
        if address:
            return address
    return 0


@export("RtlAssert")
def RtlAssert(k, VoidFailedAssertion: PVOID, VoidFileName: PVOID, LineNumber: ULONG, MutableMessage: PVOID) -> None:
    k.debug.write(f"*** Assertion failed: {k.mem.read_cstr(VoidFailedAssertion).decode('latin-1')}\n")


@export("ExUuidCreate")
def ExUuidCreate(k, Uuid: PVOID) -> NTSTATUS:
    k.uuid_sequence += 1                      # deterministic: the same run gives the same UUIDs
    k.mem.write(Uuid, struct.pack("<IHH8s", 0x5EED0000 + k.uuid_sequence, 0x4000, 0x8000, b"hvcivrfy"))
    return STATUS_SUCCESS

