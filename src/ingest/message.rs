//! Turns the bytes of one RFC 822 mail into a [`Message`] (ingest stage,
//! after the mbox/Maildir readers, before attribution).
//!
//! Decoding is `mailparse`'s job; this module chooses what to keep: decoded
//! headers, lower-cased addresses, a UTC date when the header can be read,
//! the text body (plain text preferred, HTML turned into text otherwise,
//! attachments never), and the cleaned [`new_text`](super::clean::new_text).

use charset::Charset;
use chrono::{DateTime, Utc};
use encoding_rs::WINDOWS_1252;
use mailparse::{
    addrparse_header, msgidparse, parse_mail, DispositionType, MailAddr, MailHeaderMap, ParsedMail,
};
use once_cell::sync::Lazy;
use regex::Regex;
use sha2::{Digest, Sha256};

use super::clean::new_text;
use crate::domain::{Direction, Message, MessageKind, SourceRef};

/// Header names that mark a block of text as a mail header. At least one
/// must be present before a file outside mbox/Maildir is read as mail.
const MAIL_HEADERS: [&str; 7] = [
    "from",
    "to",
    "date",
    "subject",
    "message-id",
    "received",
    "return-path",
];

/// Why a message could not be read; the caller adds the file and offset.
pub type ParseFailure = String;

