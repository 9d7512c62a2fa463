"""KMDF past one queue: EvtIoInCallerContext, manual queues, forwarding and purging, deferred-work objects,
deletion callbacks, a bus driver's child list, device interfaces, the WPP recorder; and the WFP engine
a callout driver sets up. Every expectation comes from the C sources (tests/drivers/src/kmdf_io.c,
wfp.c: what each driver does and checks itself, returning a failure code on a mismatch) and from
Microsoft's documentation of the functions they call (status codes from ntstatus.h / wdfstatus.h).
"""
from __future__ import annotations

import json
import struct
import uuid

from conftest import driver_path, read
from hooks.wpp import TraceMessage
from verifier.scenario import load
from verifier.session import Options, Session

IOCTL_IO_PARAMS, IOCTL_IO_REJECT, IOCTL_IO_PARK, IOCTL_IO_UNPARK, IOCTL_IO_PURGE = 0x222400, 0x222404, 0x222408, \
    0x22240C, 0x222410
IOCTL_BUS_PLUG = 0x2A2000
STATUS_ACCESS_DENIED, STATUS_CANCELLED = 0xC0000022, 0xC0000120
WDF_REQUEST_TYPE_DEVICE_CONTROL = 0xE
DEFAULT_LENGTH = 256                # the default run's IOCTL input and output buffers
INTERFACE = uuid.UUID("5F6A0A6B-7C3C-4F7E-9D1B-2A3B4C5D6E7F")


def session(name: str, options: Options | None = None) -> Session:
    s = Session(driver_path(name), read(name), options or Options(timeout=30))
    s.run()
    return s


def ioctls(report) -> dict[int, object]:
    return {e.ioctl: e for e in report.entry_points if e.name == "IRP_MJ_DEVICE_CONTROL"}


def test_kmdf_io_default_run_reaches_every_callback():
    s = session("kmdf_io")
    report = s.report
    assert report.entry_points[0].status == 0 and report.bugchecks == [] and report.unimplemented_apis == []
    sent = ioctls(report)
    # the five codes EvtIoInCallerContext and EvtIoDeviceControl compare against
    assert sorted(sent) == [IOCTL_IO_PARAMS, IOCTL_IO_REJECT, IOCTL_IO_PARK, IOCTL_IO_UNPARK, IOCTL_IO_PURGE]
    params = sent[IOCTL_IO_PARAMS]                 # what WdfRequestGetParameters gave the caller context
    assert (params.status, params.information) == (0, 16)
    assert bytes.fromhex(params.output) == struct.pack("<4I", WDF_REQUEST_TYPE_DEVICE_CONTROL, IOCTL_IO_PARAMS,
                                                       DEFAULT_LENGTH, DEFAULT_LENGTH)
    assert sent[IOCTL_IO_REJECT].status == STATUS_ACCESS_DENIED        # completed in the caller context
    park = sent[IOCTL_IO_PARK]                     # pended on the manual queue, completed by UNPARK
    assert park.pending and park.completed and (park.status, park.information) == (0, 0x55)
    assert (sent[IOCTL_IO_UNPARK].status, sent[IOCTL_IO_UNPARK].information) == (0, 1)
    assert sent[IOCTL_IO_PURGE].status == 0
    # the timer, work item and DPC DriverEntry left queued run after the requests, before unload
    names = [e.name for e in report.entry_points]
    deferred = names[names.index("IRP_MJ_CLOSE") + 1:names.index("DriverUnload")]
    assert sorted(deferred) == ["EvtDpcFunc", "EvtTimerFunc", "EvtWorkItemFunc"]
    assert all(e.outcome == "returned" and e.status is None for e in report.entry_points if e.name in deferred)
    lines = [line.strip() for line in report.debug_output]
    assert {"kmdf_io: EvtTimerFunc parent ok", "kmdf_io: EvtWorkItemFunc parent ok",
            "kmdf_io: EvtDpcFunc parent ok"} <= set(lines)
    [purged] = [line for line in lines if line.startswith("kmdf_io: EvtIoQueueState ")]
    assert purged.split()[2:4] == ["manual", "context"] and int(purged.split()[-1], 16) == 0x77
    assert lines[-1] == "kmdf_io: device cleanup"                     # the device is deleted at unload
    assert {"EvtIoInCallerContext", "EvtIoDeviceControl", "EvtIoQueueState", "EvtCleanupCallback",
            "EvtDestroyCallback", "EvtTimerFunc", "EvtWorkItemFunc", "EvtDpcFunc"} <= set(report.wdf.ran)
    assert report.wdf.not_run == []
    assert s.kernel.wdf.objects == {} and s.kernel.wdf.queued == []


