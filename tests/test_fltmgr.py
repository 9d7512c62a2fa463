"""fltmgr.sys: the module a minifilter imports, what its registration records, and its unload.

Expectations come from tests/drivers/src/flt.c (what flt_minifilter registers and does) and from
Microsoft's fltkernel reference; the corpus tests (test_run_rules) already check each driver's
DriverEntry status and the exact 0xC4 of flt_pool_exec / flt_context_exec.
"""
from __future__ import annotations

import ctypes

import pytest

from conftest import driver_path, read
from hooks import kstructs as ks
from verifier.session import Options, Session

IRP_MJ_CREATE, IRP_MJ_WRITE = 0x00, 0x04
FLT_INSTANCE_CONTEXT = 0x0002
FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO = 0x1


def run(name: str) -> Session:
    session = Session(driver_path(name), read(name), Options(timeout=10))
    session.run()
    return session


def loaded_module_names(k) -> list[str]:
    """BaseDllName of every entry on PsLoadedModuleList, walked through the guest's links."""
    head = k.loaded_module_list
    names, entry = [], k.mem.read_q(head)
    while entry != head and len(names) < 64:
        ldr = k.read_struct(ks.LDR_DATA_TABLE_ENTRY, entry)
        names.append(k.mem.read(ldr.BaseDllName.Buffer, ldr.BaseDllName.Length).decode("utf-16-le"))
        entry = k.mem.read_q(entry)
    return names


@pytest.fixture(scope="module")
def minifilter() -> Session:
    return run("flt_minifilter")


def test_fltmgr_is_a_module_not_stand_ins(minifilter):
    report, k = minifilter.report, minifilter.kernel
    assert report.error is None and report.incomplete is None
    assert report.entry_points[0].status == 0
    assert report.unimplemented_apis == []
    assert [w for w in report.warnings if w.kind in ("stub-module", "unknown-exports")] == []
    assert "fltmgr.sys" in loaded_module_names(k)
    assert k.symbol(k.address_of("fltmgr.sys", "FltRegisterFilter")) == "fltmgr.sys!FltRegisterFilter"


def test_module_is_built_only_for_drivers_that_import_it():
    k = run("pool_tag_nx").kernel
    assert "fltmgr.sys" not in k.modules
    assert "fltmgr.sys" not in loaded_module_names(k)


def test_registration_is_recorded_for_dispatch(minifilter):
    k = minifilter.kernel
    image = minifilter.driver.image
    (flt,) = k.filter_manager.filters.values()
    assert flt.name == "flt_minifilter" and flt.version == 0x0203 and flt.started
    assert flt.driver_object == minifilter.driver.driver_object
    assert [(op.major, op.flags, bool(op.pre), bool(op.post)) for op in flt.operations] == [
        (IRP_MJ_CREATE, 0, True, True), (IRP_MJ_WRITE, FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO, True, False)]
    routines = [op.pre for op in flt.operations] + [flt.operations[0].post] + list(flt.callbacks.values())
    assert all(image.contains(r) for r in routines)
    assert sorted(flt.callbacks) == ["FilterUnloadCallback", "InstanceSetupCallback"]
    (context,) = flt.contexts
    assert (context.type, context.size, context.tag) == (FLT_INSTANCE_CONTEXT, 8, int.from_bytes(b"xtCF", "big"))
    (port,) = k.filter_manager.ports.values()
    assert port.name == "\\HvciFltPort" and port.max_connections == 1 and port.filter is flt
    assert all(image.contains(r) for r in (port.connect, port.disconnect, port.message))
    (instance,) = k.filter_manager.instances.values()
    assert instance.filter is flt and instance.references == 0      # every reference handed out was dropped


def test_contexts_and_names_are_released(minifilter):
    k = minifilter.kernel
    fm = k.filter_manager
    (instance,) = fm.instances.values()
    # The instance keeps the one context set on it (one reference: the driver released its own).
    assert list(fm.contexts) == [instance.context] and fm.contexts[instance.context].references == 1
    assert fm.names == {}


def test_filter_unload_closes_port_and_unregisters():
    session = run("flt_minifilter")
    k = session.kernel
    fm = k.filter_manager
    (flt,) = fm.filters.values()
    context = next(iter(fm.contexts))
    result = session.call_entry("FilterUnload", flt.callbacks["FilterUnloadCallback"], [0])
    assert result.status == 0
    assert fm.filters == {} and fm.ports == {} and fm.instances == {} and fm.contexts == {}
    assert context not in k.pool.live                           # its last reference went with the instance


def test_executable_pool_call_is_decoded():
    (bugcheck,) = run("flt_pool_exec").report.bugchecks
    assert bugcheck.call.endswith("NonPagedPool, 0x200, 'xEpF')")
    (bugcheck,) = run("flt_context_exec").report.bugchecks
    assert ", 2, 0x40, NonPagedPool, " in bugcheck.call


# Sizes and offsets produced by x86_64-w64-mingw32-gcc from tests/drivers/src/flt_compat.h (itself
# written from Microsoft's documented layouts): sizeof/offsetof emitted as .quad and read back.
LAYOUTS = {
    ks.FLT_REGISTRATION: (0x70, {"Flags": 4, "ContextRegistration": 8, "OperationRegistration": 0x10,
                                 "FilterUnloadCallback": 0x18, "InstanceSetupCallback": 0x20,
                                 "TransactionNotificationCallback": 0x58, "SectionNotificationCallback": 0x68}),
    ks.FLT_OPERATION_REGISTRATION: (0x20, {"Flags": 4, "PreOperation": 8, "PostOperation": 0x10}),
    ks.FLT_CONTEXT_REGISTRATION: (0x38, {"ContextCleanupCallback": 8, "Size": 0x10, "PoolTag": 0x18,
                                         "ContextAllocateCallback": 0x20}),
    ks.FLT_FILE_NAME_INFORMATION: (0x78, {"Name": 8, "Volume": 0x18, "ParentDir": 0x68}),
    ks.FLT_CALLBACK_DATA: (None, {"Iopb": 0x10, "IoStatus": 0x18}),
    ks.FLT_IO_PARAMETER_BLOCK: (0x18, {"TargetFileObject": 8, "TargetInstance": 0x10}),   # Parameters at 0x18
}


@pytest.mark.parametrize("cls", list(LAYOUTS), ids=lambda c: c.__name__)
def test_fltmgr_layouts(cls):
    size, offsets = LAYOUTS[cls]
    if size is not None:
        assert ctypes.sizeof(cls) == size
    for field, offset in offsets.items():
        assert ks.offset_of(cls, field) == offset, field

