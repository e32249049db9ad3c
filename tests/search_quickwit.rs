//! The Quickwit export: the config parses, and every field of every
//! exported document is in the mapping with a type that accepts its value.

use chrono::{TimeZone, Utc};
use dealsignal::domain::{Analysis, Direction, Message, MessageKind, SourceRef};
use dealsignal::search::{IndexDoc, SearchIndex};
use serde_json::Value;

fn message(id: &str, body: &str) -> Message {
    Message {
        id: id.to_string(),
        kind: MessageKind::Email,
        source: SourceRef {
            path: format!("fixtures/{id}.eml"),
            offset: None,
        },
        date: Some(Utc.with_ymd_and_hms(2024, 2, 15, 9, 30, 0).unwrap()),
        from: "anna@acme.example".to_string(),
        from_name: "Anna".to_string(),
        to: vec!["a@us.example".to_string(), "b@us.example".to_string()],
        cc: vec!["c@us.example".to_string()],
        subject: "Pricing".to_string(),
        body: body.to_string(),
        new_text: body.to_string(),
        in_reply_to: None,
        references: Vec::new(),
        deal_id: Some("D-7".to_string()),
        direction: Direction::Inbound,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    }
}

fn value_fits(kind: &str, value: &Value) -> bool {
    match kind {
        "text" => value.is_string(),
        "array<text>" => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string)),
        "f64" => value.is_f64() || value.is_i64(),
        "datetime" => value
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        _ => false,
    }
}

#[test]
fn export_writes_a_config_and_documents_that_match_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
    let english = message("m1", "The budget is approved.");
    let mut undated = message("m2", "Budgeten är godkänd.");
    undated.date = None;
    let analysis = Analysis {
        message_id: "m1".into(),
        language: "en".into(),
        sentiment: 0.5,
        signals: Vec::new(),
    };
    index
        .index(&[
            IndexDoc {
                analysis: Some(&analysis),
                ..IndexDoc::new(&english)
            },
            IndexDoc::new(&undated),
        ])
        .unwrap();

    let summary = index.export_quickwit(&dir.path().join("qw")).unwrap();
    assert_eq!(summary.documents, 2);

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary.config_path).unwrap()).unwrap();
    assert_eq!(config["version"], "0.8");
    assert_eq!(config["doc_mapping"]["mode"], "strict");
    let mappings = config["doc_mapping"]["field_mappings"].as_array().unwrap();
    let kind_of = |name: &str| -> Option<String> {
        mappings
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["type"].as_str().unwrap().to_string())
    };
    for name in config["search_settings"]["default_search_fields"]
        .as_array()
        .unwrap()
    {
        assert!(kind_of(name.as_str().unwrap()).is_some(), "{name}");
    }

    let text = std::fs::read_to_string(&summary.documents_path).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    for doc in &docs {
        for (name, value) in doc.as_object().unwrap() {
            let kind = kind_of(name).unwrap_or_else(|| panic!("{name} is not mapped"));
            assert!(value_fits(&kind, value), "{name}: {value} is not {kind}");
        }
    }
    assert_eq!(docs[0]["message_id"], "m1");
    assert_eq!(docs[0]["body_en"], "The budget is approved.");
    assert_eq!(docs[0]["date"], "2024-02-15T09:30:00Z");
    assert_eq!(docs[0]["to"].as_array().unwrap().len(), 2);
    assert!(docs[1].get("date").is_none());
    assert!(docs[1].get("body_en").is_none());
}