def test_kmdf_io_purge_cancels_a_parked_request(tmp_path):
    """A request parked on the manual queue and never taken back: WdfIoQueuePurgeSynchronously completes
    it with STATUS_CANCELLED, after which the PURGE request itself succeeds."""
    path = tmp_path / "purge.json"
    path.write_text(json.dumps({"version": 1, "steps": [
        {"irp": "IRP_MJ_CREATE"},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": hex(IOCTL_IO_PARK), "output_length": 8},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": hex(IOCTL_IO_PURGE)},
        {"irp": "IRP_MJ_CLOSE"}]}))
    report = session("kmdf_io", Options(timeout=30, scenario=load(str(path)))).report
    park, purge = [e for e in report.entry_points if e.name == "IRP_MJ_DEVICE_CONTROL"]
    assert park.pending and park.completed and park.status == STATUS_CANCELLED
    assert (purge.status, purge.pending) == (0, False)


def test_kmdf_bus_child_list_interfaces_and_recorder():
    s = session("kmdf_bus")
    report, k = s.report, s.kernel
    assert [(e.name, e.status) for e in report.entry_points[:2]] == [("DriverEntry", 0), ("AddDevice", 0)]
    assert report.bugchecks == [] and report.unimplemented_apis == []
    [plug] = ioctls(report).values()
    assert (plug.ioctl, plug.status, plug.information) == (IOCTL_BUS_PLUG, 0, 0)
    # WppAutoLogTrace(NULL, 4, 1, &guid, 10, ...) once; EvtDriverUnload stopped the recorder
    guid = uuid.UUID("7D3F2A6E-1B2C-4D5E-8F90-A1B2C3D4E5F6").bytes_le
    assert k.wpp.messages == [TraceMessage(4, 1, guid, 10)] and k.wpp.started == []
    # the framework's interface, enabled once the device started; the one kmdf_bus registered and
    # disabled again through the I/O manager
    framework, wdm = k.interfaces.registered
    assert framework.enabled and framework.link.lower().endswith(f"#{{{INTERFACE}}}")
    assert not wdm.enabled and wdm.pdo == framework.pdo
    # its unnamed FDO's link names the PDO (the one AddDevice got), as KMDF links an unnamed PnP device
    pdo = next(d for d, name in k.devices.items() if name and d in k.io.pdos)
    assert k.symlinks["\\dosdevices\\kmdfbus"] == k.devices[pdo]
    # the compare callback ran; nothing enumerated the bus, so no child was created
    assert "EvtChildListIdentificationDescriptionCompare" in report.wdf.ran
    assert report.wdf.not_run == ["EvtChildListCreateDevice"]


def test_wfp_engine_setup_and_teardown():
    s = session("wfp_engine")
    report, wfp = s.report, s.kernel.wfp
    assert report.entry_points[0].status == 0 and report.unimplemented_apis == [] and report.warnings == []
    # wfp.c deletes, unregisters and closes everything it added
    assert wfp.sessions == {} and wfp.injection_handles == set() and wfp.registered_callouts == {}
    assert all(table == {} for kind, table in wfp.objects.items() if kind != "filter")
    assert len(wfp.objects["filter"]) == 1          # its filter was never deleted by key (wfp.c keeps it)
