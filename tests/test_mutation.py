"""Mutated corpus images through scan and run: never an exception, and a report that is coherent.

Coherent means what README promises: an unusable image is one error line and nothing else (exit 2);
otherwise the image was checked, findings mean exit 1, a run that could not finish exit 3, else 0.
"""
from __future__ import annotations

import random
import struct

import pytest

from conftest import built, load_manifest, pe_offsets, read
from emu.pe import PeImage
from verifier.report import DriverReport
from verifier.scan import scan_bytes
from verifier.scenario_run import VOID_ROUTINES
from verifier.session import Options, run_driver

pytestmark = pytest.mark.fuzz

SEEDS = built(load_manifest())
PER_IMAGE = max(2000 // max(len(SEEDS), 1) + 1, 40)
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x1000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF]
IMAGE_RULES = {0x2003, 0x2004, 0x2005}            # the load-time 0xC4 rules, the only findings of `scan`


def check_exit_code(report: DriverReport, where: str) -> None:
    """README: 1 bug checks found, else 3 the emulation could not finish, else 2 unusable input, else 0."""
    code = report.exit_code
    assert (code == 1) == bool(report.bugchecks), f"{where}: exit {code} with {len(report.bugchecks)} bug checks"
    assert (code == 3) == bool(report.incomplete and not report.bugchecks), f"{where}: exit {code}, {report.incomplete}"
    assert (code == 2) == bool(report.error), f"{where}: exit {code}, error {report.error!r}"


def check_error(report: DriverReport, where: str) -> None:
    """An unusable image: one line naming the problem, and nothing that would mean it was checked."""
    assert isinstance(report.error, str) and report.error and "\n" not in report.error, where
    assert (report.bugchecks, report.entry_points, report.warnings, report.image_base) == ([], [], [], None), where


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    off = pe_offsets(data)
    hot_end = min(len(b), max(0x400, off["sections"] + 40 * 16))
    for _ in range(rng.randint(1, 4)):
        hot_end = min(len(b), hot_end)
        if hot_end < 8:
            break
        kind = rng.randrange(5)
        if kind == 0:                                  # flip bits in the headers / section table
            i = rng.randrange(hot_end)
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:                                # overwrite a header field with an extreme value
            fmt = rng.choice(["<H", "<I"])
            i = rng.randrange(hot_end - 3)
            value = rng.choice(INTERESTING) & (0xFFFF if fmt == "<H" else 0xFFFFFFFF)
            struct.pack_into(fmt, b, i, value)
        elif kind == 2:                                # a known field: section count, data directories
            field = rng.choice(["nsections", "datadir", "sections", "opt"])
            i = off[field] + (rng.randrange(0, 128, 4) if field in ("datadir", "sections", "opt") else 0)
            if i + 4 <= len(b):
                struct.pack_into("<I", b, i, rng.choice(INTERESTING))
        elif kind == 3:                                # truncate
            del b[rng.randrange(len(b)):]
            if not b:
                break
        else:                                          # random bytes anywhere
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
    return bytes(b)


@pytest.mark.parametrize("name", SEEDS)
def test_mutated_images_never_raise(name):
    rng = random.Random(f"hvci-{name}")
    original = read(name)
    errors = checked = 0
    for n in range(PER_IMAGE):
        data = mutate(rng, original)
        try:
            report = scan_bytes(f"{name}-m{n}.sys", data)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{name} mutation {n} (seed 'hvci-{name}') raised {type(exc).__name__}: {exc}")
        where = f"{name} mutation {n} (seed 'hvci-{name}')"
        check_exit_code(report, where)
        if report.error is not None:
            check_error(report, where)
            errors += 1
        else:                                          # parsed: where it loads, and the image rules' verdicts
            assert report.image_base is not None, where
            for b in report.bugchecks:
                assert b.code == 0xC4 and b.args[0] in IMAGE_RULES and b.section, (where, b)
            checked += 1
    assert errors and checked                          # the mutations reach both outcomes


# ---- the same hostility through `verifier run`: the loader, the kernel and the CPU ----------------------
RUN_SEEDS = [n for n in SEEDS if n not in ("spin_forever", "cpu_loop", "api_loop", "alloc_loop", "irql_loop",
                                            "lookaside_loop", "mem_loop")]


def mutate_code(rng: random.Random, data: bytes) -> bytes:
    """Random bytes in the first executable section: wild instructions, jumps and memory accesses."""
    b = bytearray(data)
    image = PeImage.parse(data, "seed")
    text = next(s for s in image.sections if s.executable and s.raw_size)
    for _ in range(rng.randint(1, 8)):
        b[text.raw_offset + rng.randrange(min(text.raw_size, text.span))] = rng.randrange(256)
    return bytes(b)


@pytest.mark.parametrize("where", ["headers", "code"])
def test_mutated_drivers_run_without_raising(where):
    rng = random.Random(f"hvci-run-{where}")
    outcomes = set()
    for n in range(150):
        name = rng.choice(RUN_SEEDS)
        original = read(name)
        data = mutate(rng, original) if where == "headers" else mutate_code(rng, original)
        try:
            report = run_driver(f"{name}-m{n}.sys", data, Options(timeout=2))
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{where} mutation {n} of {name} raised {type(exc).__name__}: {exc}")
        label = f"{where} mutation {n} of {name}"
        check_exit_code(report, label)
        assert not (report.incomplete and "gap in hvci-verifier" in report.incomplete), report.incomplete
        if report.error:
            check_error(report, label)
        elif not report.entry_points:                  # only a fatal load-time image rule stops before DriverEntry
            assert report.bugchecks and all(b.entry_point == "load" and b.args[0] in IMAGE_RULES
                                            for b in report.bugchecks), label
        else:
            check_entry_points(report, label)
        outcomes.add(report.exit_code)
    assert len(outcomes) > 1                      # the mutations really changed what happened


def check_entry_points(report: DriverReport, label: str) -> None:
    """Each entry point's outcome agrees with the rest of the report."""
    for e in report.entry_points:
        # a routine returning VOID (DriverUnload, cancel routines, deferred work) has no status even when
        # it returned; a thread that exited (PsTerminateSystemThread) has its exit status
        has_status = e.outcome == "returned" and e.name not in VOID_ROUTINES or e.outcome == "exited"
        # notification routines are named after their registration API; those of VOID kinds have no status
        void_notify = e.outcome == "returned" and e.status is None and not e.name.startswith("IRP_MJ_") \
            and e.name not in ("DriverEntry", "AddDevice")
        assert (e.status is not None) == has_status or void_notify, (label, e)
        if e.outcome == "bugcheck":
            assert any(b.entry_point == e.name for b in report.bugchecks), (label, e)
        elif e.outcome not in ("returned", "exited", "waiting"):
            assert e.outcome in ("timeout", "error") and report.incomplete, (label, e)
