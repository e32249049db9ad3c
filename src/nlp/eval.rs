//! Scoring the heads on held-out labelled sentences.
//!
//! A sales leader only trusts a signal that is right most of the time in
//! their customers' language, so the report breaks precision and recall down
//! by language and by signal, and gives sentiment accuracy and macro-F1
//! beside it.

use std::collections::BTreeMap;
use std::fmt;

use crate::domain::SignalKind;
use crate::error::Result;
use crate::nlp::heads::{Heads, LabelledSentence, Sentiment};

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

#[cfg(test)]
mod tests {
    use super::*;

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
