//! The model registry: every win model the nightly job trains is kept in
//! the store with its training-set size and metrics, so versions can be
//! compared and a night's scores traced to the model that made them.
//!
//! It sits in the predict step of the nightly job. A model is trained only
//! when the closed deals changed (their rows hash differently from the
//! latest model's); otherwise the latest is reused, so a quiet night neither
//! retrains nor adds a version.

use std::fmt::Write as _;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::domain::{Deal, Outcome};
use crate::error::{Error, Result};
use crate::predict::{time_split_report, FeatureRow, WinModel};
use crate::store::{Store, StoredModel};

/// Share of the closed deals, oldest first, that the default time split
/// trains on; the rest are the test deals.
const TRAIN_SHARE: f64 = 0.7;

/// The model a job scores with and where it came from.
pub struct ChosenModel {
    pub model: WinModel,
    /// Registry id of the model.
    pub id: i64,
    /// False when an earlier job's model was reused.
    pub trained_now: bool,
}

/// A hash of the training rows and labels; equal hashes mean that training
/// again would give the same model.
pub fn data_hash(rows: &[FeatureRow], labels: &[bool]) -> String {
    let mut hasher = Sha256::new();
    for (row, label) in rows.iter().zip(labels) {
        hasher.update(row.deal_id.as_bytes());
        hasher.update([0, u8::from(*label)]);
        for value in &row.values {
            hasher.update(value.to_bits().to_le_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// The close date that splits the closed deals into the oldest
/// [`TRAIN_SHARE`] for training and the rest for testing.
pub fn default_cutoff(closed: &[Deal]) -> Option<NaiveDate> {
    let mut dates: Vec<NaiveDate> = closed.iter().filter_map(|d| d.close_date).collect();
    if dates.len() < 2 {
        return None;
    }
    dates.sort();
    let index = ((dates.len() as f64 * TRAIN_SHARE) as usize).min(dates.len() - 1);
    Some(dates[index])
}

/// The model job `run_id` scores with: the one it registered before a kill,
/// the latest when the training data is unchanged, or a new one trained on
/// `rows` (closed deals `closed`, parallel) and registered with its metrics.
pub fn model_for_job(
    store: &mut Store,
    run_id: i64,
    closed: &[Deal],
    rows: &[FeatureRow],
    labels: &[bool],
) -> Result<ChosenModel> {
    let hash = data_hash(rows, labels);
    let models = store.models()?;
    let earlier = models.iter().find(|m| m.run_id == run_id);
    let same_data = models.last().filter(|m| m.data_hash == hash);
    if let Some(stored) = earlier.or(same_data) {
        tracing::info!(model = stored.id, "reusing the registered win model");
        return Ok(ChosenModel {
            model: parse_model(stored)?,
            id: stored.id,
            trained_now: false,
        });
    }

    let model = WinModel::train(rows, labels)?;
    let validation = default_cutoff(closed)
        .map(|cutoff| time_split_report(closed, rows, labels, cutoff))
        .transpose()
        .unwrap_or_else(|error| {
            tracing::warn!("the new model has no time-split validation: {error}");
            None
        });
    let metrics = serde_json::json!({
        "train": model.metrics(),
        "calibration": model.calibration().method(),
        "validation": validation,
    });
    let json = serde_json::to_string(&model).map_err(|e| Error::Model {
        path: store.path().to_path_buf(),
        reason: format!("cannot serialise the win model: {e}"),
    })?;
    store.register_model(run_id, model.kind().as_str(), &hash, &metrics, &json)?;
    let stored = store
        .models()?
        .into_iter()
        .find(|m| m.run_id == run_id)
        .ok_or_else(|| Error::Predict(format!("model of job {run_id} was not registered")))?;
    tracing::info!(
        model = stored.id,
        n = rows.len(),
        "registered a new win model"
    );
    // Score with the model as stored, so a resumed job scores identically.
    Ok(ChosenModel {
        model: parse_model(&stored)?,
        id: stored.id,
        trained_now: true,
    })
}

/// Reads a registered model back.
pub fn parse_model(stored: &StoredModel) -> Result<WinModel> {
    serde_json::from_str(&stored.model).map_err(|e| {
        Error::Predict(format!(
            "registered model {} is not a win model: {e}",
            stored.id
        ))
    })
}

/// The closed deals among `deals`, in order: the rows of the training set.
pub fn closed_deals(deals: &[Deal]) -> Vec<Deal> {
    deals
        .iter()
        .filter(|d| d.outcome != Outcome::Open)
        .cloned()
        .collect()
}

fn number(value: &serde_json::Value, path: &[&str]) -> Option<f64> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_f64()
}

/// The registry as a table, one version per line with how its test AUC
/// moved against the version before.
pub fn format_models(models: &[StoredModel]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>3} {:<10} {:<9} {:>5} {:>4} {:>7} {:>7} {:>8} {:>7} {:>7} {:<9}",
        "ID", "TRAINED", "KIND", "N", "WON", "CV_AUC", "AUC", "LOGLOSS", "BRIER", "ΔAUC", "CALIB"
    );
    let mut previous_auc: Option<f64> = None;
    for m in models {
        let fmt =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        // The validation's line for the kind of model that was registered.
        let side = if m.kind == "logistic" {
            "baseline"
        } else {
            "gbm"
        };
        let test = |key: &str| number(&m.metrics, &["validation", side, "calibrated", key]);
        let auc = test("auc");
        let delta = match (auc, previous_auc) {
            (Some(a), Some(b)) => format!("{:+.3}", a - b),
            _ => "-".to_string(),
        };
        let calibration = m.metrics["calibration"].as_str().unwrap_or("-");
        let _ = writeln!(
            out,
            "{:>3} {:<10} {:<9} {:>5} {:>4} {:>7} {:>7} {:>8} {:>7} {:>7} {:<9}",
            m.id,
            m.trained_at.get(..10).unwrap_or(&m.trained_at),
            m.kind,
            fmt(number(&m.metrics, &["train", "n"]), 0),
            fmt(number(&m.metrics, &["train", "n_won"]), 0),
            fmt(number(&m.metrics, &["train", "cv_auc"]), 3),
            fmt(auc, 3),
            fmt(test("log_loss"), 3),
            fmt(test("brier"), 3),
            delta,
            calibration,
        );
        previous_auc = auc.or(previous_auc);
    }
    if !models.is_empty() {
        out.push_str(
            "AUC, LOGLOSS and BRIER: the model kind's calibrated forecasts on the newest 30% \
             of closed deals, trained on the older 70%; CV_AUC: out-of-fold on all.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, values: &[f64]) -> FeatureRow {
        FeatureRow {
            deal_id: id.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn data_hash_changes_with_any_value_or_label() {
        let rows = [row("a", &[1.0, f64::NAN]), row("b", &[2.0, 3.0])];
        let base = data_hash(&rows, &[true, false]);
        assert_eq!(base, data_hash(&rows, &[true, false]));
        assert_ne!(base, data_hash(&rows, &[false, false]));
        let changed = [row("a", &[1.0, f64::NAN]), row("b", &[2.0, 3.5])];
        assert_ne!(base, data_hash(&changed, &[true, false]));
    }

    #[test]
    fn models_table_compares_each_version_with_the_one_before() {
        let stored = |id: i64, auc: f64| StoredModel {
            id,
            run_id: id,
            trained_at: "2026-03-20T01:00:00Z".into(),
            kind: "gbm".into(),
            data_hash: String::new(),
            metrics: serde_json::json!({
                "train": {"n": 40, "n_won": 15, "cv_auc": 0.7},
                "calibration": "platt",
                "validation": {"gbm": {"calibrated": {"auc": auc, "log_loss": 0.6, "brier": 0.2}}}
            }),
            model: String::new(),
        };
        let table = format_models(&[stored(1, 0.70), stored(2, 0.75)]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].contains("0.700") && lines[1].contains(" - "),
            "{table}"
        );
        assert!(lines[2].contains("+0.050"), "{table}");
        assert!(lines[2].contains("platt"), "{table}");
    }
}
