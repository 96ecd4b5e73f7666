//! Completes the new specimens an EPCIS document leaves to their event's inputs
//! ([`Inherited`]): a transformation's outputs with no `cites:taxon` take the inputs' taxon, an
//! aggregation's parent takes the children's taxon, term and source (unless the event declares
//! them) and, with no quantity of its own, the sum of theirs in the first child's unit. Inputs
//! may be in the batch or in the register. Inputs that disagree on a field left to them, or
//! quantities that cannot be added, refuse the batch with a problem naming the event and the
//! field; inputs the register does not hold are left to ingest, which names them.

use std::collections::{BTreeSet, HashMap};

use db::with_tx;
use domain::{Quantity, SourceCode, TaxonId, TermCode, UnitCode};
use sqlx::Row;

use crate::epcis::one_specimen;
use crate::error::{Error, Problems, Result};
use crate::model::{Batch, Flow, Inherited, Specimen};

/// What an output may inherit from an input.
#[derive(Debug, Clone, Copy)]
struct Desc {
    taxon: TaxonId,
    term: TermCode,
    source: SourceCode,
    quantity: Quantity,
}

/// The batch with every [`Inherited`] output declared as a specimen, or the refusal.
pub(crate) async fn complete(tx: &mut db::Tx, mut batch: Batch) -> Result<Batch> {
    if batch.inherited.is_empty() {
        return Ok(batch);
    }
    let pending = std::mem::take(&mut batch.inherited);
    let mut known: HashMap<String, Desc> = batch
        .specimens
        .iter()
        .map(|s| {
            let d = Desc {
                taxon: s.taxon,
                term: s.term,
                source: s.source,
                quantity: s.quantity,
            };
            (s.key.clone(), d)
        })
        .collect();
    let wanted: BTreeSet<String> = pending
        .iter()
        .flat_map(|i| &i.inputs)
        .map(|f| f.specimen.clone())
        .filter(|k| !known.contains_key(k))
        .collect();
    for key in wanted {
        if let Some(d) = stored(tx, &key).await? {
            known.insert(key, d);
        }
    }
    let mut p = Problems::default();
    for i in &pending {
        let Some(ins) = i
            .inputs
            .iter()
            .map(|f| known.get(&f.specimen).map(|d| (f, *d)))
            .collect::<Option<Vec<(&Flow, Desc)>>>()
        else {
            continue; // an unknown input: ingest names it
        };
        if let Some(specimens) = declare(i, &ins, &mut p) {
            for s in specimens {
                known.insert(
                    s.key.clone(),
                    Desc {
                        taxon: s.taxon,
                        term: s.term,
                        source: s.source,
                        quantity: s.quantity,
                    },
                );
                batch.specimens.push(s);
            }
        }
    }
    p.into_result(batch)
}

/// The specimens `i` declares, its inputs described by `ins`.
fn declare(i: &Inherited, ins: &[(&Flow, Desc)], p: &mut Problems) -> Option<Vec<Specimen>> {
    let taxon = i
        .taxon
        .or_else(|| agree(i, 0, ins, |d| d.taxon, |t| t.to_string(), p));
    let term = i
        .term
        .or_else(|| agree(i, 1, ins, |d| d.term, |t| t.code().to_owned(), p));
    let source = i
        .source
        .or_else(|| agree(i, 2, ins, |d| d.source, |s| s.code().to_owned(), p));
    let sum = if i.sum_of_inputs {
        Some(sum(i, ins, p)?)
    } else {
        None
    };
    let (taxon, term, source) = (taxon?, term?, source?);
    Some(
        i.outputs
            .iter()
            .map(|f| Specimen {
                path: f.specimen_path.clone(),
                key: f.specimen.clone(),
                taxon,
                term,
                quantity: f.quantity.or(sum).unwrap_or_else(one_specimen),
                source,
                identifiers: Vec::new(),
            })
            .collect(),
    )
}

/// The one value the inputs share for field `n` of `i.fields`, or a problem naming the event's
/// field and the inputs that differ.
fn agree<T: PartialEq + Copy>(
    i: &Inherited,
    n: usize,
    ins: &[(&Flow, Desc)],
    get: impl Fn(&Desc) -> T,
    show: impl Fn(T) -> String,
    p: &mut Problems,
) -> Option<T> {
    let Some((first, d0)) = ins.first() else {
        p.push(
            i.fields[n].clone(),
            "missing, and the event has no input to inherit it from: declare it",
        );
        return None;
    };
    let v0 = get(d0);
    if let Some((other, d)) = ins.iter().find(|(_, d)| get(d) != v0) {
        p.push(
            i.fields[n].clone(),
            format!(
                "not declared, and the inputs disagree ({} is {}, {} is {}): declare it",
                first.specimen,
                show(v0),
                other.specimen,
                show(get(d))
            ),
        );
        return None;
    }
    Some(v0)
}

/// The inputs' quantities added up in the first input's unit (each flow's own quantity, or
/// the whole specimen).
fn sum(i: &Inherited, ins: &[(&Flow, Desc)], p: &mut Problems) -> Option<Quantity> {
    let unit = ins
        .first()
        .map_or_else(UnitCode::number_of_specimens, |(f, d)| {
            f.quantity.map_or(d.quantity.unit(), |q| q.unit())
        });
    let mut total = Quantity::zero(unit);
    for (f, d) in ins {
        let q = f.quantity.unwrap_or(d.quantity);
        match total.checked_add(&q) {
            Ok(t) => total = t,
            Err(e) => {
                p.push(
                    f.quantity_path.clone(),
                    format!(
                        "the parent of the event at {} is the sum of its children, and {} cannot be added to {unit}: {e}",
                        i.path, f.specimen
                    ),
                );
                return None;
            }
        }
    }
    Some(total)
}

/// A specimen of the register, described.
async fn stored(tx: &mut db::Tx, key: &str) -> Result<Option<Desc>> {
    let row: Option<(i64, String, String, i64, String)> = with_tx!(tx, c => {
        match sqlx::query(
            "SELECT taxon_id, term, source, quantity_micro, unit FROM trace_specimens WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *c)
        .await?
        {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)),
            None => None,
        }
    });
    let Some((taxon, term, source, micro, unit)) = row else {
        return Ok(None);
    };
    let corrupt = |what: &str| Error::Corrupt(format!("{what} of specimen {key}"));
    let taxon = TaxonId::parse(&taxon.to_string()).map_err(|_| corrupt("taxon"))?;
    let term = TermCode::parse(&term).map_err(|_| corrupt("term"))?;
    let source = SourceCode::parse(&source).map_err(|_| corrupt("source"))?;
    let unit = UnitCode::parse(&unit).map_err(|_| corrupt("unit"))?;
    let quantity =
        Quantity::new(domain::from_micro(micro), unit).map_err(|_| corrupt("quantity"))?;
    Ok(Some(Desc {
        taxon,
        term,
        source,
        quantity,
    }))
}
