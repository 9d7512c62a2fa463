"""KMDF: the loader (wdfldr.sys) and the framework library (Wdf01000.sys) a KMDF driver calls.

`loader` binds a driver (WdfVersionBind) and builds the function table; the framework's objects
and their state are in `framework`; the handlers of the table's functions are grouped by object:
`objects` (contexts, lifetime), `driver`, `device`, `queue`, `memory` (and lookaside lists),
`registry`, `sync`, `misc` (collections, strings, timers, work items, DPCs), `property`,
`childlist` (a bus driver's children), and `request` (the WDM entry points the framework installs,
and WDFREQUEST).
"""
from hooks.wdf import childlist, device, driver, loader, memory, misc, objects, property  # noqa: F401
from hooks.wdf import queue, registry, request, sync  # noqa: F401
