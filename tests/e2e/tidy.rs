//! Architecture checks: what each crate may depend on, and file headers.

use std::path::Path;

use crate::support::repo_path;

fn dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            // `domain.workspace = true` names `domain`.
            let name = name.trim();
            deps.push(name.strip_suffix(".workspace").unwrap_or(name).to_owned());
        }
    }
    deps
}

#[test]
fn domain_is_pure_and_sync_knows_nothing_of_serving_or_the_cli() {
    let domain = dependencies(&repo_path("domain/Cargo.toml"));
    for io in ["sqlx", "reqwest", "tokio", "axum", "db", "sync"] {
        assert!(!domain.iter().any(|d| d == io), "domain depends on {io}");
    }
    let sync = dependencies(&repo_path("sync/Cargo.toml"));
    for edge in [
        "axum",
        "clap",
        "tokio-cron-scheduler",
        "cites",
        "speciesplus-fake",
    ] {
        assert!(!sync.iter().any(|d| d == edge), "sync depends on {edge}");
    }
    let db = dependencies(&repo_path("db/Cargo.toml"));
    assert!(
        !db.iter().any(|d| d == "domain" || d == "sync"),
        "db knows CITES"
    );
    let app = dependencies(&repo_path("Cargo.toml"));
    assert!(
        !app.iter().any(|d| d == "speciesplus-fake"),
        "the fake is linked into cites"
    );
}

#[test]
fn report_computes_from_rows_handed_in_and_reads_no_storage() {
    let report = dependencies(&repo_path("report/Cargo.toml"));
    assert!(
        report.iter().any(|d| d == "domain"),
        "report is over domain"
    );
    for edge in ["db", "sqlx", "quota", "sync", "rules", "cites"] {
        assert!(
            !report.iter().any(|d| d == edge),
            "report depends on {edge}"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "fixtures" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_comment_and_nothing_is_ignored_or_stubbed() {
    let mut files = Vec::new();
    rust_files(&repo_path("."), &mut files);
    assert!(files.len() > 30);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.trim_start().starts_with("//!"),
            "{} lacks a //! header",
            f.display()
        );
        for bad in FORBIDDEN {
            assert!(!text.contains(bad), "{} contains {bad}", f.display());
        }
    }
}

/// What no Rust file of the repository may contain: an ignored test or a stub.
const FORBIDDEN: [&str; 3] = [
    concat!("#[", "ignore]"),
    concat!("todo", "!("),
    concat!("unimplemented", "!("),
];
