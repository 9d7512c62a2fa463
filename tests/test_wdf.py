"""KMDF: binding through WDFLDR.SYS, the framework's objects, and the six DDIs that take a POOL_TYPE.

Expectations come from tests/drivers/src/kmdf.c (what each driver does; it checks most results
itself and returns a failure code), from KMDF's source and headers (microsoft/Windows-Driver-
Frameworks: fxlibrarycommon.cpp for binding, fxdriverapi.cpp for names and tags, fxhandle.h for
handle checks) and from the corpus manifest (the exact 0xC4 of each _exec driver).
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import uuid
from unittest import mock

import pytest

import rootfs
from conftest import DRIVERS, driver_path, load_manifest, read, runtime_of
from hooks import kstructs as ks
from hooks.api import EXPORTS
from hooks.kernel import Kernel
from hooks.wdf.device import pnp_device_init
from hooks.wdf.framework import FRAMEWORK, FX_TYPE_DEVICE, FX_TYPE_QUEUE, table
from hooks.wdf.request import INTERNAL_ROUTINES
from verifier.cli import main
from verifier.scenario_run import ScenarioRun
from verifier.session import Options, Session, run_driver

MANIFEST = load_manifest()
# kmdf.c's DriverEntry deletes a parent object with one child: the child's cleanup and destroy callbacks
# (then the parent's cleanup) run first, as WdfObjectDelete runs them
DRIVER_ENTRY_DELETES = ["EvtCleanupCallback", "EvtDestroyCallback"]
FUNCTIONS = table()["functions"]
INDEX = {f["name"]: i for i, f in enumerate(FUNCTIONS)}
DO_BUFFERED_IO, DO_DIRECT_IO, DO_DEVICE_INITIALIZING = 0x4, 0x10, 0x80
STATUS_NOT_IMPLEMENTED = 0xC0000002


def run(name: str, path: str | None = None) -> Session:
    """Load the driver (a corpus driver, or the file at `path`) and run DriverEntry only: what it built,
    before the default run's IRPs and DriverUnload (test_default_run_reaches_the_framework_callbacks
    covers those)."""
    path = path or driver_path(name)
    with open(path, "rb") as fh:
        session = Session(path, fh.read(), Options(timeout=30))
    with mock.patch.object(ScenarioRun, "run", lambda self, entry: None):
        session.run()
    return session


def device_add(session: Session):
    """Call the driver's EvtDriverDeviceAdd as the framework does when PnP adds its device."""
    k = session.kernel
    client = next(iter(k.wdf.clients.values()))
    return session.call_entry("EvtDriverDeviceAdd", client.config["EvtDriverDeviceAdd"],
                              [client.driver.handle, pnp_device_init(k, client)])


def objects_of(k, fx_type: int) -> list:
    return [o for o in k.wdf.objects.values() if o.type == fx_type]


