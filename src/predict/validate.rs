//! Validation: how well the win model would have forecast deals it had not
//! seen, judged the way a forecaster lives it, by time.
//!
//! This closes the predict stage: after features and training, it trains the
//! gradient-boosted trees and the logistic baseline on deals closed before a
//! cut-off and scores both on the deals closed after it, before and after
//! calibration, with a reliability table that shows whether "70%" meant
//! seven in ten. A random split would let next quarter's deals leak into
//! training; a time split does not.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::features::{feature_names, FeatureRow};
use super::model::{auc, log_loss, train_with, ModelChoice, ModelKind, TrainConfig};
use crate::domain::Deal;
use crate::error::{Error, Result};

/// Bins of the reliability table, each a tenth of the probability range.
const BINS: usize = 10;

/// Ranking and probability quality of one set of forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub auc: f64,
    pub log_loss: f64,
    /// Mean squared difference between probability and outcome (0 or 1).
    pub brier: f64,
}

impl Scores {
    pub fn of(probabilities: &[f64], labels: &[bool]) -> Scores {
        Scores {
            auc: auc(probabilities, labels),
            log_loss: log_loss(probabilities, labels),
            brier: brier(probabilities, labels),
        }
    }
}

/// One row of the reliability table: deals whose forecast fell in
/// `[lower, upper)` and how many of them were won.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean forecast in the bin; NaN when empty.
    pub mean_predicted: f64,
    /// Share won in the bin; NaN when empty.
    pub observed_rate: f64,
}

/// One model's results in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelValidation {
    pub kind: ModelKind,
    /// The calibration chosen on the training deals' out-of-fold scores.
    pub calibration: String,
    /// Out-of-fold AUC on the training deals.
    pub cv_auc: Option<f64>,
    /// On the test deals, before calibration.
    pub uncalibrated: Scores,
    /// On the test deals, as [`super::WinModel::predict`] gives them.
    pub calibrated: Scores,
    /// Of the calibrated forecasts on the test deals.
    pub reliability: Vec<ReliabilityBin>,
}

/// Trees and baseline side by side on a time split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub cutoff: NaiveDate,
    pub train_deals: usize,
    pub train_won: usize,
    pub test_deals: usize,
    pub test_won: usize,
    /// Closed deals left out for lack of a close date.
    pub skipped: usize,
    /// What training with `ModelChoice::Auto` would pick for this many deals.
    pub automatic_choice: ModelKind,
    /// Log-loss and Brier score of always forecasting the training win rate:
    /// the floor any model must beat.
    pub base_rate: Scores,
    pub gbm: ModelValidation,
    pub baseline: ModelValidation,
}

/// Trains on deals closed before `cutoff` and tests on those closed on or
/// after it, with the deal features of [`feature_names`].
///
/// `deals`, `rows` and `labels` are parallel (label `true` = won); deals
/// without a close date are skipped with a warning.
pub fn time_split_report(
    deals: &[Deal],
    rows: &[FeatureRow],
    labels: &[bool],
    cutoff: NaiveDate,
) -> Result<ValidationReport> {
    let config = TrainConfig::for_deals(rows.len());
    time_split_report_with(deals, rows, labels, cutoff, feature_names(), &config)
}

/// [`time_split_report`] on any columns and training configuration.
pub fn time_split_report_with(
    deals: &[Deal],
    rows: &[FeatureRow],
    labels: &[bool],
    cutoff: NaiveDate,
    names: &[&str],
    config: &TrainConfig,
) -> Result<ValidationReport> {
    if deals.len() != rows.len() || rows.len() != labels.len() {
        return Err(Error::Predict(format!(
            "time split: {} deals, {} feature rows and {} outcomes must match",
            deals.len(),
            rows.len(),
            labels.len()
        )));
    }
    let mut train = (Vec::new(), Vec::new());
    let mut test = (Vec::new(), Vec::new());
    let mut skipped = 0;
    for ((deal, row), label) in deals.iter().zip(rows).zip(labels) {
        if deal.id != row.deal_id {
            return Err(Error::Predict(format!(
                "time split: deal {} is paired with the feature row of deal {}",
                deal.id, row.deal_id
            )));
        }
        let Some(closed) = deal.close_date else {
            tracing::warn!(
                deal = %deal.id,
                "closed deal has no close date, left out of validation"
            );
            skipped += 1;
            continue;
        };
        let side = if closed < cutoff {
            &mut train
        } else {
            &mut test
        };
        side.0.push(row.clone());
        side.1.push(*label);
    }
    if test.0.is_empty() {
        return Err(Error::Predict(format!(
            "time split at {cutoff}: no deal closed on or after it"
        )));
    }
    tracing::info!(
        train = train.0.len(),
        test = test.0.len(),
        %cutoff,
        "time-split validation started"
    );

    let validate = |choice: ModelChoice| -> Result<ModelValidation> {
        let mut config = config.clone();
        config.model = choice;
        let model = train_with(&train.0, &train.1, names, &config)?;
        let calibrated: Vec<f64> = model
            .predict(&test.0)?
            .iter()
            .map(|p| p.probability)
            .collect();
        let uncalibrated = model.uncalibrated_probabilities(&test.0)?;
        Ok(ModelValidation {
            kind: model.kind(),
            calibration: model.calibration().method().to_string(),
            cv_auc: model.metrics().cv_auc,
            uncalibrated: Scores::of(&uncalibrated, &test.1),
            calibrated: Scores::of(&calibrated, &test.1),
            reliability: reliability_table(&calibrated, &test.1),
        })
    };
    let gbm = validate(ModelChoice::Gbm)?;
    let baseline = validate(ModelChoice::Logistic)?;

    let train_won = train.1.iter().filter(|w| **w).count();
    let rate = train_won as f64 / train.1.len() as f64;
    let report = ValidationReport {
        cutoff,
        train_deals: train.0.len(),
        train_won,
        test_deals: test.0.len(),
        test_won: test.1.iter().filter(|w| **w).count(),
        skipped,
        automatic_choice: if train.0.len() as f64
            >= super::model::MIN_DEALS_PER_FEATURE * names.len() as f64
        {
            ModelKind::Gbm
        } else {
            ModelKind::Logistic
        },
        base_rate: Scores::of(&vec![rate; test.1.len()], &test.1),
        gbm,
        baseline,
    };
    tracing::info!(
        gbm_auc = report.gbm.calibrated.auc,
        baseline_auc = report.baseline.calibrated.auc,
        "time-split validation finished"
    );
    Ok(report)
}

