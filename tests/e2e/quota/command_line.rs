//! `cites quota` on the command line: periods, the test-only clock, exit codes, what each
//! operation prints, JSON output, restrictions and list filters, a reader that stops early.

use db::Backend;
use serde_json::{Value, json};

use super::{quota, set_quota};
use crate::support::{
    NOW, TEST_ONLY_NOW_ENV, cites, cites_at, on_both_backends, sample_db, stderr, stdout,
};

#[tokio::test]
async fn a_national_quota_may_run_over_any_12_month_period_from_the_command_line() {
    let t = sample_db(Backend::Sqlite).await;
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "ZA",
            "--taxon",
            "4521",
            "--period-start",
            "2026-04-01",
            "--period-last-day",
            "2027-03-31",
            "--limit",
            "5",
            "--unit",
            "",
            "--key",
            "fy",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // People read the first and last days; the JSON keeps the exclusive end.
    assert!(
        stdout(&out).contains("for 2026-04-01 to 2027-03-31"),
        "{}",
        stdout(&out)
    );
    let listed = stdout(&cites(&t.url, &["quota", "list", "--year", "2027"]));
    assert!(listed.contains(" 2026-04-01 to 2027-03-31 "), "{listed}");
    let out = cites(&t.url, &["quota", "list", "--year", "2027", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["period_start"], "2026-04-01");
    assert_eq!(list[0]["period_end"], "2027-04-01", "the end is exclusive");
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "ZA",
            "--taxon",
            "4521",
            "--year",
            "1900",
            "--limit",
            "5",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--year"), "{}", stderr(&out));
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "ZA",
            "--taxon",
            "4521",
            "--period-start",
            "2026-04-01",
            "--period-last-day",
            "2026-03-01",
            "--limit",
            "5",
        ],
    );
    assert!(
        !out.status.success(),
        "a period that ends before it starts is refused"
    );
    t.drop_db().await.unwrap();
}

/// A quota year the system clock will not reach while this code lives, within the years a
/// quota may have (1973 to 2200).
const A_FAR_YEAR: &str = "2150";

