//! The decision table: each case changes the base application or facts in one way the
//! Convention or the checklist speaks to, and states the decision and the exact reason codes.
//!
//! Groups follow the checklist: taxon and listing, CoP19 transitions,
//! annotations, Parties, documents, purpose, source, suspensions, quotas, validity, re-export
//! chain, and precedence when several rules fire. Each group's cases are in the file of its
//! name; this one holds the modifications and listing histories they share, and the tests that
//! run the whole table.

mod annotations;
mod cop19_transitions;
mod parties_and_documents;
mod precedence;
mod purpose_and_source;
mod quotas;
mod suspensions;
mod taxon_and_listing;
mod validity_and_reexport;

use annotations::annotations;
use cop19_transitions::cop19_transitions;
use parties_and_documents::parties_and_documents;
use precedence::precedence;
use purpose_and_source::purpose_and_source;
use quotas::quotas;
use suspensions::suspensions;
use taxon_and_listing::taxon_and_listing;
use validity_and_reexport::validity_and_reexport;

use domain::{Appendix, Kingdom, Period, TaxonId};
use rules::ReasonCode::*;
use rules::Verdict::*;
use rules::{
    ApplicationInput, Facts, ListingStatus, PresentedPermitInput, PriorDocumentStatus,
    ReservationFact, SuspensionKind,
};
use rust_decimal::Decimal;

use crate::support::{
    Case, MERGED, PYTHON_REGIUS, Row, SERPENTES, apply_timeline, c, d, dec, import_permit, prior,
    purpose, s, set_appendix, set_hash, set_taxon, source, suspension, term, unit,
};

fn no_change<T>(_: &mut T) {}

// ---- Shared modifications -------------------------------------------------------------------

fn app_i(f: &mut Facts) {
    set_appendix(f, Appendix::I);
}

/// Non-commercial (zoo) export of wild specimens, which no base quota covers.
fn zoo_wild(a: &mut ApplicationInput) {
    a.purpose = s("Z");
    a.source = s("W");
}

fn zoo_wild_with_import_permit(a: &mut ApplicationInput) {
    zoo_wild(a);
    a.documents.import_permit = import_permit("US-IP-24-0091", "2024-02-20", Some(100));
}

/// A re-export from the United States to Japan of ranched Togolese pythons, 150 left under the
/// Togolese export permit.
fn reexport(a: &mut ApplicationInput) {
    a.transaction = s("re-export");
    a.exporter = s("US");
    a.importer = s("JP");
    a.origin = s("TG");
    a.documents.ndf_reference = None;
    a.documents.laf_reference = None;
    let mut origin = prior("TG-EX-2023-0456", "TG", "2023-12-01");
    origin.source = s("R");
    origin.appendix = s("II");
    origin.quantity_remaining = Some(serde_json::json!(150));
    a.documents.origin_permit = Some(origin);
}

fn import_into_us(a: &mut ApplicationInput) {
    a.transaction = s("import");
    a.documents.ndf_reference = None;
    a.documents.laf_reference = None;
    a.documents.export_permit = Some(PresentedPermitInput {
        number: s("TG-EX-2024-0311"),
        country: s("TG"),
        issued_on: s("2024-02-28"),
    });
}

fn ifs(a: &mut ApplicationInput) {
    a.transaction = s("introduction_from_the_sea");
    a.exporter = s("US");
    a.importer = s("US");
    a.source = s("X");
    a.term = s("DFN");
    a.unit = s("KGM");
    a.quantity = Some(serde_json::json!("800"));
    a.documents.laf_reference = None;
}

fn shark(f: &mut Facts) {
    set_taxon(
        f,
        65_830,
        "Prionace glauca",
        Kingdom::Animalia,
        &["Prionace", "Carcharhinidae"],
    );
}

fn app_iii_listed_by_togo(f: &mut Facts) {
    set_appendix(f, Appendix::III);
    for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
        listing.app_iii_parties = vec![c("TG")];
        for row in &mut listing.deciding {
            row.party = Some(c("TG"));
        }
    }
}

