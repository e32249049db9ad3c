//! Full-text search over every mail and call note.
//!
//! The pipeline hands each batch of ingested messages, with what the NLP
//! stage learned about them and the deal they belong to, to
//! [`SearchIndex::index`] as [`IndexDoc`]s; the `search` command then
//! answers queries such as `"budget approved"~2 from:x.example date:30d..`
//! with [`Hit`]s that point back at the message and show where the words
//! matched, one per message or one per thread.
//!
//! The index lives in `<workspace>/index/` and is a Tantivy index (fields
//! in [`schema`]). Queries are parsed with Tantivy's grammar; the fields
//! users think in are rewritten in [`query`] before Tantivy's
//! `QueryParser` turns them into a query. New messages are added and
//! deleted source mail removed without rebuilding; [`quickwit`] writes the
//! same documents out for a Quickwit cluster.

mod query;
mod quickwit;
mod schema;
mod thread;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use tantivy::collector::{Count, DocSetCollector, FacetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, Query, QueryParser, TermQuery};
use tantivy::schema::{Facet, Field, IndexRecordOption, Value};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    Term,
};

use crate::domain::{Analysis, Deal, Message};
use crate::error::{Error, Result};

pub use quickwit::ExportSummary;
pub use thread::{normalised_subject, thread_key};

use schema::Fields;

/// Memory the index writer may use before it flushes a segment. Tantivy
/// splits it across its indexing threads.
const WRITER_MEMORY_BYTES: usize = 64_000_000;

/// Longest snippet shown per hit, in characters.
const SNIPPET_CHARS: usize = 160;

/// Longest stretch of a body the snippet generator reads. It tokenizes
/// all it is given, so a pasted 1 MB report would cost every search that
/// shows it; a match further in falls back to the start of the body.
const SNIPPET_SCAN_BYTES: usize = 32 * 1024;

/// Most matching messages looked at when hits are grouped by thread; a
/// thread whose every match ranks below this many is not shown.
const THREAD_CANDIDATES: usize = 10_000;

/// One message with everything the index files it under. Only `message`
/// is required, so the pipeline can index mail before the NLP stage or
/// deal attribution have run and re-index it afterwards.
#[derive(Debug, Clone, Copy)]
pub struct IndexDoc<'a> {
    pub message: &'a Message,
    /// Language (stemmer), sentiment and signals; `None` before analysis.
    pub analysis: Option<&'a Analysis>,
    /// Account and owner for `account:`/`owner:`; the deal id falls back
    /// to `message.deal_id` when this is `None`.
    pub deal: Option<&'a Deal>,
    /// The ingest stage's thread id; derived with [`thread_key`] if `None`.
    pub thread_id: Option<&'a str>,
    /// Attachment file names; any makes `has:attachment` match.
    pub attachments: &'a [String],
}

impl<'a> IndexDoc<'a> {
    /// A document that knows only the message.
    pub fn new(message: &'a Message) -> IndexDoc<'a> {
        IndexDoc {
            message,
            analysis: None,
            deal: None,
            thread_id: None,
            attachments: &[],
        }
    }
}

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

/// The order hits come back in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best BM25 score first.
    #[default]
    Relevance,
    /// Newest first; messages without a date last.
    DateDesc,
    /// Oldest first.
    DateAsc,
}

/// Everything about a search besides the query text, kept in one struct so
/// new knobs do not change every caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOptions {
    /// Most hits returned (threads, when grouped).
    pub limit: usize,
    pub highlight: Highlight,
    pub sort: Sort,
    /// One hit per thread, like notmuch's default view: the thread's best
    /// (or, sorted by date, first) match, with [`Hit::thread`] counts.
    pub group_threads: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            highlight: Highlight::Brackets,
            sort: Sort::Relevance,
            group_threads: false,
        }
    }
}

/// One message that matched a query, with enough to show it in a list and
/// find it again in the store. Serializes as the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub message_id: String,
    pub thread_id: String,
    pub date: Option<DateTime<Utc>>,
    pub from: String,
    pub deal_id: Option<String>,
    pub subject: String,
    /// The file the message was read from.
    pub source: String,
    /// ISO 639-1 code the message was indexed (stemmed) under, or "und".
    pub language: String,
    /// A piece of the body around the matched words, on one line, with the
    /// matches marked; the start of the body when only other fields matched.
    pub snippet: String,
    /// Tantivy's BM25 relevance: only comparable within one search, and 0
    /// when the hits are sorted by date.
    pub score: f32,
    /// Set when hits are grouped by thread.
    pub thread: Option<ThreadSummary>,
}

