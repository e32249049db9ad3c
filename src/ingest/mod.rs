//! The ingest stage: the first stage of the pipeline. It reads mailboxes
//! (mbox files, Maildir trees, single .eml files), call notes and the CRM
//! deal export into [`domain`](crate::domain) records, and links each
//! message to its deal.
//!
//! Reading never stops at one bad input: a message or file that cannot be
//! read is listed in [`IngestReport::skipped`] with its reason and the run
//! goes on, because one corrupt mail in a ten-year archive must not cost
//! the user the other hundred thousand.

mod attribute;
mod clean;
mod deals;
mod mbox;
mod message;
mod notes;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use walkdir::WalkDir;

use crate::domain::{Message, SourceRef};
use crate::error::{Error, Result};

pub use attribute::{attribute, direction};
pub use clean::new_text;
pub use deals::{read_deals, DealsFile};
pub use mbox::{MboxMessage, MboxReader};
pub use message::{html_to_text, parse_message};
pub use notes::parse_note;

/// What the caller knows about its own organisation.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Mail domains of the selling team; they decide whether a message is
    /// inbound, outbound or internal.
    pub internal_domains: Vec<String>,
}

/// One input that was not turned into a message, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub source: SourceRef,
    pub reason: String,
}

/// Everything read from the sources, plus an account of what was left out,
/// so that messages read + skipped always adds up to what was there.
#[derive(Debug, Default)]
pub struct IngestReport {
    pub messages: Vec<Message>,
    pub skipped: Vec<Skipped>,
    /// Files read as mail or call notes.
    pub files: usize,
    /// Bytes of those files.
    pub bytes: u64,
}

/// How many bytes of a file are read to decide what kind of file it is.
const SNIFF_BYTES: usize = 8 * 1024;

/// Reads every mail and call note under `paths`, walking folders
/// recursively. Fails only when a given path itself cannot be read; every
/// problem below it becomes a [`Skipped`] entry.
pub fn read_sources(paths: &[PathBuf], opts: &IngestOptions) -> Result<IngestReport> {
    let started = Instant::now();
    tracing::info!("ingest: reading {} source paths", paths.len());

    let mut reader = SourceReader {
        report: IngestReport::default(),
        seen: HashMap::new(),
        internal: opts.internal_domains.clone(),
    };
    for root in paths {
        std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
        // Hidden files and folders (.keep, .DS_Store, a .notmuch database)
        // are never mail; Maildir readers skip them by convention too.
        let walk = WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            match entry {
                Ok(entry) if entry.file_type().is_file() => reader.read_file(entry.path()),
                Ok(_) => {}
                Err(e) => {
                    let path = e.path().unwrap_or(root).display().to_string();
                    reader.skip(SourceRef { path, offset: None }, format!("unreadable: {e}"));
                }
            }
        }
    }

    let report = reader.report;
    tracing::info!(
        "ingest: {} messages, {} skipped, {} files, {} bytes in {:.2?}",
        report.messages.len(),
        report.skipped.len(),
        report.files,
        report.bytes,
        started.elapsed()
    );
    Ok(report)
}

/// The state of one [`read_sources`] run.
struct SourceReader {
    report: IngestReport,
    /// Message id to the place it was first read, to drop duplicates that
    /// the same mail leaves in several folders or archives.
    seen: HashMap<String, SourceRef>,
    internal: Vec<String>,
}

/// What a file turned out to be.
enum FileKind {
    Mbox,
    /// A file in a Maildir's cur/ or new/: mail by definition.
    MaildirMail,
    MaildirTmp,
    /// Any other file; it is a note or a mail if its content says so.
    Other,
}

impl SourceReader {
    fn read_file(&mut self, path: &Path) {
        let source = SourceRef {
            path: path.display().to_string(),
            offset: None,
        };
        let head = match read_head(path) {
            Ok(head) => head,
            Err(e) => return self.skip(source, format!("unreadable: {e}")),
        };

        match classify(path, &head) {
            FileKind::Mbox => self.read_mbox(path),
            FileKind::MaildirTmp => {
                self.skip(source, "Maildir tmp/ holds unfinished deliveries".into())
            }
            FileKind::MaildirMail => self.read_single(path, source, true),
            FileKind::Other => self.read_single(path, source, false),
        }
    }

