"""Every subsystem's handlers, imported once so their `@export` declarations register."""
from hooks import dbg, io, irp, ke, lookaside, mdl, memory, object, pool, registry, rtl, security  # noqa: F401

SUBSYSTEMS = (dbg, io, irp, ke, lookaside, mdl, memory, object, pool, registry, rtl, security)
