"""ZwQuerySystemInformation for the classes drivers use, answered from this kernel's own state.

Modules come from walking PsLoadedModuleList in guest memory, so what a driver finds there and
what this call returns agree. Memory integrity is on here (no page is ever writable and
executable), so SystemCodeIntegrityInformation says so. A buffer of the wrong size gets
STATUS_INFO_LENGTH_MISMATCH with the size it needs in ReturnLength (drivers probe with 0 first);
classes not modelled get STATUS_INVALID_INFO_CLASS.
"""
from __future__ import annotations

import ctypes
import struct

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PULONG, PVOID, ULONG, export
from hooks.dispatcher import TIME_INCREMENT
from hooks.threads import SYSTEM_PROCESS_ID, thread_id

STATUS_SUCCESS = 0
STATUS_INVALID_INFO_CLASS = 0xC0000003
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
SystemBasicInformation = 0
SystemProcessorInformation = 1
SystemProcessInformation = 5
SystemModuleInformation = 11
SystemKernelDebuggerInformation = 35
SystemCodeIntegrityInformation = 103
PROCESSOR_ARCHITECTURE_AMD64 = 9
# winternl.h CODEINTEGRITY_OPTION_*: code integrity on, kernel-mode CI enforced by the hypervisor (HVCI)
CODEINTEGRITY_OPTION_ENABLED = 0x01
CODEINTEGRITY_OPTION_HVCI_KMCI_ENABLED = 0x400
CODEINTEGRITY_OPTION_HVCI_IUM_ENABLED = 0x2000
ALLOCATION_GRANULARITY = 0x10000
LOWEST_USER_ADDRESS = 0x10000
HIGHEST_USER_ADDRESS = 0x7FFFFFFEFFFF        # MmHighestUserAddress


def loaded_modules(k) -> list[tuple[int, int, str]]:
    """(base, size, full path) of every module on PsLoadedModuleList, in load order."""
    out = []
    head = k.loaded_module_list
    entry = k.mem.read_q(head)
    while entry and entry != head and len(out) < 1024:
        ldr = k.read_struct(ks.LDR_DATA_TABLE_ENTRY, entry)
        path_at = entry + ks.offset_of(ks.LDR_DATA_TABLE_ENTRY, "FullDllName")
        out.append((ldr.DllBase, ldr.SizeOfImage, k.read_unicode_string(path_at)))
        entry = ldr.InLoadOrderLinks.Flink
    return out


def _basic(k) -> bytes:
    p = k.profile
    pages = k.mem.phys.size // 0x1000
    return bytes(ks.SYSTEM_BASIC_INFORMATION(
        TimerResolution=TIME_INCREMENT, PageSize=0x1000, NumberOfPhysicalPages=pages, LowestPhysicalPageNumber=1,
        HighestPhysicalPageNumber=pages - 1, AllocationGranularity=ALLOCATION_GRANULARITY,
        MinimumUserModeAddress=LOWEST_USER_ADDRESS, MaximumUserModeAddress=HIGHEST_USER_ADDRESS,
        ActiveProcessorsAffinityMask=(1 << p["processors"]) - 1, NumberOfProcessors=p["processors"]))


def _processor(k) -> bytes:
    return bytes(ks.SYSTEM_PROCESSOR_INFORMATION(ProcessorArchitecture=PROCESSOR_ARCHITECTURE_AMD64, ProcessorLevel=6,
                                                 MaximumProcessors=k.profile["processors"]))


def _modules(k) -> bytes:
    entries = []
    for i, (base, size, path) in enumerate(loaded_modules(k)):
        name = path.encode("ascii", "replace")[:255]
        m = ks.RTL_PROCESS_MODULE_INFORMATION(ImageBase=base, ImageSize=size, LoadOrderIndex=i, InitOrderIndex=i,
                                              LoadCount=1, OffsetToFileName=name.rfind(b"\\") + 1)
        m.FullPathName[:len(name)] = name
        entries.append(bytes(m))
    header = struct.pack("<I", len(entries)).ljust(ks.offset_of(ks.RTL_PROCESS_MODULES, "Modules"), b"\0")
    return header + b"".join(entries)


