//! The nightly job's files: enriched deals as CSV, JSON lines and Parquet,
//! and a warnings report, each written whole to a temporary file in the same
//! folder and renamed into place.
//!
//! This is the last step of the nightly job. A rename within one folder
//! replaces the old file in one move, so a job killed while writing leaves
//! either yesterday's complete file or today's, never half of one. The
//! files carry no wall-clock time: a job that is killed and rerun writes the
//! same bytes as one that ran through.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::error::{Error, Result};
use crate::pipeline::{write_csv, EnrichedDeal};

/// Writes `path` through `write`, which is given a temporary path beside it.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp: PathBuf = path.with_file_name(format!(".{name}.tmp"));
    write(&temp)?;
    std::fs::rename(&temp, path).map_err(|e| Error::io(path, e))
}

/// `out/deals.csv`: one row per deal, as `dealsignal run` writes it.
pub fn deals_csv(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    write_atomically(path, |temp| write_csv(temp, deals))
}

/// `out/deals.jsonl`: one JSON object per deal and line, for CRM imports
/// that stream records.
pub fn deals_jsonl(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    let mut text = String::new();
    for deal in deals {
        text.push_str(&serde_json::to_string(deal).expect("deal records serialise"));
        text.push('\n');
    }
    write_atomically(path, |temp| {
        std::fs::write(temp, text).map_err(|e| Error::io(temp, e))
    })
}

/// `out/warnings.csv`: every warning of every open deal, most severe first,
/// with the deal's recommended next action.
pub fn warnings_csv(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    let mut rows: Vec<(&EnrichedDeal, &crate::predict::Warning)> = deals
        .iter()
        .flat_map(|d| d.warnings.iter().map(move |w| (d, w)))
        .collect();
    rows.sort_by(|a, b| b.1.severity.cmp(&a.1.severity).then(a.0.id.cmp(&b.0.id)));
    write_atomically(path, |temp| {
        let to_err = |e: csv::Error| Error::bad_input(temp, e.to_string());
        let mut writer = csv::Writer::from_path(temp).map_err(to_err)?;
        writer
            .write_record([
                "deal",
                "account",
                "owner",
                "severity",
                "warning",
                "message",
                "next_action",
            ])
            .map_err(to_err)?;
        for (deal, warning) in rows {
            let name = |v: &dyn erased::Named| v.name();
            writer
                .write_record([
                    deal.id.as_str(),
                    deal.account.as_str(),
                    deal.owner.as_str(),
                    &name(&warning.severity),
                    &name(&warning.kind),
                    warning.message.as_str(),
                    deal.next_action.as_str(),
                ])
                .map_err(to_err)?;
        }
        writer.flush().map_err(|e| Error::io(temp, e))
    })
}

mod erased {
    /// The serde name of a unit enum value ("high", "ghosted").
    pub trait Named {
        fn name(&self) -> String;
    }

    impl<T: serde::Serialize> Named for T {
        fn name(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(name)) => name,
                _ => String::new(),
            }
        }
    }
}

/// The Parquet schema of `out/deals.parquet`: the CSV's columns with their
/// types; lists (signals, factors, warnings) are joined into text as in the
/// CSV.
const PARQUET_SCHEMA: &str = "message deal {
    REQUIRED BYTE_ARRAY id (UTF8);
    REQUIRED BYTE_ARRAY name (UTF8);
    REQUIRED BYTE_ARRAY account (UTF8);
    REQUIRED BYTE_ARRAY owner (UTF8);
    REQUIRED BYTE_ARRAY stage (UTF8);
    OPTIONAL DOUBLE amount;
    REQUIRED BYTE_ARRAY outcome (UTF8);
    OPTIONAL DOUBLE win_probability;
    REQUIRED INT64 messages;
    OPTIONAL BYTE_ARRAY last_contact (UTF8);
    OPTIONAL BYTE_ARRAY last_customer_contact (UTF8);
    OPTIONAL DOUBLE sentiment_mean;
    OPTIONAL DOUBLE sentiment_trend_per_30d;
    REQUIRED BYTE_ARRAY signals (UTF8);
    REQUIRED BYTE_ARRAY factors (UTF8);
    REQUIRED BYTE_ARRAY warnings (UTF8);
    REQUIRED BYTE_ARRAY next_action (UTF8);
}";

