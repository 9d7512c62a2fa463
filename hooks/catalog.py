"""Every subsystem's handlers, imported once so their `@export` declarations register."""
from hooks import dbg, flt, io, ke, lookaside, mdl, memory, object, pool, registry, rtl, security, wdf  # noqa: F401

SUBSYSTEMS = (dbg, io, ke, lookaside, mdl, memory, object, pool, registry, rtl, security, flt, wdf)
