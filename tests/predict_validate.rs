//! End-to-end checks of the time-split validation report on synthetic
//! deals whose outcome follows one feature, closed over two years.

use chrono::{Duration, NaiveDate};
use dealsignal::domain::{Deal, Outcome};
use dealsignal::predict::{feature_names, time_split_report, FeatureRow, ModelKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn column(name: &str) -> usize {
    feature_names().iter().position(|n| *n == name).unwrap()
}

/// `n` closed deals, one closing every other day from 2023-01-01; a deal is
/// won when the customer wrote recently, with `noise` of labels flipped.
fn synthetic(n: usize, noise: f64, seed: u64) -> (Vec<Deal>, Vec<FeatureRow>, Vec<bool>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let silence = column("days_since_customer_wrote");
    let (mut deals, mut rows, mut labels) = (vec![], vec![], vec![]);
    for i in 0..n {
        let mut values: Vec<f64> = (0..feature_names().len())
            .map(|_| rng.gen_range(0.0..30.0))
            .collect();
        values[silence] = rng.gen_range(0.0..40.0);
        let won = (values[silence] < 15.0) != rng.gen_bool(noise);
        let id = format!("V{i}");
        deals.push(Deal {
            id: id.clone(),
            name: id.clone(),
            account: "Acme".into(),
            contact_domains: vec![],
            owner: "rep".into(),
            stage: "closed".into(),
            amount: Some(1000.0),
            created: None,
            close_date: Some(start + Duration::days(2 * i as i64)),
            outcome: if won { Outcome::Won } else { Outcome::Lost },
        });
        rows.push(FeatureRow {
            deal_id: id,
            values,
        });
        labels.push(won);
    }
    (deals, rows, labels)
}

#[test]
fn the_report_splits_by_close_date_and_scores_both_models() {
    let (mut deals, rows, labels) = synthetic(400, 0.1, 1);
    deals[3].close_date = None;
    let cutoff = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(600);
    let report = time_split_report(&deals, &rows, &labels, cutoff).unwrap();

    assert_eq!(report.skipped, 1);
    assert_eq!(report.train_deals, 299);
    assert_eq!(report.test_deals, 100);
    let expected_won = labels[300..].iter().filter(|w| **w).count();
    assert_eq!(report.test_won, expected_won);
    assert_eq!(report.gbm.kind, ModelKind::Gbm);
    assert_eq!(report.baseline.kind, ModelKind::Logistic);
    assert_eq!(report.automatic_choice, ModelKind::Gbm);

    for model in [&report.gbm, &report.baseline] {
        assert!(model.calibrated.auc > 0.75, "{model:?}");
        assert!(
            model.calibrated.log_loss < report.base_rate.log_loss,
            "{model:?}"
        );
        assert!(model.calibrated.brier < report.base_rate.brier, "{model:?}");
        let counted: usize = model.reliability.iter().map(|b| b.count).sum();
        assert_eq!(counted, report.test_deals);
        assert!(model.cv_auc.unwrap() > 0.75);
    }

    let table = report.to_string();
    println!("{table}");
    assert!(
        table.contains("gbm raw") && table.contains("logistic cal."),
        "{table}"
    );
    assert_eq!(table.lines().filter(|l| l.starts_with("0.")).count(), 10);
}

#[test]
fn a_cutoff_after_every_deal_is_a_clear_error() {
    let (deals, rows, labels) = synthetic(50, 0.1, 2);
    let cutoff = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let err = time_split_report(&deals, &rows, &labels, cutoff)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no deal closed on or after"), "{err}");
}

#[test]
fn mismatched_deals_and_rows_name_both_deals() {
    let (deals, mut rows, labels) = synthetic(50, 0.1, 3);
    rows.swap(0, 1);
    let cutoff = NaiveDate::from_ymd_opt(2023, 2, 1).unwrap();
    let err = time_split_report(&deals, &rows, &labels, cutoff)
        .unwrap_err()
        .to_string();
    assert!(err.contains("V0") && err.contains("V1"), "{err}");
}
