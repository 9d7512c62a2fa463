"""Unicode prefix tables (RtlInitializeUnicodePrefix & co.): which registered prefix names a path.

File systems and redirectors (winfsp, MUP providers) keep the names they serve in one: a lookup of
`\\a\\b\\c` finds the longest registered prefix that is the name itself or is followed by a `\\` in it,
i.e. that ends on a component boundary. The table and its entries are the caller's storage with the
ntifs.h layouts; here the entries form one ring through NextPrefixTree that ends at the table
(Windows keeps a splay tree per name length under that ring, a speed-up with the same answers).
Comparison is case-sensitive before CaseInsensitiveIndex and case-insensitive from it on.
"""
from __future__ import annotations

from hooks import kstructs as ks
from hooks.api import BOOLEAN, PUNICODE_STRING, PVOID, ULONG, export

RTL_NTC_UNICODE_PREFIX_TABLE, RTL_NTC_UNICODE_ROOT = 0x0800, 0x0801     # node type codes (prefix.c, ntifs)
_NEXT_IN_TABLE = ks.offset_of(ks.UNICODE_PREFIX_TABLE, "NextPrefixTree")
_NEXT_IN_ENTRY = ks.offset_of(ks.UNICODE_PREFIX_TABLE_ENTRY, "NextPrefixTree")
_PREFIX = ks.offset_of(ks.UNICODE_PREFIX_TABLE_ENTRY, "Prefix")


def _entries(k, table: int) -> list[int]:
    out, entry = [], k.mem.read_q(table + _NEXT_IN_TABLE)
    while entry and entry != table and len(out) < 1 << 16:
        out.append(entry)
        entry = k.mem.read_q(entry + _NEXT_IN_ENTRY)
    return out


def _link(k, table: int, entries: list[int]) -> None:
    chain = entries + [table]
    k.mem.write_q(table + _NEXT_IN_TABLE, chain[0])
    for entry, following in zip(entries, chain[1:]):
        k.mem.write_q(entry + _NEXT_IN_ENTRY, following)


def _name(k, entry: int) -> str:
    return k.read_unicode_string(k.mem.read_q(entry + _PREFIX))


def _matches(prefix: str, name: str, case_insensitive_from: int) -> bool:
    if len(prefix) > len(name) or (len(prefix) < len(name) and name[len(prefix)] != "\\" and prefix != "\\"):
        return False
    cut = min(case_insensitive_from, len(prefix))
    return prefix[:cut] == name[:cut] and prefix[cut:].upper() == name[cut:len(prefix)].upper()


@export("RtlInitializeUnicodePrefix")
def RtlInitializeUnicodePrefix(k, PrefixTable: PVOID) -> None:
    k.write_struct(PrefixTable, ks.UNICODE_PREFIX_TABLE(NodeTypeCode=RTL_NTC_UNICODE_PREFIX_TABLE,
                                                        NextPrefixTree=PrefixTable, LastNextEntry=0))


@export("RtlInsertUnicodePrefix")
def RtlInsertUnicodePrefix(k, PrefixTable: PVOID, Prefix: PUNICODE_STRING, PrefixTableEntry: PVOID) -> BOOLEAN:
    """FALSE when the table already holds this prefix (compared case-insensitively, as Windows does)."""
    name = k.read_unicode_string(Prefix)
    entries = _entries(k, PrefixTable)
    if any(_name(k, e).upper() == name.upper() for e in entries):
        return 0
    k.write_struct(PrefixTableEntry, ks.UNICODE_PREFIX_TABLE_ENTRY(
        NodeTypeCode=RTL_NTC_UNICODE_ROOT, NameLength=name.count("\\") or 1, Prefix=Prefix))
    _link(k, PrefixTable, entries + [PrefixTableEntry])
    return 1


@export("RtlRemoveUnicodePrefix")
def RtlRemoveUnicodePrefix(k, PrefixTable: PVOID, PrefixTableEntry: PVOID) -> None:
    _link(k, PrefixTable, [e for e in _entries(k, PrefixTable) if e != PrefixTableEntry])


@export("RtlFindUnicodePrefix")
def RtlFindUnicodePrefix(k, PrefixTable: PVOID, FullName: PUNICODE_STRING, CaseInsensitiveIndex: ULONG) -> PVOID:
    """The entry of the longest prefix of FullName, or NULL."""
    name = k.read_unicode_string(FullName)
    best, best_length = 0, -1
    for entry in _entries(k, PrefixTable):
        prefix = _name(k, entry)
        if len(prefix) > best_length and _matches(prefix, name, CaseInsensitiveIndex):
            best, best_length = entry, len(prefix)
    return best


@export("RtlNextUnicodePrefix")
def RtlNextUnicodePrefix(k, PrefixTable: PVOID, Restart: BOOLEAN) -> PVOID:
    """Enumeration: the first entry with Restart, then the one after the last returned (LastNextEntry)."""
    entries = _entries(k, PrefixTable)
    last = 0 if Restart else k.mem.read_q(PrefixTable + ks.offset_of(ks.UNICODE_PREFIX_TABLE, "LastNextEntry"))
    following = entries[entries.index(last) + 1:] if last in entries else ([] if last else entries)
    result = following[0] if following else 0
    k.mem.write_q(PrefixTable + ks.offset_of(ks.UNICODE_PREFIX_TABLE, "LastNextEntry"), result)
    return result
