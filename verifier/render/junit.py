"""JUnit XML: one test case per driver, so CI dashboards show findings.

The shape follows the common JUnit schema (Ant's format, as written down in windyroad/JUnit-Schema's
JUnit.xsd): a test case holds at most one <failure> or <error>, each with a `type`, and the suite's
`failures`/`errors` count test cases, not findings. A driver with bug checks is one failure listing them
all; a driver that could not be read, or whose run could not finish without finding anything, is an error.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from verifier.bugcheck import BugCheck
from verifier.render.text import bugcheck_block
from verifier.report import DriverReport, Report


def _summary(b: BugCheck, image_name: str) -> str:
    words = [f"bug check 0x{b.code:X}" + (f"/{b.rule}" if b.rule else ""), b.api or b.section]
    if b.caller_rva is not None:
        words.append(f"at {image_name}+0x{b.caller_rva:x}")
    return " ".join(w for w in words if w)


def _failure(case: ET.Element, d: DriverReport) -> None:
    name = os.path.basename(d.path)
    summaries = [_summary(b, name) for b in d.bugchecks]
    message = summaries[0] if len(summaries) == 1 else f"{len(summaries)} bug checks: " + "; ".join(summaries)
    failure = ET.SubElement(case, "failure", type=", ".join(dict.fromkeys(b.name for b in d.bugchecks)),
                            message=message)
    blocks = [bugcheck_block(b, name) for b in d.bugchecks]
    if d.incomplete:
        blocks.append(f"run incomplete: {d.incomplete}")
    failure.text = "\n\n".join(blocks)


def render_junit(report: Report) -> str:
    suite = ET.Element("testsuite", name=f"hvci-verifier {report.command}")
    failures = errors = 0
    for d in report.drivers:
        case = ET.SubElement(suite, "testcase", classname=f"hvci-verifier.{report.command}",
                             name=d.path.replace(os.sep, "/"))
        if d.bugchecks:
            failures += 1
            _failure(case, d)
        elif d.error or d.incomplete:
            errors += 1
            ET.SubElement(case, "error", type="unusable-input" if d.error else "incomplete",
                          message=d.error or d.incomplete)
    suite.set("tests", str(len(report.drivers)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
