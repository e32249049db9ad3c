//! The nightly job's record in the store: which steps of which job are
//! done, and the registry of every win model trained.
//!
//! A nightly job is a row of `runs` (command `nightly`) plus a row of
//! `nightly_jobs` with the day it scores for. A job killed half way leaves
//! its run unfinished; the next `dealsignal nightly` for the same day picks
//! it up, skips the steps recorded here and reuses the scores it saved, so
//! the rerun writes what an uninterrupted run would have written.

use chrono::{NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};

use super::{day_text, from_json, record_error, time_text, to_json, Store};
use crate::domain::WinProbability;
use crate::error::Result;

/// The job a `dealsignal nightly` works on: new, or resumed after a kill.
#[derive(Debug, Clone, PartialEq)]
pub struct NightlyJob {
    pub run_id: i64,
    pub as_of: NaiveDate,
    /// True when an unfinished job for the same day was picked up.
    pub resumed: bool,
}

/// One entry of the model registry, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub id: i64,
    /// The nightly job that trained it.
    pub run_id: i64,
    /// RFC 3339, UTC.
    pub trained_at: String,
    pub kind: String,
    /// Hash of the training rows and labels: equal hashes, equal model.
    pub data_hash: String,
    pub metrics: serde_json::Value,
    /// The [`crate::predict::WinModel`] as JSON.
    pub model: String,
}

impl Store {
    /// The unfinished nightly job for `as_of`, or a new one. Unfinished jobs
    /// for other days are closed as abandoned: their day has passed.
    pub fn begin_nightly(&mut self, as_of: NaiveDate) -> Result<NightlyJob> {
        let unfinished: Vec<(i64, String)> = {
            let mut select = self.conn.prepare_cached(
                "SELECT j.run_id, j.as_of FROM nightly_jobs j JOIN runs r ON r.id = j.run_id
                 WHERE r.finished_at IS NULL ORDER BY j.run_id",
            )?;
            let rows = select.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let day = day_text(as_of);
        let mut resume = None;
        for (run_id, job_day) in unfinished {
            if job_day == day && resume.is_none() {
                resume = Some(run_id);
            } else {
                tracing::warn!(
                    run_id,
                    day = job_day,
                    "abandoning an unfinished nightly job"
                );
                self.finish_run(run_id, &serde_json::json!({ "abandoned": true }))?;
            }
        }
        if let Some(run_id) = resume {
            tracing::info!(run_id, "resuming the unfinished nightly job");
            return Ok(NightlyJob {
                run_id,
                as_of,
                resumed: true,
            });
        }
        let run_id = self.start_run("nightly")?;
        self.conn.execute(
            "INSERT INTO nightly_jobs (run_id, as_of) VALUES (?1, ?2)",
            params![run_id, day],
        )?;
        Ok(NightlyJob {
            run_id,
            as_of,
            resumed: false,
        })
    }

    /// The steps a job has finished, with the detail each recorded.
    pub fn nightly_steps(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        let mut select = self.conn.prepare_cached(
            "SELECT step, detail FROM nightly_steps WHERE run_id = ?1 ORDER BY finished_at",
        )?;
        let rows = select.query_map([run_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut steps = Vec::new();
        for row in rows {
            let (step, detail) = row?;
            let detail = from_json(&detail).map_err(|e| {
                record_error(
                    &self.path,
                    format!("step {step} of nightly job {run_id}"),
                    e,
                )
            })?;
            steps.push((step, detail));
        }
        Ok(steps)
    }

    /// Marks a step of a job done; recording it twice keeps the first.
    pub fn record_nightly_step(
        &mut self,
        run_id: i64,
        step: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO nightly_steps (run_id, step, finished_at, detail)
             VALUES (?1, ?2, ?3, ?4)",
            params![run_id, step, time_text(Utc::now()), detail.to_string()],
        )?;
        tracing::info!(run_id, step, "nightly step done");
        Ok(())
    }

    /// The scores one run saved, by deal id.
    pub fn scores_of_run(&self, run_id: i64) -> Result<Vec<WinProbability>> {
        self.select_scores(
            "SELECT deal_id, probability, factors, run_id FROM scores
             WHERE run_id = ?1 ORDER BY deal_id",
            run_id,
        )
    }

    /// Each deal's latest score from the runs before `run_id`: what "the
    /// last run" said, even while `run_id` is being redone.
    pub fn scores_before_run(&self, run_id: i64) -> Result<Vec<WinProbability>> {
        self.select_scores(
            "SELECT s.deal_id, s.probability, s.factors, s.run_id FROM scores s
             WHERE s.run_id = (SELECT MAX(run_id) FROM scores l
                               WHERE l.deal_id = s.deal_id AND l.run_id < ?1)
             ORDER BY s.deal_id",
            run_id,
        )
    }

    fn select_scores(&self, sql: &str, run_id: i64) -> Result<Vec<WinProbability>> {
        let mut select = self.conn.prepare_cached(sql)?;
        let rows = select.query_map([run_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, f64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })?;
        let mut scores = Vec::new();
        for row in rows {
            let (deal_id, probability, factors, run) = row?;
            let factors = from_json(&factors).map_err(|e| {
                record_error(
                    &self.path,
                    format!("score of deal {deal_id} in run {run}"),
                    e,
                )
            })?;
            scores.push(WinProbability {
                deal_id,
                probability,
                factors,
            });
        }
        Ok(scores)
    }

    /// Adds a trained model to the registry; a job registers at most one,
    /// so a resumed job does not register its model twice.
    pub fn register_model(
        &mut self,
        run_id: i64,
        kind: &str,
        data_hash: &str,
        metrics: &serde_json::Value,
        model: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO models (run_id, trained_at, kind, data_hash, metrics, model)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run_id,
                time_text(Utc::now()),
                kind,
                data_hash,
                to_json(metrics),
                model
            ],
        )?;
        Ok(())
    }

    /// Every registered model, oldest first.
    pub fn models(&self) -> Result<Vec<StoredModel>> {
        let mut select = self.conn.prepare_cached(
            "SELECT id, run_id, trained_at, kind, data_hash, metrics, model
             FROM models ORDER BY id",
        )?;
        let rows = select.query_map([], |row| {
            Ok((
                StoredModel {
                    id: row.get(0)?,
                    run_id: row.get(1)?,
                    trained_at: row.get(2)?,
                    kind: row.get(3)?,
                    data_hash: row.get(4)?,
                    metrics: serde_json::Value::Null,
                    model: row.get(6)?,
                },
                row.get::<_, String>(5)?,
            ))
        })?;
        let mut models = Vec::new();
        for row in rows {
            let (mut model, metrics) = row?;
            model.metrics = from_json(&metrics)
                .map_err(|e| record_error(&self.path, format!("model {}", model.id), e))?;
            models.push(model);
        }
        Ok(models)
    }

    /// The newest registered model, if any.
    pub fn latest_model(&self) -> Result<Option<StoredModel>> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM models", [], |row| row.get(0))
            .optional()?
            .flatten();
        let Some(id) = id else { return Ok(None) };
        Ok(self.models()?.into_iter().find(|m| m.id == id))
    }
}
