//! What the quota use cases of both interfaces share: the scope a quota may be declared on
//! (an accepted, active taxon of the catalogue, with the concepts merged into it), the taxa
//! whose quotas govern a taxon's exports, the one reading of an amount in a unit, and how
//! limits and periods read in messages.

use db::Db;
use domain::{Quantity, TaxonId, UnitCode};
use quota::ClientKey;
use rust_decimal::Decimal;

/// `amount` in `unit` (blank: a count of specimens), as every quota route and `cites quota`
/// command reads them: the one grammar of amounts ([`domain::parse_amount`]); `moved`: the
/// amount moves the quota (a reservation, commit or export), so it must be more than nothing
/// (a limit may be zero). `fields` names the amount and the unit as the caller calls them
/// (`quantity` and `unit` here, `--quantity` and `--unit` on the command line); an error is
/// the field at fault with its message.
pub fn amount_in_unit(
    [field, unit_field]: [&'static str; 2],
    amount: &str,
    unit: &str,
    moved: bool,
) -> Result<Quantity, (&'static str, String)> {
    let amount = domain::parse_amount(field, amount).map_err(|e| (field, e.to_string()))?;
    if moved && amount <= Decimal::ZERO {
        let message = format!("invalid {field} {amount}: accepted a decimal above 0");
        return Err((field, message));
    }
    let unit =
        UnitCode::parse(unit).map_err(|e| (unit_field, e.for_field(unit_field).to_string()))?;
    Quantity::new(amount, unit).map_err(|e| (field, e.for_field(field).to_string()))
}

/// The unit a request gave, or else the one its quota or reservation counts in (`counted_in`,
/// read only then), as the quota routes and commands read it.
pub async fn unit_or(
    given: Option<&str>,
    counted_in: impl Future<Output = quota::Result<UnitCode>>,
) -> quota::Result<String> {
    Ok(match given {
        Some(u) => u.to_owned(),
        None => counted_in.await?.code().to_owned(),
    })
}

/// How to fill an empty catalogue, for answers that need one.
pub const FILL_THE_CATALOGUE: &str = "`cites sync --latest-dump` (the weekly Species+ dump; needs \
     CITES_SPECIESPLUS_TOKEN), `cites sync --from-dump FILE`, or `cites serve`, which loads the \
     built-in sample catalogue into an empty database (not for permit decisions)";

/// Why no quota can be declared for `taxon_id`, or `None` when one can. A permit check
/// resolves a name to its accepted taxon and finds the quotas of that taxon and its ancestors,
/// so a quota on an id the catalogue does not hold, or on a concept Species+ no longer keeps
/// active, would never count a permit; one on a synonym belongs on the accepted taxon, which
/// the answer names. (A quota declared before Species+ merged its taxon into another still
/// counts: the check also reads the quotas of the synonyms pointing to the taxon.)
pub async fn undeclarable_taxon(db: &Db, taxon_id: TaxonId) -> sync::Result<Option<String>> {
    let id = i64::from(taxon_id.get());
    Ok(match sync::store::taxon(db, id).await? {
        Some(t) if t.name_status == "A" && t.active => None,
        Some(t) if t.name_status == "A" => Some(format!(
            "taxon {id} ({}) is no longer active in Species+: declare the quota against the taxon that replaced it",
            t.full_name
        )),
        Some(t) => {
            let accepted = sync::store::accepted_of(db, id).await?;
            let accepted: Vec<String> = accepted.iter().map(i64::to_string).collect();
            Some(format!(
                "taxon {id} ({}) is a synonym: declare the quota against its accepted taxon ({})",
                t.full_name,
                if accepted.is_empty() {
                    "none recorded".to_owned()
                } else {
                    accepted.join(" or ")
                }
            ))
        }
        None if sync::store::counts(db).await?.taxa == 0 => Some(format!(
            "no taxon {id}: the catalogue is empty; fill it first: {FILL_THE_CATALOGUE}"
        )),
        None => Some(format!(
            "no taxon {id} in the catalogue: give the Species+ id of an accepted taxon in it \
             (`cites listing NAME` or GET /v1/taxa?name=NAME shows it)"
        )),
    })
}

/// What the service checks before the ledger declares a quota on `taxon_id` under `key`: the
/// concepts merged into the taxon, to pass to [`quota::Ledger::declare_with_merged`], or why no
/// quota can be declared on it. A key already used is answered by the ledger as the first
/// time, so a retry gets its first answer even after a synchronisation changed the taxon.
pub async fn declarable<E>(
    db: &Db,
    ledger: &quota::Ledger,
    key: &ClientKey,
    taxon_id: TaxonId,
) -> Result<Result<Vec<TaxonId>, String>, E>
where
    E: From<quota::Error> + From<sync::Error>,
{
    if ledger.key_used(key).await? {
        return Ok(Ok(Vec::new()));
    }
    if let Some(why) = undeclarable_taxon(db, taxon_id).await? {
        return Ok(Err(why));
    }
    Ok(Ok(merged_into(db, taxon_id).await?))
}

/// Why a list of `taxon_id`'s quotas would be empty for a reason other than its having none:
/// the catalogue does not hold the taxon (a typo would otherwise read as "no quota"). A quota
/// declared on a taxon that has since left the catalogue is still listed: this is asked only
/// when the list is empty.
pub async fn unknown_taxon(db: &Db, taxon_id: TaxonId) -> sync::Result<Option<String>> {
    let id = i64::from(taxon_id.get());
    Ok(match sync::store::taxon(db, id).await? {
        Some(_) => None,
        None => Some(format!(
            "no taxon {id} in the catalogue, and no quota on it: give the Species+ id of a taxon \
             in the catalogue (GET /v1/taxa?name= finds it)"
        )),
    })
}

/// The concepts Species+ has merged into the accepted taxon `taxon_id` (the synonyms pointing
/// to it): a quota still declared on one of them limits the taxon's exports, so a new one of
/// the same scope on the taxon would be a second allowance for the same specimens.
pub async fn merged_into(db: &Db, taxon_id: TaxonId) -> sync::Result<Vec<TaxonId>> {
    let ids = sync::store::synonyms_of(db, i64::from(taxon_id.get())).await?;
    Ok(ids
        .into_iter()
        .filter_map(|id| u32::try_from(id).ok().map(TaxonId::new))
        .collect())
}

/// The taxa whose own quotas govern exports of `taxon_id` (a permit check adds its
/// ancestors'): the taxon and the concepts merged into it; for a synonym, each accepted taxon
/// it points to and the concepts merged into those. An id the catalogue does not know stands
/// for itself.
pub async fn taxa_governing(db: &Db, taxon_id: TaxonId) -> sync::Result<Vec<i64>> {
    let id = i64::from(taxon_id.get());
    let accepted = sync::store::accepted_of(db, id).await?;
    let roots = if accepted.is_empty() {
        vec![id]
    } else {
        accepted
    };
    let mut ids = roots.clone();
    for root in roots {
        ids.extend(sync::store::synonyms_of(db, root).await?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// A limit as people read it.
pub fn shown_limit(limit: Option<Decimal>) -> String {
    limit.map_or_else(|| "in preparation".to_owned(), |l| l.to_string())
}

/// A quota's period as people read it: its first and last days (the stored end is the day
/// after, which "2026-01-01..2027-01-01" would make look included).
pub fn shown_period(start: chrono::NaiveDate, end: chrono::NaiveDate) -> String {
    format!("{start} to {}", end.pred_opt().unwrap_or(end))
}
