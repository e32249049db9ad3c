//! End-to-end behaviour of the workspace store: what goes in comes back
//! out, across reopening, and a failed batch leaves nothing behind.

use chrono::{NaiveDate, TimeZone, Utc};
use dealsignal::domain::{
    Analysis, Deal, Direction, Message, MessageKind, Outcome, Signal, SignalKind, SourceRef,
    WinProbability,
};
use dealsignal::store::{Store, DB_FILE};
use dealsignal::Error;

fn deal(id: &str, outcome: Outcome) -> Deal {
    Deal {
        id: id.to_string(),
        name: format!("{id} rollout"),
        account: "Acme AB".to_string(),
        contact_domains: vec!["acme.example".to_string(), "acme-group.example".to_string()],
        owner: "sara@us.example".to_string(),
        stage: "Proposal".to_string(),
        amount: Some(125_000.5),
        created: NaiveDate::from_ymd_opt(2024, 1, 5),
        close_date: None,
        outcome,
    }
}

fn message(id: &str) -> Message {
    Message {
        id: id.to_string(),
        kind: MessageKind::Email,
        source: SourceRef {
            path: "mail/acme.mbox".to_string(),
            offset: Some(4096),
        },
        date: Some(Utc.with_ymd_and_hms(2024, 2, 1, 8, 30, 15).unwrap()),
        from: "anna@acme.example".to_string(),
        from_name: "Anna Lindqvist".to_string(),
        to: vec!["sara@us.example".to_string()],
        cc: vec![
            "cfo@acme.example".to_string(),
            "legal@acme.example".to_string(),
        ],
        subject: "Re: offert".to_string(),
        body: "Budgeten är godkänd.\n\n> Earlier text".to_string(),
        new_text: "Budgeten är godkänd.".to_string(),
        in_reply_to: Some("<prev@acme.example>".to_string()),
        references: vec![
            "<first@acme.example>".to_string(),
            "<prev@acme.example>".to_string(),
        ],
        deal_id: Some("D-1".to_string()),
        direction: Direction::Inbound,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    }
}

fn call(id: &str) -> Message {
    Message {
        kind: MessageKind::Call,
        source: SourceRef {
            path: "calls/2024-02-02.txt".to_string(),
            offset: None,
        },
        date: None,
        in_reply_to: None,
        references: Vec::new(),
        deal_id: None,
        direction: Direction::Internal,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
        ..message(id)
    }
}

fn analysis(message_id: &str, kinds: &[SignalKind]) -> Analysis {
    Analysis {
        message_id: message_id.to_string(),
        language: "sv".to_string(),
        sentiment: 0.625,
        signals: kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| Signal {
                message_id: message_id.to_string(),
                kind: *kind,
                sentence: format!("sentence {i}"),
                score: 0.5 + i as f32 / 10.0,
                tracker: None,
            })
            .collect(),
    }
}

#[test]
fn open_creates_workspace_folder_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("new").join("ws");
    let store = Store::open(&workspace).unwrap();
    assert!(workspace.join(DB_FILE).is_file());
    assert_eq!(store.path(), workspace.join(DB_FILE));
    assert_eq!(Store::index_dir(&workspace), workspace.join("index"));
}

#[test]
fn deals_round_trip_and_upsert_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut lost = deal("D-2", Outcome::Lost);
    lost.amount = None;
    lost.created = None;
    lost.close_date = NaiveDate::from_ymd_opt(2024, 6, 30);
    lost.contact_domains = Vec::new();
    store
        .upsert_deals(&[lost.clone(), deal("D-1", Outcome::Open)])
        .unwrap();
    assert_eq!(
        store.deals().unwrap(),
        vec![deal("D-1", Outcome::Open), lost.clone()]
    );

    let mut won = deal("D-1", Outcome::Won);
    won.stage = "Closed Won".to_string();
    store.upsert_deals(&[won.clone()]).unwrap();
    assert_eq!(store.deals().unwrap(), vec![won, lost]);
}

#[test]
fn messages_round_trip_in_insertion_order_and_count_only_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let (first, second) = (message("<b@x>"), call("a-call"));
    assert_eq!(
        store
            .insert_messages(&[first.clone(), second.clone()])
            .unwrap(),
        2
    );

    let mut changed = first.clone();
    changed.subject = "a later copy of the same message".to_string();
    let third = message("<c@x>");
    assert_eq!(
        store
            .insert_messages(&[changed, third.clone(), third.clone()])
            .unwrap(),
        1
    );

    assert_eq!(store.messages().unwrap(), vec![first, second, third]);
}

#[test]
fn store_reopened_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::open(dir.path()).unwrap();
        store.upsert_deals(&[deal("D-1", Outcome::Open)]).unwrap();
        store.insert_messages(&[message("m1")]).unwrap();
        store
            .save_analyses(&[analysis("m1", &[SignalKind::BudgetApproved])])
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.deals().unwrap().len(), 1);
    assert_eq!(store.messages().unwrap(), vec![message("m1")]);
    assert_eq!(
        store.analyses().unwrap(),
        vec![analysis("m1", &[SignalKind::BudgetApproved])]
    );
}