    /// Reads a file holding one mail or one call note.
    fn read_single(&mut self, path: &Path, source: SourceRef, known_mail: bool) {
        let raw = match std::fs::read(path) {
            Ok(raw) => raw,
            Err(e) => return self.skip(source, format!("unreadable: {e}")),
        };

        if !known_mail && notes::has_note_extension(path) {
            match notes::parse_note(&raw, path) {
                Ok(Some(note)) => {
                    self.count_file(raw.len());
                    return self.keep(note);
                }
                Ok(None) => {}
                Err(reason) => {
                    self.count_file(raw.len());
                    return self.skip(source, format!("call note: {reason}"));
                }
            }
        }

        if !known_mail && !message::looks_like_mail(&raw[..raw.len().min(SNIFF_BYTES)]) {
            tracing::debug!("ignoring {source}: neither mail, mbox nor call note");
            self.report.skipped.push(Skipped {
                source,
                reason: "neither mail, mbox nor call note".into(),
            });
            return;
        }

        self.count_file(raw.len());
        match message::parse_message(&raw, source.clone()) {
            Ok(msg) => self.keep(msg),
            Err(reason) => self.skip(source, reason),
        }
    }

    /// Streams an mbox file message by message.
    fn read_mbox(&mut self, path: &Path) {
        let path_text = path.display().to_string();
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => return self.skip(whole_file(&path_text), format!("unreadable: {e}")),
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.report.files += 1;
        self.report.bytes += size;

        let mut count = 0usize;
        for item in MboxReader::new(BufReader::new(file)) {
            let mbox_message = match item {
                Ok(m) => m,
                Err(e) => {
                    // The reader cannot resync after an I/O error; the rest
                    // of the file is lost and said so.
                    let reason = format!("read error after {count} messages: {e}");
                    return self.skip(whole_file(&path_text), reason);
                }
            };
            count += 1;
            let source = SourceRef {
                path: path_text.clone(),
                offset: Some(mbox_message.offset),
            };
            match message::parse_message(&mbox_message.raw, source.clone()) {
                Ok(msg) => self.keep(msg),
                Err(reason) => self.skip(source, reason),
            }
        }
        tracing::debug!("{path_text}: {count} messages in mbox");
    }

    fn count_file(&mut self, len: usize) {
        self.report.files += 1;
        self.report.bytes += len as u64;
    }

    /// Keeps a message unless its id was already read.
    fn keep(&mut self, mut msg: Message) {
        if let Some(first) = self.seen.get(&msg.id) {
            let reason = format!("duplicate of message {} first read from {first}", msg.id);
            // Duplicates are routine (one mail in several folders), so they
            // are logged quietly; the report still lists them.
            tracing::debug!("skipping {}: {reason}", msg.source);
            self.report.skipped.push(Skipped {
                source: msg.source,
                reason,
            });
            return;
        }
        self.seen.insert(msg.id.clone(), msg.source.clone());
        msg.direction = direction(&msg, &self.internal);
        self.report.messages.push(msg);
    }

    fn skip(&mut self, source: SourceRef, reason: String) {
        tracing::warn!("skipping {source}: {reason}");
        self.report.skipped.push(Skipped { source, reason });
    }
}

fn whole_file(path: &str) -> SourceRef {
    SourceRef {
        path: path.to_string(),
        offset: None,
    }
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn classify(path: &Path, head: &[u8]) -> FileKind {
    if mbox::looks_like_mbox(head) {
        return FileKind::Mbox;
    }
    match maildir_folder(path) {
        Some("tmp") => FileKind::MaildirTmp,
        Some(_) => FileKind::MaildirMail,
        None => FileKind::Other,
    }
}

/// For a file directly inside a Maildir's cur/, new/ or tmp/, the name of
/// that folder. A folder counts as a Maildir when it has cur/ or new/; tmp/
/// is often missing from copies because it is usually empty.
fn maildir_folder(path: &Path) -> Option<&str> {
    let parent = path.parent()?;
    let name = parent.file_name()?.to_str()?;
    if !matches!(name, "cur" | "new" | "tmp") {
        return None;
    }
    let maildir = parent.parent()?;
    let is_maildir = maildir.join("cur").is_dir() || maildir.join("new").is_dir();
    is_maildir.then_some(name)
}
