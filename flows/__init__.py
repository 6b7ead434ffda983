"""Prefect flows: one per stage plus `pipeline`. They only wire the plain stage functions of `tasks/`."""
