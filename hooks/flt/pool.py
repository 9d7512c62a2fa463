"""Memory from the filter manager: device-aligned buffers and contexts.

FltAllocatePoolAlignedWithTag and FltAllocateContext are the two fltmgr DDIs that take a
POOL_TYPE, so they choose executable memory exactly as ExAllocatePoolWithTag does: both announce
a PoolRequest (pool type and tag) through hooks.pool, where the rule for which pool types are
executable lives. A context is allocated with the PoolTag of the FLT_CONTEXT_REGISTRATION entry
it matches. Contexts are reference counted and freed when the count reaches zero (one release
too many is a double free: BAD_POOL_CALLER, as hooks.pool raises it); a registered
ContextAllocateCallback/ContextCleanupCallback is recorded but not called (running driver
callbacks belongs to the code that drives file-system operations).

The emulated volume asks for no alignment beyond pool's 16 bytes, so aligned buffers are pool blocks.
"""
from __future__ import annotations

from hooks import pool
from hooks.api import NTSTATUS, POOL_TYPE, PVOID, SIZE_T, TAG, ULONG, USHORT, export
from hooks.flt.manager import (FLTMGR, STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND, STATUS_FLT_CONTEXT_ALREADY_DEFINED,
                               STATUS_FLT_CONTEXT_ALREADY_LINKED, STATUS_INVALID_PARAMETER, STATUS_NOT_FOUND,
                               STATUS_SUCCESS, Context, ContextRegistration, Instance)

STATUS_INSUFFICIENT_RESOURCES = 0xC000009A
FLT_INSTANCE_CONTEXT = 0x0002
FLT_ALL_CONTEXTS = 0x007F                  # volume, instance, file, stream, stream handle, transaction, section
FLT_VARIABLE_SIZED_CONTEXTS = 0xFFFFFFFFFFFFFFFF
FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH = 0x0001
FLT_SET_CONTEXT_KEEP_IF_EXISTS = 1
MAXUSHORT = 0xFFFF


@export("FltAllocatePoolAlignedWithTag", module=FLTMGR)
def FltAllocatePoolAlignedWithTag(k, Instance: PVOID, PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: TAG) -> PVOID:
    return pool.allocate_typed(k, PoolType, NumberOfBytes, Tag, (Instance, PoolType, NumberOfBytes, Tag))


@export("FltFreePoolAlignedWithTag", module=FLTMGR)
def FltFreePoolAlignedWithTag(k, Instance: PVOID, Buffer: PVOID, Tag: TAG) -> None:
    pool.free(k, Buffer, Tag)


def _registration(contexts: list[ContextRegistration], kind: int, size: int) -> ContextRegistration | None:
    """The entry FltAllocateContext uses: a fixed size that fits (exactly, or at least with
    FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH), else the type's variable-sized entry."""
    same_type = [c for c in contexts if c.type == kind]
    for c in same_type:
        if c.size == size or (c.flags & FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH and
                              c.size != FLT_VARIABLE_SIZED_CONTEXTS and c.size >= size):
            return c
    return next((c for c in same_type if c.size == FLT_VARIABLE_SIZED_CONTEXTS), None)


@export("FltAllocateContext", module=FLTMGR)
def FltAllocateContext(k, Filter: PVOID, ContextType: USHORT, ContextSize: SIZE_T, PoolType: POOL_TYPE,
                       ReturnedContext: PVOID) -> NTSTATUS:
    flt = k.filter_manager.filters.get(Filter)
    if flt is None or ContextType & ~FLT_ALL_CONTEXTS or ContextType.bit_count() != 1 or \
            not 0 < ContextSize <= MAXUSHORT:
        return STATUS_INVALID_PARAMETER
    entry = _registration(flt.contexts, ContextType, ContextSize)
    if entry is None:
        return STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND
    va = pool.allocate_typed(k, PoolType, ContextSize, entry.tag,
                             (Filter, ContextType, ContextSize, PoolType, ReturnedContext))
    if not va:
        return STATUS_INSUFFICIENT_RESOURCES
    k.filter_manager.contexts[va] = Context(va, flt, ContextType, ContextSize)
    k.mem.write_q(ReturnedContext, va)
    return STATUS_SUCCESS


def release(k, context: Context) -> None:
    context.references -= 1
    if context.references == 0:
        del k.filter_manager.contexts[context.address]
        k.pool.free(context.address)


def unlink(k, instance: Instance) -> None:
    """Take the context off an instance, dropping the reference the instance held."""
    context = k.filter_manager.contexts.get(instance.context)
    instance.context = 0
    if context is not None:
        context.linked = None
        release(k, context)


@export("FltReferenceContext", module=FLTMGR)
def FltReferenceContext(k, Context: PVOID) -> None:
    context = k.filter_manager.contexts.get(Context)
    if context is not None:
        context.references += 1


@export("FltReleaseContext", module=FLTMGR)
def FltReleaseContext(k, Context: PVOID) -> None:
    context = k.filter_manager.contexts.get(Context)
    if context is None:
        pool.free(k, Context, None)          # released once too often: fltmgr's free is a double free
    else:
        release(k, context)


@export("FltDeleteContext", module=FLTMGR)
def FltDeleteContext(k, Context: PVOID) -> None:
    context = k.filter_manager.contexts.get(Context)
    if context is not None and context.linked is not None:
        unlink(k, context.linked)


@export("FltSetInstanceContext", module=FLTMGR)
def FltSetInstanceContext(k, Instance: PVOID, Operation: ULONG, NewContext: PVOID, OldContext: PVOID) -> NTSTATUS:
    fm = k.filter_manager
    instance, new = fm.instances.get(Instance), fm.contexts.get(NewContext)
    if instance is None or new is None or new.type != FLT_INSTANCE_CONTEXT or Operation > FLT_SET_CONTEXT_KEEP_IF_EXISTS:
        return STATUS_INVALID_PARAMETER
    if new.linked is not None:
        return STATUS_FLT_CONTEXT_ALREADY_LINKED
    old = fm.contexts.get(instance.context)
    if old is not None and Operation == FLT_SET_CONTEXT_KEEP_IF_EXISTS:
        if OldContext:
            old.references += 1
            k.mem.write_q(OldContext, old.address)
        return STATUS_FLT_CONTEXT_ALREADY_DEFINED
    if old is not None:
        old.linked = None
        if OldContext:
            k.mem.write_q(OldContext, old.address)      # the instance's reference passes to the caller
        else:
            release(k, old)
    elif OldContext:
        k.mem.write_q(OldContext, 0)                     # NULL_CONTEXT
    new.references += 1
    new.linked, instance.context = instance, new.address
    return STATUS_SUCCESS


@export("FltGetInstanceContext", module=FLTMGR)
def FltGetInstanceContext(k, Instance: PVOID, Context: PVOID) -> NTSTATUS:
    instance = k.filter_manager.instances.get(Instance)
    context = k.filter_manager.contexts.get(instance.context) if instance is not None else None
    if context is None:
        k.mem.write_q(Context, 0)                        # NULL_CONTEXT
        return STATUS_NOT_FOUND
    context.references += 1
    k.mem.write_q(Context, context.address)
    return STATUS_SUCCESS
