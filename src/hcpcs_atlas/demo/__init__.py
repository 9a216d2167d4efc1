"""``hcpcs-atlas demo``: the whole pipeline on the project's own small inputs, offline.

The CMS demo files (``demo/files``) are subsets of the real public files in their real formats, made by
``scripts/make_demo_data.py``. The payer files are SYNTHETIC: written at run time by the project's own
generator (``hcpcs_atlas.synth``), named ``demo-synthetic-*``, with plan names that say so. They show how
the Payer Landscape section works; they are not any payer's real rates. So are the NPPES rows of the NPIs
those files name (taxonomy and state assigned in turn; the NUCC rows describing the taxonomies are real)
and the one FDA-format drug label, written by us for J9032 and titled as a demo label. The hospital price
file (``demo/files/demo-hospital_standardcharges.csv``, CMS v3.0 tall CSV) is WRITTEN BY US for the demo: a
hospital that does not exist ("DEMO DATA" in its name and notes), with one row priced per 500 mg vial and
percentage and algorithm rows, to show the "Hospital-reported negotiated rates" part.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..site import build_publications
from ..store import Store, load_file
from ..store.hospital import ingest_hospital
from ..store.tic import ingest_tic
from ..synth.nppes import NppesProvider, NppesSynthOptions, write_nppes
from ..synth.tic import TicSynthOptions, write_in_network

__all__ = ["DEMO_CODES", "DemoResult", "run_demo"]

DEMO_CODES = ["J9032", "J9330", "J9035", "Q5107", "J9011", "J0131", "J9010", "J0202"]

_CMS_FILES = [
    ("hcpcs", "HCPC2020_ANWEB_demo.txt"),
    ("hcpcs", "HCPC2025_OCT_ANWEB_demo.xlsx"),
    ("asp", "2025_Oct_ASP_Pricing_File_demo.csv"),
    ("crosswalk", "2025_Oct_ASP_NDC-HCPCS_Crosswalk_demo.csv"),
    ("opps", "2023_January_Web_Addendum_B_demo.xlsx"),
    ("opps", "Addendum_B_2026-04_demo.csv"),
    ("nucc", "nucc_taxonomy_251_demo.csv"),  # real NUCC rows for the demo's taxonomies
    ("label", "demo-synthetic-belinostat-spl.xml"),  # written by us for J9032, marked synthetic
]

# Synthetic payer files: (file stem, reporting entity, rate multiple of the ASP limit (low, high), seed).
_PAYERS = [
    ("aetna", "Aetna Life Insurance Company", (1.05, 1.6), 11),
    ("bcbs-anthem", "Anthem Blue Cross", (0.95, 1.4), 12),
    ("bcbs-florida-blue", "Florida Blue", (1.1, 1.8), 13),
    ("cigna", "Cigna Health and Life Insurance Company", (1.0, 1.5), 14),
    ("uhc", "UnitedHealthcare Insurance Company", (1.08, 1.7), 15),
]
_PAYER_CODES = ("J9032", "J9330", "J9035", "Q5107")
_HOSPITAL_FILE = "demo-hospital_standardcharges.csv"


@dataclass
class DemoResult:
    out: Path
    store: Path
    loaded: list[str] = field(default_factory=list)
    publications: list[Path] = field(default_factory=list)

    def report(self) -> list[str]:
        lines = [f"demo store: {self.store}", *(f"loaded {name}" for name in self.loaded)]
        lines += [f"wrote {p}" for p in self.publications]
        lines.append(f"open {self.out / 'index.html'} to browse (payer rates in the demo are synthetic)")
        return lines


def _asp_limits(store: Store) -> dict[str, float]:
    rows = store.source_rows("asp")
    return {row["code"]: row["payment_limit_usd"] for row in rows if row["payment_limit_usd"]}


def _payer_files(store: Store, folder: Path) -> tuple[list[Path], set[int]]:
    """The synthetic payer files, and the NPIs their rates name."""
    folder.mkdir(parents=True, exist_ok=True)
    limits = _asp_limits(store)
    paths, npis = [], set()
    for stem, entity, (low, high), seed in _PAYERS:
        options = TicSynthOptions(
            seed=seed,
            version="2.0.0" if seed % 2 else "1.3.1",
            size_bytes=200_000,
            target_codes=_PAYER_CODES,
            items_per_target=3,
            entity_name=entity,
            plan_name="DEMO SYNTHETIC DATA - not real rates",
            rate_ranges={
                c: (round(limits[c] * low, 2), round(limits[c] * high, 2))
                for c in _PAYER_CODES
                if c in limits
            },
        )
        path = folder / f"demo-synthetic-{stem}-in-network.json.gz"
        written = write_in_network(path, options)
        paths.append(path)
        npis |= {n for row in written.rows for n in row.npis if n}
    return paths, npis


# Synthetic NPPES rows for the demo's NPIs: taxonomies (real NUCC codes, rows in demo/files) and states
# assigned in turn; every seventh NPI is left out to show NPIs that are not in NPPES.
_DEMO_TAXONOMIES = ("207RX0202X", "207RH0003X", "282N00000X", "261QX0203X", "2080P0207X", "3336H0001X")
_DEMO_STATES = ("TX", "CA", "NY", "FL", "IL")


def _nppes_file(npis: set[int], folder: Path) -> Path:
    providers = tuple(
        NppesProvider(
            npi,
            "2" if i % 3 == 2 else "1",
            (_DEMO_TAXONOMIES[i % 6],),
            0,
            _DEMO_STATES[i % 5],
            "100010000",
            "DEMO CITY",
        )
        for i, npi in enumerate(sorted(npis))
        if i % 7 != 6
    )
    path = folder / "demo-synthetic-npidata_pfile_20050523-20251109.csv"
    write_nppes(path, NppesSynthOptions(seed=7, rows=40, providers=providers))
    return path


def run_demo(out: Path, formats: tuple[str, ...] = ("md", "html", "json", "pdf")) -> DemoResult:
    """Load the demo inputs into a fresh store at ``out/atlas.duckdb`` and build the demo publications."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    result = DemoResult(out, out / "atlas.duckdb")
    files = resources.files(__name__).joinpath("files")
    with Store(result.store) as store:
        for source, name in _CMS_FILES:
            with resources.as_file(files.joinpath(name)) as path:
                load_file(store, source, path)
            result.loaded.append(name)
        payer_files, npis = _payer_files(store, out / "payer-files")
        summary = ingest_tic(store, [str(p) for p in payer_files], set(_PAYER_CODES).__contains__)
        result.loaded += [name for name, _ in summary.ingested]
        nppes = _nppes_file(npis, out / "payer-files")
        load_file(store, "nppes", nppes)
        result.loaded.append(nppes.name)
        with resources.as_file(files.joinpath(_HOSPITAL_FILE)) as path:
            hospital = ingest_hospital(store, [str(path)], set(_PAYER_CODES).__contains__)
        result.loaded += [name for name, _ in hospital.ingested]
        built = build_publications(store, DEMO_CODES, formats, out / "publications")
    result.publications = built.files
    return result
