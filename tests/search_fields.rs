//! End-to-end behaviour of the fields, languages and result shapes added
//! on top of plain text search: each test indexes a small hand-built
//! mailbox with analyses and deals and checks one operator or option.

use chrono::{DateTime, Days, TimeZone, Utc};
use dealsignal::domain::{
    Analysis, Deal, Direction, Message, MessageKind, Outcome, Signal, SignalKind, SourceRef,
};
use dealsignal::search::{IndexDoc, SearchIndex, SearchOptions, Sort};
use dealsignal::Error;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn message(id: &str, subject: &str, body: &str) -> Message {
    Message {
        id: id.to_string(),
        kind: MessageKind::Email,
        source: SourceRef {
            path: format!("fixtures/{id}.eml"),
            offset: None,
        },
        date: Some(at(2024, 2, 15)),
        from: "anna@acme.example".to_string(),
        from_name: "Anna".to_string(),
        to: vec!["seller@us.example".to_string()],
        cc: Vec::new(),
        subject: subject.to_string(),
        body: body.to_string(),
        new_text: body.to_string(),
        in_reply_to: None,
        references: Vec::new(),
        deal_id: None,
        direction: Direction::Inbound,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    }
}

fn analysis(id: &str, language: &str, sentiment: f32, signals: &[SignalKind]) -> Analysis {
    Analysis {
        message_id: id.to_string(),
        language: language.to_string(),
        sentiment,
        signals: signals
            .iter()
            .map(|&kind| Signal {
                message_id: id.to_string(),
                kind,
                sentence: String::new(),
                score: 0.9,
                tracker: None,
            })
            .collect(),
    }
}

fn deal(id: &str, account: &str, owner: &str) -> Deal {
    Deal {
        id: id.to_string(),
        name: format!("{account} pilot"),
        account: account.to_string(),
        contact_domains: Vec::new(),
        owner: owner.to_string(),
        stage: "Proposal".to_string(),
        amount: None,
        created: None,
        close_date: None,
        outcome: Outcome::Open,
    }
}

/// Messages, analyses and deals of a small multilingual mailbox.
struct Mailbox {
    messages: Vec<Message>,
    analyses: Vec<Analysis>,
    deals: Vec<Deal>,
    attachments: Vec<String>,
}

fn mailbox() -> Mailbox {
    let mut sv = message("sv1", "Offert", "Vi har skickat avtalet till juristerna.");
    sv.from = "karin@nordbolag.example".to_string();
    sv.deal_id = Some("D-1".to_string());
    sv.date = Some(at(2024, 1, 10));

    let mut de = message(
        "de1",
        "Angebot",
        "Die Verträge liegen der Rechtsabteilung vor.",
    );
    de.from = "jonas@beispiel.example".to_string();
    de.cc = vec!["chef@beispiel.example".to_string()];
    de.deal_id = Some("D-2".to_string());
    de.date = Some(at(2024, 2, 20));

    let mut en = message(
        "en1",
        "Budget",
        "The board approved the budget and we are approving the contracts.",
    );
    en.deal_id = Some("D-1".to_string());
    en.date = Some(at(2024, 3, 5));
    en.references = vec!["<sv1>".to_string()];

    let mut fr = message("fr1", "Contrat", "Les contrats signés arrivent demain.");
    fr.from = "luc@exemple.example".to_string();
    fr.kind = MessageKind::Call;
    fr.direction = Direction::Outbound;
    fr.date = None;

    let analyses = vec![
        analysis("sv1", "sv", 0.6, &[SignalKind::ContractStep]),
        analysis(
            "de1",
            "de",
            -0.5,
            &[SignalKind::Delay, SignalKind::Objection],
        ),
        analysis("en1", "en", 0.1, &[SignalKind::BudgetApproved]),
        analysis("fr1", "fr", 0.0, &[]),
    ];
    Mailbox {
        messages: vec![sv, de, en, fr],
        analyses,
        deals: vec![
            deal("D-1", "Nordbolag AB", "Eva Berg"),
            deal("D-2", "Beispiel GmbH", "Tom Hall"),
        ],
        attachments: vec!["avtal.pdf".to_string()],
    }
}

