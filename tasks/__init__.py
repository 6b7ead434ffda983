"""Stage logic as plain Python over Parquet shards; callable without Prefect (flows/ only wires it)."""
