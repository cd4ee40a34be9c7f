"""The bundled sample company's data, one module per generated source.

``company`` (reference data, calendar, seeded randomness) → the sources (``cur``, ``query_log``,
``usage``, ``revenue``, ``customers``, ``otel``) → ``generator`` (``generate()`` and the CLI).
Imports run that way only; ``ingest.sample_data`` re-exports the public names.
"""
