"""fuzz_bench.sys, the benchmarks' fuzz target, and the workload every emulator runs on it
(benchmarks/peers/fuzz_workload.py). Expected answers are worked out by hand from the comment and
code of tests/drivers/src/fuzz_bench.c."""
from __future__ import annotations

import os

import json

import pytest

from benchmarks import figures
from benchmarks.peers import fuzz_workload as workload
from conftest import driver_path, load_manifest
from verifier.cli import main

STATUS_SUCCESS, STATUS_INVALID_PARAMETER, STATUS_INVALID_DEVICE_REQUEST = 0, 0xC000000D, 0xC0000010
CASES = [
    # op 1 from seed 3 over 01 02 FF: 3*31+1 = 94, 94*31+2 = 2916, 2916*31+255 = 90651 = 0x1621B;
    # op, n = 3, 3 ^ 0xFF = 0xFC, one byte >= 0x80
    ("465A01030102FF", 16, STATUS_SUCCESS, 8, "1b620100" "01" "03" "fc" "01"),
    # op 2 from seed 7 over 80 41: rol(7, 5) ^ 0x80 = 0x60, rol(0x60, 5) ^ 0x41 = 0xC41
    ("465A02078041", 8, STATUS_SUCCESS, 8, "410c0000" "02" "02" "f8" "01"),
    # 66 payload bytes: only 64 are read (n = 0x40); all zero from seed 0 -> 0
    ("465A0100" + "00" * 66, 16, STATUS_SUCCESS, 8, "00000000" "01" "40" "ff" "00"),
    ("465A01", 16, STATUS_INVALID_PARAMETER, 0, ""),               # shorter than the header
    ("465B0100", 16, STATUS_INVALID_PARAMETER, 0, ""),             # wrong magic
    ("465A0300", 16, STATUS_INVALID_PARAMETER, 0, ""),             # unknown op
    ("465A0100", 7, STATUS_INVALID_PARAMETER, 0, ""),              # output buffer too small
]


def _device_control(arg: str, capsys) -> dict:
    assert main(["run", "--ioctl", arg, "--format", "json", driver_path("fuzz_bench")]) == 0
    report = json.loads(capsys.readouterr().out)["drivers"][0]
    assert report["bugchecks"] == [] and report["warnings"] == []
    (entry,) = [e for e in report["entry_points"] if e["name"] == "IRP_MJ_DEVICE_CONTROL"]
    return entry


@pytest.mark.parametrize("data, out, status, information, output", CASES)
def test_parse_request_through_an_irp(data, out, status, information, output, capsys):
    entry = _device_control(f"{workload.IOCTL:#x}:{data}:{out}", capsys)
    assert (entry["status"], entry["information"], entry["output"]) == (status, information, output)


@pytest.mark.parametrize("data, out, status, information, output", CASES)
def test_the_workload_model_gives_the_c_answers(data, out, status, information, output):
    assert workload.expected(bytes.fromhex(data), out) == (information, bytes.fromhex(output))


def test_another_ioctl_is_refused(capsys):
    entry = _device_control("0x222404:465A0100:16", capsys)
    assert (entry["status"], entry["information"]) == (STATUS_INVALID_DEVICE_REQUEST, 0)


def test_the_manifest_names_the_workload_ioctl_and_export():
    entry = load_manifest()["fuzz_bench"]
    assert [i["code"] for i in entry["ioctls"]] == [workload.IOCTL]
    assert [e["name"] for e in entry["exports"]] == [workload.EXPORT]


def test_inputs_are_seeded_and_mostly_reach_the_checksum_loop():
    inputs = workload.inputs(2000)
    assert inputs == workload.inputs(2000) and inputs != workload.inputs(2000, seed=workload.SEED + 1)
    assert {len(d) for d in inputs} == set(range(workload.MAX_INPUT + 1))
    accepted = sum(workload.expected(d)[0] == 8 for d in inputs)
    assert 0.5 < accepted / len(inputs) < 0.9                 # 3/4 of those >= 4 bytes carry magic and op


def test_our_fuzz_loop_gives_the_c_answers():
    # fuzz_execs_per_s raises when any input's answer differs from the workload model's
    assert figures.fuzz_execs_per_s(os.path.dirname(driver_path("fuzz_bench")), 0.01) > 0
