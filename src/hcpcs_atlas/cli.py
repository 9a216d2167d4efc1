"""The ``hcpcs-atlas`` command: a thin skin over the library. Every AtlasError exits 2 with one line."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from .errors import AtlasError, InputError, OutputError
from .progress import Progress
from .store import LoadOutcome, Store, default_db_path, file_sources, input_files, load_files
from .text import one_line

if TYPE_CHECKING:
    from .store.db import StoreOrOpener
    from .store.tic import IngestSummary
    from .store.tic_parquet import AttachSummary

if TYPE_CHECKING:
    from .store.tic import IngestSummary
    from .store.tic_parquet import AttachSummary

# The facts builder, renderers, site and TiC reader are imported by the commands that use them, so that
# ``hcpcs-atlas --help`` stays fast (benchmarks/cli_import.py); duckdb loads when a store is opened.

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(2)


def atlas_errors(fn: F) -> F:
    """Report an AtlasError as one line on stderr and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AtlasError as exc:
            _fail(str(exc))

    return wrapper  # type: ignore[return-value]


class _UsageLine(click.ClickException):
    """A usage error as one line naming the command, like every other user error."""

    exit_code = 2

    def __init__(self, exc: click.UsageError) -> None:
        where = exc.ctx.command_path if exc.ctx else "hcpcs-atlas"
        super().__init__(f"{where}: {exc.format_message()} (see --help)")

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {one_line(self.format_message())}", err=True)


