import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from schemas import SchemaError, rejected_schema, sample_id, sample_schema, to_table, validate_table
from schemas.sample import BASE_COLUMNS, STAGE_COLUMNS


def png(size=(8, 6), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def row(**overrides):
    base = {
        "source": "unit",
        "source_id": "a1",
        "domain": "chart",
        "subdomain": "bar",
        "language": "python",
        "task": "direct",
        "instruction": "Write Python that draws this.",
        "code": "import matplotlib.pyplot as plt\nplt.bar([1], [2])",
        "draft_code": None,
        "image": {"bytes": png(), "path": "a1.png"},
        "image_width": 8,
        "image_height": 6,
        "split": "train",
        "meta": None,
    }
    base.update(overrides)
    if "id" not in overrides:
        base["id"] = sample_id(base["source"], base["source_id"])
    return base


def test_sample_id_is_stable_and_distinguishes_sources():
    assert sample_id("chartmimic", "bar_14.py") == sample_id("chartmimic", "bar_14.py")
    assert sample_id("chartmimic", "bar_14.py") != sample_id("chartmimic2", "bar_14.py")
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert sample_id("ab", "c") != sample_id("a", "bc")
    # pinned: ids must never change between releases, or resumed and re-ingested data would not line up
    assert sample_id("demo", "0-1") == "a99881ebe3854bb3c68beae54228a2e4"


def test_schema_has_the_contract_columns_and_hf_image_metadata():
    schema = sample_schema()
    for name in (
        "id",
        "domain",
        "subdomain",
        "language",
        "task",
        "instruction",
        "code",
        "draft_code",
        "image",
        "source",
        "source_id",
        "split",
    ):
        assert name in schema.names
    assert schema.field("image").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    assert b"huggingface" in schema.metadata
    assert not schema.field("id").nullable and schema.field("draft_code").nullable
    render = sample_schema("render")
    assert render.names[-len(STAGE_COLUMNS["render"]) :] == [c.name for c in STAGE_COLUMNS["render"]]
    with pytest.raises(ValueError, match="no stage columns"):
        sample_schema("nonsense")


def test_good_rows_make_a_valid_table():
    table = to_table([row(), row(source_id="a2", image=None, image_width=None, image_height=None)], sample_schema())
    assert table.num_rows == 2
    validate_table(table, sample_schema())


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"domain": "charts"}, "domain", "not one of chart | web | svg | latex | science"),
        ({"language": "cobol"}, "language", "not one of"),
        ({"task": "explain"}, "task", "not one of direct | refine"),
        ({"split": "holdout"}, "split", "not one of train"),
        ({"code": "   \n"}, "code", "empty or whitespace"),
        ({"instruction": None}, "instruction", "required value is missing"),
        ({"image_width": "wide"}, "image_width", "is not int32"),
        ({"image": {"bytes": None, "path": None}}, "image", "neither bytes nor path"),
        ({"id": "0" * 32}, "id", "is not sample_id"),
        ({"colour": "red"}, "colour", "unknown column"),
    ],
)
def test_validation_names_column_and_row(overrides, column, message):
    rows = [row(source_id=f"ok{i}") for i in range(3)] + [row(source_id="bad", **overrides)]
    with pytest.raises(SchemaError) as info:
        to_table(rows, sample_schema())
    err = info.value
    assert err.column == column
    assert err.row == 3
    assert message in str(err)
    assert f"column '{column}', row 3" in str(err)
    if column not in ("colour",):
        assert "source_id='bad'" in str(err)


def test_validate_table_checks_types_and_missing_columns():
    table = to_table([row()], sample_schema())
    with pytest.raises(SchemaError, match="column 'meta'.*missing"):
        validate_table(table.drop(["meta"]), sample_schema())
    bad = table.set_column(table.schema.get_field_index("image_width"), "image_width", pa.array([1], pa.int64()))
    with pytest.raises(SchemaError, match="column 'image_width'.*type int64"):
        validate_table(bad)


def test_rejected_schema_allows_partial_rows():
    schema = rejected_schema()
    table = to_table([{"source": "unit", "source_id": "x", "reason": "code_not_utf8", "rejected_by": "ingest"}], schema)
    assert table.column("code").null_count == 1
    with pytest.raises(SchemaError, match="column 'reason'"):
        to_table([{"source": "unit", "rejected_by": "ingest"}], schema)


def test_base_columns_documented():
    assert all(c.doc for c in BASE_COLUMNS)


def test_parquet_loads_with_hugging_face_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "part-00000.parquet"
    pq.write_table(
        to_table([row(), row(source_id="b", image=None, image_width=None, image_height=None)], sample_schema()),
        path,
    )
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
    assert isinstance(ds.features["image"], datasets.Image)
    first = ds[0]["image"]
    assert first.size == (8, 6)
    assert ds[1]["image"] is None
