//! `cites trace origin|forward --format json|dot|svg|epcis [-o FILE]`: an answer in the format
//! asked (the reading of formats and the rendering are `app::trace_output`'s), printed or
//! written to a file whole (a temporary file renamed into place, so a failure leaves no half
//! file).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use domain::Timestamp;
use serde::Serialize;
use trace::View;

use crate::app::trace_output::{OutputFormat, render};

/// The format of an answer and where it goes.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// json (the node-link graph), dot (GraphViz), svg (a picture to open in a browser) or
    /// epcis (an EPCIS 2.0 JSON-LD document); without it, the officer's table.
    #[arg(long, conflicts_with = "json")]
    pub format: Option<String>,
    /// Write the answer to FILE rather than to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Prints or writes `answer` as asked: the format named by `--format` (JSON with `--json`),
/// the officer's `table` otherwise.
#[allow(clippy::print_stdout)]
pub fn emit(
    answer: &impl Serialize,
    view: &View<'_>,
    args: &OutputArgs,
    json: bool,
    now: Timestamp,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    let format = match &args.format {
        Some(name) => Some(OutputFormat::parse(name).map_err(|e| anyhow::anyhow!("--{e}"))?),
        None if json => Some(OutputFormat::Json),
        None => None,
    };
    let mut text = match format {
        Some(f) => render(answer, view, f, now)
            .with_context(|| format!("the answer cannot be given as {}", f.name()))?,
        None => table(),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match &args.output {
        Some(path) => write_whole(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes `bytes` to `path` whole or not at all.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
