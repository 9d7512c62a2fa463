"""GUIDs as text: RtlGUIDFromString and RtlStringFromGUID (Microsoft's wdm.h pages for the two routines).

The text form is the registry's: "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", braces included.
RtlGUIDFromString accepts either case and refuses anything else with STATUS_INVALID_PARAMETER;
RtlStringFromGUID writes upper-case hex into a buffer it allocates, which the caller frees with
RtlFreeUnicodeString.
"""
from __future__ import annotations

import re
import uuid

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PUNICODE_STRING, PVOID, export

STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STRING_TAG = 0x64697547                      # 'Guid'
_TEXT = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")


@export("RtlGUIDFromString")
def RtlGUIDFromString(k, GuidString: PUNICODE_STRING, Guid: PVOID) -> NTSTATUS:
    text = k.read_unicode_string(GuidString) if GuidString else ""
    if not _TEXT.fullmatch(text) or not Guid:
        return STATUS_INVALID_PARAMETER
    k.mem.write(Guid, uuid.UUID(text).bytes_le)
    return STATUS_SUCCESS


@export("RtlStringFromGUID")
def RtlStringFromGUID(k, Guid: PVOID, GuidString: PUNICODE_STRING) -> NTSTATUS:
    text = "{" + str(uuid.UUID(bytes_le=k.mem.read(Guid, 16))).upper() + "}"
    data = text.encode("utf-16-le")
    buffer = k.pool.allocate(len(data) + 2, executable=False, paged=True, tag=STRING_TAG, owner=0)
    k.mem.write(buffer, data + b"\0\0")
    k.write_struct(GuidString, ks.UNICODE_STRING(len(data), len(data) + 2, buffer))
    return STATUS_SUCCESS
