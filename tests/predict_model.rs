//! End-to-end checks of the win model on synthetic deals whose outcome
//! depends on a known feature.

use dealsignal::predict::{
    auc, feature_names, train_with, FeatureRow, ModelChoice, ModelKind, TrainConfig, WinModel,
    MIN_DEALS_PER_FEATURE,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn column(name: &str) -> usize {
    feature_names().iter().position(|n| *n == name).unwrap()
}

/// Deals with random features, where a deal is won when the customer wrote
/// recently, with 10% of labels flipped. Some values are missing.
fn synthetic_deals(n: usize, seed: u64) -> (Vec<FeatureRow>, Vec<bool>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let silence = column("days_since_customer_wrote");
    let mut rows = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let mut values: Vec<f64> = (0..feature_names().len())
            .map(|_| {
                if rng.gen_bool(0.1) {
                    f64::NAN
                } else {
                    rng.gen_range(0.0..30.0)
                }
            })
            .collect();
        values[silence] = rng.gen_range(0.0..40.0);
        let won = (values[silence] < 15.0) != rng.gen_bool(0.1);
        rows.push(FeatureRow {
            deal_id: format!("S{i}"),
            values,
        });
        labels.push(won);
    }
    (rows, labels)
}

/// The trees, whatever the number of deals.
fn train_gbm(rows: &[FeatureRow], labels: &[bool]) -> WinModel {
    let mut config = TrainConfig::for_deals(rows.len());
    config.model = ModelChoice::Gbm;
    train_with(rows, labels, feature_names(), &config).unwrap()
}

#[test]
fn held_out_auc_is_high_when_the_label_follows_a_feature() {
    let (rows, labels) = synthetic_deals(200, 1);
    let model = train_gbm(&rows[..140], &labels[..140]);
    assert_eq!(model.kind(), ModelKind::Gbm);

    let predictions = model.predict(&rows[140..]).unwrap();
    let scores: Vec<f64> = predictions.iter().map(|p| p.probability).collect();
    let held_out = auc(&scores, &labels[140..]);
    assert!(held_out > 0.8, "held-out AUC {held_out}");

    let metrics = model.metrics();
    assert_eq!(metrics.n, 140);
    assert!(metrics.folds >= 2);
    let cv = metrics
        .cv_auc
        .expect("k-fold AUC with both outcomes common");
    assert!(cv > 0.8, "k-fold AUC {cv}");
    assert!(metrics.in_sample_auc >= cv - 0.05);
}

#[test]
fn the_deciding_feature_leads_the_factors() {
    let (rows, labels) = synthetic_deals(200, 2);
    let model = WinModel::train(&rows, &labels).unwrap();
    let predictions = model.predict(&rows[..20]).unwrap();
    let leads = predictions
        .iter()
        .filter(|p| p.factors.first().map(|f| f.0.as_str()) == Some("days_since_customer_wrote"))
        .count();
    assert!(
        leads >= 15,
        "silence led the factors of {leads} of 20 deals"
    );
    for p in &predictions {
        assert!(p.probability > 0.0 && p.probability < 1.0);
        let positive = p.factors.iter().filter(|f| f.1 > 0.0).count();
        let negative = p.factors.iter().filter(|f| f.1 < 0.0).count();
        assert!(positive <= 3 && negative <= 3, "{:?}", p.factors);
        assert_eq!(positive + negative, p.factors.len());
        let sizes: Vec<f64> = p.factors.iter().map(|f| f.1.abs()).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    }
}

#[test]
fn contributions_sum_to_the_log_odds() {
    let (rows, labels) = synthetic_deals(120, 3);
    let model = WinModel::train(&rows, &labels).unwrap();
    let log_odds = model.log_odds(&rows).unwrap();
    let contributions = model.contributions(&rows).unwrap();
    let predictions = model.predict(&rows).unwrap();
    for ((score, contribs), p) in log_odds.iter().zip(&contributions).zip(&predictions) {
        assert_eq!(
            contribs.len(),
            feature_names().len() + 1,
            "features + base score"
        );
        let sum: f64 = contribs.iter().sum();
        // forust accumulates Shapley paths in f32.
        assert!((sum - score).abs() < 1e-4, "sum {sum} vs log-odds {score}");
        let calibrated = model.calibration().apply(*score);
        assert!((p.probability - calibrated).abs() < 1e-9);
    }
}

#[test]
fn save_and_load_give_identical_predictions() {
    let (rows, labels) = synthetic_deals(80, 4);
    let model = WinModel::train(&rows, &labels).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("win_model.json");
    model.save(&path).unwrap();
    let loaded = WinModel::load(&path).unwrap();

    assert_eq!(
        model.predict(&rows).unwrap(),
        loaded.predict(&rows).unwrap()
    );
    assert_eq!(model.metrics(), loaded.metrics());
    assert_eq!(model.feature_names(), loaded.feature_names());
}

#[test]
fn loading_a_file_that_is_not_a_model_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.json");
    std::fs::write(&path, "{\"trees\": 3}").unwrap();
    let err = WinModel::load(&path).unwrap_err().to_string();
    assert!(err.contains("garbage.json"), "{err}");
    let missing = dir.path().join("absent.json");
    let err = WinModel::load(&missing).unwrap_err().to_string();
    assert!(err.contains("absent.json"), "{err}");
}

