"""Synthetic NPPES NPI data dissemination files (``npidata_pfile``) of any size, with known answers.

The layout is the real one, column for column: 329 columns in the 2016 layout, 330 in the current one
(``Provider Gender Code`` became ``Provider Sex Code``; ``Certification Date`` was appended). Every field is
double-quoted, empty fields are ``""``, and a row is about 1.1 KB as in the real ~9 GB monthly file. Rows
are streamed to disk, so a multi-GB file costs no memory. ``providers`` are written exactly as given (the
NPIs a test's rate file names), spread through the generated body; the rest are random but plausible.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import IO, Literal

__all__ = ["Layout", "NppesProvider", "NppesSynthOptions", "NppesSynthResult", "nppes_header", "write_nppes"]

Layout = Literal["2016", "current"]

TAXONOMY_SLOTS = 15
OTHER_ID_SLOTS = 50
TAXONOMIES = (
    "207RH0003X",  # hematology & oncology
    "207RX0202X",  # medical oncology
    "2080P0207X",  # pediatric hematology-oncology
    "207R00000X",  # internal medicine
    "207Q00000X",  # family medicine
    "261QX0203X",  # radiation oncology clinic
    "282N00000X",  # general acute care hospital
    "3336C0003X",  # community/retail pharmacy
    "163W00000X",  # registered nurse
    "363LF0000X",  # family nurse practitioner
)
STATES = ("CA", "TX", "NY", "FL", "IL", "PA", "OH", "NC", "GA", "MI", "NE", "WA")
CITIES = ("SPRINGFIELD", "FAIRVIEW", "RIVERSIDE", "FRANKLIN", "GREENVILLE", "SALEM", "MADISON", "CLINTON")
STREETS = ("MAIN ST", "CENTRAL AVE", "OAK DR", "PARK BLVD", "VILLAGE DR", "HOSPITAL WAY")
LAST_NAMES = ("SMITH", "JOHNSON", "NGUYEN", "GARCIA", "WIEBE", "OKAFOR", "KOWALSKI", "SATO", "MULLER")
FIRST_NAMES = ("DAVID", "MARIA", "JAMES", "AISHA", "WEI", "OLGA", "PEDRO", "RUTH", "SAMUEL")


@dataclass(frozen=True)
class NppesProvider:
    """What a reader must keep for one NPI."""

    npi: int
    entity_type: str  # "1" individual, "2" organization, "" for a deactivated NPI
    taxonomies: tuple[str, ...]
    primary: int | None  # index into taxonomies of the switch-"Y" one; None = no switch set
    state: str
    zip_code: str  # 9 digits as NPPES writes it (or 5)
    city: str
    deactivated: date | None = None

    @property
    def primary_taxonomy(self) -> str | None:
        if self.primary is not None:
            return self.taxonomies[self.primary]
        return self.taxonomies[0] if self.taxonomies else None


@dataclass(frozen=True)
class NppesSynthOptions:
    seed: int = 1
    rows: int = 1_000  # generated rows besides ``providers``
    layout: Layout = "current"
    shuffle_columns: bool = False  # the same columns in another order: readers must go by name
    providers: tuple[NppesProvider, ...] = ()
    first_npi: int = 1_000_000_000  # generated NPIs count up from here, never equal to a given one
    archive: Literal["none", "zip"] = "none"  # "zip": the CSV inside a zip, as the monthly download


@dataclass
class NppesSynthResult:
    path: Path
    rows: int
    bytes_written: int  # of the CSV (uncompressed)
    expected: dict[int, NppesProvider] = field(default_factory=dict)  # given providers + first 100 generated


def nppes_header(layout: Layout = "current") -> list[str]:
    """The column names in the publisher's order."""
    practice = "Provider Business Practice Location Address"
    mailing = "Provider Business Mailing Address"
    columns = [
        "NPI",
        "Entity Type Code",
        "Replacement NPI",
        "Employer Identification Number (EIN)",
        "Provider Organization Name (Legal Business Name)",
        "Provider Last Name (Legal Name)",
        "Provider First Name",
        "Provider Middle Name",
        "Provider Name Prefix Text",
        "Provider Name Suffix Text",
        "Provider Credential Text",
        "Provider Other Organization Name",
        "Provider Other Organization Name Type Code",
        *(f"Provider Other {p}" for p in _NAME_PARTS),
        "Provider Other Last Name Type Code",
        "Provider First Line Business Mailing Address",
        "Provider Second Line Business Mailing Address",
        *(f"{mailing} {p}" for p in _ADDRESS_PARTS),
        "Provider First Line Business Practice Location Address",
        "Provider Second Line Business Practice Location Address",
        *(f"{practice} {p}" for p in _ADDRESS_PARTS),
        "Provider Enumeration Date",
        "Last Update Date",
        "NPI Deactivation Reason Code",
        "NPI Deactivation Date",
        "NPI Reactivation Date",
        "Provider Gender Code" if layout == "2016" else "Provider Sex Code",
        "Authorized Official Last Name",
        "Authorized Official First Name",
        "Authorized Official Middle Name",
        "Authorized Official Title or Position",
        "Authorized Official Telephone Number",
    ]
    for n in range(1, TAXONOMY_SLOTS + 1):
        columns += [
            f"Healthcare Provider Taxonomy Code_{n}",
            f"Provider License Number_{n}",
            f"Provider License Number State Code_{n}",
            f"Healthcare Provider Primary Taxonomy Switch_{n}",
        ]
    for n in range(1, OTHER_ID_SLOTS + 1):
        columns += [
            f"Other Provider Identifier_{n}",
            f"Other Provider Identifier Type Code_{n}",
            f"Other Provider Identifier State_{n}",
            f"Other Provider Identifier Issuer_{n}",
        ]
    columns += [
        "Is Sole Proprietor",
        "Is Organization Subpart",
        "Parent Organization LBN",
        "Parent Organization TIN",
        "Authorized Official Name Prefix Text",
        "Authorized Official Name Suffix Text",
        "Authorized Official Credential Text",
        *(f"Healthcare Provider Taxonomy Group_{n}" for n in range(1, TAXONOMY_SLOTS + 1)),
    ]
    return [*columns, "Certification Date"] if layout == "current" else columns


