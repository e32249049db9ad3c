//! End-to-end checks of the deal warnings on small hand-made deals: a
//! healthy deal raises none, and each rule fires on the deal built to
//! break it.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};
use dealsignal::domain::{
    Analysis, Deal, Direction, Message, MessageKind, Outcome, Signal, SignalKind, SourceRef,
};
use dealsignal::predict::{deal_warnings, Severity, Warning, WarningConfig, WarningKind};

fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, month, day).unwrap()
}

fn deal() -> Deal {
    Deal {
        id: "D1".into(),
        name: "Acme rollout".into(),
        account: "Acme".into(),
        contact_domains: vec!["acme.com".into()],
        owner: "rep@us.com".into(),
        stage: "proposal".into(),
        amount: Some(50_000.0),
        created: Some(date(3, 1)),
        close_date: Some(date(6, 30)),
        outcome: Outcome::Open,
    }
}

fn mail(id: &str, direction: Direction, from: &str, month: u32, day: u32) -> Message {
    Message {
        id: id.into(),
        kind: MessageKind::Email,
        source: SourceRef {
            path: "fixture.mbox".into(),
            offset: None,
        },
        date: Some(Utc.with_ymd_and_hms(2024, month, day, 10, 0, 0).unwrap()),
        from: from.into(),
        from_name: String::new(),
        to: vec!["ann@acme.com".into()],
        cc: vec![],
        subject: "Rollout".into(),
        body: String::new(),
        new_text: String::new(),
        in_reply_to: None,
        references: vec![],
        deal_id: Some("D1".into()),
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
            .map(|k| Signal {
                message_id: id.into(),
                kind: *k,
                sentence: String::new(),
                score: 0.9,
                tracker: None,
            })
            .collect(),
    }
}

/// A deal in good shape on 2024-04-10: two customer people, a CFO among
/// them, pricing asked, recent answers, steady mood.
fn healthy() -> (Deal, Vec<Message>, Vec<Analysis>) {
    let mut cfo = mail("m3", Direction::Inbound, "bob@acme.com", 4, 5);
    cfo.from_name = "Bob Stone".into();
    cfo.new_text = "Send the contract.".into();
    cfo.body = "Send the contract.\n--\nBob Stone\nCFO, Acme\n> old quote".into();
    let messages = vec![
        mail("m1", Direction::Outbound, "rep@us.com", 3, 20),
        mail("m2", Direction::Inbound, "ann@acme.com", 3, 22),
        cfo,
        mail("m4", Direction::Outbound, "rep@us.com", 4, 8),
        mail("m5", Direction::Inbound, "ann@acme.com", 4, 9),
    ];
    let analyses = vec![
        analysis("m2", 0.4, &[SignalKind::PricingQuestion]),
        analysis("m3", 0.5, &[SignalKind::ContractStep]),
        analysis("m5", 0.4, &[]),
    ];
    (deal(), messages, analyses)
}

fn run(
    deal: &Deal,
    messages: &[Message],
    analyses: &[Analysis],
    as_of: NaiveDate,
    probabilities: (Option<f64>, Option<f64>),
    config: &WarningConfig,
) -> Vec<Warning> {
    let refs: Vec<&Message> = messages.iter().collect();
    let map: HashMap<String, &Analysis> =
        analyses.iter().map(|a| (a.message_id.clone(), a)).collect();
    deal_warnings(
        deal,
        &refs,
        &map,
        as_of,
        probabilities.0,
        probabilities.1,
        config,
    )
}

fn kinds(warnings: &[Warning]) -> Vec<WarningKind> {
    warnings.iter().map(|w| w.kind).collect()
}

