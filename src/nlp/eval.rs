//! Scoring the heads on held-out labelled sentences.
//!
//! A sales leader only trusts a signal that is right most of the time in
//! their customers' language, so the report breaks precision and recall down
//! by language and by signal, and gives sentiment accuracy and macro-F1
//! beside it.
//!
//! Sentiment is also scored on public, human-labelled sets (tweets in six
//! languages, Swedish tweets and comments), each beside two baselines a
//! model must beat to be worth its cost: always the most common class, and
//! counting words from a small hand-written lexicon.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::domain::SignalKind;
use crate::error::{Error, Result};
use crate::nlp::heads::{Heads, LabelledSentence, Sentiment, SentimentHead, TrainConfig};

/// True positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => {}
        }
    }

    fn merge(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Signal and sentiment quality on one labelled set.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    /// Per language, per signal.
    pub signals: BTreeMap<String, BTreeMap<SignalKind, Counts>>,
    pub sentiment_total: usize,
    pub sentiment_correct: usize,
    /// Per true class (negative, neutral, positive): counts of predicted classes.
    pub sentiment_confusion: [[usize; 3]; 3],
}

impl EvalReport {
    pub fn micro(&self) -> Counts {
        let mut all = Counts::default();
        for per_kind in self.signals.values() {
            for counts in per_kind.values() {
                all.merge(*counts);
            }
        }
        all
    }

    pub fn language_micro(&self, lang: &str) -> Counts {
        let mut all = Counts::default();
        for counts in self.signals.get(lang).into_iter().flat_map(|m| m.values()) {
            all.merge(*counts);
        }
        all
    }

    pub fn kind_micro(&self, kind: SignalKind) -> Counts {
        let mut all = Counts::default();
        for per_kind in self.signals.values() {
            if let Some(counts) = per_kind.get(&kind) {
                all.merge(*counts);
            }
        }
        all
    }

    pub fn sentiment_accuracy(&self) -> f64 {
        ratio(self.sentiment_correct, self.sentiment_total)
    }

    pub fn sentiment_macro_f1(&self) -> f64 {
        macro_f1(&self.sentiment_confusion)
    }
}

/// Macro-averaged F1 over the three sentiment classes.
pub fn macro_f1(confusion: &[[usize; 3]; 3]) -> f64 {
    let f1s = (0..3).map(|c| {
        let tp = confusion[c][c];
        let fp: usize = (0..3).filter(|&r| r != c).map(|r| confusion[r][c]).sum();
        let fn_: usize = (0..3).filter(|&p| p != c).map(|p| confusion[c][p]).sum();
        ratio(2 * tp, 2 * tp + fp + fn_)
    });
    f1s.sum::<f64>() / 3.0
}

/// Scores `heads` on labelled sentences, given their embeddings in order.
pub fn evaluate(
    heads: &Heads,
    examples: &[LabelledSentence],
    embeddings: &[Vec<f32>],
) -> Result<EvalReport> {
    let predictions = heads.predict(embeddings)?;
    let mut report = EvalReport::default();
    for (example, prediction) in examples.iter().zip(&predictions) {
        let per_kind = report.signals.entry(example.lang.clone()).or_default();
        for kind in SignalKind::ALL {
            let predicted = prediction.signals.iter().any(|(k, _)| *k == kind);
            let actual = example.labels.contains(&kind);
            per_kind.entry(kind).or_default().add(predicted, actual);
        }
        let predicted = argmax(&prediction.sentiment);
        let actual = sentiment_index(example.sentiment);
        report.sentiment_total += 1;
        report.sentiment_correct += usize::from(predicted == actual);
        report.sentiment_confusion[actual][predicted] += 1;
    }
    Ok(report)
}

fn sentiment_index(s: Sentiment) -> usize {
    match s {
        Sentiment::Negative => 0,
        Sentiment::Neutral => 1,
        Sentiment::Positive => 2,
    }
}

