"""Facts for one code with 100 million stored TiC rate rows: compacted or not, from stored summaries or live.

Run from the repository root (bounded: ~5 minutes to build 100 M rows, ~8 to compact them, ~10 CPU-minutes
to summarize them, ~3 GB of disk;
a store is reused when there)::

    python benchmarks/tic_facts_scale.py                      # 100 M rows, 2,000 codes, 200 files
    python benchmarks/tic_facts_scale.py --rows 10_000_000    # quicker
    python benchmarks/tic_facts_scale.py --db S.duckdb --compact   # compact S first (timed), then measure
    python benchmarks/tic_facts_scale.py --db S.duckdb --summarize # store every code's summary (timed)
    python benchmarks/tic_facts_scale.py --ingest-cost F.json.gz   # what the summaries add to an ingest

Rows are generated directly in SQL (no JSON): ``--files`` files of 4 payers appended one after another as
``ingest tic`` appends them, each file's rows in code order, ``--codes`` Level II codes, rates, TINs, NPIs,
list ids of one or two modifiers and short place-of-service lists (real files carry 17-32 codes per
price), each row naming one of its file's ``SETS`` provider sets (a TIN and an NPI each). A store built so has every code in a row group of every file; ``--compact`` rewrites it in code
order (``store.tic.compact_rates``, what an ingest does when due) and prints its wall, CPU and peak RSS.

Measured, each as the median of warm runs after one cold run (wall and CPU: the CPU of every thread of
this process, the fair number on a shared machine), for a few codes, the row groups whose zone map admits
the code, then what one ``facts`` call does for TiC rates, query by query:

- the TiC part of one ``facts`` call, side by side: from the code's stored summary (``--summarize`` writes
  every code's, ``--summarize-measured`` the measured codes' only, both timed; what ``ingest tic`` writes
  after its files), and live, for a Medicare amount no summary was stored for (``code_summary`` then runs
  the summary query over the code's rows, store/tic_summary.py); of each, ``tic_facts`` (facts/tic.py)
  and the SQL alone; ``npi_observations`` (read only when NPPES knows one of the NPIs; not here);
- ``codes_with_rates`` (``build --all`` and ``serve`` read it once) and the raw rows of the code, fetched
  into Python (what facts collected in Python before ``code_summary``);
- with ``--parquet``, the rate query over a Parquet copy partitioned by payer and code, read by DuckDB.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
PAYERS = ("Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare")
MEDICARE = 100.0  # every code's amount: a stored summary answers for it; LIVE has none stored
LIVE = 100.5

#: The lists the rows name (store ids 1-5): three place-of-service lists, a modifier list and none.
_LISTS = "INSERT INTO core_tic_lists VALUES (1, ['11']), (2, ['11', '22']), (3, ['19', '22', '24']), (4, ['JZ']), (5, [])"

_RATES = """
INSERT INTO core_tic_rate_rows
SELECT f, payer, code, 'HCPCS', 'ffs', CASE WHEN h % 50 = 0 THEN 'percentage' ELSE 'negotiated' END,
       round((h % 200000) / 100.0 + 5, 2), '9999-12-31', 'professional', NULL, h % 3 + 1,
       CASE WHEN h % 5 = 0 THEN 4 ELSE 5 END, NULL, (h // 7) % $sets
FROM (
    SELECT i // $per_file + 1 AS f, $payers[(i // $per_file) % 4 + 1] AS payer,
           'J' || lpad((((i % $per_file) * $codes) // $per_file)::VARCHAR, 4, '0') AS code,
           hash(i) AS h
    FROM range($rows) t(i)
)
"""

#: Each file's provider sets (``SETS`` of one group each): a TIN and an NPI, as the rows named before the
#: store kept sets apart (schema 4).
SETS = 5000
_SETS = """
INSERT INTO core_tic_provider_sets
SELECT f, s, (h % 53)::VARCHAR, 'ein', 'T' || (h % 20000), [1000000000 + h % 500000], []
FROM (SELECT f, s, hash(f * 1000003 + s) AS h FROM range(1, $files + 1) a(f), range($sets) b(s))
ORDER BY f, s
"""


def build(path: Path, rows: int, codes: int, files: int) -> None:
    from hcpcs_atlas.store import Store

    started = time.perf_counter()
    with Store(path) as store:
        con = store.con
        con.execute(
            "INSERT INTO source_files SELECT i, 'tic', 'file' || i || '.json.gz', 'bench', md5(i::VARCHAR), 0, "
            "'json', DATE '2025-01-01', NULL, now()::TIMESTAMP, 0, '{}' FROM range(1, $n + 1) t(i)",
            {"n": files},
        )
        con.execute(
            "INSERT INTO core_tic_files (file_id, payer, reporting_entity_name, last_updated_on) "
            "SELECT i, $payers[(i - 1) % 4 + 1], 'Entity ' || i, DATE '2025-01-01' FROM range(1, $n + 1) t(i)",
            {"n": files, "payers": list(PAYERS)},
        )
        per_file = rows // files
        con.execute(_LISTS)
        con.execute(_SETS, {"files": files, "sets": SETS})
        con.execute(
            _RATES,
            {
                "rows": per_file * files,
                "per_file": per_file,
                "codes": codes,
                "payers": list(PAYERS),
                "sets": SETS,
            },
        )
        con.execute("CHECKPOINT")
    print(f"built {path.name}: {rows:,} rows in {time.perf_counter() - started:,.0f} s, "
          f"{path.stat().st_size / 1e9:.2f} GB", file=sys.stderr)  # fmt: skip


def export_parquet(db: Path, folder: Path) -> None:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    con.execute(
        f"COPY (SELECT * FROM core_tic_rates ORDER BY payer, billing_code) TO '{folder}' "
        "(FORMAT PARQUET, PARTITION_BY (payer, billing_code))"
    )
    size = sum(f.stat().st_size for f in folder.rglob("*.parquet"))
    print(f"exported Parquet: {time.perf_counter() - started:,.0f} s, {size / 1e9:.2f} GB", file=sys.stderr)


def compact(db: Path) -> None:
    """Rewrite the rows in code order (store.tic.compact_rates), with its wall, CPU and this process's RSS."""
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.tic import compact_rates

    with Store(db) as store:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu = time.perf_counter(), time.process_time()
        rows = compact_rates(store)
        print(f"compaction of {rows:,} rows: {time.perf_counter() - started:,.0f} s wall, "
              f"{time.process_time() - cpu:,.0f} s CPU, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB "
              f"(before: {rss:,.0f} MB); store {db.stat().st_size / 1e9:.2f} GB")  # fmt: skip


def summarize(db: Path, medicare: float, only: list[str] | None = None) -> None:
    """Store every code's payer summary (store.tic_summary.write_summaries, what an ingest does after its
    files), for ``medicare`` as every code's amount (``only``: these codes' alone), with its wall, CPU and
    this process's peak RSS."""
    from hcpcs_atlas.facts.tic import _rules
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.tic import codes_with_rates
    from hcpcs_atlas.store.tic_summary import write_summaries

    with Store(db) as store:  # a schema-2 store is migrated here (the empty summaries table)
        medicares = dict.fromkeys(only or codes_with_rates(store), medicare)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu = time.perf_counter(), time.process_time()
        codes = write_summaries(store, medicares, _rules(), codes=only)
        print(f"summaries of {codes:,} codes written: {time.perf_counter() - started:,.1f} s wall, "
              f"{time.process_time() - cpu:,.1f} s CPU, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB "
              f"(before: {rss:,.0f} MB); store {db.stat().st_size / 1e9:.2f} GB")  # fmt: skip


def ingest_cost(source: Path) -> None:
    """What storing the summaries adds to an ingest: ``ingest tic`` of ``source`` (default codes: every
    Level II code) into a fresh store, then ``write_tic_summaries`` (what the command runs after its files),
    each timed in this process, side by side."""
    import tempfile

    from hcpcs_atlas.facts.tic import write_tic_summaries
    from hcpcs_atlas.sources import is_level2
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.tic import ingest_tic

    with tempfile.TemporaryDirectory(dir=WORK) as tmp, Store(Path(tmp) / "atlas.duckdb") as store:
        started, cpu = time.perf_counter(), time.process_time()
        summary = ingest_tic(store, [str(source)], is_level2)
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        rows = sum(n for _, n in summary.ingested)
        print(f"ingest tic {source.name}: {rows:,} rows: {wall:,.1f} s wall, {used:,.1f} s CPU")
        started, cpu = time.perf_counter(), time.process_time()
        written, error = write_tic_summaries(store)
        print(f"  then summaries of {written:,} codes: {time.perf_counter() - started:,.2f} s wall, "
              f"{time.process_time() - cpu:,.2f} s CPU{f' FAILED: {error}' if error else ''}; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")  # fmt: skip


def layout(store: Any) -> str:
    row = store.con.execute(
        "SELECT (SELECT count(*) FROM core_tic_rate_rows), "
        "(SELECT value FROM atlas_meta WHERE key = 'tic_rows_in_order'), (SELECT count(*) FROM core_tic_lists)"
    ).fetchone()
    size = store.path.stat().st_size / 1e9
    return f"store {size:.2f} GB; {row[1] or 0} of {row[0]:,} rows in code order; {row[2]:,} distinct lists"


def row_groups(store: Any, code: str) -> int:
    """Row groups DuckDB has to look into for one code: those whose billing_code min/max admit it."""
    row = store.con.execute(
        "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('core_tic_rate_rows') "
        "WHERE column_name = 'billing_code' AND segment_type = 'VARCHAR' "
        "AND stats['min']::VARCHAR <= $code AND $code <= stats['max']::VARCHAR",
        {"code": code},
    ).fetchone()
    return int(row[0])


def timed(fn: Any, repeat: int) -> tuple[float, float, float]:
    """(cold ms, median warm ms, median warm CPU ms: every thread of this process, DuckDB's included)."""
    started = time.perf_counter()
    fn()
    cold = (time.perf_counter() - started) * 1000
    warm, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        warm.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return cold, statistics.median(warm), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--parquet", action="store_true", help="also a Parquet copy by payer/code (slow to write)"
    )
    parser.add_argument("--db", type=Path, help="measure this store (default: built under benchmarks/_work)")
    parser.add_argument(
        "--ingest-cost",
        type=Path,
        metavar="FILE",
        help="only time an ingest of FILE into a fresh store and the summaries written after it",
    )
    parser.add_argument(
        "--summarize",
        action="store_true",
        help="first store every code's payer summary, as ingest does after its files (timed)",
    )
    parser.add_argument(
        "--summarize-measured",
        action="store_true",
        help="first store the summaries of the measured codes only (timed; quicker)",
    )
    parser.add_argument(
        "--compact",
        action="store_true",
        help="first put the rows in code order, as ingest does when due (timed)",
    )
    args = parser.parse_args()

    from hcpcs_atlas.facts.nppes import provider_facts
    from hcpcs_atlas.facts.tic import _rules, npi_observations, tic_facts
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.tic import codes_with_rates, has_code_rates, rate_observations
    from hcpcs_atlas.store.tic_summary import live_summary, stored_summary

    WORK.mkdir(parents=True, exist_ok=True)
    if args.ingest_cost:
        ingest_cost(args.ingest_cost)
        return
    db = args.db or WORK / f"facts-scale-{args.rows}-{args.codes}-{args.files}.duckdb"
    if not db.is_file():
        build(db, args.rows, args.codes, args.files)
    if args.compact:
        compact(db)
    codes = ["J0000", f"J{args.codes // 2:04d}", f"J{args.codes - 1:04d}"]
    if args.summarize or args.summarize_measured:
        summarize(db, MEDICARE, None if args.summarize else codes)
    parquet = db.with_suffix(".parquet.d")
    if args.parquet and not parquet.is_dir():
        export_parquet(db, parquet)
    print(
        f"{args.rows:,} rows, {args.codes:,} codes, {args.files} files: ~{args.rows // args.codes:,} rows per code"
    )
    head = f"{'code':<6} {'what':<56} {'cold ms':>8} {'warm ms':>8} {'CPU ms':>8}"
    print(head + "\n" + "-" * len(head))
    with Store(db, read_only=True) as store:
        import duckdb

        parquet_con = duckdb.connect()
        query = (
            f"SELECT payer, tin_value, billing_class, negotiated_rate, lower(negotiated_type), modifiers, "
            f"service_codes, npis, expiration_date, file_id FROM read_parquet('{parquet}/*/*/*.parquet', "
            "hive_partitioning = true) WHERE payer = $payer AND billing_code = $code"
        )

        rules = _rules()

        def tic_part(code: str, medicare: float) -> None:
            """What ``facts`` does for TiC rates (facts/build.py), without the HCPCS/ASP parts (none here)."""
            if has_code_rates(store, code):
                provider_facts(store, tic_facts(store, code, medicare).kept)

        store.con.execute("SET enable_progress_bar = false")
        print(layout(store))
        stored = store.con.execute(
            "SELECT count(DISTINCT billing_code) FROM core_tic_code_summaries"
        ).fetchone()
        print(f"codes with a stored summary: {stored[0] if stored else 0:,} (--summarize writes them)")
        for code in codes:
            rows = len(rate_observations(store, code))
            print(f"{code:<6} row groups whose zone map admits the code: {row_groups(store, code)}")
            lines = [
                (f"facts, TiC part ({rows:,} rows), stored summary", lambda c=code: tic_part(c, MEDICARE)),
                ("  has_code_rates (one probe)", lambda c=code: has_code_rates(store, c)),
                ("  tic_facts: payer benchmarks + NPIs (stored + Python)", lambda c=code: tic_facts(store, c, MEDICARE)),
                ("    of which stored_summary (SQL) alone", lambda c=code: stored_summary(store, c, MEDICARE, rules)),
                ("facts, TiC part, live (an amount with no summary stored)", lambda c=code: tic_part(c, LIVE)),
                ("  tic_facts, live", lambda c=code: tic_facts(store, c, LIVE)),
                ("    of which live_summary (SQL) alone", lambda c=code: live_summary(store, c, LIVE, rules)),
                ("  npi_observations (only if NPPES knows an NPI; none here)", lambda c=code: npi_observations(store, c, MEDICARE)),
                ("codes_with_rates (build --all and serve: once)", lambda: codes_with_rates(store)),
                ("raw rows of the code (what Python collected before)", lambda c=code: rate_observations(store, c)),
                ("same columns from Parquet payer=/code= (4 payers)", lambda c=code: [
                    parquet_con.execute(query, {"payer": p, "code": c}).fetchall() for p in PAYERS]),
            ][: None if args.parquet else -1]  # fmt: skip
            for what, fn in lines:
                cold, warm, cpu = timed(fn, args.repeat)
                print(f"{code:<6} {what:<56} {cold:8.1f} {warm:8.1f} {cpu:8.1f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
