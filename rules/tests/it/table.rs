//! The decision table: each case changes the base application or facts in one way the
//! Convention or the checklist speaks to, and states the decision and the exact reason codes.
//!
//! Groups follow the checklist: taxon and listing, CoP19 transitions,
//! annotations, Parties, documents, purpose, source, suspensions, quotas, validity, re-export
//! chain, and precedence when several rules fire.

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
    include_str!("../../../fixtures/annotations/loxodonta_africana_30346_fr.txt");

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

fn taxon_and_listing() -> Vec<Case> {
    vec![
        Case {
            name: "a_ranched_appendix_ii_export_with_findings_inside_its_quota_is_allowed",
            input: no_change,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_taxon_in_no_appendix_on_the_trade_date_is_not_cites",
            input: no_change,
            facts: |f| {
                for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
                    listing.status = ListingStatus::NotListed;
                    listing.deciding.clear();
                }
            },
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "a_domesticated_form_excluded_by_name_is_not_cites",
            input: |a| a.taxon = s("Bos frontalis"),
            facts: |f| {
                set_taxon(
                    f,
                    6_001,
                    "Bos gaurus",
                    Kingdom::Animalia,
                    &["Bos", "Bovidae"],
                );
                f.taxon.submitted_name = Some("Bos frontalis".to_owned());
                f.taxon.excluded_form = Some(
                    "Bos frontalis, the domesticated form, is excluded from Bos gaurus".to_owned(),
                );
                app_i(f);
            },
            decision: NotCites,
            codes: &[ExcludedForm],
        },
        Case {
            name: "a_synonym_is_checked_as_its_accepted_taxon_and_recorded",
            input: |a| a.taxon = s("Boa regia"),
            facts: |f| {
                f.taxon.submitted_name = Some("Boa regia".to_owned());
                f.taxon.via_synonym = true;
            },
            decision: Allow,
            codes: &[SynonymResolved],
        },
        Case {
            name: "a_split_listing_whose_population_cannot_be_decided_needs_review",
            input: no_change,
            facts: |f| {
                for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
                    listing.status = ListingStatus::DependsOnPopulation {
                        appendices: vec![Appendix::I, Appendix::II],
                    };
                    let mut app_i_row = listing.deciding[0].clone();
                    app_i_row.listing_id = 101;
                    app_i_row.appendix = Appendix::I;
                    listing.deciding.push(app_i_row);
                }
            },
            decision: NeedsReview,
            codes: &[ListingNeedsReview],
        },
        Case {
            name: "an_unreadable_population_clause_needs_review",
            input: no_change,
            facts: |f| f.listing_at_trade.needs_review = true,
            decision: NeedsReview,
            codes: &[ListingNeedsReview],
        },
        Case {
            name: "an_animal_hybrid_is_treated_as_its_listed_parent",
            input: no_change,
            facts: |f| f.taxon.is_hybrid = true,
            decision: Allow,
            codes: &[HybridTreatedAsListed],
        },
        Case {
            name: "a_listing_derived_for_another_trade_date_is_flagged_as_inconsistent_facts",
            input: no_change,
            facts: |f| f.listing_at_trade.date = d("2024-03-14"),
            decision: NeedsReview,
            codes: &[FactsInconsistent],
        },
        Case {
            name: "a_deciding_listing_change_that_takes_effect_after_the_trade_date_is_flagged",
            input: no_change,
            facts: |f| f.listing_at_trade.deciding[0].effective_at = d("2024-06-01"),
            decision: NeedsReview,
            codes: &[FactsInconsistent],
        },
        Case {
            name: "a_listing_derived_for_another_population_than_the_origin_is_flagged",
            input: no_change,
            facts: |f| {
                f.listing_at_trade.population_country = Some(c("GH"));
                f.listing_at_issue.population_country = Some(c("GH"));
            },
            decision: NeedsReview,
            codes: &[FactsInconsistent],
        },
        Case {
            name: "a_taxon_inherits_its_family_listing",
            input: |a| shark_fins(a, "2024-01-10", "2024-01-20"),
            facts: shark_facts,
            decision: Allow,
            codes: &[],
        },
    ]
}

