import os
import time

from helpers import cpu_hogs
from verifiers.pool import run_with_timeout


def slow_square(x: int, sleep_s: float) -> int:
    time.sleep(sleep_s)
    return x * x


def burn(cpu_s: float) -> float:
    """Spin until this process has used ``cpu_s`` more CPU seconds (forever for inf)."""
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        pass
    return cpu_s


def crash(x: int) -> int:
    if x == 1:
        os._exit(3)
    return x


def boom(x: int) -> int:
    raise ValueError(f"bad {x}")


def test_results_come_back_in_input_order():
    out = run_with_timeout(slow_square, [(i, 0.01 * (5 - i)) for i in range(5)], timeout_s=5, workers=2)
    assert [o.value for o in out] == [0, 1, 4, 9, 16]
    assert all(o.status == "ok" for o in out)


def test_overrunning_item_is_killed_and_the_batch_goes_on():
    items = [(1, 0.0), (2, 60.0), (3, 0.0), (4, 0.0)]
    out = run_with_timeout(slow_square, items, timeout_s=1.0, workers=2, clock="wall")
    assert [o.status for o in out] == ["ok", "timeout", "ok", "ok"]
    assert [o.value for o in out] == [1, None, 9, 16]
    assert out[1].elapsed_ms >= 1000


def test_dead_worker_is_reported_and_replaced():
    out = run_with_timeout(crash, [(0,), (1,), (2,)], timeout_s=5, workers=1)
    assert [o.status for o in out] == ["ok", "error", "ok"]
    assert "worker died" in out[1].value


def test_exception_in_checker_is_an_error_outcome():
    out = run_with_timeout(boom, [(7,)], timeout_s=5, workers=1)
    assert out[0].status == "error" and "ValueError: bad 7" in out[0].value


def test_empty_input():
    assert run_with_timeout(slow_square, [], timeout_s=1) == []


def test_the_cpu_clock_counts_cpu_not_sleep():
    out = run_with_timeout(slow_square, [(3, 1.5)], timeout_s=0.5, workers=1)  # asleep 1.5 s, no CPU
    assert (out[0].status, out[0].value) == ("ok", 9)
    assert out[0].cpu_ms < 500 <= out[0].elapsed_ms
    spun = run_with_timeout(burn, [(float("inf"),), (0.05,)], timeout_s=0.5, workers=1)
    assert [o.status for o in spun] == ["timeout", "ok"]
    assert spun[0].cpu_ms >= 500


def test_the_same_outcomes_alone_and_under_a_cpu_hog():
    """A CPU-time limit: an item under its limit passes and one over it fails, whatever else runs
    (2 spinning processes per core beside the pool)."""
    items = [(0.4,), (float("inf"),), (0.2,), (0.01,)]

    def statuses() -> list[str]:
        return [o.status for o in run_with_timeout(burn, items, timeout_s=1.0, workers=2)]

    quiet = statuses()
    with cpu_hogs():
        busy = statuses()
    assert quiet == busy == ["ok", "timeout", "ok", "ok"]
