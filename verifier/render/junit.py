"""JUnit XML: one test case per driver, a failure per bug check, so CI dashboards show findings.

A driver that could not be read is an error; a run that could not finish is an error too.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from verifier.render.text import bugcheck_block
from verifier.report import Report


def render_junit(report: Report) -> str:
    suite = ET.Element("testsuite", name=f"hvci-verifier {report.command}")
    failures = errors = 0
    for d in report.drivers:
        case = ET.SubElement(suite, "testcase", classname=f"hvci-verifier.{report.command}",
                             name=d.path.replace(os.sep, "/"))
        if d.error or d.incomplete:
            errors += 1
            ET.SubElement(case, "error", message=d.error or d.incomplete)
        for b in d.bugchecks:
            failures += 1
            words = [f"bug check 0x{b.code:X}" + (f"/{b.rule}" if b.rule else ""), b.api or b.section]
            if b.caller_rva is not None:
                words.append(f"at {os.path.basename(d.path)}+0x{b.caller_rva:x}")
            failure = ET.SubElement(case, "failure", type=b.name, message=" ".join(w for w in words if w))
            failure.text = bugcheck_block(b, os.path.basename(d.path))
    suite.set("tests", str(len(report.drivers)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
