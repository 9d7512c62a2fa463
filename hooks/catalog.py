"""Every subsystem's handlers, imported once so their `@export` declarations register."""
from hooks import dbg, io, ke, lookaside, mdl, memory, object, pool, registry, rtl, security  # noqa: F401
from hooks import crt, files, stdio  # noqa: F401

SUBSYSTEMS = (dbg, io, ke, lookaside, mdl, memory, object, pool, registry, rtl, security,
              crt, files, stdio)
