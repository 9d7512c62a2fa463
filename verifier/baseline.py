"""Findings that survive from one night to the next: stable fingerprints, and the new/fixed/unchanged split.

A fingerprint names a finding by what does not move between builds or runs: the driver's name in the
batch, the rule, the caller's RVA and the API (and the section, for load-time image rules). The load base
and the order the drivers ran in are not part of it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from verifier.bugcheck import CI_EXECUTABLE_MDL_MAPPING, CI_EXECUTABLE_POOL, BugCheck
from verifier.render.json_report import driver_from_json
from verifier.render.sarif import fingerprint, rule_id
from verifier.report import DriverReport


@dataclass(frozen=True)
class Finding:
    """A bug check in a driver, reduced to what identifies it and what may change while it stays."""

    fingerprint: str
    driver: str
    rule: str
    api: str | None
    caller_rva: int | None
    section: str | None
    detail: tuple             # differs -> "updated" (same place and rule, e.g. another pool type or count)

    def json(self) -> dict:
        return {"fingerprint": self.fingerprint, "driver": self.driver, "rule": self.rule, "api": self.api,
                "caller_rva": self.caller_rva, "section": self.section}


def _detail(b: BugCheck) -> tuple:
    # Arg3/Arg4 of the run-time code-integrity checks (pool type/tag, protection, priority) do not depend on
    # where the driver was loaded; the other bug checks' arguments are addresses.
    ci = b.code == 0xC4 and isinstance(b.args[0], int) and CI_EXECUTABLE_POOL <= b.args[0] <= CI_EXECUTABLE_MDL_MAPPING
    return (b.entry_point, b.count, *(b.args[2:] if ci else ()))


def findings(drivers: list[tuple[str, DriverReport]]) -> dict[str, Finding]:
    """Fingerprint -> finding, over (batch name, report) pairs."""
    out: dict[str, Finding] = {}
    for name, d in drivers:
        for b in d.bugchecks:
            fp = fingerprint(name, b)
            out[fp] = Finding(fp, name, rule_id(b), b.api, b.caller_rva, b.section, _detail(b))
    return out


@dataclass
class Comparison:
    new: list[Finding] = field(default_factory=list)
    updated: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)      # in the baseline, gone now ("absent" in SARIF)

    def json(self) -> dict:
        return {k: [f.json() for f in getattr(self, k)] for k in ("new", "fixed", "unchanged", "updated")}


def compare(current: dict[str, Finding], baseline: dict[str, Finding] | None) -> Comparison:
    """Without a baseline every finding is new."""
    c = Comparison()
    base = baseline or {}
    for fp, f in sorted(current.items(), key=lambda kv: (kv[1].driver, kv[1].rule, str(kv[1].caller_rva), kv[0])):
        if fp not in base:
            c.new.append(f)
        elif base[fp].detail != f.detail:
            c.updated.append(f)
        else:
            c.unchanged.append(f)
    c.fixed = sorted((f for fp, f in base.items() if fp not in current),
                     key=lambda f: (f.driver, f.rule, str(f.caller_rva)))
    return c


class BaselineError(Exception):
    """One line for the user: the baseline file and what is wrong with it."""


def load(path: str) -> dict[str, Finding]:
    """Findings of a previous `verifier batch --json` (or `verifier run --format json`) report."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path} is not JSON ({exc}); pass the --json file of an earlier batch") from None
    try:
        drivers = [driver_from_json(d) for d in doc["drivers"]]
        # A batch report names its drivers relative to the batch root; a plain run report has only paths.
        names = [d["name"] for d in doc["batch"]["drivers"]] if "batch" in doc else \
            [d.path.replace("\\", "/").rsplit("/", 1)[-1] for d in drivers]
        if len(names) != len(drivers):
            raise ValueError("batch.drivers and drivers differ in length")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"baseline {path} is not a verifier JSON report ({type(exc).__name__}: {exc}); "
                            "pass the --json file of an earlier batch") from None
    return findings(list(zip(names, drivers)))