fn index_of(mailbox: &Mailbox) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let mut index = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
    let docs: Vec<IndexDoc> = mailbox
        .messages
        .iter()
        .map(|m| IndexDoc {
            message: m,
            analysis: mailbox.analyses.iter().find(|a| a.message_id == m.id),
            deal: mailbox
                .deals
                .iter()
                .find(|d| Some(&d.id) == m.deal_id.as_ref()),
            thread_id: None,
            attachments: if m.id == "sv1" {
                &mailbox.attachments
            } else {
                &[]
            },
        })
        .collect();
    index.index(&docs).unwrap();
    (dir, index)
}

fn ids(index: &SearchIndex, query: &str) -> Vec<String> {
    let mut ids: Vec<String> = index
        .search(query, 50)
        .unwrap_or_else(|e| panic!("query {query:?} failed: {e}"))
        .into_iter()
        .map(|hit| hit.message_id)
        .collect();
    ids.sort();
    ids
}

fn reason(index: &SearchIndex, query: &str) -> String {
    match index.search(query, 10) {
        Err(Error::Query { reason, .. }) => reason,
        other => panic!("{query:?} should be a query error, got {other:?}"),
    }
}

#[test]
fn swedish_query_for_avtalet_finds_avtal_and_the_reverse() {
    let mut mailbox = mailbox();
    mailbox.messages[0].body = "Vi skickar ett avtal i morgon.".to_string();
    let (_dir, index) = index_of(&mailbox);
    assert_eq!(ids(&index, "avtalet"), vec!["sv1"]);
    assert_eq!(ids(&index, "avtal"), vec!["sv1"]);
}

#[test]
fn german_query_for_vertraege_finds_vertrag_with_or_without_umlaut() {
    let mut mailbox = mailbox();
    mailbox.messages[1].body = "Der Vertrag liegt vor.".to_string();
    let (_dir, index) = index_of(&mailbox);
    assert_eq!(ids(&index, "Verträge"), vec!["de1"]);
    assert_eq!(ids(&index, "vertrage"), vec!["de1"]);
}

#[test]
fn english_and_french_words_match_their_inflections() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "approves"), vec!["en1"]);
    assert_eq!(ids(&index, "contract"), vec!["en1"]);
    assert_eq!(ids(&index, "contrat signé"), vec!["fr1"]);
}

#[test]
fn stemmed_matches_are_highlighted_in_the_snippet() {
    let (_dir, index) = index_of(&mailbox());
    let hits = index.search("avtal", 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("[avtalet]"), "{}", hits[0].snippet);
}

#[test]
fn phrases_are_exact_words_and_slop_allows_words_between() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "\"approved the budget\""), vec!["en1"]);
    // Stemming does not apply inside quotes.
    assert!(ids(&index, "\"approves the budget\"").is_empty());
    assert!(ids(&index, "\"board budget\"").is_empty());
    assert_eq!(ids(&index, "\"board budget\"~2"), vec!["en1"]);
}

#[test]
fn lang_restricts_both_the_messages_and_the_stemmer() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "lang:sv"), vec!["sv1"]);
    assert_eq!(ids(&index, "avtalet lang:sv"), vec!["sv1"]);
    assert!(ids(&index, "avtalet lang:de").is_empty());
    assert_eq!(ids(&index, "NOT lang:sv AND lang:de"), vec!["de1"]);
    assert!(reason(&index, "lang:swedish").contains("two letters"));
}

#[test]
fn to_and_cc_match_address_domain_or_word() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "cc:beispiel.example"), vec!["de1"]);
    assert_eq!(ids(&index, "cc:chef"), vec!["de1"]);
    assert_eq!(ids(&index, "to:seller@us.example").len(), 4);
    assert!(ids(&index, "to:chef@beispiel.example").is_empty());
}