/// How much of a thread a grouped hit stands for: notmuch's `[2/5]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThreadSummary {
    /// Messages of the thread that match the query.
    pub matched: usize,
    /// Messages of the thread in the index.
    pub total: usize,
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
        schema::register_analyzers(index.tokenizers());

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

    /// Adds messages that have no analysis or deal yet; see
    /// [`SearchIndex::index`].
    pub fn add_messages(&mut self, messages: &[Message]) -> Result<()> {
        let docs: Vec<IndexDoc> = messages.iter().map(IndexDoc::new).collect();
        self.index(&docs)
    }

    /// Adds documents; re-adding a message id replaces the old document (no
    /// duplicates), which is also how a message gains its analysis later.
    /// The batch is committed before returning, so a search right after
    /// sees it and a crash loses at most this batch.
    pub fn index(&mut self, docs: &[IndexDoc]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        tracing::info!(messages = docs.len(), "indexing messages");
        let mut writer = self.writer()?;
        for doc in docs {
            // Deletes only touch documents added before them, so a message
            // repeated inside one batch also ends up indexed once.
            writer.delete_term(Term::from_field_text(
                self.fields.message_id,
                &doc.message.id,
            ));
            writer.add_document(self.document(doc))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        tracing::info!(
            messages = docs.len(),
            total = self.num_messages(),
            "indexed messages"
        );
        Ok(())
    }

    /// Removes messages by id (ids not in the index are ignored) and
    /// returns how many were removed.
    pub fn remove_messages(&mut self, ids: &[String]) -> Result<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let before = self.num_messages();
        let mut writer = self.writer()?;
        for id in ids {
            writer.delete_term(Term::from_field_text(self.fields.message_id, id));
        }
        writer.commit()?;
        self.reader.reload()?;
        let removed = before.saturating_sub(self.num_messages()) as usize;
        tracing::info!(asked = ids.len(), removed, "removed messages from index");
        Ok(removed)
    }

    /// Removes every message whose source file no longer exists, so mail
    /// deleted from a Maildir disappears from search, and returns the ids.
    pub fn remove_missing_sources(&mut self) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let all = searcher.search(&AllQuery, &DocSetCollector)?;
        let mut gone = Vec::new();
        for address in all {
            let doc: TantivyDocument = searcher.doc(address)?;
            let source = stored_text(&doc, self.fields.source);
            if !source.is_empty() && !Path::new(&source).exists() {
                tracing::warn!(source, "source mail is gone, removing it from the index");
                gone.push(stored_text(&doc, self.fields.message_id));
            }
        }
        self.remove_messages(&gone)?;
        Ok(gone)
    }

    fn writer(&self) -> Result<IndexWriter<TantivyDocument>> {
        self.index
            .writer(WRITER_MEMORY_BYTES)
            .map_err(|e| Error::bad_input(&self.dir, format!("cannot write search index: {e}")))
    }

    fn document(&self, doc: &IndexDoc) -> TantivyDocument {
        let f = &self.fields;
        let message = doc.message;
        let mut out = TantivyDocument::default();
        out.add_text(f.message_id, &message.id);
        let thread = match doc.thread_id {
            Some(id) if !id.trim().is_empty() => id.trim().to_lowercase(),
            _ => thread_key(message),
        };
        out.add_text(f.thread, &thread);
        out.add_text(f.source, &message.source.path);

        let deal_id = message
            .deal_id
            .as_deref()
            .or(doc.deal.map(|d| d.id.as_str()));
        if let Some(deal) = deal_id {
            out.add_text(f.deal, deal);
            out.add_facet(f.deal_facet, Facet::from_path([deal]));
        }
        if let Some(deal) = doc.deal {
            out.add_text(f.account, &deal.account);
            out.add_text(f.owner, &deal.owner);
        }

        out.add_text(f.from, &message.from);
        out.add_text(f.from_name, &message.from_name);
        for term in address_terms(&message.from) {
            out.add_text(f.from_addr, term);
        }
        for (text, addr, addresses) in [
            (f.to, f.to_addr, &message.to),
            (f.cc, f.cc_addr, &message.cc),
        ] {
            for address in addresses {
                out.add_text(text, address);
                for term in address_terms(address) {
                    out.add_text(addr, term);
                }
            }
        }

        out.add_text(f.subject, &message.subject);
        out.add_text(f.body, &message.body);
        let language = doc
            .analysis
            .map(|a| a.language.trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "und".to_string());
        if let Some(stemmed) = f.stemmed_for(&language) {
            out.add_text(stemmed.subject, &message.subject);
            out.add_text(stemmed.body, &message.body);
        }
        out.add_text(f.lang, &language);

        out.add_text(f.kind, message.kind.as_str());
        out.add_text(f.direction, message.direction.as_str());
        if let Some(analysis) = doc.analysis {
            let mut kinds: Vec<_> = analysis.signals.iter().map(|s| s.kind).collect();
            kinds.sort();
            kinds.dedup();
            for kind in kinds {
                out.add_text(f.signal, kind.as_str());
            }
            out.add_f64(f.sentiment, f64::from(analysis.sentiment));
        }
        if !doc.attachments.is_empty() {
            out.add_text(f.has, "attachment");
        }
        if let Some(date) = message.date {
            let nanos = date
                .timestamp_nanos_opt()
                .unwrap_or_else(|| date.timestamp() * 1_000_000_000);
            out.add_date(f.date, tantivy::DateTime::from_timestamp_nanos(nanos));
        }
        out
    }

    /// Runs a query (see [`query`] for the syntax) and returns up to
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
        let searcher = self.reader.searcher();
        let query = self.parse(&searcher, query_text)?;
        if options.limit == 0 {
            return Ok(Vec::new());
        }

        let wanted = if options.group_threads {
            THREAD_CANDIDATES.max(options.limit)
        } else {
            options.limit
        };
        let ranked = self.ranked(&searcher, &*query, wanted, options.sort)?;
        let mut snippets = Snippets::new(&searcher, &*query, &self.fields, options.highlight);

        let hits = if options.group_threads {
            self.thread_hits(&searcher, ranked, options.limit, &mut snippets)?
        } else {
            let mut hits = Vec::with_capacity(ranked.len());
            for (score, address) in ranked {
                let doc: TantivyDocument = searcher.doc(address)?;
                hits.push(self.hit(&doc, score, &mut snippets)?);
            }
            hits
        };
        tracing::debug!(query = query_text, hits = hits.len(), "searched");
        Ok(hits)
    }

    /// How many messages match the query per deal, most first; messages
    /// without a deal are not counted.
    pub fn counts_per_deal(&self, query_text: &str) -> Result<Vec<(String, usize)>> {
        let searcher = self.reader.searcher();
        let query = self.parse(&searcher, query_text)?;
        let mut collector = FacetCollector::for_field("deal_facet");
        collector.add_facet(Facet::root());
        let counts = searcher.search(&*query, &collector)?;
        let mut out: Vec<(String, usize)> = counts
            .get(Facet::root())
            .map(|(facet, count)| {
                let deal = facet.to_path().last().copied().unwrap_or_default();
                (deal.to_string(), count as usize)
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// How many messages a query matches, without loading any.
    pub fn count(&self, query_text: &str) -> Result<usize> {
        let searcher = self.reader.searcher();
        let query = self.parse(&searcher, query_text)?;
        Ok(searcher.search(&*query, &Count)?)
    }

    fn parse(&self, searcher: &Searcher, text: &str) -> Result<Box<dyn Query>> {
        let f = &self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.subject, f.body]);
        // Sales people type "budget approval" meaning both words.
        parser.set_conjunction_by_default();
        // Our rewrite turns `word*` into a regex over the exact fields.
        parser.allow_regexes();
        let context = query::QueryContext {
            languages_in_use: self.languages_in_use(searcher)?,
            stemmed_languages: f.stemmed.iter().map(|s| s.code).collect(),
            today: Utc::now().date_naive(),
        };
        query::parse(&parser, text, &context)
    }

    /// Languages whose stemmed body or subject field holds any term: the
    /// query side stems free words with these stemmers only, which keeps
    /// an index of English and Swedish mail from paying for sixteen
    /// stemmers it never needs.
    fn languages_in_use(&self, searcher: &Searcher) -> Result<Vec<&'static str>> {
        let mut used = Vec::new();
        for stemmed in &self.fields.stemmed {
            let mut any = false;
            for segment in searcher.segment_readers() {
                for field in [stemmed.body, stemmed.subject] {
                    any |= segment.inverted_index(field)?.terms().num_terms() > 0;
                }
            }
            if any {
                used.push(stemmed.code);
            }
        }
        Ok(used)
    }

    fn ranked(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        limit: usize,
        sort: Sort,
    ) -> Result<Vec<(f32, DocAddress)>> {
        let by_date = |order: Order| -> Result<Vec<(f32, DocAddress)>> {
            let top =
                TopDocs::with_limit(limit).order_by_fast_field::<tantivy::DateTime>("date", order);
            Ok(searcher
                .search(query, &top)?
                .into_iter()
                .map(|(_, address)| (0.0, address))
                .collect())
        };
        match sort {
            Sort::Relevance => {
                Ok(searcher.search(query, &TopDocs::with_limit(limit).order_by_score())?)
            }
            Sort::DateDesc => by_date(Order::Desc),
            Sort::DateAsc => by_date(Order::Asc),
        }
    }

    /// Groups ranked messages by thread, keeping the rank of each thread's
    /// first message.
    fn thread_hits(
        &self,
        searcher: &Searcher,
        ranked: Vec<(f32, DocAddress)>,
        limit: usize,
        snippets: &mut Snippets,
    ) -> Result<Vec<Hit>> {
        let mut order: Vec<(String, f32, DocAddress, usize)> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (score, address) in ranked {
            let doc: TantivyDocument = searcher.doc(address)?;
            let thread = stored_text(&doc, self.fields.thread);
            match seen.get(&thread) {
                Some(&at) => order[at].3 += 1,
                None => {
                    seen.insert(thread.clone(), order.len());
                    order.push((thread, score, address, 1));
                }
            }
        }

        let mut hits = Vec::new();
        for (thread, score, address, matched) in order.into_iter().take(limit) {
            let doc: TantivyDocument = searcher.doc(address)?;
            let mut hit = self.hit(&doc, score, snippets)?;
            let term = Term::from_field_text(self.fields.thread, &thread);
            let total = searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)?;
            hit.thread = Some(ThreadSummary { matched, total });
            hits.push(hit);
        }
        Ok(hits)
    }

    fn hit(&self, doc: &TantivyDocument, score: f32, snippets: &mut Snippets) -> Result<Hit> {
        let f = &self.fields;
        let body = stored_text(doc, f.body);
        let language = stored_text(doc, f.lang);
        let snippet = snippets.render(&body, &language)?;
        let date = doc
            .get_first(f.date)
            .and_then(|v| v.as_datetime())
            .map(|d| Utc.timestamp_nanos(d.into_timestamp_nanos()));
        let deal = stored_text(doc, f.deal);
        Ok(Hit {
            message_id: stored_text(doc, f.message_id),
            thread_id: stored_text(doc, f.thread),
            date,
            from: stored_text(doc, f.from),
            deal_id: (!deal.is_empty()).then_some(deal),
            subject: stored_text(doc, f.subject),
            source: stored_text(doc, f.source),
            language,
            snippet,
            score,
            thread: None,
        })
    }
}

