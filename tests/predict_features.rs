//! End-to-end checks of the deal features: what a deal's messages and
//! analyses turn into, and that nothing after `as_of` leaks in.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};
use dealsignal::domain::{
    Analysis, Deal, Direction, Message, MessageKind, Outcome, Signal, SignalKind, SourceRef,
};
use dealsignal::predict::{deal_features, feature_names, FeatureRow};

fn deal() -> Deal {
    Deal {
        id: "D-42".into(),
        name: "Globex renewal".into(),
        account: "Globex".into(),
        contact_domains: vec!["globex.com".into()],
        owner: "sam@seller.io".into(),
        stage: "proposal".into(),
        amount: Some(48_000.0),
        created: NaiveDate::from_ymd_opt(2024, 3, 1),
        close_date: None,
        outcome: Outcome::Open,
    }
}

fn message(id: &str, kind: MessageKind, direction: Direction, from: &str, day: u32) -> Message {
    Message {
        id: id.into(),
        kind,
        source: SourceRef {
            path: "fixtures/globex.mbox".into(),
            offset: Some(u64::from(day) * 100),
        },
        date: Some(Utc.with_ymd_and_hms(2024, 3, day, 10, 30, 0).unwrap()),
        from: from.into(),
        from_name: String::new(),
        to: vec![],
        cc: vec![],
        subject: "Renewal".into(),
        body: String::new(),
        new_text: String::new(),
        in_reply_to: None,
        references: vec![],
        deal_id: Some("D-42".into()),
        direction,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    }
}

fn analysis(id: &str, sentiment: f32, kinds: &[SignalKind]) -> Analysis {
    Analysis {
        message_id: id.into(),
        language: "en".into(),
        sentiment,
        signals: kinds
            .iter()
            .map(|kind| Signal {
                message_id: id.into(),
                kind: *kind,
                sentence: "fixture sentence".into(),
                score: 0.9,
                tracker: None,
            })
            .collect(),
    }
}

/// A month of back and forth: we pitch, two people at Globex answer, a call,
/// budget gets approved.
fn conversation() -> (Vec<Message>, Vec<Analysis>) {
    use Direction::{Inbound, Outbound};
    use MessageKind::{Call, Email};
    let messages = vec![
        message("m1", Email, Outbound, "sam@seller.io", 2),
        message("m2", Email, Inbound, "ana@globex.com", 4),
        message("m3", Email, Outbound, "sam@seller.io", 5),
        message("m4", Call, Outbound, "sam@seller.io", 9),
        message("m5", Email, Inbound, "raj@globex.com", 12),
    ];
    let analyses = vec![
        analysis("m2", 0.2, &[SignalKind::PricingQuestion]),
        analysis("m4", 0.5, &[SignalKind::CompetitorMention]),
        analysis("m5", 0.7, &[SignalKind::BudgetApproved]),
    ];
    (messages, analyses)
}

fn features(messages: &[Message], analyses: &[Analysis], as_of: NaiveDate) -> FeatureRow {
    let refs: Vec<&Message> = messages.iter().collect();
    let by_id: HashMap<String, &Analysis> =
        analyses.iter().map(|a| (a.message_id.clone(), a)).collect();
    deal_features(&deal(), &refs, &by_id, as_of)
}

fn value(row: &FeatureRow, name: &str) -> f64 {
    let i = feature_names()
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("no feature {name}"));
    row.values[i]
}

fn march(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
}

/// NaN-aware equality: two rows are the same when every value is equal or
/// both are missing.
fn same_values(a: &FeatureRow, b: &FeatureRow) -> bool {
    a.values.len() == b.values.len()
        && a.values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn messages_after_as_of_do_not_change_the_features() {
    let (mut messages, mut analyses) = conversation();
    let before = features(&messages, &analyses, march(20));

    // The customer writes again after the cut-off, angry, mentioning no budget.
    let mut late = message(
        "m6",
        MessageKind::Email,
        Direction::Inbound,
        "new@globex.com",
        21,
    );
    late.date = Some(Utc.with_ymd_and_hms(2024, 3, 21, 0, 0, 0).unwrap());
    messages.push(late);
    analyses.push(analysis("m6", -0.9, &[SignalKind::NoBudget]));
    let after = features(&messages, &analyses, march(20));

    assert!(same_values(&before, &after), "{before:?} vs {after:?}");
    // The same message does count once the date reaches it.
    let later = features(&messages, &analyses, march(21));
    assert_eq!(value(&later, "signal_no_budget"), 1.0);
    assert_eq!(value(&later, "customer_senders"), 3.0);
}

#[test]
fn messages_on_the_as_of_day_count() {
    let (messages, analyses) = conversation();
    let row = features(&messages, &analyses, march(12));
    assert_eq!(value(&row, "inbound_messages"), 2.0);
    assert_eq!(value(&row, "days_since_customer_wrote"), 0.0);
    let row = features(&messages, &analyses, march(11));
    assert_eq!(value(&row, "inbound_messages"), 1.0);
}

#[test]
fn conversation_turns_into_counts_latencies_and_signals() {
    let (messages, analyses) = conversation();
    let row = features(&messages, &analyses, march(20));

    assert_eq!(value(&row, "inbound_messages"), 2.0);
    assert_eq!(value(&row, "outbound_messages"), 3.0);
    assert_eq!(value(&row, "calls"), 1.0);
    assert_eq!(value(&row, "customer_senders"), 2.0);
    assert_eq!(value(&row, "days_since_customer_wrote"), 8.0);
    // m1 -> m2 is 48 h; m3 (mail) -> m5 is 168 h; the call does not count.
    assert_eq!(value(&row, "customer_reply_hours"), (48.0 + 168.0) / 2.0);
    assert_eq!(value(&row, "our_reply_hours"), 24.0);
    // Five messages over the 20 days since the deal was created.
    assert!((value(&row, "messages_per_week") - 5.0 * 7.0 / 20.0).abs() < 1e-9);
    // The call note carries the customer's voice; our own mails do not.
    assert!((value(&row, "sentiment_mean") - (0.2 + 0.5 + 0.7) / 3.0).abs() < 1e-6);
    assert!(value(&row, "sentiment_slope") > 0.0);
    assert_eq!(value(&row, "positive_signals"), 2.0);
    assert_eq!(value(&row, "negative_signals"), 1.0);
    assert_eq!(value(&row, "signal_budget_approved"), 1.0);
    assert_eq!(value(&row, "signal_competitor_mention"), 1.0);
    assert!((value(&row, "log_amount") - 48_001f64.ln()).abs() < 1e-9);
    assert_eq!(value(&row, "deal_age_days"), 19.0);
}

#[test]
fn undated_messages_are_left_out() {
    let (mut messages, analyses) = conversation();
    let before = features(&messages, &analyses, march(20));
    let mut undated = message(
        "m0",
        MessageKind::Email,
        Direction::Inbound,
        "x@globex.com",
        1,
    );
    undated.date = None;
    messages.push(undated);
    let after = features(&messages, &analyses, march(20));
    assert!(same_values(&before, &after));
}
