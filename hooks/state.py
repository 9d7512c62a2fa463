"""Snapshot and restore of the kernel's Python-side state, together with the machine's.

Every attribute of `Kernel` takes part except those named in `FIXED` (the machine, restored by
`emu.snapshot`; configuration; addresses set once at start). So a subsystem added later takes part
without anyone registering it; an attribute added after the snapshot is removed by a restore; and
`tests/test_snapshot.py` fails if an attribute is declared fixed without being immutable, or if a
new attribute cannot be copied (the snapshot names it and asks for snapshot()/restore()).

How each participant is saved:
- an object with its own `snapshot() -> object` / `restore(saved)` (the `Stateful` protocol) does
  it itself: the pool and the I/O manager (they change on almost every input), the registry and
  the volume (many small objects, saved with `Fields`: compared in C, restored in place). Such a
  participant may name, with `shared()`, the inner objects others refer to (a handle's key, an open
  file's node): the other participants' copies keep those as references;
- the loader's tables (modules, exports, stubs, drivers) only ever grow: `ModuleTables` saves
  their sizes and copies them back only when a module or driver was added since;
- immutable values (numbers, strings, tuples of them, the `Export` declarations) are set back;
- anything else is deep-copied: a plain Python object's `__dict__` (restored in place, so the
  object keeps its identity and references to it stay valid), a container on `Kernel` (restored in
  place too), any other value whole (set back).

The generic copies are made in one pass that keeps participants and the machine as references, so
objects shared between two participants stay shared: participants that share any object form one
group, restored together. A restore first compares all generic participants with their saved
copies in one tuple comparison (C, no Python per participant); only when that fails does it
compare group by group (`==`, then a structural comparison for classes without `__eq__`) and copy
back the groups that changed (`KernelSnapshot.copied_back` names them): an input that touched
only the pool and the I/O manager costs no deep copy at all. Where the time goes (fuzz_bench.sys
after IRP_MJ_CREATE, one IOCTL per input, ~45 us of a ~95 us input on the 2-core machine): the
machine ~20 us, the participants that save themselves ~14 us, the generic comparison ~8 us. An
input that changes a generic participant pays a deep copy of its group.

Limits: references to participants' inner objects held outside the kernel (by a rule, a report)
see the old objects after a restore; `Events` subscribers (the rules) are configuration, kept;
state kept outside `Kernel` (module globals, closures) is not covered (none exists today).
"""
from __future__ import annotations

import copy
import operator
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, runtime_checkable

# Kernel attributes that are not state an input changes: the machine and its memory (restored by
# emu.snapshot), configuration set by whoever runs the kernel, addresses fixed at start.
FIXED = frozenset({"profile", "machine", "mem", "events", "on_unimplemented", "return_trap", "system_process",
                   "current_thread", "kpcr", "stack_top", "loaded_module_list"})
# The loader's tables, saved by `ModuleTables`.
MODULE_TABLES = ("modules", "module_exports", "stub_names", "drivers", "unresolved_imports", "_next_module",
                 "_next_driver", "stubs")
_CONTAINERS = (dict, list, set)
_PLAIN = frozenset({int, bool, float, str, bytes, bytearray, type(None), frozenset, set})
_STRUCTURAL: dict[type, bool] = {}       # classes compared by their attributes (no __eq__ of their own)


@runtime_checkable
class Stateful(Protocol):
    """A subsystem that saves and restores itself faster than a deep copy of its attributes."""

    def snapshot(self) -> object: ...

    def restore(self, saved: object) -> None: ...


class Fields:
    """Chosen attributes of many small objects that handlers change in place (the registry's keys,
    the volume's nodes), saved once and compared without Python per object: `changed()` is an
    attrgetter mapped over the objects and one list comparison, all in C (containers compare their
    items by identity first). `put_back()` restores every object in place, so references held
    elsewhere (a handle's key, an open file's node) stay valid. Containers (dict, list, bytearray)
    are saved as shallow copies: what they hold must be immutable or itself among `objects`."""

    def __init__(self, objects: Iterable[object], names: tuple[str, ...]):
        if len(names) < 2:
            raise ValueError("Fields needs two or more attribute names (attrgetter then gives tuples)")
        self.objects = list(objects)
        self.names = names
        self._get = operator.attrgetter(*names)
        live = list(map(self._get, self.objects))
        self.saved = [tuple(type(v)(v) if isinstance(v, _CONTAINERS + (bytearray,)) else v for v in values)
                      for values in live]
        self.containers = [[v if isinstance(v, _CONTAINERS + (bytearray,)) else None for v in values]
                           for values in live]

    def changed(self) -> bool:
        return list(map(self._get, self.objects)) != self.saved

    def put_back(self) -> None:
        for o, values, containers in zip(self.objects, self.saved, self.containers):
            for name, value, container in zip(self.names, values, containers):
                if container is None:
                    setattr(o, name, value)
                    continue
                if isinstance(container, (dict, set)):
                    container.clear()
                    container.update(value)
                else:
                    container[:] = value
                setattr(o, name, container)


