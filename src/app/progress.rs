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
