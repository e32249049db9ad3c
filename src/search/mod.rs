//! Full-text search over every mail and call note.
//!
//! The pipeline hands each batch of ingested [`Message`]s to
//! [`SearchIndex::add_messages`]; the `search` command then answers queries
//! such as `"budget approved" from:x.example date:2024-01-01..` with
//! [`Hit`]s that point back at the message and show where the words matched.
//!
//! The index lives in `<workspace>/index/` and is a Tantivy index. Queries
//! are parsed with Tantivy's grammar; the fields users think in (`from:` by
//! address or domain, `deal:`, `date:` ranges) are rewritten in
//! [`query`] before Tantivy's `QueryParser` turns them into a query.

mod query;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::QueryParser;
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED,
};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::domain::Message;
use crate::error::{Error, Result};

/// Tokenizer for prose fields: words, lower case, diacritics folded, so
/// that "godkand" typed on an English keyboard finds "godkänd".
const TEXT_TOKENIZER: &str = "dealsignal_text";

/// Tokenizer for identifiers (deal ids, addresses): one token, lower case,
/// so `deal:d-1001` and `deal:D-1001` are the same search.
const ID_TOKENIZER: &str = "dealsignal_id";

/// Memory the index writer may use before it flushes a segment. Tantivy
/// splits it across its indexing threads.
const WRITER_MEMORY_BYTES: usize = 64_000_000;

/// Longest snippet shown per hit, in characters.
const SNIPPET_CHARS: usize = 160;

/// How matched words are marked in a [`Hit::snippet`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Highlight {
    /// `[budget]`: readable anywhere, including logs and pipes.
    #[default]
    Brackets,
    /// ANSI bold, for a terminal that the caller knows renders it.
    AnsiBold,
}

impl Highlight {
    fn marks(self) -> (&'static str, &'static str) {
        match self {
            Highlight::Brackets => ("[", "]"),
            Highlight::AnsiBold => ("\u{1b}[1m", "\u{1b}[0m"),
        }
    }
}

/// Everything about a search besides the query text, kept in one struct so
/// new knobs do not change every caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOptions {
    /// Most hits returned, best first.
    pub limit: usize,
    pub highlight: Highlight,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            highlight: Highlight::Brackets,
        }
    }
}

/// One message that matched a query, with enough to show it in a list and
/// find it again in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub message_id: String,
    pub date: Option<DateTime<Utc>>,
    pub from: String,
    pub deal_id: Option<String>,
    pub subject: String,
    /// A piece of the body around the matched words, on one line, with the
    /// matches marked; the start of the body when only other fields matched.
    pub snippet: String,
    /// Tantivy's BM25 relevance: only comparable within one search.
    pub score: f32,
}

/// The schema's fields, looked up once so indexing and searching never
/// spell a field name twice.
#[derive(Clone, Copy)]
struct Fields {
    message_id: Field,
    deal: Field,
    from: Field,
    from_name: Field,
    from_addr: Field,
    to: Field,
    subject: Field,
    body: Field,
    kind: Field,
    date: Field,
}

impl Fields {
    fn build() -> (Schema, Fields) {
        let mut builder = Schema::builder();

        let id = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ID_TOKENIZER)
                .set_index_option(IndexRecordOption::Basic),
        );
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT_TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let date = DateOptions::default().set_indexed().set_fast().set_stored();

        let fields = Fields {
            // The id is matched exactly (replace on re-add), so it keeps its case.
            message_id: builder.add_text_field("message_id", tantivy::schema::STRING | STORED),
            deal: builder.add_text_field("deal", id.clone() | STORED),
            from: builder.add_text_field("from", text.clone() | STORED),
            from_name: builder.add_text_field("from_name", text.clone()),
            // The full address plus its domain and parent domains, so that
            // `from:x.example` matches `anna@x.example` and `bo@eu.x.example`.
            from_addr: builder.add_text_field("from_addr", id),
            to: builder.add_text_field("to", text.clone()),
            subject: builder.add_text_field("subject", text.clone() | STORED),
            body: builder.add_text_field("body", text | STORED),
            kind: builder.add_text_field("kind", tantivy::schema::STRING | STORED),
            date: builder.add_date_field("date", date),
        };
        (builder.build(), fields)
    }
}

