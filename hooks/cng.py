"""cng.sys, the kernel's cryptography provider: the system random number generator.

SystemPrng fills a buffer from the system's random number generator and always returns TRUE
(win32/seccng/systemprng); drivers such as WireGuard bug check (0x171) if it does not. The bytes
here are a SHA-256 counter stream from a fixed key: random-looking, and the same in every run.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hooks.api import BOOLEAN, PVOID, SIZE_T, export

CNG = "cng.sys"
_KEY = b"hvci-verifier SystemPrng"


@dataclass
class SystemRandom:
    blocks: int = 0                     # SHA-256 blocks handed out so far

    def take(self, size: int) -> bytes:
        out = b""
        while len(out) < size:
            out += hashlib.sha256(_KEY + self.blocks.to_bytes(8, "little")).digest()
            self.blocks += 1
        return out[:size]


@export("SystemPrng", module=CNG)
def SystemPrng(k, pbRandomData: PVOID, cbRandomData: SIZE_T) -> BOOLEAN:
    k.mem.write(pbRandomData, k.system_random.take(cbRandomData))
    return 1
