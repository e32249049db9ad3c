//! Calibration: maps a model's raw score (log-odds) to a probability that
//! matches how often deals with that score were actually won.
//!
//! This sits inside the predict stage, between the win model's raw score and
//! the [`crate::domain::WinProbability`] a forecast sums. Boosted trees rank
//! deals well but their probabilities drift towards the extremes on small
//! sets, and a forecast of "70%" must mean seven in ten. The calibrator is
//! fitted on out-of-fold scores only, so it learns how the model errs on
//! deals it did not see, and the method (none, Platt, isotonic) is chosen by
//! a second cross-validation over those scores.

use serde::{Deserialize, Serialize};

use super::model::log_loss;

/// Probabilities stay this far from 0 and 1, as in the win model.
const EPS: f64 = 1e-6;

/// Folds of the cross-validation that chooses the method.
const CHOICE_FOLDS: usize = 5;

/// Fewer out-of-fold scores than this and only Platt scaling (two numbers)
/// is tried: isotonic steps on a handful of deals are noise.
const MIN_ISOTONIC: usize = 40;

/// How raw scores become probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Calibration {
    /// The logistic link of the raw score, unchanged.
    #[default]
    None,
    /// `sigmoid(slope * score + intercept)`: fixes over- or under-confidence
    /// while keeping the shape.
    Platt { slope: f64, intercept: f64 },
    /// A non-decreasing step function of the score, linearly interpolated
    /// between the centres of its steps: fixes any monotone distortion but
    /// needs more deals.
    Isotonic {
        scores: Vec<f64>,
        probabilities: Vec<f64>,
    },
}

