"""Kernel services real drivers call (issue 7), driven from our C test drivers.

The C drivers check results against Microsoft's documentation themselves (their DriverEntry
returns 0xE000xxxx on a mismatch, see tests/drivers/src/*.c); these tests check what the kernel
recorded from those calls: deferred work, callbacks, error-log entries, ETW registrations. Expected
addresses come from the drivers' own export tables, expected values from their C sources.
"""
from __future__ import annotations

import pefile
import pytest

from conftest import built, driver_path, read
from hooks import kstructs as ks
from hooks.deferred import QueuedDpc, SystemThread
from verifier.session import Options, Session


def run(name: str, **options) -> Session:
    session = Session(driver_path(name), read(name), Options(timeout=10, **options))
    report = session.run()
    assert report.error is None and report.incomplete is None, (report.error, report.incomplete)
    assert report.bugchecks == []
    assert report.entry_points[0].status == 0, hex(report.entry_points[0].status)
    return session


def exported(session: Session, name: str) -> int:
    """Run-time address of a name the driver exports (its preferred base is not where it runs)."""
    pe = pefile.PE(data=read(session.driver.name))
    rva = next(e.address for e in pe.DIRECTORY_ENTRY_EXPORT.symbols if e.name == name.encode())
    return session.driver.image.base + rva


needs = lambda *names: pytest.mark.skipif(built(names) != sorted(names), reason="driver not built")  # noqa: E731


# ---- dispatcher objects, DPCs, timers, threads ---------------------------------------------------------
def ran(session: Session, kind: type, **fields) -> list:
    """Records of the deferred work the session ran, of one kind, matching `fields`."""
    return [r for r in session.kernel.deferred.ran
            if isinstance(r, kind) and all(getattr(r, f) == v for f, v in fields.items())]


def entry_points(session: Session) -> list[tuple[str, str, int | None]]:
    return [(e.name, e.outcome, e.status) for e in session.report.entry_points]


@needs("dispatcher")
def test_queued_dpc_runs_with_the_drivers_routine_context_and_arguments():
    s = run("dispatcher")
    (queued,) = ran(s, QueuedDpc, dpc=exported(s, "QueuedDpc"))
    assert (queued.routine, queued.context) == (exported(s, "DpcRoutine"), exported(s, "QueuedContext"))
    assert (queued.argument1, queued.argument2, queued.api) == (0x1111, 0x2222, "KeInsertQueueDpc")
    assert s.rva(queued.caller) is not None                   # the call came from the driver's code
    assert s.kernel.mem.read_u32(exported(s, "QueuedContext")) == 1     # DpcRoutine: (*Context)++
    assert ("Dpc", "returned", None) in entry_points(s)


@needs("dispatcher")
def test_an_expired_timer_queues_its_dpc_with_the_expiry_time():
    s = run("dispatcher")
    (timer_dpc,) = ran(s, QueuedDpc, dpc=exported(s, "TimerDpc"))
    assert (timer_dpc.routine, timer_dpc.context) == (exported(s, "TimerDpcRoutine"), exported(s, "TimerContext"))
    assert timer_dpc.api == "KeSetTimer"
    # SystemArgument1/2: the low and high parts of the system time at expiry, 10 ms after the start
    expiry = timer_dpc.argument1 | timer_dpc.argument2 << 32
    assert 0 < expiry <= s.kernel.system_time
    assert s.kernel.deferred.timers == {}                      # a one-shot timer leaves the queue
    assert s.kernel.mem.read_u32(exported(s, "TimerContext")) == 1      # TimerDpcRoutine: (*Context)++
    assert ("Timer", "returned", None) in entry_points(s)


@needs("dispatcher")
def test_created_system_thread_runs_while_driver_entry_waits_for_it():
    s = run("dispatcher")
    (thread,) = s.kernel.deferred.threads.values()
    assert (thread.start_routine, thread.context) == (exported(s, "ThreadStart"), exported(s, "StopEvent"))
    assert thread.process == s.kernel.system_process
    assert ran(s, SystemThread, thread=thread.thread) == [thread]
    # DriverEntry set StopEvent, then waited (no timeout) for the thread to end: the thread ran then
    # (its wait satisfied, it terminated), so that wait was satisfied and nothing was left blocked
    assert s.kernel.deferred.blocked_waits == []
    assert thread.exit_status == 0
    assert entry_points(s)[:2] == [("DriverEntry", "returned", 0), ("SystemThread", "exited", 0)]