#[test]
fn subject_and_body_fields_keep_to_their_field() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "subject:angebot"), vec!["de1"]);
    assert!(ids(&index, "body:angebot").is_empty());
    assert_eq!(ids(&index, "body:vertrag"), vec!["de1"]);
}

#[test]
fn deal_account_and_owner_come_from_the_deal() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "deal:d-1"), vec!["en1", "sv1"]);
    assert_eq!(ids(&index, "account:nordbolag"), vec!["en1", "sv1"]);
    assert_eq!(ids(&index, "account:\"beispiel gmbh\""), vec!["de1"]);
    assert_eq!(ids(&index, "owner:berg"), vec!["en1", "sv1"]);
}

#[test]
fn signal_kind_direction_and_has_filter_on_known_values() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "signal:budget_approved"), vec!["en1"]);
    assert_eq!(ids(&index, "signal:delay"), vec!["de1"]);
    assert_eq!(ids(&index, "kind:call"), vec!["fr1"]);
    assert_eq!(ids(&index, "kind:call|email").len(), 4);
    assert_eq!(ids(&index, "direction:outbound"), vec!["fr1"]);
    assert_eq!(ids(&index, "has:attachment"), vec!["sv1"]);
    assert!(reason(&index, "signal:budget").contains("budget_approved"));
    assert!(reason(&index, "kind:fax").contains("kind:email"));
    assert!(reason(&index, "direction:up").contains("direction:inbound"));
    assert!(reason(&index, "has:pdf").contains("has:attachment"));
}

#[test]
fn sentiment_ranges_and_words_filter_by_score() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "sentiment:0.5.."), vec!["sv1"]);
    assert_eq!(ids(&index, "sentiment:..-0.2"), vec!["de1"]);
    assert_eq!(ids(&index, "sentiment:positive"), vec!["sv1"]);
    assert_eq!(ids(&index, "sentiment:negative"), vec!["de1"]);
    assert_eq!(ids(&index, "sentiment:neutral"), vec!["en1", "fr1"]);
    assert_eq!(ids(&index, "sentiment:>0.05"), vec!["en1", "sv1"]);
    assert!(reason(&index, "sentiment:2..").contains("-1 to 1"));
}

#[test]
fn relative_dates_count_back_from_today() {
    let mut mailbox = mailbox();
    let today = Utc::now();
    mailbox.messages[0].date = today.checked_sub_days(Days::new(3));
    mailbox.messages[1].date = today.checked_sub_days(Days::new(40));
    let (_dir, index) = index_of(&mailbox);
    assert_eq!(ids(&index, "date:7d.."), vec!["sv1"]);
    assert_eq!(ids(&index, "date:2m..7d"), vec!["de1"]);
    assert!(reason(&index, "date:7q..").contains("30d"));
}

#[test]
fn boolean_operators_and_parentheses_combine_fields() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(
        ids(&index, "(lang:sv OR lang:de) AND NOT signal:delay"),
        vec!["sv1"]
    );
    assert_eq!(ids(&index, "kind:email -deal:d-1"), vec!["de1"]);
}

#[test]
fn internal_field_names_are_not_part_of_the_language() {
    let (_dir, index) = index_of(&mailbox());
    assert!(reason(&index, "body_sv:avtal").contains("unknown field"));
    assert!(reason(&index, "from_addr:x.example").contains("unknown field"));
}

#[test]
fn sort_by_date_orders_newest_or_oldest_first() {
    let (_dir, index) = index_of(&mailbox());
    let order = |sort| -> Vec<String> {
        let options = SearchOptions {
            limit: 10,
            sort,
            ..SearchOptions::default()
        };
        index
            .search_with("kind:email", &options)
            .unwrap()
            .into_iter()
            .map(|h| h.message_id)
            .collect()
    };
    assert_eq!(order(Sort::DateDesc), vec!["en1", "de1", "sv1"]);
    assert_eq!(order(Sort::DateAsc), vec!["sv1", "de1", "en1"]);
}

