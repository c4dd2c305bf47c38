"""Missions locales data platform: Dagster code location (``definitions``) and its Dagster-free library (``lib``)."""
