//! Reads call notes: small text files with a header block (ingest stage,
//! beside the mail readers).
//!
//! A note looks like
//!
//! ```text
//! deal: D-1007
//! date: 2026-03-14
//! participants: Anna Berg <anna@vendor.example>, Lars Holm <lars@kund.example>
//! subject: Discovery call
//! ---
//! free text ...
//! ```
//!
//! and becomes a [`Message`] of kind [`MessageKind::Call`] so that the later
//! stages treat what was said on a call like what was written in a mail.
//!
//! Recorded calls arrive as transcripts instead: WebVTT files (speakers in
//! `<v Name>` tags or as "Name:" prefixes, the deal in a `NOTE deal: ...`
//! block) and JSON (an object with `segments`/`utterances`/`transcript`, or
//! a bare array, of `{speaker, text}` items, plus optional `deal`, `date`,
//! `title` keys). Each becomes one call message whose text is one
//! "Speaker: words" line per turn.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::message::content_id;
use crate::domain::{Direction, Message, MessageKind, SourceRef};

/// Header keys a note may carry; a header block with any other key is not a
/// call note (it may be a mail saved as .txt).
const NOTE_KEYS: [&str; 6] = ["deal", "date", "participants", "subject", "title", "type"];

/// How many lines a header block may have before we stop looking for `---`.
const MAX_HEADER_LINES: usize = 20;

