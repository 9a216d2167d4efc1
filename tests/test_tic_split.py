"""One file read with a helper process (sources/tic/split.py) stages what one process stages, and a
file the helper cannot take is read again alone: same rows, same errors with the same byte offsets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.tic import stage_in_network
from hcpcs_atlas.sources.tic.net import ReadOptions
from hcpcs_atlas.store.tic import staged_files
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

#: every test twice: with the C accelerator and in pure Python (conftest.tic_path)
pytestmark = pytest.mark.usefixtures("tic_path")

HEALTHSCOPE = "tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"
SPLIT = ReadOptions(split_after_bytes=0)
ALONE = ReadOptions(split_after_bytes=None)
ROWS = """
SELECT p.billing_code, p.billing_code_type, p.negotiation_arrangement, p.negotiated_type, p.negotiated_rate,
       p.expiration_date, p.billing_class, p.setting, s.codes, m.codes, p.additional_information,
       g.provider_group_id, g.tin_type, g.tin_value, g.npis, g.network_names
FROM read_parquet($prices) p
JOIN read_parquet($providers) g ON g.pset = p.pset
JOIN read_parquet($lists) s ON s.id = p.service_code
JOIN read_parquet($lists) m ON m.id = p.billing_code_modifier
"""


def keep_targets(code: str) -> bool:
    return code in {"J9032", "J9330"} or code.startswith("A")


def staged(source: Path, folder: Path, options: ReadOptions, keep: Any = is_level2) -> dict[str, Any]:
    folder.mkdir()
    tf = stage_in_network(source, keep, folder, options=options)
    assert tf.staged is not None
    rows = duckdb.execute(ROWS, staged_files(tf.staged)).fetchall()
    return {
        "rows": sorted(rows, key=repr),
        "parts": sorted(p.name for p in folder.glob("prices*.parquet")),
        "counts": (
            tf.items_seen,
            tf.items_kept,
            tf.staged.rows,
            tf.staged.rows_without_provider,
            tf.prices_skipped,
            tf.prices_skipped_by,
            tf.refs_unresolved,
        ),
    }


def test_healthscope_with_a_helper_stages_what_one_process_stages(shared_data: Path, tmp_path: Path) -> None:
    alone = staged(shared_data / HEALTHSCOPE, tmp_path / "alone", ALONE)
    split = staged(shared_data / HEALTHSCOPE, tmp_path / "split", SPLIT)
    assert split["parts"] == ["prices-1.parquet", "prices.parquet"]  # the helper took items
    assert alone["parts"] == ["prices.parquet"]
    assert split["counts"] == alone["counts"]
    assert split["rows"] == alone["rows"] and len(alone["rows"]) > 50_000


@pytest.mark.parametrize("refs", ["before", "after"])
def test_synthetic_realistic_and_inline_groups_with_a_helper(tmp_path: Path, refs: str) -> None:
    """References after in_network are resolved while they stream past: the helper's ids must be known
    by then (``sync``)."""
    options = TicSynthOptions(seed=7, size_bytes=3_000_000, refs=refs, inline_groups=True)  # type: ignore[arg-type]
    source = write_in_network(tmp_path / "in.json.gz", options).path
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    split = staged(source, tmp_path / "split", SPLIT, keep_targets)
    assert "prices-1.parquet" in split["parts"]
    assert split["counts"] == alone["counts"] and split["rows"] == alone["rows"]


def test_broken_kept_item_same_error_as_alone(tmp_path: Path) -> None:
    """The helper finds the broken item; the file is read again alone, which reports it exactly."""
    made = write_in_network(tmp_path / "t.json", TicSynthOptions(seed=23, size_bytes=12_000_000))
    data = made.path.read_bytes()
    item = data.index(b'"billing_code":"J9330"')
    rate = data.index(b'"negotiated_rate":', item) + len(b'"negotiated_rate":')
    broken = tmp_path / "broken.json"
    broken.write_bytes(data[:rate] + b"x" + data[rate + 1 :])
    errors = []
    for name, options in (("alone", ALONE), ("split", SPLIT)):
        (tmp_path / name).mkdir()
        with pytest.raises(InputError) as caught:
            stage_in_network(broken, keep_targets, tmp_path / name, options=options)
        errors.append((caught.value.message, caught.value.byte))
    assert errors[0] == errors[1] and errors[0][1] == rate


def test_a_hint_inside_an_item_is_read_again_alone(tmp_path: Path) -> None:
    """An item whose strings hold braces that balance a cut: handed over wrongly, found by the helper."""
    item = (b'{"negotiation_arrangement":"ffs","billing_code_type":"HCPCS","billing_code":"J9330",'
            b'"description":"}]","negotiated_rates":[{"provider_references":[1],"negotiated_prices":'
            b'[{"negotiated_type":"negotiated","negotiated_rate":1.5,"service_code":["11"]}]}],'
            b'"bundled_codes":[{"billing_code_type":"HCPCS","code":"A0001"},'
            b'{"billing_code_type":"HCPCS","billing_code":"A0002"}]}')  # fmt: skip
    refs = (
        b'[{"provider_group_id":1,"provider_groups":[{"npi":[1234567893],"tin":{"type":"ein","value":"1"}}]}]'
    )
    doc = b'{"reporting_entity_name":"X","provider_references":' + refs + b',"in_network":['
    doc += b",".join([item] * 3000) + b"]}"
    source = tmp_path / "braces.json"
    source.write_bytes(doc)
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    split = staged(source, tmp_path / "split", SPLIT, keep_targets)
    assert split["parts"] == ["prices.parquet"]  # read again alone
    assert split["rows"] == alone["rows"] and len(alone["rows"]) == 3000


def test_the_helper_starts_only_after_enough_kept_bytes(tmp_path: Path) -> None:
    source = write_in_network(tmp_path / "in.json.gz", TicSynthOptions(seed=8, size_bytes=2_000_000)).path
    late = staged(source, tmp_path / "late", ReadOptions(split_after_bytes=1 << 40), keep_targets)
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    assert late["parts"] == ["prices.parquet"] and late["rows"] == alone["rows"]


def test_a_large_file_starts_its_helper_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of SPLIT_AT_ONCE_BYTES or more (as stored) does not wait for split_after_bytes of kept items."""
    from hcpcs_atlas.sources.tic import reader

    source = write_in_network(tmp_path / "in.json.gz", TicSynthOptions(seed=8, size_bytes=2_000_000)).path
    monkeypatch.setattr(reader, "SPLIT_AT_ONCE_BYTES", source.stat().st_size)
    early = staged(source, tmp_path / "early", ReadOptions(split_after_bytes=1 << 40), keep_targets)
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    assert early["parts"] == ["prices-1.parquet", "prices.parquet"]  # the helper took items
    assert early["rows"] == alone["rows"] and early["counts"] == alone["counts"]