#[test]
fn analyses_round_trip_with_signals_in_order_and_rerun_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .insert_messages(&[message("m1"), message("m2"), message("m3")])
        .unwrap();

    let m1 = analysis("m1", &[SignalKind::PricingQuestion, SignalKind::Delay]);
    let m3 = analysis("m3", &[]);
    store.save_analyses(&[m3.clone(), m1.clone()]).unwrap();
    assert_eq!(store.analyses().unwrap(), vec![m1, m3.clone()]);

    let redone = analysis("m1", &[SignalKind::ContractStep]);
    store.save_analyses(std::slice::from_ref(&redone)).unwrap();
    assert_eq!(store.analyses().unwrap(), vec![redone, m3]);
}

#[test]
fn messages_without_analysis_shrink_as_analyses_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .insert_messages(&[message("m1"), message("m2"), message("m3")])
        .unwrap();
    let pending = |store: &Store| -> Vec<String> {
        store
            .messages_without_analysis()
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(pending(&store), vec!["m1", "m2", "m3"]);
    store.save_analyses(&[analysis("m2", &[])]).unwrap();
    assert_eq!(pending(&store), vec!["m1", "m3"]);
}

#[test]
fn failed_analysis_batch_saves_nothing_and_names_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.insert_messages(&[message("m1")]).unwrap();

    let batch = [
        analysis("m1", &[SignalKind::DemoRequest]),
        analysis("ghost", &[]),
    ];
    match store.save_analyses(&batch) {
        Err(Error::BadRecord {
            path,
            record,
            reason,
        }) => {
            assert_eq!(path, dir.path().join(DB_FILE));
            assert!(record.contains("ghost"), "record: {record}");
            assert!(reason.contains("no such message"), "reason: {reason}");
        }
        other => panic!("expected a BadRecord error, got {other:?}"),
    }
    assert!(store.analyses().unwrap().is_empty());
    assert_eq!(store.messages_without_analysis().unwrap().len(), 1);
}

#[test]
fn signal_filed_under_another_message_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .insert_messages(&[message("m1"), message("m2")])
        .unwrap();
    let mut mixed = analysis("m1", &[SignalKind::Objection]);
    mixed.signals[0].message_id = "m2".to_string();
    assert!(store.save_analyses(&[mixed]).is_err());
    assert!(store.analyses().unwrap().is_empty());
}

#[test]
fn latest_scores_take_each_deals_most_recent_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let score = |deal: &str, p: f64| WinProbability {
        deal_id: deal.to_string(),
        probability: p,
        factors: vec![
            ("budget_approved".to_string(), 0.31),
            ("delay".to_string(), -0.12),
        ],
    };

    let first = store.start_run("run").unwrap();
    store
        .save_scores(first, &[score("D-1", 0.2), score("D-2", 0.7)])
        .unwrap();
    let second = store.start_run("run --deal D-1").unwrap();
    assert!(second > first);
    store.save_scores(second, &[score("D-1", 0.9)]).unwrap();

    assert_eq!(
        store.latest_scores().unwrap(),
        vec![score("D-1", 0.9), score("D-2", 0.7)]
    );
}

#[test]
fn scores_for_an_unknown_run_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let score = WinProbability {
        deal_id: "D-1".to_string(),
        probability: 0.5,
        factors: Vec::new(),
    };
    let err = store.save_scores(42, &[score]).unwrap_err();
    assert!(err.to_string().contains("run 42"), "error: {err}");
    assert!(store.latest_scores().unwrap().is_empty());
}

#[test]
fn finished_run_keeps_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let run = store.start_run("run").unwrap();
    assert_eq!(store.run_summary(run).unwrap(), None);
    let summary = serde_json::json!({"messages": 12, "new": 3, "seconds": 1.5});
    store.finish_run(run, &summary).unwrap();
    assert_eq!(store.run_summary(run).unwrap(), Some(summary));
    assert!(store.finish_run(run + 1, &serde_json::json!({})).is_err());
}

#[test]
fn embedding_cache_returns_exact_vectors_for_known_hashes_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let a = vec![0.1f32, -0.2, 3.5e-8, f32::MAX];
    let b: Vec<f32> = (0..384).map(|i| (i as f32).sin()).collect();
    store
        .cache_embeddings(&[
            ("h-a".to_string(), a.clone()),
            ("h-b".to_string(), b.clone()),
        ])
        .unwrap();

    let wanted = [
        "h-b".to_string(),
        "h-missing".to_string(),
        "h-a".to_string(),
    ];
    let found = store.cached_embeddings(&wanted).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found["h-a"], a);
    assert_eq!(found["h-b"], b);

    store
        .cache_embeddings(&[("h-a".to_string(), vec![1.0])])
        .unwrap();
    assert_eq!(
        store.cached_embeddings(&wanted[2..]).unwrap()["h-a"],
        vec![1.0]
    );
}

#[test]
fn database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);

    let err = Store::open(dir.path())
        .err()
        .expect("a newer schema must be refused");
    let text = err.to_string();
    assert!(
        text.contains("999") && text.contains(DB_FILE),
        "error: {text}"
    );
}

#[test]
fn corrupt_row_is_reported_with_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.insert_messages(&[message("m1")]).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute("UPDATE messages SET kind = 'fax' WHERE id = 'm1'", [])
        .unwrap();

    match store.messages() {
        Err(Error::BadRecord { record, reason, .. }) => {
            assert!(record.contains("m1"), "record: {record}");
            assert!(reason.contains("fax"), "reason: {reason}");
        }
        other => panic!("expected a BadRecord error, got {other:?}"),
    }
}