#[test]
fn a_healthy_deal_raises_no_warning() {
    let (deal, messages, analyses) = healthy();
    let w = run(
        &deal,
        &messages,
        &analyses,
        date(4, 10),
        (Some(0.6), Some(0.62)),
        &Default::default(),
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn a_silent_ghosting_deal_is_flagged_with_its_numbers() {
    let (deal, mut messages, analyses) = healthy();
    for (i, day) in [12, 19, 26].into_iter().enumerate() {
        messages.push(mail(
            &format!("f{i}"),
            Direction::Outbound,
            "rep@us.com",
            4,
            day,
        ));
    }
    let w = run(
        &deal,
        &messages,
        &analyses,
        date(5, 30),
        (None, None),
        &Default::default(),
    );
    let found = kinds(&w);
    assert!(found.contains(&WarningKind::Ghosted), "{w:?}");
    assert!(found.contains(&WarningKind::NoActivity), "{w:?}");
    let ghosted = w.iter().find(|w| w.kind == WarningKind::Ghosted).unwrap();
    assert!(
        ghosted.message.contains("last 3 mails"),
        "{}",
        ghosted.message
    );
    let quiet = w
        .iter()
        .find(|w| w.kind == WarningKind::NoActivity)
        .unwrap();
    assert!(quiet.message.contains("34 days"), "{}", quiet.message);
    assert_eq!(quiet.severity, Severity::High);
}

#[test]
fn one_junior_contact_without_pricing_is_single_threaded_and_lacks_seniority() {
    let (deal, _, _) = healthy();
    let messages: Vec<Message> = (0..4)
        .map(|i| {
            let dir = if i % 2 == 0 {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let from = if i % 2 == 0 {
                "rep@us.com"
            } else {
                "ann@acme.com"
            };
            mail(&format!("s{i}"), dir, from, 4, 1 + i)
        })
        .collect();
    let w = run(
        &deal,
        &messages,
        &[],
        date(4, 10),
        (None, None),
        &Default::default(),
    );
    let found = kinds(&w);
    for kind in [
        WarningKind::SingleThreaded,
        WarningKind::NoSeniorContact,
        WarningKind::PricingNeverDiscussed,
    ] {
        assert!(found.contains(&kind), "{kind:?} missing from {w:?}");
    }
    assert!(!found.contains(&WarningKind::Ghosted), "{w:?}");
}

#[test]
fn an_overdue_close_date_cooling_mood_and_competitor_are_flagged() {
    let (mut deal, mut messages, mut analyses) = healthy();
    deal.close_date = Some(date(4, 1));
    messages.push(mail("c1", Direction::Inbound, "ann@acme.com", 4, 9));
    analyses.push(analysis("c1", -0.9, &[SignalKind::CompetitorMention]));
    let w = run(
        &deal,
        &messages,
        &analyses,
        date(4, 10),
        (None, None),
        &Default::default(),
    );
    let found = kinds(&w);
    for kind in [
        WarningKind::CloseDatePushed,
        WarningKind::SentimentCooling,
        WarningKind::CompetitorActive,
    ] {
        assert!(found.contains(&kind), "{kind:?} missing from {w:?}");
    }
    let pushed = w
        .iter()
        .find(|w| w.kind == WarningKind::CloseDatePushed)
        .unwrap();
    assert!(pushed.message.contains("2024-04-01") && pushed.message.contains("9 days"));
}

#[test]
fn a_probability_drop_counts_in_points_and_its_threshold_is_configurable() {
    let (deal, messages, analyses) = healthy();
    let drop = (Some(0.60), Some(0.45));
    let w = run(
        &deal,
        &messages,
        &analyses,
        date(4, 10),
        drop,
        &Default::default(),
    );
    assert_eq!(kinds(&w), vec![WarningKind::ProbabilityDropped], "{w:?}");
    assert!(w[0].message.contains("15 points"), "{}", w[0].message);

    let lenient = WarningConfig {
        probability_drop_points: 20.0,
        ..Default::default()
    };
    assert!(run(&deal, &messages, &analyses, date(4, 10), drop, &lenient).is_empty());
}

#[test]
fn a_stalled_old_deal_is_flagged_and_a_closed_one_never() {
    let (mut deal, messages, analyses) = healthy();
    let w = run(
        &deal,
        &messages,
        &analyses,
        date(5, 25),
        (None, None),
        &Default::default(),
    );
    assert!(kinds(&w).contains(&WarningKind::StalledInStage), "{w:?}");
    deal.outcome = Outcome::Lost;
    assert!(run(
        &deal,
        &messages,
        &analyses,
        date(5, 25),
        (None, None),
        &Default::default()
    )
    .is_empty());
}

#[test]
fn the_config_reads_partial_json_with_defaults() {
    let config: WarningConfig = serde_json::from_str(r#"{"ghosted_mails": 5}"#).unwrap();
    assert_eq!(config.ghosted_mails, 5);
    assert_eq!(
        config.no_activity_days,
        WarningConfig::default().no_activity_days
    );
}
