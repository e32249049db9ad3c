//! End-to-end checks of the quarterly revenue forecast and its back-test on
//! synthetic deals with known win chances.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use dealsignal::domain::{Deal, Outcome};
use dealsignal::predict::{backtest, forecast_by_quarter, ForecastConfig, Quarter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn deal(id: &str, amount: Option<f64>, close: Option<NaiveDate>, outcome: Outcome) -> Deal {
    Deal {
        id: id.into(),
        name: id.into(),
        account: "Acme".into(),
        contact_domains: vec![],
        owner: "rep".into(),
        stage: "proposal".into(),
        amount,
        created: NaiveDate::from_ymd_opt(2023, 6, 1),
        close_date: close,
        outcome,
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn expected_revenue_sums_probability_times_amount_per_quarter() {
    let deals = vec![
        deal("a", Some(1000.0), Some(day(2024, 1, 15)), Outcome::Open),
        deal("b", Some(3000.0), Some(day(2024, 3, 31)), Outcome::Open),
        deal("c", Some(500.0), Some(day(2024, 4, 1)), Outcome::Open),
        deal("no_amount", None, Some(day(2024, 2, 1)), Outcome::Open),
        deal("won", Some(9e9), Some(day(2024, 2, 1)), Outcome::Won),
    ];
    let p: HashMap<String, f64> = [("a", 0.5), ("b", 0.2), ("c", 1.0), ("no_amount", 0.9)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let f = forecast_by_quarter(&deals, &p, &ForecastConfig::default());
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].quarter.to_string(), "2024-Q1");
    assert_eq!(f[0].deals, 2);
    assert!((f[0].expected - (0.5 * 1000.0 + 0.2 * 3000.0)).abs() < 1e-9);
    assert!(
        f[0].p10 <= f[0].expected && f[0].expected <= f[0].p90,
        "{:?}",
        f[0]
    );
    // A certain deal has no range.
    assert_eq!((f[1].p10, f[1].expected, f[1].p90), (500.0, 500.0, 500.0));
}

#[test]
fn the_range_covers_about_eighty_percent_of_simulated_outcomes() {
    let mut rng = StdRng::seed_from_u64(1);
    let deals: Vec<Deal> = (0..60)
        .map(|i| {
            let amount = rng.gen_range(1_000.0..20_000.0);
            deal(
                &format!("d{i}"),
                Some(amount),
                Some(day(2024, 5, 1)),
                Outcome::Open,
            )
        })
        .collect();
    let p: HashMap<String, f64> = deals
        .iter()
        .map(|d| (d.id.clone(), rng.gen_range(0.05..0.95)))
        .collect();
    let config = ForecastConfig::default();
    let f = &forecast_by_quarter(&deals, &p, &config)[0];
    assert_eq!(
        f,
        &forecast_by_quarter(&deals, &p, &config)[0],
        "fixed seed"
    );

    // Draw fresh outcomes with another generator and count how many quarters
    // land inside the forecast's range.
    let trials = 2000;
    let inside = (0..trials)
        .filter(|_| {
            let won: f64 = deals
                .iter()
                .filter(|d| rng.gen_bool(p[&d.id]))
                .map(|d| d.amount.unwrap())
                .sum();
            f.p10 <= won && won <= f.p90
        })
        .count();
    let share = inside as f64 / trials as f64;
    assert!((0.75..0.85).contains(&share), "inside {share}");
}

#[test]
fn backtest_compares_the_forecast_at_quarter_start_with_what_was_won() {
    // Eight quarters of closed deals; a deal's win chance is known to the
    // "model", so the back-test should land in range most quarters.
    let mut rng = StdRng::seed_from_u64(2);
    let mut deals = Vec::new();
    let mut truth = HashMap::new();
    for i in 0..800 {
        let close = day(2022, 1, 1) + Duration::days(rng.gen_range(0..730));
        let p = rng.gen_range(0.1..0.9);
        let outcome = if rng.gen_bool(p) {
            Outcome::Won
        } else {
            Outcome::Lost
        };
        let mut d = deal(
            &format!("h{i}"),
            Some(rng.gen_range(1e3..1e4)),
            Some(close),
            outcome,
        );
        d.created = Some(close - Duration::days(rng.gen_range(10..200)));
        truth.insert(d.id.clone(), p);
        deals.push(d);
    }
    let first = Quarter {
        year: 2022,
        quarter: 1,
    };
    let last = Quarter {
        year: 2023,
        quarter: 4,
    };
    let result = backtest(
        &deals,
        first,
        last,
        |d, _| truth.get(&d.id).copied(),
        &Default::default(),
    );
    assert_eq!(result.len(), 8);
    for q in &result {
        assert!(q.actual_won <= q.actual_won_all + 1e-9);
        assert!(q.forecast.deals > 0);
    }
    let within = result.iter().filter(|q| q.within_range).count();
    assert!(within >= 4, "{within} of 8 quarters in range: {result:?}");

    // A model that says 0 for everything misses every quarter with wins.
    let blind = backtest(&deals, first, last, |_, _| Some(0.0), &Default::default());
    assert!(blind.iter().all(|q| q.forecast.expected == 0.0));
    assert!(blind
        .iter()
        .filter(|q| q.actual_won > 0.0)
        .all(|q| !q.within_range));
}
