//! Groups messages into conversations (ingest stage, after decoding, before
//! attribution).
//!
//! A thread is named after its root message: the first Message-ID in a
//! reply's References header, else its In-Reply-To, followed up the chain
//! as far as the messages at hand allow. Because the root is written in
//! every later reply's References, the name does not depend on which other
//! messages were read in the same run. Replies that lost their threading
//! headers (some clients, many forwards) fall back to the subject: "Re:
//! Offer" joins the thread of the earliest message titled "Offer".

use std::collections::HashMap;

use once_cell::sync::Lazy;
use regex::Regex;

use crate::domain::Message;

/// Reply and forward prefixes in the languages we see, and list tags such
/// as "[dev]", any number of them in front of a subject.
static PREFIX: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*((re|fw|fwd|sv|vs|aw|wg|tr|rif|antw|vb|r)(\[\d+\])?\s*:|\[[^\]]*\])\s*")
        .expect("subject prefix pattern is valid")
});

/// How far up an In-Reply-To chain we follow before stopping: a guard
/// against loops in broken headers.
const MAX_CHAIN: usize = 50;

/// The subject without reply/forward prefixes and list tags, lower case
/// and with single spaces, so that "RE: Fwd: [sales] Offer" and "offer"
/// compare equal.
pub fn subject_key(subject: &str) -> String {
    let mut rest = subject;
    while let Some(m) = PREFIX.find(rest) {
        if m.end() == 0 {
            break;
        }
        rest = &rest[m.end()..];
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Sets `thread_id` on every message that has none (call notes keep
/// theirs when the note named one).
pub fn assign_threads(messages: &mut [Message]) {
    let by_id: HashMap<&str, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    let parent = |m: &Message| -> Option<String> {
        m.references
            .first()
            .or(m.in_reply_to.as_ref())
            .filter(|p| !p.is_empty())
            .cloned()
    };

    let mut threads: Vec<String> = Vec::with_capacity(messages.len());
    for message in messages.iter() {
        let mut root = parent(message).unwrap_or_else(|| message.id.clone());
        for _ in 0..MAX_CHAIN {
            let Some(&i) = by_id.get(root.as_str()) else {
                break;
            };
            match parent(&messages[i]) {
                Some(up) if up != root => root = up,
                _ => break,
            }
        }
        threads.push(root);
    }

    // The subject fallback: the earliest message with a subject names the
    // thread for replies to it that carry no threading headers.
    let mut first_by_subject: HashMap<String, usize> = HashMap::new();
    for (i, message) in messages.iter().enumerate() {
        let key = subject_key(&message.subject);
        if key.is_empty() {
            continue;
        }
        let earlier = |j: usize| (messages[j].date, &messages[j].id) < (message.date, &message.id);
        first_by_subject
            .entry(key)
            .and_modify(|j| {
                if !earlier(*j) {
                    *j = i;
                }
            })
            .or_insert(i);
    }
    let fallback: Vec<Option<String>> = messages
        .iter()
        .map(|m| {
            let is_reply = PREFIX.is_match(&m.subject) && parent(m).is_none();
            if !is_reply {
                return None;
            }
            let first = *first_by_subject.get(&subject_key(&m.subject))?;
            (messages[first].id != m.id).then(|| threads[first].clone())
        })
        .collect();

    for ((message, thread), fallback) in messages.iter_mut().zip(threads).zip(fallback) {
        if message.thread_id.is_none() {
            message.thread_id = Some(fallback.unwrap_or(thread));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Direction, MessageKind, SourceRef};
    use chrono::{TimeZone, Utc};

    fn mail(id: &str, subject: &str, refs: &[&str], reply_to: Option<&str>, day: u32) -> Message {
        Message {
            id: id.into(),
            kind: MessageKind::Email,
            source: SourceRef {
                path: "t".into(),
                offset: None,
            },
            date: Some(Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap()),
            from: "a@x.example".into(),
            from_name: String::new(),
            to: vec![],
            cc: vec![],
            subject: subject.into(),
            body: String::new(),
            new_text: String::new(),
            in_reply_to: reply_to.map(str::to_string),
            references: refs.iter().map(|s| s.to_string()).collect(),
            deal_id: None,
            direction: Direction::Inbound,
            attachments: vec![],
            thread_id: None,
            auto: false,
        }
    }

    fn threads(messages: &mut [Message]) -> Vec<String> {
        assign_threads(messages);
        messages
            .iter()
            .map(|m| m.thread_id.clone().unwrap())
            .collect()
    }

    #[test]
    fn replies_join_the_root_of_their_references() {
        let mut msgs = [
            mail("a", "Offer", &[], None, 1),
            mail("b", "Re: Offer", &["a"], Some("a"), 2),
            mail("c", "Re: Offer", &["a", "b"], Some("b"), 3),
            mail("z", "Other", &[], None, 4),
        ];
        assert_eq!(threads(&mut msgs), ["a", "a", "a", "z"]);
    }

    #[test]
    fn in_reply_to_chain_is_followed_to_the_root() {
        let mut msgs = [
            mail("c", "Re: Offer", &[], Some("b"), 3),
            mail("b", "Re: Offer", &[], Some("a"), 2),
            mail("a", "Offer", &[], None, 1),
        ];
        assert_eq!(threads(&mut msgs), ["a", "a", "a"]);
    }

    #[test]
    fn reply_without_headers_joins_by_subject() {
        let mut msgs = [
            mail("r", "SV: AW: [sales] Offer  Q2", &[], None, 5),
            mail("a", "offer q2", &[], None, 1),
            mail("n", "Offer Q2 follow-up", &[], None, 6),
        ];
        assert_eq!(threads(&mut msgs), ["a", "a", "n"]);
    }

    #[test]
    fn a_fresh_mail_with_a_repeated_subject_is_its_own_thread() {
        let mut msgs = [
            mail("a", "Weekly", &[], None, 1),
            mail("b", "Weekly", &[], None, 8),
        ];
        assert_eq!(threads(&mut msgs), ["a", "b"]);
    }

    #[test]
    fn subject_key_drops_prefixes_and_tags() {
        assert_eq!(subject_key("RE: Fwd: [dev] Build  broken"), "build broken");
        assert_eq!(subject_key("Re[2]: Hej"), "hej");
        assert_eq!(subject_key("Report Q1"), "report q1");
    }
}
