"""One verification run: an emulated kernel, a driver, the rules, and the report they produce."""
from __future__ import annotations

import os
from dataclasses import dataclass

from emu.loader import LoadError
from emu.machine import EXC_BREAKPOINT, EXC_DEBUG, EXC_DIVIDE, EXC_DOUBLE_FAULT, EXC_GP, EXC_INVALID_OPCODE, \
    EXC_PAGE_FAULT, Halt, Stop
from emu.memory import PAGE, PTE_P, PTE_W, MemoryFault
from emu.pe import ImageError, PeImage
from hooks.events import Crash, Request
from hooks.kernel import KERNEL_STACK_SIZE, STACK_BASE, DriverContext, Kernel, Unimplemented
from verifier.bugcheck import BugCheck
from verifier.callsite import call_before, disassembly, memory_write, stack_trace
from verifier.image_rules import check_image
from verifier.report import DriverReport, EntryPointResult, UnimplementedApi
from verifier.rules import CODE_INTEGRITY_FLAG, CodeIntegrityRules
from verifier.warning import DriverWarning
from verifier.wdf_summary import wdf_summary

STATUS_BREAKPOINT = 0x80000003
STATUS_SINGLE_STEP = 0x80000004
STATUS_ACCESS_VIOLATION = 0xC0000005
STATUS_ILLEGAL_INSTRUCTION = 0xC000001D
STATUS_INTEGER_DIVIDE_BY_ZERO = 0xC0000094
KMODE_EXCEPTION_NOT_HANDLED = 0x1E
PAGE_FAULT_IN_NONPAGED_AREA = 0x50
ATTEMPTED_WRITE_TO_READONLY_MEMORY = 0xBE
ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY = 0xFC
UNEXPECTED_KERNEL_MODE_TRAP = 0x7F
EXCEPTION_DOUBLE_FAULT = 0x8


@dataclass
class Options:
    flags: int = CODE_INTEGRITY_FLAG
    keep_going: bool = False          # --continue
    strict: bool = False              # stop at the first unimplemented export
    max_instructions: int = 0
    timeout: float = 60.0
    profile: str | None = None