fn app_iii_listed_by_ghana(f: &mut Facts) {
    app_iii_listed_by_togo(f);
    for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
        listing.app_iii_parties = vec![c("GH")];
        for row in &mut listing.deciding {
            row.party = Some(c("GH"));
        }
    }
}

fn orchid(f: &mut Facts) {
    set_taxon(
        f,
        8_870,
        "Dendrobium nobile",
        Kingdom::Plantae,
        &["Dendrobium", "Orchidaceae"],
    );
    set_hash(
        f,
        "CoP16 #4",
        "All parts and derivatives, except: a) seeds ...",
    );
}

fn plant_export(a: &mut ApplicationInput) {
    a.source = s("A");
    a.taxon = s("Dendrobium nobile");
}

fn suspended(f: &mut Facts, notes: Option<&str>) {
    let mut suspension = suspension(31, "TG", Some(PYTHON_REGIUS));
    suspension.notes = notes.map(str::to_owned);
    f.suspensions.push(suspension);
}

fn quota_limit(f: &mut Facts, limit: Option<Decimal>) {
    f.quotas[0].limit = limit;
}

// ---- CoP19 listing histories ----------------------------------------------------------------

/// *Pycnonotus zeylanicus*: Appendix II, transferred to Appendix I with the delayed entry into
/// force of 25 November 2023 (the CoP19 amendments delayed by 9 months).
const PYCNONOTUS: &[Row] = &[
    Row::listed(2_001, Appendix::II, "1997-09-18"),
    Row::listed(2_002, Appendix::I, "2023-11-25"),
];

fn pycnonotus_facts(f: &mut Facts) {
    set_taxon(
        f,
        3_310,
        "Pycnonotus zeylanicus",
        Kingdom::Animalia,
        &["Pycnonotus", "Pycnonotidae"],
    );
    apply_timeline(f, PYCNONOTUS, "ID");
}

fn pycnonotus(a: &mut ApplicationInput, issue: &str, trade: &str) {
    a.taxon = s("Pycnonotus zeylanicus");
    a.exporter = s("ID");
    a.importer = s("SG");
    a.source = s("W");
    a.quantity = Some(serde_json::json!(10));
    a.date_issue = s(issue);
    a.date_trade = s(trade);
    a.documents.valid_until = None;
}

/// *Carcharhinidae* spp.: the requiem sharks' Appendix II listing entered into force on
/// 25 November 2023 (delayed 12 months); *Prionace glauca* inherits it.
const CARCHARHINIDAE: &[Row] = &[Row {
    listing_id: 2_101,
    appendix: Some(Appendix::II),
    effective_at: "2023-11-25",
    populations: &[],
    annotation: None,
    hash: None,
    inherited_from: Some("Carcharhinidae"),
}];

fn shark_facts(f: &mut Facts) {
    shark(f);
    apply_timeline(f, CARCHARHINIDAE, "ES");
}

fn shark_fins(a: &mut ApplicationInput, issue: &str, trade: &str) {
    a.taxon = s("Prionace glauca");
    a.exporter = s("ES");
    a.importer = s("CN");
    a.source = s("W");
    a.term = s("DFN");
    a.unit = s("KGM");
    a.quantity = Some(serde_json::json!("1250"));
    a.date_issue = s(issue);
    a.date_trade = s(trade);
    a.documents.valid_until = None;
}

const RHINO_NA_ANNOTATION: &str = "For the exclusive purpose of allowing international trade in a) live animals for in-situ conservation only; and b) hunting trophies. All other specimens shall be deemed to be specimens of species included in Appendix I and the trade in them shall be regulated accordingly.";