#[test]
fn training_is_deterministic() {
    let (rows, labels) = synthetic_deals(100, 5);
    let a = WinModel::train(&rows, &labels).unwrap();
    let b = WinModel::train(&rows, &labels).unwrap();
    assert_eq!(a.predict(&rows).unwrap(), b.predict(&rows).unwrap());
    assert_eq!(a.metrics().cv_auc, b.metrics().cv_auc);
}

#[test]
fn too_few_deals_is_a_clear_error() {
    let (rows, labels) = synthetic_deals(3, 6);
    let err = WinModel::train(&rows, &labels).unwrap_err().to_string();
    assert!(
        err.contains("3 closed deals") && err.contains("at least 4"),
        "{err}"
    );
}

#[test]
fn a_single_outcome_is_a_clear_error() {
    let (rows, _) = synthetic_deals(10, 7);
    let err = WinModel::train(&rows, &[true; 10]).unwrap_err().to_string();
    assert!(err.contains("all 10 closed deals were won"), "{err}");
}

#[test]
fn a_row_of_the_wrong_width_names_its_deal() {
    let (mut rows, labels) = synthetic_deals(10, 8);
    rows[4].values.pop();
    let err = WinModel::train(&rows, &labels).unwrap_err().to_string();
    assert!(err.contains("deal S4"), "{err}");
}

#[test]
fn four_deals_train_without_an_honest_auc_when_one_outcome_is_single() {
    let (rows, _) = synthetic_deals(4, 9);
    let model = WinModel::train(&rows, &[true, false, false, false]).unwrap();
    assert_eq!(model.metrics().cv_auc, None);
    let p = model.predict(&rows).unwrap();
    assert!(p.iter().all(|p| p.probability > 0.0 && p.probability < 1.0));
}

#[test]
fn calibration_is_chosen_on_held_out_scores_and_saved() {
    let (rows, labels) = synthetic_deals(300, 10);
    let model = WinModel::train(&rows, &labels).unwrap();
    let choice = model
        .metrics()
        .calibration
        .clone()
        .expect("a k-fold pass on 300 deals");
    let candidates = [
        Some(choice.uncalibrated_log_loss),
        choice.platt_log_loss,
        choice.isotonic_log_loss,
    ];
    let best = candidates
        .iter()
        .flatten()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let chosen = match choice.calibration.method() {
        "none" => Some(choice.uncalibrated_log_loss),
        "platt" => choice.platt_log_loss,
        _ => choice.isotonic_log_loss,
    };
    assert_eq!(chosen, Some(best), "{choice:?}");
    assert_eq!(model.calibration(), &choice.calibration);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("win_model.json");
    model.save(&path).unwrap();
    let json = std::fs::read_to_string(&path).unwrap();
    assert!(json.contains(&format!("\"method\":\"{}\"", choice.calibration.method())));
    assert_eq!(
        WinModel::load(&path).unwrap().calibration(),
        model.calibration()
    );
}

#[test]
fn too_few_deals_per_feature_fall_back_to_the_logistic_baseline() {
    let width = feature_names().len() as f64;
    let few = (MIN_DEALS_PER_FEATURE * width) as usize - 1;
    let (rows, labels) = synthetic_deals(few + 1, 11);
    let fallback = WinModel::train(&rows[..few], &labels[..few]).unwrap();
    assert_eq!(fallback.kind(), ModelKind::Logistic);
    let enough = WinModel::train(&rows, &labels).unwrap();
    assert_eq!(enough.kind(), ModelKind::Gbm);
}

#[test]
fn the_baseline_ranks_held_out_deals_and_names_the_deciding_feature() {
    let (rows, labels) = synthetic_deals(300, 12);
    let model = WinModel::train_baseline(&rows[..200], &labels[..200]).unwrap();
    assert_eq!(model.kind(), ModelKind::Logistic);
    let predictions = model.predict(&rows[200..]).unwrap();
    let scores: Vec<f64> = predictions.iter().map(|p| p.probability).collect();
    let held_out = auc(&scores, &labels[200..]);
    assert!(held_out > 0.75, "baseline held-out AUC {held_out}");
    let cv = model.metrics().cv_auc.expect("both outcomes common");
    assert!(cv > 0.75, "baseline k-fold AUC {cv}");

    // Deals far from the mean silence are decided by it.
    let far: Vec<_> = predictions
        .iter()
        .zip(&rows[200..])
        .filter(|(_, r)| (r.values[column("days_since_customer_wrote")] - 20.0).abs() > 12.0)
        .collect();
    assert!(!far.is_empty());
    for (p, _) in far {
        assert_eq!(
            p.factors[0].0, "days_since_customer_wrote",
            "{:?}",
            p.factors
        );
    }
}

#[test]
fn the_baseline_saves_and_loads_with_its_kind() {
    let (rows, labels) = synthetic_deals(60, 13);
    let model = WinModel::train_baseline(&rows, &labels).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline.json");
    model.save(&path).unwrap();
    let loaded = WinModel::load(&path).unwrap();
    assert_eq!(loaded.kind(), ModelKind::Logistic);
    assert_eq!(
        model.predict(&rows).unwrap(),
        loaded.predict(&rows).unwrap()
    );
}
