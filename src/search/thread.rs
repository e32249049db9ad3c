//! Thread keys for grouping hits the way a mail reader shows them.
//!
//! Ingest may hand over a thread id; when it does not, the key comes from
//! the headers: the root of `References` (its first entry), else
//! `In-Reply-To`, else the message's own id, so a first message and its
//! replies share the root's id. A reply that lost its headers but kept a
//! "Re:" subject is keyed by its normalised subject, which at least groups
//! such replies with each other.

use crate::domain::Message;

/// Reply and forward prefixes in the languages our customers write in.
const REPLY_PREFIXES: [&str; 8] = ["re", "fw", "fwd", "sv", "vs", "aw", "wg", "tr"];

/// The thread key of a message, lower case.
pub fn thread_key(message: &Message) -> String {
    let header_root = message
        .references
        .iter()
        .chain(message.in_reply_to.iter())
        .map(|id| id.trim())
        .find(|id| !id.is_empty());
    if let Some(root) = header_root {
        return normalise_id(root);
    }

    let (subject, was_reply) = normalised_subject(&message.subject);
    if was_reply && !subject.is_empty() {
        return format!("subject:{subject}");
    }
    normalise_id(&message.id)
}

fn normalise_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

/// The subject without any "Re:"/"SV:"/"Fwd: " prefixes, lower case with
/// single spaces, and whether any prefix was there.
pub fn normalised_subject(subject: &str) -> (String, bool) {
    let mut rest = subject.trim();
    let mut was_reply = false;
    loop {
        let Some((head, tail)) = rest.split_once(':') else {
            break;
        };
        let head = head.trim().to_lowercase();
        // "Re[2]:" and "RE :" are common too.
        let word = head.split('[').next().unwrap_or("").trim();
        if !REPLY_PREFIXES.contains(&word) {
            break;
        }
        was_reply = true;
        rest = tail.trim_start();
    }
    let words: Vec<String> = rest.split_whitespace().map(str::to_lowercase).collect();
    (words.join(" "), was_reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_several_languages_are_stripped_repeatedly() {
        assert_eq!(
            normalised_subject("SV: Re[2]: AW:  Offert  Q3"),
            ("offert q3".to_string(), true)
        );
        assert_eq!(
            normalised_subject("Agenda: Q3"),
            ("agenda: q3".to_string(), false)
        );
    }
}
