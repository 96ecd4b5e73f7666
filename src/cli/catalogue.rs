//! `cites listing` and `cites amendments`: the catalogue read from the command line, as text
//! or as the JSON of the HTTP routes.

use std::sync::Arc;

use chrono::NaiveDate;
use db::Db;
use domain::{Clock, CountryCode};
use serde_json::json;
use sync::Catalogue;
use sync::listing::Status;

use crate::app::views::listing_json;
use crate::cli::{AmendmentsArgs, ListingArgs};

fn parse_date_arg(field: &'static str, text: &str) -> anyhow::Result<NaiveDate> {
    Ok(domain::parse_date(field, text)?)
}

#[allow(clippy::print_stdout)]
pub(crate) async fn listing_command(
    db: Db,
    clock: Arc<dyn Clock>,
    args: ListingArgs,
) -> anyhow::Result<()> {
    let date = match &args.date {
        Some(d) => parse_date_arg("date", d)?,
        None => clock.today(),
    };
    let country = args
        .country
        .as_deref()
        .map(|c| CountryCode::parse(c).map_err(|e| e.for_field("country")))
        .transpose()?;
    // The input is read first: a command refused for its arguments changes nothing.
    crate::app::sample::load_if_empty(&db, clock).await?;
    let listing = Catalogue::new(db)
        .listing(&args.taxon, date, country)
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listing_json(&listing))?);
    } else {
        println!("{}", listing_text(&listing));
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) async fn amendments_command(
    db: Db,
    clock: Arc<dyn Clock>,
    args: AmendmentsArgs,
) -> anyhow::Result<()> {
    let from = parse_date_arg("from", &args.from)?;
    let to = parse_date_arg("to", &args.to)?;
    crate::app::sample::load_if_empty(&db, clock).await?;
    let amendments = Catalogue::new(db).amendments(from, to).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"from": from, "to": to, "amendments": amendments})
            )?
        );
        return Ok(());
    }
    if amendments.is_empty() {
        println!("no listing change takes effect between {from} and {to}");
    }
    for a in &amendments {
        let changes: Vec<String> = a
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{} {}{} (#{})",
                    c.change_type,
                    c.appendix,
                    c.party
                        .as_deref()
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default(),
                    c.listing_id
                )
            })
            .collect();
        println!(
            "{}  {:<40} {:>10} -> {:<10} {}",
            a.effective_at,
            a.full_name,
            a.before,
            a.after,
            changes.join(", ")
        );
    }
    Ok(())
}

/// A listing as text for a person.
pub fn listing_text(l: &sync::catalogue::TaxonListing) -> String {
    let mut out = format!(
        "{} ({}, id {})",
        l.taxon.full_name,
        l.taxon.rank.to_lowercase(),
        l.taxon.id
    );
    if let Some(s) = &l.via_synonym {
        out.push_str(&format!(
            "\n  asked as synonym {} (id {})",
            s.full_name, s.id
        ));
    }
    if !l.taxon.active {
        out.push_str("\n  this taxon concept was deleted in Species+");
    }
    let country = l
        .listing
        .country
        .as_deref()
        .map(|c| format!(" for {c}"))
        .unwrap_or_default();
    let verdict = match &l.listing.status {
        Status::Listed { appendix } => format!("Appendix {appendix}"),
        Status::NotListed => "not listed".to_owned(),
        Status::DependsOnPopulation { appendices } => format!(
            "depends on the population: Appendices {} (give --country, or read the annotations)",
            appendices
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    out.push_str(&format!(
        "\n  on {}{}: {}",
        l.listing.date, country, verdict
    ));
    if let Some(i) = &l.inherited_from {
        out.push_str(&format!("\n  inherited: {i}"));
    }
    if !l.listing.app_iii_parties.is_empty() {
        out.push_str(&format!(
            "\n  Appendix III listed by: {}",
            l.listing.app_iii_parties.join(", ")
        ));
    }
    for f in &l.listing.deciding {
        out.push_str(&format!(
            "\n  listing change #{}: + {} from {}",
            f.listing_id, f.appendix, f.effective_at
        ));
        if let Some(a) = f.annotation.as_deref().filter(|a| !a.is_empty()) {
            let flat = a.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = flat.chars().take(160).collect();
            out.push_str(&format!(
                "\n    annotation: {short}{}",
                if flat.chars().count() > 160 {
                    "…"
                } else {
                    ""
                }
            ));
        }
        if let Some(h) = &f.hash_annotation {
            out.push_str(&format!(
                "\n    # annotation {}: {}",
                h.symbol.as_deref().unwrap_or("?"),
                h.note.as_deref().unwrap_or("")
            ));
        }
    }
    for r in &l.listing.reservations {
        out.push_str(&format!(
            "\n  reservation in force: {} on Appendix {} since {} (#{})",
            r.party, r.appendix, r.effective_at, r.listing_id
        ));
    }
    if l.listing.needs_review {
        out.push_str("\n  REVIEW: a population clause could not be read; see the annotations");
    }
    out
}
