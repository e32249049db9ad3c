//! The win model: gradient-boosted trees (forust-ml) that learn won versus
//! lost from the feature rows of closed deals, and score open ones.
//!
//! This is the second half of the predict stage, after [`super::features`].
//! Each score comes with the factors behind it (per-feature Shapley
//! contributions in log-odds), so a forecast can be argued with. Training
//! also runs a stratified k-fold pass so the reported AUC is one the model
//! did not see its own answers for.

use std::path::Path;
use std::time::Instant;

use forust_ml::gradientbooster::ContributionsMethod;
use forust_ml::{GradientBooster, Matrix};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::baseline::LogisticModel;
use super::calibrate::{Calibration, CalibrationChoice};
use super::features::{feature_names, FeatureRow};
use crate::domain::WinProbability;
use crate::error::{Error, Result};

/// Fewer closed deals than this and there is nothing to learn from.
const MIN_DEALS: usize = 4;

/// Closed deals per feature below which trees are not trusted and training
/// falls back to the logistic baseline (the usual rule of thumb of ten
/// events per variable, counted loosely on deals).
pub const MIN_DEALS_PER_FEATURE: f64 = 10.0;

/// Most folds of the honest AUC pass; fewer when a class is rare.
const MAX_FOLDS: usize = 5;

/// Factors reported per side (for and against a win).
const FACTORS_PER_SIDE: usize = 3;

/// Probabilities are kept this far from 0 and 1: a forecast of certainty is
/// never true for a deal, and it breaks log-loss.
const PROBABILITY_EPS: f64 = 1e-6;

/// How the trees are grown. Small data wants small, heavily regularised
/// trees; [`TrainConfig::for_deals`] picks by the number of deals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub iterations: usize,
    pub learning_rate: f32,
    pub max_depth: usize,
    /// L2 penalty on leaf weights; higher pulls scores towards the base rate.
    pub l2: f32,
    /// Least hessian sum per leaf; with log-loss each deal adds at most 0.25.
    pub min_leaf_weight: f32,
    pub seed: u64,
    /// `Some(1)` trains on the calling thread; `None` uses rayon's pool.
    pub threads: Option<usize>,
    /// Which model to fit; `Auto` picks trees only with enough deals.
    #[serde(default)]
    pub model: ModelChoice,
    /// L2 penalty of the logistic baseline, on standardised weights.
    #[serde(default = "default_logistic_l2")]
    pub logistic_l2: f64,
}

fn default_logistic_l2() -> f64 {
    1.0
}

/// Which model [`train_with`] fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// Gradient-boosted trees with at least [`MIN_DEALS_PER_FEATURE`] closed
    /// deals per feature, the logistic baseline below that.
    #[default]
    Auto,
    Gbm,
    Logistic,
}

/// Which model a trained [`WinModel`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Gradient-boosted trees (forust).
    Gbm,
    /// The L2 logistic-regression baseline.
    Logistic,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Gbm => "gbm",
            ModelKind::Logistic => "logistic",
        }
    }
}

impl TrainConfig {
    /// A configuration suited to `n` closed deals: a few dozen deals get
    /// stumps-to-depth-2 trees, thousands get deeper ones.
    pub fn for_deals(n: usize) -> TrainConfig {
        if n < 500 {
            TrainConfig {
                iterations: 60,
                learning_rate: 0.1,
                max_depth: 2,
                l2: 1.0,
                min_leaf_weight: 1.0,
                seed: 0,
                threads: Some(1),
                model: ModelChoice::Auto,
                logistic_l2: default_logistic_l2(),
            }
        } else {
            TrainConfig {
                iterations: 150,
                learning_rate: 0.05,
                max_depth: 4,
                l2: 1.0,
                min_leaf_weight: 5.0,
                seed: 0,
                threads: Some(1),
                model: ModelChoice::Auto,
                logistic_l2: default_logistic_l2(),
            }
        }
    }

    fn booster(&self) -> GradientBooster {
        let parallel = self.threads != Some(1);
        GradientBooster::default()
            .set_iterations(self.iterations)
            .set_learning_rate(self.learning_rate)
            .set_max_depth(self.max_depth)
            .set_l2(self.l2)
            .set_min_leaf_weight(self.min_leaf_weight)
            .set_seed(self.seed)
            .set_parallel(parallel)
            .set_num_threads(self.threads.filter(|_| parallel))
    }
}

