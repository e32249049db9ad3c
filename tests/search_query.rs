//! End-to-end behaviour of the search index: hand-built messages go in,
//! queries in the user's syntax come out as hits.

use chrono::{DateTime, TimeZone, Utc};
use dealsignal::domain::{Direction, Message, MessageKind, SourceRef};
use dealsignal::search::{Highlight, SearchIndex, SearchOptions};
use dealsignal::Error;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn message(id: &str, from: &str, subject: &str, body: &str) -> Message {
    Message {
        id: id.to_string(),
        kind: MessageKind::Email,
        source: SourceRef {
            path: format!("fixtures/{id}.eml"),
            offset: None,
        },
        date: Some(at(2024, 2, 15, 10)),
        from: from.to_string(),
        from_name: String::new(),
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

/// A small mailbox where each message differs from the others in exactly
/// the way one test looks at.
fn corpus() -> Vec<Message> {
    let mut budget = message(
        "m1@x",
        "anna@acme.example",
        "Re: pricing",
        "Good news: the budget approved by the board covers the pilot.",
    );
    budget.deal_id = Some("D-1001".to_string());
    budget.from_name = "Anna Lindqvist".to_string();
    budget.date = Some(at(2024, 1, 10, 9));

    let mut apart = message(
        "m2@x",
        "bo@eu.globex.example",
        "Status",
        "The budget is not final; nothing was approved yet.",
    );
    apart.deal_id = Some("D-2002".to_string());
    apart.date = Some(at(2024, 3, 31, 23));

    let mut swedish = message(
        "m3@x",
        "karin@nordbolag.example",
        "Offert",
        "Budgeten är godkänd och vi vill gå vidare.",
    );
    swedish.date = Some(at(2024, 4, 1, 0));

    let mut call = message(
        "m4@x",
        "anna@acme.example",
        "Call notes: security review",
        "They asked for the security questionnaire before legal review.",
    );
    call.kind = MessageKind::Call;
    call.deal_id = Some("D-1001".to_string());
    call.date = None;

    vec![budget, apart, swedish, call]
}

fn index_with(messages: &[Message]) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let mut index = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
    index.add_messages(messages).unwrap();
    (dir, index)
}

fn ids(index: &SearchIndex, query: &str) -> Vec<String> {
    let mut ids: Vec<String> = index
        .search(query, 10)
        .unwrap_or_else(|e| panic!("query {query:?} failed: {e}"))
        .into_iter()
        .map(|hit| hit.message_id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn phrase_query_finds_the_exact_words_and_not_the_same_words_apart() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "\"budget approved\""), vec!["m1@x"]);
    // Without quotes both messages hold both words.
    assert_eq!(ids(&index, "budget approved"), vec!["m1@x", "m2@x"]);
}

#[test]
fn from_matches_full_address_domain_and_parent_domain() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "from:anna@acme.example"), vec!["m1@x", "m4@x"]);
    assert_eq!(ids(&index, "from:acme.example"), vec!["m1@x", "m4@x"]);
    assert_eq!(ids(&index, "from:ANNA@Acme.Example"), vec!["m1@x", "m4@x"]);
    assert_eq!(ids(&index, "from:globex.example"), vec!["m2@x"]);
    assert_eq!(ids(&index, "from:@eu.globex.example"), vec!["m2@x"]);
    assert!(ids(&index, "from:cme.example").is_empty());
}

#[test]
fn from_with_a_bare_word_matches_address_part_or_sender_name() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "from:karin"), vec!["m3@x"]);
    assert_eq!(ids(&index, "from:lindqvist"), vec!["m1@x"]);
}

#[test]
fn deal_filter_is_case_insensitive() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "deal:D-1001"), vec!["m1@x", "m4@x"]);
    assert_eq!(ids(&index, "deal:d-1001"), vec!["m1@x", "m4@x"]);
    assert_eq!(ids(&index, "deal:d-1001 AND security"), vec!["m4@x"]);
}

#[test]
fn subject_filter_looks_only_at_the_subject() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "subject:security"), vec!["m4@x"]);
    assert_eq!(ids(&index, "subject:budget"), Vec::<String>::new());
}

