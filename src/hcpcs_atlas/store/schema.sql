-- hcpcs-atlas store. One row per loaded file in source_files; every core_ row knows its file_id.
-- Column names carry units (_usd, _pct); table names carry their layer (core_).
CREATE SEQUENCE IF NOT EXISTS source_file_ids START 1;

CREATE TABLE IF NOT EXISTS atlas_meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS source_files (
    file_id INTEGER PRIMARY KEY DEFAULT nextval('source_file_ids'),
    source VARCHAR NOT NULL,            -- hcpcs | asp | crosswalk | opps | tic | hospital
    file_name VARCHAR NOT NULL,
    location VARCHAR NOT NULL,          -- path or URL as given
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT,
    format VARCHAR,
    effective_start DATE,
    effective_end DATE,
    loaded_at TIMESTAMP NOT NULL,
    row_count INTEGER NOT NULL,
    meta JSON,
    UNIQUE (source, sha256)
);

CREATE TABLE IF NOT EXISTS core_hcpcs_codes (
    file_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    seq VARCHAR,
    long_description VARCHAR,
    short_description VARCHAR,
    pricing_indicators VARCHAR[],
    multiple_pricing_indicator VARCHAR,
    cim_refs VARCHAR[],
    mcm_refs VARCHAR[],
    statute VARCHAR,
    lab_cert VARCHAR[],
    xrefs VARCHAR[],
    coverage_code VARCHAR,
    asc_group VARCHAR,
    asc_date DATE,
    opps_status_indicator VARCHAR,
    opps_payment_indicator VARCHAR,
    opps_date DATE,
    processing_note VARCHAR,
    betos VARCHAR,
    type_of_service VARCHAR[],
    anesthesia_base_units INTEGER,
    add_date DATE,
    action_effective_date DATE,
    termination_date DATE,
    action_code VARCHAR
);

CREATE TABLE IF NOT EXISTS core_hcpcs_modifiers (
    file_id INTEGER NOT NULL,
    modifier VARCHAR NOT NULL,
    long_description VARCHAR,
    short_description VARCHAR,
    coverage_code VARCHAR,
    add_date DATE,
    action_effective_date DATE,
    termination_date DATE,
    action_code VARCHAR
);

CREATE TABLE IF NOT EXISTS core_asp_prices (
    file_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    short_description VARCHAR,
    dosage VARCHAR,
    payment_limit_usd DOUBLE,
    coinsurance_pct DOUBLE,
    vaccine_awp_pct DOUBLE,
    vaccine_limit_usd DOUBLE,
    blood_awp_pct DOUBLE,
    blood_limit_usd DOUBLE,
    clotting_factor VARCHAR,
    notes VARCHAR
);

CREATE TABLE IF NOT EXISTS core_asp_crosswalk (
    file_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    short_description VARCHAR,
    labeler VARCHAR,
    ndc VARCHAR NOT NULL,
    drug_name VARCHAR,
    dosage VARCHAR,
    package_size DOUBLE,
    package_quantity DOUBLE,
    billing_units DOUBLE,
    billing_units_per_package DOUBLE
);

CREATE TABLE IF NOT EXISTS core_opps_rates (
    file_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    short_descriptor VARCHAR,
    status_indicator VARCHAR,
    apc VARCHAR,
    relative_weight DOUBLE,
    payment_rate_usd DOUBLE,
    national_copay_usd DOUBLE,
    minimum_copay_usd DOUBLE,
    changed BOOLEAN
);

CREATE TABLE IF NOT EXISTS core_tic_files (
    file_id INTEGER NOT NULL,
    payer VARCHAR NOT NULL,
    plan_label VARCHAR,                 -- a BCBS plan keeps its own name in breakdowns
    reporting_entity_name VARCHAR,
    reporting_entity_type VARCHAR,
    last_updated_on DATE,
    version VARCHAR,
    plan_name VARCHAR,
    plan_id VARCHAR,
    plan_id_type VARCHAR,
    plan_market_type VARCHAR,
    issuer_name VARCHAR,
    plan_sponsor_name VARCHAR,
    network_name VARCHAR,
    items_seen BIGINT,
    items_kept BIGINT,
    remote_refs_fetched INTEGER,
    remote_refs_failed INTEGER,
    reporting_plans JSON
);