impl Calibration {
    /// The method's name, as stored in the saved model and shown in reports.
    pub fn method(&self) -> &'static str {
        match self {
            Calibration::None => "none",
            Calibration::Platt { .. } => "platt",
            Calibration::Isotonic { .. } => "isotonic",
        }
    }

    /// The calibrated probability of a raw log-odds score.
    pub fn apply(&self, score: f64) -> f64 {
        let p = match self {
            Calibration::None => sigmoid(score),
            Calibration::Platt { slope, intercept } => sigmoid(slope * score + intercept),
            Calibration::Isotonic {
                scores,
                probabilities,
            } => interpolate(scores, probabilities, score),
        };
        p.clamp(EPS, 1.0 - EPS)
    }

    /// Fits Platt scaling by Newton's method on the log-likelihood.
    ///
    /// Targets are smoothed as Platt proposed (`(n+ + 1) / (n+ + 2)` for a
    /// win, `1 / (n- + 2)` for a loss), which keeps the slope finite when
    /// the scores separate the outcomes perfectly.
    pub fn fit_platt(scores: &[f64], labels: &[bool]) -> Calibration {
        let n_won = labels.iter().filter(|l| **l).count() as f64;
        let n_lost = labels.len() as f64 - n_won;
        let hi = (n_won + 1.0) / (n_won + 2.0);
        let lo = 1.0 / (n_lost + 2.0);
        let targets: Vec<f64> = labels.iter().map(|l| if *l { hi } else { lo }).collect();

        // Newton steps, each halved until the smoothed log-loss falls: a
        // full step from a poor start can overshoot on convex but flat
        // stretches.
        let loss = |a: f64, b: f64| -> f64 {
            scores
                .iter()
                .zip(&targets)
                .map(|(s, t)| {
                    let p = sigmoid(a * s + b).clamp(1e-15, 1.0 - 1e-15);
                    -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, ((n_won + 1.0) / (n_lost + 1.0)).ln());
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut g_a, mut g_b, mut h_aa, mut h_ab, mut h_bb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (s, t) in scores.iter().zip(&targets) {
                let p = sigmoid(a * s + b);
                let w = (p * (1.0 - p)).max(1e-12);
                g_a += (p - t) * s;
                g_b += p - t;
                h_aa += w * s * s;
                h_ab += w * s;
                h_bb += w;
            }
            // A tiny ridge keeps the 2x2 system solvable when all scores tie.
            h_aa += 1e-9;
            h_bb += 1e-9;
            let det = h_aa * h_bb - h_ab * h_ab;
            if det.abs() < 1e-18 {
                break;
            }
            let step_a = (h_bb * g_a - h_ab * g_b) / det;
            let step_b = (h_aa * g_b - h_ab * g_a) / det;
            let mut scale = 1.0;
            while scale > 1e-6 && loss(a - scale * step_a, b - scale * step_b) > current {
                scale /= 2.0;
            }
            a -= scale * step_a;
            b -= scale * step_b;
            let next = loss(a, b);
            let done =
                (current - next).abs() < 1e-12 || scale * step_a.abs().max(step_b.abs()) < 1e-10;
            current = next;
            if done {
                break;
            }
        }
        // A falling slope would turn the ranking upside down: it only fits a
        // model whose held-out scores are noise. The honest answer then is
        // the base rate for every deal.
        if a < 0.0 {
            let won: f64 = targets.iter().sum();
            a = 0.0;
            b = (won / (targets.len() as f64 - won)).ln();
        }
        Calibration::Platt {
            slope: a,
            intercept: b,
        }
    }

    /// Fits isotonic regression of the outcome on the score with the
    /// pool-adjacent-violators algorithm.
    pub fn fit_isotonic(scores: &[f64], labels: &[bool]) -> Calibration {
        let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
        order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));

        // Each block: (sum of scores, sum of outcomes, count).
        let mut blocks: Vec<(f64, f64, f64)> = Vec::with_capacity(order.len());
        for i in order {
            let y = if labels[i] { 1.0 } else { 0.0 };
            blocks.push((scores[i], y, 1.0));
            while blocks.len() >= 2 {
                let last = blocks[blocks.len() - 1];
                let prev = blocks[blocks.len() - 2];
                if prev.1 / prev.2 < last.1 / last.2 {
                    break;
                }
                blocks.pop();
                let merged = blocks.last_mut().expect("two blocks were there");
                merged.0 += last.0;
                merged.1 += last.1;
                merged.2 += last.2;
            }
        }
        Calibration::Isotonic {
            scores: blocks.iter().map(|b| b.0 / b.2).collect(),
            probabilities: blocks.iter().map(|b| b.1 / b.2).collect(),
        }
    }

    /// Chooses and fits the calibration for out-of-fold `scores`.
    ///
    /// Each candidate is fitted on four fifths of the scores and scored by
    /// log-loss on the rest, so isotonic regression, which fits its own
    /// training points almost perfectly, is judged like the others. The
    /// winner is then fitted on all scores.
    pub fn choose(scores: &[f64], labels: &[bool], seed: u64) -> CalibrationChoice {
        let n_won = labels.iter().filter(|l| **l).count();
        let folds = CHOICE_FOLDS.min(n_won.min(labels.len() - n_won));
        let uncalibrated: Vec<f64> = scores.iter().map(|s| Calibration::None.apply(*s)).collect();
        let none_loss = log_loss(&uncalibrated, labels);
        if folds < 2 {
            return CalibrationChoice {
                calibration: Calibration::None,
                uncalibrated_log_loss: none_loss,
                platt_log_loss: None,
                isotonic_log_loss: None,
            };
        }

        let fold_of = super::model::stratified_folds(labels, folds, seed);
        let platt_loss = cross_validated_loss(scores, labels, &fold_of, folds, |s, l| {
            Calibration::fit_platt(s, l)
        });
        let isotonic_loss = (scores.len() >= MIN_ISOTONIC).then(|| {
            cross_validated_loss(scores, labels, &fold_of, folds, |s, l| {
                Calibration::fit_isotonic(s, l)
            })
        });

        let mut best = ("none", none_loss);
        if platt_loss < best.1 {
            best = ("platt", platt_loss);
        }
        if let Some(loss) = isotonic_loss.filter(|loss| *loss < best.1) {
            best = ("isotonic", loss);
        }
        let calibration = match best.0 {
            "platt" => Calibration::fit_platt(scores, labels),
            "isotonic" => Calibration::fit_isotonic(scores, labels),
            _ => Calibration::None,
        };
        CalibrationChoice {
            calibration,
            uncalibrated_log_loss: none_loss,
            platt_log_loss: Some(platt_loss),
            isotonic_log_loss: isotonic_loss,
        }
    }
}

/// The chosen calibration with the held-out log-loss of every candidate,
/// so the choice can be checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationChoice {
    pub calibration: Calibration,
    pub uncalibrated_log_loss: f64,
    pub platt_log_loss: Option<f64>,
    /// `None` when there were too few scores to try isotonic regression.
    pub isotonic_log_loss: Option<f64>,
}