/// *Ceratotherium simum simum*: Appendix I, with South Africa's population in Appendix II
/// since 1995 and Namibia's since 23 February 2023 (CoP19), each for exclusive purposes.
const RHINO: &[Row] = &[
    Row::listed(2_201, Appendix::I, "1977-02-04"),
    Row {
        listing_id: 2_202,
        appendix: Some(Appendix::II),
        effective_at: "1995-02-16",
        populations: &["ZA"],
        annotation: Some(
            "For the exclusive purpose of allowing international trade in live animals to appropriate and acceptable destinations and hunting trophies. All other specimens shall be deemed to be specimens of species included in Appendix I.",
        ),
        hash: None,
        inherited_from: None,
    },
    Row {
        listing_id: 2_203,
        appendix: Some(Appendix::II),
        effective_at: "2023-02-23",
        populations: &["NA"],
        annotation: Some(RHINO_NA_ANNOTATION),
        hash: None,
        inherited_from: None,
    },
];

fn rhino_facts(country: &'static str) -> impl Fn(&mut Facts) {
    move |f| {
        set_taxon(
            f,
            9_001,
            "Ceratotherium simum simum",
            Kingdom::Animalia,
            &["Ceratotherium", "Rhinocerotidae"],
        );
        apply_timeline(f, RHINO, country);
    }
}

fn rhino_na(f: &mut Facts) {
    rhino_facts("NA")(f);
}

fn rhino_ke(f: &mut Facts) {
    rhino_facts("KE")(f);
}

fn rhino_trophy(a: &mut ApplicationInput, issue: &str, trade: &str) {
    a.taxon = s("Ceratotherium simum simum");
    a.exporter = s("NA");
    a.importer = s("US");
    a.source = s("W");
    a.purpose = s("H");
    a.term = s("TRO");
    a.quantity = Some(serde_json::json!(1));
    a.date_issue = s(issue);
    a.date_trade = s(trade);
    a.documents.valid_until = None;
    a.documents.import_permit = import_permit("US-IP-23-0007", "2023-01-10", Some(1));
}

/// The French annotation 2 of *Loxodonta africana* (listing change 30346, in force 2017-01-02
/// to 2019-11-25), as Species+ serves it with `language=fr`.
const ELEPHANT_2_FR: &str =
    include_str!("../../../../fixtures/annotations/loxodonta_africana_30346_fr.txt");

/// *Loxodonta africana*: Appendix I, with the populations of Botswana, Namibia, South Africa
/// and Zimbabwe in Appendix II for the exclusive purposes of annotation 2 (in French).
const ELEPHANT_FR: &[Row] = &[
    Row::listed(3_641, Appendix::I, "1990-01-18"),
    Row {
        listing_id: 30_346,
        appendix: Some(Appendix::II),
        effective_at: "2017-01-02",
        populations: &["BW", "NA", "ZA", "ZW"],
        annotation: Some(ELEPHANT_2_FR),
        hash: None,
        inherited_from: None,
    },
];

fn elephant_na(f: &mut Facts) {
    set_taxon(
        f,
        4_521,
        "Loxodonta africana",
        Kingdom::Animalia,
        &["Loxodonta", "Elephantidae"],
    );
    apply_timeline(f, ELEPHANT_FR, "NA");
}

/// A commercial export from Namibia in 2018 of `term`.
fn namibian_elephant_2018(a: &mut ApplicationInput, term: &str) {
    a.taxon = s("Loxodonta africana");
    a.exporter = s("NA");
    a.importer = s("JP");
    a.source = s("W");
    a.purpose = s("T");
    a.term = s(term);
    a.quantity = Some(serde_json::json!(2));
    a.date_issue = s("2018-06-01");
    a.date_trade = s("2018-06-15");
    a.documents.valid_until = None;
}

/// The text of the 2019 reservations on the elephant's Appendix II listing, as Species+ serves
/// it in French (listing changes 32154 to 32161).
const ELEPHANT_RESERVATION_FR: &str = "Cette réserve s’applique seulement à la mise à jour, suite à la 18e session de la Conférence des Parties, des références aux Résolutions mentionnées dans l’annotation 2 en ce qui concerne les populations de Loxodonta africana en Afrique du Sud, au Botswana, en Namibie et au Zimbabwe (voir CITES Notif. No. 2019/077).";

