//! Search benchmark: indexes the Enron Maildir (and then Enron plus the
//! Apache ponymail mboxes) from /work/shared/realdata and runs a fixed set
//! of 50 queries 20 times each. Prints one tab-separated line per query
//! (`query<TAB>notmuch equivalent<TAB>hits<TAB>p50 µs<TAB>p99 µs` for the
//! Enron index, then the same for the combined index) after `#` lines with
//! index times; scripts/bench-search adds notmuch's numbers and prints the
//! table. Run: `cargo run --release --example bench_search`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use dealsignal::domain::{Direction, Message, MessageKind, SourceRef};
use dealsignal::search::SearchIndex;
use mailparse::MailHeaderMap;

const ENRON: &str = "/work/shared/realdata/enron_berkeley_categories/maildir_standard";
const PONYMAIL: &str = "/work/shared/realdata/apache_ponymail_mbox/corpus";
const RUNS: usize = 20;

/// Our query and notmuch's equivalent ("-" where notmuch has none).
const QUERIES: [(&str, &str); 50] = [
    ("enron", "enron"),
    ("energy", "energy"),
    ("meeting", "meeting"),
    ("contract", "contract"),
    ("budget", "budget"),
    ("california", "california"),
    ("power", "power"),
    ("gas", "gas"),
    ("price", "price"),
    ("maven", "maven"),
    ("\"natural gas\"", "\"natural gas\""),
    ("\"conference call\"", "\"conference call\""),
    ("\"please let me know\"", "\"please let me know\""),
    ("\"press release\"", "\"press release\""),
    ("\"power plant\"", "\"power plant\""),
    ("\"energy crisis\"~2", "-"),
    ("\"price cap\"~3", "-"),
    ("energy AND california", "energy and california"),
    ("power OR electricity", "power or electricity"),
    ("energy AND NOT california", "energy and not california"),
    ("(gas OR power) AND price", "(gas or power) and price"),
    (
        "meeting AND NOT (lunch OR dinner)",
        "meeting and not (lunch or dinner)",
    ),
    ("from:enron.com", "from:enron.com"),
    ("from:kenneth.lay@enron.com", "from:kenneth.lay@enron.com"),
    ("from:jeff", "from:jeff"),
    ("to:enron.com", "to:enron.com"),
    ("to:steven.kean@enron.com", "to:steven.kean@enron.com"),
    ("subject:meeting", "subject:meeting"),
    ("subject:california", "subject:california"),
    ("subject:\"energy crisis\"", "subject:\"energy crisis\""),
    ("body:ferc", "body:ferc"),
    ("subject:re", "subject:re"),
    ("date:2001-01-01..2001-03-31", "date:2001-01-01..2001-03-31"),
    ("date:2000-01-01..2000-12-31", "date:2000-01-01..2000-12-31"),
    ("date:2001-05-01..", "date:2001-05-01.."),
    ("date:..2000-06-30", "date:..2000-06-30"),
    (
        "california date:2001-01-01..2001-06-30",
        "california date:2001-01-01..2001-06-30",
    ),
    (
        "from:enron.com date:2001-01-01..2001-12-31",
        "from:enron.com date:2001-01-01..2001-12-31",
    ),
    (
        "\"natural gas\" date:2000-01-01..2001-12-31",
        "\"natural gas\" date:2000-01-01..2001-12-31",
    ),
    (
        "subject:meeting from:enron.com",
        "subject:meeting from:enron.com",
    ),
    ("lang:en", "-"),
    ("kind:email", "*"),
    ("direction:internal AND energy", "energy"),
    ("thread:nonexistent", "-"),
    ("energ*", "energ*"),
    ("regulat*", "regulat*"),
    ("approved", "approved"),
    ("approves", "approves"),
    ("contracts", "contracts"),
    ("date:30d..", "date:30d.."),
];

