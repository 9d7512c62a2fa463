"""Control Flow Guard's kernel side, with CFG off: what an image's guard slots call.

A /guard:cf image calls indirect targets through two pointers its load-config directory names
(GuardCFCheckFunctionPointer, GuardCFDispatchFunctionPointer). With CFG off every target is
allowed, so the check routine only returns and the dispatch routine jumps to the target the caller
put in RAX. Machine code in the stub area, internal to ntoskrnl (no export), never Python.
"""

GUARD_ROUTINES: dict[str, bytes] = {
    "guard_check_icall": b"\xc3",           # ret
    "guard_dispatch_icall": b"\xff\xe0",    # jmp rax
}
