"""The Spark engine: the hcpcs_atlas_tic data source, ``ingest tic --engine spark`` and Spark SQL benchmarks.

One local[2] session for the whole run; the inputs are small (synthetic files with known answers and the
real HealthSCOPE file). Without Java or pyspark these tests skip, saying why; in CI (CI=true) they fail.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.sources.tic import read_in_network
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.tic import ingest_tic
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

CODES = ("J9032", "J9330")
REAL = "tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"


def _unavailable() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[test]' installs it)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime for Spark (install openjdk-17-jre-headless, or set JAVA_HOME)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if reason := _unavailable():
        if os.environ.get("CI"):
            pytest.fail(f"Spark tests cannot run in CI: {reason}")
        pytest.skip(reason)
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import this venv's hcpcs_atlas
    from hcpcs_atlas.spark.session import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def inputs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three payers' synthetic files (rates around Medicare's limits, so some are suspect), the real file,
    a table of contents of two of them, and a truncated file."""
    root = tmp_path_factory.mktemp("spark-inputs")
    ranges = {"J9032": (1.0, 1500.0), "J9330": (0.5, 800.0)}
    files = {
        "aetna": ("Aetna Life Insurance Company", "1.3.1", "before"),
        "cigna": ("Cigna Health and Life Insurance Company", "2.0.0", "after"),
        "bcbs": ("Blue Cross and Blue Shield of Texas", "1.3.1", "after"),
    }
    paths: dict[str, Path] = {}
    for seed, (key, (entity, version, refs)) in enumerate(files.items(), start=1):
        paths[key] = root / f"{key}-in-network.json.gz"
        options = TicSynthOptions(seed=seed, version=version, refs=refs, entity_name=entity,  # type: ignore[arg-type]
                                  size_bytes=300_000, items_per_target=12, rate_ranges=ranges)  # fmt: skip
        write_in_network(paths[key], options)
    paths["real"] = shared_data / REAL
    paths["bad"] = root / "truncated.json.gz"
    paths["bad"].write_bytes(gzip.compress(gzip.decompress(paths["aetna"].read_bytes())[:50_000]))
    toc = {"reporting_entity_name": "Aetna", "reporting_entity_type": "health insurance issuer",
           "reporting_structure": [{"reporting_plans": [{"plan_name": "Synthetic PPO"}],
                                    "in_network_files": [{"description": "x", "location": p.name}
                                                         for p in (paths["aetna"], paths["cigna"])]}]}  # fmt: skip
    paths["toc"] = root / "index.json"
    paths["toc"].write_text(json.dumps(toc), encoding="utf-8")
    return paths


def _copy(real_store: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(real_store, folder / "atlas.duckdb"))


GOOD = ("aetna", "cigna", "bcbs", "real")


