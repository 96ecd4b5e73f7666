//! The `cites` binary.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc, not the system's malloc: glibc's heap fragments under the register's ingest, and
/// every allocation after it is slower (ingest and the trace queries; ARCHITECTURE.md). The
/// benches declare the same allocator, so that they measure what this binary runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal, and never with NO_COLOR set (no-color.org): a log file or
        // a journal gets plain text.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .init();
    sync::client::install_tls_provider();
    let cli = cites::cli::Cli::parse();
    end_quietly_when_the_reader_goes();
    // The command line reads `cites serve`'s options; the HTTP layer runs the service.
    let serve: cites::cli::Serve =
        |db, clock, settings| Box::pin(cites::http::serve::serve(db, clock, settings));
    match cites::cli::run(cli, serve).await {
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

/// Exit status of a command ended because its output's reader went away: what a shell shows for
/// a process ended by SIGPIPE (128 + 13).
const EXIT_READER_GONE: i32 = 141;

/// A command whose output is piped into `head` must end quietly when the reader goes, as other
/// Unix tools do, rather than print a panic. Rust ignores SIGPIPE, so `println!` then panics
/// with "Broken pipe"; that panic, and only that one, ends the process at once and silently.
/// (Restoring SIGPIPE's default instead would let a database or Species+ connection closed by
/// its peer kill the process.)
fn end_quietly_when_the_reader_goes() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = (info.payload().downcast_ref::<String>().map(String::as_str))
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // EPIPE, whatever the platform's wording.
        if message.starts_with("failed printing to stdout") && message.contains("os error 32") {
            std::process::exit(EXIT_READER_GONE);
        }
        default_hook(info);
    }));
}
