"""WppRecorder.sys, the WPP in-flight trace recorder (IFR) that WPP_INIT_TRACING starts in KMDF drivers.

A driver built with WPP and the recorder calls WppAutoLogStart(WPP control block, DriverObject,
RegistryPath) from WPP_INIT_TRACING, every trace macro calls WppAutoLogTrace(AutoLogContext, level,
flags, message GUID, message number, then (pointer, length) pairs of the arguments, ending with a
NULL pointer), and WPP_CLEANUP calls WppAutoLogStop (prototypes: the WPP templates of the WDK,
km-init.tpl and the "ENABLE_WPP_RECORDER" part of the generated trace headers). Here the recorder
keeps what a crash dump's IFR log would: which drivers started it and each message's level, flags,
GUID and number (the first MAX_MESSAGES), not the formatted text (the format strings live in the
driver's PDB). The module has no export list: routines without a handler here are stand-ins.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hooks.api import NTSTATUS, PDRIVER_OBJECT, PUNICODE_STRING, PVOID, UCHAR, ULONG, USHORT, VOID, export

WPP_RECORDER = "WppRecorder.sys"
MAX_MESSAGES = 1000
STATUS_SUCCESS = 0


@dataclass(frozen=True)
class TraceMessage:
    level: int
    flags: int
    guid: bytes
    number: int


@dataclass
class InflightRecorder:
    started: list[int] = field(default_factory=list)          # driver objects whose recorder runs
    messages: list[TraceMessage] = field(default_factory=list)
    dropped: int = 0                                          # messages past MAX_MESSAGES


@export("WppAutoLogStart", module=WPP_RECORDER)
def WppAutoLogStart(k, WppCb: PVOID, DrvObj: PDRIVER_OBJECT, RegPath: PUNICODE_STRING) -> VOID:
    if DrvObj not in k.wpp.started:
        k.wpp.started.append(DrvObj)


@export("WppAutoLogStop", module=WPP_RECORDER)
def WppAutoLogStop(k, WppCb: PVOID, DrvObj: PDRIVER_OBJECT) -> VOID:
    if DrvObj in k.wpp.started:
        k.wpp.started.remove(DrvObj)


@export("WppAutoLogTrace", module=WPP_RECORDER)
def WppAutoLogTrace(k, AutoLogContext: PVOID, MessageLevel: UCHAR, MessageFlags: ULONG, MessageGuid: PVOID,
                    MessageNumber: USHORT) -> NTSTATUS:
    """Record the message (its arguments, after these five, are not read)."""
    if len(k.wpp.messages) >= MAX_MESSAGES:
        k.wpp.dropped += 1
        return STATUS_SUCCESS
    guid = k.mem.read(MessageGuid, 16) if MessageGuid else bytes(16)
    k.wpp.messages.append(TraceMessage(MessageLevel, MessageFlags, guid, MessageNumber))
    return STATUS_SUCCESS
