"""Driver Verifier's code integrity option (flag 0x02000000): requests for executable memory.

Each rule turns what a kernel routine announced into the bug check Windows raises, at the return
address of the call in the driver: 0x2000 executable pool type, 0x2001 executable page protection,
0x2002 executable MDL mapping. Contiguous allocators that are always executable get a warning that
names the NX replacement.
"""
from __future__ import annotations

from hooks.events import ContiguousRequest, MappingRequest, PoolRequest, ProtectionRequest, Request
from verifier.bugcheck import (CI_EXECUTABLE_MDL_MAPPING, CI_EXECUTABLE_POOL, CI_EXECUTABLE_PROTECTION,
                               DRIVER_VERIFIER_DETECTED_VIOLATION, BugCheck)
from verifier.warning import DriverWarning

CODE_INTEGRITY_FLAG = 0x02000000
CONTIGUOUS_FIX = "MmAllocateContiguousNodeMemory(..., PAGE_READWRITE, ...) gives the same memory NX"


class CodeIntegrityRules:
    def __init__(self, session):
        self.session = session
        events = session.kernel.events
        events.subscribe(PoolRequest, self.on_pool)
        events.subscribe(ProtectionRequest, self.on_protection)
        events.subscribe(MappingRequest, self.on_mapping)
        events.subscribe(ContiguousRequest, self.on_contiguous)

    def _violation(self, rule: int, req: Request, arg3: int, arg4: int) -> None:
        self.session.violation(BugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, (rule, req.caller, arg3, arg4),
                                        api=req.api), req)

    def on_pool(self, req: PoolRequest) -> None:
        if req.executable:
            self._violation(CI_EXECUTABLE_POOL, req, req.value, req.tag)

    def on_protection(self, req: ProtectionRequest) -> None:
        if req.executable:
            self._violation(CI_EXECUTABLE_PROTECTION, req, req.protection, 0)

    def on_mapping(self, req: MappingRequest) -> None:
        if req.executable:
            self._violation(CI_EXECUTABLE_MDL_MAPPING, req, req.priority, 0)

    def on_contiguous(self, req: ContiguousRequest) -> None:
        self.session.warn(DriverWarning(
            "contiguous-executable",
            f"{req.call} returns memory that is always executable; {CONTIGUOUS_FIX}",
            api=req.api, caller_rva=self.session.rva(req.caller)))
