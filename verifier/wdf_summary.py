"""The report's `wdf` record: a KMDF driver's binding and what it registered, from hooks.wdf's state."""
from __future__ import annotations

from typing import Callable

from verifier.report import WdfDevice, WdfQueue, WdfSummary


def wdf_summary(k, rva: Callable[[int], int | None]) -> WdfSummary | None:
    """None unless the driver bound to the framework (WdfVersionBind succeeded)."""
    client = next(iter(k.wdf.clients.values()), None)
    if client is None:
        return None
    routines = lambda callbacks: {name: rva(address) for name, address in callbacks.items()}   # noqa: E731
    devices = []
    for obj in k.wdf.devices:                     # also those deleted since (the driver unloaded)
        device = obj.state
        queues = [WdfQueue(q.state.dispatch, q.state.default, routines(q.state.callbacks)) for q in device.queues]
        devices.append(WdfDevice(device.name, device.control, routines(device.callbacks), queues))
    major, minor, _ = client.version
    callbacks = {n: a for n, a in client.config.items() if n.startswith("Evt") and a}
    registered = [*callbacks, *(n for d in devices for n in d.callbacks),
                  *(n for d in devices for q in d.queues for n in q.callbacks), *k.wdf.registered]
    not_run = [n for n in dict.fromkeys(registered) if n not in k.wdf.ran]
    return WdfSummary(f"{major}.{minor}", client.func_count, routines(callbacks), devices, list(k.wdf.calls),
                      list(k.wdf.ran), not_run)