#[test]
fn thread_grouping_returns_one_hit_per_thread_with_counts() {
    let (_dir, index) = index_of(&mailbox());
    let options = SearchOptions {
        limit: 10,
        group_threads: true,
        ..SearchOptions::default()
    };
    let hits = index.search_with("kind:email", &options).unwrap();
    assert_eq!(hits.len(), 2, "sv1 and its reply en1 are one thread");
    let thread = hits
        .iter()
        .find(|h| h.thread_id == "sv1")
        .expect("sv1 thread");
    let summary = thread.thread.expect("grouped hits carry counts");
    assert_eq!((summary.matched, summary.total), (2, 2));

    let hits = index.search_with("budget", &options).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].thread.map(|t| (t.matched, t.total)), Some((1, 2)));
    let hits = index.search_with("thread:sv1", &options).unwrap();
    assert_eq!(hits.len(), 1);
}

#[test]
fn counts_per_deal_count_matches_most_first() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(
        index.counts_per_deal("kind:email").unwrap(),
        vec![("D-1".to_string(), 2), ("D-2".to_string(), 1)]
    );
    assert_eq!(
        index.counts_per_deal("vertrag").unwrap(),
        vec![("D-2".to_string(), 1)]
    );
}

#[test]
fn new_messages_are_added_and_removed_without_a_rebuild() {
    let mailbox = mailbox();
    let (_dir, mut index) = index_of(&mailbox);
    let later = message("late1", "Follow-up", "A new avtal draft.");
    index.add_messages(std::slice::from_ref(&later)).unwrap();
    assert_eq!(index.num_messages(), 5);
    assert_eq!(ids(&index, "draft"), vec!["late1"]);

    let removed = index
        .remove_messages(&["de1".to_string(), "nope".to_string()])
        .unwrap();
    assert_eq!(removed, 1);
    assert!(ids(&index, "vertrag").is_empty());
    assert_eq!(index.num_messages(), 4);
}

#[test]
fn deleted_source_files_are_removed_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let kept_path = dir.path().join("kept.eml");
    let gone_path = dir.path().join("gone.eml");
    std::fs::write(&kept_path, "x").unwrap();
    std::fs::write(&gone_path, "x").unwrap();
    let mut kept = message("kept", "Kept", "still here");
    kept.source.path = kept_path.display().to_string();
    let mut gone = message("gone", "Gone", "deleted soon");
    gone.source.path = gone_path.display().to_string();

    let mut index = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
    index.add_messages(&[kept, gone]).unwrap();
    std::fs::remove_file(&gone_path).unwrap();
    assert_eq!(
        index.remove_missing_sources().unwrap(),
        vec!["gone".to_string()]
    );
    assert_eq!(index.num_messages(), 1);
}

#[test]
fn hits_serialize_to_json_for_scripts() {
    let (_dir, index) = index_of(&mailbox());
    let hits = index.search("avtalet", 5).unwrap();
    let json = serde_json::to_value(&hits).unwrap();
    assert_eq!(json[0]["message_id"], "sv1");
    assert_eq!(json[0]["language"], "sv");
    assert_eq!(json[0]["deal_id"], "D-1");
}

#[test]
fn a_trailing_star_matches_every_word_with_that_beginning() {
    let (_dir, index) = index_of(&mailbox());
    // "approv*" covers "approved" and "approving" in en1, nothing else.
    assert_eq!(ids(&index, "approv*"), vec!["en1"]);
    // Folding applies to the prefix too: "vertr*" finds "Verträge".
    assert_eq!(ids(&index, "vertr*"), vec!["de1"]);
    // A prefix inside a field and next to other words.
    assert_eq!(ids(&index, "subject:contr* OR avtal*"), vec!["fr1", "sv1"]);
    // Characters that mean something in a regex are taken literally.
    assert!(ids(&index, "a.b*").is_empty());
}

#[test]
fn a_phrase_may_end_in_a_prefix() {
    let (_dir, index) = index_of(&mailbox());
    assert_eq!(ids(&index, "\"board appro\"*"), vec!["en1"]);
}
