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
mod doctor;
mod mbox;
mod message;
mod notes;
mod threads;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::domain::{Message, SourceRef};
use crate::error::{Error, Result};
use crate::store::FileRecord;

pub use attribute::{attribute, deal_reference, direction};
pub use clean::new_text;
pub use deals::{read_deals, DealsFile};
pub use doctor::{doctor, DoctorConfig, DoctorReport};
pub use mbox::{MboxMessage, MboxReader};
pub use message::{html_to_text, parse_message};
pub use notes::parse_note;
pub use threads::{assign_threads, subject_key};

/// What the caller knows about its own organisation.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Mail domains of the selling team; they decide whether a message is
    /// inbound, outbound or internal.
    pub internal_domains: Vec<String>,
    /// The store's ledger of files read before, by path: a file whose
    /// size and modification time (or, failing that, content hash) match
    /// its entry is not read again.
    pub known_files: HashMap<String, FileRecord>,
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
    /// Files skipped because the ledger says they are unchanged.
    pub unchanged: usize,
    /// Ledger entries for every file read (or found unchanged under a new
    /// time stamp), to be stored together with `messages`.
    pub ledger: Vec<FileRecord>,
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
        known: &opts.known_files,
        file_ids: Vec::new(),
    };
    for root in paths {
        std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
        // Hidden files and folders (.keep, .DS_Store, a .notmuch database)
        // are never mail; Maildir readers skip them by convention too.
        // Links are followed (an archive linked into the mail folder is
        // mail); dangling links and link loops come back as errors.
        let walk = WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e));
        for entry in walk {
            match entry {
                Ok(entry) if entry.file_type().is_file() => reader.read_file(entry.path()),
                Ok(entry) if entry.file_type().is_dir() => {}
                // Opening a FIFO would wait for a writer forever.
                Ok(entry) => reader.skip(
                    whole_file(&entry.path().display().to_string()),
                    "not a regular file (FIFO, socket or device)".into(),
                ),
                Err(e) => {
                    let path = e.path().unwrap_or(root).display().to_string();
                    reader.skip(SourceRef { path, offset: None }, format!("unreadable: {e}"));
                }
            }
        }
    }

    let mut report = reader.report;
    assign_threads(&mut report.messages);
    tracing::info!(
        "ingest: {} messages, {} skipped, {} files, {} bytes, {} unchanged files in {:.2?}",
        report.messages.len(),
        report.skipped.len(),
        report.files,
        report.bytes,
        report.unchanged,
        started.elapsed()
    );
    Ok(report)
}

/// The state of one [`read_sources`] run.
struct SourceReader<'a> {
    report: IngestReport,
    known: &'a HashMap<String, FileRecord>,
    /// Ids of the messages of the file being read, duplicates included.
    file_ids: Vec<String>,
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
    /// Any other file; it is a note or a mail if its content says so.
    Other,
}

