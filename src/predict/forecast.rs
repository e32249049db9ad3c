//! The revenue forecast: expected won amount per quarter from the win
//! probabilities, with a 10-90% range, and a back-test of past quarters.
//!
//! This is the last step of the predict stage, after the win model has
//! scored the open deals. The expected value alone hides how lumpy a
//! quarter is (one large deal decides it), so the range comes from
//! simulating every deal as won or lost by its probability, many times,
//! with a fixed seed so a forecast is reproducible.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::domain::{Deal, Outcome};

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub quarter: u32,
}

impl Quarter {
    pub fn of(date: NaiveDate) -> Quarter {
        Quarter {
            year: date.year(),
            quarter: (date.month0() / 3) + 1,
        }
    }

    /// The quarter's first day.
    pub fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.quarter - 1) * 3 + 1, 1)
            .expect("a quarter starts on a valid date")
    }

    pub fn next(self) -> Quarter {
        if self.quarter == 4 {
            Quarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

/// How the range is simulated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastConfig {
    pub simulations: usize,
    pub seed: u64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            simulations: 10_000,
            seed: 0,
        }
    }
}

/// Expected won revenue of one quarter and its 10-90% range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterForecast {
    pub quarter: Quarter,
    pub deals: usize,
    /// Sum of probability times amount.
    pub expected: f64,
    pub p10: f64,
    pub p90: f64,
}

/// Forecasts the open deals that have a close date and an amount, grouped by
/// the quarter of their close date; `probabilities` maps deal id to win
/// probability. Deals lacking one of the three are skipped with a warning.
pub fn forecast_by_quarter(
    deals: &[Deal],
    probabilities: &HashMap<String, f64>,
    config: &ForecastConfig,
) -> Vec<QuarterForecast> {
    let mut by_quarter: BTreeMap<Quarter, Vec<(f64, f64)>> = BTreeMap::new();
    for deal in deals.iter().filter(|d| d.outcome == Outcome::Open) {
        let reason = match (deal.close_date, deal.amount, probabilities.get(&deal.id)) {
            (Some(close), Some(amount), Some(p)) => {
                by_quarter
                    .entry(Quarter::of(close))
                    .or_default()
                    .push((p.clamp(0.0, 1.0), amount));
                continue;
            }
            (None, _, _) => "no close date",
            (_, None, _) => "no amount",
            (_, _, None) => "no win probability",
        };
        tracing::warn!(deal = %deal.id, reason, "deal left out of the forecast");
    }
    let forecasts: Vec<QuarterForecast> = by_quarter
        .into_iter()
        .map(|(quarter, deals)| simulate(quarter, &deals, config))
        .collect();
    tracing::info!(quarters = forecasts.len(), "forecast finished");
    forecasts
}

fn simulate(quarter: Quarter, deals: &[(f64, f64)], config: &ForecastConfig) -> QuarterForecast {
    // Each quarter gets its own stream, so adding a deal to one quarter does
    // not move the range of another.
    let seed = config.seed ^ ((quarter.year as u64) << 8) ^ u64::from(quarter.quarter);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut totals: Vec<f64> = (0..config.simulations.max(1))
        .map(|_| {
            deals
                .iter()
                .filter(|(p, _)| rng.gen_bool(*p))
                .map(|(_, amount)| amount)
                .sum()
        })
        .collect();
    totals.sort_by(f64::total_cmp);
    QuarterForecast {
        quarter,
        deals: deals.len(),
        expected: deals.iter().map(|(p, a)| p * a).sum(),
        p10: percentile(&totals, 0.1),
        p90: percentile(&totals, 0.9),
    }
}

/// Linear interpolation between the nearest ranks of sorted `values`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// One past quarter: what was forecast at its start against what was won.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestQuarter {
    pub forecast: QuarterForecast,
    /// Won amount of the deals the forecast covered.
    pub actual_won: f64,
    /// Won amount of every deal that closed in the quarter, including those
    /// created after its start, which no forecast at the start could see.
    pub actual_won_all: f64,
    pub within_range: bool,
}

/// For each quarter from `first` to `last`, forecasts at the quarter's
/// first day the deals open then (created before it, closing in it) with
/// `probability_at(deal, day)`, and compares with what was won.
///
/// The CRM keeps only a deal's final close date, so the deals are grouped
/// by the quarter they actually closed in; a forecaster at the time knew
/// only the planned date, which makes this back-test somewhat kind.
pub fn backtest(
    deals: &[Deal],
    first: Quarter,
    last: Quarter,
    probability_at: impl Fn(&Deal, NaiveDate) -> Option<f64>,
    config: &ForecastConfig,
) -> Vec<BacktestQuarter> {
    let mut out = Vec::new();
    let mut quarter = first;
    while quarter <= last {
        let start = quarter.start();
        let closing: Vec<&Deal> = deals
            .iter()
            .filter(|d| d.outcome != Outcome::Open)
            .filter(|d| d.close_date.is_some_and(|c| Quarter::of(c) == quarter))
            .collect();
        let won = |d: &&&Deal| d.outcome == Outcome::Won;
        let amount = |d: &&Deal| d.amount.unwrap_or(0.0);

        let mut covered = Vec::new();
        let mut actual_won = 0.0;
        for deal in closing
            .iter()
            .filter(|d| d.created.is_some_and(|c| c < start))
        {
            let (Some(p), Some(a)) = (probability_at(deal, start), deal.amount) else {
                continue;
            };
            covered.push((p.clamp(0.0, 1.0), a));
            if won(&deal) {
                actual_won += a;
            }
        }
        let forecast = simulate(quarter, &covered, config);
        let within_range = forecast.p10 <= actual_won && actual_won <= forecast.p90;
        out.push(BacktestQuarter {
            actual_won_all: closing.iter().filter(won).map(amount).sum(),
            actual_won,
            within_range,
            forecast,
        });
        quarter = quarter.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_start_and_follow_each_other() {
        let q = Quarter::of(NaiveDate::from_ymd_opt(2024, 11, 30).unwrap());
        assert_eq!(q.to_string(), "2024-Q4");
        assert_eq!(q.start(), NaiveDate::from_ymd_opt(2024, 10, 1).unwrap());
        assert_eq!(q.next().to_string(), "2025-Q1");
    }

    #[test]
    fn percentile_interpolates() {
        let v = [
            0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
        ];
        assert_eq!(percentile(&v, 0.1), 10.0);
        assert_eq!(percentile(&[0.0, 10.0], 0.5), 5.0);
    }
}
