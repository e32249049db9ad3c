//! Our gradient-boosted win model (forust) on an exported feature table, for
//! scripts/compare-lightgbm, which trains LightGBM on the same file and
//! split. The table is the CSV `dealsignal validate --export-features`
//! writes: `deal_id, close_date, won`, then one column per feature (empty =
//! missing). Deals closed before the cut-off train, the rest test.
//! Prints one tab-separated line:
//! `train deals<TAB>test deals<TAB>test AUC<TAB>fit seconds`, where the AUC
//! is over raw log-odds (no calibration, as LightGBM's raw output) and the
//! seconds cover the final fit alone, on one thread.
//! Run: `cargo run --release --example compare_gbm -- FEATURES.csv
//! YYYY-MM-DD [TREES LEARNING_RATE MAX_DEPTH]`.

use chrono::NaiveDate;
use dealsignal::predict::{auc, train_with, FeatureRow, ModelChoice, TrainConfig};

struct Table {
    names: Vec<String>,
    rows: Vec<(NaiveDate, FeatureRow, bool)>,
}

fn read_table(path: &str) -> Table {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let header = reader.headers().expect("header row").clone();
    let names = header.iter().skip(3).map(str::to_string).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.unwrap_or_else(|e| panic!("{path}, row {}: {e}", i + 2));
        let at = || format!("{path}, row {}", i + 2);
        let closed = NaiveDate::parse_from_str(&record[1], "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("{}: close date: {e}", at()));
        let won = &record[2] == "1";
        let values = record
            .iter()
            .skip(3)
            .map(|v| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.parse().unwrap()
                }
            })
            .collect();
        let deal_id = record[0].to_string();
        rows.push((closed, FeatureRow { deal_id, values }, won));
    }
    Table { names, rows }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert!(
        args.len() >= 3,
        "usage: compare_gbm FEATURES.csv CUTOFF [TREES LR DEPTH]"
    );
    let table = read_table(&args[1]);
    let cut = NaiveDate::parse_from_str(&args[2], "%Y-%m-%d").expect("cut-off YYYY-MM-DD");
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.to_string());

    let mut config = TrainConfig::for_deals(table.rows.len());
    config.iterations = arg(3, "200").parse().expect("trees");
    config.learning_rate = arg(4, "0.1").parse().expect("learning rate");
    config.max_depth = arg(5, "4").parse().expect("max depth");
    config.threads = Some(1);
    config.model = ModelChoice::Gbm;

    let (train, test): (Vec<_>, Vec<_>) = table.rows.into_iter().partition(|r| r.0 < cut);
    let split = |part: Vec<(NaiveDate, FeatureRow, bool)>| -> (Vec<FeatureRow>, Vec<bool>) {
        part.into_iter().map(|(_, row, won)| (row, won)).unzip()
    };
    let (train_rows, train_labels) = split(train);
    let (test_rows, test_labels) = split(test);
    let names: Vec<&str> = table.names.iter().map(String::as_str).collect();

    let model = train_with(&train_rows, &train_labels, &names, &config).expect("training");
    let scores = model.log_odds(&test_rows).expect("scoring");
    println!(
        "{}\t{}\t{:.4}\t{:.3}",
        train_rows.len(),
        test_rows.len(),
        auc(&scores, &test_labels),
        model.metrics().train_seconds
    );
}
