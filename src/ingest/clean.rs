//! Cuts a mail body down to what its writer wrote this time (ingest stage,
//! after decoding, before NLP).
//!
//! Signals and sentiment must not be counted twice because a reply quotes
//! the mail before it, and a signature line such as "Head of Procurement"
//! is not news. So [`new_text`] drops quoted `>` lines, everything from a
//! reply header ("On ... wrote:", "Den ... skrev:", "Am ... schrieb:",
//! "Le ... a écrit :", Outlook's "-----Original Message-----" or its
//! "From: / Sent:" block) onwards, and the signature after a `-- ` line.
//! Forwarded history goes too (Gmail's "---------- Forwarded message",
//! Apple's "Begin forwarded message:", Lotus Notes' "---- Forwarded by",
//! and its "To: / cc: / Subject:" block), as does a mailing-list footer
//! (a rule line followed by "... mailing list" or "unsubscribe"). A pure
//! forward therefore has an empty new text: the forwarder wrote nothing.

use once_cell::sync::Lazy;
use regex::Regex;

/// Reply attribution lines in the languages our users write in. They may
/// be wrapped over two lines by the mail client, so callers also try a line
/// joined with its successor.
static ATTRIBUTION: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^(on|den|am|le)\s.+\s(wrote|skrev|schrieb|a\s+écrit|a\s+ecrit)(\s.*)?:\s*$")
        .expect("attribution pattern is valid")
});

/// Outlook's separator line, in any dash count and in the languages seen.
static ORIGINAL_MESSAGE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(concat!(
        r"(?i)^-{2,}\s*(original message|ursprüngliche nachricht",
        r"|ursprungligt meddelande|message d'origine)\s*-{2,}\s*$",
    ))
    .expect("original message pattern is valid")
});

/// Forward markers of the common clients, in the languages seen.
static FORWARDED: Lazy<Regex> = Lazy::new(|| {
    Regex::new(concat!(
        r"(?i)^(-{2,}\s*(forwarded message|weitergeleitete nachricht|vidarebefordrat",
        r"|videresendt|message transféré|mensaje reenviado|original message)",
        r"|-{2,}\s*forwarded by\s|begin forwarded message\s*:|début du message réexpédié",
        r"|anfang der weitergeleiteten|vidarebefordrat meddelande)",
    ))
    .expect("forwarded pattern is valid")
});

/// Lotus Notes' reply header: a "To:" line with "cc:" right below it.
static NOTES_TO: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^\s*To:\s").expect("notes to pattern is valid"));
static NOTES_CC: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?i)^\s*cc:").expect("notes cc pattern is valid"));

/// The "Name@ORG\n10/16/2000 01:42 PM" lines Notes puts above that block.
static NOTES_STAMP: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(:\d{2})?\s*(am|pm)?\s*$")
        .expect("notes stamp pattern is valid")
});

/// A rule line of a mailing-list footer, checked together with the words
/// below it.
static RULE: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^[_=\-]{10,}\s*$").expect("rule pattern is valid"));
static LIST_FOOTER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(mailing list|unsubscribe|abmelden|avregistrera|désinscri)")
        .expect("list footer pattern is valid")
});

/// The first line of an Outlook header block ("From:", "Från:", "Von:",
/// "De :") ...
static HEADER_FROM: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\*?(from|från|von|de)\s?:").expect("header from pattern is valid")
});

/// ... followed within a few lines by its "Sent:" line.
static HEADER_SENT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\*?(sent|date|skickat|datum|gesendet|envoyé|date d'envoi)\s?:")
        .expect("header sent pattern is valid")
});

/// How far below a "From:" line the "Sent:" line may be.
const HEADER_BLOCK_LINES: usize = 4;

/// Returns only the text the writer added: no quoted lines, no quoted
/// reply below a reply header, no signature. Line order and inner blank
/// lines are kept; leading and trailing blank lines are trimmed.
pub fn new_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept: Vec<&str> = Vec::new();

    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_signature_delimiter(line)
            || starts_unquoted_original(&lines, i)
            || FORWARDED.is_match(line.trim())
            || starts_list_footer(&lines, i)
        {
            break;
        }
        if starts_notes_header(&lines, i) {
            // Drop the Notes time stamp line and the sender name above it.
            let mut stamped = false;
            while kept.last().is_some_and(|l| NOTES_STAMP.is_match(l)) {
                kept.pop();
                stamped = true;
            }
            let short = |l: &&str| !l.trim().is_empty() && l.split_whitespace().count() <= 5;
            if stamped && kept.last().is_some_and(short) {
                kept.pop();
            }
            break;
        }
        if let Some(len) = attribution_len(&lines, i) {
            // Below the attribution: quoted lines (dropped one by one, so
            // answers written between or below them stay) or an unquoted
            // copy of the original (dropped as a whole).
            let next_text = lines[i + len..].iter().find(|l| !l.trim().is_empty());
            if next_text.is_some_and(|l| !l.trim_start().starts_with('>')) {
                break;
            }
            i += len;
            continue;
        }
        if !line.trim_start().starts_with('>') {
            kept.push(line.trim_end());
        }
        i += 1;
    }

    trim_blank_lines(&kept).join("\n")
}