fn argmax(values: &[f32; 3]) -> usize {
    (0..3).fold(0, |best, i| if values[i] > values[best] { i } else { best })
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "signals by language")?;
        writeln!(
            f,
            "{:<8} {:>6} {:>6} {:>6} {:>6}",
            "lang", "P", "R", "F1", "n+"
        )?;
        for lang in self.signals.keys() {
            let c = self.language_micro(lang);
            let positives = c.tp + c.fn_;
            writeln!(
                f,
                "{lang:<8} {:>6.3} {:>6.3} {:>6.3} {positives:>6}",
                c.precision(),
                c.recall(),
                c.f1()
            )?;
        }
        let all = self.micro();
        writeln!(
            f,
            "{:<8} {:>6.3} {:>6.3} {:>6.3} {:>6}",
            "micro",
            all.precision(),
            all.recall(),
            all.f1(),
            all.tp + all.fn_
        )?;
        writeln!(f, "\nsignals by kind")?;
        writeln!(
            f,
            "{:<20} {:>6} {:>6} {:>6} {:>6}",
            "signal", "P", "R", "F1", "n+"
        )?;
        for kind in SignalKind::ALL {
            let c = self.kind_micro(kind);
            writeln!(
                f,
                "{:<20} {:>6.3} {:>6.3} {:>6.3} {:>6}",
                kind.as_str(),
                c.precision(),
                c.recall(),
                c.f1(),
                c.tp + c.fn_
            )?;
        }
        writeln!(
            f,
            "\nsentiment: accuracy {:.3}, macro-F1 {:.3} over {} sentences",
            self.sentiment_accuracy(),
            self.sentiment_macro_f1(),
            self.sentiment_total
        )
    }
}

/// One public sentiment set, already split and sampled.
#[derive(Debug, Clone)]
pub struct SentimentSet {
    /// Folder or file name under the realdata root, for the table.
    pub name: String,
    pub lang: String,
    pub train: Vec<(String, Sentiment)>,
    pub test: Vec<(String, Sentiment)>,
}

/// The UMSAB tweet folders we sell in, with their ISO codes.
const XLMT_LANGUAGES: [(&str, &str); 6] = [
    ("english", "en"),
    ("german", "de"),
    ("french", "fr"),
    ("spanish", "es"),
    ("italian", "it"),
    ("portuguese", "pt"),
];

/// Reads the sentiment sets under `root` (the realdata folder), keeping at
/// most `limit` sentences per split, spread evenly over each file so that a
/// file sorted by label still gives every class. The Swedish set has no
/// split; a hash of the text sends about a third of it to test.
pub fn read_sentiment_sets(root: &Path, limit: usize) -> Result<Vec<SentimentSet>> {
    let mut sets = Vec::new();
    for (folder, lang) in XLMT_LANGUAGES {
        let dir = root.join("xlmt_umsab_sentiment/sentiment").join(folder);
        sets.push(SentimentSet {
            name: format!("xlmt/{folder}"),
            lang: lang.to_string(),
            train: spread(read_xlmt_split(&dir, "train")?, limit),
            test: spread(read_xlmt_split(&dir, "test")?, limit),
        });
    }
    let path = root.join("swe_sentiment_berggren/swe-sentiment-dataset.csv");
    let (train, test): (Vec<_>, Vec<_>) = read_berggren(&path)?
        .into_iter()
        .partition(|(text, _)| stable_hash(text) % 3 != 0);
    sets.push(SentimentSet {
        name: "swe_berggren".into(),
        lang: "sv".into(),
        train: spread(train, limit),
        test: spread(test, limit),
    });
    Ok(sets)
}

