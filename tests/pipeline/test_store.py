import os
import signal
import subprocess
import sys
import textwrap

import pyarrow as pa

from pipeline.store import StageStore


def _table(n: int) -> pa.Table:
    return pa.table({"problem_id": [str(i) for i in range(n)]})


def test_write_part_then_read(tmp_path):
    store = StageStore(tmp_path, "ingest")
    store.write_part(0, _table(3), _table(1), {"rows_out": 3})
    assert store.done_parts() == [0]
    assert store.read_part(0).num_rows == 3
    assert store.read_rejected(0).num_rows == 1
    assert store.read_stats(0) == {"rows_out": 3}
    assert oct(store.part_path(0).stat().st_mode & 0o777) != "0o600"


def test_clear_part_removes_marker_and_files(tmp_path):
    store = StageStore(tmp_path, "verify")
    store.write_part(2, _table(1), _table(0), {})
    store.clear_part(2)
    assert store.done_parts() == []
    assert not store.part_path(2).exists() and not store.rejected_path(2).exists()


def test_killed_writer_leaves_no_readable_partial_part(tmp_path):
    """SIGKILL a writer in the middle of writing the Parquet file: nothing readable remains."""
    script = textwrap.dedent(f"""
        import time, pyarrow as pa, pyarrow.parquet as pq
        from pipeline import store as st
        real = pq.write_table
        def half_then_hang(table, where, **kw):
            if table.num_rows == 0:                  # the (empty) rejected part is written fine
                return real(table, where, **kw)
            real(table.slice(0, 10), where, **kw)   # bytes are on disk in the temp file ...
            print("WRITING", flush=True)
            time.sleep(600)                          # ... and the writer dies before the rename
        st.pq.write_table = half_then_hang
        s = st.StageStore({str(tmp_path)!r}, "generate")
        s.write_part(0, pa.table({{"x": list(range(1000))}}), pa.table({{"x": []}}), {{}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "WRITING"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = StageStore(tmp_path, "generate")
    assert store.done_parts() == []
    assert not store.part_path(0).exists()  # no .parquet under the final name, no marker
    assert list(store.dir.rglob(".*.tmp-*"))  # the temp file is the only trace ...
    store.remove_temp_files()
    assert not list(store.dir.rglob(".*.tmp-*"))  # ... and the next run removes it
    store.write_part(0, _table(2), _table(0), {})
    assert store.read_part(0).num_rows == 2


def test_a_shard_clears_only_its_own_parts_temp_files(tmp_path):
    """Shards start at different moments: one must not delete the file another is writing."""
    store = StageStore(tmp_path, "verify")
    (store.dir / "rejected").mkdir(parents=True)
    temps = [
        store.dir / ".part-00000.parquet.tmp-ab12",
        store.dir / ".part-00001.parquet.tmp-cd34",
        store.dir / "rejected" / ".part-00003.parquet.tmp-ef56",
        store.dir / "._plan.json.tmp-gh78",
    ]
    for path in temps:
        path.write_bytes(b"half")
    store.remove_temp_files(lambda index: index % 2 == 1)  # shard 1 of 2
    assert [p.exists() for p in temps] == [True, False, False, True]


def test_reading_an_unfinished_part_fails_loudly(tmp_path):
    store = StageStore(tmp_path, "export")
    store.part_path(0).parent.mkdir(parents=True)
    store.part_path(0).write_bytes(b"garbage")
    try:
        store.read_part(0)
    except FileNotFoundError as exc:
        assert "no .done marker" in str(exc)
    else:
        raise AssertionError("read_part returned an unfinished part")
