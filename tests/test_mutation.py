"""Mutated corpus images through scan_bytes: never an exception, always an error or a bug-check list."""
from __future__ import annotations

import random
import struct

import pytest

from conftest import built, load_manifest, pe_offsets, read
from emu.pe import PeImage
from verifier.scan import scan_bytes
from verifier.session import Options, run_driver

pytestmark = pytest.mark.fuzz

SEEDS = built(load_manifest())
PER_IMAGE = max(2000 // max(len(SEEDS), 1) + 1, 40)
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x1000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF]


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
    for n in range(PER_IMAGE):
        data = mutate(rng, original)
        try:
            report = scan_bytes(f"{name}-m{n}.sys", data)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{name} mutation {n} (seed 'hvci-{name}') raised {type(exc).__name__}: {exc}")
        assert report.error is not None or isinstance(report.bugchecks, list)
        if report.error is not None:
            assert isinstance(report.error, str) and report.error and "\n" not in report.error
            assert report.bugchecks == []


# ---- the same hostility through `verifier run`: the loader, the kernel and the CPU ----------------------
RUN_SEEDS = [n for n in SEEDS if n not in ("spin_forever", "cpu_loop", "api_loop", "alloc_loop")]


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
        assert report.error or report.entry_points or report.bugchecks, f"{where} mutation {n} of {name}: no outcome"
        assert report.exit_code in (0, 1, 2, 3)
        assert not (report.incomplete and "gap in hvci-verifier" in report.incomplete), report.incomplete
        outcomes.add(report.exit_code)
    assert len(outcomes) > 1                      # the mutations really changed what happened
