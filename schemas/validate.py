"""Validation on write: a bad row stops the write with an error that names the column and the row.

`to_table(rows, schema)` builds an Arrow table from row dicts and validates it; `validate_table` checks a table
that was built some other way. Checks: no unknown or missing columns, types, non-null columns, allowed values,
non-blank code, image structs that carry bytes or a path, and ids that match `sample_id(source, source_id)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from schemas.sample import BASE_COLUMNS, REJECTION_COLUMNS, STAGE_COLUMNS, Column, sample_id

_ALL_COLUMNS: dict[str, Column] = {
    c.name: c for c in (*BASE_COLUMNS, *REJECTION_COLUMNS, *(c for g in STAGE_COLUMNS.values() for c in g))
}


class SchemaError(ValueError):
    """A row does not fit the schema. `column` and `row` say where; `row_ref` names the row by id."""

    def __init__(self, column: str, row: int | None, message: str, row_ref: str = ""):
        self.column = column
        self.row = row
        self.row_ref = row_ref
        where = f"column '{column}'"
        if row is not None:
            where += f", row {row}" + (f" ({row_ref})" if row_ref else "")
        super().__init__(f"{where}: {message}")


def _row_ref(row: Mapping[str, Any] | None) -> str:
    if not row:
        return ""
    parts = [f"{k}={row[k]!r}" for k in ("id", "source", "source_id") if row.get(k) is not None]
    return ", ".join(parts)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Arrow table from row dicts; raises SchemaError naming the first offending column and row."""
    names = set(schema.names)
    for i, row in enumerate(rows):
        extra = set(row) - names
        if extra:
            col = sorted(extra)[0]
            raise SchemaError(col, i, f"unknown column (schema has {len(names)} columns)", _row_ref(row))
        for field in schema:
            if not field.nullable and row.get(field.name) is None:
                raise SchemaError(field.name, i, "required value is missing", _row_ref(row))
    arrays = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            i = _first_bad_value(values, field.type)
            raise SchemaError(
                field.name,
                i,
                f"value {_short(values[i]) if i is not None else ''} is not {field.type}: {exc}",
                _row_ref(rows[i]) if i is not None else "",
            ) from None
    table = pa.Table.from_arrays(arrays, schema=schema)
    validate_table(table)
    return table


def _first_bad_value(values: Iterable[Any], type_: pa.DataType) -> int | None:
    for i, value in enumerate(values):
        try:
            pa.array([value], type=type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            return i
    return None


def _first_true(mask: pa.ChunkedArray | pa.Array) -> int | None:
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return None
    return pc.index(mask, True).as_py()


def _ref_at(table: pa.Table, i: int) -> str:
    cols = [c for c in ("id", "source", "source_id") if c in table.column_names]
    return _row_ref(table.select(cols).slice(i, 1).to_pylist()[0]) if cols else ""


def validate_table(table: pa.Table, expected: pa.Schema | None = None) -> None:
    """Check a table against the column rules; raises SchemaError at the first problem."""
    if expected is not None:
        missing = [n for n in expected.names if n not in table.column_names]
        if missing:
            raise SchemaError(missing[0], None, "column is missing from the table")
        extra = [n for n in table.column_names if n not in expected.names]
        if extra:
            raise SchemaError(extra[0], None, "column is not in the schema")
    relaxed = _relaxed(table)
    for name in table.column_names:
        column = _ALL_COLUMNS.get(name)
        if column is None:
            raise SchemaError(name, None, "unknown column; declare it in schemas/sample.py")
        data = table.column(name)
        field = table.schema.field(name)
        if not field.type.equals(column.type):
            raise SchemaError(name, None, f"type {field.type} differs from the schema's {column.type}")
        if not column.nullable and name not in relaxed:
            bad = _first_true(pc.is_null(data))
            if bad is not None:
                raise SchemaError(name, bad, "required value is null", _ref_at(table, bad))
        if column.choices is not None:
            bad = _first_true(pc.and_(pc.is_valid(data), pc.invert(pc.is_in(data, pa.array(column.choices)))))
            if bad is not None:
                value = data[bad].as_py()
                raise SchemaError(
                    name,
                    bad,
                    f"value {value!r} is not one of {' | '.join(column.choices)}",
                    _ref_at(table, bad),
                )
    _check_code(table)
    _check_image(table)
    _check_ids(table)


def _relaxed(table: pa.Table) -> set[str]:
    """In a rejected dataset (it has `reason`), sample columns may be null."""
    if "reason" in table.column_names:
        return {c.name for c in BASE_COLUMNS}
    return set()


def _check_code(table: pa.Table) -> None:
    if "code" not in table.column_names or "reason" in table.column_names:
        return
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column("code"))), 0)
    bad = _first_true(blank)
    if bad is not None:
        raise SchemaError("code", bad, "code is empty or whitespace only", _ref_at(table, bad))


def _check_image(table: pa.Table) -> None:
    if "image" not in table.column_names:
        return
    image = table.column("image")
    both_null = pc.and_(
        pc.is_valid(image),
        pc.and_(pc.is_null(pc.struct_field(image, "bytes")), pc.is_null(pc.struct_field(image, "path"))),
    )
    bad = _first_true(both_null)
    if bad is not None:
        raise SchemaError("image", bad, "image struct has neither bytes nor path", _ref_at(table, bad))


def _check_ids(table: pa.Table) -> None:
    if not {"id", "source", "source_id"} <= set(table.column_names):
        return
    ids = table.column("id").to_pylist()
    sources = table.column("source").to_pylist()
    source_ids = table.column("source_id").to_pylist()
    for i, (id_, src, sid) in enumerate(zip(ids, sources, source_ids, strict=True)):
        if id_ is None or src is None or sid is None:
            continue
        if id_ != sample_id(src, sid):
            raise SchemaError(
                "id",
                i,
                f"id {id_!r} is not sample_id(source, source_id) = {sample_id(src, sid)!r}",
                _ref_at(table, i),
            )