async fn the_binary_s_clock_starts_where_the_test_only_setting_says(backend: Backend) {
    let t = sample_db(backend).await;
    let then = "2150-06-01T00:00:00Z";
    let set = cites_at(
        Some(then),
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "NA",
            "--taxon",
            "4521",
            "--year",
            A_FAR_YEAR,
            "--limit",
            "10",
            "--key",
            "far",
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        stderr(&set).contains(&format!("{TEST_ONLY_NOW_ENV} is set"))
            && stderr(&set).contains("WARN"),
        "the test-only clock is used without a warning: {}",
        stderr(&set)
    );
    let id = stdout(&set).split_whitespace().nth(1).unwrap().to_owned();
    // On the system clock (the default) and on the tests' usual date, 2150 has not begun.
    for (now, key) in [(None, "on-system-clock"), (Some(NOW), "on-tests-date")] {
        let out = cites_at(
            now,
            &t.url,
            &["quota", "reserve", &id, "--quantity", "1", "--key", key],
        );
        assert_eq!(out.status.code(), Some(3), "{key}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("today is outside it"),
            "{key}: {}",
            stdout(&out)
        );
        assert_eq!(
            stderr(&out).contains(TEST_ONLY_NOW_ENV),
            now.is_some(),
            "{key}: {}",
            stderr(&out)
        );
    }
    // At an instant inside the period, the same reservation is taken.
    let out = cites_at(
        Some(then),
        &t.url,
        &[
            "quota",
            "reserve",
            &id,
            "--quantity",
            "1",
            "--key",
            "in-2150",
        ],
    );
    assert!(
        stdout(&out).starts_with("done"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    // A value that is not an RFC 3339 instant stops the command, naming the setting.
    let out = cites_at(Some("2150-06-01"), &t.url, &["quota", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(TEST_ONLY_NOW_ENV) && stderr(&out).contains("RFC 3339"),
        "{}",
        stderr(&out)
    );
    // Hidden: no help text mentions it.
    let help = cites_at(None, &t.url, &["--help"]);
    assert!(help.status.success(), "{}", stderr(&help));
    assert!(!stdout(&help).contains("NOW"), "{}", stdout(&help));
    t.drop_db().await.unwrap();
}

on_both_backends!(the_binary_s_clock_starts_where_the_test_only_setting_says);

async fn a_refused_quota_operation_exits_with_3_and_an_error_with_1(backend: Backend) {
    let t = sample_db(backend).await;
    let id = set_quota(&t.url, "5");
    let (rc, out, _) = quota(&t.url, &["reserve", &id, "--quantity", "1000"]);
    assert_eq!(rc, Some(3), "{out}");
    assert!(out.starts_with("refused: not enough quota"), "{out}");
    // The history keeps what was turned away, though no counter moved.
    let (rc, history, _) = quota(&t.url, &["history", &id]);
    assert_eq!(rc, Some(0), "{history}");
    let refusal = history.lines().last().unwrap_or_default();
    assert!(
        refusal.contains(" reject ")
            && refusal.contains(
                "asked 1000 NAR, refused: not enough quota: 1000 NAR requested, 5 NAR available"
            ),
        "{history}"
    );
    let (rc, out, err) = quota(&t.url, &["reserve", &id, "--quantity", "2"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let rid = out.split_whitespace().nth(2).unwrap().to_owned();
    let (rc, out, err) = quota(&t.url, &["commit", &rid]);
    assert_eq!(rc, Some(0), "{out} {err}");
    for args in [
        &["commit", rid.as_str()][..],
        &["release", &rid],
        &["export", &rid, "--quantity", "5"],
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(3), "{args:?}: {out} {err}");
        assert!(out.starts_with("refused: "), "{args:?}: {out}");
    }
    let (rc, out, err) = quota(&t.url, &["close", &rid]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let (rc, out, _) = quota(&t.url, &["close", &rid]);
    assert_eq!(rc, Some(3), "{out}");
    // Each refused use of the permit is in the history too, with what it asked and why.
    let (rc, history, _) = quota(&t.url, &["history", &id]);
    assert_eq!(rc, Some(0), "{history}");
    let refused: Vec<&str> = history
        .lines()
        .filter(|l| l.contains("_refused "))
        .collect();
    assert_eq!(refused.len(), 4, "{history}");
    for (line, says) in refused.iter().zip([
        "commit_refused res",
        "release_refused res",
        "export_refused res",
        "close_refused res",
    ]) {
        assert!(line.contains(says), "{says}: {history}");
    }
    assert!(
        refused[2].ends_with("asked 5 NAR, refused: 5 NAR requested, at most 2 NAR allowed"),
        "{history}"
    );
    assert!(
        refused[3].ends_with("  refused: the reservation is closed, not committed"),
        "{history}"
    );
    // Errors keep their code.
    for args in [
        &["reserve", "999", "--quantity", "1"][..],
        &["reserve", &id, "--quantity", "abc"],
        &["commit", "999"],
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
    }
    // A negative amount is a value of its option, refused as such (not an unknown option);
    // a limit in a unit of another dimension names --unit.
    for (args, says) in [
        (
            &["reserve", id.as_str(), "--quantity", "-1"][..],
            "invalid --quantity -1: accepted a decimal above 0",
        ),
        (
            &["revise", &id, "--limit", "-5"],
            "invalid amount \"-5\" for field \"--limit\"",
        ),
        (
            &["revise", &id, "--limit", "5", "--unit", "KGM"],
            "invalid --unit: incompatible units",
        ),
        (
            &["reserve", &id, "--quantity", "1", "--unit", "KGM"],
            "invalid --unit: incompatible units",
        ),
        // An amount is written out: not 1e3 or 1_000.
        (
            &["reserve", &id, "--quantity", "1e3"],
            "invalid amount \"1e3\" for field \"--quantity\": accepted a decimal written out in \
             digits",
        ),
        (
            &[
                "reserve",
                &id,
                "--quantity",
                "1",
                "--expires-at",
                "2026-12-10T23:59:60Z",
            ],
            "invalid --expires-at \"2026-12-10T23:59:60Z\": accepted an RFC 3339 instant whose \
             second is 00 to 59",
        ),
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A history page holds 1 to 10,000 entries, as the command line says.
    let (rc, _, err) = quota(&t.url, &["history", &id, "--limit", "20000"]);
    assert_eq!(rc, Some(1), "{err}");
    assert!(
        err.contains("invalid --limit: 20000 entries per page; accepted 1 to 10000"),
        "{err}"
    );
    // An id that is none is said to be invalid, with what is accepted, not taken for an option.
    for args in [&["show", "-1"][..], &["history", "0"], &["commit", "-7"]] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(2), "{args:?}: {out} {err}");
        assert!(
            err.contains(&format!("invalid value '{}'", args[1]))
                && err.contains("accepted an id, a whole number from 1 to 9223372036854775807"),
            "{args:?}: {err}"
        );
    }
    let (rc, help, _) = quota(&t.url, &["--help"]);
    assert_eq!(rc, Some(0));
    assert!(help.contains("3 refused"), "{help}");
    t.drop_db().await.unwrap();
}

on_both_backends!(a_refused_quota_operation_exits_with_3_and_an_error_with_1);

async fn the_command_line_prints_what_each_operation_moved(backend: Backend) {
    let t = sample_db(backend).await;
    let id = set_quota(&t.url, "10");
    let shown =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let now = domain::Clock::now(&*crate::support::clock());
    let asked = now + chrono::Duration::days(1);
    let asked = asked - chrono::Duration::nanoseconds(asked.timestamp_subsec_nanos().into());
    // The binary's clock (from `support::NOW`): a hold asked past the end of this year's quota
    // ends with it.
    let year_end = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&now) + 1, 1, 1)
        .unwrap()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let (_, out, err) = quota(
        &t.url,
        &[
            "reserve",
            &id,
            "--quantity",
            "2",
            "--expires-at",
            &shown(asked),
        ],
    );
    assert!(
        out.contains(&format!(
            "is held (2 NAR held until {})",
            shown(asked.min(year_end))
        )),
        "{out} {err}"
    );
    let rid = out.split_whitespace().nth(2).unwrap().to_owned();
    let (rc, _, err) = quota(
        &t.url,
        &[
            "reserve",
            &id,
            "--quantity",
            "1",
            "--expires-at",
            "tomorrow",
        ],
    );
    assert_eq!(rc, Some(1), "{err}");
    assert!(
        err.contains("--expires-at \"tomorrow\"") && err.contains("RFC 3339"),
        "{err}"
    );
    // What the ledger refuses names the option typed, not the HTTP field.
    for (args, says) in [
        (
            vec![
                "reserve",
                &id,
                "--quantity",
                "1",
                "--expires-at",
                "2020-01-01T00:00:00Z",
            ],
            "invalid --expires-at: 2020-01-01 00:00:00 UTC is not in the future",
        ),
        (
            vec![
                "commit",
                &rid,
                "--permit-expires-at",
                "2099-01-01T00:00:00Z",
            ],
            "invalid --permit-expires-at: 2099-01-01 00:00:00 UTC is later than",
        ),
        (
            vec!["reserve", &id, "--quantity", "1", "--reason", "two\nlines"],
            "invalid --reason: accepted up to",
        ),
        (
            vec!["revise", &id, "--in-preparation"],
            "invalid --in-preparation: in preparation is below what the quota already holds",
        ),
    ] {
        let (rc, out, err) = quota(&t.url, &args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let valid_until = asked + chrono::Duration::days(30);
    let (_, out, err) = quota(
        &t.url,
        &[
            "commit",
            &rid,
            "--quantity",
            "1",
            "--permit-expires-at",
            &shown(valid_until),
        ],
    );
    assert!(
        out.contains(&format!(
            "reservation {rid} is committed (1 NAR committed, 1 returned to the quota, permit valid until {})",
            shown(valid_until)
        )),
        "{out} {err}"
    );
    assert!(out.contains("available 9"), "{out}");
    let (_, out, _) = quota(&t.url, &["export", &rid, "--quantity", "1"]);
    assert!(out.contains("(1 of 1 NAR exported)"), "{out}");
    let (_, out, _) = quota(&t.url, &["close", &rid]);
    assert!(out.contains("is closed (1 NAR exported)"), "{out}");
    let (_, out, _) = quota(&t.url, &["reserve", &id, "--quantity", "3"]);
    let rid = out.split_whitespace().nth(2).unwrap().to_owned();
    let (_, out, _) = quota(&t.url, &["release", &rid]);
    assert!(
        out.contains("is released (3 NAR returned to the quota)"),
        "{out}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(the_command_line_prints_what_each_operation_moved);

async fn the_history_of_an_unknown_quota_prints_only_the_error(backend: Backend) {
    let t = sample_db(backend).await;
    for args in [&["history", "999"][..], &["history", "999", "--json"]] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.contains("quota 999 not found"), "{args:?}: {err}");
    }
    t.drop_db().await.unwrap();
}

on_both_backends!(the_history_of_an_unknown_quota_prints_only_the_error);

async fn every_quota_command_answers_in_json_when_asked_with_the_same_exit_status(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let run = |args: &[&str]| -> (Option<i32>, Value) {
        let (rc, out, err) = quota(&t.url, &[args, &["--json"]].concat());
        let answer = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out} {err}"));
        (rc, answer)
    };
    let (rc, declared) = run(&[
        "set",
        "--exporter",
        "NA",
        "--taxon",
        "4521",
        "--year",
        "2026",
        "--limit",
        "10",
    ]);
    assert_eq!(
        (rc, &declared["quota"]["limit"]),
        (Some(0), &json!("10")),
        "{declared}"
    );
    let id = declared["quota"]["id"].to_string();
    let (rc, revised) = run(&["revise", &id, "--limit", "12"]);
    assert_eq!(
        (rc, &revised["quota"]["available"]),
        (Some(0), &json!("12")),
        "{revised}"
    );
    // The bodies the HTTP routes answer: the outcome, the reservation and the quota after it.
    let (rc, held) = run(&["reserve", &id, "--quantity", "3"]);
    assert_eq!((rc, &held["outcome"]), (Some(0), &json!("done")), "{held}");
    assert_eq!(held["quota"]["held"], "3", "{held}");
    let rid = held["reservation"]["id"].to_string();
    let (rc, refused) = run(&["reserve", &id, "--quantity", "100"]);
    assert_eq!(
        (rc, &refused["outcome"]),
        (Some(3), &json!("refused")),
        "{refused}"
    );
    assert_eq!(refused["refusal"]["code"], "quota_exhausted", "{refused}");
    assert_eq!(
        refused["message"], "not enough quota: 100 NAR requested, 9 NAR available",
        "{refused}"
    );
    let (rc, committed) = run(&["commit", &rid, "--quantity", "2"]);
    assert_eq!(
        (
            rc,
            &committed["reservation"]["state"],
            &committed["quota"]["available"]
        ),
        (Some(0), &json!("committed"), &json!("10")),
        "{committed}"
    );
    let (rc, exported) = run(&["export", &rid, "--quantity", "2"]);
    assert_eq!(
        (rc, &exported["quota"]["exported"]),
        (Some(0), &json!("2")),
        "{exported}"
    );
    let (rc, closed) = run(&["close", &rid]);
    assert_eq!(
        (rc, &closed["reservation"]["state"]),
        (Some(0), &json!("closed")),
        "{closed}"
    );
    let (rc, again) = run(&["release", &rid]);
    assert_eq!(
        (rc, &again["outcome"]),
        (Some(3), &json!("refused")),
        "{again}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(every_quota_command_answers_in_json_when_asked_with_the_same_exit_status);

async fn the_command_line_shows_a_quota_s_restrictions_and_refuses_a_list_filter_it_cannot_match(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let set = |key: &str, restriction: &[&str]| {
        let (rc, out, err) = quota(
            &t.url,
            &[
                &[
                    "set",
                    "--exporter",
                    "KE",
                    "--taxon",
                    "4521",
                    "--year",
                    "2026",
                    "--limit",
                    "5",
                    "--key",
                    key,
                ][..],
                restriction,
            ]
            .concat(),
        );
        assert_eq!(rc, Some(0), "{out} {err}");
        out.split_whitespace().nth(1).unwrap().to_owned()
    };
    let zoos = set(
        "zoos",
        &["--purpose", "Z", "--notes", "zoological exchanges"],
    );
    let every = set("every", &[]);
    // Two quotas of one taxon and exporter, told apart by their scope.
    let (_, listed, _) = quota(&t.url, &["list", "--exporter", "ke"]);
    let line = |id: &str| {
        (listed.lines())
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line(&zoos).ends_with("national purpose Z"), "{listed}");
    assert!(line(&every).ends_with("national"), "{listed}");
    let (_, shown, _) = quota(&t.url, &["show", &zoos]);
    assert!(shown.contains("scope      national, purpose Z"), "{shown}");
    assert!(shown.contains("notes      zoological exchanges"), "{shown}");
    let (_, shown, _) = quota(&t.url, &["show", &every]);
    assert!(
        shown.contains("scope      national, every term, source and purpose"),
        "{shown}"
    );
    // A filter no quota could match is a typo: an error, as over HTTP, not an empty list.
    for (args, says) in [
        (
            &["list", "--exporter", "QQ"][..],
            "for field \"--exporter\"",
        ),
        (
            &["list", "--year", "1800"],
            "invalid --year 1800: accepted 1975 to 2200",
        ),
        (&["list", "--taxon", "abc"], "for field \"--taxon\""),
        (
            &["list", "--taxon", "99999999"],
            "invalid --taxon: no taxon 99999999 in the catalogue, and no quota on it",
        ),
        // The options typed, not the fields they fill.
        (
            &["reserve", &zoos, "--quantity", "abc"],
            "invalid amount \"abc\" for field \"--quantity\"",
        ),
        (
            &["reserve", &zoos, "--quantity", "1", "--unit", "XYZ"],
            "for field \"--unit\"",
        ),
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    t.drop_db().await.unwrap();
}

on_both_backends!(
    the_command_line_shows_a_quota_s_restrictions_and_refuses_a_list_filter_it_cannot_match
);

#[tokio::test]
async fn a_listing_piped_into_a_reader_that_stops_early_ends_without_a_panic() {
    let t = sample_db(Backend::Sqlite).await;
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    // The reader goes before the first line is written, as `cites quota list | head -0`.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cites"))
        .env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW)
        .args(["quota", "list"])
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    // Ended as other Unix tools are by SIGPIPE (a shell shows 141), not by a panic's 101.
    assert_eq!(out.status.code(), Some(141), "{err}");
    t.drop_db().await.unwrap();
}
