"""Long waits show counts and an ETA from the pace so far; a service that reports no per-account results is said
once, not drawn as a 0/N bar."""

from __future__ import annotations

import io
from typing import Any

import pytest

from stacksets.operations import Waiter
from stacksets.progress import ProgressBar, duration, eta

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_from_elapsed_time_and_the_share_done() -> None:
    assert eta(30.0, 1, 4) == "ETA 1m30s"
    assert eta(10.0, 5, 10) == "ETA 10s"
    assert eta(3600.0, 1, 3) == "ETA 2h00m"
    assert eta(0.0, 0, 4) == eta(10.0, 0, 4) == eta(10.0, 4, 4) == ""  # nothing to go on, or nothing left
    assert duration(59.6) == "1m00s" and duration(-1) == "0s"


def test_the_bar_shows_counts_and_eta_with_an_injected_clock() -> None:
    clock, out = Clock(), io.StringIO()
    bar = ProgressBar("rollout", out, clock=clock)
    bar.update(0, 4, "running")
    clock.now += 20
    bar.update(2, 4, "running")
    clock.now += 20
    bar.finish("done")
    lines = out.getvalue().splitlines()
    assert lines[0] == f"rollout [{'.' * 30}] 0/4  running"
    assert lines[1] == f"rollout [{'#' * 15}{'.' * 15}] 2/4  running, ETA 20s"
    assert lines[2] == "rollout: done (40s)"


def test_say_once_says_it_once() -> None:
    out = io.StringIO()
    bar = ProgressBar("x", out, clock=Clock())
    bar.say_once("no per-account results")
    bar.say_once("no per-account results")
    assert out.getvalue() == "x: no per-account results\n"


class Api:
    """An operation that runs three polls and then succeeds, reporting per-account results or none (moto)."""

    name = "orgguard-spoke"

    def __init__(self, results: list[list[dict[str, Any]]]) -> None:
        self.polls = 0
        self.results = results

    def operation(self, operation_id: str) -> dict[str, Any]:
        self.polls += 1
        return {"Status": "SUCCEEDED" if self.polls >= 3 else "RUNNING"}

    def operation_results(self, operation_id: str) -> list[dict[str, Any]]:
        return self.results[min(self.polls, len(self.results)) - 1]


def wait(api: Api) -> str:
    out, clock = io.StringIO(), Clock()

    def sleep(seconds: float) -> None:
        clock.now += seconds

    outcome = Waiter(api, out, poll_seconds=10, sleep=sleep, clock=clock).wait("op-1", "rules us-east-1", 2)  # type: ignore[arg-type]
    assert outcome.succeeded
    return out.getvalue()


def test_no_per_account_results_are_said_once_not_shown_as_zero_of_n() -> None:
    text = wait(Api([[]]))
    assert "0/2" not in text
    assert text.count("the service reported no per-account results") == 1
    assert text.splitlines()[-1] == "rules us-east-1: operation op-1 SUCCEEDED (20s)"


def test_per_account_results_are_counted_with_an_eta() -> None:
    one = [{"Status": "SUCCEEDED"}, {"Status": "RUNNING"}]
    both = [{"Status": "SUCCEEDED"}, {"Status": "SUCCEEDED"}]
    text = wait(Api([[{"Status": "RUNNING"}, {"Status": "RUNNING"}], one, both]))
    assert "0/2  running" in text and "1/2  running, ETA 10s" in text and "2/2  succeeded" in text
    assert "no per-account results" not in text