# ---- error log, ETW, notifications ----------------------------------------------------------------------
@needs("notify")
def test_written_error_log_entry_is_in_the_report_and_the_unwritten_one_is_not():
    s = run("notify")
    (entry,) = s.report.error_log                             # the second entry was freed, not written
    assert entry.source == "\\Driver\\notify"
    assert (entry.error_code, entry.unique_error_value, entry.final_status) == (0xC0040001, 0x1234, 0xC00000A3)
    assert entry.major_function == 0x0E                       # IRP_MJ_DEVICE_CONTROL
    assert entry.dump_data == [0xAAAA5555, 0x12345678] and entry.strings == ["hvci-insertion"]
    assert entry.caller_rva is not None
    assert not s.kernel.error_log.allocated                   # written and freed entries are gone
    assert all(a.tag != 0x72456F49 for a in s.kernel.pool.live.values())


@needs("notify")
def test_error_log_renders_in_json_and_text():
    import json

    from verifier.render.json_report import render_json
    from verifier.render.text import render_text
    from verifier.report import Report
    s = run("notify")
    report = Report("run", [s.report])
    (logged,) = json.loads(render_json(report))["drivers"][0]["error_log"]
    assert logged["error_code"] == 0xC0040001 and logged["strings"] == ["hvci-insertion"]
    assert logged["dump_data"] == [0xAAAA5555, 0x12345678] and logged["source"] == "\\Driver\\notify"
    text = render_text(report)
    assert "error log: \\Driver\\notify: ErrorCode 0xc0040001, UniqueErrorValue 0x1234, FinalStatus 0xc00000a3" in text
    assert "'hvci-insertion'" in text and "aaaa5555 12345678" in text


@needs("notify")
def test_etw_providers_are_recorded_with_their_writes():
    s = run("notify")
    first, classic = s.kernel.etw.providers.values()
    # HvciProviderGuid / HvciClassicGuid in notify.c
    assert first.guid == "{6f1c2a30-1d2e-4f5a-9b0c-112233445566}" and first.api == "EtwRegister"
    # two EtwWrite, one each of EtwWriteString, EtwWriteEx, EtwWriteTransfer; then unregistered
    assert (first.writes, first.registered) == (5, False)
    assert classic.guid == "{6f1c2a31-1d2e-4f5a-9b0c-112233445566}" and classic.api == "EtwRegisterClassicProvider"
    assert (classic.enable_callback, classic.context) == (exported(s, "ClassicCallback"), exported(s, "HvciContext"))
    assert classic.registered and classic.writes == 0


def _active(s: Session) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in s.kernel.callbacks.registered:
        if c.active:
            out.setdefault(c.kind, []).append(c)
    return out


@needs("notify", "notify_signed")
@pytest.mark.parametrize("name", ["notify", "notify_signed"])
def test_registered_callbacks_name_the_drivers_routines(name):
    s = run(name)
    active = _active(s)
    device = s.kernel.object_names[f"\\device\\hvcinotify_{name}"]
    context = exported(s, "HvciContext")
    expected = {
        "shutdown": [(exported(s, "ShutdownDispatch"), device)],
        "last-chance-shutdown": [(exported(s, "ShutdownDispatch"), device)],
        "pnp": [(exported(s, "PnpCallback"), context)],
        "process-create": [(exported(s, "ProcessNotify"), 0)],
        "image-load": [(exported(s, "ImageNotify"), 0)],
        "registry": [(exported(s, "RegistryCallback"), context)],     # CmRegisterCallbackEx's was unregistered
        "bugcheck-reason": [(exported(s, "ReasonCallback"), exported(s, "ReasonRecord"))],
        "callback-object": [(exported(s, "PowerStateCallback"), context)],
    }
    if name == "notify_signed":               # only an /INTEGRITYCHECK image may register these
        expected["process-create-ex"] = [(exported(s, "ProcessNotifyEx"), 0)]
        expected["object-pre"] = [(exported(s, "PreOperation"), context)]
    assert {kind: [(c.routine, c.context) for c in found] for kind, found in active.items()} == expected
    assert active["pnp"][0].detail == "device interface {6f1c2a32-1d2e-4f5a-9b0c-112233445566}"
    assert active["callback-object"][0].detail == "\\callback\\powerstate"
    assert all(s.rva(c.caller) is not None for found in active.values() for c in found)
    if name == "notify_signed":
        assert active["object-pre"][0].detail == "PsProcessType operations 0x1 altitude 321000"
    # registered, then unregistered: kept, inactive
    gone = [(c.kind, c.api) for c in s.kernel.callbacks.registered if not c.active]
    assert sorted(gone) == sorted(
        [("shutdown", "IoRegisterShutdownNotification"),            # the second, unnamed device
         ("pnp", "IoRegisterPlugPlayNotification"), ("pnp", "IoRegisterPlugPlayNotification"),
         ("process-create", "PsSetCreateProcessNotifyRoutine"), ("thread-create", "PsSetCreateThreadNotifyRoutine"),
         ("image-load", "PsSetLoadImageNotifyRoutine"), ("registry", "CmRegisterCallbackEx"),
         ("bugcheck", "KeRegisterBugCheckCallback"), ("callback-object", "ExRegisterCallback"),
         ("power-setting", "PoRegisterPowerSettingCallback")]
        + ([("object-pre", "ObRegisterCallbacks")] if name == "notify_signed" else []))


