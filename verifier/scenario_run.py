"""After DriverEntry: the driver's other routines, called as Windows would call them.

Order: (PnP drivers) AddDevice with a PDO, IRP_MN_START_DEVICE, IRP_MJ_POWER D0; then the
scenario's IRPs to the top of the driver's device stack (the default: CREATE, the IOCTLs, a small
READ and WRITE when the driver handles them, CLEANUP, CLOSE); (PnP) IRP_MN_REMOVE_DEVICE; then
DriverUnload, and with pool tracking (verifier flag 0x8) the allocations the driver still holds.
Every routine that ran gets an `EntryPointResult`; routines the driver set that never ran are
listed. A bug check stops the sequence, as it stops Windows.
"""
from __future__ import annotations

from emu.memory import MemoryFault
from hooks import kstructs as ks
from hooks.io import ready_device_objects
from hooks.wdf.queue import io_control_callbacks
from hooks.notify import KINDS as NOTIFY_KINDS, VOID_ROUTINES as VOID_NOTIFY_ROUTINES, notifications
from hooks.irp import (IRP_MN_REMOVE_DEVICE, IRP_MN_SET_POWER, IRP_MN_START_DEVICE, STATUS_PENDING, IrpRecord,
                       IrpRequest, major_name, nt_success)
from verifier.bugcheck import DRIVER_VERIFIER_DETECTED_VIOLATION, PAGE_FAULT_IN_NONPAGED_AREA, BugCheck
from verifier.deferred_run import ROUTINES as DEFERRED_ROUTINES, DeferredWork
from verifier.report import EntryPointResult, PoolLeak
from verifier.triage import EntryKind
from verifier.warning import DriverWarning
from verifier.scenario import DEFAULT_INPUT, DEFAULT_OUTPUT, Scenario, Step, ioctl_step, small_transfer

POOL_TRACKING_FLAG = 0x8
LOW_RESOURCES_FLAG = 0x4          # low resources simulation: here, the allocations a step's fail_allocation names
POOL_LEAK_AT_UNLOAD = 0x62        # 0xC4 Arg1: a driver unloads without freeing its pool allocations
VOID_ROUTINES = ("DriverUnload", "CancelRoutine", *DEFERRED_ROUTINES, *VOID_NOTIFY_ROUTINES)
_MAJOR = ks.offset_of(ks.DRIVER_OBJECT, "MajorFunction")
_DEVICE_TYPE = ks.offset_of(ks.DEVICE_OBJECT, "DeviceType")


