//! The search index's fields and the analyzers behind them.
//!
//! Prose is indexed twice: once unstemmed (folded and lower-cased) in
//! `subject`/`body`, for exact phrases, and once more in the stemmed field
//! of the message's language (`subject_sv`, `body_de`, ...). A Tantivy field
//! has one tokenizer, so choosing a stemmer per document means choosing a
//! field per document; the query side then asks the stemmed fields of the
//! languages it cares about (see [`super::query`]).

use tantivy::schema::{
    DateOptions, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, TextAnalyzer, TokenizerManager,
};

/// Tokenizer for unstemmed prose: words, lower case, diacritics folded, so
/// that "godkand" typed on an English keyboard finds "godkänd".
pub(super) const TEXT_TOKENIZER: &str = "dealsignal_text";

/// Tokenizer for identifiers (deal ids, addresses, thread keys): one token,
/// lower case, so `deal:d-1001` and `deal:D-1001` are the same search.
pub(super) const ID_TOKENIZER: &str = "dealsignal_id";

/// The Snowball stemmers Tantivy ships, by ISO 639-1 code. The code is
/// what the NLP stage writes in `Analysis::language`.
pub(super) const STEMMED_LANGUAGES: [(&str, Language); 18] = [
    ("ar", Language::Arabic),
    ("da", Language::Danish),
    ("nl", Language::Dutch),
    ("en", Language::English),
    ("fi", Language::Finnish),
    ("fr", Language::French),
    ("de", Language::German),
    ("el", Language::Greek),
    ("hu", Language::Hungarian),
    ("it", Language::Italian),
    ("no", Language::Norwegian),
    ("pt", Language::Portuguese),
    ("ro", Language::Romanian),
    ("ru", Language::Russian),
    ("es", Language::Spanish),
    ("sv", Language::Swedish),
    ("ta", Language::Tamil),
    ("tr", Language::Turkish),
];

/// The stemmed subject and body fields of one language.
#[derive(Debug, Clone, Copy)]
pub(super) struct StemmedFields {
    pub code: &'static str,
    pub subject: Field,
    pub body: Field,
}

/// The schema's fields, looked up once so indexing and searching never
/// spell a field name twice.
#[derive(Debug, Clone)]
pub(super) struct Fields {
    pub message_id: Field,
    pub thread: Field,
    pub source: Field,
    pub deal: Field,
    /// The deal as a facet, so counts per deal come from one collector.
    pub deal_facet: Field,
    pub account: Field,
    pub owner: Field,
    pub from: Field,
    pub from_name: Field,
    pub from_addr: Field,
    pub to: Field,
    pub to_addr: Field,
    pub cc: Field,
    pub cc_addr: Field,
    pub subject: Field,
    pub body: Field,
    pub stemmed: Vec<StemmedFields>,
    pub lang: Field,
    pub kind: Field,
    pub direction: Field,
    pub signal: Field,
    pub has: Field,
    pub sentiment: Field,
    pub date: Field,
}

impl Fields {
    pub fn build() -> (Schema, Fields) {
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
        let number = NumericOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored();

        let stemmed = STEMMED_LANGUAGES
            .iter()
            .map(|&(code, _)| {
                let options = TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(&stem_tokenizer_name(code))
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                );
                StemmedFields {
                    code,
                    subject: builder.add_text_field(&format!("subject_{code}"), options.clone()),
                    body: builder.add_text_field(&format!("body_{code}"), options),
                }
            })
            .collect();

        let fields = Fields {
            // The id is matched exactly (replace on re-add), so it keeps its case.
            message_id: builder.add_text_field("message_id", STRING | STORED),
            thread: builder.add_text_field("thread", id.clone() | STORED),
            source: builder.add_text_field("source", STORED),
            deal: builder.add_text_field("deal", id.clone() | STORED),
            deal_facet: builder.add_facet_field("deal_facet", FacetOptions::default()),
            account: builder.add_text_field("account", text.clone() | STORED),
            owner: builder.add_text_field("owner", text.clone() | STORED),
            from: builder.add_text_field("from", text.clone() | STORED),
            from_name: builder.add_text_field("from_name", text.clone() | STORED),
            // The full address plus its domain and parent domains, so that
            // `from:x.example` matches `anna@x.example` and `bo@eu.x.example`.
            from_addr: builder.add_text_field("from_addr", id.clone()),
            to: builder.add_text_field("to", text.clone() | STORED),
            to_addr: builder.add_text_field("to_addr", id.clone()),
            cc: builder.add_text_field("cc", text.clone() | STORED),
            cc_addr: builder.add_text_field("cc_addr", id),
            subject: builder.add_text_field("subject", text.clone() | STORED),
            body: builder.add_text_field("body", text | STORED),
            stemmed,
            lang: builder.add_text_field("lang", STRING | STORED),
            kind: builder.add_text_field("kind", STRING | STORED),
            direction: builder.add_text_field("direction", STRING | STORED),
            signal: builder.add_text_field("signal", STRING | STORED),
            has: builder.add_text_field("has", STRING | STORED),
            sentiment: builder.add_f64_field("sentiment", number),
            date: builder.add_date_field("date", date),
        };
        (builder.build(), fields)
    }

    /// The stemmed fields of a language code, if Tantivy has its stemmer.
    pub fn stemmed_for(&self, code: &str) -> Option<StemmedFields> {
        self.stemmed.iter().find(|s| s.code == code).copied()
    }
}

fn stem_tokenizer_name(code: &str) -> String {
    format!("dealsignal_stem_{code}")
}

/// Registers every analyzer the schema names. Tokenizers are not saved in
/// the index, so this runs on every open.
pub(super) fn register_analyzers(tokenizers: &TokenizerManager) {
    tokenizers.register(TEXT_TOKENIZER, text_analyzer());
    tokenizers.register(ID_TOKENIZER, id_analyzer());
    for (code, language) in STEMMED_LANGUAGES {
        tokenizers.register(&stem_tokenizer_name(code), stem_analyzer(language));
    }
}

/// The analyzer for unstemmed prose fields.
pub(super) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Stems before folding: the Snowball rules are written for the real
/// spelling ("avtalet", "Verträge"), and folding afterwards still lets a
/// query typed without diacritics meet the stem.
pub(super) fn stem_analyzer(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(language))
        .filter(AsciiFoldingFilter)
        .build()
}

fn id_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words
    }

    #[test]
    fn text_analyzer_folds_diacritics_and_case() {
        assert_eq!(
            tokens(text_analyzer(), "Budgeten är GODKÄND"),
            vec!["budgeten", "ar", "godkand"]
        );
    }

    #[test]
    fn swedish_and_german_stemmers_meet_the_base_form() {
        let sv = || stem_analyzer(Language::Swedish);
        assert_eq!(tokens(sv(), "avtalet"), tokens(sv(), "avtal"));
        let de = || stem_analyzer(Language::German);
        assert_eq!(tokens(de(), "Verträge"), tokens(de(), "Vertrag"));
    }

    #[test]
    fn every_stemmed_language_has_both_fields() {
        let (schema, fields) = Fields::build();
        assert_eq!(fields.stemmed.len(), STEMMED_LANGUAGES.len());
        assert!(schema.get_field("body_sv").is_ok());
        assert!(fields.stemmed_for("de").is_some());
        assert!(fields.stemmed_for("und").is_none());
    }
}
