"""Dagster-free library: file contract, parsing and loading, pseudonymisation, synthetic generator.

Nothing here imports Dagster, so every piece can be unit-tested and reused from the ``milo`` CLI.
"""
