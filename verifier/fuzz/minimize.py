"""Shrinking a finding's input while the same bug check still happens.

Greedy and bounded (MAX_TRIES executions): first drop whole steps, then cut each step's input
bytes (halves, then quarters... down to single bytes, from the end first so offsets the driver
reads stay put as long as possible), then the output lengths. A smaller input is kept only when it
raises the same bug check (code, Arg1, caller) as the original.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from verifier.scenario import Step

MAX_TRIES = 400


def minimize(steps: list[Step], same: Callable[[list[Step]], bool]) -> list[Step]:
    """The smallest input found for which `same(input)` holds; `same(steps)` is assumed."""
    tries = [0]

    def keep(candidate: list[Step]) -> bool:
        if tries[0] >= MAX_TRIES:
            return False
        tries[0] += 1
        return same(candidate)

    i = 0
    while len(steps) > 1 and i < len(steps):
        candidate = steps[:i] + steps[i + 1:]
        if keep(candidate):
            steps = candidate
        else:
            i += 1
    for i in range(len(steps)):
        data = steps[i].request.input if steps[i].request else b""
        chunk = max(1, len(data) // 2)
        while data and chunk:
            at = len(data) - chunk
            cut = False
            while at >= 0:
                candidate_data = data[:at] + data[at + chunk:]
                candidate = steps[:i] + [_with_input(steps[i], candidate_data)] + steps[i + 1:]
                if keep(candidate):
                    data, steps, cut = candidate_data, candidate, True
                    at = min(at, len(data)) - chunk
                else:
                    at -= chunk
            if not cut:
                chunk //= 2
        request = steps[i].request
        if request and request.output_length:
            for length in (0, 4, 0x10):
                if length < request.output_length:
                    candidate = steps[:i] + [Step(replace(request, output_length=length),
                                                  fail_allocation=steps[i].fail_allocation)] + steps[i + 1:]
                    if keep(candidate):
                        steps = candidate
                        break
    return steps


def _with_input(step: Step, data: bytes) -> Step:
    return Step(replace(step.request, input=data), step.expect_status, fail_allocation=step.fail_allocation)
