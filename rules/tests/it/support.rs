//! Builders for applications and facts, and the one `check` helper the tables call.
//!
//! The base application is an ordinary one that passes every rule: 100 ranched live ball
//! pythons (Appendix II) exported from Togo to the United States for commercial purposes, with
//! findings, inside Togo's quota. Each case changes only what its name says.

use std::collections::BTreeSet;

use domain::{
    Appendix, CountryCode, Date, Kingdom, Period, PurposeCode, SourceCode, TaxonId, TermCode,
    UnitCode,
};
use rules::{
    ApplicationInput, Decision, Effect, Facts, HashAnnotationFact, ImportPermitInput,
    ListingChangeFact, ListingFacts, ListingStatus, PriorDocumentInput, QuotaFact, ReasonCode,
    RiskConfig, SuspensionFact, SuspensionKind, TaxonFacts, Verdict,
};
use rust_decimal::Decimal;

pub fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

pub fn d(text: &str) -> Date {
    domain::parse_date("test", text).unwrap()
}

pub fn c(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

pub fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn source(code: &str) -> SourceCode {
    SourceCode::parse(code).unwrap()
}

pub fn purpose(code: &str) -> PurposeCode {
    PurposeCode::parse(code).unwrap()
}

pub fn term(code: &str) -> TermCode {
    TermCode::parse(code).unwrap()
}

pub fn unit(code: &str) -> UnitCode {
    UnitCode::parse(code).unwrap()
}

pub const PYTHON_REGIUS: u32 = 4521;
pub const PYTHONIDAE: u32 = 4500;
pub const SERPENTES: u32 = 4000;
/// A concept lumped into Python regius, for quotas declared before the lump.
pub const MERGED: u32 = 990_001;

/// The base application (see the module docs).
pub fn base_input() -> ApplicationInput {
    ApplicationInput {
        transaction: s("export"),
        taxon: s("Python regius"),
        exporter: s("TG"),
        importer: s("US"),
        source: s("R"),
        purpose: s("T"),
        term: s("LIV"),
        quantity: Some(serde_json::json!(100)),
        date_issue: s("2024-03-01"),
        date_trade: s("2024-03-15"),
        documents: rules::DocumentsInput {
            ndf_reference: s("TG-SA-2024-07"),
            laf_reference: s("TG-MA-LAF-2024-112"),
            valid_until: s("2024-08-31"),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Facts for the base application, with listings derived for `date_issue` and `date_trade`.
pub fn base_facts(date_issue: Date, date_trade: Date) -> Facts {
    let row = ListingChangeFact {
        listing_id: 100,
        taxon_id: TaxonId::new(PYTHONIDAE),
        appendix: Appendix::II,
        effective_at: d("1977-02-04"),
        party: None,
        annotation: None,
        hash_annotation: None,
        inherited_from: Some("Pythonidae".to_owned()),
    };
    let listing = |date| ListingFacts {
        date,
        population_country: None,
        status: ListingStatus::Listed {
            appendix: Appendix::II,
        },
        deciding: vec![row.clone()],
        app_iii_parties: Vec::new(),
        reservations: Vec::new(),
        needs_review: false,
    };
    Facts {
        today: date_issue,
        taxon: TaxonFacts {
            id: TaxonId::new(PYTHON_REGIUS),
            accepted_name: "Python regius".to_owned(),
            submitted_name: Some("Python regius".to_owned()),
            via_synonym: false,
            kingdom: Kingdom::Animalia,
            rank: "SPECIES".to_owned(),
            ancestor_ids: vec![TaxonId::new(PYTHONIDAE), TaxonId::new(SERPENTES)],
            ancestor_names: vec![
                "Python".to_owned(),
                "Pythonidae".to_owned(),
                "Serpentes".to_owned(),
            ],
            merged_ids: Vec::new(),
            is_hybrid: false,
            excluded_form: None,
        },
        listing_at_trade: listing(date_trade),
        listing_at_issue: listing(date_issue),
        first_listing_date: Some(d("1977-02-04")),
        last_amendment: Some(d("1977-02-04")),
        non_parties: Vec::new(),
        suspensions: Vec::new(),
        quotas: vec![QuotaFact {
            id: 7,
            speciesplus_id: Some(22_801),
            taxon_id: TaxonId::new(PYTHON_REGIUS),
            exporter: c("TG"),
            period: Period::calendar_year(2024),
            unit: UnitCode::number_of_specimens(),
            limit: Some(Decimal::from(2000)),
            held: Decimal::ZERO,
            committed: Decimal::from(300),
            exported: Decimal::from(200),
            terms: vec![term("LIV")],
            sources: vec![source("R")],
            purposes: Vec::new(),
            notes: Some("ranched".to_owned()),
            basis: None,
        }],
        distribution: ["BJ", "GH", "TG", "CI", "NG", "SN", "ML", "BF"]
            .iter()
            .map(|code| c(code))
            .collect(),
        exporter_history: Vec::new(),
        exporter_refused_applications: 0,
        captive_breeding_review: false,
        security_stamp_required: false,
        origin_permit_status: None,
        catalogue_is_sample: false,
    }
}

/// Changes the Appendix of every deciding row and the status, on both dates.
pub fn set_appendix(facts: &mut Facts, appendix: Appendix) {
    for listing in [&mut facts.listing_at_trade, &mut facts.listing_at_issue] {
        listing.status = ListingStatus::Listed { appendix };
        for row in &mut listing.deciding {
            row.appendix = appendix;
        }
    }
}

/// Replaces the taxon (and its listing rows' taxon) with a plant or animal of that name.
pub fn set_taxon(facts: &mut Facts, id: u32, name: &str, kingdom: Kingdom, ancestors: &[&str]) {
    facts.taxon.id = TaxonId::new(id);
    facts.taxon.accepted_name = name.to_owned();
    facts.taxon.submitted_name = Some(name.to_owned());
    facts.taxon.kingdom = kingdom;
    facts.taxon.ancestor_names = ancestors.iter().map(|a| (*a).to_owned()).collect();
    facts.taxon.ancestor_ids = Vec::new();
    for listing in [&mut facts.listing_at_trade, &mut facts.listing_at_issue] {
        for row in &mut listing.deciding {
            row.taxon_id = TaxonId::new(id);
            row.inherited_from = None;
        }
    }
    facts.quotas.clear();
}

/// Sets the # annotation of the deciding rows on both dates.
pub fn set_hash(facts: &mut Facts, symbol: &str, note: &str) {
    for listing in [&mut facts.listing_at_trade, &mut facts.listing_at_issue] {
        for row in &mut listing.deciding {
            row.hash_annotation = Some(HashAnnotationFact {
                symbol: Some(symbol.to_owned()),
                note: Some(note.to_owned()),
            });
        }
    }
}

/// One row of a listing history, for [`apply_timeline`].
pub struct Row {
    pub listing_id: i64,
    /// `None` for a deletion.
    pub appendix: Option<Appendix>,
    pub effective_at: &'static str,
    /// Populations covered; empty for the whole taxon.
    pub populations: &'static [&'static str],
    pub annotation: Option<&'static str>,
    pub hash: Option<&'static str>,
    pub inherited_from: Option<&'static str>,
}

impl Row {
    pub const fn listed(listing_id: i64, appendix: Appendix, effective_at: &'static str) -> Row {
        Row {
            listing_id,
            appendix: Some(appendix),
            effective_at,
            populations: &[],
            annotation: None,
            hash: None,
            inherited_from: None,
        }
    }
}

/// Derives the listing facts for both dates from a small history, the way the application
/// does with `sync::listing::listing_at` for these simple cases: the latest row in force on the
/// date that covers the specimen's population decides.
pub fn apply_timeline(facts: &mut Facts, rows: &[Row], country: &str) {
    for listing in [&mut facts.listing_at_trade, &mut facts.listing_at_issue] {
        *listing = listing_on(rows, listing.date, facts.taxon.id, country);
    }
    facts.last_amendment = rows.iter().map(|row| d(row.effective_at)).max();
    facts.first_listing_date = rows
        .iter()
        .filter(|row| row.appendix.is_some())
        .map(|row| d(row.effective_at))
        .min();
}

fn listing_on(rows: &[Row], date: Date, taxon_id: TaxonId, country: &str) -> ListingFacts {
    let deciding = rows
        .iter()
        .filter(|row| d(row.effective_at) <= date)
        .filter(|row| row.populations.is_empty() || row.populations.contains(&country))
        .max_by_key(|row| d(row.effective_at));
    let (status, deciding) = match deciding {
        Some(row) if row.appendix.is_some() => {
            let appendix = row.appendix.unwrap();
            (
                ListingStatus::Listed { appendix },
                vec![ListingChangeFact {
                    listing_id: row.listing_id,
                    taxon_id,
                    appendix,
                    effective_at: d(row.effective_at),
                    party: None,
                    annotation: row.annotation.map(str::to_owned),
                    hash_annotation: row.hash.map(|symbol| HashAnnotationFact {
                        symbol: Some(symbol.to_owned()),
                        note: None,
                    }),
                    inherited_from: row.inherited_from.map(str::to_owned),
                }],
            )
        }
        _ => (ListingStatus::NotListed, Vec::new()),
    };
    ListingFacts {
        date,
        population_country: Some(c(country)),
        status,
        deciding,
        app_iii_parties: Vec::new(),
        reservations: Vec::new(),
        needs_review: false,
    }
}

pub fn import_permit(
    number: &str,
    issued_on: &str,
    quantity: Option<i64>,
) -> Option<ImportPermitInput> {
    Some(ImportPermitInput {
        number: s(number),
        issued_on: s(issued_on),
        taxon: None,
        quantity: quantity.map(|q| serde_json::json!(q)),
        unit: None,
    })
}

pub fn prior(number: &str, country: &str, issued_on: &str) -> PriorDocumentInput {
    PriorDocumentInput {
        number: s(number),
        country: s(country),
        issued_on: s(issued_on),
        ..Default::default()
    }
}

pub fn suspension(id: i64, country: &str, taxon_id: Option<u32>) -> SuspensionFact {
    SuspensionFact {
        id,
        kind: SuspensionKind::Cites,
        notification: Some(format!("No. 2023/{id:03}")),
        start_date: d("2023-06-01"),
        end_date: None,
        taxon_id: taxon_id.map(TaxonId::new),
        excluded_taxon_ids: Vec::new(),
        country: c(country),
        applies_to_import: false,
        sources: Vec::new(),
        purposes: Vec::new(),
        terms: Vec::new(),
        notes: None,
        is_current: None,
        scope_unread: None,
    }
}

/// An application change, a facts change, and what the check must conclude.
pub struct Case {
    pub name: &'static str,
    pub input: fn(&mut ApplicationInput),
    pub facts: fn(&mut Facts),
    pub decision: Verdict,
    pub codes: &'static [ReasonCode],
}

/// Builds the case's application and facts (the facts' listings dated as the application).
pub fn build(
    case_input: fn(&mut ApplicationInput),
    case_facts: fn(&mut Facts),
) -> (rules::Application, Facts) {
    let mut input = base_input();
    case_input(&mut input);
    let application = rules::Application::parse(input).unwrap();
    let mut facts = base_facts(application.date_issue(), application.date_trade());
    case_facts(&mut facts);
    (application, facts)
}

/// Runs one case and checks the verdict, the exact set of reason codes and the invariants
/// every decision keeps. A mismatch is returned with the whole decision, so a table run can
/// report every failing case at once.
pub fn check(case: &Case) -> Result<Decision, String> {
    let (application, facts) = build(case.input, case.facts);
    let decision = rules::check(&application, &facts, &RiskConfig::default());
    let got: BTreeSet<ReasonCode> = decision.codes().into_iter().collect();
    let want: BTreeSet<ReasonCode> = case.codes.iter().copied().collect();
    if (decision.decision, &got) != (case.decision, &want) {
        return Err(format!(
            "case {}: expected {:?} {:?}, got {:?} {:?}\n{}",
            case.name,
            case.decision,
            want,
            decision.decision,
            got,
            serde_json::to_string_pretty(&decision).unwrap()
        ));
    }
    assert_invariants(&decision);
    Ok(decision)
}

/// What holds for every decision: each reason pushes toward its code's effect, the verdict is
/// the strongest effect, and a risk score exists exactly when the verdict is ALLOW or
/// NEEDS_REVIEW.
#[track_caller]
pub fn assert_invariants(decision: &Decision) {
    for reason in &decision.reasons {
        assert_eq!(reason.pushes_toward, reason.code.effect());
        assert!(!reason.message.is_empty());
        assert!(!reason.legal_reference.is_empty());
    }
    let strongest = decision
        .reasons
        .iter()
        .map(|reason| reason.pushes_toward)
        .min()
        .unwrap_or(Effect::Allow);
    assert_eq!(decision.decision, strongest.verdict());
    assert_eq!(decision.precedence.applied, strongest);
    assert_eq!(
        decision.risk.is_some(),
        matches!(decision.decision, Verdict::Allow | Verdict::NeedsReview)
    );
}