#[test]
fn date_ranges_include_whole_days_and_allow_open_ends() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(
        ids(&index, "date:2024-01-01..2024-03-31"),
        vec!["m1@x", "m2@x"]
    );
    assert_eq!(ids(&index, "date:2024-04-01.."), vec!["m3@x"]);
    assert_eq!(ids(&index, "date:..2024-01-10"), vec!["m1@x"]);
    assert_eq!(ids(&index, "date:2024-03-31"), vec!["m2@x"]);
    assert_eq!(ids(&index, "budget date:2024-03-01.."), vec!["m2@x"]);
    assert_eq!(
        ids(&index, "date:[2024-01-10 TO 2024-03-31]"),
        vec!["m1@x", "m2@x"]
    );
}

#[test]
fn diacritics_fold_both_ways() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "godkand"), vec!["m3@x"]);
    assert_eq!(ids(&index, "GODKÄND"), vec!["m3@x"]);
    assert_eq!(ids(&index, "\"budgeten ar godkand\""), vec!["m3@x"]);
}

#[test]
fn boolean_operators_combine_and_exclude() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(ids(&index, "budget AND NOT board"), vec!["m2@x"]);
    assert_eq!(
        ids(&index, "questionnaire OR godkand"),
        vec!["m3@x", "m4@x"]
    );
    assert_eq!(ids(&index, "budget -from:acme.example"), vec!["m2@x"]);
    assert_eq!(ids(&index, "NOT board AND budget"), vec!["m2@x"]);
    assert_eq!(
        ids(&index, "budget AND NOT (board OR final)"),
        Vec::<String>::new()
    );
    assert_eq!(ids(&index, "budget AND NOT (board OR pilot)"), vec!["m2@x"]);
}

#[test]
fn readding_a_message_replaces_it_instead_of_duplicating() {
    let mut messages = corpus();
    let (_dir, mut index) = index_with(&messages);
    messages[0].body = "Revised: the pilot is on hold.".to_string();
    index.add_messages(&messages[..1]).unwrap();

    assert_eq!(index.num_messages(), 4);
    assert_eq!(ids(&index, "hold"), vec!["m1@x"]);
    assert!(ids(&index, "board").is_empty());
}

#[test]
fn duplicate_ids_within_one_batch_are_indexed_once() {
    let first = message("dup@x", "a@b.example", "One", "first version");
    let second = message("dup@x", "a@b.example", "Two", "second version");
    let (_dir, index) = index_with(&[first, second]);
    assert_eq!(index.num_messages(), 1);
    assert_eq!(ids(&index, "second"), vec!["dup@x"]);
}

#[test]
fn reopened_index_keeps_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    SearchIndex::open_or_create(&path)
        .unwrap()
        .add_messages(&corpus())
        .unwrap();
    let index = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(ids(&index, "godkand"), vec!["m3@x"]);
}

#[test]
fn hit_carries_the_stored_fields_and_a_bracketed_snippet() {
    let (_dir, index) = index_with(&corpus());
    let hits = index.search("board", 5).unwrap();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.message_id, "m1@x");
    assert_eq!(hit.from, "anna@acme.example");
    assert_eq!(hit.deal_id.as_deref(), Some("D-1001"));
    assert_eq!(hit.subject, "Re: pricing");
    assert_eq!(hit.date, Some(at(2024, 1, 10, 9)));
    assert!(hit.snippet.contains("[board]"), "snippet: {}", hit.snippet);
    assert!(hit.score > 0.0);

    let hits = index.search("security", 5).unwrap();
    assert_eq!(hits[0].date, None);
    assert_eq!(hits[0].deal_id.as_deref(), Some("D-1001"));
}

#[test]
fn ansi_highlight_is_used_only_when_asked() {
    let (_dir, index) = index_with(&corpus());
    let options = SearchOptions {
        limit: 5,
        highlight: Highlight::AnsiBold,
        ..SearchOptions::default()
    };
    let hits = index.search_with("board", &options).unwrap();
    assert!(hits[0].snippet.contains("\u{1b}[1mboard\u{1b}[0m"));
    assert!(!index.search("board", 5).unwrap()[0]
        .snippet
        .contains('\u{1b}'));
}