def keep_but_die_in_a_helper(code: str) -> bool:
    """A keep that kills the helper process (as the OOM killer would) at its first item."""
    import multiprocessing
    import os

    if multiprocessing.parent_process() is not None:
        os._exit(9)
    return keep_targets(code)


def test_a_helper_that_dies_leaves_the_file_to_be_read_alone(tmp_path: Path) -> None:
    options = TicSynthOptions(seed=9, size_bytes=3_000_000, refs="after")
    source = write_in_network(tmp_path / "in.json.gz", options).path
    died = staged(source, tmp_path / "died", SPLIT, keep_but_die_in_a_helper)
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    assert died["parts"] == ["prices.parquet"] and died["rows"] == alone["rows"]


def test_no_queue_thread_outlives_a_helper_that_died(tmp_path: Path) -> None:
    """A batch left in the pipe of a dead helper must not keep a feeder thread (and the batch) forever."""
    import threading
    import time

    options = TicSynthOptions(seed=9, size_bytes=3_000_000, refs="after")
    source = write_in_network(tmp_path / "in.json.gz", options).path
    staged(source, tmp_path / "died", SPLIT, keep_but_die_in_a_helper)
    deadline = time.monotonic() + 10
    while any(t.name == "QueueFeederThread" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name == "QueueFeederThread"]


def test_a_staging_folder_named_like_a_glob(tmp_path: Path) -> None:
    """The price files are named one by one: ``[``, ``*`` and ``?`` in the folder's path are just text."""
    options = TicSynthOptions(seed=10, size_bytes=3_000_000)
    source = write_in_network(tmp_path / "in.json.gz", options).path
    odd = staged(source, tmp_path / "a[1]*?", SPLIT, keep_targets)
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    assert odd["parts"] == ["prices-1.parquet", "prices.parquet"]
    assert odd["rows"] == alone["rows"]


def test_no_nonblocking_pipe_reads_the_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the helper's pipe cannot be written without blocking (Windows), one process reads the file."""
    from hcpcs_atlas.sources.tic import split

    source = write_in_network(tmp_path / "in.json.gz", TicSynthOptions(seed=8, size_bytes=2_000_000)).path
    assert split.may_split(source, keep_targets, 0)
    monkeypatch.setattr(split, "nonblocking_pipe", lambda: False)
    assert not split.may_split(source, keep_targets, 0)
    fallback = staged(source, tmp_path / "fallback", SPLIT, keep_targets)
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    assert fallback["parts"] == ["prices.parquet"]  # no helper took items
    assert fallback["rows"] == alone["rows"] and fallback["counts"] == alone["counts"]