/// How many lines (1 or 2) the reply attribution at line `i` spans, if
/// there is one.
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    let line = lines[i].trim();
    if ATTRIBUTION.is_match(line) {
        return Some(1);
    }
    let next = lines.get(i + 1)?.trim();
    let wrapped = !line.is_empty() && !ends_sentence(line) && !ATTRIBUTION.is_match(next);
    (wrapped && ATTRIBUTION.is_match(&format!("{line} {next}"))).then_some(2)
}

/// Whether line `i` opens an Outlook-style copy of the original message,
/// which is never quoted line by line, so everything below it goes.
fn starts_unquoted_original(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if ORIGINAL_MESSAGE.is_match(line) {
        return true;
    }
    HEADER_FROM.is_match(line)
        && lines
            .iter()
            .skip(i + 1)
            .take(HEADER_BLOCK_LINES)
            .any(|l| HEADER_SENT.is_match(l.trim()))
}

/// A Lotus Notes reply block: "To:" with "cc:" on one of the next two
/// lines.
fn starts_notes_header(lines: &[&str], i: usize) -> bool {
    NOTES_TO.is_match(lines[i])
        && lines
            .iter()
            .skip(i + 1)
            .take(2)
            .any(|l| NOTES_CC.is_match(l))
}

/// A rule line with list words ("mailing list", "unsubscribe") in the
/// three lines below it.
fn starts_list_footer(lines: &[&str], i: usize) -> bool {
    RULE.is_match(lines[i].trim())
        && lines
            .iter()
            .skip(i + 1)
            .take(3)
            .any(|l| LIST_FOOTER.is_match(l))
}

/// A wrapped attribution line never ends a sentence; this keeps a normal
/// paragraph starting with "On Monday we ..." from being joined with a
/// next line that happens to end in "wrote:".
fn ends_sentence(line: &str) -> bool {
    line.ends_with('.') || line.ends_with('!') || line.ends_with('?')
}

/// The usenet signature delimiter is "-- " (dash dash space); many clients
/// drop the trailing space, so "--" alone counts too.
fn is_signature_delimiter(line: &str) -> bool {
    line == "-- " || line.trim_end() == "--"
}

