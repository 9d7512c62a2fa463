"""The command line as a new user meets it: option values, --version, where errors go, the summary, Ctrl-C."""
from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
import tomllib

import pytest

from conftest import driver_path
from verifier.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERIFIER = [sys.executable, "-m", "verifier"]


def _usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("value", ["nan", "1e400", "-inf", "-1", "0", "0.0", "1e20", "soon"])
def test_timeout_values_that_are_not_a_time_budget_are_usage_errors(value, capsys):
    err = _usage_error(capsys, ["run", f"--timeout={value}", driver_path("clean_gcc")])
    assert "--timeout" in err and repr(value) in err


@pytest.mark.parametrize("value", ["inf", "Infinity"])
def test_timeout_inf_runs_without_a_time_budget(value, capsys):
    # Without a time budget, only the instruction budget can end the endless loop.
    code = main(["run", "--timeout", value, "--max-instructions", "300000", "--format", "json",
                 driver_path("spin_forever")])
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    assert code == 3 and "300000 instructions" in d["incomplete"]


def test_max_instructions_beyond_what_unicorn_counts_is_a_usage_error(capsys):
    # uc_emu_start counts in a size_t: 2**64 + 1 used to wrap to a budget of 1 instruction.
    for value in (2**64, 2**64 + 1):
        assert "--max-instructions" in _usage_error(capsys, ["run", "--max-instructions", str(value), "x.sys"])


def test_the_largest_instruction_budget_is_accepted(capsys):
    code = main(["run", "--max-instructions", str(2**64 - 1), "--format", "json", driver_path("clean_gcc")])
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    # static.c's clean driver: DriverEntry, its CREATE/CLOSE routine, DriverUnload (VOID: no status)
    assert code == 0 and [(e["name"], e["status"], e["outcome"]) for e in d["entry_points"]] == [
        ("DriverEntry", 0, "returned"), ("IRP_MJ_CREATE", 0, "returned"), ("IRP_MJ_CLOSE", 0, "returned"),
        ("DriverUnload", None, "returned")]


def test_version_prints_the_package_version():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        expected = tomllib.load(fh)["project"]["version"]
    p = subprocess.run([*VERIFIER, "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, f"verifier {expected}\n", "")


def test_windows_standard_flags_are_what_windows_sets_without_code_integrity(capsys):
    # The standard rule classes of Microsoft's "Driver Verifier options" page, as flag bits: special pool,
    # force IRQL checking, pool tracking, I/O verification, deadlock detection, DMA checking, security
    # checks, miscellaneous checks, DDI compliance checking (rule class n = bit n-1).
    expected = sum(1 << (rule_class - 1) for rule_class in (1, 2, 4, 5, 6, 8, 9, 12, 18))
    assert expected == 0x209BB                       # what `verifier /?` prints for /standard
    assert main(["/standard", "/driver", driver_path("pool_tag_exec")]) == 0
    out = capsys.readouterr().out
    # pool tracking (0x8) is modelled; the other standard flags are said to be unmodelled
    assert "0 bug check(s)" in out and f"verifier-flags: Driver Verifier flags 0x{expected & ~0x8:x} " in out


@pytest.mark.parametrize("command", ["scan", "run"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_unreadable_input_reaches_stderr_when_the_report_goes_to_a_file(command, fmt, tmp_path, capsys):
    missing = tmp_path / "missing.sys"
    out = tmp_path / "report.out"
    assert main([command, "--format", fmt, "-o", str(out), str(missing), driver_path("clean_gcc")]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err == f"verifier: {missing}: no such file or directory\n"
    assert str(missing) in out.read_text()


def test_text_report_on_a_terminal_does_not_repeat_errors_on_stderr(tmp_path):
    missing = str(tmp_path / "missing.sys")
    leader, follower = pty.openpty()
    p = subprocess.Popen([*VERIFIER, "scan", missing], stdout=follower, stderr=subprocess.PIPE, cwd=ROOT)
    os.close(follower)
    _, err = p.communicate(timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:                              # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert p.returncode == 2
    assert f"{missing}: error: no such file or directory".encode() in shown
    assert err == b""


def test_summary_counts_incomplete_runs(tmp_path, capsys):
    code = main(["run", "--max-instructions", "200000", driver_path("spin_forever"), driver_path("pool_tag_exec"),
                 driver_path("clean_gcc"), str(tmp_path / "missing.sys")])
    last = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert code == 1
    assert last == "3 driver(s) checked, 1 bug check(s), 1 incomplete, 1 unreadable"


# ---- Ctrl-C ----------------------------------------------------------------------------------------------
def _interrupted_run(argv: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """Start `verifier run` on a quick driver then an endless loop, send SIGINT after 3 s."""
    p = subprocess.Popen([*VERIFIER, "run", *argv, driver_path("clean_gcc"), driver_path("spin_forever")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         # a shell without job control starts background jobs with SIGINT ignored
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)                                    # clean_gcc takes well under a second
    assert p.poll() is None, p.communicate()
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("verifier run went on for 10 s after SIGINT")
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), time.monotonic() - sent


@pytest.mark.slow
def test_ctrl_c_stops_the_emulation_and_reports_what_finished(tmp_path):
    report = tmp_path / "report.json"
    p, took = _interrupted_run(["--timeout", "600", "--format", "json", "-o", str(report)])
    assert (p.returncode, p.stdout, p.stderr) == (130, "", "verifier: interrupted\n")
    assert took < 3
    doc = json.loads(report.read_text())
    clean, spin = doc["drivers"]
    assert doc["exit_code"] == 130
    assert clean["path"].endswith("clean_gcc.sys") and clean["incomplete"] is None
    assert [(e["name"], e["status"], e["outcome"]) for e in clean["entry_points"]] == [
        ("DriverEntry", 0, "returned"), ("IRP_MJ_CREATE", 0, "returned"), ("IRP_MJ_CLOSE", 0, "returned"),
        ("DriverUnload", None, "returned")]
    assert spin["path"].endswith("spin_forever.sys")
    assert [(e["name"], e["status"], e["outcome"]) for e in spin["entry_points"]] == [
        ("DriverEntry", None, "interrupted")]
    assert "interrupted" in spin["incomplete"] and "DriverEntry" in spin["incomplete"]


@pytest.mark.slow
def test_ctrl_c_without_a_time_budget_prints_the_text_report():
    p, took = _interrupted_run(["--timeout", "inf"])
    assert (p.returncode, p.stderr) == (130, "verifier: interrupted\n")
    assert took < 3
    assert "clean_gcc.sys: 0 bug check(s)\n  DriverEntry: returned 0x00000000 (returned)" in p.stdout
    assert "spin_forever.sys: 0 bug check(s), run incomplete: interrupted" in p.stdout
    assert "  DriverEntry: did not return (interrupted)" in p.stdout
    assert p.stdout.rstrip("\n").endswith("2 driver(s) checked, 0 bug check(s), 1 incomplete, 0 unreadable")


def test_sarif_says_an_interrupted_run_did_not_complete():
    from verifier.render.sarif import render_sarif
    from verifier.report import DriverReport, Report
    finished = [DriverReport("a.sys")]
    for interrupted in (False, True):
        (invocation,) = json.loads(render_sarif(Report("run", finished, interrupted)))["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is not interrupted