fn cop19_transitions() -> Vec<Case> {
    vec![
        Case {
            name: "pycnonotus_zeylanicus_traded_the_day_before_its_delayed_transfer_is_appendix_ii",
            input: |a| pycnonotus(a, "2023-11-20", "2023-11-24"),
            facts: pycnonotus_facts,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "pycnonotus_zeylanicus_traded_on_the_day_of_its_transfer_is_appendix_i_and_commercial_trade_is_refused",
            input: |a| pycnonotus(a, "2023-11-25", "2023-11-25"),
            facts: pycnonotus_facts,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial, MissingImportPermit],
        },
        Case {
            name: "pycnonotus_zeylanicus_issued_before_but_traded_on_the_day_of_transfer_is_flagged_and_refused",
            input: |a| pycnonotus(a, "2023-11-24", "2023-11-25"),
            facts: pycnonotus_facts,
            decision: Refuse,
            codes: &[
                ListingChangesBeforeTrade,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "requiem_shark_fins_traded_the_day_before_the_delayed_listing_are_not_cites",
            input: |a| shark_fins(a, "2023-11-20", "2023-11-24"),
            facts: shark_facts,
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "requiem_shark_fins_traded_on_the_day_the_delayed_listing_enters_into_force_are_appendix_ii",
            input: |a| shark_fins(a, "2023-11-25", "2023-11-25"),
            facts: shark_facts,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "requiem_shark_fins_issued_before_and_traded_after_the_delayed_listing_need_review",
            input: |a| shark_fins(a, "2023-11-20", "2023-11-27"),
            facts: shark_facts,
            decision: NeedsReview,
            codes: &[ListingChangesBeforeTrade],
        },
        Case {
            name: "a_namibian_white_rhino_trophy_the_day_before_cop19_is_appendix_i_and_needs_its_import_permit",
            input: |a| rhino_trophy(a, "2023-02-22", "2023-02-22"),
            facts: rhino_na,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_namibian_white_rhino_trophy_on_the_day_of_cop19_entry_into_force_is_appendix_ii",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.documents.import_permit = None;
            },
            facts: rhino_na,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_namibian_white_rhino_trophy_issued_before_cop19_and_traded_after_needs_review",
            input: |a| rhino_trophy(a, "2023-02-20", "2023-02-23"),
            facts: rhino_na,
            decision: NeedsReview,
            codes: &[ListingChangesBeforeTrade],
        },
        Case {
            name: "namibian_white_rhino_horn_for_trade_is_referred_to_appendix_i_by_the_annotation",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: rhino_na,
            decision: Refuse,
            codes: &[
                ReferredToAppIByAnnotation,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "live_namibian_white_rhinos_need_review_of_the_in_situ_conservation_condition",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("LIV");
                a.purpose = s("N");
                a.documents.import_permit = None;
            },
            facts: rhino_na,
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "kenyan_white_rhinos_stay_in_appendix_i_after_cop19",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.exporter = s("KE");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: rhino_ke,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial, MissingImportPermit],
        },
        Case {
            name: "tiliqua_adelaidensis_the_day_before_its_cop19_inclusion_is_not_cites",
            input: |a| tiliqua_to_zoo(a, "2023-02-22"),
            facts: tiliqua_facts,
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "captive_bred_tiliqua_adelaidensis_for_a_zoo_on_the_day_of_inclusion_needs_no_import_permit",
            input: |a| tiliqua_to_zoo(a, "2023-02-23"),
            facts: tiliqua_facts,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "african_afzelia_logs_the_day_before_cop19_are_not_cites",
            input: |a| afzelia(a, "2023-02-22", "LOG"),
            facts: afzelia_facts,
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "african_afzelia_logs_from_cop19_entry_into_force_are_covered_by_annotation_17",
            input: |a| afzelia(a, "2023-02-23", "LOG"),
            facts: afzelia_facts,
            decision: Allow,
            codes: &[],
        },
    ]
}

fn annotations() -> Vec<Case> {
    vec![
        Case {
            name: "african_afzelia_furniture_is_not_covered_by_annotation_17",
            input: |a| afzelia(a, "2023-03-01", "FRN"),
            facts: afzelia_facts,
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "orchid_seeds_are_not_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.term = s("SEE");
            },
            facts: orchid,
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "cactus_seeds_exported_from_mexico_stay_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.taxon = s("Ariocarpus fissuratus");
                a.exporter = s("MX");
                a.term = s("SEE");
            },
            facts: |f| {
                set_taxon(
                    f,
                    8_101,
                    "Ariocarpus fissuratus",
                    Kingdom::Plantae,
                    &["Ariocarpus", "Cactaceae"],
                );
                set_hash(
                    f,
                    "CoP16 #4",
                    "All parts and derivatives, except: a) seeds ...",
                );
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "cut_flowers_of_artificially_propagated_orchids_are_not_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.term = s("FLO");
            },
            facts: orchid,
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "cut_flowers_of_wild_orchids_are_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.source = s("W");
                a.term = s("FLO");
            },
            facts: orchid,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "euphorbia_antisyphilitica_medicine_needs_review_of_retail_packaging",
            input: |a| {
                plant_export(a);
                a.taxon = s("Euphorbia antisyphilitica");
                a.term = s("MED");
                a.unit = s("KGM");
            },
            facts: |f| {
                set_taxon(
                    f,
                    8_201,
                    "Euphorbia antisyphilitica",
                    Kingdom::Plantae,
                    &["Euphorbia", "Euphorbiaceae"],
                );
                set_hash(
                    f,
                    "CoP16 #4",
                    "All parts and derivatives, except: ... f) finished products ...",
                );
            },
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "mahogany_furniture_is_not_covered_by_annotation_6",
            input: |a| {
                a.taxon = s("Swietenia macrophylla");
                a.source = s("W");
                a.term = s("FRN");
            },
            facts: |f| {
                set_taxon(
                    f,
                    12_301,
                    "Swietenia macrophylla",
                    Kingdom::Plantae,
                    &["Swietenia", "Meliaceae"],
                );
                set_hash(f, "#6", "Logs, sawn wood, veneer sheets and plywood");
            },
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "namibian_raw_ivory_for_trade_in_2018_under_the_french_annotation_2_needs_review",
            input: |a| namibian_elephant_2018(a, "TUS"),
            facts: elephant_na,
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "namibian_elephant_hides_for_trade_in_2018_stay_in_appendix_ii_under_the_french_annotation_2",
            input: |a| namibian_elephant_2018(a, "SKI"),
            facts: elephant_na,
            decision: Allow,
            codes: &[],
        },
        Case {
            // Trophies are in the annotation for non-commercial trade only; its last items
            // (h: no further proposals) name no specimen, so the rest is not read as referred to
            // Appendix I for certain: a person decides, never an ALLOW.
            name: "namibian_elephant_trophies_for_trade_in_2018_under_the_french_annotation_2_need_review",
            input: |a| namibian_elephant_2018(a, "TRO"),
            facts: elephant_na,
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "namibian_white_rhino_horn_for_trade_is_referred_to_appendix_i_by_the_spanish_annotation",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: rhino_na_es,
            decision: Refuse,
            codes: &[
                ReferredToAppIByAnnotation,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "an_appendix_ii_annotation_sentence_the_rules_cannot_read_needs_review",
            input: no_change,
            facts: |f| {
                annotated(
                    f,
                    "Included in Appendix II. Only specimens bearing the tag of a registered ranching operation may be exported.",
                )
            },
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "appendix_ii_annotation_notes_on_names_and_populations_change_nothing",
            input: no_change,
            facts: |f| {
                annotated(
                    f,
                    "[FAMILY listing Pythonidae spp.] Except the species included in Appendix I. Formerly listed as Python regius regius, which became a synonym of Python regius in 2019.",
                )
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_annotation_the_rules_do_not_know_needs_review",
            input: plant_export,
            facts: |f| {
                orchid(f);
                set_hash(f, "#99", "An annotation from the future");
            },
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "wild_brazilian_caiman_skins_for_trade_hit_the_zero_quota_in_the_cop19_annotation",
            input: |a| caiman_skins(a, "W"),
            facts: caiman_facts,
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "ranched_brazilian_caiman_skins_are_outside_the_zero_quota_annotation",
            input: |a| caiman_skins(a, "R"),
            facts: caiman_facts,
            decision: Allow,
            codes: &[],
        },
    ]
}