class _Main(click.Group):
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _UsageLine(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _UsageLine(exc) from None


def _store(ctx: click.Context, read_only: bool = False) -> Store:
    store = Store(ctx.obj["db"], read_only=read_only)
    ctx.call_on_close(store.close)
    return store


@click.group(cls=_Main)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Store file (DuckDB). Default: $HCPCS_ATLAS_DB or ./atlas.duckdb.",
)
@click.version_option(package_name="hcpcs-atlas")
@click.pass_context
def main(ctx: click.Context, db: Path | None) -> None:
    """HCPCS Level II billing-code intelligence from public CMS and payer data.

    Example: hcpcs-atlas demo --out out/demo
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db or default_db_path()


@main.command()
@click.argument("source", type=click.Choice(file_sources()))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--effective", type=click.DateTime(["%Y-%m-%d"]), help="Override the files' effective start date."
)
@click.pass_context
@atlas_errors
def load(ctx: click.Context, source: str, paths: tuple[Path, ...], effective: Any) -> None:
    """Load source files: each file one transaction; loading the same file again changes nothing.

    SOURCE: hcpcs, asp, crosswalk, opps (CMS files); nucc (NUCC taxonomy CSV); nppes (NPPES
    npidata_pfile CSV or the monthly/weekly zip, streamed: a later file updates the NPIs it lists);
    label (FDA SPL XML documents, DailyMed zips, or folders of them).

    PATHS are files (plain, .gz, or a CMS .zip: the one file of SOURCE's kind inside is loaded) or
    folders (their files of SOURCE's kind). A bad file is named and the others still load; the exit
    code is then 2.

    Example: hcpcs-atlas load asp 2025_Oct_ASP_Pricing_File.csv ../shared/data/asp/history/
    """
    files, skipped = input_files(source, list(paths))
    for path in skipped:
        click.echo(f"{path}: skipped (its name is not one of {source} files; see data/source_files.csv)")
    if not files:
        raise InputError(
            ", ".join(map(str, paths)), f"no {source} file to load here (files are chosen by name)"
        )
    opener = functools.partial(Store, ctx.obj["db"])  # opened to check and to write each file only
    start = effective.date() if effective else None
    failed = [o.error for o in load_files(opener, source, files, start) if not _report_load(o, source)]
    if len(files) == 1 and failed:
        _fail(str(failed[0]))
    if failed:
        for error in failed:
            click.echo(f"error: {one_line(str(error))}", err=True)
        _fail(f"{len(failed)} of {len(files)} file(s) failed; nothing was kept from them")


def _report_load(outcome: LoadOutcome, source: str) -> bool:
    """Print one line for a loaded file; False when it failed."""
    if outcome.note:
        click.echo(outcome.note)
    if outcome.error:
        return False
    result = outcome.result
    assert result is not None
    if result.already_loaded:
        click.echo(f"{outcome.name}: already loaded (file {result.file_id}); nothing changed")
    else:
        click.echo(f"{outcome.name}: loaded {result.rows:,} {source} rows as file {result.file_id}")
    return True


@main.command()
@click.argument("code")
@click.pass_context
@atlas_errors
def facts(ctx: click.Context, code: str) -> None:
    """Print the facts record of CODE as JSON (keys: docs/facts.md).

    Example: hcpcs-atlas facts J9032
    """
    from .facts import FactsBuilder, facts_json

    click.echo(facts_json(FactsBuilder(_store(ctx, read_only=True)).build(code)), nl=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the facts record.

    Example: hcpcs-atlas schema > facts.schema.json
    """
    from .facts import facts_schema

    click.echo(orjson.dumps(facts_schema(), option=orjson.OPT_INDENT_2).decode())


@main.command()
@click.argument("codes", nargs=-1)
@click.option("--all", "all_codes", is_flag=True, help="Every code in the loaded HCPCS file(s).")
@click.option(
    "--format", "formats", default="md,html,json", show_default=True, help="Comma list: md,html,json,pdf."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True
)
@click.pass_context
@atlas_errors
def build(ctx: click.Context, codes: tuple[str, ...], all_codes: bool, formats: str, out: Path) -> None:
    """Write publications (DIR/CODE.md, .html, .json, .pdf) and a browsable DIR/index.html.

    Example: hcpcs-atlas build J9032 J9330 --format md,html,json,pdf --out out
    """
    from .site import build_publications, parse_formats

    if bool(codes) == all_codes:
        raise click.UsageError("give CODE... or --all (not both)")
    try:
        fmts = parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from exc
    store = _store(ctx, read_only=True)
    try:
        with Progress("build") as bar:
            result = build_publications(store, None if all_codes else list(codes), fmts, out, bar)
    except OSError as exc:  # the output place, not the store (the store raises StoreError)
        raise OutputError(f"{exc.filename or out}: cannot write: {exc.strerror or exc}") from None
    click.echo(
        f"wrote {len(result.files):,} files for {len(result.codes):,} codes to {out}/ (index: {out}/index.html)"
    )


@main.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only changes effective on or after DATE.")
@click.option(
    "--source",
    "sources",
    type=click.Choice(file_sources()),
    multiple=True,
    help="Only this source (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@click.option(
    "--min-pct", type=float, default=0.0, show_default=True, help="Smallest payment change kept, in %."
)
@click.pass_context
@atlas_errors
def changes(ctx: click.Context, since: Any, sources: tuple[str, ...], fmt: str, min_pct: float) -> None:
    """Every change between consecutive loaded versions, over all codes, newest first.

    Payment changes, corrections (a later edition of the same quarter), NDCs added or removed, HCPCS codes
    added, terminated or with a new descriptor, each with the files compared and the date on its source's
    clock.

    Example: hcpcs-atlas changes --since 2025-01-01 --source asp --format csv
    """
    from .facts import FactsBuilder
    from .facts.changes import SOURCES, store_changes
    from .render import render_markdown
    from .writer.changes import changes_csv, changes_json, changes_publication, changes_scope

    builder = FactsBuilder(_store(ctx, read_only=True))
    found = store_changes(builder, since.date() if since else None, sources or SOURCES, min_pct)
    if fmt == "json":
        click.echo(changes_json(found).decode())
    elif fmt == "csv":
        click.echo(changes_csv(found), nl=False)
    else:
        click.echo(
            render_markdown(changes_publication(found, changes_scope(since, sources, min_pct))), nl=False
        )


#: Options that ``ingest tic`` and ``ingest hospital`` share.
_ENGINE = click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="spark: read on Apache Spark (pip install 'hcpcs-atlas[spark]'), write Parquet, attach it.",
)
_MASTER = click.option("--master", help="Spark master URL (--engine spark). Default: local[2].")


def _parquet_option(suffix: str) -> Callable[[F], F]:
    """``--parquet``: where --engine spark writes; by default beside the store, ``STORE{suffix}/``."""
    return click.option(
        "--parquet",
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Where --engine spark writes its Parquet dataset. Default: beside the store, STORE{suffix}/.",
    )


@main.group()
def ingest() -> None:
    """Ingest payer data."""


def _codes_option(codes: str | None, codes_file: Path | None) -> list[str] | None:
    if codes and codes_file:
        raise click.UsageError("give --codes or --codes-file, not both")
    if codes_file:
        try:
            text = codes_file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(codes_file, "not a UTF-8 text file of codes", byte=exc.start) from None
        if "\0" in text:
            raise InputError(codes_file, "not a text file of codes (a NUL byte)", byte=text.index("\0"))
        listed = text.replace(",", "\n").split()
        if not listed:  # keeping nothing would record the file as done with nothing in it
            raise InputError(codes_file, "no code in the file", byte=0)
        return listed
    if codes is not None and not "".join(codes.split(",")).strip():
        raise click.BadParameter("no code given", param_hint="--codes")
    return codes.split(",") if codes else None


@ingest.command("tic")
@click.argument("sources", nargs=-1, required=True)
@click.option("--payer", help="Payer name (default: from reporting_entity_name via payer aliases).")
@click.option("--codes", help="Comma list of codes to keep (default: every HCPCS code in the store).")
@click.option("--codes-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Files read at once, in worker processes [default: cores]; with N > 1 one big local file "
    "is read by 2 processes (a helper parses part of its items).",
)
@click.option(
    "--plan-filter", help="Only files whose plan name or id, description or location contains TEXT."
)
@click.option("--max-files", type=click.IntRange(min=0), help="Read at most N files (after --plan-filter).")
@click.option(
    "--allow-local-refs",
    is_flag=True,
    help="Let a local file's locations (provider references, table-of-contents entries) name local "
    "files, resolved relative to it. Never for downloaded files.",
)
@click.option(
    "--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1), help="Seconds."
)
@click.option(
    "--read-timeout", default=60.0, show_default=True, type=click.FloatRange(0.1), help="Seconds per read."
)
@click.option(
    "--refs-deadline",
    default=300.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds for all remote provider references of one file.",
)
@click.option(
    "--ref-workers",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Parallel reference fetches.",
)
@click.option(
    "--max-item-mb",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse a file holding a single JSON object (an item, a provider group) larger than this.",
)
@_ENGINE
@_MASTER
@_parquet_option(".tic")
@click.pass_context
@atlas_errors
def ingest_tic_command(
    ctx: click.Context,
    sources: tuple[str, ...],
    payer: str | None,
    codes: str | None,
    codes_file: Path | None,
    jobs: int | None,
    plan_filter: str | None,
    max_files: int | None,
    allow_local_refs: bool,
    connect_timeout: float,
    read_timeout: float,
    refs_deadline: float,
    ref_workers: int,
    max_item_mb: int,
    engine: str,
    master: str | None,
    parquet: Path | None,
) -> None:
    """Stream in-network rate files (path or URL; .json, .json.gz, .zip, or a table of contents).

    Each file is one transaction: a file that fails leaves nothing, and the others go on.

    Example: hcpcs-atlas ingest tic aetna-in-network.json.gz --codes J9032,J9330
    """
    import os

    from .sources.tic.net import SPLIT_AFTER_BYTES, ReadOptions
    from .store.tic import ingest_tic, keep_codes, wanted_codes

    jobs = jobs or os.cpu_count() or 1
    # with a core to spare, one big local file is read with a helper process (sources/tic/split.py)
    options = ReadOptions(connect_timeout, read_timeout, refs_deadline, ref_workers, allow_local_refs,
                          max_item_mb << 20, SPLIT_AFTER_BYTES if jobs > 1 else None)  # fmt: skip
    wanted = _codes_option(codes, codes_file)
    if engine == "spark":
        if plan_filter or max_files is not None:
            raise click.UsageError("--plan-filter and --max-files are not available with --engine spark")
        store = _store(ctx)
        out = parquet or store.path.with_suffix(".tic")
        spark_ingest = _spark_ingest()
        attached = spark_ingest(
            store, sources, out, wanted_codes(store, wanted), payer, master, allow_local_refs
        )
        _write_summaries(store, attached)
        _report(attached, "rate rows")
        return
    db = ctx.obj["db"]
    with Store(db) as opened:  # closed while files are read: others may read or load meanwhile
        keep = keep_codes(opened, wanted)
    opener = functools.partial(Store, db)  # opened for each file's transaction only
    summary = ingest_tic(
        opener, sources, keep, payer, Progress, jobs, plan_filter, max_files, options, _write_summaries
    )
    _report(summary, "rate rows")


@ingest.command("parquet")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_context
@atlas_errors
def ingest_parquet_command(ctx: click.Context, folder: Path) -> None:
    """Attach the Parquet dataset of a Spark ingest (spark-submit, Databricks) to the store: in-network
    rates (FOLDER/files, FOLDER/rates), hospital charges (FOLDER/hospital_files, FOLDER/hospital_charges)
    or both.

    Example: hcpcs-atlas ingest parquet atlas.tic
    """
    from .store.hospital_parquet import attach_hospital_parquet, has_hospital_parquet
    from .store.tic_parquet import attach_tic_parquet

    store = _store(ctx)
    hospital = has_hospital_parquet(folder)
    if hospital and not (folder / "files").is_dir():
        _report(attach_hospital_parquet(store, folder), "charges")
        return
    summary = attach_tic_parquet(store, folder)
    _write_summaries(store, summary)
    if not hospital:
        _report(summary, "rate rows")
        return
    other = attach_hospital_parquet(store, folder)
    for name, rows in other.ingested:
        click.echo(f"{name}: ingested {rows:,} charges")
    summary.unchanged += other.unchanged
    summary.failed += other.failed
    _report(summary, "rate rows", also_ingested=len(other.ingested))


def _write_summaries(store: StoreOrOpener, summary: IngestSummary | AttachSummary) -> None:
    """After TiC rates were stored: each code's payer summary stored, so facts, build and serve read it
    (a command that stored nothing changes nothing)."""
    from .facts.tic import write_tic_summaries

    if not summary.ingested:
        return
    ingested = None if summary.compacted else sum(rows for _, rows in summary.ingested)
    _, error = write_tic_summaries(store, ingested)  # a cache of facts: said only when it fails
    if error:
        click.echo(
            f"warning: store: payer summaries not written ({error}); facts computes them from the rates",
            err=True,
        )


def _spark_ingest(kind: str = "tic") -> Callable[..., AttachSummary]:
    try:
        from .spark import ingest as spark
    except ImportError as exc:
        raise AtlasError(f"--engine spark needs pyspark: pip install 'hcpcs-atlas[spark]' ({exc})") from None
    return spark.ingest_into_store if kind == "tic" else spark.ingest_hospital_into_store


@ingest.command("hospital")
@click.argument("sources", nargs=-1, required=True)
@click.option("--codes", help="Comma list of codes to keep (default: every HCPCS code in the store).")
@click.option("--codes-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Files parsed at once, in worker processes.")  # fmt: skip
@_ENGINE
@_MASTER
@_parquet_option(".hospital")
@click.pass_context
@atlas_errors
def ingest_hospital_command(
    ctx: click.Context,
    sources: tuple[str, ...],
    codes: str | None,
    codes_file: Path | None,
    jobs: int,
    engine: str,
    master: str | None,
    parquet: Path | None,
) -> None:
    """Stream hospital price files (45 CFR 180.50; CMS template v2.0-v3.0: tall CSV, wide CSV, JSON).

    SOURCE is a path or URL (.csv, .json, .zip, .gz; the layout is read from the content) or a
    hospital's cms-hpt.txt, whose mrf-url files are ingested.

    Example: hcpcs-atlas ingest hospital unc_standardcharges.csv.gz --codes J9032,J9330
    """
    from .store.hospital import ingest_hospital
    from .store.tic import keep_codes, wanted_codes

    store = _store(ctx)
    if engine == "spark":
        out = parquet or store.path.with_suffix(".hospital")
        wanted = wanted_codes(store, _codes_option(codes, codes_file))
        _report(_spark_ingest("hospital")(store, sources, out, wanted, master), "charges")
        return
    keep = keep_codes(store, _codes_option(codes, codes_file))
    store.close()  # reopened for each file's commit only: others may read or load meanwhile
    opener = functools.partial(Store, ctx.obj["db"])
    _report(ingest_hospital(opener, sources, keep, progress=Progress, jobs=jobs), "charges")


def _report(summary: IngestSummary | AttachSummary, what: str, also_ingested: int = 0) -> None:
    """One line per file; ``also_ingested``: files of another kind already reported (counted in the total)."""
    for name, rows in summary.ingested:
        skipped = summary.prices_skipped.get(name.removesuffix(" (codes not kept before)"), {})
        why = ", ".join(f"{n:,} with {reason}" for reason, n in sorted(skipped.items()))
        click.echo(f"{name}: ingested {rows:,} {what}" + (f"; skipped prices: {why}" if why else ""))
    for name in summary.unchanged:
        click.echo(f"{name}: already ingested; nothing changed")
    if summary.compacted:
        click.echo(f"store: {summary.compacted:,} prices put in billing-code order (compaction)")
    if summary.compaction_error:
        click.echo(
            f"warning: store: compaction failed ({summary.compaction_error}); the files are stored, "
            "queries stay correct but slower, the next ingest tries again",
            err=True,
        )
    if summary.refs_failed or summary.rows_without_provider:
        click.echo(
            f"warning: {summary.refs_failed} remote provider reference(s) could not be fetched; "
            f"{summary.rows_without_provider:,} rate row(s) kept with their provider_group_id, "
            "TIN and NPIs unknown (counted in benchmarks, not in provider or TIN counts)",
            err=True,
        )
    total = len(summary.failed) + len(summary.ingested) + len(summary.unchanged) + also_ingested
    if not total:
        click.echo("no file selected", err=True)
    if not summary.failed:
        return
    lines = [_short_urls(line) for line in summary.failed]
    for line in lines[:-1]:
        click.echo(f"error: {one_line(line)}", err=True)
    last = lines[-1]
    if total > 1:  # one file: its own line is the whole story
        click.echo(f"error: {one_line(last)}", err=True)
        last = f"{len(summary.failed)} of {total} file(s) failed; nothing was kept from them"
    _fail(last)


def _short_urls(line: str) -> str:
    """Signed URLs run to hundreds of characters: an error line names the file, without the query."""
    import re

    return re.sub(r"(https?://[^\s?]+)\?\S*?(?=[:,]?\s|$)", r"\1?...", line)


@main.group()
def tic() -> None:
    """Transparency-in-Coverage files."""


@tic.command("list")
@click.argument("toc")
@click.option(
    "--allow-local-refs",
    is_flag=True,
    help="Let a local table of contents name local files (relative to it).",
)
@atlas_errors
def tic_list(toc: str, allow_local_refs: bool) -> None:
    """List the in-network files a table of contents points to, with their plans and sizes (no download).

    Example: hcpcs-atlas tic list 2024-10-21_index.json
    """
    from dataclasses import replace

    from .sources.tic.net import DEFAULT_OPTIONS
    from .sources.tic.stream import file_name
    from .store.tic import expand_sources

    options = replace(DEFAULT_OPTIONS, allow_local_refs=allow_local_refs)
    targets = expand_sources([toc], options=options)
    click.echo(f"{len(targets)} in-network file(s)")
    for number, target in enumerate(targets, start=1):
        size = f"{target.size:,} bytes" if target.size is not None else "size unknown"
        click.echo(f"{number:>4}  {file_name(target.location)}  ({size})")
        if target.description:
            click.echo(f"      {target.description}")
        click.echo(f"      plans: {'; '.join(target.plan_names()) or 'not listed'}")


@main.command()
@click.pass_context
@atlas_errors
def files(ctx: click.Context) -> None:
    """List the loaded source files with their effective period and sha256.

    Example: hcpcs-atlas files
    """
    for f in _store(ctx, read_only=True).files():
        period = f"{f['effective_start'] or '?'}..{f['effective_end'] or ''}"
        click.echo(
            f"{f['file_id']:>4}  {f['source']:<9} {period:<23} {f['row_count']:>8,}  {f['sha256'][:12]}  {f['file_name']}"
        )


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only by default)."
)
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0 picks a free one).")
@click.pass_context
@atlas_errors
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the web application: search, publications, compare, payers, changes, sources, /api/v1.

    Read-only; loads may run while it serves (it picks up new data). Example: hcpcs-atlas serve --port 8000
    """
    from .site.serve import serve as run

    run(ctx.obj["db"], host, port, announce=click.echo)


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"), show_default=True
)
@atlas_errors
def demo(out: Path) -> None:
    """Load the bundled demo inputs into a fresh store and build their publications (offline).

    Example: hcpcs-atlas demo --out out/demo
    """
    from .demo import run_demo

    result = run_demo(out)
    for line in result.report():
        click.echo(line)