_NAME_PARTS = (
    "Last Name",
    "First Name",
    "Middle Name",
    "Name Prefix Text",
    "Name Suffix Text",
    "Credential Text",
)
_ADDRESS_PARTS = (
    "City Name",
    "State Name",
    "Postal Code",
    "Country Code (If outside U.S.)",
    "Telephone Number",
    "Fax Number",
)


def random_provider(rng: random.Random, npi: int) -> NppesProvider:
    if rng.random() < 0.005:  # deactivated NPIs keep only the NPI and the date
        return NppesProvider(npi, "", (), None, "", "", "", date(2015, 1, 1 + rng.randrange(28)))
    count = rng.choice((1, 1, 1, 2, 3))
    taxonomies = tuple(rng.sample(TAXONOMIES, count))
    primary = None if rng.random() < 0.02 else rng.randrange(count)
    zip_code = f"{rng.randrange(10000, 99999)}{rng.randrange(10000):04d}"
    entity = "2" if rng.random() < 0.25 else "1"
    return NppesProvider(npi, entity, taxonomies, primary, rng.choice(STATES), zip_code, rng.choice(CITIES))


def _row(p: NppesProvider, index: dict[str, int], width: int, rng: random.Random) -> list[str]:
    row = [""] * width

    def put(name: str, value: str) -> None:
        row[index[name]] = value

    put("NPI", str(p.npi))
    if p.deactivated is not None:
        put("NPI Deactivation Date", p.deactivated.strftime("%m/%d/%Y"))
        return row
    put("Entity Type Code", p.entity_type)
    if p.entity_type == "2":
        put("Provider Organization Name (Legal Business Name)", f"{rng.choice(CITIES)} MEDICAL GROUP, INC")
        put("Employer Identification Number (EIN)", "<UNAVAIL>")
        put("Authorized Official Last Name", rng.choice(LAST_NAMES))
        put("Authorized Official First Name", rng.choice(FIRST_NAMES))
        put("Authorized Official Title or Position", "CEO")
        put("Authorized Official Telephone Number", f"{rng.randrange(2000000000, 9999999999)}")
        put("Is Organization Subpart", "N")
    else:
        put("Provider Last Name (Legal Name)", rng.choice(LAST_NAMES))
        put("Provider First Name", rng.choice(FIRST_NAMES))
        put("Provider Middle Name", "A")
        put("Provider Credential Text", "M.D.")
        put(next(n for n in index if n in ("Provider Gender Code", "Provider Sex Code")), rng.choice("MF"))
        put("Is Sole Proprietor", rng.choice("NXY"))
    street = f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}"
    phone = f"{rng.randrange(2000000000, 9999999999)}"
    for kind in ("Mailing", "Practice Location"):
        prefix = f"Provider Business {kind} Address"
        put(f"Provider First Line Business {kind} Address", street)
        put(f"{prefix} City Name", p.city)
        put(f"{prefix} State Name", p.state)
        put(f"{prefix} Postal Code", p.zip_code)
        put(f"{prefix} Country Code (If outside U.S.)", "US")
        put(f"{prefix} Telephone Number", phone)
    put("Provider Enumeration Date", "05/23/2005")
    put("Last Update Date", "07/08/2007")
    for n, code in enumerate(p.taxonomies, start=1):
        put(f"Healthcare Provider Taxonomy Code_{n}", code)
        put(f"Provider License Number_{n}", str(rng.randrange(1000, 999999)))
        put(f"Provider License Number State Code_{n}", p.state)
        put(f"Healthcare Provider Primary Taxonomy Switch_{n}", "Y" if p.primary == n - 1 else "N")
    for n in range(1, rng.choice((1, 2, 3)) + 1):
        put(f"Other Provider Identifier_{n}", str(rng.randrange(10000, 9999999)))
        put(f"Other Provider Identifier Type Code_{n}", "01")
        put(f"Other Provider Identifier State_{n}", p.state)
        put(f"Other Provider Identifier Issuer_{n}", "BCBS")
    if "Certification Date" in index:
        put("Certification Date", "01/15/2024")
    return row


