"""The machine-wide bound on sandboxes at once (``slots.cpu_token``)."""

import threading

from verifiers.sandbox import slots


def test_tokens_bound_concurrent_holders_and_nest(monkeypatch, tmp_path):
    monkeypatch.setenv("COTDISTILL_SANDBOX_LOCKS", str(tmp_path))
    monkeypatch.setenv("COTDISTILL_SANDBOX_CONCURRENCY", "2")
    inside, most, lock = [0], [0], threading.Lock()
    gate = threading.Barrier(6)

    def run() -> None:
        gate.wait()
        for _ in range(20):
            with slots.cpu_token() as outer, slots.cpu_token() as nested:  # nested: the same token
                assert nested == outer
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] <= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.lock", "1.lock"]
