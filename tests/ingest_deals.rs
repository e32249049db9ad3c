//! The deals CSV reader on Salesforce and HubSpot export layouts, and the
//! `dealsignal doctor` report on them.

use std::path::{Path, PathBuf};
use std::process::Command;

use dealsignal::domain::Outcome;
use dealsignal::ingest::read_deals;

fn crm(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ingest/crm")
        .join(name)
}

#[test]
fn salesforce_export_columns_fill_every_field() {
    let file = read_deals(&crm("salesforce.csv")).unwrap();
    assert!(file.errors.is_empty(), "{:?}", file.errors);
    let d = &file.deals[0];
    assert_eq!(d.id, "0065g00000AbCdE");
    assert_eq!(d.name, "Kund AB licenses");
    assert_eq!(d.account, "Kund AB");
    assert_eq!(d.owner, "Anna Berg");
    assert_eq!(d.amount, Some(12000.5));
    assert_eq!(d.outcome, Outcome::Won);
    assert_eq!(d.close_date.unwrap().to_string(), "2026-01-15");
    assert_eq!(file.deals[1].amount, Some(48000.0));
    assert_eq!(file.deals[1].outcome, Outcome::Open);
}

#[test]
fn hubspot_export_with_semicolons_and_decimal_commas_is_read() {
    let file = read_deals(&crm("hubspot.csv")).unwrap();
    assert!(file.errors.is_empty(), "{:?}", file.errors);
    let d = &file.deals[0];
    assert_eq!(d.id, "9001");
    assert_eq!(d.account, "Initech GmbH");
    assert_eq!(d.contact_domains, ["initech.example"]);
    assert_eq!(d.amount, Some(12000.5));
    assert_eq!(d.outcome, Outcome::Lost);
    assert_eq!(d.created.unwrap().to_string(), "2025-12-01");
    assert_eq!(file.deals[1].amount, Some(1234.5));
    assert_eq!(file.deals[1].close_date, None);
}

#[test]
fn doctor_prints_a_report_naming_the_problem_deals() {
    let out = Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args(["doctor", "--as-of", "2026-03-20"])
        .arg(crm("salesforce.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("deals: 2 (1 open)"), "{text}");
    assert!(
        text.contains("open deals with close date in the past: 1"),
        "{text}"
    );
    assert!(
        text.contains("0065g00000AbCdF: closes 2026-02-28"),
        "{text}"
    );
    assert!(text.contains("amount           100.0%"), "{text}");
}
