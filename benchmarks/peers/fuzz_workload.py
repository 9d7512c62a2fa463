"""The fuzz workload every emulator runs on fuzz_bench.sys (fuzz_vs_qiling, fuzz_vs_speakeasy): the
same seeded inputs, and the answer tests/drivers/src/fuzz_bench.c gives to each, so a loop that
computes something else is caught instead of timed.

Plain Python without dependencies: benchmarks.figures imports it, and so do the peer scripts, which
run under the peers' own interpreters (their directory is on sys.path).
"""
from __future__ import annotations

import hashlib
import json
import random
from typing import Iterable

DRIVER = "fuzz_bench.sys"
EXPORT = "ParseRequest"       # ULONG ParseRequest(const UCHAR *in, ULONG inLen, UCHAR *out, ULONG outLen)
IOCTL = 0x222400              # CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
OUTPUT_LENGTH = 16            # the caller's output buffer; ParseRequest writes 8 bytes of it
MAX_INPUT = 64
SEED = 10
MAGIC = b"FZ"
OPS = (1, 2)


def inputs(count: int, seed: int = SEED) -> list[bytes]:
    """`count` requests of 0..64 random bytes. Three in four that are long enough start with the
    magic and a valid op (what a fuzzer with the driver's comparison operands in its dictionary
    sends, so most inputs reach the checksum loop); the rest are left as drawn."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        data = bytearray(rng.randbytes(rng.randint(0, MAX_INPUT)))
        if len(data) >= 4 and rng.random() < 0.75:
            data[0:3] = MAGIC + bytes([rng.choice(OPS)])
        made.append(bytes(data))
    return made


def expected(data: bytes, output_length: int = OUTPUT_LENGTH) -> tuple[int, bytes]:
    """(Information, output bytes) for one request, as fuzz_bench.c's comment specifies ParseRequest."""
    if len(data) < 4 or output_length < 8 or data[:2] != MAGIC or data[2] not in OPS:
        return 0, b""
    op, seed = data[2], data[3]
    payload = data[4:4 + MAX_INPUT]
    c = seed
    for b in payload:
        c = (c * 31 + b if op == 1 else (c << 5 | c >> 27) ^ b) & 0xFFFFFFFF
    high = sum(b >= 0x80 for b in payload)
    return 8, c.to_bytes(4, "little") + bytes([op, len(payload), seed ^ 0xFF, high])


def digest(results: Iterable[tuple[int, bytes]]) -> str:
    """One hash of every (Information, output) in order: equal digests, equal answers."""
    h = hashlib.sha256()
    for information, output in results:
        h.update(information.to_bytes(4, "little") + bytes([len(output)]) + output)
    return h.hexdigest()


def report(inputs: list[bytes], results: list[tuple[int, bytes]], seconds: float, cpu_seconds: float,
           what: str) -> str:
    """The JSON line a fuzz loop prints: its rate, what it ran, and an error when any answer differs
    from fuzz_bench.c's (the benchmark then gives the peer null)."""
    wrong = digest(results) != digest(map(expected, inputs))
    return json.dumps({"execs": len(inputs), "seconds": seconds, "cpu_seconds": cpu_seconds,
                       "execs_per_s": len(inputs) / seconds, "what": what,
                       "error": "answers differ from fuzz_bench.c's" if wrong else None})