@pytest.fixture(scope="module")
def local_db(real_store: Path, inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = _copy(real_store, tmp_path_factory.mktemp("local"))
    with Store(db) as store:
        summary = ingest_tic(store, [str(inputs[k]) for k in GOOD], set(CODES).__contains__)
    assert not summary.failed and len(summary.ingested) == len(GOOD)
    return db


@pytest.fixture(scope="module")
def spark_run(
    spark: Any, real_store: Path, inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Any]:
    """``ingest tic --engine spark`` of the good files and the truncated one: (store, Parquet, result)."""
    db = _copy(real_store, tmp_path_factory.mktemp("spark"))
    out = db.parent / "rates.parquet"
    args = ["--db", str(db), "ingest", "tic", *(str(inputs[k]) for k in (*GOOD, "bad")),
            "--codes", ",".join(CODES), "--engine", "spark", "--master", "local[2]", "--parquet", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return db, out, result


def _payers(db: Path) -> dict[str, list[Any]]:
    with Store(db, read_only=True) as store:
        builder = FactsBuilder(store)
        return {code: builder.build(code).payers for code in CODES}


def test_spark_ingest_gives_the_local_facts(spark_run: tuple[Path, Path, Any], local_db: Path) -> None:
    db, _, result = spark_run
    for name in ("aetna", "cigna", "bcbs", "healthscope"):
        assert f"{name}" in result.output and "ingested" in result.output
    spark_payers, local_payers = _payers(db), _payers(local_db)
    assert spark_payers == local_payers
    names = {p.payer for p in spark_payers["J9032"]}
    assert {"Aetna", "Cigna", "Blue Cross Blue Shield"} <= names and len(names) == 4


def test_bad_file_is_one_error_line_and_the_rest_is_kept(spark_run: tuple[Path, Path, Any]) -> None:
    db, _, result = spark_run
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "truncated.json.gz" in errors[0] and "byte" in errors[0]
    assert errors[1] == "error: 1 of 5 file(s) failed; nothing was kept from them"
    with Store(db, read_only=True) as store:
        assert len(store.files("tic")) == len(GOOD)


def test_parquet_is_partitioned_by_payer_and_code_group(spark_run: tuple[Path, Path, Any]) -> None:
    _, out, _ = spark_run
    parts = {p.relative_to(out / "rates").parts[:2] for p in (out / "rates").rglob("*.parquet")}
    assert ("payer=Aetna", "code_group=J") in parts
    assert ("payer=Blue Cross Blue Shield", "code_group=J") in parts
    assert list((out / "files").glob("*.parquet"))
    _assert_in_code_order(out / "rates", "billing_code")


def _rates(db: Path) -> list[Any]:
    with Store(db, read_only=True) as store:
        return store.con.execute("SELECT * FROM core_tic_rates ORDER BY ALL").fetchall()


def test_attach_joins_list_ids_in_code_order_without_compaction(
    spark_run: tuple[Path, Path, Any], real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tasks write each file's lists (lists/) and the ids its rows name: the attach interns those and
    joins integers, code range by code range. The same rows as an attach of the lists themselves (a
    dataset without lists/, as Spark's writer or an earlier version makes); each range after the one
    before, so one code a range leaves the rows in code order, and the store needs no compaction."""
    import hcpcs_atlas.store.tic_parquet as tic_parquet
    from hcpcs_atlas.store.tic import needs_compaction

    db, out, _ = spark_run
    assert len(list((out / "lists").glob("*.parquet"))) == len(GOOD)
    without = Path(shutil.copytree(out, tmp_path / "without", ignore=shutil.ignore_patterns("lists")))
    by_lists = _copy(real_store, tmp_path / "by-lists")
    with Store(by_lists) as store:
        assert tic_parquet.attach_tic_parquet(store, without).compacted == 0
    assert _rates(by_lists) == _rates(db)

    monkeypatch.setattr(tic_parquet, "RANGE_ROWS", 1)  # code_ranges: a range holds one code at least
    one_code = _copy(real_store, tmp_path / "one-code")
    with Store(one_code) as store:
        assert tic_parquet.attach_tic_parquet(store, out).compacted == 0
        codes = [c for (c,) in store.con.execute("SELECT billing_code FROM core_tic_rate_rows").fetchall()]
        assert codes == sorted(codes) and set(codes) == set(CODES)
        marks = store.con.execute(
            "SELECT (SELECT value FROM atlas_meta WHERE key = 'tic_rows_in_order'), "
            "(SELECT value FROM atlas_meta WHERE key = 'tic_files_in_order')"
        ).fetchone()
        assert marks == (str(len(codes)), str(len(GOOD))) and not needs_compaction(store)
    assert _rates(one_code) == _rates(db)


def test_an_attached_dataset_counts_as_one_file_toward_compaction(
    spark_run: tuple[Path, Path, Any], inputs: dict[str, Path], real_store: Path, tmp_path: Path
) -> None:
    """Into a store holding rows, the dataset's rows are one run in code order after them: one file of
    needs_compaction's tail, whatever its number of files (docs/scale.md)."""
    from hcpcs_atlas.store.tic import compact_rates
    from hcpcs_atlas.store.tic_parquet import attach_tic_parquet

    _, out, _ = spark_run
    compacted = _copy(real_store, tmp_path / "compacted")
    with Store(compacted) as store:
        ingest_tic(store, [str(inputs["real"])], set(CODES).__contains__)
        compact_rates(store)  # one file: not due by itself
        summary = attach_tic_parquet(store, out)
        assert len(summary.ingested) == len(GOOD) - 1 and summary.compacted == 0
        files_in_order = store.con.execute(
            "SELECT value FROM atlas_meta WHERE key = 'tic_files_in_order'"
        ).fetchone()
        assert files_in_order == (str(1 + len(GOOD) - 2),)  # the new files count as one
    tail = _copy(real_store, tmp_path / "tail")
    with Store(tail) as store:
        ingest_tic(store, [str(inputs["real"])], set(CODES).__contains__)  # one file of tail
        summary = attach_tic_parquet(store, out)  # and the dataset: two, every row in the tail
        rows = store.con.execute("SELECT count(*) FROM core_tic_rate_rows").fetchone()
        assert rows is not None and summary.compacted == rows[0] > 0


def _assert_in_code_order(folder: Path, code: str) -> None:
    """Every Parquet file under ``folder`` has its rows in ``code`` order, so its row groups' min/max
    do not overlap: a reader of one code reads the row groups holding it, not every row group."""
    import duckdb

    con = duckdb.connect()
    for path in folder.rglob("*.parquet"):
        codes = [c for (c,) in con.execute(f"SELECT {code} FROM read_parquet(?)", [str(path)]).fetchall()]
        assert codes == sorted(codes), path
        groups = con.execute(
            "SELECT stats_min_value, stats_max_value FROM parquet_metadata(?) WHERE path_in_schema = ? "
            "ORDER BY row_group_id",
            [str(path), code],
        ).fetchall()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(groups)), path


def test_every_level2_code_makes_a_file_per_letter_not_per_code(shared_data: Path, tmp_path: Path) -> None:
    """The HealthSCOPE file with every Level II code kept: 6,331 codes, one file per letter (17) rather
    than 6,331, rows in code order in row groups small enough to skip by their min/max."""
    import duckdb

    from hcpcs_atlas.sources import is_level2
    from hcpcs_atlas.sources.tic.reader import stage_in_network
    from hcpcs_atlas.store.parquet_out import ROWS_PER_GROUP, write_staged_rates

    (tmp_path / "staged").mkdir()
    tf = stage_in_network(shared_data / REAL, is_level2, tmp_path / "staged")
    assert tf.staged is not None
    constants = {"payer": "HealthSCOPE", "plan": None, "file_name": tf.file_name, "location": tf.source,
                 "sha256": tf.sha256, "updated": None}  # fmt: skip
    write_staged_rates(tf.staged, constants, tmp_path / "rates", "part-x")
    files = sorted((tmp_path / "rates").rglob("*.parquet"))
    con = duckdb.connect()
    rates = f"read_parquet('{tmp_path}/rates/*/*.parquet', hive_partitioning = true)"
    rows, codes, letters = con.execute(
        f"SELECT count(*), count(DISTINCT billing_code), count(DISTINCT code_group) FROM {rates}"
    ).fetchall()[0]
    assert rows == tf.staged.rows and codes > 6000 and len(files) == letters <= 17
    _assert_in_code_order(tmp_path / "rates", "billing_code")
    groups = con.execute(
        f"SELECT max(row_group_num_rows), count(*) FROM parquet_metadata('{tmp_path}/rates/*/*.parquet') "
        "WHERE path_in_schema = 'billing_code'"
    ).fetchall()[0]
    assert groups[0] <= ROWS_PER_GROUP and groups[1] > len(files)
    # A reader of one code (J9032: 14 rows) finds, by the row groups' min/max, one row group to read.
    holding = con.execute(
        f"SELECT count(*) FROM parquet_metadata('{tmp_path}/rates/*/*.parquet') "
        "WHERE path_in_schema = 'billing_code' AND stats_min_value <= 'J9032' AND stats_max_value >= 'J9032'"
    ).fetchall()[0][0]
    assert holding == 1


def test_every_code_of_a_file_writes_under_the_memory_cap(shared_data: Path, tmp_path: Path) -> None:
    """Every code of the HealthSCOPE file (253,461 rows naming 26.8 M NPIs) streams to its letters' files
    in code order; DuckDB's own partitioned writer ran out of the 100 MB cap here."""
    import duckdb

    from hcpcs_atlas.sources.tic.reader import stage_in_network
    from hcpcs_atlas.store.parquet_out import write_staged_rates

    (tmp_path / "staged").mkdir()
    tf = stage_in_network(shared_data / REAL, lambda code: True, tmp_path / "staged")
    assert tf.staged is not None
    constants = {"payer": "HealthSCOPE", "plan": None, "file_name": tf.file_name, "location": tf.source,
                 "sha256": tf.sha256, "updated": None}  # fmt: skip
    write_staged_rates(tf.staged, constants, tmp_path / "rates", "part-x")
    rates = f"read_parquet('{tmp_path}/rates/*/*.parquet', hive_partitioning = true)"
    counted = duckdb.connect().execute(
        f"SELECT count(*), count(*) FILTER (WHERE code_group <> left(billing_code, 1)) FROM {rates}"
    )
    assert counted.fetchall() == [(tf.staged.rows, 0)] and tf.staged.rows > 250_000
    _assert_in_code_order(tmp_path / "rates", "billing_code")


def test_attaching_again_changes_nothing(spark_run: tuple[Path, Path, Any]) -> None:
    db, out, _ = spark_run
    with Store(db, read_only=True) as store:
        before = store.con.execute("SELECT count(*) FROM core_tic_rates").fetchone()
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", "parquet", str(out)])
    assert result.output.count("already ingested; nothing changed") == len(GOOD)
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM core_tic_rates").fetchone() == before


def test_a_dataset_of_the_older_code_folders_still_attaches(
    spark_run: tuple[Path, Path, Any], real_store: Path, tmp_path: Path
) -> None:
    """Datasets written before the code_group layout (``rates/payer=P/billing_code=C/``) attach to the
    same facts; one holding both layouts is refused in one line, the store unchanged."""
    import duckdb

    db, out, _ = spark_run
    old = tmp_path / "old"
    shutil.copytree(out / "files", old / "files")
    new_rates = f"read_parquet('{out}/rates/*/*/*.parquet', hive_partitioning = true)"
    duckdb.connect().execute(
        f"COPY (SELECT * EXCLUDE (code_group) FROM {new_rates}) TO '{old}/rates' "
        "(FORMAT parquet, PARTITION_BY (payer, billing_code))"
    )
    assert {p.parent.name[:13] for p in (old / "rates").rglob("*.parquet")} == {"billing_code="}
    attached = _copy(real_store, tmp_path / "db")
    result = CliRunner().invoke(main, ["--db", str(attached), "ingest", "parquet", str(old)])
    assert result.output.count("ingested") == len(GOOD)
    assert _payers(attached) == _payers(db)

    shutil.copytree(out / "rates", old / "rates", dirs_exist_ok=True)
    again = _copy(real_store, tmp_path / "again")
    result = CliRunner().invoke(main, ["--db", str(again), "ingest", "parquet", str(old)])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2 and len(errors) == 1
    assert "older billing_code= layout" in errors[0] and str(old / "rates") in errors[0]
    with Store(again, read_only=True) as store:
        assert store.files("tic") == []


#: Written by the tasks only: the ids of each file's lists (lists/); Spark's writer carries the lists alone.
LIST_IDS = ("modifiers_id", "service_codes_id")


def _dataset(root: Path) -> tuple[list[Any], list[Any]]:
    """A TiC dataset's rate rows and manifest, in a fixed order (the workers' peaks and list ids apart)."""
    import duckdb

    con = duckdb.connect()
    rates = (
        f"read_parquet('{root}/rates/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
    )
    names = {name for (name, *_) in con.sql(f"DESCRIBE SELECT * FROM {rates}").fetchall()}
    columns = ", ".join(sorted(names - set(LIST_IDS)))
    manifest = f"SELECT * EXCLUDE (worker_peak_rss_bytes) FROM '{root}/files/*.parquet' ORDER BY ALL"
    return con.sql(f"SELECT {columns} FROM {rates} ORDER BY ALL").fetchall(), con.sql(manifest).fetchall()


def test_tasks_write_what_spark_writes_from_the_data_source(
    spark: Any, spark_run: tuple[Path, Path, Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    """The ingest's tasks write their Parquet themselves (no row through the JVM); the same dataset as
    Spark's writer makes from the data source's rows (the path for URLs pyarrow cannot write)."""
    from hcpcs_atlas.spark.ingest import ingest_to_parquet

    _, out, _ = spark_run
    sources = [str(inputs[k]) for k in (*GOOD, "bad")]
    result = ingest_to_parquet(spark, sources, str(tmp_path / "rows"), ",".join(CODES), writer="spark")
    assert len(result.failed) == 1 and len(result.files) == len(sources)
    tasks, rows = _dataset(out), _dataset(tmp_path / "rows")
    assert tasks == rows and len(tasks[0]) > 1000 and len(tasks[1]) == len(sources)


def test_payer_folders_are_escaped_as_spark_escapes_them() -> None:
    from hcpcs_atlas.spark.ingest import _pyarrow_target
    from hcpcs_atlas.store.parquet_out import escape_path

    # The tasks write where pyarrow can; Spark's writer, from the data source's rows, anywhere else.
    assert _pyarrow_target("/tmp/atlas") is not None and _pyarrow_target("s3a://bucket/atlas") is None

    assert escape_path("Blue Cross Blue Shield") == "Blue Cross Blue Shield"
    assert escape_path("A/B=C%D:E?\x01") == "A%2FB%3DC%25D%3AE%3F%01"


def test_data_source_rows_are_the_readers_rows(spark: Any, inputs: dict[str, Path]) -> None:
    sources = [str(inputs["cigna"]), str(inputs["real"])]
    df = spark.read.format("hcpcs_atlas_tic").option("codes", ",".join(CODES)).load(sources)
    assert df.rdd.getNumPartitions() == len(sources)  # a file is one partition, never split
    got = sorted((_key(r.asDict()) for r in df.collect()), key=repr)
    expected = []
    for source in sources:
        tf = read_in_network(source, set(CODES).__contains__)
        expected += [_key({**asdict(row), "file_name": tf.file_name, "sha256": tf.sha256}) for row in tf.rows]
    assert got == sorted(expected, key=repr) and len(got) > 100


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    fields = ("billing_code", "negotiated_type", "negotiated_rate", "billing_class", "tin_value",
              "provider_group_id", "expiration_date", "file_name", "sha256")  # fmt: skip
    lists = ("service_codes", "modifiers", "npis", "network_names")
    return (*(row[f] for f in fields), *(tuple(row[f]) for f in lists))


def test_table_of_contents_is_its_files(spark: Any, inputs: dict[str, Path]) -> None:
    reader = spark.read.format("hcpcs_atlas_tic").option("codes", "J9032").option("allow_local_refs", "true")
    df = reader.load(str(inputs["toc"]))
    files = {r.file_name for r in df.select("file_name").distinct().collect()}
    assert files == {inputs["aetna"].name, inputs["cigna"].name}


def test_spark_sql_benchmarks_equal_the_local_ones_exactly(
    spark: Any, spark_run: tuple[Path, Path, Any], local_db: Path
) -> None:
    from hcpcs_atlas.spark.benchmarks import payer_benchmarks

    _, out, _ = spark_run
    with Store(local_db, read_only=True) as store:
        facts = {code: FactsBuilder(store).build(code) for code in CODES}
    medicare = {c: f.medicare.asp.payment_limit or 0.0 for c, f in facts.items() if f.medicare.asp}
    assert medicare == {"J9032": 52.474, "J9330": 26.712}
    rates = spark.read.parquet(str(out / "rates"))
    got = {(r.payer, r.billing_code): r.asDict() for r in payer_benchmarks(rates, medicare).collect()}
    expected = {
        (p.payer, code): asdict(p.benchmarks) for code, f in facts.items() for p in f.payers if p.benchmarks
    }
    assert {k: {n: v for n, v in row.items() if n in expected[k]} for k, row in got.items()} == expected
    assert sum(p.n_suspect_rates for f in facts.values() for p in f.payers) > 0  # the rule was exercised
    assert len(expected) == 8


def test_cli_does_not_import_pyspark() -> None:
    code = "import sys, hcpcs_atlas.cli; sys.exit('pyspark' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_files_manifest_carries_every_core_tic_files_column() -> None:
    from hcpcs_atlas.spark.tic import MANIFEST_COLUMNS

    with Store(":memory:") as store:
        table = {row[0] for row in store.con.execute("DESCRIBE core_tic_files").fetchall()}
    assert table - {"file_id"} <= set(MANIFEST_COLUMNS)


def test_hospital_data_source_rows_are_the_readers_rows(spark: Any, shared_data: Path) -> None:
    from hcpcs_atlas.sources import is_level2
    from hcpcs_atlas.sources.hospital import read_hospital_file

    path = shared_data / "hospital_price_transparency/real/marthas-vineyard_standardcharges.csv"
    df = spark.read.format("hcpcs_atlas_hospital").load(str(path))
    got = sorted(
        (r.code, r.row, r.payer_name, r.plan_name, r.dollar, r.gross, r.sha256) for r in df.collect()
    )
    hf = read_hospital_file(path, is_level2)
    expected = sorted(
        (c.code, c.row, c.payer_name, c.plan_name, c.dollar, c.gross, hf.sha256) for c in hf.charges
    )
    assert got == expected and len(got) > 100


# -- ingest hospital --engine spark ------------------------------------------------------------------

HOSPITALS = "hospital_price_transparency/real"
#: Tall CSV in cp1252 (whole original file), wide CSV, JSON: every layout the reader knows.
HOSPITAL_FILES = (
    "marthas-vineyard_standardcharges.csv",
    "md-anderson_standardcharges.csv.gz",
    "uchicago_standardcharges.json.gz",
)
# Items and charges as stored, but by content, not by item number: how a file's items are numbered is
# the ingest's business, which item each charge belongs to is not.
_ITEMS = """SELECT f.file_name, i.* EXCLUDE (file_id, item_id) FROM core_hospital_items i
            JOIN source_files f USING (file_id) ORDER BY ALL"""
_CHARGES = """SELECT f.file_name, i.* EXCLUDE (file_id, item_id), c.* EXCLUDE (file_id, item_id)
              FROM core_hospital_charges c JOIN core_hospital_items i USING (file_id, item_id)
              JOIN source_files f USING (file_id) ORDER BY ALL"""
_HOSPITAL_FILES = "SELECT * EXCLUDE (file_id) FROM core_hospital_files ORDER BY ALL"


@pytest.fixture(scope="module")
def hospital_runs(
    spark: Any, real_store: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path, Any]:
    """The real price files ingested locally and with ``--engine spark`` (plus a truncated file):
    (local store, Spark store, Parquet, CLI result)."""
    from hcpcs_atlas.sources import is_level2
    from hcpcs_atlas.sources.hospital import read_hospital_file

    root = tmp_path_factory.mktemp("hospital")
    sources = [str(shared_data / HOSPITALS / name) for name in HOSPITAL_FILES]
    # Martha's Vineyard's Level II codes and ours: every file keeps some, and the two ingests stay quick
    # (every code of MD Anderson and UChicago is many times the charges, for no more coverage here).
    kept = {c.code for c in read_hospital_file(sources[0], is_level2).charges} | set(CODES)
    codes = ["--codes", ",".join(sorted(kept))]
    local = _copy(real_store, root / "local")
    result = CliRunner().invoke(main, ["--db", str(local), "ingest", "hospital", *sources, *codes])
    assert result.exit_code == 0, result.output
    bad = root / "truncated.csv.gz"
    bad.write_bytes(gzip.compress((shared_data / HOSPITALS / HOSPITAL_FILES[0]).read_bytes())[:40_000])
    db = _copy(real_store, root / "spark")
    out = root / "hospital.parquet"
    args = ["--db", str(db), "ingest", "hospital", *sources, str(bad), *codes, "--engine", "spark",
            "--master", "local[2]", "--parquet", str(out)]  # fmt: skip
    return local, db, out, CliRunner().invoke(main, args, catch_exceptions=False)


def test_spark_hospital_ingest_stores_what_the_local_ingest_stores(
    hospital_runs: tuple[Path, Path, Path, Any],
) -> None:
    local, db, _, result = hospital_runs
    assert result.output.count("ingested") == len(HOSPITAL_FILES)
    tables = {}
    for path in (local, db):
        with Store(path, read_only=True) as store:
            tables[path] = [store.con.execute(sql).fetchall() for sql in (_HOSPITAL_FILES, _ITEMS, _CHARGES)]
    assert tables[db] == tables[local]
    files, items, charges = tables[db]
    assert len(files) == len(HOSPITAL_FILES) and len(items) > 1000 and len(charges) > 1000


def test_spark_hospital_facts_equal_the_local_facts(hospital_runs: tuple[Path, Path, Path, Any]) -> None:
    local, db, _, _ = hospital_runs
    facts = {}
    for path in (local, db):
        with Store(path, read_only=True) as store:
            codes = sorted(store.con.execute("SELECT DISTINCT code FROM core_hospital_items").fetchall())
            picked = [*CODES, *(c for (c,) in codes[:: max(1, len(codes) // 12)])]
            builder = FactsBuilder(store)
            facts[path] = {
                c: (builder.build(c).hospital_rates, builder.build(c).hospital_charges) for c in picked
            }
    assert facts[db] == facts[local]
    assert all(facts[db][code][0] for code in CODES)  # MD Anderson and UChicago price both codes


def test_spark_hospital_bad_file_is_one_error_line(hospital_runs: tuple[Path, Path, Path, Any]) -> None:
    *_, result = hospital_runs
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "truncated.csv.gz" in errors[0]
    assert errors[1] == f"error: 1 of {len(HOSPITAL_FILES) + 1} file(s) failed; nothing was kept from them"


def test_spark_hospital_parquet_is_partitioned_and_reattaching_changes_nothing(
    hospital_runs: tuple[Path, Path, Path, Any],
) -> None:
    _, db, out, _ = hospital_runs
    parts = {
        p.relative_to(out / "hospital_charges").parts[:2]
        for p in (out / "hospital_charges").rglob("*.parquet")
    }
    assert ("payer=Aetna", "code_group=J") in parts and ("payer=Cigna", "code_group=J") in parts
    _assert_in_code_order(out / "hospital_charges", "code")
    with Store(db, read_only=True) as store:
        before = [store.con.execute(sql).fetchall() for sql in (_HOSPITAL_FILES, _ITEMS, _CHARGES)]
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", "parquet", str(out)])
    assert result.output.count("already ingested; nothing changed") == len(HOSPITAL_FILES)
    with Store(db, read_only=True) as store:
        assert [store.con.execute(sql).fetchall() for sql in (_HOSPITAL_FILES, _ITEMS, _CHARGES)] == before


def test_hospital_manifest_carries_every_core_hospital_files_column() -> None:
    from hcpcs_atlas.spark.hospital import HOSPITAL_MANIFEST_COLUMNS

    with Store(":memory:") as store:
        table = {row[0] for row in store.con.execute("DESCRIBE core_hospital_files").fetchall()}
    assert table - {"file_id"} <= set(HOSPITAL_MANIFEST_COLUMNS)


def test_tic_reader_hands_spark_arrow_batches(spark: Any, inputs: dict[str, Path]) -> None:
    """No Python row per rate: the reader yields Arrow record batches in the exact schema Spark checks."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    from hcpcs_atlas.spark.tic import TicReader

    options = {"path": str(inputs["cigna"]), "codes": ",".join(CODES)}
    schema = spark.read.format("hcpcs_atlas_tic").options(**options).load().schema
    reader = TicReader(options, schema)
    (partition,) = reader.partitions()
    batches = list(reader.read(partition))
    assert batches and all(isinstance(b, pa.RecordBatch) for b in batches)
    assert all(b.schema.equals(to_arrow_schema(schema, timezone="UTC")) for b in batches)
    expected = read_in_network(inputs["cigna"], set(CODES).__contains__)
    assert sum(b.num_rows for b in batches) == len(expected.rows) > 0


def test_ingest_parquet_attaches_rates_and_charges_from_one_folder(
    spark_run: tuple[Path, Path, Any],
    hospital_runs: tuple[Path, Path, Path, Any],
    real_store: Path,
    tmp_path: Path,
) -> None:
    _, rates, _ = spark_run
    *_, charges, _ = hospital_runs
    both = Path(shutil.copytree(rates, tmp_path / "both"))
    for name in ("hospital_files", "hospital_charges"):
        shutil.copytree(charges / name, both / name)
    db = _copy(real_store, tmp_path / "db")
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", "parquet", str(both)])
    assert len(re.findall(r"ingested [\d,]+ rate rows", result.output)) == len(GOOD)
    assert len(re.findall(r"ingested [\d,]+ charges", result.output)) == len(HOSPITAL_FILES)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2 and "truncated.json.gz" in errors[0] and "truncated.csv.gz" in errors[1]
    total = len(GOOD) + len(HOSPITAL_FILES) + 2
    assert errors[2] == f"error: 2 of {total} file(s) failed; nothing was kept from them"
    with Store(db, read_only=True) as store:
        assert len(store.files("tic")) == len(GOOD) and len(store.files("hospital")) == len(HOSPITAL_FILES)


def test_class_archive_is_made_by_one_session_then_used_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reason := _unavailable():
        pytest.skip(reason)
    from hcpcs_atlas.spark import session

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = session.class_data_sharing()
    assert first.startswith("-XX:ArchiveClassesAtExit=") and f".{os.getpid()}.tmp" in first
    written = Path(first.split("=", 1)[1].split()[0])
    dump = (0xF00BABA8).to_bytes(4, sys.byteorder) + b"classes"  # a finished dump: header written last
    written.write_bytes(dump)
    assert session.class_data_sharing().startswith("-XX:ArchiveClassesAtExit=")  # its JVM may still write
    gone = ".999999999."  # a session long gone (no such process)
    cut = written.with_name(written.name.replace(f".{os.getpid()}.", ".999999998."))
    cut.write_bytes(bytes(4) + b"classes")  # a dump cut short: no header
    finished = written.rename(written.with_name(written.name.replace(f".{os.getpid()}.", gone)))
    for path in (cut, finished):
        os.utime(path, (0, 0))
    used = session.class_data_sharing()
    assert used.startswith("-XX:SharedArchiveFile=") and not finished.exists() and not cut.exists()
    assert Path(used.split("=", 1)[1].split()[0]).read_bytes() == dump
    monkeypatch.setenv("HCPCS_ATLAS_SPARK_CDS", "0")
    assert session.class_data_sharing() == ""
