"""NDIS.SYS, the network driver interface: what miniport and protocol drivers register with and call.

Built as a kernel module only when a driver imports it (hooks.kernel, from rootfs/exports/ndis.sys.txt).
Handlers, by subject: `drivers` (the version, miniport and protocol registration), `memory` (pool memory,
generic objects, NET_BUFFER and NET_BUFFER_LIST pools). State: `state.Ndis`.
"""
from hooks.ndis import drivers, memory  # noqa: F401  (their @export declarations register)