/// The *Ceratotherium simum simum* annotation of Namibia's population in Spanish (CoP19).
const RHINO_NA_ANNOTATION_ES: &str = "Con el exclusivo propósito de permitir el comercio internacional de: a) animales vivos para programas de conservación in situ; y b) trofeos de caza. Todos los demás especímenes se considerarán especímenes de especies incluidas en el Apéndice I y su comercio se reglamentará en consecuencia.";

fn rhino_na_es(f: &mut Facts) {
    rhino_na(f);
    annotated(f, RHINO_NA_ANNOTATION_ES);
}

/// Every deciding row of the base application's listing carries `text` as its annotation.
fn annotated(f: &mut Facts, text: &str) {
    for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
        for row in &mut listing.deciding {
            row.annotation = Some(text.to_owned());
        }
    }
}

/// A trade measure as Species+ publishes it, read by `rules::measure::read` into the facts.
fn published(
    f: &mut Facts,
    country: &str,
    start: &str,
    is_current: bool,
    applies_to_import: bool,
    notes: &str,
) {
    let id = 20_000 + f.suspensions.len() as i64;
    let notification = format!("CITES Notif. No. {id}");
    f.suspensions
        .push(rules::measure::read(&rules::measure::PublishedMeasure {
            id,
            taxon_id: None,
            country: c(country),
            start_date: d(start),
            is_current,
            applies_to_import,
            notification: Some(&notification),
            notes: Some(notes),
        }));
}

/// Notes of Species+ records (African elephant, `cites_suspensions`), as published.
const ALL_COMMERCIAL_TRADE: &str = "All commercial trade in specimens of CITES-listed species. ";
const ALL_TRADE: &str = "All trade in specimens of CITES-listed species.";
const SHORT_EXPORT_PERMITS: &str = "Parties are requested not to authorize the import of ivory carvings from Zimbabwe where the traveller presents a ‘Short Export Permit’ - standard CITES export permit are required. ";
const US_IVORY: &str = "Stricter domestic measures governing the import of African elephant ivory.";
const CN_IVORY_2016_2019: &str = "Stricter domestic measures from 20 March 2016 to 31 December 2019 suspending imports of tusks and ivory carvings of Elephantidae spp. in the form of: pre-Convention elephant tusks and their products; ivory carvings of African elephant obtained after the Convention entered into force; and tusks as hunting trophies obtained in Africa.";

/// *Tiliqua adelaidensis*: not listed until its CoP19 inclusion in Appendix I on 23 February
/// 2023.
const TILIQUA: &[Row] = &[Row::listed(2_301, Appendix::I, "2023-02-23")];

fn tiliqua_facts(f: &mut Facts) {
    set_taxon(
        f,
        9_210,
        "Tiliqua adelaidensis",
        Kingdom::Animalia,
        &["Tiliqua", "Scincidae"],
    );
    apply_timeline(f, TILIQUA, "AU");
}

fn tiliqua_to_zoo(a: &mut ApplicationInput, date: &str) {
    a.taxon = s("Tiliqua adelaidensis");
    a.exporter = s("AU");
    a.source = s("C");
    a.purpose = s("Z");
    a.quantity = Some(serde_json::json!(4));
    a.date_issue = s(date);
    a.date_trade = s(date);
    a.documents.valid_until = None;
}

/// African *Afzelia*: Appendix II with annotation #17 from 23 February 2023.
const AFZELIA: &[Row] = &[Row {
    listing_id: 2_401,
    appendix: Some(Appendix::II),
    effective_at: "2023-02-23",
    populations: &[],
    annotation: None,
    hash: Some("CoP19 #17"),
    inherited_from: Some("Afzelia"),
}];

fn afzelia_facts(f: &mut Facts) {
    set_taxon(
        f,
        12_001,
        "Afzelia africana",
        Kingdom::Plantae,
        &["Afzelia", "Fabaceae"],
    );
    apply_timeline(f, AFZELIA, "CM");
}

fn afzelia(a: &mut ApplicationInput, date: &str, term: &str) {
    a.taxon = s("Afzelia africana");
    a.exporter = s("CM");
    a.importer = s("CN");
    a.source = s("W");
    a.term = s(term);
    a.unit = s("MTQ");
    a.quantity = Some(serde_json::json!("35.5"));
    a.date_issue = s(date);
    a.date_trade = s(date);
    a.documents.valid_until = None;
}

