//! `cites check`: one permit application from a JSON file or from options, checked on the
//! catalogue and the ledger of the database, the decision printed (text or `--json`). The
//! options are `cli::CheckArgs`; the checking is `app::permit_check::Checker`'s.

use std::sync::Arc;

use db::Db;
use domain::Clock;
use serde_json::json;
use sync::Catalogue;

use crate::cli::CheckArgs;

/// Whether the application's `field` came from an option of `cites check` rather than from
/// `--input`'s file.
fn option_given(args: &CheckArgs, field: &str) -> bool {
    match field {
        "transaction" => args.transaction.is_some(),
        "taxon" => args.taxon.is_some(),
        "taxon_id" => args.taxon_id.is_some(),
        "exporter" => args.exporter.is_some(),
        "importer" => args.importer.is_some(),
        "origin" => args.origin.is_some(),
        "source" => args.source.is_some(),
        "purpose" => args.purpose.is_some(),
        "term" => args.term.is_some(),
        "quantity" => args.quantity.is_some(),
        "unit" => args.unit.is_some(),
        "date_issue" => args.date_issue.is_some(),
        "date_trade" => args.date_trade.is_some(),
        "client_key" => args.client_key.is_some(),
        _ => false,
    }
}

/// The application from `--input` and the flags (a flag replaces the file's field).
fn check_input(
    args: &CheckArgs,
    today: chrono::NaiveDate,
) -> anyhow::Result<rules::ApplicationInput> {
    let mut input: rules::ApplicationInput = match &args.input {
        None => rules::ApplicationInput::default(),
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("input {}: {e}", path.display()))?
            };
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("input {}: {e}", path.display()))?;
            // serde would read an array as the application's fields in order.
            if !value.is_object() {
                anyhow::bail!(
                    "input {}: the application must be one JSON object of its fields, not {}",
                    path.display(),
                    match value {
                        serde_json::Value::Array(_) => "an array",
                        serde_json::Value::String(_) => "a string",
                        serde_json::Value::Number(_) => "a number",
                        serde_json::Value::Bool(_) => "a boolean",
                        _ => "null",
                    }
                );
            }
            serde_json::from_value(value)
                .map_err(|e| anyhow::anyhow!("input {}: {e}", path.display()))?
        }
    };
    let set = |slot: &mut Option<String>, flag: &Option<String>| {
        if flag.is_some() {
            slot.clone_from(flag);
        }
    };
    set(&mut input.transaction, &args.transaction);
    if args.taxon.is_some() {
        input.taxon_id = None;
    }
    set(&mut input.taxon, &args.taxon);
    set(&mut input.exporter, &args.exporter);
    set(&mut input.importer, &args.importer);
    set(&mut input.origin, &args.origin);
    set(&mut input.source, &args.source);
    set(&mut input.purpose, &args.purpose);
    set(&mut input.term, &args.term);
    set(&mut input.unit, &args.unit);
    set(&mut input.date_issue, &args.date_issue);
    set(&mut input.date_trade, &args.date_trade);
    set(&mut input.client_key, &args.client_key);
    if let Some(id) = args.taxon_id {
        input.taxon_id = Some(json!(id));
        input.taxon = None;
    }
    if let Some(q) = &args.quantity {
        input.quantity = Some(json!(q));
    }
    if args.reserve {
        input.reserve = true;
    }
    if input.date_issue.is_none() {
        input.date_issue = Some(today.to_string());
    }
    if input.date_trade.is_none() {
        input.date_trade.clone_from(&input.date_issue);
    }
    Ok(input)
}

#[allow(clippy::print_stdout)]
pub async fn run(db: Db, clock: Arc<dyn Clock>, args: CheckArgs) -> anyhow::Result<()> {
    let input = check_input(&args, clock.today())?;
    crate::app::sample::load_if_empty(&db, clock.clone()).await?;
    let ledger = quota::Ledger::new(db.clone(), clock.clone());
    let checker = crate::app::permit_check::Checker {
        catalogue: Catalogue::new(db.clone()),
        ledger,
        reserver: None,
        clock,
        settings: Arc::new(crate::app::settings::check_settings(
            args.check_config.as_deref(),
        )?),
        // The command line checks on whatever catalogue the database holds.
        mirrors_speciesplus: false,
        db,
    };
    let actor = quota::Actor {
        name: args.actor.clone(),
        reason: None,
    };
    // The command line's keys are unscoped, as `Who::key` explains.
    let answer = match checker.check(input, &actor, None).await {
        Ok(answer) => answer,
        Err(e) => {
            // A field the command line filled from an option is named as that option.
            let option = e.field().filter(|f| option_given(&args, f));
            match option {
                Some(field) => {
                    let message = e.to_string();
                    let message = message
                        .strip_prefix(&format!("{field}: "))
                        .unwrap_or(&message)
                        .to_owned();
                    anyhow::bail!("invalid --{}: {message}", field.replace('_', "-"))
                }
                None => return Err(e.into()),
            }
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    println!(
        "{} — {} ({}), check {}",
        text(&answer["decision"]),
        text(&answer["taxon"]["name"]),
        answer["taxon"]["id"],
        answer["check_id"]
    );
    for r in answer["reasons"].as_array().into_iter().flatten() {
        println!(
            "  {} [{}] {} ({})",
            text(&r["code"]),
            text(&r["pushes_toward"]),
            text(&r["message"]),
            text(&r["legal_reference"])
        );
    }
    // Every quota the permit counts against (nested quotas: the species's and the genus's).
    let counted = answer["quotas_counted"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for b in &counted {
        println!(
            "  box 11a: {} of {} {} used, {} after this permit (quota {})",
            text(&b["already_used"]),
            text(&b["quota"]),
            text(&b["unit"]),
            text(&b["total_after"]),
            b["quota_id"]
        );
    }
    if !answer["risk"].is_null() {
        println!(
            "  risk: {} ({})",
            answer["risk"]["score"],
            text(&answer["risk"]["level"])
        );
    }
    match answer["reservation"]["outcome"].as_str() {
        Some("done") => println!(
            "  reserved: reservation {}",
            answer["reservation"]["reservation"]["id"]
        ),
        Some(_) => println!(
            "  not reserved: {}",
            text(&answer["reservation"]["refusal"]["code"])
        ),
        None => {}
    }
    Ok(())
}