-- Each distinct service-code or modifier list once (as written: order kept); rate rows carry its id, so
-- a row is narrower and merging a code's observations groups integers, not lists (docs/scale.md).
CREATE TABLE IF NOT EXISTS core_tic_lists (
    list_id INTEGER NOT NULL,
    codes VARCHAR[] NOT NULL
);

-- One row per negotiated price: its provider groups are a set of its file (core_tic_provider_sets), so a
-- group's NPI list is stored once per set, not once per price (124 NPIs a row in the real HealthSCOPE file;
-- docs/formats.md). Kept in billing-code order (each file's rows sorted at the insert, the whole table by
-- compaction), so one code's rows sit in few row groups.
CREATE TABLE IF NOT EXISTS core_tic_rate_rows (
    file_id INTEGER NOT NULL,
    payer VARCHAR NOT NULL,
    billing_code VARCHAR NOT NULL,
    billing_code_type VARCHAR,
    negotiation_arrangement VARCHAR,
    negotiated_type VARCHAR,
    negotiated_rate DOUBLE,
    expiration_date VARCHAR,
    billing_class VARCHAR,
    setting VARCHAR,
    service_codes_id INTEGER,           -- core_tic_lists; NULL: no list
    modifiers_id INTEGER,               -- core_tic_lists; NULL: no list
    additional_information VARCHAR,
    pset INTEGER NOT NULL               -- core_tic_provider_sets of the same file_id
);

-- The provider groups a price names, one row per group of a set; a set's id counts within its file.
CREATE TABLE IF NOT EXISTS core_tic_provider_sets (
    file_id INTEGER NOT NULL,
    pset INTEGER NOT NULL,
    provider_group_id VARCHAR,
    tin_type VARCHAR,
    tin_value VARCHAR,
    npis BIGINT[],
    network_names VARCHAR[]
);

-- A code's payer figures as facts computes them from its rate rows (store/tic_summary.py), written after
-- an ingest; the rows of a code are dropped in the transaction that adds rate rows of it, and a row answers
-- only for the Medicare amount and rules it was computed with (else facts computes live): never stale.
CREATE TABLE IF NOT EXISTS core_tic_code_summaries (
    billing_code VARCHAR NOT NULL,
    medicare DOUBLE,                    -- the amount the suspect rule used; NULL: none
    rules VARCHAR NOT NULL,             -- the facts rules' key (facts/tic.py)
    payer VARCHAR,                      -- NULL: the code's row of every payer's NPIs
    dim VARCHAR NOT NULL,
    name VARCHAR,
    n BIGINT,
    stats DOUBLE[],                     -- n, min, p10, p25, median, p75, p90, max
    npis BIGINT[]
);

-- The rate rows with their lists and provider groups (price x group), as they were read: what tests,
-- exports and ad-hoc SQL read.
CREATE OR REPLACE VIEW core_tic_rates AS
SELECT r.file_id, r.payer, r.billing_code, r.billing_code_type, r.negotiation_arrangement, r.negotiated_type,
       r.negotiated_rate, r.expiration_date, r.billing_class, r.setting, s.codes AS service_codes,
       m.codes AS modifiers, r.additional_information, g.provider_group_id, g.tin_type, g.tin_value, g.npis,
       g.network_names
FROM core_tic_rate_rows r
JOIN core_tic_provider_sets g ON g.file_id = r.file_id AND g.pset = r.pset
LEFT JOIN core_tic_lists s ON s.list_id = r.service_codes_id
LEFT JOIN core_tic_lists m ON m.list_id = r.modifiers_id;

CREATE TABLE IF NOT EXISTS core_nucc_taxonomies (
    file_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    grouping VARCHAR,
    classification VARCHAR,
    specialization VARCHAR,
    definition VARCHAR,
    notes VARCHAR,
    display_name VARCHAR,
    section VARCHAR
);