@needs("notify")
def test_non_cached_memory_is_not_executable():
    from emu.memory import PTE_NX, PTE_P, PTE_W
    s = run("notify")
    block = s.kernel.mem.read_q(exported(s, "NonCached"))
    for page in (block, block + 0x1000):
        pte = s.kernel.mem.pte(page)
        assert pte & PTE_P and pte & PTE_W and pte & PTE_NX



# ---- RtlQueryRegistryValues: QueryRoutines are driver code run from inside the kernel ---------------------
@needs("regquery")
def test_registry_query_leaves_the_values_the_driver_wrote_and_deleted():
    s = run("regquery")
    key = s.kernel.registry.open("\\Registry\\Machine\\System\\CurrentControlSet\\Services\\regquery\\Parameters")
    # regquery.c writes Dword, Text, Expand, Multi, Blob; deletes Dword (DELETE flag) and Text
    assert sorted(v.name for v in key.values.values()) == ["Blob", "Expand", "Multi"]
    assert key.values["multi"].data == "one\0two\0\0".encode("utf-16-le")
    # the strings the kernel allocated for DIRECT entries were freed by the driver (RtlFreeUnicodeString),
    # the name/data buffers handed to QueryRoutines by the kernel
    assert [a for a in s.kernel.pool.live.values() if a.tag == 0x53727452] == []


@needs("regquery_fault")
def test_fault_in_a_query_routine_is_a_bug_check_in_the_drivers_routine():
    session = Session(driver_path("regquery_fault"), read("regquery_fault"), Options(timeout=10))
    report = session.run()
    (b,) = report.bugchecks
    assert (b.code, b.args[0], b.args[1]) == (0x50, 0xFFFFF80DEAD00000, 2)
    routine = exported(session, "FaultingRoutine")
    assert routine <= b.args[2] < routine + 0x40             # the faulting instruction is in the QueryRoutine
    assert report.entry_points[0].outcome == "bugcheck"


def test_nested_call_returns_to_the_interrupted_kernel_routine():
    """A kernel routine that calls driver code twice gets both results and the driver continues."""
    from emu.memory import PROT_RX, poke
    from hooks.kernel import Kernel
    k = Kernel()
    code = 0xFFFFF80370000000
    k.mem.map_new(code, 0x1000, PROT_RX)
    stub = k.address_of("ntoskrnl.exe", "KeQueryTimeIncrement")
    # sub rsp,28h; mov rax,stub; call rax; add eax,1000h; add rsp,28h; ret  /  callee: lea eax,[rcx+1]; ret
    poke(k.mem, code, bytes.fromhex("4883ec28") + b"\x48\xb8" + stub.to_bytes(8, "little")
         + bytes.fromhex("ffd0" "0500100000" "4883c428c3"))
    poke(k.mem, code + 0x100, bytes.fromhex("8d4101c3"))
    callee = code + 0x100
    k.stubs.bind(stub, lambda rcx, rdx, r8, r9, rsp: k.call_nested(callee, [41]) + k.call_nested(callee, [1]))
    stop = k.call(code, [])
    assert (stop.kind, stop.return_value & 0xFFFFFFFF) == ("returned", 42 + 2 + 0x1000)


@needs("dispatcher_terminate")
def test_terminating_the_running_thread_ends_driver_entry():
    session = Session(driver_path("dispatcher_terminate"), read("dispatcher_terminate"), Options(timeout=10))
    report = session.run()
    # DriverEntry's thread ended in PsTerminateSystemThread(0x1234): it exited, it did not return
    assert [(e.name, e.outcome, e.status) for e in report.entry_points] == [("DriverEntry", "exited", 0x1234)]
    assert report.bugchecks == [] and report.incomplete is None
    header = session.kernel.read_struct(ks.DISPATCHER_HEADER, session.kernel.current_thread)
    assert header.SignalState == 1                             # a terminated thread is signalled
