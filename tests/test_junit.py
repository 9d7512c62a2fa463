"""--format junit: a test case per driver; a driver with bug checks is one failure, an unusable input or
an unfinished run one error; `failures`/`errors` count test cases (the common JUnit schema's shape)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import driver_path
from verifier.cli import main


def _check_junit_shape(suite: ET.Element) -> None:
    """The constraints of Ant's JUnit format (windyroad/JUnit-Schema JUnit.xsd) that our output can meet."""
    assert suite.tag == "testsuite" and suite.get("name")
    cases = list(suite.iter("testcase"))
    assert [c.tag for c in suite] == ["testcase"] * len(cases)
    for case in cases:
        assert case.get("name") and case.get("classname")
        verdicts = [child for child in case if child.tag in ("error", "failure", "skipped")]
        assert len(verdicts) == len(list(case)) <= 1, ET.tostring(case)    # xs:choice minOccurs=0: one at most
        for v in verdicts:
            assert v.get("type"), ET.tostring(v)                            # use="required"
    failed = sum(1 for c in cases if c.find("failure") is not None)
    errored = sum(1 for c in cases if c.find("error") is not None)
    # "The total number of tests in the suite that failed" / "... that errored"
    assert (int(suite.get("tests")), int(suite.get("failures")), int(suite.get("errors"))) == \
        (len(cases), failed, errored)


def test_junit_counts_findings_and_errors(capsys, tmp_path):
    missing = str(tmp_path / "missing.sys")
    code = main(["run", "--format", "junit", driver_path("pool_tag_exec"), driver_path("clean_gcc"), missing])
    assert code == 1
    suite = ET.fromstring(capsys.readouterr().out)
    _check_junit_shape(suite)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {c.get("name").rsplit("/", 1)[-1]: c for c in suite.iter("testcase")}
    failure = cases["pool_tag_exec.sys"].find("failure")
    assert failure.get("message").startswith("bug check 0xC4/0x2000 ExAllocatePoolWithTag at pool_tag_exec.sys+0x")
    assert failure.get("type") == "DRIVER_VERIFIER_DETECTED_VIOLATION"
    assert "Arg1: 0000000000002000" in failure.text
    assert list(cases["clean_gcc.sys"]) == []
    error = cases["missing.sys"].find("error")
    assert (error.get("type"), error.get("message")) == ("unusable-input", "no such file or directory")


def test_a_driver_with_two_bug_checks_is_one_failed_test_case(capsys):
    # npla_exec under --continue: 0x2000 at ExInitializeNPagedLookasideList, then at the list's
    # ExAllocatePoolWithTag (see test_run_options); spin_forever runs out of its instruction budget.
    code = main(["run", "--continue", "--max-instructions", "300000", "--format", "junit",
                 driver_path("npla_exec"), driver_path("spin_forever")])
    assert code == 1
    suite = ET.fromstring(capsys.readouterr().out)
    _check_junit_shape(suite)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "1")
    npla, spin = suite.iter("testcase")
    (failure,) = npla.findall("failure")
    assert failure.get("message").startswith("2 bug checks: bug check 0xC4/0x2000 ")
    assert "ExInitializeNPagedLookasideList" in failure.get("message")
    assert "ExAllocatePoolWithTag" in failure.get("message")
    assert failure.text.count("DRIVER_VERIFIER_DETECTED_VIOLATION (c4)") == 2
    (error,) = spin.findall("error")
    assert error.get("type") == "incomplete" and "300000 instructions" in error.get("message")