impl SourceReader<'_> {
    fn read_file(&mut self, path: &Path) {
        let source = whole_file(&path.display().to_string());
        if maildir_folder(path) == Some("tmp") {
            return self.skip(source, "Maildir tmp/ holds unfinished deliveries".into());
        }
        let (size, mtime_ns) = match std::fs::metadata(path) {
            Ok(meta) => (meta.len(), mtime_ns(&meta)),
            Err(e) => return self.skip(source, format!("unreadable: {e}")),
        };
        let known = self.known.get(&source.path);
        if known.is_some_and(|k| k.size == size && k.mtime_ns == mtime_ns) {
            self.report.unchanged += 1;
            return;
        }
        let raw = match std::fs::read(path) {
            Ok(raw) => raw,
            Err(e) => return self.skip(source, format!("unreadable: {e}")),
        };
        let sha256 = hex::encode(Sha256::digest(&raw));
        let mut record = FileRecord {
            path: source.path.clone(),
            size: raw.len() as u64,
            mtime_ns,
            sha256,
            message_ids: Vec::new(),
        };
        if let Some(known) = known.filter(|k| k.sha256 == record.sha256) {
            // Touched or copied, same content: only the time stamp is news.
            self.report.unchanged += 1;
            record.message_ids = known.message_ids.clone();
            self.report.ledger.push(record);
            return;
        }

        self.file_ids.clear();
        let head = &raw[..raw.len().min(SNIFF_BYTES)];
        let complete = match classify(path, head) {
            FileKind::Mbox => self.read_mbox(&raw, &source.path),
            FileKind::MaildirMail => self.read_single(path, &raw, source, true),
            FileKind::Other => self.read_single(path, &raw, source, false),
        };
        if complete {
            record.message_ids = std::mem::take(&mut self.file_ids);
            self.report.ledger.push(record);
        }
    }

    /// Reads a file holding one mail or one call note. Returns whether the
    /// file was read to its end, i.e. can go into the ledger.
    fn read_single(&mut self, path: &Path, raw: &[u8], source: SourceRef, mail: bool) -> bool {
        if !mail && notes::has_note_extension(path) {
            match notes::parse_note_file(raw, path) {
                Ok(Some(note)) => {
                    self.count_file(raw.len());
                    self.keep(note);
                    return true;
                }
                Ok(None) => {}
                Err(reason) => {
                    self.count_file(raw.len());
                    self.skip(source, format!("call note: {reason}"));
                    return true;
                }
            }
        }

        if !mail && !message::looks_like_mail(&raw[..raw.len().min(SNIFF_BYTES)]) {
            tracing::debug!("ignoring {source}: neither mail, mbox nor call note");
            self.report.skipped.push(Skipped {
                source,
                reason: "neither mail, mbox nor call note".into(),
            });
            return true;
        }

        self.count_file(raw.len());
        match message::parse_message(raw, source.clone()) {
            Ok(msg) => self.keep(msg),
            Err(reason) => self.skip(source, reason),
        }
        true
    }

    /// Splits an mbox file into its messages.
    fn read_mbox(&mut self, raw: &[u8], path_text: &str) -> bool {
        self.count_file(raw.len());
        let mut count = 0usize;
        for item in MboxReader::new(raw) {
            let mbox_message = match item {
                Ok(m) => m,
                Err(e) => {
                    let reason = format!("read error after {count} messages: {e}");
                    self.skip(whole_file(path_text), reason);
                    return false;
                }
            };
            count += 1;
            let source = SourceRef {
                path: path_text.to_string(),
                offset: Some(mbox_message.offset),
            };
            match message::parse_message(&mbox_message.raw, source.clone()) {
                Ok(msg) => self.keep(msg),
                Err(reason) => self.skip(source, reason),
            }
        }
        tracing::debug!("{path_text}: {count} messages in mbox");
        true
    }

    fn count_file(&mut self, len: usize) {
        self.report.files += 1;
        self.report.bytes += len as u64;
    }

    /// Keeps a message unless its id was already read.
    fn keep(&mut self, mut msg: Message) {
        self.file_ids.push(msg.id.clone());
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

/// Hidden files and folders, except Maildir++ subfolders (".Sent",
/// ".INBOX.deals"), which are hidden by convention but hold mail.
fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    if !entry.file_name().to_string_lossy().starts_with('.') {
        return false;
    }
    let path = entry.path();
    let maildir =
        entry.file_type().is_dir() && (path.join("cur").is_dir() || path.join("new").is_dir());
    !maildir
}

/// Nanoseconds since 1970, or 0 where the file system keeps no time (the
/// hash check then decides).
fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

fn whole_file(path: &str) -> SourceRef {
    SourceRef {
        path: path.to_string(),
        offset: None,
    }
}

fn classify(path: &Path, head: &[u8]) -> FileKind {
    if mbox::looks_like_mbox(head) {
        return FileKind::Mbox;
    }
    match maildir_folder(path) {
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