/// Whether a file name says "maybe a call note or transcript".
pub fn has_note_extension(path: &Path) -> bool {
    let ext = extension(path);
    matches!(ext.as_str(), "md" | "txt" | "json" | "vtt")
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Reads a note or transcript by its extension; `Ok(None)` when the file
/// is not one (a JSON file of another kind, a mail saved as .txt).
pub fn parse_note_file(raw: &[u8], path: &Path) -> Result<Option<Message>, String> {
    match extension(path).as_str() {
        "json" => parse_json_transcript(raw, path),
        "vtt" => parse_vtt(raw, path),
        _ => parse_note(raw, path),
    }
}

/// One turn of a transcript.
struct Turn {
    speaker: String,
    text: String,
}

/// What a transcript's metadata says about the call.
#[derive(Default)]
struct CallInfo {
    deal: Option<String>,
    date: Option<DateTime<Utc>>,
    subject: Option<String>,
}

fn parse_json_transcript(raw: &[u8], path: &Path) -> Result<Option<Message>, String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(raw) else {
        return Ok(None);
    };
    let text_of = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let (items, meta) = match &value {
        serde_json::Value::Array(items) => (items, None),
        serde_json::Value::Object(map) => {
            let items = ["segments", "utterances", "transcript", "turns"]
                .iter()
                .find_map(|k| map.get(*k).and_then(|v| v.as_array()));
            match items {
                Some(items) => (items, Some(map)),
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let mut turns = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(text) = text_of(item.get("text")) else {
            return Err(format!("turn {}: no text", i + 1));
        };
        let speaker = text_of(item.get("speaker").or_else(|| item.get("name")))
            .unwrap_or_else(|| "unknown".to_string());
        turns.push(Turn { speaker, text });
    }
    if turns.is_empty() {
        return Ok(None);
    }
    let mut info = CallInfo::default();
    if let Some(map) = meta {
        info.deal = text_of(map.get("deal"));
        info.subject = text_of(map.get("title").or_else(|| map.get("subject")));
        if let Some(date) = text_of(map.get("date")) {
            let parsed = parse_note_date(&date).ok_or(format!("unreadable date {date:?}"))?;
            info.date = Some(parsed);
        }
    }
    Ok(Some(call_message(raw, path, &turns, info)))
}

fn parse_vtt(raw: &[u8], path: &Path) -> Result<Option<Message>, String> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if !text.starts_with("WEBVTT") {
        return Err("no WEBVTT line at the start".to_string());
    }
    let mut info = CallInfo::default();
    let mut turns: Vec<Turn> = Vec::new();
    for block in text.split("\n\n").skip(1) {
        let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.first().is_some_and(|l| l.starts_with("NOTE")) {
            for line in &lines {
                let line = line.trim_start_matches("NOTE").trim();
                let Some((key, value)) = line.split_once(':') else {
                    continue;
                };
                let value = value.trim().to_string();
                match key.trim().to_ascii_lowercase().as_str() {
                    "deal" => info.deal = Some(value),
                    "title" | "subject" => info.subject = Some(value),
                    "date" => info.date = parse_note_date(&value),
                    _ => {}
                }
            }
            continue;
        }
        let Some(timing) = lines.iter().position(|l| l.contains("-->")) else {
            continue;
        };
        for line in &lines[timing + 1..] {
            let turn = vtt_turn(line);
            match turns.last_mut() {
                Some(last) if last.speaker == turn.speaker => {
                    last.text.push(' ');
                    last.text.push_str(&turn.text);
                }
                _ => turns.push(turn),
            }
        }
    }
    if turns.is_empty() {
        return Err("no cues with text".to_string());
    }
    Ok(Some(call_message(raw, path, &turns, info)))
}

/// "<v Anna Berg>Hello</v>", "Anna Berg: Hello" or just "Hello".
fn vtt_turn(line: &str) -> Turn {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("<v") {
        if let Some(close) = rest.find('>') {
            let speaker = rest[..close].trim().trim_start_matches('.').to_string();
            let speaker = speaker
                .split_once(' ')
                .map_or(speaker.clone(), |(class, name)| {
                    if class.starts_with('.') {
                        name.to_string()
                    } else {
                        speaker.clone()
                    }
                });
            let text = rest[close + 1..].replace("</v>", "").trim().to_string();
            return Turn { speaker, text };
        }
    }
    match line.split_once(": ") {
        Some((speaker, text)) if speaker.len() <= 40 && !speaker.contains("://") => Turn {
            speaker: speaker.trim().to_string(),
            text: text.trim().to_string(),
        },
        _ => Turn {
            speaker: String::new(),
            text: line.to_string(),
        },
    }
}

fn call_message(raw: &[u8], path: &Path, turns: &[Turn], info: CallInfo) -> Message {
    let body = turns
        .iter()
        .map(|t| {
            if t.speaker.is_empty() {
                t.text.clone()
            } else {
                format!("{}: {}", t.speaker, t.text)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut speakers: Vec<&str> = Vec::new();
    for turn in turns.iter().filter(|t| !t.speaker.is_empty()) {
        if !speakers.contains(&turn.speaker.as_str()) {
            speakers.push(&turn.speaker);
        }
    }
    let subject = info.subject.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().replace(['_', '-'], " "))
            .unwrap_or_default()
    });
    Message {
        id: content_id(raw),
        kind: MessageKind::Call,
        source: SourceRef {
            path: path.display().to_string(),
            offset: None,
        },
        date: info.date,
        from: String::new(),
        from_name: speakers.first().map(|s| s.to_string()).unwrap_or_default(),
        to: Vec::new(),
        cc: Vec::new(),
        subject,
        new_text: body.clone(),
        body,
        in_reply_to: None,
        references: Vec::new(),
        deal_id: info.deal,
        direction: Direction::Internal,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    }
}

/// Reads a call note, or `Ok(None)` when the text has no note header block
/// (the caller then tries it as mail). `Err` names what is wrong with a
/// header block that is clearly meant as a note.
pub fn parse_note(raw: &[u8], path: &Path) -> Result<Option<Message>, String> {
    let text = String::from_utf8_lossy(raw);
    let Some((header, body)) = split_header(&text) else {
        return Ok(None);
    };

    let mut deal = None;
    let mut date = None;
    let mut participants = Vec::new();
    let mut subject = None;
    for (line_no, line) in header.lines().enumerate() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "deal" => deal = Some(value.to_string()).filter(|v| !v.is_empty()),
            "date" => {
                date =
                    Some(parse_note_date(value).ok_or_else(|| {
                        format!("line {}: unreadable date {value:?}", line_no + 1)
                    })?)
            }
            "participants" => participants = parse_participants(value),
            "subject" | "title" => subject = Some(value.to_string()),
            _ => {}
        }
    }

    let subject = subject.filter(|s| !s.is_empty()).unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().replace(['_', '-'], " "))
            .unwrap_or_default()
    });
    let (from, from_name) = participants.first().cloned().unwrap_or_default();
    let to = participants
        .iter()
        .skip(1)
        .map(|(a, _)| a.clone())
        .collect();
    let body = body.trim().replace("\r\n", "\n");

    Ok(Some(Message {
        id: content_id(raw),
        kind: MessageKind::Call,
        source: SourceRef {
            path: path.display().to_string(),
            offset: None,
        },
        date,
        from,
        from_name,
        to,
        cc: Vec::new(),
        subject,
        new_text: body.clone(),
        body,
        in_reply_to: None,
        references: Vec::new(),
        deal_id: deal,
        direction: Direction::Internal,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    }))
}

/// Splits at the first `---` line when every line above it is a known
/// `key: value` pair (blank lines and a leading `---` allowed, as in YAML
/// front matter).
fn split_header(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .unwrap_or(text);
    let mut pos = 0;
    let mut keys = 0;
    for line in text.split_inclusive('\n').take(MAX_HEADER_LINES) {
        let trimmed = line.trim();
        if trimmed == "---" {
            return (keys > 0).then(|| (&text[..pos], &text[pos + line.len()..]));
        }
        pos += line.len();
        if trimmed.is_empty() {
            continue;
        }
        let key = trimmed.split_once(':')?.0.trim().to_ascii_lowercase();
        if !NOTE_KEYS.contains(&key.as_str()) {
            return None;
        }
        keys += 1;
    }
    None
}

