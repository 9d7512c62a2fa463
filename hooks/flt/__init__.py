"""fltmgr.sys, the filter manager: what a file-system minifilter registers with and calls.

Built as a kernel module only when a driver imports it (hooks.kernel). Handlers, by subject:
`filters` (registration, lookups, references), `ports` (communication ports and their security
descriptor), `pool` (aligned buffers and contexts: the DDIs that take a POOL_TYPE), `filenames`
(what a callback learns from its FLT_CALLBACK_DATA), `volumes` (the volumes a filter can enumerate),
`locks` (push locks).
State: `manager.FilterManager`.
"""
from hooks.flt import filenames, filters, locks, pool, ports, volumes  # noqa: F401  (their @export declarations register)