#[test]
fn snippet_falls_back_to_body_start_when_only_other_fields_matched() {
    let (_dir, index) = index_with(&corpus());
    let hits = index.search("from:karin", 5).unwrap();
    assert_eq!(
        hits[0].snippet,
        "Budgeten är godkänd och vi vill gå vidare."
    );
}

#[test]
fn limit_caps_the_number_of_hits() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(index.search("deal:d-1001", 1).unwrap().len(), 1);
    assert!(index.search("deal:d-1001", 0).unwrap().is_empty());
}

fn query_error(index: &SearchIndex, query: &str) -> String {
    match index.search(query, 10) {
        Err(Error::Query {
            query: echoed,
            reason,
        }) => {
            assert_eq!(echoed, query);
            assert!(!reason.is_empty());
            reason
        }
        other => panic!("query {query:?} should fail with Error::Query, got {other:?}"),
    }
}

#[test]
fn bad_queries_give_readable_query_errors() {
    let (_dir, index) = index_with(&corpus());
    assert!(query_error(&index, "date:garbage").contains("2024-01-01"));
    assert!(query_error(&index, "date:2024-03-01..2024-01-01").contains("before"));
    assert!(query_error(&index, "colour:red").contains("unknown field"));
    assert!(query_error(&index, "").contains("empty"));
    assert!(query_error(&index, "   ").contains("empty"));
    query_error(&index, "\"unbalanced quote");
    query_error(&index, "subject:");
    query_error(&index, "NOT budget");

    match index.search(&"x".repeat(100_000), 10) {
        Err(Error::Query { query, reason }) => {
            assert!(query.len() < 100, "the echo is cut short");
            assert!(reason.contains("limit"), "reason: {reason}");
        }
        other => panic!("a 100 kB query should be refused, got {other:?}"),
    }
}

#[test]
fn escaped_colon_searches_for_the_text() {
    let mut note = message(
        "t@x",
        "a@b.example",
        "Call",
        "Meeting moved to 10:30 sharp.",
    );
    note.kind = dealsignal::domain::MessageKind::Call;
    let (_dir, index) = index_with(&[note]);
    assert_eq!(ids(&index, "10\\:30"), vec!["t@x"]);
}

#[test]
fn odd_input_never_panics() {
    let (_dir, index) = index_with(&corpus());
    let long_words = "budget ".repeat(500);
    let too_long = "x".repeat(100_000);
    let deep = format!("{}budget{}", "(".repeat(10_000), ")".repeat(10_000));
    let odd = [
        "\"",
        "\"\"",
        "'",
        ":",
        "::",
        ": budget",
        "a:",
        "(",
        ")",
        "((budget)",
        "budget)",
        "[",
        "]",
        "{",
        "}",
        "[* TO *]",
        "date:",
        "date:..",
        "date:[garbage TO x]",
        "date:>x",
        "from:",
        "from:@",
        "from:\"\"",
        "deal:\"\"",
        "*",
        "***",
        "-",
        "--",
        "+",
        "^",
        "^2",
        "budget^",
        "budget^x",
        "AND",
        "OR",
        "NOT",
        "AND OR NOT",
        "\\",
        "\\\"",
        "~",
        "budget~",
        "\"budget approved\"~",
        "\"budget approved\"~2",
        "/re.*x/",
        "subject:/[/",
        "IN [",
        "body:IN [a b]",
        "\u{0}",
        "\u{feff}",
        "🎉",
        "godkänd ÄÖÅ ß",
        "date:2024-02-30",
        "date:99999-01-01",
        "date:-2024-01-01..",
        "date:2024-01-01..2024-01-01..x",
        &long_words,
        &too_long,
        &deep,
    ];
    for query in odd {
        // Either answer is fine; what matters is that there is one.
        let _ = index.search(query, 5);
    }
    // A long but reasonable query still runs.
    assert_eq!(ids(&index, long_words.trim()), vec!["m1@x", "m2@x"]);
}
