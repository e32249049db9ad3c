//! The search query language: Tantivy's grammar plus the fields users
//! think in.
//!
//! Tantivy parses the text into an AST; this module rewrites the leaves
//! before Tantivy's `QueryParser` turns them into a query:
//! - free words look in subject and body, unstemmed and stemmed in every
//!   language present in the index (or only the language of `lang:xx`
//!   when the query asks for one: stemming Swedish text with the English
//!   stemmer only adds false matches). "Quoted phrases", with optional
//!   slop (`"budget approved"~2`), match the unstemmed words only, so a
//!   phrase means exactly what was typed, diacritics and case aside.
//! - `from:`, `to:`, `cc:` with an address or domain match it exactly (and
//!   sub-domains); a bare word looks in the address text and sender name.
//! - `subject:`, `body:` restrict free words to one field; `deal:`,
//!   `thread:`, `account:`, `owner:` as written.
//! - `signal:budget_approved`, `lang:sv`, `kind:call|email`,
//!   `direction:inbound`, `has:attachment`: checked against the values
//!   that exist, so a typo is an error rather than an empty result.
//! - `date:2024-01-01..2024-03-31`, `date:2024-01-01..`, `date:..2024-03-31`,
//!   `date:2024-01-31`: whole days, both ends included, UTC; relative days
//!   `date:30d..` (d, w, m, y before today) and `date:today`.
//! - `date:[2024-01-01 TO 2024-02-01]`, `date:>=2024-01-01`: Tantivy's own
//!   range syntax, with plain dates accepted as well as RFC 3339.
//! - `sentiment:0.3..`, `sentiment:-1..-0.2`, `sentiment:>0.5`,
//!   `sentiment:positive|neutral|negative`: ranges on the -1..1 score.
//!
//! Every failure becomes [`Error::Query`] with a reason a user can act on.

use chrono::{Months, NaiveDate};
use tantivy::query::{Occur, Query, QueryParser, QueryParserError};
use tantivy::query_grammar::{
    self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf, UserInputLiteral,
};
use tantivy::tokenizer::TokenStream;

use crate::domain::SignalKind;
use crate::error::{Error, Result};

/// Longest query accepted. Far beyond anything typed, it bounds the parser's
/// work on pasted text.
const MAX_QUERY_BYTES: usize = 4096;

/// Deepest parenthesis nesting accepted; the grammar recurses per level.
const MAX_NESTING: usize = 32;

/// Field names a user may write; the rest of the schema is internal.
const USER_FIELDS: [&str; 16] = [
    "from",
    "to",
    "cc",
    "subject",
    "body",
    "deal",
    "account",
    "owner",
    "signal",
    "lang",
    "kind",
    "direction",
    "has",
    "thread",
    "date",
    "sentiment",
];

/// Sentiment above this reads as positive, below its negation as negative.
const SENTIMENT_NEUTRAL_BAND: f64 = 0.2;

/// What the rewrite needs to know about the index and the clock.
#[derive(Debug, Clone)]
pub(super) struct QueryContext {
    /// Language codes with stemmed fields that hold any document.
    pub languages_in_use: Vec<&'static str>,
    /// Every language code that has stemmed fields in the schema.
    pub stemmed_languages: Vec<&'static str>,
    /// The day relative dates count back from.
    pub today: NaiveDate,
}

/// Parses a user query into a Tantivy query over the index's fields.
pub(super) fn parse(
    parser: &QueryParser,
    text: &str,
    context: &QueryContext,
) -> Result<Box<dyn Query>> {
    let fail = |reason: String| Error::Query {
        query: text.to_string(),
        reason,
    };

    if text.trim().is_empty() {
        return Err(fail("empty query: type the words to look for".into()));
    }
    if text.len() > MAX_QUERY_BYTES {
        // Echoing all of a pasted megabyte would bury the reason.
        let start: String = text.chars().take(60).collect();
        return Err(Error::Query {
            query: format!("{start}…"),
            reason: format!(
                "query is {} bytes long, the limit is {MAX_QUERY_BYTES}",
                text.len()
            ),
        });
    }
    if nesting(text) > MAX_NESTING {
        return Err(fail(format!(
            "parentheses nest deeper than {MAX_NESTING} levels"
        )));
    }

    let ast = query_grammar::parse_query(text).map_err(|_| fail(syntax_reason(text)))?;
    let rewriter = Rewriter::new(&ast, context);
    let ast = rewriter.rewrite(ast).map_err(fail)?;
    parser
        .build_query_from_user_input_ast(ast)
        .map_err(|e| fail(parser_reason(e)))
}

