//! Bad deals CSV exports: each must give an error naming the file and row,
//! never a silently wrong deal and never a lost one.

use std::path::PathBuf;

use dealsignal::domain::Outcome;
use dealsignal::ingest::read_deals;

const HEADER: &str =
    "id,name,account,contact_domains,owner,stage,amount,created,close_date,outcome";

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn row(id: &str, account: &str, amount: &str, outcome: &str) -> String {
    format!("{id},{account} deal,{account},{account}.example,o@us.example,Open,{amount},2025-01-01,2026-05-01,{outcome}")
}

#[test]
fn duplicate_deal_id_keeps_the_first_row_and_names_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        HEADER.to_string(),
        row("D-1", "acme", "100", "won"),
        row("D-2", "beta", "200", "open"),
        row("D-1", "gamma", "5", "open"),
    ]
    .join("\n");
    let path = write(&dir, "deals.csv", text.as_bytes());

    let file = read_deals(&path).unwrap();

    let ids: Vec<&str> = file.deals.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["D-1", "D-2"]);
    assert_eq!(file.deals[0].account, "acme");
    assert_eq!(file.deals[0].outcome, Outcome::Won);
    assert_eq!(file.errors.len(), 1, "{:?}", file.errors);
    let message = file.errors[0].to_string();
    assert!(message.contains("deals.csv"), "{message}");
    assert!(message.contains("row 4"), "{message}");
    assert!(
        message.contains("D-1") && message.contains("row 2"),
        "{message}"
    );
}

#[test]
fn scientific_amount_is_read_as_its_value_not_its_digits() {
    let dir = tempfile::tempdir().unwrap();
    let text = [HEADER.to_string(), row("D-1", "acme", "1.2E+05", "open")].join("\n");
    let path = write(&dir, "deals.csv", text.as_bytes());

    let file = read_deals(&path).unwrap();

    assert!(file.errors.is_empty(), "{:?}", file.errors);
    assert_eq!(file.deals[0].amount, Some(120_000.0));
}

#[test]
fn amount_with_letters_inside_the_number_is_a_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        HEADER.to_string(),
        row("D-1", "acme", "12x34", "open"),
        row("D-2", "beta", "USD 1200", "open"),
    ]
    .join("\n");
    let path = write(&dir, "deals.csv", text.as_bytes());

    let file = read_deals(&path).unwrap();

    assert_eq!(file.deals.len(), 1);
    assert_eq!(file.deals[0].amount, Some(1200.0));
    let message = file.errors[0].to_string();
    assert!(
        message.contains("row 2") && message.contains("12x34"),
        "{message}"
    );
}

#[test]
fn amount_too_large_for_a_number_is_a_row_error_not_infinity() {
    let dir = tempfile::tempdir().unwrap();
    let huge = format!("1{}", "0".repeat(400));
    let text = [
        HEADER.to_string(),
        row("D-1", "acme", &huge, "open"),
        row("D-2", "beta", "1e308", "open"),
        row("D-3", "gamma", "1e309", "open"),
    ]
    .join("\n");
    let path = write(&dir, "deals.csv", text.as_bytes());

    let file = read_deals(&path).unwrap();

    assert!(file
        .deals
        .iter()
        .all(|d| d.amount.is_none_or(f64::is_finite)));
    let ids: Vec<&str> = file.deals.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["D-2"]);
    assert_eq!(file.errors.len(), 2, "{:?}", file.errors);
    assert!(file.errors[0].to_string().contains("row 2"));
    assert!(file.errors[1].to_string().contains("row 4"));
}

#[test]
fn utf16_export_with_byte_order_mark_is_read_like_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let text = [HEADER.to_string(), row("D-1", "müller", "100", "won")].join("\r\n");
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let path = write(&dir, "deals.csv", &bytes);

    let file = read_deals(&path).unwrap();

    assert!(file.errors.is_empty(), "{:?}", file.errors);
    assert_eq!(file.deals.len(), 1);
    assert_eq!(file.deals[0].account, "müller");
    assert_eq!(file.deals[0].outcome, Outcome::Won);
}
