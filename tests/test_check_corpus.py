"""tests/drivers/check_corpus.py, run as its README says: the committed builds match corpus.json.

It needs only pefile and capstone (no cross toolchain), so it runs with the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import DRIVERS, load_manifest


def test_committed_drivers_match_the_manifest_statically():
    p = subprocess.run([sys.executable, os.path.join(DRIVERS, "check_corpus.py")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.splitlines()[-1] == f"{len(load_manifest())} checked, 0 failing"
