#!/usr/bin/env bash
# Peers for `python -m benchmarks`: Qiling and Speakeasy, each in its own venv under .peers/.
# Both run on Unicorn 2.1, like us (Speakeasy 1.x pinned Unicorn 1).
# Installed from PyPI; nothing committed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .peers/qiling && .peers/qiling/bin/pip install -q "qiling==1.4.6" pefile
python3 -m venv .peers/speakeasy && .peers/speakeasy/bin/pip install -q "speakeasy-emulator==2.0.0b9" pefile
echo "peers ready: .peers/qiling, .peers/speakeasy"