/// Participants as `(address, name)`: "Name <addr>" or a bare address, or
/// just a name when the note taker did not know the address.
fn parse_participants(value: &str) -> Vec<(String, String)> {
    value
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match (p.find('<'), p.rfind('>')) {
            (Some(open), Some(close)) if open < close => (
                p[open + 1..close].trim().to_lowercase(),
                p[..open].trim().trim_matches('"').to_string(),
            ),
            _ if p.contains('@') => (p.to_lowercase(), String::new()),
            _ => (String::new(), p.to_string()),
        })
        .collect()
}

/// Note dates are written by people: a day, a day and a time, or RFC 3339.
/// A day without a time is taken as midnight UTC.
fn parse_note_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Some(dt.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(value, format) {
            return Some(dt.and_utc());
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &[u8] = b"deal: D-1007\ndate: 2026-03-14\n\
participants: Anna Berg <Anna@Vendor.example>, Lars Holm <lars@kund.example>\n\
subject: Discovery call\n---\nLars said budget is approved for Q2.\n";

    #[test]
    fn note_header_fills_call_message() {
        let m = parse_note(NOTE, Path::new("notes/call.md"))
            .unwrap()
            .unwrap();
        assert_eq!(m.kind, MessageKind::Call);
        assert_eq!(m.deal_id.as_deref(), Some("D-1007"));
        assert_eq!(m.from, "anna@vendor.example");
        assert_eq!(m.from_name, "Anna Berg");
        assert_eq!(m.to, vec!["lars@kund.example"]);
        assert_eq!(m.subject, "Discovery call");
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-03-14T00:00:00+00:00");
        assert_eq!(m.new_text, "Lars said budget is approved for Q2.");
    }

    #[test]
    fn subject_falls_back_to_file_name() {
        let raw = b"deal: D-1\nparticipants: a@x.example\n---\ntext\n";
        let m = parse_note(raw, Path::new("n/pricing_call-2.txt"))
            .unwrap()
            .unwrap();
        assert_eq!(m.subject, "pricing call 2");
        assert_eq!(m.from, "a@x.example");
    }

    #[test]
    fn text_without_header_block_is_not_a_note() {
        assert_eq!(
            parse_note(b"Just some text\n---\nmore", Path::new("a.md")),
            Ok(None)
        );
        assert_eq!(
            parse_note(b"From: a@x\nSubject: s\n\nbody", Path::new("a.txt")),
            Ok(None)
        );
    }

    #[test]
    fn unreadable_date_is_an_error_naming_the_line() {
        let raw = b"deal: D-1\ndate: next tuesday\n---\ntext\n";
        let err = parse_note(raw, Path::new("a.md")).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn vtt_transcript_keeps_speakers_and_deal() {
        let raw = b"WEBVTT\n\nNOTE deal: D-7\n\n1\n00:00:01.000 --> 00:00:03.000\n\
<v Lars Holm>Budget is approved.</v>\n\n00:00:03.000 --> 00:00:05.000\n\
<v Lars Holm>We sign in April.</v>\n\n00:00:05.000 --> 00:00:07.000\nAnna Berg: Great.\n";
        let m = parse_note_file(raw, Path::new("call.vtt"))
            .unwrap()
            .unwrap();
        assert_eq!(m.deal_id.as_deref(), Some("D-7"));
        assert_eq!(m.from_name, "Lars Holm");
        assert_eq!(
            m.body,
            "Lars Holm: Budget is approved. We sign in April.\nAnna Berg: Great."
        );
    }

    #[test]
    fn json_transcript_is_read_and_other_json_is_not_a_note() {
        let raw = br#"{"deal": "D-8", "date": "2026-03-14", "title": "Pricing call",
            "segments": [{"speaker": "Lars", "text": "Too expensive."},
                         {"speaker": "Anna", "text": "We can discount."}]}"#;
        let m = parse_note_file(raw, Path::new("c.json")).unwrap().unwrap();
        assert_eq!(m.subject, "Pricing call");
        assert_eq!(m.deal_id.as_deref(), Some("D-8"));
        assert_eq!(m.new_text, "Lars: Too expensive.\nAnna: We can discount.");
        assert_eq!(m.kind, MessageKind::Call);
        let other = br#"{"subject": "x", "body": "y"}"#;
        assert_eq!(parse_note_file(other, Path::new("e.json")), Ok(None));
    }

    #[test]
    fn yaml_front_matter_style_is_accepted() {
        let raw = b"---\ndeal: D-2\ndate: 2026-03-14 15:30\n---\ntext\n";
        let m = parse_note(raw, Path::new("a.md")).unwrap().unwrap();
        assert_eq!(m.deal_id.as_deref(), Some("D-2"));
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-03-14T15:30:00+00:00");
    }
}