fn read_xlmt_split(dir: &Path, split: &str) -> Result<Vec<(String, Sentiment)>> {
    let text_path = dir.join(format!("{split}_text.txt"));
    let label_path = dir.join(format!("{split}_labels.txt"));
    let texts = std::fs::read_to_string(&text_path).map_err(|e| Error::io(&text_path, e))?;
    let labels = std::fs::read_to_string(&label_path).map_err(|e| Error::io(&label_path, e))?;
    let (texts, labels): (Vec<&str>, Vec<&str>) =
        (texts.lines().collect(), labels.lines().collect());
    if texts.len() != labels.len() {
        return Err(Error::bad_input(
            &label_path,
            format!("{} labels for {} texts", labels.len(), texts.len()),
        ));
    }
    let mut out = Vec::with_capacity(texts.len());
    for (line, (text, label)) in texts.iter().zip(&labels).enumerate() {
        // UMSAB codes: 0 negative, 1 neutral, 2 positive.
        let sentiment = match label.trim() {
            "0" => Sentiment::Negative,
            "1" => Sentiment::Neutral,
            "2" => Sentiment::Positive,
            other => {
                return Err(Error::BadRecord {
                    path: label_path.clone(),
                    record: format!("line {}", line + 1),
                    reason: format!("unknown label {other:?}"),
                })
            }
        };
        out.push((text.trim().to_string(), sentiment));
    }
    Ok(out)
}

fn read_berggren(path: &Path) -> Result<Vec<(String, Sentiment)>> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| Error::bad_input(path, e.to_string()))?;
    let mut out = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let bad = |reason: String| Error::BadRecord {
            path: path.to_path_buf(),
            record: format!("row {}", row + 2),
            reason,
        };
        let record = record.map_err(|e| bad(e.to_string()))?;
        let (Some(text), Some(label)) = (record.get(0), record.get(1)) else {
            return Err(bad("expected text and label columns".into()));
        };
        let sentiment =
            Sentiment::parse(label).ok_or_else(|| bad(format!("unknown label {label:?}")))?;
        out.push((text.trim().to_string(), sentiment));
    }
    Ok(out)
}

/// At most `limit` items taken at even steps through `items`.
fn spread<T: Clone>(items: Vec<T>, limit: usize) -> Vec<T> {
    if items.len() <= limit {
        return items;
    }
    (0..limit)
        .map(|i| items[i * items.len() / limit].clone())
        .collect()
}

fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Accuracy and macro-F1 of one classifier on one set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SentimentScore {
    pub accuracy: f64,
    pub macro_f1: f64,
}

impl SentimentScore {
    /// Scores predicted against actual classes.
    pub fn of(predicted: &[Sentiment], actual: &[Sentiment]) -> SentimentScore {
        let mut confusion = [[0usize; 3]; 3];
        for (p, a) in predicted.iter().zip(actual) {
            confusion[a.index()][p.index()] += 1;
        }
        let correct = (0..3).map(|c| confusion[c][c]).sum();
        SentimentScore {
            accuracy: ratio(correct, actual.len()),
            macro_f1: macro_f1(&confusion),
        }
    }
}

/// One row of the real-set table: the set and four classifiers on its test split.
#[derive(Debug, Clone)]
pub struct SentimentRow {
    pub name: String,
    pub lang: String,
    pub train: usize,
    pub test: usize,
    /// Always the most common class of the set's train split.
    pub majority: SentimentScore,
    /// Counting words of [`lexicon_sentiment`].
    pub lexicon: SentimentScore,
    /// The heads trained on our sales sentences, unchanged.
    pub shipped: SentimentScore,
    /// A sentiment head trained on the set's own train split.
    pub trained: SentimentScore,
}

/// Sentiment on the real sets, for `dealsignal eval --realdata`.
#[derive(Debug, Clone, Default)]
pub struct RealSentimentReport {
    pub rows: Vec<SentimentRow>,
}

