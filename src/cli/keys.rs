//! `cites keys`: API keys of the HTTP service created, listed and revoked.

use std::sync::Arc;

use db::Db;
use domain::Clock;

use crate::app::keys::{self, Role};
use crate::cli::KeysCommand;

#[allow(clippy::print_stdout)]
pub(crate) async fn keys_command(
    db: Db,
    clock: Arc<dyn Clock>,
    command: KeysCommand,
) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { role, name } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let (key, info) = keys::create(&db, &name, role, clock.now()).await?;
            println!(
                "created key {:?} (role {}, prefix {})",
                info.name, info.role, info.key_prefix
            );
            println!("{key}");
            println!("store it now: it is not kept and cannot be shown again");
        }
        KeysCommand::List { json } => {
            let list = keys::list(&db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for k in list {
                    println!(
                        "{:<30} {:<21} cites_{}_…  created {}{}",
                        k.name,
                        k.role,
                        k.key_prefix,
                        k.created_at.format("%Y-%m-%d"),
                        k.revoked_at
                            .map(|r| format!("  revoked {}", r.format("%Y-%m-%d")))
                            .unwrap_or_default()
                    );
                }
            }
        }
        KeysCommand::Revoke { name } => {
            keys::revoke(&db, &name, clock.now()).await?;
            println!("revoked key {name:?}");
        }
    }
    Ok(())
}
