//! The baseline win model: L2-regularised logistic regression on
//! standardised features, written out by hand.
//!
//! It sits in the predict stage beside the gradient-boosted trees of
//! [`super::model`]: the validation report scores both, so the trees must
//! earn their complexity, and training falls back to this model when there
//! are too few closed deals for trees to learn anything but noise. A missing
//! value (NaN) becomes the mean of its training column, which after
//! standardisation is zero: the feature then pushes neither way.

use serde::{Deserialize, Serialize};

use super::features::FeatureRow;
use crate::error::{Error, Result};

/// Newton iterations at most; the problem is convex and small, so a few
/// dozen always suffice.
const MAX_ITERATIONS: usize = 50;

/// A fitted logistic regression and the column statistics it standardises by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Training mean per column, ignoring missing values (0 for an all-missing
    /// column).
    pub means: Vec<f64>,
    /// Training standard deviation per column; 1 for a constant column, which
    /// then standardises to zero everywhere.
    pub scales: Vec<f64>,
    /// One weight per standardised column, in log-odds per standard deviation.
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// The L2 penalty it was fitted with.
    pub l2: f64,
}

impl LogisticModel {
    /// Fits by Newton's method (iteratively reweighted least squares); the
    /// intercept is not penalised, so the base rate is learned exactly.
    pub fn fit(rows: &[FeatureRow], labels: &[bool], width: usize, l2: f64) -> Result<Self> {
        if let Some(bad) = rows.iter().find(|r| r.values.len() != width) {
            return Err(Error::Predict(format!(
                "deal {}: {} feature values, the baseline reads {width}",
                bad.deal_id,
                bad.values.len()
            )));
        }
        let (means, scales) = column_statistics(rows, width);
        let mut model = LogisticModel {
            means,
            scales,
            weights: vec![0.0; width],
            intercept: 0.0,
            l2,
        };
        let x: Vec<Vec<f64>> = rows.iter().map(|r| model.standardise(&r.values)).collect();
        let y: Vec<f64> = labels.iter().map(|l| if *l { 1.0 } else { 0.0 }).collect();

        // Parameters: the weights, then the intercept last.
        let dim = width + 1;
        let mut theta = vec![0.0; dim];
        for _ in 0..MAX_ITERATIONS {
            let mut gradient = vec![0.0; dim];
            let mut hessian = vec![vec![0.0; dim]; dim];
            for (xi, yi) in x.iter().zip(&y) {
                let p = sigmoid(dot(&theta[..width], xi) + theta[width]);
                let w = p * (1.0 - p);
                for a in 0..dim {
                    let xa = if a < width { xi[a] } else { 1.0 };
                    gradient[a] += (p - yi) * xa;
                    for b in 0..=a {
                        let xb = if b < width { xi[b] } else { 1.0 };
                        hessian[a][b] += w * xa * xb;
                    }
                }
            }
            for a in 0..dim {
                let row = hessian[a].clone();
                for (b, value) in row.iter().enumerate().take(a) {
                    hessian[b][a] = *value;
                }
                let penalty = if a < width { l2 } else { 1e-9 };
                gradient[a] += if a < width { l2 * theta[a] } else { 0.0 };
                hessian[a][a] += penalty;
            }
            let step = solve(hessian, gradient).ok_or_else(|| {
                Error::Predict(format!(
                    "logistic baseline on {} deals: singular system",
                    rows.len()
                ))
            })?;
            let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            for (t, s) in theta.iter_mut().zip(&step) {
                *t -= s;
            }
            if largest < 1e-9 {
                break;
            }
        }
        model.intercept = theta[width];
        theta.truncate(width);
        model.weights = theta;
        Ok(model)
    }

    /// Raw scores in log-odds.
    pub fn log_odds(&self, rows: &[FeatureRow]) -> Vec<f64> {
        self.contributions(rows)
            .iter()
            .map(|c| c.iter().sum())
            .collect()
    }

    /// Per-row contributions in log-odds (weight times standardised value),
    /// one per feature and the intercept last; each row sums to the score,
    /// like the Shapley values of the trees.
    pub fn contributions(&self, rows: &[FeatureRow]) -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| {
                let x = self.standardise(&r.values);
                let mut c: Vec<f64> = x.iter().zip(&self.weights).map(|(x, w)| x * w).collect();
                c.push(self.intercept);
                c
            })
            .collect()
    }

    fn standardise(&self, values: &[f64]) -> Vec<f64> {
        values
            .iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(v, (m, s))| if v.is_nan() { 0.0 } else { (v - m) / s })
            .collect()
    }
}

fn column_statistics(rows: &[FeatureRow], width: usize) -> (Vec<f64>, Vec<f64>) {
    let mut means = vec![0.0; width];
    let mut scales = vec![1.0; width];
    for col in 0..width {
        let known: Vec<f64> = rows
            .iter()
            .map(|r| r.values[col])
            .filter(|v| !v.is_nan())
            .collect();
        if known.is_empty() {
            continue;
        }
        let mean = known.iter().sum::<f64>() / known.len() as f64;
        let variance = known.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / known.len() as f64;
        means[col] = mean;
        if variance.sqrt() > 1e-12 {
            scales[col] = variance.sqrt();
        }
    }
    (means, scales)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs()))?;
        if a[pivot][col].abs() < 1e-15 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (cell, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *cell -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: Vec<f64>) -> FeatureRow {
        FeatureRow {
            deal_id: "D".into(),
            values,
        }
    }

    #[test]
    fn solve_recovers_a_known_solution() {
        let a = vec![vec![2.0, 1.0], vec![1.0, 3.0]];
        let x = solve(a, vec![5.0, 10.0]).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 3.0).abs() < 1e-12,
            "{x:?}"
        );
    }

    #[test]
    fn the_weight_follows_the_deciding_column_and_ignores_a_constant_one() {
        let rows: Vec<FeatureRow> = (0..40).map(|i| row(vec![f64::from(i), 7.0])).collect();
        // Won above 20, with two exceptions so the data is not separable.
        let labels: Vec<bool> = (0..40).map(|i| (i >= 20) != (i == 5 || i == 30)).collect();
        let model = LogisticModel::fit(&rows, &labels, 2, 1.0).unwrap();
        assert!(model.weights[0] > 1.0, "{model:?}");
        assert_eq!(model.weights[1], 0.0);
        let scores = model.log_odds(&rows);
        assert!(scores[39] > 0.0 && scores[0] < 0.0);
    }

    #[test]
    fn a_missing_value_scores_like_the_column_mean() {
        let rows = vec![
            row(vec![0.0]),
            row(vec![1.0]),
            row(vec![2.0]),
            row(vec![3.0]),
        ];
        let model = LogisticModel::fit(&rows, &[false, true, false, true], 1, 1.0).unwrap();
        let at_mean = model.log_odds(&[row(vec![1.5])])[0];
        let missing = model.log_odds(&[row(vec![f64::NAN])])[0];
        assert!((at_mean - missing).abs() < 1e-12);
    }

    #[test]
    fn a_stronger_penalty_shrinks_the_weights() {
        let rows: Vec<FeatureRow> = (0..30).map(|i| row(vec![f64::from(i % 10)])).collect();
        let labels: Vec<bool> = (0..30).map(|i| i % 10 >= 4 && i != 12).collect();
        let loose = LogisticModel::fit(&rows, &labels, 1, 0.1).unwrap();
        let tight = LogisticModel::fit(&rows, &labels, 1, 100.0).unwrap();
        assert!(tight.weights[0].abs() < loose.weights[0].abs());
    }
}
