//! Splits an mbox file into its messages (ingest stage, first step for mbox
//! sources).
//!
//! The splitter follows the mboxrd convention: a message starts at a line
//! beginning with `From ` that is either the first line of the file or comes
//! right after a blank line, and body lines that were escaped on write as
//! `>From `, `>>From `, ... lose one `>`. It reads line by line from any
//! [`BufRead`], so a large archive never has to sit in memory at once.
//!
//! Old Netscape and Eudora mboxes put the separator right after the
//! previous body with no blank line (they relied on Content-Length). A line
//! that is a complete separator, "From " + sender + an asctime date, splits
//! even without the blank line; a body line that merely starts with "From "
//! never has that shape.

use std::io::{self, BufRead};

use once_cell::sync::Lazy;
use regex::bytes::Regex;

/// A full separator line: `From sender Www Mmm dd hh:mm[:ss] [zone] yyyy`.
static FULL_SEPARATOR: Lazy<Regex> = Lazy::new(|| {
    Regex::new(concat!(
        r"^From \S+\s+(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+",
        r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+",
        r"\d{1,2}:\d{2}(:\d{2})?\s+(\S+\s+)?\d{4}\s*$",
    ))
    .expect("separator pattern is valid")
});

/// One raw message cut out of an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Byte offset of the message's `From ` separator line in the file, so
    /// that an error can point at the exact place.
    pub offset: u64,
    /// The RFC 822 bytes without the separator line, unescaped.
    pub raw: Vec<u8>,
}

/// Streams the messages of one mbox file, in file order.
pub struct MboxReader<R> {
    reader: R,
    /// Bytes consumed so far.
    pos: u64,
    /// Offset of a separator line already read but not yet turned into a
    /// message.
    next_start: Option<u64>,
    started: bool,
    line: Vec<u8>,
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(reader: R) -> Self {
        MboxReader {
            reader,
            pos: 0,
            next_start: None,
            started: false,
            line: Vec::new(),
        }
    }

    /// Reads one line into `self.line`; false at end of input.
    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        self.pos += n as u64;
        Ok(n > 0)
    }

    /// Skips anything before the first separator. A file that does not
    /// start with one is not an mbox; callers check that before, so any
    /// leading junk here is dropped rather than invented into a message.
    fn find_first(&mut self) -> io::Result<()> {
        self.started = true;
        loop {
            let at = self.pos;
            if !self.read_line()? {
                return Ok(());
            }
            if is_separator(&self.line) {
                self.next_start = Some(at);
                return Ok(());
            }
        }
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<MboxMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            if let Err(e) = self.find_first() {
                return Some(Err(e));
            }
        }
        let offset = self.next_start.take()?;
        let mut raw = Vec::new();
        let mut prev_blank = false;
        loop {
            let at = self.pos;
            match self.read_line() {
                Err(e) => return Some(Err(e)),
                Ok(false) => break,
                Ok(true) => {}
            }
            let splits = if prev_blank {
                is_separator(&self.line)
            } else {
                FULL_SEPARATOR.is_match(&self.line)
            };
            if splits {
                self.next_start = Some(at);
                break;
            }
            prev_blank = is_blank(&self.line);
            raw.extend_from_slice(unescape(&self.line));
        }
        strip_one_trailing_blank_line(&mut raw);
        Some(Ok(MboxMessage { offset, raw }))
    }
}

/// Whether a file's first bytes mark it as an mbox.
pub fn looks_like_mbox(head: &[u8]) -> bool {
    head.starts_with(b"From ")
}

fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// Undoes the mboxrd escaping: `>From ` becomes `From `, `>>From ` becomes
/// `>From `. Lines that are quoted text (`> From `) are left alone.
fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// The blank line before a separator belongs to the mbox framing, not to
/// the message.
fn strip_one_trailing_blank_line(raw: &mut Vec<u8>) {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.truncate(raw.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(data: &[u8]) -> Vec<MboxMessage> {
        MboxReader::new(data)
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    const TWO: &[u8] = b"From a@x Mon Jan  5 10:00:00 2026\nSubject: one\n\nfirst body\n\n\
From b@y Mon Jan  5 11:00:00 2026\nSubject: two\n\nsecond body\n";

    #[test]
    fn splits_at_from_lines_and_records_their_offsets() {
        let msgs = split(TWO);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].offset, 0);
        let second = TWO.windows(7).position(|w| w == b"From b@").unwrap() as u64;
        assert_eq!(msgs[1].offset, second);
        assert_eq!(msgs[0].raw, b"Subject: one\n\nfirst body\n");
    }

    #[test]
    fn keeps_the_last_message_without_trailing_blank_line() {
        let msgs = split(TWO);
        assert_eq!(msgs[1].raw, b"Subject: two\n\nsecond body\n");
    }

    #[test]
    fn from_inside_body_after_text_line_does_not_split() {
        let data = b"From a@x Mon Jan  5 10:00:00 2026\nSubject: s\n\nline one\n\
From here on we talk about pricing\n";
        let msgs = split(data);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0]
            .raw
            .ends_with(b"From here on we talk about pricing\n"));
    }

    #[test]
    fn mboxrd_escaped_from_lines_lose_one_quote() {
        let data = b"From a@x Mon Jan  5 10:00:00 2026\nSubject: s\n\n>From the start\n\
>>From deeper\n> From a real quote\n";
        let msgs = split(data);
        let body = String::from_utf8(msgs[0].raw.clone()).unwrap();
        assert!(body.contains("\nFrom the start\n"), "{body}");
        assert!(body.contains("\n>From deeper\n"), "{body}");
        assert!(body.contains("\n> From a real quote\n"), "{body}");
    }

    #[test]
    fn crlf_files_split_like_lf_files() {
        let data = b"From a@x 2026\r\nSubject: one\r\n\r\nbody\r\n\r\nFrom b@y 2026\r\n\
Subject: two\r\n\r\nbody2\r\n";
        let msgs = split(data);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].raw, b"Subject: one\r\n\r\nbody\r\n");
        assert_eq!(msgs[1].offset, 39);
    }

    #[test]
    fn netscape_separator_without_blank_line_splits() {
        let data = b"From - Mon Jan  5 10:00:00 2026\nSubject: one\n\nbody\n\
From - Tue Jan  6 11:00:00 2026\nSubject: two\n\nhello\nFrom the team\n";
        let msgs = split(data);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].raw, b"Subject: one\n\nbody\n");
        assert!(msgs[1].raw.ends_with(b"From the team\n"));
    }

    #[test]
    fn empty_input_has_no_messages() {
        assert!(split(b"").is_empty());
    }

    #[test]
    fn non_utf8_bytes_pass_through_unchanged() {
        let data = b"From a@x 2026\nSubject: caf\xe9\n\nbody \xff\n";
        let msgs = split(data);
        assert_eq!(msgs[0].raw, b"Subject: caf\xe9\n\nbody \xff\n");
    }
}
