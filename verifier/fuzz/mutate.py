"""Inputs and how they change: havoc mutation of IRP sequences, with a dictionary of the driver's constants.

An input is a short list of scenario steps (IRP_MJ_DEVICE_CONTROL, INTERNAL_DEVICE_CONTROL, READ,
WRITE), sent on the handle the prefix opened. A mutation changes one thing about one step, or the
shape of the sequence:
- the input bytes, havoc-style: a stack of 1-8 byte edits (bit flips, random and interesting values,
  small arithmetic on 8/16/32-bit words, chunks deleted, duplicated or zeroed, length changes) and
  dictionary tokens (the constants the driver's routines compare against, `harvest.
  comparison_operands`) written at aligned offsets or anywhere;
- the output buffer length;
- the control code: another harvested code, the same code with another transfer method, or a
  random function code of the same device type;
- with low resources simulation (flag 0x4), which of the step's pool requests fails;
- steps added (fresh or copied), removed, or taken from another corpus input (splice).
Everything is drawn from one `random.Random`, so a seed fixes the sequence of inputs.
"""
from __future__ import annotations

import random
from dataclasses import replace

from hooks import kstructs as ks
from hooks.irp import IrpRequest
from verifier.scenario import IOCTL_MAJORS, Step

MAX_INPUT = 0x400            # bytes of one step's input
MAX_STEPS = 4                # steps of one input
OUTPUT_LENGTHS = (0, 1, 4, 8, 0x10, 0x40, 0x100, 0x1000)
INTERESTING = {1: (0x00, 0x01, 0x7F, 0x80, 0xFF), 2: (0x0000, 0x0080, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFF),
               4: (0x00000000, 0x00000001, 0x00000100, 0x00001000, 0x00010000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)}


