//! Architecture checks: what each crate may depend on, the layers of the application and
//! which way they import, and file headers.

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
        // `name = ...`, `name.workspace = true` or `name = { ... }`: the name alone.
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.split('.').next().unwrap_or(name);
            deps.push(name.trim().to_owned());
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

/// The workspace's own crates, which a crate's dependency rules are about.
const WORKSPACE_CRATES: [&str; 8] = [
    "domain",
    "db",
    "sync",
    "quota",
    "rules",
    "trace",
    "report",
    "speciesplus-fake",
];

#[test]
fn rules_depends_on_domain_alone_and_quota_on_neither_sync_nor_rules() {
    let ours = |manifest: &str| -> Vec<String> {
        dependencies(&repo_path(manifest))
            .into_iter()
            .filter(|d| WORKSPACE_CRATES.contains(&d.as_str()) || d == "cites")
            .collect()
    };
    assert_eq!(
        ours("rules/Cargo.toml"),
        ["domain"],
        "rules depends on more than domain"
    );
    let quota = ours("quota/Cargo.toml");
    for edge in ["sync", "rules", "cites", "speciesplus-fake"] {
        assert!(!quota.iter().any(|d| d == edge), "quota depends on {edge}");
    }
}

/// The layers of the application (`src/`) and, for each, the layers it may not name: `http`
/// and `cli` are two interfaces over `app` and never over each other; `app` knows neither.
const LAYERS: [(&str, &[&str]); 3] = [
    ("src/app", &["cli", "http"]),
    ("src/http", &["cli"]),
    ("src/cli", &["http"]),
];

/// A Rust text without its comments (`//` to the end of a line).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules of the application a Rust text names through `crate::` (`crate::x`
/// and each path of `crate::{x, y::z}`), comments left out.
fn crate_modules_named(text: &str) -> Vec<String> {
    let code: String = code_of(text).split_whitespace().collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Paths of a group start after `{` or a comma at the group's own depth.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    _ if start => {
                        named.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            named.push(ident(rest));
        }
    }
    named
}

#[test]
fn the_application_layers_import_one_way_app_under_http_and_cli_which_never_meet() {
    for (layer, forbidden) in LAYERS {
        let mut files = Vec::new();
        rust_files(&repo_path(layer), &mut files);
        assert!(files.len() >= 3, "{layer}: too few files found");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for named in crate_modules_named(&text) {
                assert!(
                    !forbidden.contains(&named.as_str()),
                    "{} imports crate::{named}: {layer} may not name {forbidden:?}",
                    f.display()
                );
            }
            // The application layer serves both interfaces: no web framework, no flags.
            if layer == "src/app" {
                for framework in ["axum::", "clap::"] {
                    assert!(
                        !code_of(&text).contains(framework),
                        "{} uses {framework}: the application layer knows no interface",
                        f.display()
                    );
                }
            }
        }
    }
}

#[test]
fn crate_paths_are_read_in_groups_and_comments_are_left_out() {
    let text = "use crate::app::quota;\nuse crate::{\n    cli::Ending,\n    http::{self, ApiError},\n};\n// crate::server\nlet x = crate::http::ROUTES; // crate::keys\n";
    assert_eq!(crate_modules_named(text), ["app", "cli", "http", "http"]);
}

#[test]
fn trace_depends_on_domain_and_db_only_among_our_crates() {
    let trace = dependencies(&repo_path("trace/Cargo.toml"));
    for edge in ["quota", "sync", "rules", "cites", "axum", "clap"] {
        assert!(!trace.iter().any(|d| d == edge), "trace depends on {edge}");
    }
}
