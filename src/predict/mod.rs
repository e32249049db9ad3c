//! The predict stage: turns a deal's messages, their analyses and its CRM
//! fields into a row of numbers, and those rows into a win probability.
//!
//! It runs last in the pipeline, after ingest has attributed messages to
//! deals and the NLP stage has scored them. [`features`] builds one
//! [`FeatureRow`] per deal as of a date, [`model`] trains and applies the
//! gradient-boosted [`WinModel`] (or its [`baseline`] logistic fallback),
//! [`calibrate`] makes its probabilities honest, [`validate`] measures both
//! models on a time split, [`warnings`] flags deals at risk, [`forecast`]
//! sums the probabilities into quarterly revenue, and [`describe`] puts a
//! factor in words for the people reading the forecast.

pub mod baseline;
pub mod calibrate;
pub mod describe;
pub mod features;
pub mod forecast;
pub mod model;
pub mod validate;
pub mod warnings;

pub use baseline::LogisticModel;
pub use calibrate::{Calibration, CalibrationChoice};
pub use describe::describe;
pub use features::{as_of_date, deal_features, feature_descriptions, feature_names, FeatureRow};
pub use forecast::{
    backtest, forecast_by_quarter, BacktestQuarter, ForecastConfig, Quarter, QuarterForecast,
};
pub use model::{
    auc, log_loss, train_with, ModelChoice, ModelKind, TrainConfig, TrainMetrics, WinModel,
    MIN_DEALS_PER_FEATURE,
};
pub use validate::{
    brier, reliability_table, time_split_report, time_split_report_with, ModelValidation,
    ReliabilityBin, Scores, ValidationReport,
};
pub use warnings::{deal_warnings, Severity, Warning, WarningConfig, WarningKind};
