import pyarrow as pa

from pipeline.dataset.shapes import META_COLUMNS
from pipeline.rows import COLUMNS, STAGE_COLUMNS, to_table


def test_every_column_is_documented():
    for col in COLUMNS.values():
        assert col.doc.strip(), col.name


def test_stage_and_export_columns_are_in_the_schema():
    for cols in STAGE_COLUMNS.values():
        assert set(cols) <= set(COLUMNS)
    assert set(META_COLUMNS) <= set(COLUMNS)


def test_to_table_orders_schema_columns_first_and_types_them():
    table = to_table([{"extra": "x", "sample_idx": 1, "problem_id": "a"}])
    assert table.column_names == ["problem_id", "sample_idx", "extra"]
    assert table.schema.field("sample_idx").type == pa.int32()


def test_explicit_column_order_is_kept():
    table = to_table([{"problem_id": "a", "verdict": True, "zzz": "1"}], ["verdict", "problem_id"])
    assert table.column_names == ["verdict", "problem_id", "zzz"]


def test_empty_table_keeps_declared_columns():
    table = to_table([], ["problem_id", "verdict"])
    assert table.num_rows == 0
    assert table.schema.field("verdict").type == pa.bool_()