fn trim_blank_lines<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => &lines[s..=e],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_reply_header_and_quote_are_removed() {
        let body = "Sounds good, let's sign next week.\n\n\
On Mon, Mar 2, 2026 at 10:14 AM Anna Berg <anna@vendor.example> wrote:\n\
> Here is the contract.\n> Best, Anna\n";
        assert_eq!(new_text(body), "Sounds good, let's sign next week.");
    }

    #[test]
    fn wrapped_english_reply_header_is_removed() {
        let body = "Yes, budget is approved.\n\nOn Mon, Mar 2, 2026 at 10:14 AM Anna Berg <\n\
anna@vendor.example> wrote:\n\nHere is the offer, unquoted by the client.\n";
        assert_eq!(new_text(body), "Yes, budget is approved.");
    }

    #[test]
    fn swedish_reply_header_is_removed() {
        let body = "Vi har fått budgeten godkänd.\n\n\
Den 3 mars 2026 kl. 09:12 skrev Anna Berg <anna@vendor.example>:\n\
> Hej Lars,\n> här är offerten.\n";
        assert_eq!(new_text(body), "Vi har fått budgeten godkänd.");
    }

    #[test]
    fn german_reply_header_is_removed() {
        let body = "Wir brauchen noch eine Woche.\n\n\
Am 03.03.2026 um 09:12 schrieb Anna Berg <anna@vendor.example>:\n\
Hallo Jonas, anbei das Angebot.\n";
        assert_eq!(new_text(body), "Wir brauchen noch eine Woche.");
    }

    #[test]
    fn french_reply_header_is_removed() {
        let body = "Merci, nous signons lundi.\n\n\
Le mar. 3 mars 2026 à 09:12, Anna Berg <anna@vendor.example> a écrit :\n\
> Bonjour Claire,\n";
        assert_eq!(new_text(body), "Merci, nous signons lundi.");
    }

    #[test]
    fn outlook_original_message_block_is_removed() {
        let body = "Please send the final price.\r\n\r\n-----Original Message-----\r\n\
From: Anna Berg\r\nSent: Monday, March 2, 2026 10:14 AM\r\nTo: Lars Holm\r\n\
Subject: Offer\r\n\r\nHere is the offer.\r\n";
        assert_eq!(new_text(body), "Please send the final price.");
    }

    #[test]
    fn outlook_from_sent_block_without_separator_is_removed() {
        let body = "We chose another vendor.\n\n________________________________\n\
From: Anna Berg <anna@vendor.example>\nSent: Monday, March 2, 2026 10:14\n\
To: Lars Holm\nSubject: Offer\n\nHere is the offer.\n";
        let text = new_text(body);
        assert!(text.starts_with("We chose another vendor."), "{text}");
        assert!(!text.contains("Here is the offer"), "{text}");
    }

    #[test]
    fn a_from_line_without_sent_line_is_kept() {
        let body = "From: the sales team's perspective, this is fine.\n\nThanks";
        assert_eq!(new_text(body), body);
    }

    #[test]
    fn signature_after_dash_dash_space_is_removed() {
        let body = "Can we do a demo on Friday?\n\n-- \nLars Holm\nHead of Procurement\n";
        assert_eq!(new_text(body), "Can we do a demo on Friday?");
    }

    #[test]
    fn interleaved_reply_keeps_unquoted_answers() {
        let body = "> Do you have budget?\nYes, approved.\n> When do you decide?\nIn April.\n";
        assert_eq!(new_text(body), "Yes, approved.\nIn April.");
    }

    #[test]
    fn paragraph_starting_with_on_is_not_a_reply_header() {
        let body = "On Monday we met the board.\nThey agreed.\n";
        assert_eq!(new_text(body), "On Monday we met the board.\nThey agreed.");
    }

    #[test]
    fn bottom_posted_answer_below_quote_is_kept() {
        let body = "On 2 Jul 2020, at 14:08, Yves <y@x.example> wrote:\n\
> Can users upload their own certificates?\n\nYes, with mod_md.\n";
        assert_eq!(new_text(body), "Yes, with mod_md.");
    }

    #[test]
    fn unquoted_original_below_attribution_is_removed_with_it() {
        let body = "Agreed.\nOn Mon, 2 Mar 2026, B <b@y.example> wrote:\nthe offer text\n";
        assert_eq!(new_text(body), "Agreed.");
    }

    #[test]
    fn forwarded_blocks_of_several_clients_are_removed() {
        let gmail = "FYI, see below.\n\n---------- Forwarded message ---------\n\
From: Lars <lars@kund.example>\nDate: Mon, 2 Mar 2026\n\nWe need a discount.\n";
        assert_eq!(new_text(gmail), "FYI, see below.");
        let apple = "Look at this\n\nBegin forwarded message:\n\nFrom: x\nold text\n";
        assert_eq!(new_text(apple), "Look at this");
        let notes = "Please handle.\n---------------------- Forwarded by Phillip K Allen/HOU/ECT \
on 10/16/2000 01:42 PM ---------------------------\n\nold text\n";
        assert_eq!(new_text(notes), "Please handle.");
        let german = "Zur Info\n-------- Weitergeleitete Nachricht --------\nBetreff: x\n";
        assert_eq!(new_text(german), "Zur Info");
    }

    #[test]
    fn pure_forward_has_empty_new_text() {
        let body = "-----Original Message-----\nFrom: a\nSent: today\n\nold\n";
        assert_eq!(new_text(body), "");
    }

    #[test]
    fn lotus_notes_reply_block_is_removed_with_its_stamp() {
        let body = "Sounds fine to me.\n\n\n\nJohn Arnold\n10/16/2000 01:42 PM\n\
To: Phillip K Allen/HOU/ECT@ECT\ncc: \nSubject: Re: gas\n\nold text\n";
        assert_eq!(new_text(body), "Sounds fine to me.");
    }

    #[test]
    fn mailing_list_footer_is_removed() {
        let body = "The build is green again.\n\n_______________________________________________\n\
dev mailing list\ndev@lists.example\n";
        assert_eq!(new_text(body), "The build is green again.");
        let apache =
            "Thanks!\n\n---------------------------------------------------------------------\n\
To unsubscribe, e-mail: users-unsubscribe@httpd.apache.org\n";
        assert_eq!(new_text(apache), "Thanks!");
    }

    #[test]
    fn body_that_is_only_a_quote_gives_empty_text() {
        assert_eq!(new_text("> only quoted\n> lines\n"), "");
    }
}