/// Reads one mail. `raw` is the message without any mbox separator.
pub fn parse_message(raw: &[u8], source: SourceRef) -> Result<Message, ParseFailure> {
    let mail = parse_mail(raw).map_err(|e| format!("not a parseable mail: {e}"))?;
    let has_valid_header = mail.headers.iter().any(|h| is_field_name(h.get_key_raw()));
    if !has_valid_header {
        return Err("no mail headers found".to_string());
    }
    let headers = &mail.headers;

    let id = headers
        .get_first_value("Message-ID")
        .and_then(|v| first_message_id(&v))
        .unwrap_or_else(|| content_id(raw));
    let date = headers
        .get_first_value("Date")
        .and_then(|v| parse_date(&v, &source))
        .or_else(|| received_date(headers, &source));
    let (from, from_name) = headers
        .get_first_header("From")
        .map(|h| {
            let list = addresses(h);
            let name = display_name(h);
            (list.into_iter().next().unwrap_or_default(), name)
        })
        .unwrap_or_default();
    let to = headers
        .get_all_headers("To")
        .into_iter()
        .flat_map(addresses)
        .collect();
    let cc = headers
        .get_all_headers("Cc")
        .into_iter()
        .flat_map(addresses)
        .collect();
    let subject = headers
        .get_first_header("Subject")
        .map(|h| header_text(h).trim().to_string())
        .unwrap_or_default();
    let in_reply_to = headers
        .get_first_value("In-Reply-To")
        .and_then(|v| first_message_id(&v));
    let references = headers
        .get_first_value("References")
        .and_then(|v| msgidparse(&v).ok())
        .map(|ids| ids.iter().map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();

    let mut attachments = Vec::new();
    let body = text_body(&mail, &source, &mut attachments);
    let new_text = new_text(&body);
    let auto = is_machine_written(headers, &mail, &from, &subject);

    Ok(Message {
        id,
        kind: MessageKind::Email,
        source,
        date,
        from,
        from_name,
        to,
        cc,
        subject,
        body,
        new_text,
        in_reply_to,
        references,
        deal_id: None,
        direction: Direction::Internal,
        attachments,
        thread_id: None,
        auto,
    })
}

/// Whether the start of a file reads like a mail header block, for files
/// found outside an mbox or Maildir where anything may lie around.
pub fn looks_like_mail(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let Some(colon) = first_line.iter().position(|&b| b == b':') else {
        return false;
    };
    if !is_field_name(&first_line[..colon]) {
        return false;
    }
    let Ok((headers, _)) = mailparse::parse_headers(head) else {
        return false;
    };
    headers
        .iter()
        .any(|h| MAIL_HEADERS.contains(&h.get_key().to_ascii_lowercase().as_str()))
}

/// RFC 5322 field names are printable ASCII without spaces or colons.
/// mailparse accepts any line as a header, so binary junk needs this check.
fn is_field_name(key: &[u8]) -> bool {
    !key.is_empty() && key.iter().all(|&b| b.is_ascii_graphic() && b != b':')
}

/// A stable id for mail without a Message-ID: the same bytes read twice
/// get the same id, so duplicates still collapse.
pub fn content_id(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

fn first_message_id(value: &str) -> Option<String> {
    let ids = msgidparse(value).ok()?;
    let id = ids.first()?.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Reads a Date header. Missing years, words instead of numbers and dates
/// before 1970 all happen in real archives; they give `None`, never an error.
fn parse_date(value: &str, source: &SourceRef) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc2822(value.trim()) {
        return Some(date.with_timezone(&Utc));
    }
    // mailparse's lenient parser answers 0 (1970) for text without any
    // date in it, so it only gets values that name a month and a year.
    if !has_month_and_year(value) {
        tracing::debug!("{source}: unreadable date {value:?}, kept without date");
        return None;
    }
    match mailparse::dateparse(value) {
        Ok(secs) => {
            let date = DateTime::from_timestamp(secs, 0);
            if date.is_none() {
                tracing::debug!("{source}: date {value:?} out of range, kept without date");
            }
            date
        }
        Err(e) => {
            tracing::debug!("{source}: unreadable date {value:?} ({e}), kept without date");
            None
        }
    }
}

/// Mail without a Date header (robots, list archives) still has the time
/// the first server got it: the stamp after the ';' of the top Received.
fn received_date(headers: &[mailparse::MailHeader], source: &SourceRef) -> Option<DateTime<Utc>> {
    let received = headers.get_first_value("Received")?;
    let (_, stamp) = received.rsplit_once(';')?;
    parse_date(stamp, source)
}

fn has_month_and_year(value: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let tokens: Vec<String> = value
        .split([' ', ',', ':'])
        .map(str::to_ascii_lowercase)
        .collect();
    let month = tokens
        .iter()
        .position(|t| t.len() >= 3 && MONTHS.contains(&t.get(..3).unwrap_or_default()));
    month.is_some_and(|m| tokens[m + 1..].iter().any(|t| t.parse::<u32>().is_ok()))
}

/// Q-encoded words ("=?iso-8859-1?Q?Fr\xF6sche?=") in raw header bytes.
static Q_WORD: Lazy<regex::bytes::Regex> =
    Lazy::new(|| regex::bytes::Regex::new(r"(?i-u)=\?[^?\s]+\?q\?[^?]*\?=").unwrap());

/// The decoded text of a header. Old mailers put raw 8-bit bytes inside
/// Q-encoded words instead of `=F6`; mailparse then drops the letter, so
/// such bytes are escaped first and the word decodes in its own charset.
fn header_text(header: &mailparse::MailHeader) -> String {
    let raw = header.get_value_raw();
    if raw.is_ascii() || !Q_WORD.is_match(raw) {
        return header.get_value();
    }
    let escaped = Q_WORD.replace_all(raw, |caps: &regex::bytes::Captures| {
        let mut word = Vec::new();
        for &b in &caps[0] {
            if b.is_ascii() {
                word.push(b);
            } else {
                word.extend_from_slice(format!("={b:02X}").as_bytes());
            }
        }
        word
    });
    let mut line = b"X: ".to_vec();
    line.extend_from_slice(&escaped);
    match mailparse::parse_header(&line) {
        Ok((fixed, _)) => fixed.get_value(),
        Err(_) => header.get_value(),
    }
}

/// All addresses of an address header, lower case. Falls back to picking
/// `x@y` tokens when the header is not valid RFC 5322, which old archives
/// (and Enron) are full of.
fn addresses(header: &mailparse::MailHeader) -> Vec<String> {
    match addrparse_header(header) {
        Ok(list) => list
            .iter()
            .flat_map(|addr| match addr {
                MailAddr::Single(info) => vec![info.addr.clone()],
                MailAddr::Group(group) => group.addrs.iter().map(|i| i.addr.clone()).collect(),
            })
            .map(|a| a.trim().to_lowercase())
            .collect(),
        Err(_) => header
            .get_value()
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .map(|t| t.trim_matches(|c: char| "<>\"'()[]".contains(c)))
            .filter(|t| t.contains('@'))
            .map(str::to_lowercase)
            .collect(),
    }
}

fn display_name(header: &mailparse::MailHeader) -> String {
    let Ok(list) = addrparse_header(header) else {
        return String::new();
    };
    match list.iter().next() {
        Some(MailAddr::Single(info)) => info.display_name.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The readable text of a mail: every text/plain part that is not an
/// attachment; when there is none, the text/html parts as text. Attached
/// files are listed in `attachments` as "name (type)".
fn text_body(mail: &ParsedMail, source: &SourceRef, attachments: &mut Vec<String>) -> String {
    let mut parts = BodyParts {
        source,
        plain: Vec::new(),
        html: Vec::new(),
        attachments,
    };
    parts.collect(mail);
    let text = if !parts.plain.is_empty() {
        parts.plain.join("\n")
    } else {
        parts
            .html
            .iter()
            .map(|h| html_to_text(h))
            .collect::<Vec<_>>()
            .join("\n")
    };
    text.replace("\r\n", "\n")
}

/// The pieces of a MIME tree, gathered in one walk.
struct BodyParts<'a> {
    source: &'a SourceRef,
    plain: Vec<String>,
    html: Vec<String>,
    attachments: &'a mut Vec<String>,
}

impl BodyParts<'_> {
    fn collect(&mut self, part: &ParsedMail) {
        if !part.subparts.is_empty() {
            for sub in &part.subparts {
                self.collect(sub);
            }
            return;
        }
        let mime = part.ctype.mimetype.to_ascii_lowercase();
        let disposition = part.get_content_disposition();
        let name = disposition
            .params
            .get("filename")
            .or_else(|| part.ctype.params.get("name"))
            .map(|n| n.trim().to_string());
        let is_text = mime == "text/plain" || mime == "text/html";
        let attached =
            disposition.disposition == DispositionType::Attachment || (!is_text && name.is_some());
        if attached {
            let name = name.unwrap_or_else(|| "unnamed".to_string());
            self.attachments.push(format!("{name} ({mime})"));
            return;
        }
        if !is_text {
            return;
        }
        let text = match part.get_body_raw() {
            Ok(raw) => decode_text(&raw, &part.ctype.charset, self.source),
            Err(e) => {
                tracing::warn!("{}: undecodable {mime} part skipped: {e}", self.source);
                return;
            }
        };
        if mime == "text/plain" {
            self.plain.push(text);
        } else {
            self.html.push(text);
        }
    }
}

/// Decodes a text part with its declared charset. An unknown label, or
/// 8-bit bytes declared as US-ASCII, are read as UTF-8 when they are valid
/// UTF-8, else as windows-1252 (what such mail almost always is), and the
/// fallback is logged.
pub fn decode_text(raw: &[u8], label: &str, source: &SourceRef) -> String {
    let label = label.trim().trim_matches('"').to_ascii_lowercase();
    let ascii_label = matches!(label.as_str(), "us-ascii" | "ascii" | "");
    if !ascii_label {
        if let Some(charset) = Charset::for_label(label.as_bytes()) {
            let (text, _, had_errors) = charset.decode(raw);
            if had_errors {
                tracing::debug!("{source}: invalid {label} bytes replaced");
            }
            return text.into_owned();
        }
    }
    if raw.is_ascii() {
        return String::from_utf8_lossy(raw).into_owned();
    }
    if let Ok(text) = std::str::from_utf8(raw) {
        if !ascii_label {
            tracing::warn!("{source}: unknown charset {label:?}, read as UTF-8");
        }
        return text.to_string();
    }
    tracing::warn!("{source}: charset {label:?} does not fit the bytes, read as windows-1252");
    let (text, _, _) = WINDOWS_1252.decode(raw);
    text.into_owned()
}

/// Bounces, delivery reports and auto-replies announce themselves in
/// headers (RFC 3834 Auto-Submitted, multipart/report, vacation headers),
/// by their sender (MAILER-DAEMON) or, less reliably, by their subject.
fn is_machine_written(
    headers: &[mailparse::MailHeader],
    mail: &ParsedMail,
    from: &str,
    subject: &str,
) -> bool {
    let value = |name: &str| {
        headers
            .get_first_value(name)
            .map(|v| v.to_ascii_lowercase())
    };
    if value("Auto-Submitted").is_some_and(|v| !v.trim().starts_with("no")) {
        return true;
    }
    let vacation_headers = ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"];
    if vacation_headers[..2].iter().any(|h| value(h).is_some()) {
        return true;
    }
    if value("Precedence").is_some_and(|v| v.contains("auto_reply") || v.contains("junk")) {
        return true;
    }
    if mail.ctype.mimetype.eq_ignore_ascii_case("multipart/report") {
        return true;
    }
    let local = from.split('@').next().unwrap_or_default();
    if ["mailer-daemon", "postmaster"].contains(&local) {
        return true;
    }
    AUTO_SUBJECT.is_match(subject)
}

/// Subjects of auto-replies and bounces in the languages we see.
static AUTO_SUBJECT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(concat!(
        r"(?i)^(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autosvar",
        r"|abwesenheitsnotiz|automatische antwort|réponse automatique|absence",
        r"|undeliverable|undelivered mail|delivery status notification",
        r"|mail delivery (failed|failure|system)|returned mail|failure notice",
        r"|delivery failure|non remis|unzustellbar|olevererbart)",
    ))
    .expect("auto subject pattern is valid")
});

