"""Dagster definitions, grouped by what they do: ingest, transform, report, automation."""
