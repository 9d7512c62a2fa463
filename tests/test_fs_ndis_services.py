"""Services file systems, redirectors, tools and NDIS drivers call first, driven from our C test drivers.

kernel_more.c, ndis_miniport.c and flt_volumes.c check every result against Microsoft's documentation
themselves (DriverEntry returns 0xE000xxxx on a mismatch, IRP_MJ_CREATE completes with one); these tests
check what the kernel recorded: registrations, the caller's identity in a user request, NDIS state.
"""
from __future__ import annotations

import pytest

from conftest import built
from hooks import kstructs as ks
from hooks.volume import SYSTEM_VOLUME
from test_kernel_services import exported, run

needs = lambda *names: pytest.mark.skipif(built(names) != sorted(names), reason="driver not built")  # noqa: E731


def statuses(session) -> list[tuple[str, int | None]]:
    return [(e.name, e.status) for e in session.report.entry_points]


@needs("kernel_more")
def test_user_request_runs_in_user_mode_as_an_elevated_administrator():
    s = run("kernel_more")
    # Create() completes with what UserCaller() found: STATUS_SUCCESS only if the previous mode was UserMode,
    # SeDebugPrivilege held, SeTcbPrivilege not, and SePrivilegeCheck honoured PRIVILEGE_SET_ALL_NECESSARY
    assert ("IRP_MJ_CREATE", 0) in statuses(s)
    assert s.report.unimplemented_apis == []


@needs("kernel_more")
def test_file_system_registrations_are_recorded_and_undone():
    s = run("kernel_more")
    k = s.kernel
    fs_device = k.mem.read_q(exported(s, "FsDevice"))
    assert k.file_systems.file_systems == [fs_device]          # `other` was registered, then unregistered
    assert k.file_systems.filter_callbacks == {
        s.driver.driver_object: {"PreAcquireForSectionSynchronization": exported(s, "PreAcquire")}}
    assert k.file_systems.unc_providers == []                  # FsRtlDeregisterUncProvider
    assert "\\basenamedobjects\\kernelmorenotify" in k.object_names


@needs("ndis_miniport")
@pytest.mark.parametrize("profile, version", [("win11-23h2", 0x00060057), ("win10-22h2", 0x00060054)])
def test_ndis_version_is_the_one_the_windows_release_ships(profile, version):
    # Microsoft's "Overview of NDIS versions": Windows 11 22H2 (base of 23H2) NDIS 6.87, Windows 10 2004
    # (base of 22H2) NDIS 6.84; NdisGetVersion puts the major version in the high 16 bits
    s = run("ndis_miniport", profile=profile)
    assert s.kernel.mem.read_u32(exported(s, "NdisVersion")) == version


@needs("ndis_miniport")
def test_miniport_unload_handler_becomes_the_drivers_unload_routine():
    s = run("ndis_miniport")
    k = s.kernel
    unload = k.mem.read_q(s.driver.driver_object + ks.offset_of(ks.DRIVER_OBJECT, "DriverUnload"))
    assert unload == exported(s, "MiniportUnload")
    assert ("DriverUnload", None) in statuses(s)
    # MiniportUnload freed both pools and deregistered; the protocol stays registered
    assert k.ndis.miniports == {} and k.ndis.pools == {}
    assert [p.name for p in k.ndis.protocols.values()] == ["HVNDISPROT"]
    assert s.report.pool_leaks == [] and s.report.unimplemented_apis == []


@needs("flt_volumes")
def test_filter_enumerates_the_system_volume():
    s = run("flt_volumes")
    k = s.kernel
    volume = k.mem.read_q(exported(s, "Volume"))
    assert k.mem.read_u32(exported(s, "VolumeCount")) == 1
    assert k.filter_manager.volumes[volume].name == SYSTEM_VOLUME
    assert k.filter_manager.volumes[volume].references == 0    # every reference handed out was dropped
    disk = k.filter_manager.volumes[volume].disk_device          # FltGetDiskDeviceObject's device
    assert k.devices[disk] == SYSTEM_VOLUME
    assert k.object_types.of(k, disk) == k.object_types.address["Device"]
    assert s.report.unimplemented_apis == []                   # push locks included