fn parties_and_documents() -> Vec<Case> {
    vec![
        Case {
            name: "an_importer_that_is_not_a_party_needs_review_under_article_x",
            input: |a| a.importer = s("SS"),
            facts: |f| f.non_parties = vec![c("SS")],
            decision: NeedsReview,
            codes: &[ReservationOrNonParty],
        },
        Case {
            // A reservation goes to review, and relaxes no Appendix I requirement on its own.
            name: "an_exporter_with_a_reservation_on_an_appendix_i_listing_is_still_held_to_appendix_i",
            input: no_change,
            facts: |f| {
                app_i(f);
                f.listing_at_trade.reservations = vec![ReservationFact {
                    listing_id: 150,
                    party: c("TG"),
                    appendix: Appendix::I,
                    effective_at: d("2023-05-24"),
                    annotation: None,
                }];
            },
            decision: Refuse,
            codes: &[
                ReservationOrNonParty,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            // The 2019 reservations of eight Parties on the elephant's Appendix II listing
            // (Species+, in French): limited to the CoP18 update of annotation 2's references.
            // Namibia is not a non-Party for its rhino horn, which its annotation refers to
            // Appendix I: the commercial bar and the import permit stand.
            name: "a_narrow_reservation_is_reviewed_as_written_and_relaxes_no_appendix_i_requirement",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: |f| {
                rhino_na(f);
                f.listing_at_trade.reservations = vec![ReservationFact {
                    listing_id: 32_157,
                    party: c("NA"),
                    appendix: Appendix::II,
                    effective_at: d("2019-11-26"),
                    annotation: Some(ELEPHANT_RESERVATION_FR.to_owned()),
                }];
            },
            decision: Refuse,
            codes: &[
                ReferredToAppIByAnnotation,
                ReservationOrNonParty,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "a_reservation_held_by_a_third_party_does_not_affect_the_trade",
            input: no_change,
            facts: |f| {
                f.listing_at_trade.reservations = vec![ReservationFact {
                    listing_id: 151,
                    party: c("JP"),
                    appendix: Appendix::II,
                    effective_at: d("2023-05-24"),
                    annotation: None,
                }];
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_i_export_without_an_import_permit_is_refused",
            input: zoo_wild,
            facts: app_i,
            decision: Refuse,
            codes: &[MissingImportPermit],
        },
        Case {
            name: "an_appendix_i_export_whose_import_permit_was_issued_after_it_is_refused",
            input: |a| {
                zoo_wild(a);
                a.documents.import_permit = import_permit("US-IP-24-0091", "2024-03-05", Some(100));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[ImportPermitMismatch],
        },
        Case {
            name: "an_appendix_i_export_above_the_quantity_of_its_import_permit_is_refused",
            input: |a| {
                zoo_wild(a);
                a.documents.import_permit = import_permit("US-IP-24-0091", "2024-02-20", Some(60));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[ImportPermitMismatch],
        },
        Case {
            name: "an_appendix_i_export_on_an_import_permit_older_than_twelve_months_is_refused",
            input: |a| {
                zoo_wild(a);
                a.documents.import_permit = import_permit("US-IP-23-0011", "2023-03-01", Some(100));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[ImportPermitExpired],
        },
        Case {
            name: "an_import_permit_naming_another_taxon_needs_review",
            input: |a| {
                zoo_wild_with_import_permit(a);
                if let Some(permit) = a.documents.import_permit.as_mut() {
                    permit.taxon = s("Python sebae");
                }
            },
            facts: app_i,
            decision: NeedsReview,
            codes: &[ImportPermitTaxonDiffers],
        },
        Case {
            name: "an_appendix_i_export_for_a_zoo_with_a_prior_import_permit_is_allowed",
            input: zoo_wild_with_import_permit,
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_live_appendix_i_re_export_without_an_import_permit_is_refused",
            input: |a| {
                reexport(a);
                zoo_wild(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.source = s("W");
                    origin.appendix = s("I");
                }
            },
            facts: app_i,
            decision: Refuse,
            codes: &[MissingImportPermit],
        },
        Case {
            name: "an_appendix_i_re_export_of_skins_needs_no_import_permit",
            input: |a| {
                reexport(a);
                zoo_wild(a);
                a.term = s("SKI");
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.source = s("W");
                    origin.appendix = s("I");
                }
            },
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_ii_import_without_the_export_permit_is_refused",
            input: |a| {
                import_into_us(a);
                a.documents.export_permit = None;
            },
            facts: no_change,
            decision: Refuse,
            codes: &[MissingExportPermit],
        },
        Case {
            name: "an_appendix_ii_import_presenting_the_export_permit_is_allowed",
            input: import_into_us,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_import_presenting_an_export_permit_of_another_country_is_refused",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.country = s("BR");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ExportPermitMismatch],
        },
        Case {
            name: "an_import_presenting_an_export_permit_issued_after_the_trade_is_refused",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2024-03-20");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ExportPermitMismatch],
        },
        Case {
            name: "an_import_presenting_an_export_permit_past_its_six_months_is_refused",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2023-09-14");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ExportPermitExpired],
        },
        Case {
            name: "an_import_presenting_an_export_permit_on_its_last_valid_day_is_allowed",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2023-09-15");
                }
            },
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_i_import_for_a_zoo_without_a_non_detriment_finding_is_refused",
            input: |a| {
                import_into_us(a);
                a.purpose = s("Z");
            },
            facts: app_i,
            decision: Refuse,
            codes: &[MissingNdf],
        },
        Case {
            name: "an_appendix_i_import_for_a_zoo_with_a_non_detriment_finding_is_allowed",
            input: |a| {
                import_into_us(a);
                a.purpose = s("Z");
                a.documents.ndf_reference = s("US-SA-2024-03");
            },
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_iii_export_by_the_listing_party_is_allowed",
            input: no_change,
            facts: app_iii_listed_by_togo,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_iii_export_from_a_non_listing_state_without_certificate_of_origin_is_refused",
            input: no_change,
            facts: app_iii_listed_by_ghana,
            decision: Refuse,
            codes: &[MissingCertificateOfOrigin],
        },
        Case {
            name: "an_appendix_iii_export_from_a_non_listing_state_with_certificate_of_origin_is_allowed",
            input: |a| a.documents.certificate_of_origin = s("TG-CO-2024-0009"),
            facts: app_iii_listed_by_ghana,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_iii_import_from_a_non_listing_state_without_certificate_of_origin_is_refused",
            input: |a| {
                import_into_us(a);
                a.documents.export_permit = None;
            },
            facts: app_iii_listed_by_ghana,
            decision: Refuse,
            codes: &[MissingCertificateOfOrigin],
        },
        Case {
            name: "an_appendix_iii_import_from_the_listing_party_presenting_its_export_permit_is_allowed",
            input: import_into_us,
            facts: app_iii_listed_by_togo,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_introduction_from_the_sea_without_its_certificate_is_refused",
            input: ifs,
            facts: shark,
            decision: Refuse,
            codes: &[MissingIfsCertificate],
        },
        Case {
            name: "an_introduction_from_the_sea_with_its_certificate_and_finding_is_allowed",
            input: |a| {
                ifs(a);
                a.documents.ifs_certificate = s("US-IFS-2024-004");
            },
            facts: shark,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_introduction_from_the_sea_of_wild_specimens_from_a_state_is_refused",
            input: |a| {
                ifs(a);
                a.source = s("W");
                a.documents.ifs_certificate = s("US-IFS-2024-004");
            },
            facts: shark,
            decision: Refuse,
            codes: &[SourceInvalidForTransaction],
        },
        Case {
            name: "an_export_without_a_non_detriment_finding_is_allowed_when_its_quota_stands_for_one",
            input: |a| a.documents.ndf_reference = None,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_export_without_a_non_detriment_finding_or_quota_is_refused",
            input: |a| a.documents.ndf_reference = None,
            facts: |f| f.quotas.clear(),
            decision: Refuse,
            codes: &[MissingNdf],
        },
        Case {
            name: "an_export_without_a_legal_acquisition_finding_is_refused",
            input: |a| a.documents.laf_reference = None,
            facts: no_change,
            decision: Refuse,
            codes: &[MissingLaf],
        },
        Case {
            name: "a_permit_without_the_security_stamp_its_party_uses_is_refused",
            input: no_change,
            facts: |f| f.security_stamp_required = true,
            decision: Refuse,
            codes: &[MissingSecurityStamp],
        },
        Case {
            name: "a_permit_with_the_security_stamp_its_party_uses_is_allowed",
            input: |a| a.documents.security_stamp = s("TG-00012345"),
            facts: |f| f.security_stamp_required = true,
            decision: Allow,
            codes: &[],
        },
    ]
}

fn purpose_and_source() -> Vec<Case> {
    vec![
        Case {
            name: "wild_appendix_i_specimens_for_commercial_purposes_are_refused",
            input: |a| {
                a.source = s("W");
                a.documents.import_permit = import_permit("US-IP-24-0091", "2024-02-20", Some(100));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial],
        },
        Case {
            name: "appendix_i_specimens_from_a_registered_operation_are_deemed_appendix_ii_and_may_be_sold",
            input: |a| {
                a.source = s("D");
                a.documents.captive_breeding_registration = s("A-TG-501");
            },
            facts: app_i,
            decision: Allow,
            codes: &[DeemedAppII],
        },
        Case {
            name: "captive_bred_appendix_i_specimens_outside_a_registered_operation_may_not_be_sold",
            input: |a| a.source = s("C"),
            facts: app_i,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial],
        },
        Case {
            name: "pre_convention_appendix_i_specimens_with_a_certificate_may_be_sold",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_certificate = s("TG-PC-2024-01");
                a.documents.pre_convention_date = s("1960-05-01");
                a.documents.ndf_reference = None;
                a.documents.laf_reference = None;
            },
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "trophies_for_a_zoo_are_an_unusual_term_and_purpose_pair",
            input: |a| {
                a.term = s("TRO");
                a.purpose = s("Z");
            },
            facts: no_change,
            decision: Allow,
            codes: &[TermPurposeUnusual],
        },
        Case {
            name: "skins_measured_in_litres_are_an_unusual_term_and_unit_pair",
            input: |a| {
                a.term = s("SKI");
                a.unit = s("LTR");
            },
            facts: no_change,
            decision: Allow,
            codes: &[TermUnitUnusual],
        },
        Case {
            name: "source_c_is_refused_for_plants",
            input: |a| {
                plant_export(a);
                a.source = s("C");
            },
            facts: orchid,
            decision: Refuse,
            codes: &[SourceInvalidForKingdom],
        },
        Case {
            name: "source_a_is_refused_for_animals",
            input: |a| a.source = s("A"),
            facts: no_change,
            decision: Refuse,
            codes: &[SourceInvalidForKingdom],
        },
        Case {
            name: "source_d_is_refused_for_an_appendix_ii_taxon",
            input: |a| {
                a.source = s("D");
                a.documents.captive_breeding_registration = s("A-TG-501");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[SourceDRequiresAppI],
        },
        Case {
            name: "source_d_without_a_registered_operation_is_refused",
            input: |a| a.source = s("D"),
            facts: app_i,
            decision: Refuse,
            codes: &[SourceDRequiresRegistration],
        },
        Case {
            name: "source_o_acquired_after_the_first_listing_is_refused",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_certificate = s("TG-PC-2024-02");
                a.documents.pre_convention_date = s("1980-01-01");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[SourceONotPreConvention],
        },
        Case {
            name: "source_o_without_a_pre_convention_certificate_is_refused",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_date = s("1960-05-01");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[MissingPreConventionCertificate],
        },
        Case {
            name: "source_o_for_a_taxon_whose_first_listing_is_unknown_needs_review",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_certificate = s("TG-PC-2024-03");
                a.documents.pre_convention_date = s("1960-05-01");
            },
            facts: |f| f.first_listing_date = None,
            decision: NeedsReview,
            codes: &[PreConventionDateUnverified],
        },
        Case {
            name: "source_u_needs_justification",
            input: |a| a.source = s("U"),
            facts: no_change,
            decision: NeedsReview,
            codes: &[SourceUNeedsJustification],
        },
        Case {
            name: "confiscated_specimens_without_a_disposal_decision_are_refused",
            input: |a| a.source = s("I"),
            facts: no_change,
            decision: Refuse,
            codes: &[SourceIRequiresDisposalEvidence],
        },
        Case {
            name: "confiscated_specimens_do_not_count_against_a_zero_quota",
            input: |a| {
                a.source = s("I");
                a.documents.lawful_disposal_reference = s("TG-COURT-2023-77");
            },
            facts: |f| {
                f.quotas[0].sources.clear();
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_marine_export_without_an_ifs_certificate_is_refused",
            input: |a| a.source = s("X"),
            facts: shark,
            decision: Refuse,
            codes: &[MissingIfsCertificate],
        },
    ]
}

fn suspensions() -> Vec<Case> {
    vec![
        Case {
            name: "personal_trade_from_a_country_under_a_commercial_only_suspension_is_allowed",
            input: |a| a.purpose = s("P"),
            facts: |f| published(f, "TG", "2015-03-19", true, false, ALL_COMMERCIAL_TRADE),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "commercial_trade_from_a_country_under_a_commercial_only_suspension_is_refused",
            input: no_change,
            facts: |f| published(f, "TG", "2015-03-19", true, false, ALL_COMMERCIAL_TRADE),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_notification_on_short_export_permits_for_carvings_leaves_live_animals_alone",
            input: no_change,
            facts: |f| published(f, "TG", "2010-08-16", true, true, SHORT_EXPORT_PERMITS),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "ivory_carvings_under_a_notification_on_short_export_permits_need_review",
            input: |a| a.term = s("IVC"),
            facts: |f| published(f, "TG", "2010-08-16", true, true, SHORT_EXPORT_PERMITS),
            decision: NeedsReview,
            codes: &[MeasureScopeUnknown],
        },
        Case {
            name: "the_importing_partys_domestic_ivory_measure_is_a_warning_for_the_exporter",
            input: |a| a.term = s("TUS"),
            facts: |f| published(f, "US", "2014-10-10", true, true, US_IVORY),
            decision: Allow,
            codes: &[TradeMeasureNote],
        },
        Case {
            name: "the_issuing_partys_own_domestic_ivory_measure_binds_it",
            input: |a| a.term = s("TUS"),
            facts: |f| published(f, "TG", "2014-10-10", true, false, US_IVORY),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_domestic_measure_whose_notes_give_its_window_binds_inside_it",
            input: |a| {
                a.term = s("TUS");
                a.date_issue = s("2018-03-01");
                a.date_trade = s("2018-03-15");
                a.documents.valid_until = s("2018-08-31");
            },
            facts: |f| published(f, "TG", "2016-04-01", false, true, CN_IVORY_2016_2019),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_domestic_measure_whose_notes_give_its_window_is_gone_after_it",
            input: |a| a.term = s("TUS"),
            facts: |f| published(f, "TG", "2016-04-01", false, true, CN_IVORY_2016_2019),
            decision: Allow,
            codes: &[],
        },
        Case {
            // Species+ lists the suspension of all trade with one Party from 2022-05-13 as no
            // longer current, without the date it was withdrawn: a trade in June 2022, checked
            // in 2026, may have fallen inside it.
            name: "a_suspension_withdrawn_at_an_unknown_date_may_cover_a_past_trade_date",
            input: |a| {
                import_into_us(a);
                a.date_issue = s("2022-05-20");
                a.date_trade = s("2022-06-01");
                a.documents.valid_until = s("2022-10-31");
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2022-05-16");
                }
            },
            facts: |f| {
                f.today = d("2026-11-27");
                published(f, "TG", "2022-05-13", false, false, ALL_TRADE);
            },
            decision: NeedsReview,
            codes: &[MeasurePossiblyInForce],
        },
        Case {
            name: "a_suspension_withdrawn_before_today_does_not_cover_a_trade_after_today",
            input: no_change,
            facts: |f| published(f, "TG", "2022-05-13", false, false, ALL_TRADE),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_of_the_taxon_from_the_exporter_is_refused",
            input: no_change,
            facts: |f| suspended(f, None),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_an_ancestor_taxon_applies_to_the_species",
            input: no_change,
            facts: |f| f.suspensions.push(suspension(32, "TG", Some(SERPENTES))),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_the_importer_without_applies_to_import_does_not_apply",
            input: no_change,
            facts: |f| {
                f.suspensions
                    .push(suspension(33, "US", Some(PYTHON_REGIUS)))
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_of_the_importer_with_applies_to_import_is_refused",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(34, "US", Some(PYTHON_REGIUS));
                suspension.applies_to_import = true;
                f.suspensions.push(suspension);
            },
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_wild_specimens_does_not_apply_to_ranched_ones",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(35, "TG", Some(PYTHON_REGIUS));
                suspension.sources = vec![source("W")];
                f.suspensions.push(suspension);
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_of_commercial_trade_applies_to_commercial_trade",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(36, "TG", Some(PYTHON_REGIUS));
                suspension.purposes = vec![purpose("T")];
                f.suspensions.push(suspension);
            },
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_whose_notes_carry_conditions_needs_review",
            input: no_change,
            facts: |f| {
                suspended(
                    f,
                    Some(
                        "All commercial trade, except specimens from ranching operations agreed with the Secretariat.",
                    ),
                )
            },
            decision: NeedsReview,
            codes: &[SuspensionConditions],
        },
        Case {
            name: "a_suspension_withdrawn_before_the_trade_date_does_not_apply",
            input: no_change,
            facts: |f| {
                suspended(f, None);
                f.suspensions[0].end_date = Some(d("2024-01-01"));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_starting_after_the_trade_date_does_not_apply",
            input: no_change,
            facts: |f| {
                suspended(f, None);
                f.suspensions[0].start_date = d("2024-04-01");
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_higher_taxon_suspension_that_excludes_the_species_does_not_apply",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(37, "TG", Some(SERPENTES));
                suspension.excluded_taxon_ids = vec![TaxonId::new(PYTHON_REGIUS)];
                f.suspensions.push(suspension);
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_country_wide_suspension_applies_to_every_taxon",
            input: no_change,
            facts: |f| f.suspensions.push(suspension(38, "TG", None)),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_the_country_of_origin_of_a_re_export_needs_review",
            input: reexport,
            facts: |f| {
                f.suspensions
                    .push(suspension(39, "TG", Some(PYTHON_REGIUS)))
            },
            decision: NeedsReview,
            codes: &[SuspensionAffectsOrigin],
        },
        Case {
            name: "another_countrys_national_ban_is_noted_but_does_not_bind_an_import_permit",
            input: import_into_us,
            facts: |f| {
                let mut ban = suspension(40, "TG", Some(PYTHON_REGIUS));
                ban.kind = SuspensionKind::NationalBan;
                f.suspensions.push(ban);
            },
            decision: Allow,
            codes: &[TradeMeasureNote],
        },
        Case {
            name: "the_issuing_partys_own_national_ban_is_refused",
            input: no_change,
            facts: |f| {
                let mut ban = suspension(41, "TG", Some(PYTHON_REGIUS));
                ban.kind = SuspensionKind::NationalBan;
                f.suspensions.push(ban);
            },
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "an_information_notice_is_noted_only",
            input: no_change,
            facts: |f| {
                let mut notice = suspension(42, "TG", Some(PYTHON_REGIUS));
                notice.kind = SuspensionKind::InformationNotice;
                f.suspensions.push(notice);
            },
            decision: Allow,
            codes: &[TradeMeasureNote],
        },
    ]
}

fn quotas() -> Vec<Case> {
    vec![
        Case {
            name: "an_export_under_a_zero_quota_is_refused",
            input: no_change,
            facts: |f| quota_limit(f, Some(Decimal::ZERO)),
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "an_export_under_a_quota_in_preparation_needs_review",
            input: no_change,
            facts: |f| quota_limit(f, None),
            decision: NeedsReview,
            codes: &[QuotaInPreparation],
        },
        Case {
            name: "a_count_cannot_be_compared_with_a_quota_in_kilograms",
            input: no_change,
            facts: |f| f.quotas[0].unit = unit("KGM"),
            decision: NeedsReview,
            codes: &[UnitMismatch],
        },
        Case {
            name: "an_export_that_would_exceed_the_quota_counting_held_committed_and_exported_is_refused",
            input: no_change,
            facts: |f| {
                f.quotas[0].held = Decimal::from(1000);
                f.quotas[0].exported = Decimal::from(650);
            },
            decision: Refuse,
            codes: &[QuotaExceeded],
        },
        Case {
            name: "an_export_that_uses_the_quota_exactly_is_allowed",
            input: no_change,
            facts: |f| {
                f.quotas[0].committed = Decimal::from(1400);
                f.quotas[0].exported = Decimal::from(500);
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "grams_are_converted_exactly_into_a_kilogram_quota",
            input: |a| {
                a.unit = s("GRM");
                a.quantity = Some(serde_json::json!("2500"));
            },
            facts: |f| {
                f.quotas[0].unit = unit("KGM");
                f.quotas[0].limit = Some(dec("500"));
                f.quotas[0].committed = dec("497.5");
                f.quotas[0].exported = Decimal::ZERO;
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_re_export_does_not_count_against_the_quota",
            input: reexport,
            facts: |f| quota_limit(f, Some(Decimal::ZERO)),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_quota_restricted_to_another_term_does_not_apply",
            input: no_change,
            facts: |f| {
                f.quotas[0].terms = vec![term("SKI")];
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            // Issued on 30 December, used on 10 January: it counts against the year of issue
            // (not the year it is used in), so the 2024 quota's zero refuses it.
            name: "a_permit_counts_against_the_quota_of_the_year_it_is_issued_in",
            input: |a| {
                a.date_issue = s("2024-12-30");
                a.date_trade = s("2025-01-10");
                a.documents.valid_until = None;
            },
            facts: |f| quota_limit(f, Some(Decimal::ZERO)),
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "a_quota_of_another_year_does_not_apply",
            input: no_change,
            facts: |f| {
                f.quotas[0].period = Period::calendar_year(2023);
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            // Declared against a concept Species+ has since lumped into this one.
            name: "a_quota_on_a_concept_merged_into_the_taxon_still_applies",
            input: no_change,
            facts: |f| {
                f.quotas[0].taxon_id = TaxonId::new(MERGED);
                f.taxon.merged_ids = vec![TaxonId::new(MERGED)];
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "a_quota_on_an_unrelated_concept_does_not_apply",
            input: no_change,
            facts: |f| {
                f.quotas[0].taxon_id = TaxonId::new(MERGED);
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_ethiopian_leopard_trophy_beyond_the_cop_quota_of_twenty_is_refused",
            input: leopard_trophy,
            facts: leopard_facts,
            decision: Refuse,
            codes: &[QuotaExceeded],
        },
        Case {
            name: "an_ethiopian_leopard_trophy_within_the_cop_quota_is_allowed",
            input: leopard_trophy,
            facts: |f| {
                leopard_facts(f);
                f.quotas[0].exported = Decimal::from(10);
            },
            decision: Allow,
            codes: &[],
        },
    ]
}

fn validity_and_reexport() -> Vec<Case> {
    vec![
        Case {
            name: "an_export_permit_valid_for_more_than_six_months_is_refused",
            input: |a| a.documents.valid_until = s("2024-09-02"),
            facts: no_change,
            decision: Refuse,
            codes: &[ValidityTooLong],
        },
        Case {
            name: "a_trade_after_the_permit_expires_is_refused",
            input: |a| a.documents.valid_until = s("2024-03-10"),
            facts: no_change,
            decision: Refuse,
            codes: &[Expired],
        },
        Case {
            name: "a_trade_more_than_six_months_after_issue_is_refused",
            input: |a| {
                a.documents.valid_until = None;
                a.date_trade = s("2024-09-02");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[Expired],
        },
        Case {
            name: "an_import_permit_may_be_valid_for_twelve_months",
            input: |a| {
                import_into_us(a);
                a.documents.valid_until = s("2025-02-28");
            },
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_trade_date_before_the_date_of_issue_is_refused",
            input: |a| a.date_trade = s("2024-02-15"),
            facts: no_change,
            decision: Refuse,
            codes: &[TradeBeforeIssue],
        },
        Case {
            name: "a_re_export_with_a_consistent_origin_permit_and_balance_is_allowed",
            input: reexport,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_re_export_without_an_origin_permit_is_refused",
            input: |a| {
                reexport(a);
                a.documents.origin_permit = None;
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginMissing],
        },
        Case {
            name: "a_re_export_without_a_country_of_origin_is_refused",
            input: |a| {
                reexport(a);
                a.origin = None;
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginMissing],
        },
        Case {
            name: "a_re_export_whose_origin_permit_comes_from_another_country_is_refused",
            input: |a| {
                reexport(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.country = s("GH");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginInconsistent],
        },
        Case {
            name: "a_re_export_that_changes_the_source_of_its_origin_permit_is_refused",
            input: |a| {
                reexport(a);
                a.source = s("C");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginInconsistent],
        },
        Case {
            name: "a_re_export_above_the_balance_of_its_origin_permit_is_refused",
            input: |a| {
                reexport(a);
                a.quantity = Some(serde_json::json!(151));
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportNoBalance],
        },
        Case {
            name: "a_re_export_whose_origin_balance_is_unknown_needs_review",
            input: |a| {
                reexport(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.quantity_remaining = None;
                }
            },
            facts: no_change,
            decision: NeedsReview,
            codes: &[ReexportBalanceUnknown],
        },
        Case {
            name: "a_re_export_whose_origin_permit_was_issued_under_another_appendix_needs_review",
            input: |a| {
                reexport(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.appendix = s("I");
                }
            },
            facts: no_change,
            decision: NeedsReview,
            codes: &[ReexportAppendixChanged],
        },
        Case {
            name: "a_re_export_whose_origin_permit_was_cancelled_needs_review",
            input: reexport,
            facts: |f| f.origin_permit_status = Some(PriorDocumentStatus::Cancelled),
            decision: NeedsReview,
            codes: &[ReexportOriginInvalid],
        },
        Case {
            name: "an_application_that_passes_every_rule_on_the_sample_catalogue_needs_review",
            input: |_| {},
            facts: |f| f.catalogue_is_sample = true,
            decision: NeedsReview,
            codes: &[SampleCatalogue],
        },
        Case {
            name: "a_re_export_through_a_third_country_is_limited_by_the_last_re_export_certificate",
            input: |a| {
                reexport(a);
                a.quantity = Some(serde_json::json!(120));
                let mut last = prior("GH-RE-2024-0008", "GH", "2024-01-15");
                last.source = s("R");
                last.quantity_remaining = Some(serde_json::json!(100));
                a.documents.last_reexport = Some(last);
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportNoBalance],
        },
    ]
}

fn precedence() -> Vec<Case> {
    vec![
        Case {
            name: "not_listed_takes_precedence_over_a_suspension_and_a_zero_quota",
            input: no_change,
            facts: |f| {
                for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
                    listing.status = ListingStatus::NotListed;
                    listing.deciding.clear();
                }
                suspended(f, None);
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "a_part_outside_the_annotation_takes_precedence_over_refusals",
            input: |a| {
                plant_export(a);
                a.source = s("C");
                a.term = s("SEE");
            },
            facts: |f| {
                orchid(f);
                f.suspensions.push(suspension(43, "TG", None));
            },
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "a_refusal_takes_precedence_over_a_review",
            input: no_change,
            facts: |f| {
                suspended(f, None);
                quota_limit(f, None);
            },
            decision: Refuse,
            codes: &[Suspended, QuotaInPreparation],
        },
        Case {
            name: "a_review_takes_precedence_over_informational_reasons",
            input: |a| a.source = s("U"),
            facts: |f| {
                f.taxon.via_synonym = true;
                f.taxon.submitted_name = Some("Boa regia".to_owned());
                f.quotas.clear();
            },
            decision: NeedsReview,
            codes: &[SynonymResolved, SourceUNeedsJustification],
        },
        Case {
            name: "every_refusal_that_fires_is_reported_not_only_the_first",
            input: |a| {
                a.source = s("W");
                a.documents.ndf_reference = None;
                a.documents.laf_reference = None;
            },
            facts: |f| {
                app_i(f);
                suspended(f, None);
                f.quotas[0].sources = vec![source("W")];
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Refuse,
            codes: &[
                AppIPrimarilyCommercial,
                MissingImportPermit,
                Suspended,
                ZeroQuota,
                MissingNdf,
                MissingLaf,
            ],
        },
        Case {
            name: "a_listing_change_before_trade_is_reported_alongside_not_listed",
            input: |a| {
                a.date_issue = s("2024-03-01");
                a.date_trade = s("2024-03-15");
            },
            facts: |f| {
                f.listing_at_trade.status = ListingStatus::NotListed;
                f.listing_at_trade.deciding.clear();
            },
            decision: NotCites,
            codes: &[NotListed, ListingChangesBeforeTrade],
        },
    ]
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
