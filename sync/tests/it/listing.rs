//! Listings and amendments read back through the catalogue API after a sync: the CoP19 cases
//! and the elephant's split listing, quotas included.

use db::Backend;
use domain::{Appendix, CountryCode};
use serde::Deserialize;
use speciesplus_fake::Catalogue;
use sync::listing::Status;
use sync::store;

use crate::support::*;

#[derive(Debug, Deserialize)]
struct Expected {
    taxon_id: i64,
    name: String,
    date: String,
    country: Option<String>,
    appendix: Option<String>,
    reservations: Vec<String>,
    deciding_listing_ids: Vec<i64>,
}

fn status_of(appendix: Option<&str>) -> Status {
    match appendix {
        None => Status::NotListed,
        Some(a) => Status::Listed {
            appendix: Appendix::parse(a).expect("a valid appendix"),
        },
    }
}

on_both_backends!(
    multi_thread every_cop19_case_reads_back_as_expected_after_loading_the_sample_dump -> anyhow::Result<()>
);
async fn every_cop19_case_reads_back_as_expected_after_loading_the_sample_dump(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        load_dump(db, &sample()).await?;
        let catalogue = sync::Catalogue::new(db.clone());
        let expected: Vec<Expected> = serde_json::from_str(&std::fs::read_to_string(
            fixtures().join("cop19/expected.json"),
        )?)?;
        assert!(expected.len() >= 30);

        for e in &expected {
            let country = e.country.as_deref().map(CountryCode::parse).transpose()?;
            let got = catalogue
                .listing(&e.taxon_id.to_string(), date(&e.date), country)
                .await?;
            let case = format!(
                "{} ({}) on {} for {:?}",
                e.name, e.taxon_id, e.date, e.country
            );
            assert_eq!(got.taxon.full_name, e.name, "{case}");
            assert_eq!(
                got.listing.status,
                status_of(e.appendix.as_deref()),
                "{case}"
            );
            let mut deciding: Vec<i64> =
                got.listing.deciding.iter().map(|f| f.listing_id).collect();
            deciding.sort_unstable();
            assert_eq!(deciding, e.deciding_listing_ids, "{case}: deciding rows");
            let reservations: Vec<&str> = got
                .listing
                .reservations
                .iter()
                .map(|r| r.party.as_str())
                .collect();
            assert_eq!(reservations, e.reservations, "{case}: reservations");
        }

        // By name: the family listing reaches the dusky shark only on 2023-11-25.
        let on = catalogue
            .listing("Carcharhinus obscurus", date("2023-11-25"), None)
            .await?;
        assert_eq!(on.taxon.id, 900002);
        assert_eq!(
            on.listing.status,
            Status::Listed {
                appendix: Appendix::II
            }
        );
        assert_eq!(
            on.inherited_from.as_deref(),
            Some("FAMILY listing Carcharhinidae spp.")
        );
        let before = catalogue
            .listing("Carcharhinus obscurus", date("2023-11-24"), None)
            .await?;
        assert_eq!(before.listing.status, Status::NotListed);

        // A synonym resolves to its accepted name.
        let via = catalogue.resolve("Carcharias obscurus").await?;
        assert_eq!(via.taxon.id, 900002);
        assert_eq!(via.via_synonym.map(|s| s.id), Some(900004));
        let via_id = catalogue
            .listing("900004", date("2023-11-25"), None)
            .await?;
        assert_eq!(via_id.taxon.id, 900002);
        assert_eq!(
            via_id.listing.status,
            Status::Listed {
                appendix: Appendix::II
            }
        );

        // The delayed CoP19 amendments of 2023-11-25.
        let amendments = catalogue
            .amendments(date("2023-11-25"), date("2023-11-25"))
            .await?;
        let family = amendments
            .iter()
            .find(|a| a.taxon_id == 900001)
            .expect("Carcharhinidae is amended on 2023-11-25");
        assert_eq!(family.full_name, "Carcharhinidae");
        assert_eq!(
            (family.before.as_str(), family.after.as_str()),
            ("not listed", "II")
        );
        let bulbul = amendments
            .iter()
            .find(|a| a.taxon_id == 900010)
            .expect("the bulbul is amended on 2023-11-25");
        assert_eq!((bulbul.before.as_str(), bulbul.after.as_str()), ("II", "I"));
        assert!(
            bulbul
                .changes
                .iter()
                .any(|c| c.listing_id == 910011 && c.appendix == "I")
        );
        assert!(
            amendments
                .iter()
                .all(|a| a.effective_at == date("2023-11-25"))
        );
        assert!(
            catalogue
                .amendments(date("2023-11-26"), date("2023-11-25"))
                .await
                .is_err(),
            "a reversed range is refused"
        );
        Ok(())
    })
    .await
}

/// The elephant (4521) and its higher taxa from the sample, as a catalogue of its own.
fn elephant_catalogue() -> anyhow::Result<Catalogue> {
    let text = std::fs::read_to_string(fixtures().join("sample/catalogue.ndjson"))?;
    let elephant: serde_json::Value = text
        .lines()
        .map(serde_json::from_str::<serde_json::Value>)
        .find(|l| l.as_ref().is_ok_and(|l| l["id"] == 4521))
        .ok_or_else(|| anyhow::anyhow!("no elephant in the sample"))??;
    let higher: Vec<&str> = elephant["higher_taxa"]
        .as_object()
        .map(|h| h.values().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| {
                v["id"] == 4521
                    || (v["rank"] != "SPECIES"
                        && v["full_name"].as_str().is_some_and(|n| higher.contains(&n)))
            })
        })
        .collect();
    Catalogue::from_ndjson(&kept.join("\n")).map_err(anyhow::Error::msg)
}