def _processes(k, va: int) -> bytes:
    """The Idle process (ID 0, no name) and the System process (ID 4) with its threads; the image
    name buffer of System follows the list, as Windows places names inside the returned buffer."""
    threads = [(k.initial_thread, 0)] + [(t.thread, t.start_routine) for t in k.deferred.threads.values()]
    entry_size = ctypes.sizeof(ks.SYSTEM_PROCESS_INFORMATION)
    thread_size = ctypes.sizeof(ks.SYSTEM_THREAD_INFORMATION)
    idle_size = entry_size + thread_size
    system_size = entry_size + thread_size * len(threads)
    name = "System".encode("utf-16-le")
    idle = ks.SYSTEM_PROCESS_INFORMATION(NextEntryOffset=idle_size, NumberOfThreads=1)
    system = ks.SYSTEM_PROCESS_INFORMATION(NumberOfThreads=len(threads), BasePriority=8,
                                           UniqueProcessId=SYSTEM_PROCESS_ID, HandleCount=len(k.handles))
    system.ImageName = ks.UNICODE_STRING(len(name), len(name) + 2, va + idle_size + system_size)
    idle_thread = ks.SYSTEM_THREAD_INFORMATION(ClientId=ks.CLIENT_ID(0, 0))
    rows = [bytes(ks.SYSTEM_THREAD_INFORMATION(StartAddress=start, Priority=8, BasePriority=8,
                                               ClientId=ks.CLIENT_ID(SYSTEM_PROCESS_ID, thread_id(k, thread))))
            for thread, start in threads]
    return bytes(idle) + bytes(idle_thread) + bytes(system) + b"".join(rows) + name + b"\0\0"


def _debugger(k) -> bytes:
    return bytes(ks.SYSTEM_KERNEL_DEBUGGER_INFORMATION(KernelDebuggerEnabled=0, KernelDebuggerNotPresent=1))


def _code_integrity(k) -> bytes:
    options = (CODEINTEGRITY_OPTION_ENABLED | CODEINTEGRITY_OPTION_HVCI_KMCI_ENABLED
               | CODEINTEGRITY_OPTION_HVCI_IUM_ENABLED)
    return bytes(ks.SYSTEM_CODEINTEGRITY_INFORMATION(ctypes.sizeof(ks.SYSTEM_CODEINTEGRITY_INFORMATION), options))


# Fixed-size classes: the buffer must be exactly as long as the structure.
_FIXED = {SystemBasicInformation: _basic, SystemProcessorInformation: _processor,
          SystemKernelDebuggerInformation: _debugger, SystemCodeIntegrityInformation: _code_integrity}


@export("ZwQuerySystemInformation", "NtQuerySystemInformation")
def ZwQuerySystemInformation(k, SystemInformationClass: ULONG, SystemInformation: PVOID,
                             SystemInformationLength: ULONG, ReturnLength: PULONG) -> NTSTATUS:
    if SystemInformationClass in _FIXED:
        blob = _FIXED[SystemInformationClass](k)
        fits = SystemInformationLength == len(blob)
    elif SystemInformationClass == SystemModuleInformation:
        blob = _modules(k)
        fits = SystemInformationLength >= len(blob)
    elif SystemInformationClass == SystemProcessInformation:
        blob = _processes(k, SystemInformation)
        fits = SystemInformationLength >= len(blob)
    else:
        return STATUS_INVALID_INFO_CLASS
    if ReturnLength:
        k.mem.write_u32(ReturnLength, len(blob))
    if not fits:
        return STATUS_INFO_LENGTH_MISMATCH
    k.mem.write(SystemInformation, blob)
    return STATUS_SUCCESS