class ModuleTables:
    """Modules, their exports and stubs, loaded drivers: appended to by `load_driver` and
    `_add_module`, never changed otherwise, so their sizes tell whether anything was added."""

    def __init__(self, kernel: Any):
        self.kernel = kernel

    def _sizes(self) -> tuple[int, ...]:
        k = self.kernel
        return len(k.stub_names), len(k.drivers), len(k.modules), len(k.unresolved_imports), k._next_module

    def snapshot(self) -> object:
        k = self.kernel
        return (self._sizes(), dict(k.modules), {m: dict(e) for m, e in k.module_exports.items()},
                dict(k.stub_names), list(k.drivers), list(k.unresolved_imports), k._next_module, k._next_driver,
                dict(k.stubs.routines))

    def restore(self, saved: object) -> None:
        sizes, modules, exports, stub_names, drivers, unresolved, next_module, next_driver, routines = saved
        k = self.kernel
        if self._sizes() == sizes and k._next_driver == next_driver:
            return
        for live, kept in ((k.modules, modules), (k.stub_names, stub_names), (k.stubs.routines, routines)):
            live.clear()
            live.update(kept)
        k.module_exports.clear()
        k.module_exports.update({m: dict(e) for m, e in exports.items()})
        k.drivers[:] = drivers
        k.unresolved_imports[:] = unresolved
        k._next_module, k._next_driver = next_module, next_driver


class _Hits(dict):
    """A deepcopy memo that records which already-copied objects a participant reached again."""

    def __init__(self, seeds: dict[int, Any]):
        super().__init__(seeds)
        self.seeds = seeds
        self.hits: set[int] = set()

    def get(self, key, default=None):
        if key in self and key not in self.seeds:
            self.hits.add(key)
        return super().get(key, default)


@dataclass(eq=False)
class KernelSnapshot:
    """What `Kernel.snapshot` returns: the machine's snapshot and the Python side's."""

    machine: Any                              # emu.snapshot.MachineSnapshot
    own: list[tuple[str | None, Stateful, object]]   # participants that save themselves (Kernel attribute,
                                                     # object, what it saved); the loader's tables: None
    originals: dict[str, Any]                 # generic participants: the live objects, kept as they are
    saved: dict[str, Any]                     # generic participants: deep copies of their state
    live: dict[str, Any]                      # generic participants: what is compared with `saved`
    groups: list[tuple[str, ...]]             # generic participants sharing objects: restored together
    values: dict[str, Any]                    # participants whose value is immutable: set back as is
    seeds: dict[int, Any]                     # objects every copy keeps as references
    names: frozenset[str]                     # Kernel attributes that existed at the snapshot
    generic: tuple[str, ...] = ()             # the generic participants' names, and in that order:
    generic_originals: tuple[Any, ...] = ()   #   their live objects,
    generic_live: tuple[Any, ...] = ()        #   what is compared,
    generic_saved: tuple[Any, ...] = ()       #   and with what (one tuple comparison when nothing changed)
    copied_back: tuple[str, ...] = ()         # generic participants the last restore had to copy back


def participants(kernel: Any) -> list[str]:
    """The Kernel attributes a snapshot covers: all of them but FIXED and the loader's tables."""
    return [n for n in vars(kernel) if n not in FIXED and n not in MODULE_TABLES]


def _immutable(value: Any) -> bool:
    """Numbers, strings, None, tuples of them, declarations that deep-copy to themselves."""
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    if type(value) in (int, bool, float, str, bytes, type(None)):
        return True
    return hasattr(type(value), "__deepcopy__") and copy.deepcopy(value, {}) is value


def _live_state(value: Any) -> Any:
    """What a generic participant's saved copy is compared with: the attributes of a plain Python
    object (one that copies and pickles as its __dict__), or else the value itself."""
    kind = type(value)
    if hasattr(value, "__dict__") and not isinstance(value, (type, *_CONTAINERS)) \
            and kind.__reduce__ is object.__reduce__ and kind.__reduce_ex__ is object.__reduce_ex__:
        return vars(value)
    return value