fn stored_text(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Snippet generators, one per language met, made on first use: a stemmed
/// match ("avtal" for "avtalet") is only found again by the analyzer that
/// made it.
struct Snippets<'a> {
    searcher: &'a Searcher,
    query: &'a dyn Query,
    fields: &'a Fields,
    highlight: Highlight,
    exact: Option<SnippetGenerator>,
    stemmed: HashMap<String, SnippetGenerator>,
}

impl<'a> Snippets<'a> {
    fn new(
        searcher: &'a Searcher,
        query: &'a dyn Query,
        fields: &'a Fields,
        highlight: Highlight,
    ) -> Snippets<'a> {
        Snippets {
            searcher,
            query,
            fields,
            highlight,
            exact: None,
            stemmed: HashMap::new(),
        }
    }

    fn generator(&self, field: Field) -> Result<SnippetGenerator> {
        let mut generator = SnippetGenerator::create(self.searcher, self.query, field)?;
        generator.set_max_num_chars(SNIPPET_CHARS);
        Ok(generator)
    }

    fn render(&mut self, body: &str, language: &str) -> Result<String> {
        let mut end = body.len().min(SNIPPET_SCAN_BYTES);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        let body = &body[..end];
        if self.exact.is_none() {
            self.exact = Some(self.generator(self.fields.body)?);
        }
        let exact = self.exact.as_ref().expect("made above").snippet(body);
        if !exact.is_empty() {
            return Ok(render_snippet(&exact, body, self.highlight));
        }
        if let Some(stemmed) = self.fields.stemmed_for(language) {
            if !self.stemmed.contains_key(language) {
                let generator = self.generator(stemmed.body)?;
                self.stemmed.insert(language.to_string(), generator);
            }
            let snippet = self.stemmed[language].snippet(body);
            return Ok(render_snippet(&snippet, body, self.highlight));
        }
        Ok(render_snippet(&exact, body, self.highlight))
    }
}

/// The terms under which an address is found: the address itself, its
/// domain and each parent domain that still has a dot (`eu.x.example`,
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
}
