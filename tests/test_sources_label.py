"""FDA SPL labels: the real HUMIRA, LIPITOR and OTC documents; zips, folders; hostile and broken XML."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.sources.label import iter_documents, parse_label
from hcpcs_atlas.sources.ndc import normalize_ndc
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.label import labels_for_code, load_label, load_labels, normalize_words

SPL = "fda_spl"


def _label(shared_data: Path, name: str):  # type: ignore[no-untyped-def]
    (doc,) = iter_documents(shared_data / SPL / name)
    return parse_label(doc)


def test_humira(shared_data: Path) -> None:
    label = _label(shared_data, "humira.xml")
    assert label.set_id == "608d4f0d-b19f-46d3-749a-7159aa5f933d"
    assert (label.version, label.effective_date) == (1560, date(2013, 9, 30))
    assert label.document_type == "HUMAN PRESCRIPTION DRUG LABEL"
    assert label.product_names == ["Humira"]
    assert label.generic_names == ["Adalimumab"]  # the kit's alcohol pad lends no generic name
    assert label.routes == ["SUBCUTANEOUS"]
    assert label.dosage_forms == ["KIT", "INJECTION, SOLUTION"]
    assert label.marketing_categories == ["BLA"]
    assert ("0074-3799-02", "00074-3799-02") in label.ndcs
    assert ("0074-3797-01", "00074-3797-01") in label.ndcs
    assert label.title is not None and "HUMIRA (adalimumab) injection, for subcutaneous use" in label.title
    assert label.indications is not None
    assert label.indications.startswith("1.1 Rheumatoid Arthritis\n\nHUMIRA is indicated for reducing signs")
    assert "1.4 Ankylosing Spondylitis" in label.indications
    assert label.boxed_warning is not None and label.boxed_warning.startswith("SERIOUS INFECTIONS")
    assert label.dosage_and_administration is not None
    assert "40 mg administered every other week" in label.dosage_and_administration
    assert label.contraindications is not None


def test_lipitor_list_items_kept(shared_data: Path) -> None:
    label = _label(shared_data, "lipitor-orig.xml")
    assert label.generic_names == ["atorvastatin calcium"]
    assert label.routes == ["ORAL"]
    assert label.boxed_warning is None
    assert label.indications is not None
    assert (
        "LIPITOR is indicated to:\n\n- Reduce the risk of myocardial infarction\n- Reduce the risk of stroke"
        in label.indications
    )


def test_otc_table_rows(shared_data: Path) -> None:
    label = _label(shared_data, "cough.xml")
    assert label.document_type == "HUMAN OTC DRUG LABEL"
    assert label.dosage_and_administration is not None
    assert "children 6 to under 12 years of age | 2 teaspoonfuls (10 mL)" in label.dosage_and_administration


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("0074-3799-02", "00074-3799-02"),  # 4-4-2
        ("72893-002-01", "72893-0002-01"),  # 5-3-2
        ("50242-0060-1", "50242-0060-01"),  # 5-4-1
        ("50242-0060-01", "50242-0060-01"),
        ("50242006001", "50242-0060-01"),
        ("5024200601", None),  # 10 digits undashed: ambiguous
        ("PS12345", None),
    ],
)
def test_ndc_normalized(written: str, normal: str | None) -> None:
    assert normalize_ndc(written) == normal


def test_humira_links_to_j0135_by_generic_name_lipitor_to_nothing(shared_data: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        assert load_label(store, shared_data / SPL).rows == 3
        humira = labels_for_code(store, "J0135", "Injection, adalimumab, 20 mg")
        assert [(x.product_names, x.link) for x in humira] == [(["Humira"], "generic_name")]
        assert humira[0].indications is not None and "rheumatoid arthritis" in humira[0].indications
        assert labels_for_code(store, "J0135", "Injection, adalimumabx, 20 mg") == []  # never a partial word
        # the OTC syrup's generic name is a combination: one of its words alone links nothing
        assert labels_for_code(store, "J1200", "Injection, diphenhydramine hcl, up to 50 mg") == []
        assert load_label(store, shared_data / SPL / "humira.xml").already_loaded


def test_normalize_words() -> None:
    assert normalize_words("Injection, adalimumab, 20 mg") == "injection adalimumab 20 mg"


def _with_ndc(shared_data: Path, tmp_path: Path, ndc: str) -> Path:
    text = (shared_data / SPL / "lipitor-orig.xml").read_text(encoding="utf-8")
    out = tmp_path / "lipitor-ndc.xml"
    out.write_text(text.replace('code="0071-0155-23"', f'code="{ndc}"', 1), encoding="utf-8")
    return out


def test_label_links_through_crosswalk_by_4_4_2_ndc(
    shared_data: Path, store_copy: Path, tmp_path: Path
) -> None:
    """LIPITOR links nowhere; with one package NDC in 4-4-2 form that the crosswalk lists, it links by NDC."""
    with Store(store_copy) as store:
        load_label(store, shared_data / SPL / "lipitor-orig.xml")
        assert labels_for_code(store, "J9032", "Injection, belinostat, 10 mg") == []
        row = store.con.execute(
            "SELECT code, ndc FROM core_asp_crosswalk WHERE ndc LIKE '0%' AND code LIKE 'J%' LIMIT 1"
        ).fetchone()
        assert row is not None
        code, ndc = row
        load_label(store, _with_ndc(shared_data, tmp_path, ndc[1:]))  # 00xxx-yyyy-zz written as 0xxx-yyyy-zz
        linked = labels_for_code(store, code, None)
    assert [(x.product_names, x.link) for x in linked] == [(["Lipitor"], "ndc")]


def test_malformed_xml_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text('<document xmlns="urn:hl7-org:v3"><setId root="x"/><title>oops</document>')
    with Store(tmp_path / "a.duckdb") as store:
        with pytest.raises(InputError, match=r"bad\.xml: malformed XML at line 1"):
            load_labels(store, bad)
        assert store.files("label") == []


def test_entity_expansion_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        '<document xmlns="urn:hl7-org:v3"><title>&b;</title></document>'
    )
    with pytest.raises(InputError, match="refused"):
        parse_label(next(iter_documents(bomb)))


def test_not_spl_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<root><a/></root>")
    with pytest.raises(InputError, match="not an SPL document"):
        parse_label(next(iter_documents(other)))


def test_zip_without_xml_refused(tmp_path: Path) -> None:
    empty = tmp_path / "label.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("image.jpg", b"\xff\xd8")
    with pytest.raises(InputError, match="holds no SPL XML"):
        list(iter_documents(empty))


def test_dailymed_zip_and_nested_zip(shared_data: Path, tmp_path: Path) -> None:
    inner = tmp_path / "20130930_608d4f0d.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.write(shared_data / SPL / "humira.xml", "608d4f0d.xml")
        archive.writestr("humira-01.jpg", b"\xff\xd8")
    bulk = tmp_path / "dm_spl_release_human_rx.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        archive.write(inner, "prescription/20130930_608d4f0d.zip")
    (single,) = iter_documents(inner)
    (nested,) = iter_documents(bulk)
    assert single.name == "20130930_608d4f0d.zip:608d4f0d.xml"
    assert nested.name.endswith("prescription/20130930_608d4f0d.zip:608d4f0d.xml")
    assert parse_label(nested).set_id == parse_label(single).set_id


def test_bad_document_in_a_bulk_zip_does_not_stop_the_others(shared_data: Path, tmp_path: Path) -> None:
    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        archive.writestr("a-bad.xml", "<document><title>oops</document>")
        archive.write(shared_data / SPL / "lipitor-orig.xml", "b-lipitor.xml")
    with Store(tmp_path / "a.duckdb") as store:
        with pytest.raises(InputError, match=r"bulk\.zip:a-bad\.xml: malformed XML.*1 of 2 documents failed"):
            load_labels(store, bulk)
        assert [f["file_name"] for f in store.files("label")] == ["bulk.zip:b-lipitor.xml"]