fn cross_validated_loss(
    scores: &[f64],
    labels: &[bool],
    fold_of: &[usize],
    folds: usize,
    fit: impl Fn(&[f64], &[bool]) -> Calibration,
) -> f64 {
    let mut probabilities = vec![0.5; scores.len()];
    for fold in 0..folds {
        let train: Vec<usize> = (0..scores.len()).filter(|i| fold_of[*i] != fold).collect();
        let s: Vec<f64> = train.iter().map(|i| scores[*i]).collect();
        let l: Vec<bool> = train.iter().map(|i| labels[*i]).collect();
        let calibration = fit(&s, &l);
        for i in (0..scores.len()).filter(|i| fold_of[*i] == fold) {
            probabilities[i] = calibration.apply(scores[i]);
        }
    }
    log_loss(&probabilities, labels)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Piecewise-linear through `(xs, ys)`, flat beyond the ends.
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let Some((first, last)) = xs.first().zip(xs.last()) else {
        return sigmoid(x);
    };
    if x <= *first {
        return ys[0];
    }
    if x >= *last {
        return ys[ys.len() - 1];
    }
    let upper = xs.partition_point(|v| *v <= x);
    let (x0, x1) = (xs[upper - 1], xs[upper]);
    let (y0, y1) = (ys[upper - 1], ys[upper]);
    if x1 - x0 <= f64::EPSILON {
        y1
    } else {
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Scores whose true win chance is `sigmoid(score / 3)`: a model three
    /// times too confident.
    fn overconfident(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let scores: Vec<f64> = (0..n).map(|_| rng.gen_range(-6.0..6.0)).collect();
        let labels = scores
            .iter()
            .map(|s| rng.gen_bool(sigmoid(s / 3.0)))
            .collect();
        (scores, labels)
    }

    #[test]
    fn platt_learns_the_overconfidence_factor() {
        let (scores, labels) = overconfident(4000, 1);
        let Calibration::Platt { slope, intercept } = Calibration::fit_platt(&scores, &labels)
        else {
            panic!("Platt fit returned another method");
        };
        assert!((slope - 1.0 / 3.0).abs() < 0.05, "slope {slope}");
        assert!(intercept.abs() < 0.1, "intercept {intercept}");
    }

    #[test]
    fn platt_never_inverts_the_ranking() {
        let (scores, labels) = overconfident(500, 4);
        let inverted: Vec<bool> = labels.iter().map(|l| !l).collect();
        let calibration = Calibration::fit_platt(&scores, &inverted);
        let Calibration::Platt { slope, .. } = calibration else {
            panic!("Platt fit returned another method");
        };
        assert_eq!(slope, 0.0);
        let rate = inverted.iter().filter(|l| **l).count() as f64 / 500.0;
        assert!((calibration.apply(3.0) - rate).abs() < 0.01);
    }

    #[test]
    fn isotonic_is_monotone_and_pools_violations() {
        let scores = [0.0, 1.0, 2.0, 3.0];
        let labels = [false, true, false, true];
        let Calibration::Isotonic {
            scores: xs,
            probabilities: ys,
        } = Calibration::fit_isotonic(&scores, &labels)
        else {
            panic!("isotonic fit returned another method");
        };
        // The middle pair is out of order and pooled to 0.5.
        assert_eq!(ys, vec![0.0, 0.5, 1.0]);
        assert_eq!(xs, vec![0.0, 1.5, 3.0]);
        let calibration = Calibration::fit_isotonic(&scores, &labels);
        assert!((calibration.apply(0.75) - 0.25).abs() < 1e-9);
        assert!(calibration.apply(-5.0) > 0.0 && calibration.apply(9.0) < 1.0);
    }

    #[test]
    fn choosing_calibrates_an_overconfident_model() {
        let (scores, labels) = overconfident(1000, 2);
        let choice = Calibration::choose(&scores, &labels, 0);
        assert_ne!(choice.calibration, Calibration::None);
        let calibrated: Vec<f64> = scores
            .iter()
            .map(|s| choice.calibration.apply(*s))
            .collect();
        let raw: Vec<f64> = scores.iter().map(|s| sigmoid(*s)).collect();
        assert!(log_loss(&calibrated, &labels) < log_loss(&raw, &labels) - 0.05);
    }

    #[test]
    fn a_calibrated_model_keeps_no_calibration() {
        let mut rng = StdRng::seed_from_u64(3);
        let scores: Vec<f64> = (0..2000).map(|_| rng.gen_range(-3.0..3.0)).collect();
        let labels: Vec<bool> = scores.iter().map(|s| rng.gen_bool(sigmoid(*s))).collect();
        let choice = Calibration::choose(&scores, &labels, 0);
        // Platt may win by a hair, but it must stay close to the identity.
        if let Calibration::Platt { slope, intercept } = choice.calibration {
            assert!((slope - 1.0).abs() < 0.1 && intercept.abs() < 0.1);
        }
        assert!(choice.uncalibrated_log_loss <= choice.isotonic_log_loss.unwrap() + 0.01);
    }
}