/// How well the model did when it was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// Closed deals trained on.
    pub n: usize,
    pub n_won: usize,
    /// AUC on the training deals themselves: an upper bound, not a promise.
    pub in_sample_auc: f64,
    /// Out-of-fold AUC over `folds` stratified folds; `None` when one class
    /// has a single deal and no fold can hold it out.
    pub cv_auc: Option<f64>,
    /// Out-of-fold mean log-loss, alongside `cv_auc`.
    pub cv_log_loss: Option<f64>,
    pub folds: usize,
    /// Wall time of the final fit, without the k-fold pass.
    pub train_seconds: f64,
    /// Held-out log-loss of each calibration tried on the out-of-fold
    /// scores, and the one chosen; `None` without a k-fold pass.
    #[serde(default)]
    pub calibration: Option<CalibrationChoice>,
}

/// A trained won-versus-lost model with the names of the columns it reads.
#[derive(Serialize, Deserialize)]
pub struct WinModel {
    feature_names: Vec<String>,
    config: TrainConfig,
    metrics: TrainMetrics,
    scorer: Scorer,
    /// Fitted on out-of-fold scores; [`Calibration::None`] for a model saved
    /// before calibration existed or trained without a k-fold pass.
    #[serde(default)]
    calibration: Calibration,
}

/// The fitted model behind a [`WinModel`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scorer {
    Gbm(Box<GradientBooster>),
    Logistic(LogisticModel),
}

impl Scorer {
    fn kind(&self) -> ModelKind {
        match self {
            Scorer::Gbm(_) => ModelKind::Gbm,
            Scorer::Logistic(_) => ModelKind::Logistic,
        }
    }

    fn log_odds(&self, rows: &[FeatureRow], width: usize) -> Result<Vec<f64>> {
        let data = column_major(rows, width)?;
        Ok(match self {
            Scorer::Gbm(booster) => booster.predict(&Matrix::new(&data, rows.len(), width), false),
            Scorer::Logistic(model) => model.log_odds(rows),
        })
    }

    fn contributions(&self, rows: &[FeatureRow], width: usize) -> Result<Vec<Vec<f64>>> {
        let data = column_major(rows, width)?;
        Ok(match self {
            Scorer::Gbm(booster) => {
                let matrix = Matrix::new(&data, rows.len(), width);
                let flat =
                    booster.predict_contributions(&matrix, ContributionsMethod::Shapley, false);
                flat.chunks(width + 1).map(<[f64]>::to_vec).collect()
            }
            Scorer::Logistic(model) => model.contributions(rows),
        })
    }
}

impl std::fmt::Debug for WinModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WinModel")
            .field("features", &self.feature_names.len())
            .field("kind", &self.scorer.kind())
            .field("metrics", &self.metrics)
            .finish()
    }
}

impl WinModel {
    /// Trains on the deal features of closed deals (label `true` = won).
    ///
    /// Errors with fewer than 4 deals, a single outcome, or rows whose width
    /// is not that of [`feature_names`]: a model would learn nothing true.
    pub fn train(rows: &[FeatureRow], labels: &[bool]) -> Result<WinModel> {
        train_with(
            rows,
            labels,
            feature_names(),
            &TrainConfig::for_deals(rows.len()),
        )
    }

    /// Trains the logistic baseline on the deal features, with the same
    /// k-fold pass and calibration as the trees, so the two compare fairly.
    pub fn train_baseline(rows: &[FeatureRow], labels: &[bool]) -> Result<WinModel> {
        let mut config = TrainConfig::for_deals(rows.len());
        config.model = ModelChoice::Logistic;
        train_with(rows, labels, feature_names(), &config)
    }

    /// Calibrated win probabilities with the three strongest factors for
    /// and against (factors stay in raw log-odds: calibration is monotone
    /// and does not change which way a factor pushes).
    pub fn predict(&self, rows: &[FeatureRow]) -> Result<Vec<WinProbability>> {
        let contributions = self.contributions(rows)?;
        let log_odds = self.log_odds(rows)?;
        let scored = rows.iter().zip(contributions).zip(log_odds);
        Ok(scored
            .map(|((row, contribs), score)| WinProbability {
                deal_id: row.deal_id.clone(),
                probability: self.calibration.apply(score),
                factors: self.factors(&contribs),
            })
            .collect())
    }

