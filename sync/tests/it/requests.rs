//! What the client puts on the wire: parameters, the token header, pacing and retries.

use std::time::{Duration, Instant};

use speciesplus_fake::{Catalogue, Faults};
use sync::Client;

use crate::support::*;

#[tokio::test]
async fn every_list_request_carries_page_and_per_page_and_every_request_carries_the_token()
-> anyhow::Result<()> {
    let catalogue = Catalogue::generate(120, 2);
    let fake = start_fake(catalogue.clone(), |c| c).await;
    let client = client(&fake);

    let mut page = 1;
    let mut ids = Vec::new();
    loop {
        let (parsed, info, _) = client.taxon_concepts_page(page, None).await?;
        ids.extend(parsed.taxon_concepts.iter().map(|t| t.id));
        assert_eq!(info.total, Some(catalogue.len() as u64));
        if !info.has_next {
            break;
        }
        page += 1;
    }
    assert_eq!(ids.len(), catalogue.len());
    client
        .taxon_concepts_page(1, Some("2023-12-24T00:00:00"))
        .await?;
    for id in ids.iter().take(3) {
        client.cites_legislation(*id).await?;
        client.distributions(*id).await?;
    }

    let requests = fake.requests();
    assert_eq!(requests.len(), page as usize + 1 + 6);
    assert!(requests.iter().all(|r| r.has_token && r.status == 200));
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/taxon_concepts"))
        .collect();
    assert_eq!(lists.len(), page as usize + 1);
    for (i, r) in lists.iter().enumerate() {
        let expected_page = if i < page as usize { i + 1 } else { 1 };
        assert_eq!(query_param(r, "page"), Some(expected_page.to_string()));
        assert_eq!(query_param(r, "per_page").as_deref(), Some("50"));
    }
    assert_eq!(
        query_param(lists[page as usize], "updated_since").as_deref(),
        Some("2023-12-24T00:00:00")
    );
    let legislation: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/cites_legislation"))
        .collect();
    assert_eq!(legislation.len(), 3);
    assert!(
        legislation
            .iter()
            .all(|r| query_param(r, "scope").as_deref() == Some("all"))
    );
    Ok(())
}

#[tokio::test]
async fn pacing_spaces_the_starts_of_requests() -> anyhow::Result<()> {
    let fake = start_fake(Catalogue::generate(20, 1), |c| c).await;
    let mut config = client_config(&fake, TOKEN);
    config.pace = Duration::from_millis(50);
    let client = Client::new(config)?;

    let started = Instant::now();
    for page in 1..=4 {
        client.taxon_concepts_page(page, None).await?;
    }

    // Four starts, at least 50 ms apart: the last one at least 150 ms after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests().len(), 4);
    Ok(())
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_it_names() -> anyhow::Result<()> {
    let fake = start_fake(Catalogue::generate(20, 1), |c| {
        c.with_faults(Faults {
            fail_paths: vec![("/taxon_concepts".into(), 429, 1)],
            retry_after_secs: 1,
            ..Faults::default()
        })
    })
    .await;
    let client = client(&fake);

    let started = Instant::now();
    client.taxon_concepts_page(1, None).await?;

    // The backoff alone would be at most 50 ms.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
    assert_eq!(client.stats().retries, 1);
    Ok(())
}

#[tokio::test]
async fn a_request_failing_every_attempt_reports_its_url_and_the_last_answer() -> anyhow::Result<()>
{
    let fake = start_fake(Catalogue::generate(20, 1), |c| {
        c.with_faults(Faults {
            fail_paths: vec![("/distributions".into(), 502, 10)],
            ..Faults::default()
        })
    })
    .await;
    let mut config = client_config(&fake, TOKEN);
    config.attempts_max = 3;
    let client = Client::new(config)?;

    let err = client
        .distributions(1)
        .await
        .expect_err("three 502s in a row");

    assert!(
        matches!(&err, sync::Error::RetriesExhausted { attempts: 3, url, last }
            if url.ends_with("/taxon_concepts/1/distributions") && last.contains("502")),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 3);
    Ok(())
}

#[test]
fn the_token_never_shows_in_the_debug_output_of_the_configuration() -> anyhow::Result<()> {
    let config = sync::ClientConfig::new(
        "https://api.speciesplus.net/api/v1",
        sync::Token::new(TOKEN)?,
    )?;
    let shown = format!("{config:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("***"));
    assert_eq!(
        config.base_url.as_str(),
        "https://api.speciesplus.net/api/v1/"
    );
    Ok(())
}