fn main() {
    let enron = read_maildir(Path::new(ENRON));
    let ponymail = read_mboxes(Path::new(PONYMAIL));
    assert!(!enron.is_empty(), "real data missing: {ENRON}");
    assert!(!ponymail.is_empty(), "real data missing: {PONYMAIL}");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut enron_index = SearchIndex::open_or_create(&dir.path().join("enron")).expect("index");
    let started = Instant::now();
    enron_index.add_messages(&enron).expect("index enron");
    println!(
        "# index enron\t{} messages\t{:.1} ms",
        enron_index.num_messages(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    let mut all_index = SearchIndex::open_or_create(&dir.path().join("all")).expect("index");
    let mut all = enron.clone();
    all.extend(ponymail);
    let started = Instant::now();
    all_index.add_messages(&all).expect("index all");
    println!(
        "# index enron+ponymail\t{} messages\t{:.1} ms",
        all_index.num_messages(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    let mut everything = Vec::new();
    for (query, notmuch) in QUERIES {
        let (hits, p50, p99) = time(&enron_index, query);
        let (all_hits, all_p50, all_p99) = time(&all_index, query);
        everything.push(p50);
        println!(
            "{query}\t{notmuch}\t{hits}\t{p50}\t{p99}\t{all_hits}\t{all_p50}\t{all_p99}",
            p50 = micros(p50),
            p99 = micros(p99),
            all_p50 = micros(all_p50),
            all_p99 = micros(all_p99)
        );
    }
}

/// Hits (count of all matches) and p50/p99 of `RUNS` searches that also
/// fetch the top 20 hits with snippets, as the CLI does.
fn time(index: &SearchIndex, query: &str) -> (usize, Duration, Duration) {
    let hits = index
        .count(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            index.search(query, 20).expect("search");
            started.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (hits, at(0.5), at(0.99))
}

fn micros(d: Duration) -> u128 {
    d.as_micros()
}

fn read_maildir(root: &Path) -> Vec<Message> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            to_message(&bytes, &p.display().to_string(), None)
        })
        .collect()
}

/// Splits mbox files on `From ` lines; enough for a benchmark.
fn read_mboxes(root: &Path) -> Vec<Message> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "mbox"));
    paths.sort();
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let mut starts: Vec<usize> = Vec::new();
        for (at, _) in bytes.windows(5).enumerate().filter(|(_, w)| *w == b"From ") {
            if at == 0 || bytes[at - 1] == b'\n' {
                starts.push(at);
            }
        }
        starts.push(bytes.len());
        for pair in starts.windows(2) {
            let chunk = &bytes[pair[0]..pair[1]];
            let body_start = chunk.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
            let source = path.display().to_string();
            if let Some(m) = to_message(&chunk[body_start..], &source, Some(pair[0] as u64)) {
                out.push(m);
            }
        }
    }
    out
}

fn to_message(bytes: &[u8], path: &str, offset: Option<u64>) -> Option<Message> {
    let mail = mailparse::parse_mail(bytes).ok()?;
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let addresses = |name: &str| -> Vec<String> {
        header(name)
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let body = mail
        .subparts
        .first()
        .and_then(|p| p.get_body().ok())
        .or_else(|| mail.get_body().ok())
        .unwrap_or_default();
    let date = mailparse::dateparse(&header("Date"))
        .ok()
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single());
    let mut id = header("Message-ID").trim().to_string();
    if id.is_empty() {
        id = format!("{path}:{}", offset.unwrap_or(0));
    }
    let from = header("From");
    let from = match mailparse::addrparse(&from)
        .ok()
        .and_then(|l| l.extract_single_info())
    {
        Some(info) => info.addr.to_lowercase(),
        None => from.trim().to_lowercase(),
    };
    Some(Message {
        id,
        kind: MessageKind::Email,
        source: SourceRef {
            path: path.to_string(),
            offset,
        },
        date,
        from,
        from_name: String::new(),
        to: addresses("To"),
        cc: addresses("Cc"),
        subject: header("Subject"),
        new_text: body.clone(),
        body,
        in_reply_to: Some(header("In-Reply-To")).filter(|s| !s.trim().is_empty()),
        references: header("References")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        deal_id: None,
        direction: Direction::Internal,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    })
}
