"""The loading machinery every source shares: spec-driven projection, atomic partition replace,
lineage. It knows no source: sources register with :mod:`ingest.registry`.

Every source (CUR, FOCUS, Azure, OCI, ...) is described by a :class:`TableSpec`: the canonical
columns of its raw table, how source headers map onto them, and which columns hold tags. The
loader reads each file with DuckDB (``read_parquet`` / ``read_csv``) straight into the raw table;
Python only builds the statement and reports progress.

Guarantees, for every source:

* **Atomic.** One load is one transaction. Any error rolls back, so the database is exactly as
  it was before the load.
* **Restatable.** A load replaces the (billing account, billing period) partitions it contains.
  Loading the same delivery again yields the same rows.
* **Closed periods are never rewritten.** If a partition already holds rows with an invoice id,
  a new delivery is diffed against it and only the difference is appended as correction rows
  (``_is_correction``; removed lines carry ``_correction_sign = -1``), booked to the billing
  period in which the correction was received.
* **Lineage.** Each landed row carries ``_load_id``, ``_source_file``, ``_source_row`` (1-based
  data row) and ``_loaded_at``.
* **Clear errors.** A :class:`LoadError` names the file, and the column or row when known.

Modules, lowest first: :mod:`~ingest.load.spec` (types, errors), :mod:`~ingest.load.db`
(connection, raw tables, transaction), :mod:`~ingest.load.files` (discovery, decompression,
sniffing), :mod:`~ingest.load.projection` (mapping and casts), :mod:`~ingest.load.reconcile`,
:mod:`~ingest.load.partitions` (partition replace, the load registry), :mod:`~ingest.load.bill_once`
(one bill counted once across sources), :mod:`~ingest.load.land` (a load, end to end) and
:mod:`~ingest.load.commands` (the options and run of a source's sub-command).
"""