def capture(kernel: Any) -> KernelSnapshot:
    from emu import snapshot as machine_snapshot
    values = {n: getattr(kernel, n) for n in participants(kernel)}
    own: list[tuple[str | None, Stateful]] = [(None, ModuleTables(kernel))]
    own += [(n, v) for n, v in values.items() if isinstance(v, Stateful)]
    own = [(n, p, p.snapshot()) for n, p in own]
    plain = {n: v for n, v in values.items() if _immutable(v)}
    originals = {n: v for n, v in values.items() if not isinstance(v, Stateful) and n not in plain}
    # Participants restored in place stay references in every copy; those copied whole do not.
    kept = [v for v in values.values() if isinstance(v, (*_CONTAINERS, Stateful)) or _live_state(v) is not v]
    # ...and so do the inner objects of participants that restore them in place (`shared()`).
    kept += [o for _, p, _ in own if hasattr(p, "shared") for o in p.shared()]
    seeds = {id(o): o for o in (kernel, kernel.machine, kernel.mem, kernel.events, kernel.stubs, *kept)}
    memo = _Hits(seeds)
    saved: dict[str, Any] = {}
    reached: dict[int, str] = {}              # object id in the memo -> the participant that copied it
    group_of = {n: {n} for n in originals}
    for name, value in originals.items():
        before = set(memo)
        memo.hits = set()
        state = _live_state(value)
        try:
            saved[name] = copy.deepcopy(type(state)(state) if isinstance(state, _CONTAINERS) else state, memo)
        except (TypeError, ValueError, copy.Error) as exc:
            raise TypeError(f"Kernel.{name} ({type(value).__name__}) cannot be deep-copied for a snapshot "
                            f"({exc}): give it snapshot()/restore() methods (see hooks/state.py)") from exc
        reached.update(dict.fromkeys(set(memo) - before, name))
        for key in memo.hits:
            other = reached.get(key)
            if other is not None and group_of[other] is not group_of[name]:
                merged = group_of[other] | group_of[name]
                for member in merged:
                    group_of[member] = merged
    groups = list({id(g): tuple(sorted(g)) for g in group_of.values()}.values())
    live = {n: _live_state(v) for n, v in originals.items()}
    names = tuple(originals)
    return KernelSnapshot(machine_snapshot.take(kernel.machine), own, originals, saved, live, groups, plain, seeds,
                          frozenset(vars(kernel)), names, tuple(originals.values()),
                          tuple(live[n] for n in names), tuple(saved[n] for n in names))


def restore(kernel: Any, snap: KernelSnapshot) -> None:
    from emu import snapshot as machine_snapshot
    machine_snapshot.restore(kernel.machine, snap.machine)
    attributes = vars(kernel)
    for name in attributes.keys() - snap.names:      # added since the snapshot
        delattr(kernel, name)
    attributes.update(snap.values)
    for name, participant, saved in snap.own:
        if name is not None:
            attributes[name] = participant             # replaced outright since: the original comes back
        participant.restore(saved)
    snap.copied_back = ()
    if _unchanged(kernel, snap):
        return
    copied: list[str] = []
    originals, live, saved = snap.originals, snap.live, snap.saved
    for group in snap.groups:
        if all(getattr(kernel, n, None) is originals[n] and _same(live[n], saved[n]) for n in group):
            continue
        fresh = copy.deepcopy({n: snap.saved[n] for n in group}, dict(snap.seeds))
        for name, state in fresh.items():
            _install(kernel, name, snap.originals[name], state)
        copied += group
    snap.copied_back = tuple(copied)


def _unchanged(kernel: Any, snap: KernelSnapshot) -> bool:
    """Whether every generic participant is the same object as at the snapshot and equals its saved
    copy by `==`: the common case after an input, decided in C (no Python per participant)."""
    if not all(map(operator.is_, map(vars(kernel).get, snap.generic), snap.generic_originals)):
        return False
    try:
        return snap.generic_live == snap.generic_saved
    except Exception:        # a comparison that cannot be made: the participants are compared one by one
        return False


def _install(kernel: Any, name: str, original: Any, state: Any) -> None:
    """Put a participant's state back into the object it was, so references to it stay valid."""
    if isinstance(original, (dict, set)):
        original.clear()
        original.update(state)
    elif isinstance(original, list):
        original[:] = state
    elif _live_state(original) is not original:
        vars(original).clear()
        vars(original).update(state)
    else:
        original = state
    setattr(kernel, name, original)


def _same(a: Any, b: Any) -> bool:
    """Whether a participant's live state equals its saved copy."""
    try:
        if a == b:
            return True
    except Exception:        # a comparison that cannot be made: treat as changed
        return False
    return _alike(a, b, set())


def _alike(a: Any, b: Any, seen: set[int]) -> bool:
    """Structural equality that also looks inside objects without __eq__ (which `==` compares by
    identity, so a live object never equals its saved copy). Values of plain types compare inline;
    `seen` (ids of such objects already entered) stops at cycles (a file's parent, its children)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _PLAIN:
        return a == b
    if kind is dict:
        if a.keys() != b.keys():
            return False
        for key, v in a.items():
            w = b[key]
            if v is w:
                continue
            t = type(v)
            if t in _PLAIN and t is type(w):
                if v != w:
                    return False
            elif not _alike(v, w, seen):
                return False
        return True
    if kind is list or kind is tuple:
        return len(a) == len(b) and all(_alike(v, w, seen) for v, w in zip(a, b))
    structural = _STRUCTURAL.get(kind)
    if structural is None:
        structural = _STRUCTURAL[kind] = hasattr(a, "__dict__") and (
            kind.__eq__ is object.__eq__ or hasattr(kind, "__dataclass_fields__") and not kind.__dataclass_params__.eq)
    if structural:
        if id(a) in seen:
            return True
        seen.add(id(a))
        return _alike(vars(a), vars(b), seen)
    try:
        return bool(a == b)
    except Exception:
        return False
