"""Notification routines run when the system event they watch happens (issue 8, item 4): the default
scenario scripts one event of each kind (hooks/notify.py) and tests/drivers/src/notify_run.c prints
what each routine was handed. The expected lines are built here from the C format strings and the
event's documented values, not read back from the run."""
from __future__ import annotations

import pytest

from conftest import driver_path, read
from hooks import notify as ev
from verifier.scenario import ScenarioError, load
from verifier.session import Options, run_driver

PROCESS_ALL_ACCESS = 0x1FFFFF


def _p(value: int) -> str:
    return f"{value:016X}"                      # %p: 16 upper-case hex digits on x64


def expected_lines() -> list[str]:
    pid, parent = _p(ev.USER_PROCESS_ID), _p(ev.USER_PARENT_ID)
    return [
        f"notify: process parent={parent} pid={pid} create=1",
        f"notify: process-ex pid={pid} same=1 parent={parent} image={ev.IMAGE_OPEN_NAME} cmd={ev.COMMAND_LINE} "
        f"open-name=1 file=\\Windows\\System32\\notepad.exe",
        f"notify: thread pid={pid} tid={_p(ev.USER_THREAD_ID)} create=1",
        f"notify: image {ev.IMAGE_PATH} pid={pid} base={_p(ev.USER_IMAGE_BASE)} size=0x{ev.USER_IMAGE_SIZE:x} system=0",
        "notify: registry ctx=5a5a set Test type=4 data=1 size=4",             # REG_DWORD 1 into value Test
        f"notify: object pre ctx=5a5a op=1 process=1 access=0x{PROCESS_ALL_ACCESS:x}",
        f"notify: object post ctx=5a5a op=1 granted=0x{PROCESS_ALL_ACCESS:x}",
        "notify: shutdown irp major=16 own-device=1",                          # IRP_MJ_SHUTDOWN
    ]


def test_each_registered_routine_gets_its_event_once_in_order():
    report = run_driver(driver_path("notify_run"), read("notify_run"), Options(timeout=30))
    assert report.error is None and report.incomplete is None and report.bugchecks == []
    assert report.debug_output == expected_lines()
    assert [(e.name, e.outcome, e.status) for e in report.entry_points] == [
        ("DriverEntry", "returned", 0),
        ("PsSetCreateProcessNotifyRoutine", "returned", None),
        ("PsSetCreateProcessNotifyRoutineEx", "returned", None),
        ("PsSetCreateThreadNotifyRoutine", "returned", None),
        ("PsSetLoadImageNotifyRoutine", "returned", None),
        ("CmRegisterCallback", "returned", 0),                  # STATUS_SUCCESS
        ("ObRegisterCallbacks", "returned", 0),                 # OB_PREOP_SUCCESS
        ("ObRegisterCallbacks", "returned", None),              # the post-operation routine returns VOID
        ("IRP_MJ_SHUTDOWN", "returned", 0),
        ("DriverUnload", "returned", None),
    ]


def test_a_violation_reachable_only_when_a_process_starts_is_found_there():
    report = run_driver(driver_path("notify_run_exec"), read("notify_run_exec"), Options(timeout=30))
    (b,) = report.bugchecks
    assert (b.code, b.args[0], b.args[2], b.args[3]) == (0xC4, 0x2000, 0, int.from_bytes(b"crPN", "big"))
    assert b.entry_point == "PsSetCreateProcessNotifyRoutineEx" and b.args[1] == report.image_base + b.caller_rva


def test_a_scenario_step_sends_one_kind_of_event(tmp_path):
    path = tmp_path / "image.json"
    path.write_text('{"version": 1, "steps": [{"notify": "image-load"}, {"notify": "thread-create"}]}')
    report = run_driver(driver_path("notify_run"), read("notify_run"), Options(timeout=30, scenario=load(str(path))))
    assert report.debug_output == [expected_lines()[3], expected_lines()[2]]


def test_a_notify_step_takes_no_other_key_and_only_known_kinds(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"version": 1, "steps": [{"notify": "image-load", "ioctl": 1}, {"notify": "boot"}]}')
    with pytest.raises(ScenarioError) as caught:
        load(str(path))
    assert caught.value.lines == [f"{path}: step 1: a notify step has only the key 'notify'",
                                  f"{path}: step 2: notify 'boot' is not one of the accepted names"]
