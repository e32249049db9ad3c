#![cfg(feature = "realdata")]
//! The win model on a real-shaped CRM export: the Maven Analytics
//! "CRM Sales Opportunities" sample (a fictitious company, 6,711 closed
//! deals), read from /work/shared/realdata by path.
//!
//! Only fields known while a deal is open are used: product, the account's
//! sector, size and age, the agent, manager and office. `close_value` is left
//! out because lost deals have it at 0, and the time between engage and close
//! because it is only known at the end. The engage date is left out too: in a
//! time split, the training deals engaged late are only those that closed
//! fast, a selection the test deals do not share (with it, the 5-fold AUC
//! rose to 0.58 while the test AUC fell to 0.50).
//! The split is by time: train on deals closed before October 2017, test on
//! the rest, as a forecaster would live it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use dealsignal::domain::{Deal, Outcome};
use dealsignal::predict::{
    auc, log_loss, time_split_report_with, train_with, FeatureRow, TrainConfig,
};

const DATA: &str =
    "/work/shared/realdata/maven_crm_sales_opportunities/original_zip/CRM+Sales+Opportunities";

/// Deals closed on or after this date form the test set.
const CUT_OFF: (i32, u32, u32) = (2017, 10, 1);

/// What we measured, 0.503, less a margin. The fields carry almost no
/// signal in this sample (win rate per product 0.60-0.65, per agent
/// 0.55-0.70 on about 190 deals each), so the floor only pins that the
/// pipeline does not invert or break the ranking.
// TODO: a sample with real CRM signal would let this floor mean more.
const AUC_FLOOR: f64 = 0.47;

const NAMES: [&str; 10] = [
    "product_price",
    "product_series",
    "sector",
    "account_revenue",
    "account_employees",
    "account_founded",
    "account_is_subsidiary",
    "agent",
    "manager",
    "regional_office",
];

struct ClosedDeal {
    id: String,
    won: bool,
    closed: NaiveDate,
    values: Vec<f64>,
}

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(DATA);
    assert!(
        dir.join("sales_pipeline.csv").is_file(),
        "the Maven CRM sample is missing: expected {} (see /work/shared/realdata/MANIFEST.md)",
        dir.display()
    );
    dir
}

/// Reads a CSV file into maps from header to value, one per row.
fn read_table(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            let record =
                record.unwrap_or_else(|e| panic!("{}, row {}: {e}", path.display(), i + 2));
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.trim().to_string()))
                .collect()
        })
        .collect()
}

/// Gives each distinct text a stable number (by sorted order), so a tree can
/// split on it; empty text is missing.
struct Codes(HashMap<String, f64>);

impl Codes {
    fn of<'a>(values: impl Iterator<Item = &'a str>) -> Codes {
        let mut distinct: Vec<&str> = values.filter(|v| !v.is_empty()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        Codes(
            distinct
                .into_iter()
                .enumerate()
                .map(|(i, v)| (v.to_string(), i as f64))
                .collect(),
        )
    }

    fn get(&self, value: &str) -> f64 {
        self.0.get(value).copied().unwrap_or(f64::NAN)
    }
}