/// Scores `shipped` and a head trained per set on every set; `embed` gives
/// one vector per text in order (the caller decides about caching).
pub fn evaluate_sentiment_sets(
    sets: &[SentimentSet],
    shipped: &Heads,
    mut embed: impl FnMut(&[String], &str) -> Result<Vec<Vec<f32>>>,
) -> Result<RealSentimentReport> {
    let mut report = RealSentimentReport::default();
    for set in sets {
        let train_texts: Vec<String> = set.train.iter().map(|(t, _)| t.clone()).collect();
        let test_texts: Vec<String> = set.test.iter().map(|(t, _)| t.clone()).collect();
        let train_labels: Vec<Sentiment> = set.train.iter().map(|(_, s)| *s).collect();
        let actual: Vec<Sentiment> = set.test.iter().map(|(_, s)| *s).collect();
        let train_vectors = embed(&train_texts, &set.name)?;
        let test_vectors = embed(&test_texts, &set.name)?;

        let majority_class = most_common(&train_labels);
        let majority = vec![majority_class; actual.len()];
        let lexicon: Vec<Sentiment> = test_texts.iter().map(|t| lexicon_sentiment(t)).collect();
        let shipped_pred: Vec<Sentiment> = shipped
            .predict(&test_vectors)?
            .iter()
            .map(|p| class_of(&p.sentiment))
            .collect();
        let head = SentimentHead::train(&train_vectors, &train_labels, &TrainConfig::default())?;
        let trained: Vec<Sentiment> = head.predict(&test_vectors)?.iter().map(class_of).collect();

        let row = SentimentRow {
            name: set.name.clone(),
            lang: set.lang.clone(),
            train: set.train.len(),
            test: set.test.len(),
            majority: SentimentScore::of(&majority, &actual),
            lexicon: SentimentScore::of(&lexicon, &actual),
            shipped: SentimentScore::of(&shipped_pred, &actual),
            trained: SentimentScore::of(&trained, &actual),
        };
        tracing::info!(set = %row.name, trained_f1 = row.trained.macro_f1, "scored sentiment set");
        report.rows.push(row);
    }
    Ok(report)
}

fn most_common(labels: &[Sentiment]) -> Sentiment {
    let mut counts = [0usize; 3];
    for s in labels {
        counts[s.index()] += 1;
    }
    let best = (0..3).fold(0, |b, i| if counts[i] > counts[b] { i } else { b });
    SENTIMENTS[best]
}

const SENTIMENTS: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];

fn class_of(probs: &[f32; 3]) -> Sentiment {
    SENTIMENTS[argmax(probs)]
}

/// Word stems (matched at the start of a lower-cased word) and emoji that
/// lean positive, across our languages. Hand-written for the baseline.
const POSITIVE_CUES: &[&str] = &[
    "good",
    "great",
    "love",
    "thank",
    "happy",
    "excellent",
    "awesome",
    "best",
    "nice",
    "glad",
    "amazing",
    "perfect",
    "wonderful",
    "bra",
    "tack",
    "älsk",
    "glad",
    "härlig",
    "fantastisk",
    "bäst",
    "gut",
    "super",
    "danke",
    "liebe",
    "toll",
    "schön",
    "freu",
    "perfekt",
    "bien",
    "merci",
    "aime",
    "génial",
    "parfait",
    "heureu",
    "bueno",
    "buen",
    "gracias",
    "encant",
    "feliz",
    "genial",
    "mejor",
    "bello",
    "bella",
    "grazie",
    "felice",
    "ottim",
    "amo",
    "bom",
    "boa",
    "obrigad",
    "adoro",
    "lindo",
    "melhor",
    "feliz",
    "😂",
    "😍",
    "❤",
    "😊",
    "👍",
    "🙂",
    "😀",
    "😃",
    "🥰",
    "💕",
    "♥",
    "🎉",
];

/// Stems and emoji that lean negative, across our languages.
const NEGATIVE_CUES: &[&str] = &[
    "bad", "hate", "worst", "terrible", "awful", "sad", "angry", "sorry", "wrong", "never",
    "problem", "fail", "dålig", "hat", "tråkig", "ledsen", "arg", "sämst", "fel", "värst",
    "schlecht", "hass", "traurig", "leider", "schlimm", "mist", "nie", "mauvais", "déteste",
    "triste", "nul", "pire", "jamais", "malo", "mala", "odio", "peor", "nunca", "brutto", "male",
    "peggio", "mai", "ruim", "péssim", "pior", "nunca", "merda", "😢", "😭", "😡", "😠", "👎",
    "💔", "😞", "😒", "🙄",
];