    /// Raw scores in log-odds, before the logistic link.
    pub fn log_odds(&self, rows: &[FeatureRow]) -> Result<Vec<f64>> {
        self.scorer.log_odds(rows, self.feature_names.len())
    }

    /// Per-row contributions in log-odds: one per feature, then the base
    /// score last (Shapley values for trees, weight times standardised value
    /// for the baseline). Each row sums to [`WinModel::log_odds`].
    pub fn contributions(&self, rows: &[FeatureRow]) -> Result<Vec<Vec<f64>>> {
        self.scorer.contributions(rows, self.feature_names.len())
    }

    /// Which model this is: the trees, or the logistic fallback.
    pub fn kind(&self) -> ModelKind {
        self.scorer.kind()
    }

    /// Writes the model, its feature names and metrics as one JSON file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            reason: format!("cannot serialise the win model: {e}"),
        })?;
        std::fs::write(path, json).map_err(|e| Error::io(path, e))?;
        tracing::info!(path = %path.display(), "win model saved");
        Ok(())
    }

    /// Reads a model written by [`WinModel::save`].
    pub fn load(path: &Path) -> Result<WinModel> {
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let model: WinModel = serde_json::from_str(&json).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            reason: format!("not a win model: {e}"),
        })?;
        if matches!(&model.scorer, Scorer::Gbm(b) if b.trees.is_empty()) {
            return Err(Error::Model {
                path: path.to_path_buf(),
                reason: "the win model has no trees".into(),
            });
        }
        Ok(model)
    }

    /// Probabilities straight from the raw score, before calibration; for
    /// reports that show what calibration changed.
    pub fn uncalibrated_probabilities(&self, rows: &[FeatureRow]) -> Result<Vec<f64>> {
        Ok(self.log_odds(rows)?.into_iter().map(probability).collect())
    }

    /// How raw scores are turned into the probabilities of [`WinModel::predict`].
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    pub fn metrics(&self) -> &TrainMetrics {
        &self.metrics
    }

    /// The columns this model reads, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The strongest positive and negative contributions, by size.
    fn factors(&self, contribs: &[f64]) -> Vec<(String, f64)> {
        let mut named: Vec<(String, f64)> = self
            .feature_names
            .iter()
            .zip(contribs)
            .map(|(name, c)| (name.clone(), *c))
            .collect();
        named.sort_by(|a, b| b.1.total_cmp(&a.1));
        let positive = named.iter().filter(|f| f.1 > 0.0).take(FACTORS_PER_SIDE);
        let negative = named
            .iter()
            .rev()
            .filter(|f| f.1 < 0.0)
            .take(FACTORS_PER_SIDE);
        let mut factors: Vec<(String, f64)> = positive.chain(negative).cloned().collect();
        factors.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        factors
    }
}

/// Trains on any columns: the deal features, or CRM fields of an export.
///
/// Besides the final fit this runs `k = min(5, deals of the rarer outcome)`
/// stratified folds, so [`TrainMetrics::cv_auc`] is honest.
pub fn train_with(
    rows: &[FeatureRow],
    labels: &[bool],
    names: &[&str],
    config: &TrainConfig,
) -> Result<WinModel> {
    check_training_set(rows, labels, names.len())?;
    let n_won = labels.iter().filter(|l| **l).count();
    tracing::info!(
        deals = rows.len(),
        won = n_won,
        "win model training started"
    );

    let kind = choose_kind(rows.len(), names.len(), config.model);
    let started = Instant::now();
    let scorer = fit(rows, labels, names.len(), config, kind)?;
    let train_seconds = started.elapsed().as_secs_f64();

    let folds = MAX_FOLDS.min(n_won.min(rows.len() - n_won));
    let (cv_auc, cv_log_loss, choice) = if folds >= 2 {
        let scores = out_of_fold_scores(rows, labels, names.len(), config, kind, folds)?;
        let probabilities: Vec<f64> = scores.iter().map(|s| probability(*s)).collect();
        let choice = Calibration::choose(&scores, labels, config.seed);
        tracing::info!(
            method = choice.calibration.method(),
            uncalibrated = choice.uncalibrated_log_loss,
            platt = ?choice.platt_log_loss,
            isotonic = ?choice.isotonic_log_loss,
            "win model calibration chosen by held-out log-loss"
        );
        (
            Some(auc(&scores, labels)),
            Some(log_loss(&probabilities, labels)),
            Some(choice),
        )
    } else {
        (None, None, None)
    };

    let mut model = WinModel {
        feature_names: names.iter().map(|n| n.to_string()).collect(),
        config: config.clone(),
        metrics: TrainMetrics {
            n: rows.len(),
            n_won,
            in_sample_auc: f64::NAN,
            cv_auc,
            cv_log_loss,
            folds: if folds >= 2 { folds } else { 0 },
            train_seconds,
            calibration: choice.clone(),
        },
        scorer,
        calibration: choice.map(|c| c.calibration).unwrap_or_default(),
    };
    let in_sample = model.log_odds(rows)?;
    model.metrics.in_sample_auc = auc(&in_sample, labels);
    tracing::info!(
        deals = rows.len(),
        model = kind.as_str(),
        seconds = train_seconds,
        in_sample_auc = model.metrics.in_sample_auc,
        cv_auc = ?model.metrics.cv_auc,
        "win model training finished"
    );
    Ok(model)
}

