//! The search query language: Tantivy's grammar plus the fields users
//! think in.
//!
//! Tantivy parses the text into an AST; this module rewrites the leaves
//! Tantivy cannot interpret on its own before its `QueryParser` builds the
//! query:
//! - `from:anna@x.example`, `from:x.example`: exact sender address or domain;
//!   `from:anna` (no `@` or `.`) looks for the word in address and name.
//! - `date:2024-01-01..2024-03-31`, `date:2024-01-01..`, `date:..2024-03-31`,
//!   `date:2024-01-31`: whole days, both ends included, UTC.
//! - `date:[2024-01-01 TO 2024-02-01]`, `date:>=2024-01-01`: Tantivy's own
//!   range syntax, with plain dates accepted as well as RFC 3339.
//!
//! Every failure becomes [`Error::Query`] with a reason a user can act on.

use chrono::NaiveDate;
use tantivy::query::{Occur, Query, QueryParser, QueryParserError};
use tantivy::query_grammar::{self, UserInputAst, UserInputBound, UserInputLeaf};

use crate::error::{Error, Result};

/// Longest query accepted. Far beyond anything typed, it bounds the parser's
/// work on pasted text.
const MAX_QUERY_BYTES: usize = 4096;

/// Deepest parenthesis nesting accepted; the grammar recurses per level.
const MAX_NESTING: usize = 32;

/// Field names a user may write; the rest of the schema is internal.
const USER_FIELDS: &str = "from, to, subject, body, deal, kind, date";

/// Parses a user query into a Tantivy query over the index's fields.
pub(super) fn parse(parser: &QueryParser, text: &str) -> Result<Box<dyn Query>> {
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
    let ast = rewrite(ast).map_err(fail)?;
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
        QueryParserError::FieldDoesNotExist(field) => {
            format!(
                "unknown field `{field}:`; the fields are {USER_FIELDS} \
                 (write \\: to search for a colon)"
            )
        }
        QueryParserError::FieldDoesNotHavePositionsIndexed(field) => {
            format!("`{field}:` does not support \"phrases\"")
        }
        QueryParserError::AllButQueryForbidden => {
            "a query cannot only exclude: add something to look for besides NOT/-".to_string()
        }
        QueryParserError::DateFormatError(_) => {
            "dates are written 2024-01-31 (or 2024-01-31T09:00:00Z)".to_string()
        }
        QueryParserError::UnsupportedQuery(what) => format!("not supported: {what}"),
        other => other.to_string(),
    }
}

fn rewrite(ast: UserInputAst) -> std::result::Result<UserInputAst, String> {
    Ok(match ast {
        UserInputAst::Clause(clauses) => UserInputAst::Clause(
            clauses
                .into_iter()
                .map(|(occur, sub)| rewrite(sub).map(|sub| lift_negation(occur, sub)))
                .collect::<std::result::Result<_, _>>()?,
        ),
        UserInputAst::Boost(inner, boost) => {
            let inner = rewrite(*inner)?;
            UserInputAst::Boost(Box::new(inner), boost)
        }
        UserInputAst::Leaf(leaf) => rewrite_leaf(*leaf)?,
    })
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

fn rewrite_leaf(leaf: UserInputLeaf) -> std::result::Result<UserInputAst, String> {
    match leaf {
        UserInputLeaf::Literal(mut literal) => match literal.field_name.as_deref() {
            Some("from") => {
                let value = literal.phrase.trim().trim_start_matches('@').to_lowercase();
                if value.contains('@') || value.contains('.') {
                    literal.field_name = Some("from_addr".into());
                    literal.phrase = value;
                    Ok(UserInputLeaf::Literal(literal).into())
                } else {
                    let mut by_name = literal.clone();
                    by_name.field_name = Some("from_name".into());
                    Ok(UserInputAst::Clause(vec![
                        (Some(Occur::Should), UserInputLeaf::Literal(literal).into()),
                        (Some(Occur::Should), UserInputLeaf::Literal(by_name).into()),
                    ]))
                }
            }
            Some("date") => {
                let (lower, upper) = date_span(&literal.phrase)?;
                Ok(date_range(lower, upper).into())
            }
            _ => Ok(UserInputLeaf::Literal(literal).into()),
        },
        UserInputLeaf::Range {
            field: Some(field),
            lower,
            upper,
        } if field == "date" => Ok(UserInputLeaf::Range {
            field: Some(field),
            lower: date_bound(lower, false)?,
            upper: date_bound(upper, true)?,
        }
        .into()),
        other => Ok(other.into()),
    }
}

/// Reads `A..B`, `A..`, `..B` or `A` into whole-day bounds.
fn date_span(text: &str) -> std::result::Result<(Option<NaiveDate>, Option<NaiveDate>), String> {
    let bad = || {
        format!(
            "date:{text} is not a date range; write date:2024-01-01..2024-03-31 \
             (either side may be left out) or date:2024-01-31"
        )
    };
    let day = |part: &str| -> std::result::Result<Option<NaiveDate>, String> {
        let part = part.trim();
        if part.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(part, "%Y-%m-%d")
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

    #[test]
    fn date_span_reads_both_open_and_single_day_forms() {
        assert_eq!(
            date_span("2024-01-01..2024-03-31").unwrap(),
            (Some(day("2024-01-01")), Some(day("2024-03-31")))
        );
        assert_eq!(
            date_span("2024-01-01..").unwrap(),
            (Some(day("2024-01-01")), None)
        );
        assert_eq!(
            date_span("..2024-03-31").unwrap(),
            (None, Some(day("2024-03-31")))
        );
        assert_eq!(
            date_span("2024-02-29").unwrap(),
            (Some(day("2024-02-29")), Some(day("2024-02-29")))
        );
    }

    #[test]
    fn date_span_rejects_garbage_reversed_and_empty_ranges() {
        assert!(date_span("garbage").is_err());
        assert!(date_span("2024-13-01").is_err());
        assert!(date_span("2024-03-01..2024-01-01").is_err());
        assert!(date_span("..").is_err());
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
