//! Progress of long work: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Log a line every this many items when not on a terminal.
const LOG_EVERY_ITEMS: u64 = 500;

/// Shows sync progress the way the output allows.
pub struct ConsoleProgress {
    bar: Option<ProgressBar>,
    phase: Mutex<String>,
    done: AtomicU64,
    total: AtomicU64,
}

impl ConsoleProgress {
    pub fn new() -> ConsoleProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg:>24} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        ConsoleProgress {
            bar,
            phase: Mutex::new(String::new()),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for ConsoleProgress {
    fn default() -> Self {
        ConsoleProgress::new()
    }
}

impl sync::Progress for ConsoleProgress {
    fn phase(&self, name: &str, total: Option<u64>) {
        if let Ok(mut p) = self.phase.lock() {
            *p = name.to_owned();
        }
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total.unwrap_or(0), Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.set_message(name.to_owned());
                bar.set_length(total.unwrap_or(0));
                bar.set_position(0);
            }
            None => tracing::info!(phase = name, total, "sync progress"),
        }
    }

    fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(bar) => {
                if bar.length() == Some(0) {
                    bar.set_length(done);
                }
                bar.inc(n);
            }
            None => {
                if done / LOG_EVERY_ITEMS != (done - n) / LOG_EVERY_ITEMS {
                    let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
                    let total = self.total.load(Ordering::Relaxed);
                    tracing::info!(phase, done, total, "sync progress");
                }
            }
        }
    }
}

/// A Trade Database scan's progress: a bar of files and bytes read, drawn on stderr when stdout
/// is a terminal (someone is watching the tables come); nothing otherwise, so piped output and
/// files written stay clean.
pub struct TradeScanProgress {
    bar: Option<ProgressBar>,
    files: AtomicU64,
    read: AtomicU64,
}

impl TradeScanProgress {
    pub fn new() -> TradeScanProgress {
        TradeScanProgress::shown(std::io::stdout().is_terminal())
    }

    /// A bar when `shown` (hidden from the terminal when stderr is not one).
    pub fn shown(shown: bool) -> TradeScanProgress {
        let bar = shown.then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg:>16} [{bar:40}] {bytes}/{total_bytes} ({elapsed}, eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        TradeScanProgress {
            bar,
            files: AtomicU64::new(0),
            read: AtomicU64::new(0),
        }
    }

    /// Whether a bar is drawn.
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for TradeScanProgress {
    fn default() -> Self {
        TradeScanProgress::new()
    }
}

impl report::trade::ScanProgress for TradeScanProgress {
    /// Each pass over the files (the names, then the sums) starts the bar again.
    fn start(&self, files: usize, bytes: u64) {
        self.files.store(files as u64, Ordering::Relaxed);
        self.read.store(0, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_position(0);
            bar.reset_eta();
            bar.set_length(bytes);
            bar.set_message(format!("0/{files} files"));
        }
    }

    fn file_read(&self, _file: &std::path::Path, bytes: u64) {
        let read = self.read.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.set_message(format!(
                "{read}/{} files",
                self.files.load(Ordering::Relaxed)
            ));
        }
    }
}