/// Deepest `(` nesting outside quotes; an upper bound is all that is needed.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Asks the lenient grammar where the strict one gave up, to say more than
/// "syntax error".
fn syntax_reason(text: &str) -> String {
    let (_, errors) = query_grammar::parse_query_lenient(text);
    match errors.first() {
        Some(error) => format!(
            "syntax error at character {}: {}",
            text[..error.pos.min(text.len())].chars().count() + 1,
            error.message
        ),
        None if text.trim_end().ends_with(':') => {
            "a field name needs a value after the colon, e.g. subject:budget".to_string()
        }
        None => "syntax error (check quotes, parentheses and `field:` parts)".to_string(),
    }
}

fn parser_reason(error: QueryParserError) -> String {
    match error {
        QueryParserError::FieldDoesNotExist(field) => unknown_field(&field),
        QueryParserError::FieldDoesNotHavePositionsIndexed(field) => {
            format!("`{field}:` does not support \"phrases\"")
        }
        QueryParserError::AllButQueryForbidden => {
            "a query cannot only exclude: add something to look for besides NOT/-".to_string()
        }
        QueryParserError::DateFormatError(_) => {
            "dates are written 2024-01-31 (or 2024-01-31T09:00:00Z)".to_string()
        }
        QueryParserError::ExpectedFloat(_) => {
            "sentiment is a number from -1 to 1, e.g. sentiment:>0.3".to_string()
        }
        QueryParserError::UnsupportedQuery(what) => format!("not supported: {what}"),
        other => other.to_string(),
    }
}

fn unknown_field(field: &str) -> String {
    format!(
        "unknown field `{field}:`; the fields are {} (write \\: to search for a colon)",
        USER_FIELDS.join(", ")
    )
}

type Rewritten = std::result::Result<UserInputAst, String>;

/// Rewrites one parsed query; knows which stemmed fields free words use.
struct Rewriter<'a> {
    context: &'a QueryContext,
    /// Languages whose stemmed fields free words are looked up in.
    stem_languages: Vec<&'static str>,
}