on_both_backends!(
    multi_thread the_elephant_synced_from_the_api_is_in_appendix_ii_in_namibia_and_i_in_kenya_with_its_quotas -> anyhow::Result<()>
);
async fn the_elephant_synced_from_the_api_is_in_appendix_ii_in_namibia_and_i_in_kenya_with_its_quotas(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let fake = start_fake(elephant_catalogue()?, |c| c).await;
        let report = full_sync(db, &fake, &clock()).await?;
        assert!(report.taxa_added >= 2, "the elephant and its higher taxa");
        let catalogue = sync::Catalogue::new(db.clone());
        let on = date("2022-11-27");

        let namibia = catalogue
            .listing("4521", on, Some(CountryCode::parse("NA")?))
            .await?;
        assert_eq!(namibia.taxon.full_name, "Loxodonta africana");
        assert_eq!(
            namibia.listing.status,
            Status::Listed {
                appendix: Appendix::II
            }
        );
        assert!(!namibia.listing.needs_review);
        let kenya = catalogue
            .listing("Loxodonta africana", on, Some(CountryCode::parse("KE")?))
            .await?;
        assert_eq!(
            kenya.listing.status,
            Status::Listed {
                appendix: Appendix::I
            }
        );
        let anywhere = catalogue.listing("4521", on, None).await?;
        assert_eq!(
            anywhere.listing.status,
            Status::DependsOnPopulation {
                appendices: vec![Appendix::I, Appendix::II]
            }
        );

        let quotas = store::quotas_of(db, 4521).await?;
        assert_eq!(quotas.len(), 713);
        let in_preparation = quotas
            .iter()
            .find(|q| q.id == 6681)
            .expect("quota 6681 (Mozambique 2009, null value)");
        assert_eq!(in_preparation.quota, None);
        assert_eq!(in_preparation.country, "MZ");
        assert!(quotas.iter().any(|q| q.quota.is_some()));
        assert!(!store::suspensions_of(db, 4521).await?.is_empty());

        // The current quotas of the whole catalogue, by id: the elephant's current ones among
        // them, none of its past ones.
        let current = store::current_quotas(db).await?;
        assert!(current.iter().all(|q| q.is_current));
        assert!(current.windows(2).all(|w| w[0].id < w[1].id));
        let current_ids: std::collections::HashSet<i64> = current.iter().map(|q| q.id).collect();
        let (now, past): (Vec<_>, Vec<_>) = quotas.iter().partition(|q| q.is_current);
        assert!(!now.is_empty() && !past.is_empty());
        assert!(now.iter().all(|q| current_ids.contains(&q.id)));
        assert!(past.iter().all(|q| !current_ids.contains(&q.id)));

        // A country's quotas, current or not, and every country's.
        let mozambique = store::quotas_of_country(db, Some("MZ")).await?;
        let expected = quotas.iter().filter(|q| q.country == "MZ").count();
        assert!(expected > 0);
        assert_eq!(mozambique.len(), expected);
        assert!(mozambique.iter().any(|q| q.id == 6681));
        assert!(mozambique.iter().all(|q| q.country == "MZ"));
        assert_eq!(
            store::quotas_of_country(db, None).await?.len(),
            quotas.len()
        );
        assert!(store::quotas_of_country(db, Some("QQ")).await?.is_empty());
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread a_permit_check_sees_a_subspecies_under_its_species_and_its_listing_on_both_dates -> anyhow::Result<()>
);
async fn a_permit_check_sees_a_subspecies_under_its_species_and_its_listing_on_both_dates(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let text = std::fs::read_to_string(fixtures().join("sample/catalogue.ndjson"))?;
        let species = r#"{"id":900019,"full_name":"Ceratotherium simum","author_year":null,"rank":"SPECIES","name_status":"A","updated_at":"2023-01-01T00:00:00.000Z","active":true,"cites_listing":"I/II","higher_taxa":{"kingdom":"Animalia","phylum":"Chordata","class":"Mammalia","order":"Perissodactyla","family":"Rhinocerotidae"},"synonyms":[],"common_names":[],"cites_listings":[],"cites_quotas":[],"cites_suspensions":[],"distributions":[],"references":[],"eu_listings":[],"eu_decisions":[]}"#;
        let catalogue = Catalogue::from_ndjson(&format!("{text}\n{species}"))
            .map_err(anyhow::Error::msg)?;
        load_dump(db, &catalogue).await?;
        let facts = sync::Catalogue::new(db.clone())
            .check_facts(
                "Ceratotherium simum simum",
                date("2023-02-22"),
                date("2023-02-23"),
                Some(CountryCode::parse("NA")?),
                date("2026-11-27"),
            )
            .await?;
        assert_eq!(facts.resolved.taxon.id, 900020);
        assert_eq!(
            facts.ancestors.first().map(|a| a.full_name.as_str()),
            Some("Ceratotherium simum"),
            "the species comes first among the ancestors"
        );
        assert_eq!(
            facts.at_issue.status,
            Status::Listed {
                appendix: Appendix::I
            }
        );
        assert_eq!(
            facts.at_trade.status,
            Status::Listed {
                appendix: Appendix::II
            },
            "Namibia's population moved to Appendix II on 2023-02-23"
        );
        assert_eq!(facts.first_listed, Some(date("2005-01-12")));
        assert_eq!(facts.last_amendment, Some(date("2023-02-23")));
        assert!(facts.distribution.contains(&"NA".to_owned()));
        Ok(())
    })
    .await
}