def wdf_call_sites(name: str) -> dict[str, list[tuple[str, int]]]:
    """tests/drivers/check_corpus.py's call-site finder: KMDF calls are `call [reg+8*index]`."""
    spec = importlib.util.spec_from_file_location("check_corpus", os.path.join(DRIVERS, "check_corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import pefile
    return module.call_sites(pefile.PE(data=read(name)))


# ---- the generated table ------------------------------------------------------------------------------------
def test_table_cites_its_source_and_has_the_released_sizes():
    data = table()
    assert data["_source"]["repository"] == "microsoft/Windows-Driver-Frameworks"
    assert re.fullmatch(r"[0-9a-f]{40}", data["_source"]["commit"])
    # WdfFunctionTableNumEntries of KMDF 1.9 (Windows 7) and 1.15 (Windows 10 1507), as the WDK headers give them
    assert data["table_sizes"]["1.9"] == 396 and data["table_sizes"]["1.15"] == 444
    assert len(FUNCTIONS) == data["table_sizes"][data["framework"]]
    assert FUNCTIONS[0]["name"] == "WdfChildListCreate"


def test_compat_header_indices_match_the_table():
    text = open(os.path.join(DRIVERS, "src", "wdf_compat.h"), encoding="utf-8").read()
    indices = dict(re.findall(r"#define (Wdf\w+)TableIndex (\d+)", text))
    assert len(indices) > 50
    assert {n: int(i) for n, i in indices.items()} == {n: INDEX[n] for n in indices}


def test_every_handler_has_the_framework_prototype():
    """Each Wdf01000.sys handler takes PWDF_DRIVER_GLOBALS, then the table function's parameters."""
    handlers = [e for e in EXPORTS.values() if e.module == FRAMEWORK and e.name not in INTERNAL_ROUTINES]
    assert len(handlers) > 60
    protos = rootfs.prototypes(FRAMEWORK)
    assert sorted(protos.names()) == sorted(INDEX)
    for exp in handlers:
        proto = protos.routine(exp.name)
        assert [p for p, _ in exp.params] == [p for p, _ in proto["params"]], exp.name
        assert proto["params"][0] == ["DriverGlobals", "PWDF_DRIVER_GLOBALS"]
        assert (exp.returns.name == "VOID") == (proto["returns"] == "VOID"), exp.name


# ---- binding -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def control() -> Session:
    return run("kmdf_control")


def test_control_driver_binds_and_builds_a_control_device(control):
    report, k = control.report, control.kernel
    assert report.error is None and report.incomplete is None
    assert report.entry_points[0].status == 0
    assert report.unimplemented_apis == []
    assert [w for w in report.warnings if w.kind in ("stub-module", "unknown-exports")] == []
    client = next(iter(k.wdf.clients.values()))
    assert (client.version, client.func_count, client.component) == ((1, 15, 0), 444, "KmdfLibrary")
    # from 1.15 on the framework sets the driver's WdfFunctions pointer to its table
    assert k.mem.read_q(client.func_table) == k.wdf.table
    assert k.mem.read_q(k.wdf.table + 8 * INDEX["WdfDriverCreate"]) == k.address_of(FRAMEWORK, "WdfDriverCreate")
    assert k.symbol(k.address_of(FRAMEWORK, "WdfDriverCreate")) == "Wdf01000.sys!WdfDriverCreate"
    [device] = objects_of(k, FX_TYPE_DEVICE)
    assert device.state.control and device.state.name == "\\Device\\KmdfControl"
    assert k.devices[device.state.device_object] == "\\Device\\KmdfControl"
    assert k.symlinks["\\dosdevices\\kmdfcontrol"] == "\\Device\\KmdfControl"
    assert set(device.state.callbacks) == {"EvtDeviceFileCreate", "EvtFileClose"}
    default, manual = objects_of(k, FX_TYPE_QUEUE)
    assert (default.state.dispatch, default.state.default) == ("parallel", True)
    assert set(default.state.callbacks) == {"EvtIoDeviceControl"}
    assert all(control.driver.image.contains(a) for a in default.state.callbacks.values())
    assert (manual.state.dispatch, manual.state.default, manual.state.callbacks) == ("manual", False, {})
    assert device.state.dispatching == {0xF: manual}                    # WdfRequestTypeDeviceControlInternal
    assert k.wdf.device_inits == {}                                      # one consumed, one freed
    assert k.wdf.calls[:3] == ["WdfDriverCreate", "WdfDriverWdmGetDriverObject", "WdfControlDeviceInitAllocate"]


def test_delete_runs_child_callbacks_before_the_parent(control):
    """kmdf.c deletes a WdfObjectCreate parent with one WDFMEMORY child (cleanup + destroy callbacks)."""
    k = control.kernel
    kinds = [(kind, handle) for kind, _, handle in k.wdf.deleted]
    assert len(kinds) == 3
    child, parent = kinds[0][1], kinds[2][1]
    assert kinds == [("EvtCleanupCallback", child), ("EvtDestroyCallback", child), ("EvtCleanupCallback", parent)]
    assert child != parent and child not in k.wdf.objects and parent not in k.wdf.objects
    assert all(control.driver.image.contains(routine) for _, routine, _ in k.wdf.deleted)


def test_clang_twin_behaves_the_same():
    report = run("kmdf_control_clang").report
    assert report.incomplete is None and report.entry_points[0].status == 0 and report.unimplemented_apis == []


def test_kmdf_1_9_gets_a_copy_of_the_table():
    k = run("kmdf_bind_v9").kernel
    client = next(iter(k.wdf.clients.values()))
    assert (client.version[:2], client.func_count) == ((1, 9), 396)
    assert k.mem.read(client.func_table, 8 * 396) == k.mem.read(k.wdf.table, 8 * 396)


def test_an_unreleased_table_size_is_refused():
    session = run("kmdf_bad_count")
    assert session.report.entry_points[0].status == 0xC000000D
    assert FRAMEWORK.lower() not in session.kernel.modules and not session.kernel.wdf.clients


def test_unimplemented_functions_are_typed_stand_ins_named_after_the_function(control):
    k = control.kernel
    globals_ = next(iter(k.wdf.clients))
    # the answers hooks.standins gives by declared type: NULL handle, FALSE, STATUS_NOT_IMPLEMENTED
    for name, expected in (("WdfDeviceGetDriver", 0), ("WdfRequestIsCanceled", 0),
                           ("WdfDeviceAssignMofResourceName", STATUS_NOT_IMPLEMENTED)):
        assert name not in EXPORTS
        stop = k.call(k.address_of(FRAMEWORK, name), [globals_, 0, 0, 0])
        assert stop.kind == "returned" and stop.return_value == expected, name
        assert k.unimplemented[name].module == FRAMEWORK


def test_a_handle_of_the_wrong_type_is_wdf_violation():
    report = run("kmdf_bad_handle").report
    [b] = report.bugchecks
    driver = next(iter(runtime_of(MANIFEST["kmdf_bad_handle"])))
    assert (b.code, b.api) == (0x10D, "WdfDeviceWdmGetDeviceObject") == (driver["code"], driver["api"])
    assert b.args[0] == 5 and b.args[2] == 0x1002
    assert b.args[1] & 7 == 0 and b.args[1] ^ ~7 & (2**64 - 1) >= 0xFFFF800000000000   # a WDFDRIVER handle


# ---- PnP: EvtDriverDeviceAdd ------------------------------------------------------------------------------
def test_pnp_device_add_creates_the_device_and_its_default_queue():
    session = run("kmdf_pnp")
    k = session.kernel
    assert session.report.entry_points[0].status == 0
    client = next(iter(k.wdf.clients.values()))
    tag = k.read_struct(ks.WDF_DRIVER_GLOBALS, client.globals).DriverTag
    assert client.tag == tag == 0x5066644B                        # DriverPoolTag 'PfdK' as kmdf.c sets it
    assert client.config["EvtDriverDeviceAdd"] and client.config["DriverInitFlags"] == 0
    assert not objects_of(k, FX_TYPE_DEVICE)
    assert device_add(session).status == 0
    [device] = objects_of(k, FX_TYPE_DEVICE)
    assert not device.state.control and device.state.name is None
    flags = k.read_struct(ks.DEVICE_OBJECT, device.state.device_object).Flags
    assert flags & DO_BUFFERED_IO and not flags & (DO_DIRECT_IO | DO_DEVICE_INITIALIZING)
    assert {"EvtDevicePrepareHardware", "EvtDeviceD0Entry"} <= set(device.state.callbacks)
    [queue] = objects_of(k, FX_TYPE_QUEUE)
    assert (queue.state.dispatch, queue.state.default) == ("sequential", True)
    assert set(queue.state.callbacks) == {"EvtIoRead", "EvtIoWrite", "EvtIoDeviceControl"}
    # kmdf.c: power policy owner, a child list, interface {5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F}, BusNumber 7
    assert device.state.power_policy_owner is True
    assert "EvtChildListCreateDevice" in device.state.callbacks
    assert device.state.interfaces == [(uuid.UUID("5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F").bytes_le, "")]
    bus = ks.PNP_BUS_INFORMATION.from_buffer_copy(device.state.bus_information)
    assert (bytes(bus.BusTypeGuid), bus.LegacyBusType, bus.BusNumber) == (bytes(16), 0, 7)     # Internal = 0


# ---- the six DDIs that take a POOL_TYPE -------------------------------------------------------------------
# the property DDIs' drivers (kmdf_bus's device add needs the PDO the default run gives it: test_wdf_io.py)
ADD_TIME = sorted(n for n, e in MANIFEST.items() if "device_add" in e and n not in ("kmdf_pnp", "kmdf_bus"))
ENTRY_TIME = sorted(n for n, e in MANIFEST.items() if n.startswith("kmdf_") and n.endswith(("_exec", "_exec_clang"))
                    and "device_add" not in e)


@pytest.mark.parametrize("name", ADD_TIME)
def test_property_ddis_at_device_add(name):
    session = run(name)
    assert session.report.entry_points[0].status == 0 and session.report.bugchecks == []
    result = device_add(session)
    expected = runtime_of({"runtime": MANIFEST[name]["device_add"]["runtime"]})
    assert len(session.report.bugchecks) == len(expected)
    if not expected:
        assert result.status == 0
        return
    [want], [got] = expected, session.report.bugchecks
    assert (got.code, got.args[0], got.api, got.args[2], got.args[3]) == \
        (want["code"], want["rule"], want["api"], want["args"][2], want["args"][3])
    assert got.entry_point == "EvtDriverDeviceAdd"
    assert wdf_call_sites(name)[want["api"]] == [("wdf", got.caller_rva)]


@pytest.mark.parametrize("name", ENTRY_TIME)
def test_entry_time_ddis_are_caught_at_their_table_call(name):
    report = run(name).report
    [got] = report.bugchecks
    assert wdf_call_sites(name)[got.api] == [("wdf", got.caller_rva)]
    assert got.args[1] == report.image_base + got.caller_rva


def test_all_six_ddis_have_a_violating_driver_and_a_clean_twin():
    apis = set()
    for name, entry in MANIFEST.items():
        if name.startswith("kmdf_") and name.endswith("_exec"):
            twin = MANIFEST[name[:-len("_exec")] + "_nx"]
            found = entry["runtime"] + entry.get("device_add", {}).get("runtime", [])
            assert twin["runtime"] == [] and twin.get("device_add", {}).get("runtime", []) == []
            apis.update(f["api"] for f in found)
    assert apis == {"WdfLookasideListCreate", "WdfMemoryCreate", "WdfDeviceAllocAndQueryProperty",
                    "WdfDeviceAllocAndQueryPropertyEx", "WdfFdoInitAllocAndQueryProperty",
                    "WdfFdoInitAllocAndQueryPropertyEx", "WdfIoTargetAllocAndQueryTargetProperty",
                    "WdfRegistryQueryMemory"}


def test_kernel_without_kmdf_drivers_builds_no_framework():
    k = Kernel()
    assert "wdfldr.sys" not in k.modules and FRAMEWORK.lower() not in k.modules and k.wdf.table == 0



# ---- the report ------------------------------------------------------------------------------------------
def test_report_names_version_devices_queues_and_callbacks(control, capsys):
    wdf = control.report.wdf
    image = control.driver.image
    assert (wdf.version, wdf.func_count) == ("1.15", 444)
    assert list(wdf.driver_callbacks) == ["EvtDriverUnload"]           # a non-PnP driver has no device add
    [device] = wdf.devices
    assert (device.name, device.control, list(device.callbacks)) == \
        ("\\Device\\KmdfControl", True, ["EvtDeviceFileCreate", "EvtFileClose"])
    queue, manual = device.queues
    assert (queue.dispatch, queue.default, list(queue.callbacks)) == ("parallel", True, ["EvtIoDeviceControl"])
    assert (manual.dispatch, manual.default, manual.callbacks) == ("manual", False, {})
    assert all(0 < rva < image.size for rva in [*device.callbacks.values(), *queue.callbacks.values()])
    assert main(["run", driver_path("kmdf_control")]) == 0
    assert ("  wdf: KMDF 1.15 (444 functions); control device \\Device\\KmdfControl "
            "[default parallel queue: EvtIoDeviceControl; manual queue: none]; "
            "ran EvtCleanupCallback, EvtDestroyCallback, EvtDeviceFileCreate, EvtIoDeviceControl, EvtFileClose, "
            "EvtDriverUnload; never ran EvtTimerFunc, EvtDpcFunc") in capsys.readouterr().out.splitlines()


def test_default_run_harvests_the_ioctls_of_the_queue_callback():
    """A KMDF driver's DEVICE_CONTROL routine is the framework's: the codes come from its queue's
    EvtIoDeviceControl, which kmdf.c writes as a compare against IOCTL_KMDF_XOR (0x222000). Sent with the
    default 256 zero bytes and a 256-byte output buffer, the callback XORs each byte with 0x5A and
    completes with Information = the input length."""
    report = run_driver(driver_path("kmdf_control"), read("kmdf_control"), Options(timeout=30))
    [ioctl] = [e for e in report.entry_points if e.name == "IRP_MJ_DEVICE_CONTROL"]
    assert (ioctl.ioctl, ioctl.status, ioctl.information) == (0x222000, 0, 256)
    assert bytes.fromhex(ioctl.output) == b"\x5a" * 256
    assert "EvtIoDeviceControl" in report.wdf.ran and "EvtIoDeviceControl" not in report.wdf.not_run


def test_wdm_drivers_have_no_wdf_record():
    assert run("pool_tag_nx").report.wdf is None


@pytest.mark.realworld
def test_windivert_builds_its_control_device_and_queue_with_no_stand_in():
    """WinDivert's DriverEntry (windivert.c in basil00/WinDivert) creates a non-PnP WDFDRIVER, a control
    device \\Device\\WinDivert (FILE_DEVICE_NETWORK, direct I/O, file create/close/cleanup, an
    in-caller-context callback), a parallel default queue for device control, its symbolic link, then
    installs its WFP provider and sublayers (one session, one transaction) and its injection handles."""
    from realworld import fetch
    session = run("WinDivert64.sys", fetch("WinDivert64.sys"))
    report, k = session.report, session.kernel
    assert k.wdf.calls[:11] == ["WdfDriverCreate", "WdfControlDeviceInitAllocate", "WdfDeviceInitSetDeviceType",
                                "WdfDeviceInitSetIoType", "WdfDeviceInitAssignName",
                                "WdfDeviceInitSetFileObjectConfig", "WdfDeviceInitSetIoInCallerContextCallback",
                                "WdfDeviceCreate", "WdfIoQueueCreate", "WdfDeviceCreateSymbolicLink",
                                "WdfControlFinishInitializing"]
    assert report.entry_points[0].status == 0
    assert report.unimplemented_apis == []                         # WFP and the framework answer for real
    # the provider and its sublayers were committed: the one session it keeps open has no transaction left
    assert len(k.wfp.objects["provider"]) == 1 and k.wfp.objects["sublayer"]
    [wfp_session] = k.wfp.sessions.values()
    assert not wfp_session.in_transaction and k.wfp.injection_handles
    assert (report.wdf.version, report.wdf.func_count) == ("1.9", 396)
    [device] = report.wdf.devices
    assert (device.name, device.control) == ("\\Device\\WinDivert", True)
    assert set(device.callbacks) == {"EvtDeviceFileCreate", "EvtFileClose", "EvtFileCleanup", "EvtIoInCallerContext"}
    queue = device.queues[0]
    assert (queue.dispatch, queue.default, list(queue.callbacks)) == ("parallel", True, ["EvtIoDeviceControl"])
    flags = k.read_struct(ks.DEVICE_OBJECT, k.object_names["\\device\\windivert"])
    assert flags.DeviceType == 0x12 and flags.Flags & DO_DIRECT_IO                # FILE_DEVICE_NETWORK
    assert k.symlinks["\\??\\windivert"] == "\\Device\\WinDivert"


# The entry points on the way from loading a real KMDF driver to its EvtIoDeviceControl
PATH_TO_IOCTL = {"DriverEntry", "AddDevice", "EvtDriverDeviceAdd", "IRP_MJ_PNP", "IRP_MJ_CREATE", "EvtDeviceFileCreate",
                 "IRP_MJ_DEVICE_CONTROL", "EvtIoInCallerContext", "EvtIoDeviceControl"}


@pytest.mark.slow
@pytest.mark.realworld
@pytest.mark.parametrize("name", ["WinDivert64.sys", "ViGEmBus.sys"])
def test_real_kmdf_driver_reaches_evt_io_device_control_with_no_stand_in_on_the_way(name):
    """The default run: DriverEntry, device creation, CREATE and the IOCTLs harvested from the queue's
    EvtIoDeviceControl (WinDivert's go through its EvtIoInCallerContext first): EvtIoDeviceControl
    runs, and no stand-in answered anything on the way there (coverage stays full)."""
    from realworld import fetch
    path = fetch(name)
    with open(path, "rb") as fh:
        report = run_driver(path, fh.read(), Options(timeout=60))
    assert report.bugchecks == [] and report.incomplete is None and report.coverage == "full"
    assert report.entry_points[0].status == 0
    assert "EvtIoDeviceControl" in report.wdf.ran and "EvtIoDeviceControl" not in report.wdf.not_run
    assert [e.ioctl for e in report.entry_points if e.name == "IRP_MJ_DEVICE_CONTROL"]
    assert [(u.name, u.entry_points) for u in report.unimplemented_apis
            if PATH_TO_IOCTL & set(u.entry_points)] == []


def added_real_device(name: str):
    """A real KMDF PnP driver after DriverEntry and its EvtDriverDeviceAdd, both succeeding, with no
    stand-in for a WDFLDR.SYS or framework function on the way; returns the kernel."""
    from realworld import fetch
    session = run(name, fetch(name))
    assert session.report.entry_points[0].status == 0
    assert device_add(session).status == 0
    k = session.kernel
    assert [u.name for u in k.unimplemented.values() if u.module in (FRAMEWORK, "wdfldr.sys")] == []
    return k


@pytest.mark.realworld
def test_vigembus_adds_its_bus_device_with_no_framework_stand_in():
    """ViGEmBus (nefarius/ViGEmBus, from the vgamepad sdist's MSI): a KMDF bus driver. DriverEntry creates
    a PnP WDFDRIVER; its EvtDriverDeviceAdd builds the bus FDO (power policy owner, a default child list,
    file object callbacks), a parallel default queue for device control and its device interface."""
    k = added_real_device("ViGEmBus.sys")
    assert {"WdfDeviceCreate", "WdfIoQueueCreate", "WdfDeviceCreateDeviceInterface"} <= set(k.wdf.calls)
    [device] = objects_of(k, FX_TYPE_DEVICE)
    assert not device.state.control and "EvtChildListCreateDevice" in device.state.callbacks
    [queue] = objects_of(k, FX_TYPE_QUEUE)
    assert queue.state.default and "EvtIoDeviceControl" in queue.state.callbacks


# ---- requests: the WDM entry points WdfDriverCreate installs ----------------------------------------
IRP_MJ_CREATE, IRP_MJ_CLOSE, IRP_MJ_READ, IRP_MJ_DEVICE_CONTROL, IRP_MJ_INTERNAL_DEVICE_CONTROL = 0, 2, 3, 0xE, 0xF
IOCTL_KMDF_XOR = 0x222000                 # kmdf.c: METHOD_BUFFERED, out[i] = in[i] ^ 0x5A
STATUS_INVALID_DEVICE_REQUEST, STATUS_PENDING = 0xC0000010, 0x103


def send(k, driver_object: int, device_object: int, major: int, code: int = 0, data: bytes = b"",
         out_length: int = 0, minor: int = 0) -> tuple[int, int, int, bytes]:
    """Build a one-location IRP as the I/O manager would for a buffered request and call the driver's
    MajorFunction[major]: (returned status, IoStatus.Status, IoStatus.Information, system buffer)."""
    size = ctypes.sizeof(ks.IRP) + ctypes.sizeof(ks.IO_STACK_LOCATION)
    irp = k.pool.allocate(size, executable=False, paged=False, tag=0x20707249, owner=0)
    buffer = k.pool.allocate(max(len(data), out_length, 1), executable=False, paged=False, tag=0x66756253, owner=0)
    k.mem.write(irp, bytes(size))
    k.mem.write(buffer, data)
    k.mem.write_q(irp + ks.offset_of(ks.IRP, "AssociatedIrp"), buffer)
    k.mem.write_q(irp + ks.offset_of(ks.IRP, "Tail.Overlay.CurrentStackLocation"), irp + ctypes.sizeof(ks.IRP))
    stack = ks.IO_STACK_LOCATION()
    stack.MajorFunction, stack.MinorFunction, stack.DeviceObject = major, minor, device_object
    control = stack.Parameters.DeviceIoControl
    control.OutputBufferLength, control.InputBufferLength, control.IoControlCode = out_length, len(data), code
    k.write_struct(irp + ctypes.sizeof(ks.IRP), stack)
    routine = k.read_struct(ks.DRIVER_OBJECT, driver_object).MajorFunction[major]
    stop = k.call(routine, [device_object, irp])
    assert stop.kind == "returned", stop
    status, information = k.mem.read_q(irp + ks.offset_of(ks.IRP, "IoStatus")), \
        k.mem.read_q(irp + ks.offset_of(ks.IRP, "IoStatus") + 8)
    output = k.mem.read(buffer, max(len(data), out_length))
    return stop.return_value & 0xFFFFFFFF, status & 0xFFFFFFFF, information, output


@pytest.fixture()
def control_device():
    session = run("kmdf_control")
    k = session.kernel
    [device] = objects_of(k, FX_TYPE_DEVICE)
    return session, k, session.driver.driver_object, device.state.device_object


def test_driver_object_entry_points_lead_into_the_framework(control_device):
    session, k, driver_object, _ = control_device
    driver = k.read_struct(ks.DRIVER_OBJECT, driver_object)
    dispatch = k.address_of(FRAMEWORK, "FxDeviceDispatch")
    assert list(driver.MajorFunction) == [dispatch] * 28
    assert driver.DriverUnload == k.address_of(FRAMEWORK, "FxDriverUnload")     # non-PnP with EvtDriverUnload
    extension = k.read_struct(ks.DRIVER_EXTENSION, driver.DriverExtension)
    assert extension.AddDevice == 0                                            # non-PnP: no AddDevice


def test_ioctl_reaches_evt_io_device_control_and_completes(control_device):
    _, k, driver_object, device_object = control_device
    data = b"\x00\x01\x02KMDF"
    returned, status, information, out = send(k, driver_object, device_object, IRP_MJ_DEVICE_CONTROL,
                                              IOCTL_KMDF_XOR, data, 16)
    assert (returned, status, information) == (0, 0, len(data))
    assert out[:len(data)] == bytes(b ^ 0x5A for b in data)
    assert send(k, driver_object, device_object, IRP_MJ_DEVICE_CONTROL, 0x222004, data, 16)[:2] == \
        (STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_DEVICE_REQUEST)
    assert [o for o in k.wdf.objects.values() if o.type == 0x1008] == []       # completed requests are gone
    assert k.wdf.ran == [*DRIVER_ENTRY_DELETES, "EvtIoDeviceControl"]


def test_create_and_close_reach_the_file_callbacks(control_device):
    _, k, driver_object, device_object = control_device
    assert send(k, driver_object, device_object, IRP_MJ_CREATE)[:2] == (0, 0)   # EvtDeviceFileCreate completes
    assert send(k, driver_object, device_object, IRP_MJ_CLOSE)[:2] == (0, 0)
    assert "WdfRequestCompleteWithInformation" in k.wdf.calls                    # only EvtFileCreate calls it
    assert [o for o in k.wdf.objects.values() if o.type == 0x1018] == []       # the WDFFILEOBJECT closed


def test_requests_without_a_callback_fail_and_a_manual_queue_keeps_them(control_device):
    _, k, driver_object, device_object = control_device
    # the default queue has no EvtIoRead or EvtIoDefault
    assert send(k, driver_object, device_object, IRP_MJ_READ)[:2] == \
        (STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_DEVICE_REQUEST)
    # internal device control goes to the manual queue: the request waits there
    returned, status, _, _ = send(k, driver_object, device_object, IRP_MJ_INTERNAL_DEVICE_CONTROL, 0x222003)
    assert (returned, status) == (STATUS_PENDING, 0)
    [pending] = [o for o in k.wdf.objects.values() if o.type == 0x1008]
    assert pending.parent.state.dispatch == "manual"


def test_driver_unload_runs_evt_driver_unload_and_deletes_the_driver(control_device):
    session, k, driver_object, _ = control_device
    unload = k.read_struct(ks.DRIVER_OBJECT, driver_object).DriverUnload
    assert session.call_entry("DriverUnload", unload, [driver_object]).outcome == "returned"
    assert k.wdf.objects == {}
    assert k.wdf.ran == [*DRIVER_ENTRY_DELETES, "EvtDriverUnload"]


def test_pnp_add_device_is_the_frameworks_and_calls_evt_driver_device_add():
    session = run("kmdf_pnp")
    k = session.kernel
    driver = k.read_struct(ks.DRIVER_OBJECT, session.driver.driver_object)
    add_device = k.read_struct(ks.DRIVER_EXTENSION, driver.DriverExtension).AddDevice
    assert add_device == k.address_of(FRAMEWORK, "FxDriverAddDevice")
    assert session.call_entry("AddDevice", add_device, [session.driver.driver_object, 0]).status == 0
    assert len(objects_of(k, FX_TYPE_DEVICE)) == 1 and len(objects_of(k, FX_TYPE_QUEUE)) == 1


@pytest.mark.realworld
def test_wetest_usb_filter_adds_a_filter_device_with_no_framework_stand_in():
    """WeTestUsbFilter (Tencent WeTest, KMDF 1.15): its EvtDriverDeviceAdd makes a filter device
    (WdfFdoInitSetFilter) with PnP/power callbacks and creates it."""
    k = added_real_device("WeTestUsbFilter.sys")
    assert k.wdf.calls[:5] == ["WdfDriverCreate", "WdfFdoInitSetFilter", "WdfDeviceInitSetDeviceType",
                               "WdfDeviceInitSetPnpPowerEventCallbacks", "WdfDeviceCreate"]
    [device] = objects_of(k, FX_TYPE_DEVICE)
    assert device.state.filter and not device.state.control


@pytest.mark.realworld
def test_scpvbus_gets_past_binding_to_its_executable_lookaside_list():
    """ScpVBus (KMDF 1.9, table copied into its array) used to stop at WdfVersionBind; its DriverEntry now
    reaches ExInitializeNPagedLookasideList with Flags 0, i.e. executable NonPagedPool: 0x2000."""
    import capstone
    import pefile
    from realworld import fetch
    path = fetch("ScpVBus.sys")
    with open(path, "rb") as fh:
        data = fh.read()
    session = Session(path, data, Options(timeout=30))
    session.run()
    [b] = session.report.bugchecks
    assert (b.code, b.args[0], b.api, b.args[2]) == (0xC4, 0x2000, "ExInitializeNPagedLookasideList", 0)
    assert (session.report.wdf.version, session.report.wdf.func_count) == ("1.9", 396)
    # Arg4 is the Tag the driver stores as the call's sixth argument ([rsp+0x28]) just before the call
    pe = pefile.PE(data=data)
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    stores = [i for i in md.disasm(pe.get_data(b.caller_rva - 32, 32), b.caller_rva - 32)
              if i.mnemonic == "mov" and i.op_str.startswith("dword ptr [rax - 0x20], ")]
    assert stores and b.args[3] == int(stores[-1].op_str.split(", ")[1], 16)


def test_pnp_start_and_remove_run_the_device_callbacks_in_order():
    """kmdf_pnp registers EvtDevicePrepareHardware and EvtDeviceD0Entry (both return STATUS_SUCCESS):
    START_DEVICE runs them in that order; REMOVE_DEVICE deletes the device and its DEVICE_OBJECT."""
    session = run("kmdf_pnp")
    k = session.kernel
    driver_object = session.driver.driver_object
    assert device_add(session).status == 0
    [device] = objects_of(k, FX_TYPE_DEVICE)
    device_object = device.state.device_object
    irp_mj_pnp, irp_mn_start, irp_mn_remove = 0x1B, 0x00, 0x02
    assert send(k, driver_object, device_object, irp_mj_pnp, minor=irp_mn_start)[:2] == (0, 0)
    assert k.wdf.ran == ["EvtDevicePrepareHardware", "EvtDeviceD0Entry"]
    assert send(k, driver_object, device_object, irp_mj_pnp, minor=irp_mn_remove)[:2] == (0, 0)
    assert objects_of(k, FX_TYPE_DEVICE) == [] and device_object not in k.devices


def test_default_run_reaches_the_framework_callbacks():
    """`verifier run`'s default scenario sends CREATE, the harvested IOCTL, READ, WRITE, CLEANUP and CLOSE to
    the device and unloads: kmdf_control's file and queue callbacks and EvtDriverUnload run through the
    framework."""
    session = Session(driver_path("kmdf_control"), read("kmdf_control"), Options(timeout=10))
    session.run()
    assert session.report.wdf.ran == [*DRIVER_ENTRY_DELETES, "EvtDeviceFileCreate", "EvtIoDeviceControl", "EvtFileClose",
                                      "EvtDriverUnload"]
    assert session.report.wdf.not_run == ["EvtTimerFunc", "EvtDpcFunc"]       # created, never started
    assert [d.name for d in session.report.wdf.devices] == ["\\Device\\KmdfControl"]     # reported after unload
    assert session.kernel.wdf.objects == {}


@pytest.mark.realworld
def test_vigembus_default_run_opens_its_bus_with_no_framework_bug_check():
    """The default run reaches ViGEmBus's EvtDeviceFileCreate, which asks WdfFileObjectGetDevice for the
    file object's device: without it the stand-in's NULL handle was KMDF's wrong-handle bug check 0x10D."""
    from realworld import fetch
    path = fetch("ViGEmBus.sys")
    with open(path, "rb") as fh:
        report = run_driver(path, fh.read(), Options(timeout=30))
    assert report.bugchecks == [] and report.incomplete is None
    assert ("IRP_MJ_CREATE", 0) in [(e.name, e.status) for e in report.entry_points]
    assert "WdfFileObjectGetDevice" in report.wdf.calls and "EvtDeviceFileCreate" in report.wdf.ran
