"""The sample schema shared by every stage: column names, types, allowed values and validation."""

from schemas.languages import DOMAINS, LANGUAGES, canonical_language
from schemas.sample import (
    IMAGE_TYPE,
    SPLITS,
    STAGE_COLUMNS,
    TASKS,
    columns_for,
    rejected_schema,
    sample_id,
    sample_schema,
)
from schemas.validate import SchemaError, to_table, validate_table

__all__ = [
    "DOMAINS",
    "IMAGE_TYPE",
    "LANGUAGES",
    "SPLITS",
    "STAGE_COLUMNS",
    "TASKS",
    "SchemaError",
    "canonical_language",
    "columns_for",
    "rejected_schema",
    "sample_id",
    "sample_schema",
    "to_table",
    "validate_table",
]