/// *Caiman latirostris*, population of Brazil: Appendix II from 23 February 2023 with a zero
/// export quota for wild specimens traded commercially.
const CAIMAN_BR: &[Row] = &[
    Row::listed(2_501, Appendix::I, "1975-07-01"),
    Row {
        listing_id: 2_502,
        appendix: Some(Appendix::II),
        effective_at: "2023-02-23",
        populations: &["BR"],
        annotation: Some(
            "Population of Brazil: zero annual export quota for wild specimens traded for commercial purposes.",
        ),
        hash: None,
        inherited_from: None,
    },
];

fn caiman_facts(f: &mut Facts) {
    set_taxon(
        f,
        9_420,
        "Caiman latirostris",
        Kingdom::Animalia,
        &["Caiman", "Alligatoridae"],
    );
    apply_timeline(f, CAIMAN_BR, "BR");
}

fn caiman_skins(a: &mut ApplicationInput, source: &str) {
    a.taxon = s("Caiman latirostris");
    a.exporter = s("BR");
    a.source = s(source);
    a.term = s("SKI");
    a.quantity = Some(serde_json::json!(200));
}

/// *Panthera pardus*: Appendix I; Ethiopia's hunting-trophy quota of 20 (Res. Conf. 10.14
/// (Rev. CoP19)).
fn leopard_facts(f: &mut Facts) {
    set_taxon(
        f,
        8_619,
        "Panthera pardus",
        Kingdom::Animalia,
        &["Panthera", "Felidae"],
    );
    app_i(f);
    f.quotas = vec![rules::QuotaFact {
        id: 51,
        speciesplus_id: Some(27_001),
        taxon_id: TaxonId::new(8_619),
        exporter: c("ET"),
        period: Period::calendar_year(2024),
        unit: unit("NAR"),
        limit: Some(Decimal::from(20)),
        held: Decimal::ZERO,
        committed: Decimal::from(3),
        exported: Decimal::from(17),
        terms: vec![term("SKI"), term("TRO")],
        sources: vec![source("W")],
        purposes: vec![purpose("H"), purpose("P")],
        notes: None,
        basis: Some("Res. Conf. 10.14 (Rev. CoP19)".to_owned()),
    }];
}

fn leopard_trophy(a: &mut ApplicationInput) {
    a.taxon = s("Panthera pardus");
    a.exporter = s("ET");
    a.source = s("W");
    a.purpose = s("H");
    a.term = s("TRO");
    a.quantity = Some(serde_json::json!(1));
    a.documents.import_permit = import_permit("US-IP-24-0102", "2024-02-01", Some(1));
}

// ---- The table ------------------------------------------------------------------------------

pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(taxon_and_listing());
    cases.extend(cop19_transitions());
    cases.extend(annotations());
    cases.extend(parties_and_documents());
    cases.extend(purpose_and_source());
    cases.extend(suspensions());
    cases.extend(quotas());
    cases.extend(validity_and_reexport());
    cases.extend(precedence());
    cases
}

#[test]
fn the_table_has_at_least_sixty_cases_with_unique_names() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
}

#[test]
fn every_case_of_the_table_reaches_its_decision_with_exactly_its_reason_codes() {
    let mut failures = Vec::new();
    for case in cases() {
        if let Err(message) = crate::support::check(&case) {
            failures.push(message);
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_reason_code_is_covered_by_the_table_or_a_dedicated_test() {
    // Codes exercised outside the table, with the test that does it.
    let elsewhere: &[rules::ReasonCode] = &[];
    let mut seen: std::collections::BTreeSet<rules::ReasonCode> =
        elsewhere.iter().copied().collect();
    for case in cases() {
        seen.extend(case.codes.iter().copied());
    }
    let missing: Vec<&str> = rules::ReasonCode::ALL
        .iter()
        .filter(|code| !seen.contains(code))
        .map(|code| code.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "reason codes no case expects: {missing:?}"
    );
}