fn check_training_set(rows: &[FeatureRow], labels: &[bool], width: usize) -> Result<()> {
    if rows.len() != labels.len() {
        return Err(Error::Predict(format!(
            "{} feature rows but {} outcomes",
            rows.len(),
            labels.len()
        )));
    }
    if rows.len() < MIN_DEALS {
        return Err(Error::Predict(format!(
            "{} closed deals: the win model needs at least {MIN_DEALS}",
            rows.len()
        )));
    }
    let won = labels.iter().filter(|l| **l).count();
    if won == 0 || won == labels.len() {
        let outcome = if won == 0 { "lost" } else { "won" };
        return Err(Error::Predict(format!(
            "all {} closed deals were {outcome}: the win model needs both outcomes",
            labels.len()
        )));
    }
    column_major(rows, width).map(|_| ())
}

/// The model to fit for `n` deals of `width` features.
fn choose_kind(n: usize, width: usize, choice: ModelChoice) -> ModelKind {
    match choice {
        ModelChoice::Gbm => ModelKind::Gbm,
        ModelChoice::Logistic => ModelKind::Logistic,
        ModelChoice::Auto => {
            let per_feature = n as f64 / width.max(1) as f64;
            if per_feature >= MIN_DEALS_PER_FEATURE {
                ModelKind::Gbm
            } else {
                tracing::warn!(
                    deals = n,
                    features = width,
                    per_feature,
                    needed = MIN_DEALS_PER_FEATURE,
                    "TOO FEW CLOSED DEALS for gradient-boosted trees: {n} deals for {width} \
                     features ({per_feature:.1} per feature, {MIN_DEALS_PER_FEATURE} needed); \
                     falling back to the logistic-regression baseline"
                );
                ModelKind::Logistic
            }
        }
    }
}

fn fit(
    rows: &[FeatureRow],
    labels: &[bool],
    width: usize,
    config: &TrainConfig,
    kind: ModelKind,
) -> Result<Scorer> {
    if kind == ModelKind::Logistic {
        let model = LogisticModel::fit(rows, labels, width, config.logistic_l2)?;
        return Ok(Scorer::Logistic(model));
    }
    let data = column_major(rows, width)?;
    let matrix = Matrix::new(&data, rows.len(), width);
    let y: Vec<f64> = labels.iter().map(|l| if *l { 1.0 } else { 0.0 }).collect();
    let mut booster = config.booster();
    booster
        .fit_unweighted(&matrix, &y, None)
        .map_err(|e| Error::Predict(format!("training on {} deals failed: {e}", rows.len())))?;
    Ok(Scorer::Gbm(Box::new(booster)))
}

/// Scores each deal with a model trained on the folds that do not hold it.
fn out_of_fold_scores(
    rows: &[FeatureRow],
    labels: &[bool],
    width: usize,
    config: &TrainConfig,
    kind: ModelKind,
    folds: usize,
) -> Result<Vec<f64>> {
    let fold_of = stratified_folds(labels, folds, config.seed);
    let mut scores = vec![f64::NAN; rows.len()];
    for fold in 0..folds {
        let (train, test): (Vec<usize>, Vec<usize>) =
            (0..rows.len()).partition(|i| fold_of[*i] != fold);
        let train_rows: Vec<FeatureRow> = train.iter().map(|i| rows[*i].clone()).collect();
        let train_labels: Vec<bool> = train.iter().map(|i| labels[*i]).collect();
        let test_rows: Vec<FeatureRow> = test.iter().map(|i| rows[*i].clone()).collect();

        let scorer = fit(&train_rows, &train_labels, width, config, kind)?;
        for (i, score) in test.iter().zip(scorer.log_odds(&test_rows, width)?) {
            scores[*i] = score;
        }
    }
    Ok(scores)
}