def _line(fields: list[str]) -> str:
    # Every field quoted as NPPES writes them; generated values never hold a double quote.
    return '"' + '","'.join(fields) + '"\n'


#: Generated rows reuse this many distinct bodies (all but the NPI): parsing cost is the same, writing fast.
POOL_SIZE = 4096


def _providers(options: NppesSynthOptions) -> Iterator[NppesProvider | int]:
    """Given providers spread evenly through the generated NPIs (an int: a generated row's NPI)."""
    given = list(options.providers)
    step = max(options.rows // (len(given) + 1), 1)
    taken = {p.npi for p in given}
    npi = options.first_npi
    for i in range(options.rows):
        if given and i % step == step - 1:
            yield given.pop(0)
        while npi in taken:
            npi += 1
        yield npi
        npi += 1
    yield from given


def write_nppes(path: Path, options: NppesSynthOptions | None = None) -> NppesSynthResult:
    """Write the CSV (or a zip holding it, named like the real ``npidata_pfile_*.csv``)."""
    options = options or NppesSynthOptions()
    path = Path(path)
    if options.archive == "zip":
        with (
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
            archive.open("npidata_pfile_20050523-20251109.csv", "w", force_zip64=True) as member,
        ):
            result = _write_csv(member, options)
        result.path = path
        return result
    with path.open("wb") as fh:
        result = _write_csv(fh, options)
    result.path = path
    return result


def _write_csv(fh: IO[bytes], options: NppesSynthOptions) -> NppesSynthResult:
    rng = random.Random(options.seed)
    header = nppes_header(options.layout)
    if options.shuffle_columns:
        header = [header[0], *random.Random(options.seed + 1).sample(header[1:], len(header) - 1)]
    index = {name: i for i, name in enumerate(header)}
    width = len(header)
    pool = [random_provider(rng, 0) for _ in range(POOL_SIZE)]
    bodies = [_line(_row(p, index, width, rng)).removeprefix('"0"') for p in pool]
    result = NppesSynthResult(Path(), 0, 0, {p.npi: p for p in options.providers})
    buffer = io.StringIO()
    buffer.write(_line(header))
    for item in _providers(options):
        if isinstance(item, int):
            slot = item % POOL_SIZE
            buffer.write(f'"{item}"{bodies[slot]}')
            if len(result.expected) < len(options.providers) + 100:
                result.expected[item] = replace(pool[slot], npi=item)
        else:
            buffer.write(_line(_row(item, index, width, rng)))
        result.rows += 1
        if buffer.tell() > 1 << 20:
            result.bytes_written += fh.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    result.bytes_written += fh.write(buffer.getvalue().encode())
    return result
