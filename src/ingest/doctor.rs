//! Checks the CRM deal export before anything is forecast from it (ingest
//! stage, used by `dealsignal doctor deals.csv`).
//!
//! A forecast is only as good as the pipeline data under it, so this lists
//! what a sales-ops person would fix first: rows that cannot be read,
//! missing or absurd amounts, open deals whose close date has passed, the
//! same account typed several ways, open deals nobody moved for months, and
//! how many rows fill each field.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

use super::deals::DealsFile;
use crate::domain::{Deal, Outcome};

/// Thresholds of the checks.
#[derive(Debug, Clone)]
pub struct DoctorConfig {
    /// The day "past" and "stale" are measured from.
    pub today: NaiveDate,
    /// An open deal created longer ago than this is stale.
    pub stale_days: i64,
    /// Amounts above this are more likely typos than deals.
    pub max_amount: f64,
}

impl DoctorConfig {
    pub fn new(today: NaiveDate) -> Self {
        DoctorConfig {
            today,
            stale_days: 180,
            max_amount: 100_000_000.0,
        }
    }
}

/// What the checks found; `Display` prints it as a report.
#[derive(Debug, Default)]
pub struct DoctorReport {
    pub deals: usize,
    pub open: usize,
    /// One line per unreadable row.
    pub row_errors: Vec<String>,
    pub missing_amount: Vec<String>,
    /// Deal id and amount: zero, negative or above the maximum.
    pub absurd_amount: Vec<(String, f64)>,
    /// Open deals whose close date lies before `today`.
    pub close_date_past: Vec<(String, NaiveDate)>,
    /// Normalised account name and the spellings and deal ids found for it.
    pub duplicate_accounts: Vec<(String, Vec<String>)>,
    /// Open deals older than `stale_days`, with their age in days.
    pub stale: Vec<(String, i64)>,
    /// Field name and the share of rows (0..1) that fill it.
    pub filled: Vec<(&'static str, f64)>,
}

/// Runs every check on a read deals file.
pub fn doctor(file: &DealsFile, config: &DoctorConfig) -> DoctorReport {
    let deals = &file.deals;
    let mut report = DoctorReport {
        deals: deals.len(),
        open: deals.iter().filter(|d| d.outcome == Outcome::Open).count(),
        row_errors: file.errors.iter().map(|e| e.to_string()).collect(),
        ..DoctorReport::default()
    };

    for deal in deals {
        match deal.amount {
            None => report.missing_amount.push(deal.id.clone()),
            Some(a) if a <= 0.0 || a > config.max_amount || !a.is_finite() => {
                report.absurd_amount.push((deal.id.clone(), a))
            }
            Some(_) => {}
        }
        if deal.outcome != Outcome::Open {
            continue;
        }
        if let Some(close) = deal.close_date.filter(|c| *c < config.today) {
            report.close_date_past.push((deal.id.clone(), close));
        }
        if let Some(created) = deal.created {
            let age = (config.today - created).num_days();
            if age > config.stale_days {
                report.stale.push((deal.id.clone(), age));
            }
        }
    }

    let mut accounts: BTreeMap<String, Vec<&Deal>> = BTreeMap::new();
    for deal in deals.iter().filter(|d| !d.account.trim().is_empty()) {
        accounts
            .entry(account_key(&deal.account))
            .or_default()
            .push(deal);
    }
    for (key, group) in accounts {
        let mut spellings: Vec<&str> = group.iter().map(|d| d.account.trim()).collect();
        spellings.sort_unstable();
        spellings.dedup();
        if spellings.len() > 1 {
            let ids: Vec<&str> = group.iter().map(|d| d.id.as_str()).collect();
            let described = format!("{} (deals {})", spellings.join(" | "), ids.join(", "));
            report.duplicate_accounts.push((key, vec![described]));
        }
    }

    let share = |f: &dyn Fn(&Deal) -> bool| {
        if deals.is_empty() {
            0.0
        } else {
            deals.iter().filter(|d| f(d)).count() as f64 / deals.len() as f64
        }
    };
    report.filled = vec![
        ("name", share(&|d| !d.name.is_empty())),
        ("account", share(&|d| !d.account.is_empty())),
        ("contact_domains", share(&|d| !d.contact_domains.is_empty())),
        ("owner", share(&|d| !d.owner.is_empty())),
        ("stage", share(&|d| !d.stage.is_empty())),
        ("amount", share(&|d| d.amount.is_some())),
        ("created", share(&|d| d.created.is_some())),
        ("close_date", share(&|d| d.close_date.is_some())),
    ];
    report
}

/// Lower case, letters and digits only, legal-form words dropped: "ACME
/// Inc.", "Acme, Inc" and "acme" are one account.
fn account_key(account: &str) -> String {
    const FORMS: [&str; 12] = [
        "inc",
        "incorporated",
        "ltd",
        "llc",
        "gmbh",
        "ab",
        "as",
        "sa",
        "corp",
        "co",
        "plc",
        "ag",
    ];
    account
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !FORMS.contains(&w.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "deals: {} ({} open)", self.deals, self.open)?;
        let list = |f: &mut fmt::Formatter<'_>, title: &str, items: Vec<String>| {
            writeln!(f, "{title}: {}", items.len())?;
            for item in items.iter().take(20) {
                writeln!(f, "  {item}")?;
            }
            if items.len() > 20 {
                writeln!(f, "  ... and {} more", items.len() - 20)?;
            }
            Ok(())
        };
        list(f, "unreadable rows", self.row_errors.clone())?;
        list(f, "missing amount", self.missing_amount.clone())?;
        let absurd = self
            .absurd_amount
            .iter()
            .map(|(id, a)| format!("{id}: {a}"));
        list(f, "absurd amount (<= 0 or huge)", absurd.collect())?;
        let past = self
            .close_date_past
            .iter()
            .map(|(id, d)| format!("{id}: closes {d}"));
        list(f, "open deals with close date in the past", past.collect())?;
        let dups = self
            .duplicate_accounts
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.join("; ")));
        list(f, "accounts spelled several ways", dups.collect())?;
        let stale = self
            .stale
            .iter()
            .map(|(id, age)| format!("{id}: open for {age} days"));
        list(f, "stale open deals", stale.collect())?;
        writeln!(f, "fields filled:")?;
        for (field, share) in &self.filled {
            writeln!(f, "  {field:<16} {:>5.1}%", share * 100.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(id: &str, account: &str, amount: Option<f64>, created: &str, close: &str) -> Deal {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        Deal {
            id: id.into(),
            name: id.into(),
            account: account.into(),
            contact_domains: vec![],
            owner: "anna".into(),
            stage: "Proposal".into(),
            amount,
            created: day(created),
            close_date: day(close),
            outcome: Outcome::Open,
        }
    }

    #[test]
    fn each_check_finds_its_problem_and_only_that() {
        let file = DealsFile {
            deals: vec![
                deal("D-1", "Acme Inc.", Some(5000.0), "2026-01-10", "2026-06-30"),
                deal("D-2", "ACME, inc", None, "2026-02-01", "2026-04-30"),
                deal("D-3", "Globex", Some(-5.0), "2025-01-01", "2026-02-01"),
                deal("D-4", "Initech", Some(1e12), "", ""),
            ],
            errors: vec![],
        };
        let today = NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
        let report = doctor(&file, &DoctorConfig::new(today));
        assert_eq!(report.missing_amount, ["D-2"]);
        let absurd: Vec<&str> = report
            .absurd_amount
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(absurd, ["D-3", "D-4"]);
        assert_eq!(report.close_date_past.len(), 1);
        assert_eq!(report.close_date_past[0].0, "D-3");
        assert_eq!(report.duplicate_accounts.len(), 1);
        assert_eq!(report.duplicate_accounts[0].0, "acme");
        assert_eq!(report.stale, [("D-3".to_string(), 443)]);
        let amount = report
            .filled
            .iter()
            .find(|(f, _)| *f == "amount")
            .unwrap()
            .1;
        assert!((amount - 0.75).abs() < 1e-9);
        let text = report.to_string();
        assert!(
            text.contains("open deals with close date in the past: 1"),
            "{text}"
        );
    }
}
