//! `dealsignal export --quickwit`: the search index as a Quickwit index
//! config and NDJSON documents, for a team that outgrows one machine.
//!
//! The config follows Quickwit's 0.8 format (a `doc_mapping` with
//! `field_mappings`). It is written as JSON, which is also valid YAML, so
//! it goes to `quickwit index create --index-config index-config.yaml` as
//! it is and our tests read it without a YAML parser. Field names use
//! letters, digits and underscores only, and the tokenizers are ones
//! Quickwit ships (`raw`, `default`, `en_stem`). Quickwit has no Snowball
//! stemmers besides English, so only English mail gets a stemmed field
//! there (`body_en`); other languages are searched unstemmed.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};
use tantivy::collector::DocSetCollector;
use tantivy::query::AllQuery;
use tantivy::schema::{Field, Value};
use tantivy::TantivyDocument;

use super::SearchIndex;
use crate::error::{Error, Result};

/// The Quickwit index id the config declares.
pub const INDEX_ID: &str = "dealsignal";

/// What an export wrote, for the command to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub config_path: PathBuf,
    pub documents_path: PathBuf,
    pub documents: usize,
}

/// How one exported field is typed and analysed in Quickwit.
struct Mapping {
    name: &'static str,
    kind: &'static str,
    tokenizer: Option<&'static str>,
    fast: bool,
}

const fn text(name: &'static str, tokenizer: &'static str) -> Mapping {
    Mapping {
        name,
        kind: "text",
        tokenizer: Some(tokenizer),
        fast: false,
    }
}

const fn texts(name: &'static str, tokenizer: &'static str) -> Mapping {
    Mapping {
        name,
        kind: "array<text>",
        tokenizer: Some(tokenizer),
        fast: false,
    }
}

/// Keyword fields are fast so a Quickwit terms aggregation can count them.
const fn keyword(name: &'static str) -> Mapping {
    Mapping {
        name,
        kind: "text",
        tokenizer: Some("raw"),
        fast: true,
    }
}

const MAPPINGS: [Mapping; 21] = [
    keyword("message_id"),
    keyword("thread"),
    text("source", "raw"),
    keyword("deal"),
    text("account", "default"),
    text("owner", "default"),
    text("from", "default"),
    text("from_name", "default"),
    texts("to", "default"),
    texts("cc", "default"),
    text("subject", "default"),
    text("body", "default"),
    text("body_en", "en_stem"),
    keyword("lang"),
    keyword("kind"),
    keyword("direction"),
    texts("signal", "raw"),
    texts("has", "raw"),
    Mapping {
        name: "sentiment",
        kind: "f64",
        tokenizer: None,
        fast: true,
    },
    Mapping {
        name: "date",
        kind: "datetime",
        tokenizer: None,
        fast: true,
    },
    // A marker that the doc came from this exporter, for mixed indexes.
    keyword("exporter"),
];

impl SearchIndex {
    /// Writes `index-config.yaml` and `docs.ndjson` into `out_dir`
    /// (created if missing), one document per indexed message, ordered by
    /// message id so two exports of the same index are identical.
    pub fn export_quickwit(&self, out_dir: &Path) -> Result<ExportSummary> {
        std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
        let config_path = out_dir.join("index-config.yaml");
        let documents_path = out_dir.join("docs.ndjson");

        let config = serde_json::to_string_pretty(&index_config()).expect("config is JSON");
        std::fs::write(&config_path, config + "\n").map_err(|e| Error::io(&config_path, e))?;

        let searcher = self.reader.searcher();
        let mut docs = Vec::new();
        for address in searcher.search(&AllQuery, &DocSetCollector)? {
            let doc: TantivyDocument = searcher.doc(address)?;
            docs.push(self.quickwit_doc(&doc));
        }
        docs.sort_by(|a, b| a["message_id"].as_str().cmp(&b["message_id"].as_str()));

        let file =
            std::fs::File::create(&documents_path).map_err(|e| Error::io(&documents_path, e))?;
        let mut out = std::io::BufWriter::new(file);
        for doc in &docs {
            serde_json::to_writer(&mut out, doc).expect("document is JSON");
            out.write_all(b"\n")
                .map_err(|e| Error::io(&documents_path, e))?;
        }
        out.flush().map_err(|e| Error::io(&documents_path, e))?;

        tracing::info!(
            documents = docs.len(),
            dir = %out_dir.display(),
            "exported search index for Quickwit"
        );
        Ok(ExportSummary {
            config_path,
            documents_path,
            documents: docs.len(),
        })
    }

