//! The `cites` binary.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    sync::client::install_tls_provider();
    let cli = cites::cli::Cli::parse();
    // A command whose output is piped into `head` must end quietly when the reader goes, as
    // other Unix tools do, not panic on the closed pipe. Not the service: a client that hangs
    // up must never end it.
    if !matches!(cli.command, cites::cli::Command::Serve(_)) {
        sigpipe::reset();
    }
    match cites::cli::run(cli).await {
        Ok(cites::cli::Ending::Done) => std::process::ExitCode::SUCCESS,
        // The refusal is printed already: it is an answer, not an error.
        Ok(cites::cli::Ending::Refused) => std::process::ExitCode::from(cites::cli::EXIT_REFUSED),
        Err(e) => {
            // The whole chain, one cause per line: each names what failed.
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