/// Fold number per deal: each outcome shuffled (fixed seed) and dealt
/// round-robin, so every fold holds both outcomes in their overall share.
pub(crate) fn stratified_folds(labels: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fold_of = vec![0; labels.len()];
    for class in [true, false] {
        let mut members: Vec<usize> = (0..labels.len()).filter(|i| labels[*i] == class).collect();
        members.shuffle(&mut rng);
        for (k, i) in members.into_iter().enumerate() {
            fold_of[i] = k % folds;
        }
    }
    fold_of
}

/// Lays rows out column by column, as forust's `Matrix` reads them.
fn column_major(rows: &[FeatureRow], width: usize) -> Result<Vec<f64>> {
    if let Some(bad) = rows.iter().find(|r| r.values.len() != width) {
        return Err(Error::Predict(format!(
            "deal {}: {} feature values, the model reads {width}",
            bad.deal_id,
            bad.values.len()
        )));
    }
    let mut data = Vec::with_capacity(rows.len() * width);
    for col in 0..width {
        data.extend(rows.iter().map(|r| r.values[col]));
    }
    Ok(data)
}

fn probability(log_odds: f64) -> f64 {
    let p = 1.0 / (1.0 + (-log_odds).exp());
    p.clamp(PROBABILITY_EPS, 1.0 - PROBABILITY_EPS)
}

/// Area under the ROC curve: the chance a random won deal scores above a
/// random lost one, ties counting half. NaN when either outcome is absent.
pub fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));

    // Rank-sum (Mann-Whitney U) with tied scores sharing their mean rank.
    let mut rank_sum_won = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0;
        let won_in_tie = order[start..end].iter().filter(|i| labels[**i]).count();
        rank_sum_won += mean_rank * won_in_tie as f64;
        start = end;
    }
    let n_won = order.iter().filter(|i| labels[**i]).count() as f64;
    let n_lost = order.len() as f64 - n_won;
    if n_won == 0.0 || n_lost == 0.0 {
        return f64::NAN;
    }
    (rank_sum_won - n_won * (n_won + 1.0) / 2.0) / (n_won * n_lost)
}

/// Mean negative log-likelihood of the outcomes under `probabilities`.
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> f64 {
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(p, won)| {
            let p = p.clamp(PROBABILITY_EPS, 1.0 - PROBABILITY_EPS);
            if *won {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / probabilities.len().min(labels.len()).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_one_for_perfect_order_and_half_for_ties() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), 0.0);
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true]), 0.5);
        // One inversion out of four won/lost pairs.
        assert_eq!(
            auc(&[0.1, 0.6, 0.5, 0.9], &[false, false, true, true]),
            0.75
        );
        assert!(auc(&[0.1, 0.2], &[true, true]).is_nan());
    }

    #[test]
    fn log_loss_is_small_for_confident_right_answers() {
        let right = log_loss(&[0.9, 0.1], &[true, false]);
        let wrong = log_loss(&[0.1, 0.9], &[true, false]);
        assert!((right - (-(0.9f64).ln())).abs() < 1e-12);
        assert!(wrong > right);
    }

    #[test]
    fn stratified_folds_spread_each_outcome() {
        let labels = [true, true, true, false, false, false, false, false, false];
        let folds = stratified_folds(&labels, 3, 7);
        for fold in 0..3 {
            let won = (0..9).filter(|i| folds[*i] == fold && labels[*i]).count();
            let lost = (0..9).filter(|i| folds[*i] == fold && !labels[*i]).count();
            assert_eq!((won, lost), (1, 2), "fold {fold}");
        }
    }

    #[test]
    fn probability_never_reaches_certainty() {
        assert!(probability(1e3) < 1.0);
        assert!(probability(-1e3) > 0.0);
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn rows_of_the_wrong_width_name_the_deal() {
        let rows = vec![FeatureRow {
            deal_id: "D7".into(),
            values: vec![1.0],
        }];
        let err = column_major(&rows, 2).unwrap_err().to_string();
        assert!(err.contains("deal D7"), "{err}");
    }
}
