"""WDFLDR.SYS, the KMDF loader: WdfVersionBind gives a driver the framework's function table.

A KMDF driver's startup code (the stub linked into every KMDF driver, FxDriverEntry) fills a
WDF_BIND_INFO with the version it was built for and calls WdfVersionBind, then calls the framework
as `WdfFunctions[WdfXxxTableIndex](WdfDriverGlobals, ...)`. As in KMDF's
FxLibraryCommonRegisterClient (src/framework/kmdf/src/librarycommon/fxlibrarycommon.cpp): the
client's FuncCount must be the table size of a released version no newer than the framework's;
up to 1.13's size the table is copied into the driver's array, from 1.15 on the driver's
WdfFunctions pointer is set to the framework's table. The framework is the newest the data knows
(rootfs/wdf/kmdf.json, 1.33 as on Windows 11).

The table is Wdf01000.sys's: a module built on the first bind whose routines are stubs, one per
table slot, each bound like an export: the handler if declared, else a stand-in named after the WDF
function and typed by its prototype (rootfs/prototypes/wdf01000.sys.json, hooks.standins). The first
call through each slot is noted (`Framework.calls`), then the slot is rebound to the plain routine,
so a framework call costs what an export call costs.
"""
from __future__ import annotations


from hooks import kstructs as ks
from hooks.api import NTSTATUS, PDRIVER_OBJECT, PUNICODE_STRING, PVOID, export
from hooks.wdf.framework import (FRAMEWORK, STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS,
                                 WDFLDR, Client, table)
from hooks.wdf.request import INTERNAL_ROUTINES

LAST_COPIED_VERSION = "1.13"           # up to this version's table size, the table is copied


def _build_library(k) -> int:
    """Build Wdf01000.sys and its function table (in kernel data); returns the table's address."""
    names = [f["name"] for f in table()["functions"]]
    k.add_library(FRAMEWORK, names + list(INTERNAL_ROUTINES))
    addresses = [k.address_of(FRAMEWORK, name) for name in names]
    for name, address in zip(names, addresses):
        k.stubs.bind(address, _noting_first_call(k, name, address, k.stubs.routines[address]))
    va = k.alloc_kdata(8 * len(addresses))
    k.mem.write(va, b"".join(a.to_bytes(8, "little") for a in addresses))
    return va


def _noting_first_call(k, name: str, address: int, routine):
    def first_call(rcx, rdx, r8, r9, rsp):
        k.wdf.calls.append(name)
        k.stubs.bind(address, routine)
        return routine(rcx, rdx, r8, r9, rsp)
    return first_call


def _component(k, address: int, limit: int = 32) -> str:
    """BindInfo.Component (e.g. L"KmdfLibrary"), read a character at a time so a short string at the
    end of a page does not read past it."""
    chars = []
    while address and len(chars) < limit:
        char = int.from_bytes(k.mem.read(address + 2 * len(chars), 2), "little")
        if char == 0:
            break
        chars.append(chr(char))
    return "".join(chars)


def released_sizes() -> dict[str, int]:
    return table()["table_sizes"]


@export("WdfVersionBind", module=WDFLDR)
def WdfVersionBind(k, DriverObject: PDRIVER_OBJECT, RegistryPath: PUNICODE_STRING, BindInfo: PVOID,
                   ComponentGlobals: PVOID) -> NTSTATUS:
    if not BindInfo or not ComponentGlobals:
        return STATUS_INVALID_PARAMETER
    info = k.read_struct(ks.WDF_BIND_INFO, BindInfo)
    if info.Version.Major != 1:
        return STATUS_OBJECT_NAME_NOT_FOUND          # no Wdf0<major>000 library to load
    sizes = released_sizes()
    if not info.FuncTable or info.FuncCount not in sizes.values():
        return STATUS_INVALID_PARAMETER
    if not k.wdf.table:
        k.wdf.table = _build_library(k)
    globals_va = k.new_struct(ks.WDF_DRIVER_GLOBALS(), tag=0x72447846)
    component = _component(k, info.Component)
    k.wdf.clients[globals_va] = Client(globals_va, DriverObject, RegistryPath,
                                       (info.Version.Major, info.Version.Minor, info.Version.Build),
                                       info.FuncCount, info.FuncTable, component)
    if info.FuncCount <= sizes[LAST_COPIED_VERSION]:
        k.mem.write(info.FuncTable, k.mem.read(k.wdf.table, 8 * info.FuncCount))
    else:
        k.mem.write_q(info.FuncTable, k.wdf.table)
    k.mem.write_q(ComponentGlobals, globals_va)
    return STATUS_SUCCESS


@export("WdfVersionUnbind", module=WDFLDR)
def WdfVersionUnbind(k, RegistryPath: PUNICODE_STRING, BindInfo: PVOID, ComponentGlobals: PVOID) -> NTSTATUS:
    client = k.wdf.clients.get(ComponentGlobals)
    if client is None or client.unbound:
        return STATUS_INVALID_PARAMETER
    client.unbound = True               # kept for the report: what the driver bound to and registered
    return STATUS_SUCCESS