/// Turns HTML into readable text: drops tags, scripts and styles, makes
/// block ends into line breaks and decodes character entities. Good enough
/// for mail bodies; not a general HTML renderer.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if !rest.starts_with('<') {
            let next = rest.find('<').unwrap_or(rest.len());
            out.push_str(&rest[..next]);
            i += next;
            continue;
        }
        let tag_end = rest.find('>').map_or(html.len(), |p| i + p + 1);
        let closing = rest.starts_with("</");
        let self_closing = lower[..tag_end].ends_with("/>");
        let tag = lower[i..tag_end].trim_start_matches(['<', '/']);
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        i = tag_end;
        match name.as_str() {
            "script" | "style" | "title" if !closing && !self_closing => {
                let close = format!("</{name}");
                i = lower[i..].find(&close).map_or(html.len(), |p| {
                    let after = i + p;
                    lower[after..]
                        .find('>')
                        .map_or(html.len(), |q| after + q + 1)
                });
            }
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table"
            | "blockquote" | "hr" => out.push('\n'),
            "td" | "th" => out.push(' '),
            _ => {}
        }
    }
    tidy_lines(&decode_entities(&out))
}

/// Collapses runs of spaces inside lines and of blank lines between them,
/// which HTML source indentation leaves everywhere.
fn tidy_lines(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let blank = line.is_empty();
        if blank && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let decoded = end.and_then(|e| entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "euro" => '€',
        "copy" => '©',
        "auml" => 'ä',
        "ouml" => 'ö',
        "aring" => 'å',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Aring" => 'Å',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SourceRef {
        SourceRef {
            path: "test.eml".into(),
            offset: None,
        }
    }

    #[test]
    fn raw_8bit_byte_inside_a_q_encoded_subject_decodes_in_its_charset() {
        let raw = b"From: a@x.example\r\n\
Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xF6sche?=\r\n\r\nbody\r\n";
        let msg = parse_message(raw, src()).unwrap();
        assert_eq!(msg.subject, "Die Hasen und die Fr\u{f6}sche");
    }

    #[test]
    fn rfc2047_subject_and_sender_name_are_decoded() {
        let raw = b"From: =?UTF-8?Q?Lars_Str=C3=B6m?= <Lars@Kund.Example>\n\
To: anna@vendor.example\nSubject: =?ISO-8859-1?Q?Offert_f=F6r_licenser?=\n\
Message-ID: <abc@kund.example>\nDate: Tue, 3 Mar 2026 09:12:00 +0100\n\nHej\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.subject, "Offert för licenser");
        assert_eq!(m.from_name, "Lars Ström");
        assert_eq!(m.from, "lars@kund.example");
        assert_eq!(m.id, "abc@kund.example");
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-03-03T08:12:00+00:00");
    }

    #[test]
    fn missing_date_falls_back_to_top_received_header() {
        let raw = b"Received: from a by b; Wed, 1 Nov 2017 07:04:53 +0100 (CET)\n\
Received: from c by a; Wed, 1 Nov 2017 07:04:50 +0100\nFrom: a@x.example\n\nbody\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.date.unwrap().to_rfc3339(), "2017-11-01T06:04:53+00:00");
    }

    #[test]
    fn missing_message_id_falls_back_to_content_hash() {
        let raw = b"From: a@x.example\nSubject: s\n\nbody\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.id, content_id(raw));
        assert!(m.id.starts_with("sha256:"));
    }

    #[test]
    fn bogus_date_gives_none_not_error() {
        let raw = b"From: a@x.example\nDate: sometime next week\n\nbody\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.date, None);
    }

    #[test]
    fn recipients_are_lower_cased_and_threading_headers_read() {
        let raw = b"From: a@x.example\nTo: Bob <Bob@Y.Example>, c@Z.example\n\
Cc: D@W.example\nIn-Reply-To: <p1@x>\nReferences: <p0@x> <p1@x>\n\nbody\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.to, vec!["bob@y.example", "c@z.example"]);
        assert_eq!(m.cc, vec!["d@w.example"]);
        assert_eq!(m.in_reply_to.as_deref(), Some("p1@x"));
        assert_eq!(m.references, vec!["p0@x", "p1@x"]);
    }

    #[test]
    fn plain_part_is_preferred_and_attachment_is_not_body() {
        let raw = b"From: a@x.example\nContent-Type: multipart/mixed; boundary=B\n\n\
--B\nContent-Type: text/html\n\n<p>html version</p>\n\
--B\nContent-Type: text/plain\n\nplain version\n\
--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\n\
attached text\n--B--\n";
        let m = parse_message(raw, src()).unwrap();
        assert!(m.body.contains("plain version"), "{}", m.body);
        assert!(!m.body.contains("html version"), "{}", m.body);
        assert!(!m.body.contains("attached text"), "{}", m.body);
    }

    #[test]
    fn html_only_mail_becomes_text() {
        let raw = b"From: a@x.example\nContent-Type: text/html; charset=utf-8\n\n\
<html><body><p>Budget&nbsp;is <b>approved</b>.</p><p>Tack &amp; hej</p></body></html>\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.body, "Budget is approved.\n\nTack & hej");
    }

    #[test]
    fn html_to_text_drops_scripts_styles_and_decodes_entities() {
        let html = "<html><head><style>p{color:red}</style></head><body>\
<script>alert(1)</script><div>Price: &euro;1&#44;000 &lt;net&gt;</div>\
<br/>Line&#x21;</body></html>";
        assert_eq!(html_to_text(html), "Price: €1,000 <net>\n\nLine!");
    }

    #[test]
    fn new_text_excludes_quoted_reply() {
        let raw = b"From: a@x.example\n\nYes.\n\nOn Mon, 2 Mar 2026, B <b@y> wrote:\n> offer\n";
        let m = parse_message(raw, src()).unwrap();
        assert_eq!(m.new_text, "Yes.");
        assert!(m.body.contains("> offer"));
    }

    #[test]
    fn binary_junk_without_headers_is_rejected() {
        let err = parse_message(b"\x00\x01\x02 not a header\n", src()).unwrap_err();
        assert!(err.contains("no mail headers"), "{err}");
    }

    #[test]
    fn looks_like_mail_accepts_headers_and_rejects_prose() {
        assert!(looks_like_mail(b"Return-Path: <a@x>\nFrom: a@x\n\nhi"));
        assert!(!looks_like_mail(b"Meeting notes from today\nWe talked.\n"));
        assert!(!looks_like_mail(b"id,name,account\n1,a,b\n"));
        assert!(!looks_like_mail(b"\x00\x01binary"));
    }
}