/// One column's values, with `None` for a missing optional value.
enum Column {
    Text(Vec<Option<String>>),
    Double(Vec<Option<f64>>),
    Int(Vec<i64>),
}

fn parquet_columns(deals: &[EnrichedDeal]) -> Vec<Column> {
    let text = |f: &dyn Fn(&EnrichedDeal) -> String| {
        Column::Text(deals.iter().map(|d| Some(f(d))).collect())
    };
    let optional_text =
        |f: &dyn Fn(&EnrichedDeal) -> Option<String>| Column::Text(deals.iter().map(f).collect());
    let double =
        |f: &dyn Fn(&EnrichedDeal) -> Option<f64>| Column::Double(deals.iter().map(f).collect());
    vec![
        text(&|d| d.id.clone()),
        text(&|d| d.name.clone()),
        text(&|d| d.account.clone()),
        text(&|d| d.owner.clone()),
        text(&|d| d.stage.clone()),
        double(&|d| d.amount),
        text(&|d| d.outcome.as_str().to_string()),
        double(&|d| d.win_probability),
        Column::Int(deals.iter().map(|d| d.messages as i64).collect()),
        optional_text(&|d| d.last_contact.map(|t| t.to_rfc3339())),
        optional_text(&|d| d.last_customer_contact.map(|t| t.to_rfc3339())),
        double(&|d| d.sentiment_mean.map(f64::from)),
        double(&|d| d.sentiment_trend),
        text(&|d| {
            let counts: Vec<String> = d
                .signal_counts
                .iter()
                .map(|(k, n)| format!("{k}:{n}"))
                .collect();
            counts.join(";")
        }),
        text(&|d| d.factors.join("; ")),
        text(&|d| {
            let messages: Vec<&str> = d.warnings.iter().map(|w| w.message.as_str()).collect();
            messages.join("; ")
        }),
        text(&|d| d.next_action.clone()),
    ]
}

/// `out/deals.parquet`: the enriched deals in one uncompressed row group,
/// for analytics tools that read Parquet.
pub fn deals_parquet(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    write_atomically(path, |temp| write_parquet(temp, deals))
}

fn write_parquet(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    let to_err = |e: parquet::errors::ParquetError| Error::bad_input(path, e.to_string());
    let schema = Arc::new(parse_message_type(PARQUET_SCHEMA).map_err(to_err)?);
    let properties = Arc::new(WriterProperties::builder().build());
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut writer = SerializedFileWriter::new(file, schema, properties).map_err(to_err)?;
    let mut group = writer.next_row_group().map_err(to_err)?;
    for column in parquet_columns(deals) {
        let mut out = group
            .next_column()
            .map_err(to_err)?
            .ok_or_else(|| Error::bad_input(path, "parquet schema has fewer columns"))?;
        match column {
            Column::Text(values) => {
                let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                let present: Vec<ByteArray> = values
                    .into_iter()
                    .flatten()
                    .map(|v| ByteArray::from(v.into_bytes()))
                    .collect();
                out.typed::<ByteArrayType>()
                    .write_batch(&present, Some(&levels), None)
                    .map_err(to_err)?;
            }
            Column::Double(values) => {
                let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                let present: Vec<f64> = values.into_iter().flatten().collect();
                out.typed::<DoubleType>()
                    .write_batch(&present, Some(&levels), None)
                    .map_err(to_err)?;
            }
            Column::Int(values) => {
                out.typed::<Int64Type>()
                    .write_batch(&values, None, None)
                    .map_err(to_err)?;
            }
        }
        out.close().map_err(to_err)?;
    }
    group.close().map_err(to_err)?;
    writer.close().map_err(to_err)?;
    Ok(())
}
