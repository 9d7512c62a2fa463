"""JUnit XML: one test case per driver, so CI dashboards show findings.

The shape follows the common JUnit schema (Ant's format, as written down in windyroad/JUnit-Schema's
JUnit.xsd): a test case holds at most one <failure> or <error>, each with a `type`, and the suite's
`failures`/`errors` count test cases, not findings. A driver with bug checks is one failure listing them
all; a driver that could not be read, or whose run could not finish without finding anything, is an error.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from verifier.bugcheck import BugCheck
from verifier.render.sarif import fingerprint, rule_id
from verifier.render.text import bugcheck_block
from verifier.report import DriverReport, Report

if TYPE_CHECKING:
    from verifier.baseline import Finding


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


def render_batch_junit(report: Report, names: list[str], states: dict[str, str], fixed: list[Finding],
                       seconds: list[float], timestamp: str, hostname: str) -> str:
    """The nightly view, one test case per driver and rule, in the full shape of the common JUnit schema
    (properties, times, timestamp, hostname, system-out/err). A new finding fails its test case; one already
    in the baseline is skipped with its state; a fixed one passes; a driver with no finding is one passing
    case; a driver that could not be checked is one error."""
    suite = ET.Element("testsuite", name="hvci-verifier batch", timestamp=timestamp, hostname=hostname)
    ET.SubElement(suite, "properties")
    counts = {"failure": 0, "error": 0, "skipped": 0}

    def case(name: str, driver: str, seconds_: float, verdict: str | None = None, **attrs) -> ET.Element:
        c = ET.SubElement(suite, "testcase", classname=f"hvci-verifier.batch.{driver}", name=name,
                          time=f"{seconds_:.3f}")
        if verdict:
            counts[verdict] += 1
            return ET.SubElement(c, verdict, **attrs)
        return c

    for d, name, took in zip(report.drivers, names, seconds):
        image = os.path.basename(d.path)
        if d.error or d.incomplete:
            case("check", name, took, "error", type="unusable-input" if d.error else "incomplete",
                 message=d.error or d.incomplete)
            took = 0.0
        for b in d.bugchecks:
            state = states.get(fingerprint(name, b), "new")
            title = f"{rule_id(b)} {_summary(b, image)}"
            if state == "new":
                failure = case(title, name, took, "failure", type=b.name, message=_summary(b, image))
                failure.text = bugcheck_block(b, image)
            else:
                case(title, name, took, "skipped", message=f"known finding, {state} since the baseline")
            took = 0.0
        if not d.bugchecks and not d.error and not d.incomplete:
            case("no findings", name, took)
    for f in fixed:
        where = f" at {f.driver}+0x{f.caller_rva:x}" if f.caller_rva is not None else ""
        case(f"{f.rule} {f.api or f.section or ''}{where} (fixed since the baseline)", f.driver, 0.0)
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", f"{sum(seconds):.3f}")
    ET.SubElement(suite, "system-out")
    ET.SubElement(suite, "system-err")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