/// Baseline: positive cues minus negative cues; the sign gives the class,
/// a tie is neutral.
pub fn lexicon_sentiment(text: &str) -> Sentiment {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .filter(|w| !w.is_empty())
        .collect();
    let count = |cues: &[&str]| -> i32 {
        let in_words = words
            .iter()
            .filter(|w| {
                cues.iter()
                    .any(|c| c.chars().all(char::is_alphabetic) && w.starts_with(c))
            })
            .count();
        let emoji = cues
            .iter()
            .filter(|c| !c.chars().all(char::is_alphabetic))
            .map(|c| lower.matches(c).count())
            .sum::<usize>();
        (in_words + emoji) as i32
    };
    match count(POSITIVE_CUES) - count(NEGATIVE_CUES) {
        n if n > 0 => Sentiment::Positive,
        n if n < 0 => Sentiment::Negative,
        _ => Sentiment::Neutral,
    }
}

impl fmt::Display for RealSentimentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sentiment on real sets: macro-F1 (accuracy) on each test split"
        )?;
        writeln!(
            f,
            "{:<18} {:<4} {:>5} {:>5} {:>13} {:>13} {:>13} {:>13}",
            "set", "lang", "train", "test", "majority", "lexicon", "shipped", "trained"
        )?;
        let cell = |s: SentimentScore| format!("{:.3} ({:.3})", s.macro_f1, s.accuracy);
        for row in &self.rows {
            writeln!(
                f,
                "{:<18} {:<4} {:>5} {:>5} {:>13} {:>13} {:>13} {:>13}",
                row.name,
                row.lang,
                row.train,
                row.test,
                cell(row.majority),
                cell(row.lexicon),
                cell(row.shipped),
                cell(row.trained)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_reads_cues_in_several_languages() {
        assert_eq!(
            lexicon_sentiment("Thanks, this is great!"),
            Sentiment::Positive
        );
        assert_eq!(
            lexicon_sentiment("Das ist leider schlecht"),
            Sentiment::Negative
        );
        assert_eq!(lexicon_sentiment("Vi ses på tisdag"), Sentiment::Neutral);
        assert_eq!(lexicon_sentiment("Så tråkig dag 😢"), Sentiment::Negative);
    }

    #[test]
    fn spread_takes_every_part_of_a_sorted_file() {
        let items: Vec<usize> = (0..100).collect();
        let got = spread(items, 4);
        assert_eq!(got, vec![0, 25, 50, 75]);
    }

    #[test]
    fn majority_baseline_scores_one_class() {
        let actual = [Sentiment::Neutral, Sentiment::Neutral, Sentiment::Positive];
        let predicted = [most_common(&actual); 3];
        let score = SentimentScore::of(&predicted, &actual);
        assert!((score.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!(
            (score.macro_f1 - 0.8 / 3.0).abs() < 1e-12,
            "{}",
            score.macro_f1
        );
    }

    #[test]
    fn counts_give_precision_recall_f1() {
        let c = Counts {
            tp: 3,
            fp: 1,
            fn_: 2,
        };
        assert!((c.precision() - 0.75).abs() < 1e-12);
        assert!((c.recall() - 0.6).abs() < 1e-12);
        assert!((c.f1() - 6.0 / 9.0).abs() < 1e-12);
        assert_eq!(Counts::default().f1(), 0.0);
    }

    #[test]
    fn macro_f1_weights_classes_equally() {
        // Perfect on a big class, all wrong on two small ones.
        let confusion = [[0, 5, 0], [0, 90, 0], [0, 5, 0]];
        let f1 = macro_f1(&confusion);
        let neutral_f1 = 2.0 * 90.0 / (2.0 * 90.0 + 10.0);
        assert!((f1 - neutral_f1 / 3.0).abs() < 1e-12, "{f1}");
    }
}
