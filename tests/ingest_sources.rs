//! End-to-end checks of the ingest stage on the small mixed fixture under
//! fixtures/ingest: an mbox, a Maildir, loose .eml, call notes and a deals
//! CSV, read and attributed together.

use std::path::{Path, PathBuf};

use dealsignal::domain::{Direction, MessageKind};
use dealsignal::ingest::{attribute, read_deals, read_sources, IngestOptions};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ingest")
        .join(rel)
}

fn options() -> IngestOptions {
    IngestOptions {
        internal_domains: vec!["vendor.example".into()],
        ..IngestOptions::default()
    }
}

#[test]
fn mixed_sources_are_read_and_every_input_is_accounted_for() {
    let report = read_sources(&[fixture("mixed")], &options()).unwrap();

    let mut ids: Vec<_> = report.messages.iter().map(|m| m.id.as_str()).collect();
    ids.sort();
    let note_id = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Call)
        .map(|m| m.id.as_str())
        .expect("the call note is read");
    let mut expected = vec![
        "m1@kund.example",
        "m2@vendor.example",
        "m3@kund.example",
        "m4@other.example",
        note_id,
    ];
    expected.sort();
    assert_eq!(ids, expected);

    let reasons: Vec<_> = report
        .skipped
        .iter()
        .map(|s| format!("{} | {}", s.source, s.reason))
        .collect();
    let has = |path_part: &str, reason_part: &str| {
        reasons
            .iter()
            .any(|r| r.contains(path_part) && r.contains(reason_part))
    };
    assert!(
        has(
            "new/1772524801.2.host",
            "duplicate of message m1@kund.example"
        ),
        "{reasons:#?}"
    );
    assert!(has("tmp/1772524802.3.host", "tmp/"), "{reasons:#?}");
    assert!(has("todo.txt", "neither mail"), "{reasons:#?}");
    assert!(has("sales.mbox (byte ", ""), "{reasons:#?}");
    assert_eq!(report.skipped.len(), 4, "{reasons:#?}");
}

#[test]
fn html_only_maildir_mail_becomes_text() {
    let report = read_sources(&[fixture("mixed/maildir")], &options()).unwrap();
    let demo = report
        .messages
        .iter()
        .find(|m| m.id == "m3@kund.example")
        .unwrap();
    assert_eq!(demo.body, "Can we book a demo on Friday?");
    assert_eq!(demo.direction, Direction::Inbound);
}

#[test]
fn mbox_messages_carry_offsets_and_clean_text() {
    let report = read_sources(&[fixture("mixed/sales.mbox")], &options()).unwrap();
    let first = &report.messages[0];
    assert_eq!(first.source.offset, Some(0));
    assert_eq!(first.subject, "Fråga om pris");
    assert_eq!(first.from, "lars@kund.example");
    assert!(first
        .body
        .contains("\nFrom our side the budget is approved."));

    let reply = &report.messages[1];
    assert!(reply.source.offset.unwrap() > 0);
    assert_eq!(reply.in_reply_to.as_deref(), Some("m1@kund.example"));
    assert_eq!(reply.new_text, "It is 12 000 EUR per year.");
    assert!(reply.body.contains("Account Executive"));
    assert_eq!(report.files, 1);
    assert_eq!(
        report.bytes,
        std::fs::metadata(fixture("mixed/sales.mbox"))
            .unwrap()
            .len()
    );
}

#[test]
fn messages_are_attributed_to_deals_by_domain_and_date() {
    let mut report = read_sources(&[fixture("mixed")], &options()).unwrap();
    let deals = read_deals(&fixture("deals.csv")).unwrap();
    assert_eq!(deals.errors.len(), 1, "the n/a amount row is reported");
    assert!(deals.errors[0].to_string().contains("row 4"));

    attribute(
        &mut report.messages,
        &deals.deals,
        &options().internal_domains,
    );
    let by_id = |id: &str| report.messages.iter().find(|m| m.id == id).unwrap();

    let inbound = by_id("m1@kund.example");
    assert_eq!(inbound.direction, Direction::Inbound);
    assert_eq!(inbound.deal_id.as_deref(), Some("D-1007"));

    let outbound = by_id("m2@vendor.example");
    assert_eq!(outbound.direction, Direction::Outbound);
    assert_eq!(outbound.deal_id.as_deref(), Some("D-1007"));

    // D-2000 had a bad row, so mail from its domain matches nothing.
    assert_eq!(by_id("m4@other.example").deal_id, None);

    let call = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Call)
        .unwrap();
    assert_eq!(call.deal_id.as_deref(), Some("D-1007"));
    assert_eq!(call.from, "anna@vendor.example");
}

#[test]
fn missing_source_path_is_an_error_naming_it() {
    let err = read_sources(&[fixture("does-not-exist")], &options()).unwrap_err();
    assert!(err.to_string().contains("does-not-exist"), "{err}");
}