class ScenarioRun:
    def __init__(self, session, scenario: Scenario | None, ioctls: list[Step]):
        self.session, self.scenario, self.ioctls = session, scenario, ioctls
        self.k = session.kernel
        self.driver = session.driver
        self.invalid = self.k.module_exports["ntoskrnl.exe"]["IopInvalidDeviceRequest"]
        self.ran: set[str] = {"DriverEntry"}
        self.step_number = 0
        self.planned: list[Step] = []       # the requests this run meant to send (the default's: harvested IOCTLs)
        self.sent: list[Step] = []          # the steps it sent, as a scenario file would spell them
        self.pnp = False                    # the driver has an AddDevice routine
        self.device: int | None = None      # where the user's requests go (`start`)
        self.file_object = 0                # the handle they are sent on
        self.opened = 0                     # handles the CREATEs opened and no CLOSE closed yet

    # ---- reading the driver's registrations ------------------------------------------------------
    def major_routine(self, major: int) -> int:
        return self.k.mem.read_q(self.driver.driver_object + _MAJOR + 8 * major)

    def handles(self, major: int) -> bool:
        return self.major_routine(major) != self.invalid

    def _extension(self, field: str) -> int:
        ext = self.k.mem.read_q(self.driver.driver_object + ks.offset_of(ks.DRIVER_OBJECT, "DriverExtension"))
        return self.k.mem.read_q(ext + ks.offset_of(ks.DRIVER_EXTENSION, field))

    def devices(self) -> list[int]:
        """The driver's devices in creation order, from the kernel's device table (as the object
        manager finds them), not from the DRIVER_OBJECT list the driver can overwrite."""
        owner = ks.offset_of(ks.DEVICE_OBJECT, "DriverObject")
        return [d for d in self.k.devices if self.k.mem.read_q(d + owner) == self.driver.driver_object]

    def target(self) -> int | None:
        """The device a user opens: one a symbolic link names, else a named one, else the first."""
        k = self.k
        devices = self.devices()
        linked = {name.lower() for name in k.symlinks.values()}
        for wanted in (lambda d: (k.devices.get(d) or "").lower() in linked, lambda d: k.devices.get(d), bool):
            for dev in devices:
                if wanted(dev):
                    return dev
        return None

    # ---- the sequence ------------------------------------------------------------------------------
    def run(self, driver_entry: EntryPointResult) -> None:
        scenario = self.scenario
        if self.session.options.flags & LOW_RESOURCES_FLAG and \
                not (scenario and any(s.fail_allocation for s in scenario.steps)):
            self.session.warn(DriverWarning("low-resources", "low resources simulation (0x4) fails the allocations "
                                            "a scenario step names with fail_allocation, and none is named: "
                                            "`verifier fuzz --flags 0x4` chooses which allocations fail"))
        # Windows unloads a driver whose DriverEntry failed without calling anything else.
        try:
            if driver_entry.outcome == "returned" and nt_success(driver_entry.status or 0):
                self._sequence()
            self._not_run()
        except MemoryFault as fault:
            self._kernel_fault(fault)

    def _kernel_fault(self, fault: MemoryFault) -> None:
        """The I/O manager followed a pointer the driver left in its objects: Windows faults there too."""
        b = BugCheck(PAGE_FAULT_IN_NONPAGED_AREA, (fault.address, 2 if fault.access == "write" else 0, 0, 0),
                     entry_point=self.session.triage.entry_point)
        b.notes.append(f"the I/O manager could not {fault.access} 0x{fault.address:x}, a pointer the driver left "
                       "in its DRIVER_OBJECT or DEVICE_OBJECT")
        self.session.record(b)

    def _sequence(self) -> None:
        if not self.start():
            return
        if self.device is not None and not self.requests(self._steps(self.device)):
            return
        if self.scenario is None and not self._events():
            return
        if not DeferredWork(self).run():
            return
        if self.pnp and not self._irp(self.device, Step(IrpRequest(ks.IRP_MJ_PNP, IRP_MN_REMOVE_DEVICE, user=False))):
            return
        unload = self.k.mem.read_q(self.driver.driver_object + ks.offset_of(ks.DRIVER_OBJECT, "DriverUnload"))
        if unload:
            if self._call("DriverUnload", unload, [self.driver.driver_object]) and \
                    self.session.options.flags & POOL_TRACKING_FLAG:
                self._leaks()

    def start(self) -> bool:
        """PnP drivers: AddDevice with a PDO, IRP_MN_START_DEVICE, IRP_MJ_POWER D0. Sets `device`, where
        the user's requests go, and opens a handle to it; False when a bug check ended the run."""
        ready_device_objects(self.k, self.devices())
        add_device = self._extension("AddDevice")
        self.pnp = bool(add_device)
        if add_device:
            pdo = self.k.io.create_pdo()
            if not self._call("AddDevice", add_device, [self.driver.driver_object, pdo]):
                return False
            self.device = pdo
            for major, minor in ((ks.IRP_MJ_PNP, IRP_MN_START_DEVICE), (ks.IRP_MJ_POWER, IRP_MN_SET_POWER)):
                if not self._irp(pdo, Step(IrpRequest(major, minor, user=False))):
                    return False
        else:
            self.device = self.target()
        if self.device is not None:
            self.file_object = self.k.io.new_file_object(self.device)
            self.k.io.process.handles.open(self.file_object)
        return True

    def requests(self, steps: list[Step]) -> bool:
        """The user's requests on the open handle; False when a bug check ended the run."""
        device, file_object = self.device, self.file_object
        sent: dict[int, IrpRecord] = {}
        refused: list[int] = []          # steps not sent: the handle they need was never opened
        self.planned = steps
        for self.step_number, step in enumerate(self.planned, 1):
            creating = step.request is not None and step.request.major == ks.IRP_MJ_CREATE
            if refused and step.request is not None and not creating:
                refused.append(self.step_number)
                continue
            self.sent.append(step)
            if step.notify is not None:
                if not self._notify(step.notify):
                    return False
                continue
            if step.cancel is not None:
                if not self._cancel(sent.get(step.cancel), step.cancel):
                    return False
                continue
            record = self._irp(device, step, file_object)
            if record is None:
                return False
            sent[self.step_number] = record
            if creating:
                # Windows opens no handle when CREATE fails, so nothing else is ever sent on it
                refused = [self.step_number] if record.completed and not nt_success(record.status or 0) else []
                self.opened += 0 if refused else 1
                self.k.io.count_handle(device, 0 if refused else 1)
            elif step.request is not None and step.request.major == ks.IRP_MJ_CLOSE and self.opened:
                self.opened -= 1
                self.k.io.count_handle(device, -1)
        if len(refused) > 1:
            self.session.warn(DriverWarning("create-failed", f"IRP_MJ_CREATE (step {refused[0]}) failed: Windows opens "
                                            "no handle then, so steps " + ", ".join(map(str, refused[1:])) +
                                            " were not sent"))
        return True

    def _events(self) -> bool:
        """The default scenario's system events: each registered notification routine gets its kind's
        event, and devices registered for shutdown notification get IRP_MJ_SHUTDOWN."""
        for kind in NOTIFY_KINDS:
            if notifications(self.k, kind):
                self.sent.append(Step(None, notify=kind))
            if not self._notify(kind):
                return False
        callbacks = self.k.callbacks
        for cb in callbacks.active("shutdown") + callbacks.active("last-chance-shutdown"):
            if not self._irp(cb.cookie, Step(IrpRequest(ks.IRP_MJ_SHUTDOWN, user=False))):
                return False
        return True

    def _notify(self, kind: str) -> bool:
        """One event of `kind` to every routine registered for it, in the user process that caused
        it (a system service: an unhandled exception there is 0x3B); False when a bug check ended the run."""
        for n in notifications(self.k, kind):
            self.ran.add(n.name)
            with self.k.io.requestor(True):
                result = self.session.call_entry(n.name, n.callback.routine, n.args, EntryKind.SYSTEM_SERVICE)
            if n.name in VOID_ROUTINES and result.outcome == "returned":
                result.status = None                 # the routine returns VOID
            if self.session.bugchecked(result):
                return False
        return True

    def _cancel(self, record: IrpRecord | None, number: int) -> bool:
        if record is None or record.completed:
            self.session.warn(DriverWarning("nothing-to-cancel", f"step {self.step_number} cancels step {number}, "
                                            "whose IRP is not outstanding: nothing to cancel"))
            return True
        call = self.k.io.start_cancel(record.irp)
        if call is None:
            return True                                  # IoCancelIrp returns FALSE: no cancel routine set
        with self.k.io.requestor(record.request.user):
            return self._call("CancelRoutine", *call, EntryKind.ARBITRARY_THREAD)

    def _steps(self, device: int) -> list[Step]:
        if self.scenario is not None:
            return self.scenario.steps
        ioctls = self.ioctls or [ioctl_step(code, DEFAULT_INPUT, DEFAULT_OUTPUT) for code in self.harvested()]
        steps = [Step(IrpRequest(ks.IRP_MJ_CREATE))] + ioctls + [
            small_transfer(ks.IRP_MJ_READ), small_transfer(ks.IRP_MJ_WRITE),
            Step(IrpRequest(ks.IRP_MJ_CLEANUP)), Step(IrpRequest(ks.IRP_MJ_CLOSE))]
        return [s for s in steps if self.handles(s.request.major)]

    def harvested(self) -> list[int]:
        """The IOCTL codes the driver's control-code routines compare against: its DEVICE_CONTROL routine,
        or for a KMDF driver (whose DEVICE_CONTROL routine is the framework's) the queue callbacks its
        IOCTLs reach (EvtIoInCallerContext, EvtIoDeviceControl, EvtIoInternalDeviceControl, EvtIoDefault)."""
        image = self.driver.image
        routines = io_control_callbacks(self.k, self.driver.driver_object) or \
            [self.major_routine(ks.IRP_MJ_DEVICE_CONTROL)]
        routines = [r for r in routines if image.contains(r)]
        if not routines:
            return []
        types = {self.k.mem.read_u32(d + _DEVICE_TYPE) for d in self.devices()}
        from verifier.harvest import harvest      # capstone: only drivers with a DEVICE_CONTROL routine
        return sorted({code for r in routines for code in harvest(self.k.mem.read, r, image.base, image.size, types)})

    def _call(self, name: str, routine: int, args: list[int], kind: EntryKind = EntryKind.SYSTEM_THREAD) -> bool:
        """Run a routine; True when it returned. DriverUnload and cancel routines return VOID: no status."""
        self.ran.add(name)
        result = self.session.call_entry(name, routine, args, kind)
        if name in VOID_ROUTINES:
            result.status = None
        return result.outcome == "returned"

    def _irp(self, device: int, step: Step, file_object: int = 0) -> IrpRecord | None:
        """Send one IRP; its record, or None when a bug check ended the run."""
        io, request = self.k.io, step.request
        record = io.build(device, request, file_object)
        routine, args = io.next_location(record.irp, io.top_of_stack(device))
        name = major_name(request.major)
        self.ran.add(name)
        if step.fail_allocation:
            self.k.pool.fail({step.fail_allocation})
        with io.requestor(request.user):         # a user request runs in a system service; PnP in a system thread
            result = self.session.call_entry(name, routine, args,
                                             EntryKind.SYSTEM_SERVICE if request.user else EntryKind.SYSTEM_THREAD)
        if step.fail_allocation:
            self.k.pool.fail(())
        result.ioctl = request.ioctl
        result.minor = request.minor if request.major in (ks.IRP_MJ_PNP, ks.IRP_MJ_POWER) else None
        result.expected_status = step.expect_status
        result.pending = result.status == STATUS_PENDING
        _update(result, record)
        record.on_complete = lambda r: _update(result, r)    # a pending IRP completed later
        if result.outcome == "returned" and step.expect_status is not None and result.status != step.expect_status:
            self.session.warn(DriverWarning("unexpected-status", f"{name} step {self.step_number} ended with "
                                            f"0x{result.status:08X}, the scenario expects 0x{step.expect_status:08X}"))
        return record if result.outcome == "returned" else None

    def _not_run(self) -> None:
        names = []
        if self._extension("AddDevice"):
            names.append("AddDevice")
        names += [major_name(m) for m in range(ks.IRP_MJ_MAXIMUM_FUNCTION + 1) if self.handles(m)]
        if self.k.mem.read_q(self.driver.driver_object + ks.offset_of(ks.DRIVER_OBJECT, "DriverUnload")):
            names.append("DriverUnload")
        self.session.report.registered_not_run = [n for n in names if n not in self.ran]

    def _leaks(self) -> None:
        """Pool tracking at unload: what the driver allocated and never freed -> 0xC4 / 0x62."""
        image = self.driver.image
        leaks = [a for a in self.k.pool.live.values() if a.tracked and image.contains(a.owner)]
        if not leaks:
            return
        report = self.session.report
        report.pool_leaks = [PoolLeak(a.tag, a.size, image.rva(a.owner), a.address) for a in leaks]
        b = BugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, (POOL_LEAK_AT_UNLOAD, image.name, 0, len(leaks)),
                     entry_point="DriverUnload")
        b.notes.append(f"{len(leaks)} allocation(s), {sum(a.size for a in leaks)} bytes, not freed at unload "
                       "(pool_leaks lists tag, size and allocating call site)")
        self.session.record(b)


def _update(result: EntryPointResult, record: IrpRecord) -> None:
    """The IRP's final status and output, for a routine that returned (one that completed the IRP and
    then bug checked never returned: it keeps no status)."""
    result.completed = record.completed
    if record.completed and result.outcome == "returned":
        result.status, result.information, result.output = record.status, record.information, record.output.hex()