def test_a_helper_up_before_this_process_makes_its_collector_keeps_its_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file's helper starts before this process makes its collector. When the helper is up first
    (this process slow: a loaded machine, cold caches), its prices file exists already; it was removed
    as stale, and the rows it held were lost while the file counted as ingested (seen in CI as a third
    of the rows). The order is forced here: this process waits for the helper's file."""
    import time

    from hcpcs_atlas.sources.tic import columns, reader

    options = TicSynthOptions(seed=11, size_bytes=3_000_000)
    source = write_in_network(tmp_path / "in.json.gz", options).path
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)

    class AfterTheHelper(columns.ColumnCollector):
        def __init__(self, keep: Any, staged_rates: Any, part: int = 0, helper: Any = None) -> None:
            if helper is not None:
                opened = staged_rates.prices_part(1)
                give_up = time.monotonic() + 60
                while not opened.exists() and time.monotonic() < give_up:
                    time.sleep(0.01)
                assert opened.exists(), "the helper did not open its prices file"
            super().__init__(keep, staged_rates, part, helper)

    monkeypatch.setattr(reader, "SPLIT_AT_ONCE_BYTES", 0)  # the helper starts before the collector
    monkeypatch.setattr(reader, "ColumnCollector", AfterTheHelper)
    split = staged(source, tmp_path / "split", SPLIT, keep_targets)
    assert "prices-1.parquet" in split["parts"]
    assert split["counts"] == alone["counts"] and split["rows"] == alone["rows"]


def test_staged_prices_that_do_not_add_up_fail_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prices file lost for any reason fails the file (nothing stored) instead of storing part of it."""
    from hcpcs_atlas.sources.tic import columns

    source = write_in_network(tmp_path / "in.json.gz", TicSynthOptions(seed=11, size_bytes=1_000_000)).path
    # the helper's part is not taken in: its prices are in a file, not in the counts
    monkeypatch.setattr(columns.ColumnCollector, "_absorb", lambda self, export: None)
    (tmp_path / "split").mkdir()
    with pytest.raises(RuntimeError, match=r"staged prices lost: [\d,]+ counted, [\d,]+ in the prices files"):
        stage_in_network(source, keep_targets, tmp_path / "split", options=SPLIT)


def test_a_file_read_with_a_helper_then_again_for_more_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper's provider sets are numbered from PART_IDS while staged; the store numbers them after the
    main process's. Stored as staged, a file read with a helper and then again for more codes gave ids
    past INTEGER (an overflow in the insert, and the ingest stopped)."""
    from hcpcs_atlas.sources.tic import columns, reader
    from hcpcs_atlas.sources.tic.model import PART_IDS
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.tic import ingest_tic

    from .test_tic_columns import stored_rows

    monkeypatch.setattr(reader, "may_split", lambda *args: True)  # a helper even on one core
    taken: list[int] = []
    absorb = columns.ColumnCollector._absorb

    def counted(self: columns.ColumnCollector, export: Any) -> None:
        taken.append(export.kept if export else 0)
        absorb(self, export)

    monkeypatch.setattr(columns.ColumnCollector, "_absorb", counted)
    source = write_in_network(tmp_path / "in.json.gz", TicSynthOptions(seed=7, size_bytes=3_000_000)).path

    def ingest(db: Path, keep: Any) -> None:
        with Store(db) as store:
            summary = ingest_tic(store, [str(source)], keep, options=SPLIT)
        assert not summary.failed, summary.failed

    twice, once = tmp_path / "twice.duckdb", tmp_path / "once.duckdb"
    ingest(twice, {"J9032", "J9330"}.__contains__)
    ingest(twice, is_level2)
    ingest(once, is_level2)
    assert len(taken) == 3 and all(taken), taken  # the helper took items in each read
    assert stored_rows(twice) == stored_rows(once) and stored_rows(once)
    for db in (twice, once):
        with Store(db, read_only=True) as store:
            row = store.con.execute("SELECT max(pset) FROM core_tic_provider_sets").fetchone()
        assert row is not None and row[0] < PART_IDS


def test_a_helper_file_lost_after_the_read_reads_the_file_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prices that do not add up after a read with a helper: the file is read again in one process."""
    from hcpcs_atlas.sources.tic import split

    options = TicSynthOptions(seed=7, size_bytes=3_000_000)
    source = write_in_network(tmp_path / "in.json.gz", options).path
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)
    joined = split.Helper.join

    def join_then_lose(self: split.Helper) -> Any:
        export = joined(self)
        (tmp_path / "split" / "prices-1.parquet").unlink()
        return export

    monkeypatch.setattr(split.Helper, "join", join_then_lose)
    again = staged(source, tmp_path / "split", SPLIT, keep_targets)
    assert again["parts"] == ["prices.parquet"]  # read again alone
    assert again["counts"] == alone["counts"] and again["rows"] == alone["rows"]


@pytest.mark.parametrize("at_once", [True, False])
def test_a_helper_that_cannot_start_reads_the_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_once: bool
) -> None:
    """No process to be had (a limit; a script without a __main__ guard): the file is read alone, the
    same rows, whether the helper starts before the read or at the first kept item."""
    import multiprocessing.context

    from hcpcs_atlas.sources.tic import reader

    source = write_in_network(tmp_path / "in.json.gz", TicSynthOptions(seed=7, size_bytes=1_000_000)).path
    alone = staged(source, tmp_path / "alone", ALONE, keep_targets)

    def refuse(self: Any) -> None:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    if at_once:
        monkeypatch.setattr(reader, "SPLIT_AT_ONCE_BYTES", 0)
    split = staged(source, tmp_path / "split", SPLIT, keep_targets)
    assert split["parts"] == ["prices.parquet"]
    assert split["counts"] == alone["counts"] and split["rows"] == alone["rows"]