/// Mean squared error of the probabilities against the outcomes.
pub fn brier(probabilities: &[f64], labels: &[bool]) -> f64 {
    let n = probabilities.len().min(labels.len());
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(p, won)| (p - if *won { 1.0 } else { 0.0 }).powi(2))
        .sum();
    total / n.max(1) as f64
}

/// Ten equal-width bins of the forecast, each with its mean forecast and
/// observed win rate; a probability of exactly 1 falls in the last bin.
pub fn reliability_table(probabilities: &[f64], labels: &[bool]) -> Vec<ReliabilityBin> {
    let mut sums = [(0usize, 0.0f64, 0usize); BINS];
    for (p, won) in probabilities.iter().zip(labels) {
        let bin = ((p * BINS as f64) as usize).min(BINS - 1);
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += usize::from(*won);
    }
    sums.iter()
        .enumerate()
        .map(|(i, (count, sum, won))| {
            let n = *count as f64;
            ReliabilityBin {
                lower: i as f64 / BINS as f64,
                upper: (i + 1) as f64 / BINS as f64,
                count: *count,
                mean_predicted: if *count == 0 { f64::NAN } else { sum / n },
                observed_rate: if *count == 0 {
                    f64::NAN
                } else {
                    *won as f64 / n
                },
            }
        })
        .collect()
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Time split at {}: trained on {} deals ({} won), tested on {} ({} won), \
             {} skipped; automatic choice: {}",
            self.cutoff,
            self.train_deals,
            self.train_won,
            self.test_deals,
            self.test_won,
            self.skipped,
            self.automatic_choice.as_str()
        )?;
        writeln!(
            f,
            "{:<24} {:>7} {:>9} {:>7} {:>9}",
            "model", "AUC", "log-loss", "Brier", "CV AUC"
        )?;
        let cv = |v: Option<f64>| v.map_or("-".to_string(), |a| format!("{a:.4}"));
        let line = |f: &mut fmt::Formatter<'_>, name: &str, s: &Scores, cv_auc: &str| {
            writeln!(
                f,
                "{name:<24} {:>7.4} {:>9.4} {:>7.4} {cv_auc:>9}",
                s.auc, s.log_loss, s.brier
            )
        };
        line(f, "base rate", &self.base_rate, "-")?;
        for m in [&self.gbm, &self.baseline] {
            let name = m.kind.as_str();
            line(f, &format!("{name} raw"), &m.uncalibrated, &cv(m.cv_auc))?;
            let label = format!("{name} cal. ({})", m.calibration);
            line(f, &label, &m.calibrated, &cv(m.cv_auc))?;
        }
        writeln!(f, "Reliability of the calibrated forecasts (test deals):")?;
        writeln!(
            f,
            "{:<10} {:>6} {:>8} {:>8}   {:>6} {:>8} {:>8}",
            "bin", "gbm n", "pred", "won", "base n", "pred", "won"
        )?;
        for (g, b) in self.gbm.reliability.iter().zip(&self.baseline.reliability) {
            let rate = |v: f64| {
                if v.is_nan() {
                    "-".to_string()
                } else {
                    format!("{v:.3}")
                }
            };
            writeln!(
                f,
                "{:<10} {:>6} {:>8} {:>8}   {:>6} {:>8} {:>8}",
                format!("{:.1}-{:.1}", g.lower, g.upper),
                g.count,
                rate(g.mean_predicted),
                rate(g.observed_rate),
                b.count,
                rate(b.mean_predicted),
                rate(b.observed_rate)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brier_is_zero_for_certain_right_answers_and_one_for_wrong() {
        assert_eq!(brier(&[1.0, 0.0], &[true, false]), 0.0);
        assert_eq!(brier(&[0.0, 1.0], &[true, false]), 1.0);
        assert!((brier(&[0.5, 0.5], &[true, false]) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn reliability_bins_count_every_forecast_once() {
        let p = [0.05, 0.07, 0.55, 0.95, 1.0];
        let won = [false, true, true, true, false];
        let table = reliability_table(&p, &won);
        assert_eq!(table.len(), 10);
        assert_eq!(table.iter().map(|b| b.count).sum::<usize>(), p.len());
        assert_eq!(table[0].count, 2);
        assert!((table[0].mean_predicted - 0.06).abs() < 1e-12);
        assert_eq!(table[0].observed_rate, 0.5);
        assert_eq!(table[9].count, 2);
        assert!(table[3].mean_predicted.is_nan());
    }
}