/// The analyzer for prose fields.
///
/// TODO: add per-language stemming (Swedish, German, English, ...) once the
/// NLP stage stores each message's language; it needs one body field per
/// language, or a stemmer chosen per document, which this function is the
/// single place to change.
fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn id_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// The Tantivy index of all messages of one workspace.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the folder and an empty index the
    /// first time, so a new workspace needs no separate setup step.
    pub fn open_or_create(dir: &Path) -> Result<SearchIndex> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = Fields::build();

        let directory = MmapDirectory::open(dir)
            .map_err(|e| Error::bad_input(dir, format!("cannot open search index: {e}")))?;
        let index = Index::open_or_create(directory, schema).map_err(|e| {
            Error::bad_input(
                dir,
                format!("cannot open search index (delete the folder to rebuild it): {e}"),
            )
        })?;
        // Tokenizers are not saved in the index: register them on every open.
        index.tokenizers().register(TEXT_TOKENIZER, text_analyzer());
        index.tokenizers().register(ID_TOKENIZER, id_analyzer());

        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let docs = reader.searcher().num_docs();
        tracing::debug!(dir = %dir.display(), docs, "opened search index");
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            fields,
        })
    }

    /// How many messages the index holds.
    pub fn num_messages(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Adds messages; re-adding a message id replaces the old document (no
    /// duplicates). The batch is committed before returning, so a search
    /// right after sees it and a crash loses at most this batch.
    pub fn add_messages(&mut self, messages: &[Message]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        tracing::info!(messages = messages.len(), "indexing messages");
        let mut writer: IndexWriter<TantivyDocument> = self
            .index
            .writer(WRITER_MEMORY_BYTES)
            .map_err(|e| Error::bad_input(&self.dir, format!("cannot write search index: {e}")))?;
        for message in messages {
            // Deletes only touch documents added before them, so a message
            // repeated inside one batch also ends up indexed once.
            writer.delete_term(Term::from_field_text(self.fields.message_id, &message.id));
            writer.add_document(self.document(message))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        tracing::info!(
            messages = messages.len(),
            total = self.num_messages(),
            "indexed messages"
        );
        Ok(())
    }

    fn document(&self, message: &Message) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.message_id, &message.id);
        if let Some(deal) = &message.deal_id {
            doc.add_text(f.deal, deal);
        }
        doc.add_text(f.from, &message.from);
        doc.add_text(f.from_name, &message.from_name);
        for address in address_terms(&message.from) {
            doc.add_text(f.from_addr, address);
        }
        for to in message.to.iter().chain(&message.cc) {
            doc.add_text(f.to, to);
        }
        doc.add_text(f.subject, &message.subject);
        doc.add_text(f.body, &message.body);
        doc.add_text(f.kind, message.kind.as_str());
        if let Some(date) = message.date {
            let nanos = date
                .timestamp_nanos_opt()
                .unwrap_or_else(|| date.timestamp() * 1_000_000_000);
            doc.add_date(f.date, tantivy::DateTime::from_timestamp_nanos(nanos));
        }
        doc
    }

    /// Runs a query (see the module docs for the syntax) and returns up to
    /// `limit` hits, best first, with bracketed snippets.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let options = SearchOptions {
            limit,
            ..SearchOptions::default()
        };
        self.search_with(query, &options)
    }

    /// [`SearchIndex::search`] with every option spelled out.
    pub fn search_with(&self, query_text: &str, options: &SearchOptions) -> Result<Vec<Hit>> {
        let f = self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.subject, f.body]);
        // Sales people type "budget approval" meaning both words.
        parser.set_conjunction_by_default();
        let query = query::parse(&parser, query_text)?;
        if options.limit == 0 {
            return Ok(Vec::new());
        }

        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(options.limit).order_by_score())?;
        let mut snippets = SnippetGenerator::create(&searcher, &*query, f.body)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);

        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| -> String {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let body = text(f.body);
            let snippet = render_snippet(&snippets.snippet(&body), &body, options.highlight);
            let date = doc
                .get_first(f.date)
                .and_then(|v| v.as_datetime())
                .map(|d| Utc.timestamp_nanos(d.into_timestamp_nanos()));
            let deal = text(f.deal);
            hits.push(Hit {
                message_id: text(f.message_id),
                date,
                from: text(f.from),
                deal_id: (!deal.is_empty()).then_some(deal),
                subject: text(f.subject),
                snippet,
                score,
            });
        }
        tracing::debug!(query = query_text, hits = hits.len(), "searched");
        Ok(hits)
    }
}

/// The terms under which a sender is found: the address itself, its domain
/// and each parent domain that still has a dot (`eu.x.example`,
/// `x.example`), all lower case.
fn address_terms(address: &str) -> Vec<String> {
    let address = address.trim().to_lowercase();
    let mut terms = vec![address.clone()];
    if let Some((_, domain)) = address.rsplit_once('@') {
        let mut rest = domain;
        while rest.contains('.') {
            terms.push(rest.to_string());
            rest = rest.split_once('.').map(|(_, r)| r).unwrap_or("");
        }
    }
    terms
}

/// Marks the matched words of a snippet and puts it on one line; falls
/// back to the start of the body when no body word matched.
fn render_snippet(snippet: &Snippet, body: &str, highlight: Highlight) -> String {
    let fragment = snippet.fragment();
    if snippet.is_empty() || fragment.is_empty() {
        let start: String = body.chars().take(SNIPPET_CHARS).collect();
        return one_line(&start);
    }

    let (open, close) = highlight.marks();
    let mut ranges = snippet.highlighted().to_vec();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out = String::with_capacity(fragment.len() + 8 * ranges.len());
    let mut at = 0;
    for range in ranges {
        // Overlapping or out-of-fragment ranges would split a character.
        if range.start < at || range.end > fragment.len() {
            continue;
        }
        out.push_str(&fragment[at..range.start]);
        out.push_str(open);
        out.push_str(&fragment[range.clone()]);
        out.push_str(close);
        at = range.end;
    }
    out.push_str(&fragment[at..]);
    one_line(&out)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_terms_cover_address_domain_and_parent_domains() {
        assert_eq!(
            address_terms("Bo@EU.X.example"),
            vec!["bo@eu.x.example", "eu.x.example", "x.example"]
        );
    }

    #[test]
    fn address_terms_of_a_call_speaker_are_just_the_name() {
        assert_eq!(address_terms("Anna"), vec!["anna"]);
    }

    #[test]
    fn text_analyzer_folds_diacritics_and_case() {
        let mut analyzer = text_analyzer();
        let mut stream = analyzer.token_stream("Budgeten är GODKÄND");
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        assert_eq!(words, vec!["budgeten", "ar", "godkand"]);
    }
}