class Session:
    def __init__(self, path: str, data: bytes, options: Options):
        self.path, self.data, self.options = path, data, options
        self.report = DriverReport(path, sha256=DriverReport.digest(data))
        self.kernel: Kernel | None = None
        self.driver: DriverContext | None = None
        self.entry_point = "load"
        self._seen: dict[tuple, BugCheck] = {}

    # ---- called by rules ----------------------------------------------------------------------------
    def rva(self, address: int) -> int | None:
        image = self.kernel.image_at(address) if self.kernel else None
        return image.rva(address) if image else None

    def violation(self, bugcheck: BugCheck, request: Request | None = None) -> None:
        """A rule fired: enrich the bug check, then halt (default) or record and carry on."""
        self._locate(bugcheck, bugcheck.args[1] if isinstance(bugcheck.args[1], int) else None, request)
        if not self.options.keep_going:
            raise Halt(bugcheck)
        self._record(bugcheck)

    def warn(self, warning: DriverWarning) -> None:
        if warning not in self.report.warnings:
            self.report.warnings.append(warning)

    def _record(self, bugcheck: BugCheck) -> None:
        seen = self._seen.get(bugcheck.key())
        if seen:
            seen.count += 1
            return
        self._seen[bugcheck.key()] = bugcheck
        self.report.bugchecks.append(bugcheck)

    def _locate(self, b: BugCheck, caller: int | None, request: Request | None) -> None:
        k = self.kernel
        b.entry_point = self.entry_point
        if request is not None:
            b.call = request.call
        if caller is None:
            return
        b.caller_rva = self.rva(caller)
        call = call_before(k, caller)
        b.disassembly = disassembly(k, call if call is not None else caller, marker=call)
        # The CPU is at a stub or a bad jump target, [RSP] holding the return address: unwind from
        # the caller's side of the call, as if it had returned.
        regs = k.machine.registers()
        regs[4] += 8
        b.stack = stack_trace(k, caller, regs, is_return_address=True)

    # ---- the run ---------------------------------------------------------------------------------------
    def run(self) -> DriverReport:
        name = os.path.basename(self.path)
        try:
            image = PeImage.parse(self.data, name)
        except ImageError as exc:
            self.report.error = str(exc)
            return self.report
        if image.subsystem != 1 and not image.imports_module("ntoskrnl.exe"):
            self.report.error = "not a kernel driver (subsystem is not native and nothing is imported from ntoskrnl.exe)"
            return self.report
        try:
            self.kernel = Kernel(**({"profile": self.options.profile} if self.options.profile else {}))
        except KeyError as exc:
            self.report.error = str(exc.args[0])
            return self.report
        k = self.kernel
        k.machine.time_budget_s = self.options.timeout
        k.machine.instructions_budget = self.options.max_instructions
        if self.options.flags & CODE_INTEGRITY_FLAG:
            CodeIntegrityRules(self)
        other = self.options.flags & ~CODE_INTEGRITY_FLAG
        if other:
            self.warn(DriverWarning("verifier-flags", f"Driver Verifier flags 0x{other:x} are accepted but not "
                                    f"modelled: only code integrity checking (0x{CODE_INTEGRITY_FLAG:08x}) is"))
        try:
            # --continue lets a load-time violation proceed as if allowed: writable code stays writable.
            self.driver = k.load_driver(image, os.path.splitext(name)[0], allow_wx=self.options.keep_going)
        except (ImageError, LoadError) as exc:
            self.report.error = f"cannot load: {exc}"
            return self.report
        self.report.image_base = self.driver.image.base
        if self.options.flags & CODE_INTEGRITY_FLAG and not self._load_time_rules(image):
            return self._finish()
        if self.options.strict:
            k.on_unimplemented = self._stop_at_unimplemented
        self.call_entry("DriverEntry", self.driver.image.entry,
                        [self.driver.driver_object, self.driver.registry_path])
        return self._finish()

    @staticmethod
    def _stop_at_unimplemented(api: Unimplemented) -> None:
        raise Halt(api)

    def _load_time_rules(self, image: PeImage) -> bool:
        """Image rules at load, as Windows applies them; False if the load itself bug checks."""
        found = check_image(image, base=self.driver.image.base)
        self.report.unsupported_relocs = found.unsupported_relocs
        self.report.warnings.extend(found.warnings)
        for b in found.bugchecks:
            b.entry_point = "load"
            self._record(b)
        # Windows 10+ strips W from INIT at load, so an RWX INIT alone does not stop the load.
        fatal = [b for b in found.bugchecks if (b.section or "").upper() != "INIT"]
        return not fatal or self.options.keep_going

    def call_entry(self, name: str, routine: int, args: list[int]) -> EntryPointResult:
        self.entry_point = name
        result = EntryPointResult(name)
        self.report.entry_points.append(result)
        stop = self.kernel.call(routine, args)
        if stop.kind == "returned":
            result.status = stop.return_value & 0xFFFFFFFF
        elif stop.kind == "budget":
            result.outcome = "timeout"
            limit = (f"{self.options.timeout:g} s" if stop.detail == "time"
                     else f"{self.options.max_instructions} instructions")
            self.report.incomplete = f"{name} did not return within the budget ({limit}); stopped at {self.kernel.symbol(stop.rip)}"
        else:
            bugcheck = self._bugcheck_for(stop)
            if bugcheck is None:
                result.outcome = "error"
                self.report.incomplete = self.report.incomplete or self._engine_failure(name, stop)
            else:
                result.outcome = "bugcheck"
                self._record(bugcheck)
        return result

    def _engine_failure(self, entry: str, stop: Stop) -> str:
        detail = stop.detail
        if isinstance(detail, BaseException):
            where = self.kernel.symbol(stop.rip)
            return (f"{entry}: the emulated {where} failed ({type(detail).__name__}: {detail}); "
                    "this is a gap in hvci-verifier, please report it with the driver")
        return f"{entry}: emulation failed at {self.kernel.symbol(stop.rip)}: {detail}"

    def _bugcheck_for(self, stop: Stop) -> BugCheck | None:
        k = self.kernel
        detail = stop.detail
        if stop.kind == "halted" and isinstance(detail, BugCheck):
            return detail
        if stop.kind == "halted" and isinstance(detail, Crash):
            b = BugCheck(detail.code, detail.args, api=detail.api, notes=[detail.note] if detail.note else [])
            self._locate(b, detail.caller or None, None)
            return b
        if stop.kind == "halted" and isinstance(detail, Unimplemented):       # --strict
            where = self.kernel.symbol(detail.caller)
            self.report.incomplete = f"--strict: {detail.module}!{detail.name} (called from {where}) is not implemented"
            return None
        if stop.kind == "engine" and isinstance(detail, MemoryFault):
            api = k.current_export.name if k.current_export else "kernel"
            if detail.access == "write" and detail.pte & PTE_P:
                b = BugCheck(ATTEMPTED_WRITE_TO_READONLY_MEMORY, (detail.address, detail.pte, 0, 0), api=api)
            else:
                b = BugCheck(PAGE_FAULT_IN_NONPAGED_AREA,
                             (detail.address, 2 if detail.access == "write" else 0, stop.rip, 0), api=api)
            b.notes.append(f"{api} was handed an address it cannot {detail.access}")
            self._locate(b, k.caller, None)
            return b
        if stop.kind != "exception":
            return None
        return self._exception(stop)

    def _bad_fetch(self, stop: Stop, pte: int) -> BugCheck:
        """Execution reached a page it may not run: name the call that got there, if [RSP] holds one."""
        k, target = self.kernel, stop.rip
        code = ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY if pte & PTE_P else PAGE_FAULT_IN_NONPAGED_AREA
        b = BugCheck(code, (target, pte, 0, 0) if pte & PTE_P else (target, 0x10, target, 0),
                     entry_point=self.entry_point)
        try:
            caller = k.mem.read_q(k.machine.reg_rsp())
        except MemoryFault:
            caller = None
        call = call_before(k, caller) if caller is not None and k.image_at(caller) else None
        if call is None:
            b.notes.append("how execution got there is unknown: [RSP] holds no return address into the driver")
            return b
        self._locate(b, caller, None)
        b.notes.append(f"called from {k.symbol(caller)}")
        return b

    def _exception(self, stop: Stop) -> BugCheck:
        k, rip = self.kernel, stop.rip
        if stop.vector in (EXC_PAGE_FAULT, EXC_DOUBLE_FAULT):
            cr2, pte = stop.cr2, k.mem.pte(stop.cr2)
            if STACK_BASE <= cr2 < STACK_BASE + PAGE:     # the guard page below the kernel stack
                b = BugCheck(UNEXPECTED_KERNEL_MODE_TRAP, (EXCEPTION_DOUBLE_FAULT, 0, 0, 0),
                             notes=[f"kernel stack overflow: 0x{cr2:x} is the stack's guard page "
                                    f"(the stack is 0x{KERNEL_STACK_SIZE:x} bytes, as on Windows)"])
            elif cr2 == rip:                              # instruction fetch: blame the caller
                return self._bad_fetch(stop, pte)
            elif pte & PTE_P and not pte & PTE_W:
                b = BugCheck(ATTEMPTED_WRITE_TO_READONLY_MEMORY, (cr2, pte, 0, 0))
            else:
                b = BugCheck(PAGE_FAULT_IN_NONPAGED_AREA, (cr2, 2 if memory_write(k, rip) else 0, rip, 0))
        else:
            code, at = {EXC_DIVIDE: (STATUS_INTEGER_DIVIDE_BY_ZERO, rip), EXC_BREAKPOINT: (STATUS_BREAKPOINT, rip - 1),
                        EXC_INVALID_OPCODE: (STATUS_ILLEGAL_INSTRUCTION, rip), EXC_DEBUG: (STATUS_SINGLE_STEP, rip),
                        EXC_GP: (STATUS_ACCESS_VIOLATION, rip)}.get(stop.vector, (STATUS_ACCESS_VIOLATION, rip))
            b = BugCheck(KMODE_EXCEPTION_NOT_HANDLED, (code, at, 0, 0))
            rip = at
        b.entry_point = self.entry_point
        b.caller_rva = self.rva(rip)
        b.disassembly = disassembly(k, rip)
        b.stack = stack_trace(k, rip, k.machine.registers(), is_return_address=False)
        return b

    def _finish(self) -> DriverReport:
        k = self.kernel
        if k is not None:
            self.report.debug_output = k.debug.lines
            self.report.unimplemented_apis = [
                UnimplementedApi(u.name, u.module, self.rva(u.caller), u.count) for u in k.unimplemented.values()]
            self.report.wdf = wdf_summary(k, self.rva)
            for module, names in k.unresolved_imports:
                if names:
                    self.warn(DriverWarning("unknown-exports", f"imports {', '.join(names)} from {module}, which "
                                            "its export list (rootfs/exports) lacks: answered by stand-ins"))
                else:
                    self.warn(DriverWarning("stub-module", f"imports from {module} are answered by stand-ins "
                                                           "(no handlers for that module)"))
        return self.report


def run_driver(path: str, data: bytes, options: Options) -> DriverReport:
    return Session(path, data, options).run()
