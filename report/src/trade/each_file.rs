//! Reading the files of a scan two at a time. polars' CSV source finds the rows of a file on one
//! thread, byte by byte (its vectorised line counter needs a nightly compiler): on a 2-core
//! machine that one thread bounds a file's scan, and a second file read at the same time keeps
//! the other core busy. Results are handed on in the files' order, each as soon as the files
//! before it are done, so a scan keeps no more than a few files' results at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use super::ScanProgress;

/// Files read at once.
pub const FILES_AT_ONCE: usize = 2;

/// Reads every file with `read` (which answers its result and the file's size), `FILES_AT_ONCE`
/// at a time, and hands each result to `sink` in the files' order, telling `progress` as each
/// file is read. The first file (in order) that cannot be read is the error; no file is
/// started after a failure.
pub(super) fn each_file<T: Send>(
    files: &[PathBuf],
    progress: &dyn ScanProgress,
    read: impl Fn(&Path) -> crate::Result<(T, u64)> + Sync,
    mut sink: impl FnMut(T),
) -> crate::Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..FILES_AT_ONCE.min(files.len()) {
            let tx = tx.clone();
            let (next, failed, read) = (&next, &failed, &read);
            s.spawn(move || {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let result = read(file);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut due = 0;
        let mut first_error: Option<(usize, crate::Error)> = None;
        for (i, result) in rx {
            match result {
                Ok((value, bytes)) => {
                    progress.file_read(&files[i], bytes);
                    pending.insert(i, value);
                }
                Err(e) => {
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
            }
            // A file that failed is never pending: nothing after it is handed on.
            while let Some(value) = pending.remove(&due) {
                sink(value);
                due += 1;
            }
        }
        match first_error {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Seen(RefCell<Vec<PathBuf>>);
    impl ScanProgress for Seen {
        fn file_read(&self, file: &Path, _bytes: u64) {
            self.0.borrow_mut().push(file.to_path_buf());
        }
    }

    fn files(n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| PathBuf::from(format!("f{i}"))).collect()
    }

    #[test]
    fn results_come_in_the_files_order_whatever_order_they_finish_in() {
        let files = files(9);
        let seen = Seen(RefCell::new(Vec::new()));
        let mut out = Vec::new();
        each_file(
            &files,
            &seen,
            |f| {
                let i: u64 = f.to_str().unwrap()[1..].parse().unwrap();
                // The even files take longer than the odd ones after them.
                if i.is_multiple_of(2) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Ok((i, i * 10))
            },
            |v| out.push(v),
        )
        .unwrap();
        assert_eq!(out, (0..9).collect::<Vec<u64>>());
        let mut told = seen.0.into_inner();
        told.sort();
        assert_eq!(told, files);
    }

    #[test]
    fn the_first_file_that_fails_is_the_error_and_nothing_after_it_is_handed_on() {
        let files = files(6);
        let mut out = Vec::new();
        let err = each_file(
            &files,
            &super::super::NoProgress,
            |f| {
                let i: u64 = f.to_str().unwrap()[1..].parse().unwrap();
                if i == 2 || i == 3 {
                    Err(crate::Error::TradeFile {
                        file: f.to_path_buf(),
                        message: "unreadable".to_owned(),
                    })
                } else {
                    Ok((i, 0))
                }
            },
            |v| out.push(v),
        )
        .unwrap_err();
        match err {
            crate::Error::TradeFile { file, .. } => assert_eq!(file, PathBuf::from("f2")),
            other => panic!("{other}"),
        }
        assert_eq!(out, [0, 1]);
    }
}