    fn quickwit_doc(&self, doc: &TantivyDocument) -> Json {
        let f = &self.fields;
        let mut out = Map::new();
        let mut one = |name: &str, field: Field| {
            let value = super::stored_text(doc, field);
            if !value.is_empty() {
                out.insert(name.to_string(), Json::String(value));
            }
        };
        one("message_id", f.message_id);
        one("thread", f.thread);
        one("source", f.source);
        one("deal", f.deal);
        one("account", f.account);
        one("owner", f.owner);
        one("from", f.from);
        one("from_name", f.from_name);
        one("subject", f.subject);
        one("body", f.body);
        one("lang", f.lang);
        one("kind", f.kind);
        one("direction", f.direction);

        let all = |field: Field| -> Vec<Json> {
            doc.get_all(field)
                .filter_map(|v| v.as_str())
                .map(|s| Json::String(s.to_string()))
                .collect()
        };
        for (name, field) in [
            ("to", f.to),
            ("cc", f.cc),
            ("signal", f.signal),
            ("has", f.has),
        ] {
            let values = all(field);
            if !values.is_empty() {
                out.insert(name.to_string(), Json::Array(values));
            }
        }
        if out.get("lang").and_then(Json::as_str) == Some("en") {
            if let Some(body) = out.get("body").cloned() {
                out.insert("body_en".to_string(), body);
            }
        }
        if let Some(sentiment) = doc.get_first(f.sentiment).and_then(|v| v.as_f64()) {
            out.insert("sentiment".to_string(), json!(sentiment));
        }
        if let Some(date) = doc.get_first(f.date).and_then(|v| v.as_datetime()) {
            let nanos = date.into_timestamp_nanos();
            let date = chrono::DateTime::from_timestamp_nanos(nanos);
            out.insert(
                "date".to_string(),
                Json::String(date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
        out.insert("exporter".to_string(), json!("dealsignal"));
        Json::Object(out)
    }
}

fn index_config() -> Json {
    let fields: Vec<Json> = MAPPINGS.iter().map(field_mapping).collect();
    json!({
        "version": "0.8",
        "index_id": INDEX_ID,
        "doc_mapping": {
            // Strict: a document with a field the mapping lacks is an error
            // rather than silently unsearchable.
            "mode": "strict",
            "field_mappings": fields,
        },
        "search_settings": {
            "default_search_fields": ["subject", "body", "body_en"],
        },
    })
}

fn field_mapping(mapping: &Mapping) -> Json {
    let mut out = Map::new();
    out.insert("name".into(), json!(mapping.name));
    out.insert("type".into(), json!(mapping.kind));
    out.insert("stored".into(), json!(true));
    out.insert("indexed".into(), json!(true));
    if let Some(tokenizer) = mapping.tokenizer {
        out.insert("tokenizer".into(), json!(tokenizer));
        if tokenizer != "raw" {
            // Phrase queries need positions.
            out.insert("record".into(), json!("position"));
        }
    }
    if mapping.kind == "datetime" {
        out.insert("input_formats".into(), json!(["rfc3339"]));
        out.insert("output_format".into(), json!("rfc3339"));
        out.insert("fast_precision".into(), json!("seconds"));
    }
    if mapping.fast {
        out.insert("fast".into(), json!(true));
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_follow_quickwit_rules_and_are_unique() {
        let mut names: Vec<&str> = MAPPINGS.iter().map(|m| m.name).collect();
        for name in &names {
            let first = name.chars().next().unwrap();
            assert!(first.is_ascii_lowercase(), "{name}");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
        }
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn only_tokenizers_quickwit_ships_are_used() {
        for mapping in &MAPPINGS {
            if let Some(tokenizer) = mapping.tokenizer {
                assert!(
                    ["raw", "default", "en_stem"].contains(&tokenizer),
                    "{tokenizer}"
                );
            }
        }
    }
}