fn number(row: &HashMap<String, String>, field: &str) -> f64 {
    row.get(field)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Product names in the pipeline drop spaces ("GTXPro" for "GTX Pro").
fn product_key(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

fn closed_deals(dir: &Path) -> Vec<ClosedDeal> {
    let pipeline = read_table(&dir.join("sales_pipeline.csv"));
    let accounts: HashMap<String, HashMap<String, String>> = read_table(&dir.join("accounts.csv"))
        .into_iter()
        .map(|row| (row["account"].clone(), row))
        .collect();
    let products: HashMap<String, HashMap<String, String>> = read_table(&dir.join("products.csv"))
        .into_iter()
        .map(|row| (product_key(&row["product"]), row))
        .collect();
    let teams: HashMap<String, HashMap<String, String>> = read_table(&dir.join("sales_teams.csv"))
        .into_iter()
        .map(|row| (row["sales_agent"].clone(), row))
        .collect();

    let sectors = Codes::of(accounts.values().map(|a| a["sector"].as_str()));
    let series = Codes::of(products.values().map(|p| p["series"].as_str()));
    let agents = Codes::of(teams.keys().map(String::as_str));
    let managers = Codes::of(teams.values().map(|t| t["manager"].as_str()));
    let offices = Codes::of(teams.values().map(|t| t["regional_office"].as_str()));
    let empty = HashMap::new();

    let mut deals = Vec::new();
    for row in &pipeline {
        let won = match row["deal_stage"].as_str() {
            "Won" => true,
            "Lost" => false,
            _ => continue,
        };
        let Some(closed) = date(&row["close_date"]) else {
            panic!("closed deal {} has no close date", row["opportunity_id"]);
        };
        let account = accounts.get(&row["account"]).unwrap_or(&empty);
        let product = products
            .get(&product_key(&row["product"]))
            .unwrap_or(&empty);
        let team = teams.get(&row["sales_agent"]).unwrap_or(&empty);
        let text = |map: &HashMap<String, String>, field: &str| {
            map.get(field).cloned().unwrap_or_default()
        };
        let values = vec![
            number(product, "sales_price"),
            series.get(&text(product, "series")),
            sectors.get(&text(account, "sector")),
            number(account, "revenue"),
            number(account, "employees"),
            number(account, "year_established"),
            if account.is_empty() {
                f64::NAN
            } else {
                f64::from(u8::from(!text(account, "subsidiary_of").is_empty()))
            },
            agents.get(&row["sales_agent"]),
            managers.get(&text(team, "manager")),
            offices.get(&text(team, "regional_office")),
        ];
        deals.push(ClosedDeal {
            id: row["opportunity_id"].clone(),
            won,
            closed,
            values,
        });
    }
    deals
}

fn rows_and_labels(deals: &[&ClosedDeal]) -> (Vec<FeatureRow>, Vec<bool>) {
    let rows = deals
        .iter()
        .map(|d| FeatureRow {
            deal_id: d.id.clone(),
            values: d.values.clone(),
        })
        .collect();
    (rows, deals.iter().map(|d| d.won).collect())
}

#[test]
fn crm_fields_rank_later_deals_no_worse_than_chance() {
    let deals = closed_deals(&data_dir());
    assert!(
        deals.len() > 6000,
        "expected about 6,700 closed deals, read {}",
        deals.len()
    );

    let cut = NaiveDate::from_ymd_opt(CUT_OFF.0, CUT_OFF.1, CUT_OFF.2).unwrap();
    let (before, after): (Vec<&ClosedDeal>, Vec<&ClosedDeal>) =
        deals.iter().partition(|d| d.closed < cut);
    let (train_rows, train_labels) = rows_and_labels(&before);
    let (test_rows, test_labels) = rows_and_labels(&after);

    let mut config = TrainConfig::for_deals(train_rows.len());
    let started = Instant::now();
    let model = train_with(&train_rows, &train_labels, &NAMES, &config).unwrap();
    let one_thread = started.elapsed().as_secs_f64();

    config.threads = None;
    let started = Instant::now();
    let parallel = train_with(&train_rows, &train_labels, &NAMES, &config).unwrap();
    let rayon_pool = started.elapsed().as_secs_f64();

    let predictions = model.predict(&test_rows).unwrap();
    let probabilities: Vec<f64> = predictions.iter().map(|p| p.probability).collect();
    let test_auc = auc(&probabilities, &test_labels);
    let test_log_loss = log_loss(&probabilities, &test_labels);
    let base_rate = train_labels.iter().filter(|w| **w).count() as f64 / train_labels.len() as f64;
    let base_log_loss = log_loss(&vec![base_rate; test_labels.len()], &test_labels);
    let parallel_auc = auc(
        &parallel
            .predict(&test_rows)
            .unwrap()
            .iter()
            .map(|p| p.probability)
            .collect::<Vec<_>>(),
        &test_labels,
    );

    let m = model.metrics();
    println!(
        "maven crm: train {} deals (won {}), test {} deals; test AUC {test_auc:.4}, \
         test log-loss {test_log_loss:.4} (base rate {base_log_loss:.4}); \
         in-sample AUC {:.4}, {}-fold AUC {:.4?}; \
         train+cv {one_thread:.2}s on one thread, {rayon_pool:.2}s on the rayon pool \
         (final fit alone {:.3}s / {:.3}s; pool AUC {parallel_auc:.4})",
        m.n,
        m.n_won,
        test_rows.len(),
        m.in_sample_auc,
        m.folds,
        m.cv_auc,
        m.train_seconds,
        parallel.metrics().train_seconds,
    );

    assert!(
        test_auc > AUC_FLOOR,
        "test AUC {test_auc} below floor {AUC_FLOOR}"
    );
    assert!(probabilities.iter().all(|p| *p > 0.0 && *p < 1.0));
    // Measured 0.690 against 0.676 for always saying the base rate: the trees
    // fit some noise, but the forecast must not be far worse than no model.
    assert!(
        test_log_loss < base_log_loss + 0.03,
        "test log-loss {test_log_loss} against base rate {base_log_loss}"
    );
}

/// The validation report on the same time split: trees against the logistic
/// baseline, before and after calibration. Printed for the record; the
/// asserts only pin what must hold on any data.
#[test]
fn validation_report_compares_trees_and_baseline_on_the_time_split() {
    let closed = closed_deals(&data_dir());
    let deals: Vec<Deal> = closed
        .iter()
        .map(|d| Deal {
            id: d.id.clone(),
            name: d.id.clone(),
            account: String::new(),
            contact_domains: vec![],
            owner: String::new(),
            stage: String::new(),
            amount: None,
            created: None,
            close_date: Some(d.closed),
            outcome: if d.won { Outcome::Won } else { Outcome::Lost },
        })
        .collect();
    let all: Vec<&ClosedDeal> = closed.iter().collect();
    let (rows, labels) = rows_and_labels(&all);
    let cut = NaiveDate::from_ymd_opt(CUT_OFF.0, CUT_OFF.1, CUT_OFF.2).unwrap();
    let config = TrainConfig::for_deals(rows.len());

    let started = Instant::now();
    let report = time_split_report_with(&deals, &rows, &labels, cut, &NAMES, &config).unwrap();
    println!(
        "maven crm validation ({:.1}s):\n{report}",
        started.elapsed().as_secs_f64()
    );

    assert_eq!(report.train_deals + report.test_deals, closed.len());
    for model in [&report.gbm, &report.baseline] {
        assert!(model.calibrated.auc > AUC_FLOOR, "{model:?}");
        // Calibration is chosen on training folds; on later deals it must
        // not make the forecast much worse than the raw one.
        assert!(
            model.calibrated.log_loss < model.uncalibrated.log_loss + 0.01,
            "{model:?}"
        );
        assert!(
            model.calibrated.log_loss < report.base_rate.log_loss + 0.03,
            "{model:?} against base rate {:?}",
            report.base_rate
        );
    }
}