class Mutator:
    def __init__(self, rng: random.Random, tokens: list[bytes], ioctls: list[int], majors: list[int],
                 low_resources: bool):
        self.rng, self.tokens, self.ioctls, self.majors = rng, tokens, ioctls, majors
        self.low_resources = low_resources

    # ---- fresh inputs ----------------------------------------------------------------------------
    def fresh_step(self) -> Step:
        """A new step: a harvested IOCTL (most often), or another request the driver handles."""
        r = self.rng
        major = ks.IRP_MJ_DEVICE_CONTROL if self.ioctls and r.random() < 0.8 else r.choice(self.majors)
        data = self._bytes(r.choice((0, 4, 8, 16, 32, 64, 0x100)))
        if major in IOCTL_MAJORS:
            code = r.choice(self.ioctls) if self.ioctls else self._random_code(0x22)
            return Step(IrpRequest(major, ioctl=code, input=data, output_length=r.choice(OUTPUT_LENGTHS)))
        if major == ks.IRP_MJ_READ:
            return Step(IrpRequest(major, output_length=r.choice(OUTPUT_LENGTHS)))
        return Step(IrpRequest(major, input=data))

    def _bytes(self, n: int) -> bytes:
        out = bytearray(self.rng.getrandbits(8) for _ in range(n)) if self.rng.random() < 0.5 else bytearray(n)
        if self.tokens and n >= 4 and self.rng.random() < 0.5:
            token = self.rng.choice(self.tokens)
            at = self.rng.randrange(0, max(1, n - len(token) + 1), 4 if n >= len(token) + 4 else 1)
            out[at:at + len(token)] = token
        return bytes(out)

    # ---- mutation ----------------------------------------------------------------------------------
    def mutate(self, steps: list[Step], other: list[Step] | None) -> list[Step]:
        """A changed copy of `steps`; `other` is another corpus input to splice with."""
        r = self.rng
        steps = list(steps)
        roll = r.random()
        if roll < 0.06 and len(steps) < MAX_STEPS:
            steps.insert(r.randrange(len(steps) + 1), self.fresh_step())
        elif roll < 0.10 and len(steps) > 1:
            del steps[r.randrange(len(steps))]
        elif roll < 0.14 and other:
            cut = r.randrange(1, len(steps) + 1)
            steps = (steps[:cut] + other[r.randrange(len(other)):])[:MAX_STEPS]
        else:
            i = r.randrange(len(steps))
            steps[i] = self.mutate_step(steps[i])
        return steps

    def mutate_step(self, step: Step) -> Step:
        r = self.rng
        request = step.request
        roll = r.random()
        if roll < 0.08 and request.major in IOCTL_MAJORS:
            return Step(replace(request, ioctl=self._other_code(request.ioctl)), fail_allocation=step.fail_allocation)
        if roll < 0.16:
            return Step(replace(request, output_length=r.choice(OUTPUT_LENGTHS + (len(request.input),))),
                        fail_allocation=step.fail_allocation)
        if roll < 0.24 and self.low_resources:
            return Step(request, fail_allocation=None if step.fail_allocation and r.random() < 0.3
                        else r.randint(1, 4))
        if request.major == ks.IRP_MJ_READ:
            return Step(replace(request, output_length=r.choice(OUTPUT_LENGTHS)), fail_allocation=step.fail_allocation)
        return Step(replace(request, input=self.havoc(request.input)), fail_allocation=step.fail_allocation)

    def _other_code(self, code: int) -> int:
        r = self.rng
        roll = r.random()
        if roll < 0.5 and self.ioctls:
            return r.choice(self.ioctls)
        if roll < 0.75:
            return (code & ~3) | r.randrange(4)                     # another transfer method
        return self._random_code(code >> 16)

    def _random_code(self, device_type: int) -> int:
        """CTL_CODE(device_type, function, method, access) with a random function, method and access."""
        r = self.rng
        return (device_type << 16) | (r.randrange(4) << 14) | (r.randrange(0x1000) << 2) | r.randrange(4)

    def havoc(self, data: bytes) -> bytes:
        r = self.rng
        buf = bytearray(data)
        for _ in range(1 << r.randrange(4)):
            op = r.randrange(11)
            n = len(buf)
            if op == 0 and n:                                        # flip a bit
                buf[r.randrange(n)] ^= 1 << r.randrange(8)
            elif op == 1 and n:                                      # a random byte
                buf[r.randrange(n)] = r.getrandbits(8)
            elif op == 2 and n:                                      # an interesting value
                width = r.choice([w for w in (1, 2, 4) if w <= n])
                at = r.randrange(n - width + 1)
                buf[at:at + width] = r.choice(INTERESTING[width]).to_bytes(width, "little")
            elif op == 3 and n >= 4:                                 # small arithmetic on a word
                width = r.choice((1, 2, 4))
                at = r.randrange(n - width + 1)
                value = int.from_bytes(buf[at:at + width], "little") + r.choice((-1, 1)) * r.randint(1, 35)
                buf[at:at + width] = (value % (1 << 8 * width)).to_bytes(width, "little")
            elif op in (4, 5) and self.tokens:                       # a dictionary token
                token = r.choice(self.tokens)
                if len(buf) < len(token):
                    buf.extend(bytes(len(token) - len(buf)))
                span = len(buf) - len(token) + 1
                at = r.randrange(0, span, 4) if op == 4 and span > 4 else r.randrange(span)
                buf[at:at + len(token)] = token
            elif op == 6 and n > 1:                                  # delete a chunk
                at = r.randrange(n)
                del buf[at:at + r.randint(1, max(1, n // 4))]
            elif op == 7 and n and len(buf) < MAX_INPUT:             # duplicate a chunk
                at = r.randrange(n)
                chunk = buf[at:at + r.randint(1, 16)]
                where = r.randrange(n + 1)
                buf[where:where] = chunk
            elif op == 8 and n:                                      # zero a chunk
                at = r.randrange(n)
                size = r.randint(1, 16)
                buf[at:at + size] = bytes(len(buf[at:at + size]))
            elif op == 9:                                            # grow
                buf.extend(bytes(r.choice((1, 4, 8, 16, 64))))
            elif op == 10 and n:                                     # truncate
                del buf[r.randrange(n):]
        return bytes(buf[:MAX_INPUT])