impl<'a> Rewriter<'a> {
    fn new(ast: &UserInputAst, context: &'a QueryContext) -> Rewriter<'a> {
        let mut asked = Vec::new();
        wanted_languages(ast, false, &mut asked);
        asked.sort();
        asked.dedup();
        let stem_languages = if asked.is_empty() {
            context.languages_in_use.clone()
        } else {
            // `lang:xx` without a stemmer (or unknown) leaves only the
            // unstemmed fields, which is still a correct search.
            context
                .stemmed_languages
                .iter()
                .copied()
                .filter(|code| asked.iter().any(|a| a == code))
                .collect()
        };
        Rewriter {
            context,
            stem_languages,
        }
    }

    fn rewrite(&self, ast: UserInputAst) -> Rewritten {
        Ok(match ast {
            UserInputAst::Clause(clauses) => UserInputAst::Clause(
                clauses
                    .into_iter()
                    .map(|(occur, sub)| self.rewrite(sub).map(|sub| lift_negation(occur, sub)))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            UserInputAst::Boost(inner, boost) => {
                let inner = self.rewrite(*inner)?;
                UserInputAst::Boost(Box::new(inner), boost)
            }
            UserInputAst::Leaf(leaf) => self.rewrite_leaf(*leaf)?,
        })
    }

    fn rewrite_leaf(&self, leaf: UserInputLeaf) -> Rewritten {
        match leaf {
            UserInputLeaf::Literal(literal) => self.rewrite_literal(literal),
            UserInputLeaf::Range {
                field: Some(field),
                lower,
                upper,
            } => match field.as_str() {
                "date" => Ok(UserInputLeaf::Range {
                    field: Some(field),
                    lower: date_bound(lower, false)?,
                    upper: date_bound(upper, true)?,
                }
                .into()),
                "sentiment" => Ok(UserInputLeaf::Range {
                    field: Some(field),
                    lower,
                    upper,
                }
                .into()),
                other => Err(format!(
                    "`{other}:` does not take a range; only date: and sentiment: do"
                )),
            },
            UserInputLeaf::Set {
                field: Some(field), ..
            }
            | UserInputLeaf::Regex {
                field: Some(field), ..
            } if !USER_FIELDS.contains(&field.as_str()) => Err(unknown_field(&field)),
            UserInputLeaf::Exists { field } if !USER_FIELDS.contains(&field.as_str()) => {
                Err(unknown_field(&field))
            }
            other => Ok(other.into()),
        }
    }

    fn rewrite_literal(&self, mut literal: UserInputLiteral) -> Rewritten {
        let Some(field) = literal.field_name.clone() else {
            return Ok(self.prose(literal, &["subject", "body"]));
        };
        let value = literal.phrase.trim().to_lowercase();
        match field.as_str() {
            "subject" | "body" => Ok(self.prose(literal, &[field.as_str()])),
            "from" | "to" | "cc" => Ok(address(literal, &field)),
            "deal" | "thread" | "account" | "owner" => Ok(UserInputLeaf::Literal(literal).into()),
            "signal" => {
                let kind = SignalKind::parse(&value).ok_or_else(|| {
                    let names: Vec<&str> = SignalKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("unknown signal `{value}`; signals are {}", names.join(", "))
                })?;
                literal.phrase = kind.as_str().to_string();
                Ok(UserInputLeaf::Literal(literal).into())
            }
            "lang" => {
                let is_code = value.len() == 2 && value.chars().all(|c| c.is_ascii_lowercase());
                if !is_code && value != "und" {
                    return Err(format!(
                        "lang:{value} is not a language code; write two letters \
                         like lang:sv or lang:de (lang:und for unknown)"
                    ));
                }
                literal.phrase = value;
                Ok(UserInputLeaf::Literal(literal).into())
            }
            "kind" => one_of(literal, &value, &["email", "call"]),
            "direction" => one_of(literal, &value, &["inbound", "outbound", "internal"]),
            "has" => one_of(literal, &value, &["attachment"]),
            "date" => {
                let (lower, upper) = date_span(&literal.phrase, self.context.today)?;
                Ok(date_range(lower, upper).into())
            }
            "sentiment" => sentiment_range(&value).map(Into::into),
            other => Err(unknown_field(other)),
        }
    }

    /// Free words in the given prose fields: unstemmed and stemmed for
    /// words, unstemmed only for phrases and prefixes.
    fn prose(&self, literal: UserInputLiteral, fields: &[&str]) -> UserInputAst {
        if let Some(prefix) = single_word_prefix(&literal) {
            return word_prefix(&prefix, fields);
        }
        let exact_only = literal.delimiter != Delimiter::None || literal.prefix;
        let mut names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        if !exact_only {
            for code in &self.stem_languages {
                names.extend(fields.iter().map(|f| format!("{f}_{code}")));
            }
        }
        should_over(literal, names)
    }
}

/// The folded beginning of `energ*`: one bare word with a trailing star.
/// Tantivy's grammar keeps the star inside a bare word and its parser only
/// expands the last word of a quoted phrase (`"big bad wo"*`), so a lone
/// prefixed word is rewritten here.
fn single_word_prefix(literal: &UserInputLiteral) -> Option<String> {
    if literal.delimiter != Delimiter::None {
        return None;
    }
    let word = literal.phrase.trim();
    let stem = word.strip_suffix('*')?;
    if stem.is_empty() || stem.contains(char::is_whitespace) {
        return None;
    }
    let mut analyzer = super::schema::text_analyzer();
    let mut words = Vec::new();
    analyzer
        .token_stream(stem)
        .process(&mut |token| words.push(token.text.clone()));
    match words.as_slice() {
        [word] => Some(word.clone()),
        _ => None,
    }
}

/// Every indexed word that starts with `prefix`, in the unstemmed fields:
/// a stem would cut the prefix itself ("regulat" is not a stem of "regulation").
fn word_prefix(prefix: &str, fields: &[&str]) -> UserInputAst {
    let pattern = format!("{}.*", regex_escape(prefix));
    let clauses = fields
        .iter()
        .map(|field| {
            let leaf = UserInputLeaf::Regex {
                field: Some(field.to_string()),
                pattern: pattern.clone(),
            };
            (Some(Occur::Should), leaf.into())
        })
        .collect();
    UserInputAst::Clause(clauses)
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The same literal looked up in each field, any of which may match.
fn should_over(literal: UserInputLiteral, fields: Vec<String>) -> UserInputAst {
    let clauses = fields
        .into_iter()
        .map(|field| {
            let mut one = literal.clone();
            one.field_name = Some(field);
            (Some(Occur::Should), UserInputLeaf::Literal(one).into())
        })
        .collect();
    UserInputAst::Clause(clauses)
}

/// `from:`/`to:`/`cc:`: an address or domain is matched exactly against the
/// address terms; a bare word is looked up in the address text (and for
/// `from:` also in the sender's name).
fn address(mut literal: UserInputLiteral, field: &str) -> UserInputAst {
    let value = literal.phrase.trim().trim_start_matches('@').to_lowercase();
    if value.contains('@') || value.contains('.') {
        literal.field_name = Some(format!("{field}_addr"));
        literal.phrase = value;
        return UserInputLeaf::Literal(literal).into();
    }
    let mut fields = vec![field.to_string()];
    if field == "from" {
        fields.push("from_name".to_string());
    }
    should_over(literal, fields)
}

/// A keyword field with a closed set of values; `a|b` means either.
fn one_of(literal: UserInputLiteral, value: &str, allowed: &[&str]) -> Rewritten {
    let field = literal.field_name.clone().unwrap_or_default();
    let wanted: Vec<&str> = value.split('|').map(str::trim).collect();
    for one in &wanted {
        if !allowed.contains(one) {
            return Err(format!(
                "{field}:{one} is not known; write {}",
                allowed
                    .iter()
                    .map(|a| format!("{field}:{a}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
    }
    let clauses = wanted
        .into_iter()
        .map(|one| {
            let mut leaf = literal.clone();
            leaf.phrase = one.to_string();
            (Some(Occur::Should), UserInputLeaf::Literal(leaf).into())
        })
        .collect();
    Ok(UserInputAst::Clause(clauses))
}

/// Collects the `lang:` values a query requires (not those under NOT).
fn wanted_languages(ast: &UserInputAst, negated: bool, out: &mut Vec<String>) {
    match ast {
        UserInputAst::Clause(clauses) => {
            for (occur, sub) in clauses {
                let negated = negated ^ (*occur == Some(Occur::MustNot));
                wanted_languages(sub, negated, out);
            }
        }
        UserInputAst::Boost(inner, _) => wanted_languages(inner, negated, out),
        UserInputAst::Leaf(leaf) => {
            if let UserInputLeaf::Literal(literal) = leaf.as_ref() {
                if literal.field_name.as_deref() == Some("lang") && !negated {
                    out.push(literal.phrase.trim().to_lowercase());
                }
            }
        }
    }
}

/// The grammar reads `a AND NOT b` as `+a +(-b)`, and a clause holding only
/// an exclusion matches nothing, so the whole query would match nothing.
/// Pulling the lone `-b` up one level gives what the user meant: `+a -b`.
fn lift_negation(occur: Option<Occur>, sub: UserInputAst) -> (Option<Occur>, UserInputAst) {
    match sub {
        UserInputAst::Clause(mut inner)
            if inner.len() == 1 && inner[0].0 == Some(Occur::MustNot) =>
        {
            let (_, only) = inner.pop().expect("one clause");
            let outer = occur.unwrap_or(Occur::Should);
            (Some(Occur::compose(outer, Occur::MustNot)), only)
        }
        other => (occur, other),
    }
}

/// `sentiment:0.3..`, `sentiment:-1..-0.2`, `sentiment:0.5` or a word.
fn sentiment_range(text: &str) -> std::result::Result<UserInputLeaf, String> {
    let bad = || {
        format!(
            "sentiment:{text} is not a range; write sentiment:0.3.. or sentiment:-1..-0.2 \
             (numbers from -1 to 1) or sentiment:positive|neutral|negative"
        )
    };
    let number = |part: &str| -> std::result::Result<Option<f64>, String> {
        let part = part.trim();
        if part.is_empty() {
            return Ok(None);
        }
        match part.parse::<f64>() {
            Ok(n) if (-1.0..=1.0).contains(&n) => Ok(Some(n)),
            _ => Err(bad()),
        }
    };
    let band = SENTIMENT_NEUTRAL_BAND;
    let (lower, upper, upper_inclusive) = match text {
        "positive" => (Some(band), None, true),
        "negative" => (None, Some(-band), false),
        "neutral" => (Some(-band), Some(band), true),
        _ => match text.split_once("..") {
            Some((from, to)) => (number(from)?, number(to)?, true),
            None => {
                let n = number(text)?.ok_or_else(bad)?;
                (Some(n), Some(n), true)
            }
        },
    };
    if lower.is_none() && upper.is_none() {
        return Err(bad());
    }
    let lower = match lower {
        // "positive" means above the band, not at its edge.
        Some(n) if text == "positive" => UserInputBound::Exclusive(n.to_string()),
        Some(n) => UserInputBound::Inclusive(n.to_string()),
        None => UserInputBound::Unbounded,
    };
    let upper = match upper {
        Some(n) if upper_inclusive => UserInputBound::Inclusive(n.to_string()),
        Some(n) => UserInputBound::Exclusive(n.to_string()),
        None => UserInputBound::Unbounded,
    };
    Ok(UserInputLeaf::Range {
        field: Some("sentiment".into()),
        lower,
        upper,
    })
}

/// Reads `A..B`, `A..`, `..B` or `A` into whole-day bounds; each side is a
/// date, `today`, `yesterday` or a count of days, weeks, months or years
/// before today (`30d`, `2w`, `6m`, `1y`).
fn date_span(
    text: &str,
    today: NaiveDate,
) -> std::result::Result<(Option<NaiveDate>, Option<NaiveDate>), String> {
    let bad = || {
        format!(
            "date:{text} is not a date range; write date:2024-01-01..2024-03-31 \
             (either side may be left out), date:2024-01-31 or date:30d.. \
             (d, w, m, y before today)"
        )
    };
    let day = |part: &str| -> std::result::Result<Option<NaiveDate>, String> {
        let part = part.trim().to_lowercase();
        if part.is_empty() {
            return Ok(None);
        }
        if let Some(day) = relative_day(&part, today) {
            return Ok(Some(day));
        }
        NaiveDate::parse_from_str(&part, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad())
    };

    let (lower, upper) = match text.split_once("..") {
        Some((from, to)) => (day(from)?, day(to)?),
        None => {
            let single = day(text)?.ok_or_else(bad)?;
            (Some(single), Some(single))
        }
    };
    if let (Some(lower), Some(upper)) = (lower, upper) {
        if lower > upper {
            return Err(format!("date:{text} ends before it starts"));
        }
    }
    if lower.is_none() && upper.is_none() {
        return Err(bad());
    }
    Ok((lower, upper))
}

fn relative_day(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    match text {
        "today" => return Some(today),
        "yesterday" => return today.pred_opt(),
        _ => {}
    }
    let unit = text.chars().last()?;
    let count: u32 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        'd' => today.checked_sub_days(chrono::Days::new(count.into())),
        'w' => today.checked_sub_days(chrono::Days::new(u64::from(count) * 7)),
        'm' => today.checked_sub_months(Months::new(count)),
        'y' => today.checked_sub_months(Months::new(count.checked_mul(12)?)),
        _ => None,
    }
}

fn date_range(lower: Option<NaiveDate>, upper: Option<NaiveDate>) -> UserInputLeaf {
    let lower = match lower {
        Some(day) => UserInputBound::Inclusive(midnight(day)),
        None => UserInputBound::Unbounded,
    };
    // The last day counts whole: stop before the next midnight.
    let upper = match upper.and_then(|day| day.succ_opt()) {
        Some(next) => UserInputBound::Exclusive(midnight(next)),
        None => UserInputBound::Unbounded,
    };
    UserInputLeaf::Range {
        field: Some("date".into()),
        lower,
        upper,
    }
}

/// Lets Tantivy's own range syntax take plain dates. An inclusive upper
/// day includes all of that day.
fn date_bound(
    bound: UserInputBound,
    is_upper: bool,
) -> std::result::Result<UserInputBound, String> {
    let as_day = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
    Ok(match bound {
        UserInputBound::Inclusive(text) => match as_day(&text) {
            Some(day) if is_upper => match day.succ_opt() {
                Some(next) => UserInputBound::Exclusive(midnight(next)),
                None => UserInputBound::Unbounded,
            },
            Some(day) => UserInputBound::Inclusive(midnight(day)),
            None => UserInputBound::Inclusive(text),
        },
        UserInputBound::Exclusive(text) => match as_day(&text) {
            Some(day) if !is_upper => match day.succ_opt() {
                Some(next) => UserInputBound::Inclusive(midnight(next)),
                None => return Err(format!("no date comes after {day}")),
            },
            Some(day) => UserInputBound::Exclusive(midnight(day)),
            None => UserInputBound::Exclusive(text),
        },
        UserInputBound::Unbounded => UserInputBound::Unbounded,
    })
}

fn midnight(day: NaiveDate) -> String {
    format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn today() -> NaiveDate {
        day("2024-05-15")
    }

    #[test]
    fn relative_dates_count_back_from_today() {
        assert_eq!(
            date_span("30d..", today()).unwrap(),
            (Some(day("2024-04-15")), None)
        );
        assert_eq!(
            date_span("2w..1d", today()).unwrap(),
            (Some(day("2024-05-01")), Some(day("2024-05-14")))
        );
        assert_eq!(
            date_span("6m..", today()).unwrap().0,
            Some(day("2023-11-15"))
        );
        assert_eq!(
            date_span("1y..", today()).unwrap().0,
            Some(day("2023-05-15"))
        );
        assert_eq!(
            date_span("yesterday", today()).unwrap(),
            (Some(day("2024-05-14")), Some(day("2024-05-14")))
        );
        assert!(date_span("30x..", today()).is_err());
    }

    #[test]
    fn sentiment_words_and_numbers_become_ranges() {
        let UserInputLeaf::Range { lower, upper, .. } = sentiment_range("0.3..").unwrap() else {
            panic!("expected a range");
        };
        assert_eq!(lower, UserInputBound::Inclusive("0.3".into()));
        assert_eq!(upper, UserInputBound::Unbounded);
        let UserInputLeaf::Range { lower, .. } = sentiment_range("positive").unwrap() else {
            panic!("expected a range");
        };
        assert_eq!(lower, UserInputBound::Exclusive("0.2".into()));
        assert!(sentiment_range("1.5..").is_err());
        assert!(sentiment_range("happy").is_err());
        assert!(sentiment_range("..").is_err());
    }

    #[test]
    fn date_span_reads_both_open_and_single_day_forms() {
        assert_eq!(
            date_span("2024-01-01..2024-03-31", today()).unwrap(),
            (Some(day("2024-01-01")), Some(day("2024-03-31")))
        );
        assert_eq!(
            date_span("2024-01-01..", today()).unwrap(),
            (Some(day("2024-01-01")), None)
        );
        assert_eq!(
            date_span("..2024-03-31", today()).unwrap(),
            (None, Some(day("2024-03-31")))
        );
        assert_eq!(
            date_span("2024-02-29", today()).unwrap(),
            (Some(day("2024-02-29")), Some(day("2024-02-29")))
        );
    }

    #[test]
    fn date_span_rejects_garbage_reversed_and_empty_ranges() {
        assert!(date_span("garbage", today()).is_err());
        assert!(date_span("2024-13-01", today()).is_err());
        assert!(date_span("2024-03-01..2024-01-01", today()).is_err());
        assert!(date_span("..", today()).is_err());
    }

    #[test]
    fn date_range_includes_the_whole_last_day() {
        let leaf = date_range(Some(day("2024-01-01")), Some(day("2024-01-31")));
        let UserInputLeaf::Range { lower, upper, .. } = leaf else {
            panic!("expected a range, got {leaf:?}");
        };
        assert_eq!(
            lower,
            UserInputBound::Inclusive("2024-01-01T00:00:00Z".into())
        );
        assert_eq!(
            upper,
            UserInputBound::Exclusive("2024-02-01T00:00:00Z".into())
        );
    }

    #[test]
    fn nesting_counts_the_deepest_parenthesis() {
        assert_eq!(nesting("a (b (c) d) (e)"), 2);
        assert_eq!(nesting(")))"), 0);
    }
}
