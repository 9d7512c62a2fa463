"""--format junit: a test case per driver, a failure per bug check, an error per unusable input."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import driver_path
from verifier.cli import main


def test_junit_counts_findings_and_errors(capsys, tmp_path):
    missing = str(tmp_path / "missing.sys")
    code = main(["run", "--format", "junit", driver_path("pool_tag_exec"), driver_path("clean_gcc"), missing])
    assert code == 1
    suite = ET.fromstring(capsys.readouterr().out)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {c.get("name").rsplit("/", 1)[-1]: c for c in suite.iter("testcase")}
    failure = cases["pool_tag_exec.sys"].find("failure")
    assert failure.get("message").startswith("bug check 0xC4/0x2000 ExAllocatePoolWithTag at pool_tag_exec.sys+0x")
    assert "Arg1: 0000000000002000" in failure.text
    assert list(cases["clean_gcc.sys"]) == []
    assert cases["missing.sys"].find("error").get("message") == "no such file or directory"