-- One row per NPI: a later NPPES file (monthly or weekly) replaces the rows of the NPIs it lists.
CREATE TABLE IF NOT EXISTS core_nppes_providers (
    file_id INTEGER NOT NULL,
    npi BIGINT NOT NULL,
    entity_type VARCHAR,                -- 1 individual, 2 organization; empty when deactivated
    primary_taxonomy VARCHAR,           -- the Primary Taxonomy Switch = Y one, else the first
    taxonomies VARCHAR[],
    practice_state VARCHAR,
    practice_zip5 VARCHAR,
    practice_city VARCHAR,
    deactivation_date DATE
);

-- FDA SPL drug labels: one row per label document (a set id has one row per version loaded).
CREATE TABLE IF NOT EXISTS core_spl_labels (
    file_id INTEGER NOT NULL,
    set_id VARCHAR NOT NULL,
    version INTEGER,
    document_id VARCHAR,
    effective_date DATE,
    title VARCHAR,
    document_type VARCHAR,
    product_names VARCHAR[],
    generic_names VARCHAR[],
    routes VARCHAR[],
    dosage_forms VARCHAR[],
    marketing_categories VARCHAR[],
    indications VARCHAR,
    dosage_and_administration VARCHAR,
    boxed_warning VARCHAR,
    contraindications VARCHAR,
    source_file VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core_spl_ndcs (
    file_id INTEGER NOT NULL,
    set_id VARCHAR NOT NULL,
    ndc_as_written VARCHAR NOT NULL,
    ndc VARCHAR NOT NULL                -- 5-4-2 (as written when it is no 10/11-digit NDC)
);

-- Hospital price files (45 CFR 180.50): one row per file, then one row per kept standard charge.
CREATE TABLE IF NOT EXISTS core_hospital_files (
    file_id INTEGER NOT NULL,
    hospital_name VARCHAR,
    location_names VARCHAR[],
    addresses VARCHAR[],
    type_2_npis VARCHAR[],
    license_number VARCHAR,
    license_state VARCHAR,
    last_updated_on DATE,
    last_updated_on_text VARCHAR,       -- as written (07/01/2026 and 2026-07-01 both occur)
    version VARCHAR,
    layout VARCHAR,                     -- tall | wide | json
    discovery_location VARCHAR,         -- location-name of the cms-hpt.txt entry that listed the file
    rows_seen BIGINT,
    charges_kept BIGINT
);

-- A kept row (tall CSV), row (wide CSV) or item (JSON) of a code: its codes and prices, once.
CREATE TABLE IF NOT EXISTS core_hospital_items (
    file_id INTEGER NOT NULL,
    item_id BIGINT NOT NULL,            -- within the file
    code VARCHAR NOT NULL,              -- the kept code (trimmed, upper-cased)
    codes VARCHAR[],                    -- every code of the row, with code_types beside
    code_types VARCHAR[],
    ndc VARCHAR,                        -- as written
    description VARCHAR,
    billing_class VARCHAR,
    setting VARCHAR,
    drug_unit DOUBLE,
    drug_type VARCHAR,
    modifiers VARCHAR[],
    gross_usd DOUBLE,
    discounted_cash_usd DOUBLE,
    minimum_usd DOUBLE,
    maximum_usd DOUBLE,
    source_row BIGINT                   -- CSV line, or JSON item byte offset, where it was first seen
);

-- One payer-specific standard charge of an item.
CREATE TABLE IF NOT EXISTS core_hospital_charges (
    file_id INTEGER NOT NULL,
    item_id BIGINT NOT NULL,
    payer_name VARCHAR,                 -- as written
    plan_name VARCHAR,
    payer VARCHAR,                      -- Aetna | Blue Cross Blue Shield | Cigna | UnitedHealthcare | own name
    segment VARCHAR,                    -- Commercial | Medicare Advantage | Medicaid managed care | Exchange | unknown
    negotiated_usd DOUBLE,
    negotiated_pct DOUBLE,
    negotiated_algorithm VARCHAR,
    methodology VARCHAR,
    source_row BIGINT                   -- CSV line or JSON item byte offset
);
