"""Evaluation code for ``make eval``: metrics and data loading, kept out of the services.

The services ship the cleaning logic; how it is scored against hand-checked pages is
the benchmark's business, so it lives here beside the scripts that print the tables.
"""
