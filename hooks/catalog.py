"""Every subsystem's handlers, imported once so their `@export` declarations register."""
from hooks import dbg, flt, io, irp, ke, lookaside, mdl, memory, object, pool, registry, rtl, security, seh  # noqa: F401
from hooks import callbacks, dispatcher, errorlog, etw, rtl_registry, sysinfo, threads  # noqa: F401
from hooks import crt, csq, files, stdio, wdf, workitems  # noqa: F401
from hooks import cng, fsrtl, guids, ndis, platform, pnp, prefix, tokens, wfp, wpp  # noqa: F401

SUBSYSTEMS = (dbg, io, irp, ke, lookaside, mdl, memory, object, pool, registry, rtl, security, flt, seh,
              callbacks, dispatcher, errorlog, etw, rtl_registry, sysinfo, threads, crt, csq, files, stdio,
              workitems, wdf, cng, fsrtl, guids, ndis, platform, pnp, prefix, tokens, wfp, wpp)
