//! Deal warnings: plain rules that flag an open deal at risk, each with a
//! sentence a sales leader can act on.
//!
//! They run in the predict stage beside the win model and read the same
//! inputs (the deal, its messages from ingest, their analyses from the NLP
//! stage) plus the win probability of this run and the last. A model says
//! how likely a win is; a warning says what to do about it. Every threshold
//! lives in [`WarningConfig`], so a team can tune them to its sales cycle.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use once_cell::sync::Lazy;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::features::customer_voice;
use crate::domain::{Analysis, Deal, Direction, Message, MessageKind, Outcome, SignalKind};

/// The thresholds of every warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WarningConfig {
    /// Days without any message before `no_activity`.
    pub no_activity_days: i64,
    /// Our mails in a row without a customer answer before `ghosted`.
    pub ghosted_mails: usize,
    /// Messages a deal needs before one contact counts as `single_threaded`.
    pub single_threaded_min_messages: usize,
    /// Deal age in days before `no_senior_contact` is raised.
    pub senior_contact_after_days: i64,
    /// Deal age in days before `pricing_never_discussed` is raised.
    pub pricing_after_days: i64,
    /// Days without a signal (and, as a proxy for the stage, of deal age)
    /// before `stalled_in_stage`.
    pub stalled_days: i64,
    /// Length of the recent window of `sentiment_cooling`.
    pub cooling_window_days: i64,
    /// Drop of mean sentiment (recent minus earlier, on -1..1) that counts
    /// as cooling; a positive number.
    pub cooling_drop: f64,
    /// Days a competitor mention stays `competitor_active`.
    pub competitor_days: i64,
    /// Drop of win probability, in percentage points, since the previous
    /// run before `probability_dropped`.
    pub probability_drop_points: f64,
}

impl Default for WarningConfig {
    fn default() -> Self {
        WarningConfig {
            no_activity_days: 14,
            ghosted_mails: 3,
            single_threaded_min_messages: 4,
            senior_contact_after_days: 30,
            pricing_after_days: 30,
            stalled_days: 45,
            cooling_window_days: 14,
            cooling_drop: 0.3,
            competitor_days: 30,
            probability_drop_points: 10.0,
        }
    }
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    NoActivity,
    Ghosted,
    SingleThreaded,
    NoSeniorContact,
    PricingNeverDiscussed,
    StalledInStage,
    CloseDatePushed,
    SentimentCooling,
    CompetitorActive,
    ProbabilityDropped,
}

/// How urgently a warning needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// One flag on one deal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub severity: Severity,
    /// A sentence for the sales leader, with the numbers behind it.
    pub message: String,
}

/// Senior titles in English, German, French and Spanish. Acronyms must be
/// upper case ("vp" in running text is rarely a title); words may be any case.
static SENIOR_TITLE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(concat!(
        r"\b(?:CEO|CFO|CTO|COO|CIO|CRO|CMO|VP|SVP|EVP)\b",
        r"|(?i:\b(?:chief|vice president|head of|director|directeur|directrice",
        r"|directora?|direktor|chef|leiter(?:in)?|geschäftsführer(?:in)?",
        r"|managing partner|president|président|presidente|founder)\b)",
    ))
    .expect("the senior-title pattern is valid")
});

/// Lines at the end of a body that are searched for a signature title.
const SIGNATURE_LINES: usize = 8;

/// The warnings of one deal as of the end of `as_of` (messages dated later
/// are not seen). Closed deals get none: there is nothing left to save.
///
/// `previous_probability` and `current_probability` are win probabilities
/// on 0..1 from the last run and this one, when known.
pub fn deal_warnings(
    deal: &Deal,
    messages: &[&Message],
    analyses: &HashMap<String, &Analysis>,
    as_of: NaiveDate,
    previous_probability: Option<f64>,
    current_probability: Option<f64>,
    config: &WarningConfig,
) -> Vec<Warning> {
    if deal.outcome != Outcome::Open {
        return Vec::new();
    }
    let end = as_of
        .succ_opt()
        .unwrap_or(as_of)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let mut known: Vec<(&Message, DateTime<Utc>)> = messages
        .iter()
        .filter_map(|m| m.date.filter(|d| *d < end).map(|d| (*m, d)))
        .collect();
    known.sort_by_key(|(_, d)| *d);
    let days_since = |d: DateTime<Utc>| (end - d).num_days();
    let age = deal.created.map(|c| (as_of - c).num_days());

    let mut out = Vec::new();
    let mut warn = |kind, severity, message: String| {
        out.push(Warning {
            kind,
            severity,
            message,
        })
    };

    // No activity: the last message of either side, or the deal's age.
    let quiet = known.last().map(|(_, d)| days_since(*d)).or(age);
    if let Some(days) = quiet.filter(|d| *d >= config.no_activity_days) {
        let severity = escalate(days, config.no_activity_days);
        warn(
            WarningKind::NoActivity,
            severity,
            format!("{}: no mail or call for {days} days.", deal.name),
        );
    }

    // Ghosted: our mails since the customer last spoke.
    let unanswered = known
        .iter()
        .rev()
        .take_while(|(m, _)| m.direction != Direction::Inbound && m.kind == MessageKind::Email)
        .filter(|(m, _)| m.direction == Direction::Outbound)
        .count();
    if unanswered >= config.ghosted_mails {
        warn(
            WarningKind::Ghosted,
            escalate(unanswered as i64, config.ghosted_mails as i64),
            format!(
                "{}: our last {unanswered} mails got no answer from the customer.",
                deal.name
            ),
        );
    }

    // Single-threaded: the customer people we are in touch with.
    let contacts = customer_contacts(deal, &known);
    if contacts.len() == 1 && known.len() >= config.single_threaded_min_messages {
        let who = contacts.iter().next().expect("one contact");
        warn(
            WarningKind::SingleThreaded,
            Severity::Medium,
            format!(
                "{}: every exchange goes through one person ({who}); if they leave or go quiet, \
                 the deal stalls.",
                deal.name
            ),
        );
    }

    // No senior contact: a title in a customer's name or signature.
    let senior = known
        .iter()
        .filter(|(m, _)| m.direction == Direction::Inbound)
        .any(|(m, _)| SENIOR_TITLE.is_match(&m.from_name) || SENIOR_TITLE.is_match(signature(m)));
    if !senior && age.is_some_and(|a| a >= config.senior_contact_after_days) {
        warn(
            WarningKind::NoSeniorContact,
            Severity::Medium,
            format!(
                "{}: after {} days no one senior (CEO, VP, head, director) at the customer \
                 has written.",
                deal.name,
                age.unwrap_or_default()
            ),
        );
    }

    let signals: Vec<(SignalKind, DateTime<Utc>)> = known
        .iter()
        .filter_map(|(m, d)| analyses.get(&m.id).map(|a| (a, *d)))
        .flat_map(|(a, d)| a.signals.iter().map(move |s| (s.kind, d)))
        .collect();

    let pricing = signals
        .iter()
        .any(|(k, _)| *k == SignalKind::PricingQuestion);
    if !pricing && age.is_some_and(|a| a >= config.pricing_after_days) {
        warn(
            WarningKind::PricingNeverDiscussed,
            Severity::Low,
            format!(
                "{}: {} days in and the customer has never asked about pricing.",
                deal.name,
                age.unwrap_or_default()
            ),
        );
    }

    // Stalled: we keep no stage history, so the deal's age stands in for the
    // time in its stage, and the last signal for the last sign of movement.
    let since_signal = signals.iter().map(|(_, d)| days_since(*d)).min().or(age);
    let stalled = since_signal.zip(age).map(|(s, a)| s.min(a));
    if let Some(days) = stalled.filter(|d| *d >= config.stalled_days) {
        warn(
            WarningKind::StalledInStage,
            escalate(days, config.stalled_days),
            format!(
                "{}: still in stage \"{}\" with no buying signal for {days} days.",
                deal.name, deal.stage
            ),
        );
    }

    if let Some(close) = deal.close_date.filter(|c| *c < as_of) {
        let overdue = (as_of - close).num_days();
        warn(
            WarningKind::CloseDatePushed,
            if overdue > 30 {
                Severity::High
            } else {
                Severity::Medium
            },
            format!(
                "{}: the expected close date {close} passed {overdue} days ago and the deal is \
                 still open; update it or find out what is blocking.",
                deal.name
            ),
        );
    }

    let cut = end - Duration::days(config.cooling_window_days);
    let mood = |recent: bool| {
        let values: Vec<f64> = known
            .iter()
            .filter(|(m, d)| customer_voice(m) && (*d >= cut) == recent)
            .filter_map(|(m, _)| analyses.get(&m.id).map(|a| f64::from(a.sentiment)))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    if let (Some(recent), Some(before)) = (mood(true), mood(false)) {
        if recent - before <= -config.cooling_drop {
            warn(
                WarningKind::SentimentCooling,
                if recent < 0.0 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!(
                    "{}: the customer's tone cooled in the last {} days ({before:+.2} to \
                     {recent:+.2}).",
                    deal.name, config.cooling_window_days
                ),
            );
        }
    }

    let competitor = signals
        .iter()
        .filter(|(k, _)| *k == SignalKind::CompetitorMention)
        .map(|(_, d)| days_since(*d))
        .min()
        .filter(|d| *d < config.competitor_days);
    if let Some(days) = competitor {
        warn(
            WarningKind::CompetitorActive,
            Severity::Medium,
            format!(
                "{}: a competitor was mentioned {}; the customer is comparing.",
                deal.name,
                match days {
                    0 => "today".to_string(),
                    1 => "yesterday".to_string(),
                    n => format!("{n} days ago"),
                }
            ),
        );
    }

    if let (Some(before), Some(now)) = (previous_probability, current_probability) {
        let drop = (before - now) * 100.0;
        if drop > config.probability_drop_points {
            warn(
                WarningKind::ProbabilityDropped,
                if drop > 2.0 * config.probability_drop_points {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!(
                    "{}: win chance fell {drop:.0} points since the last run ({:.0}% to {:.0}%).",
                    deal.name,
                    before * 100.0,
                    now * 100.0
                ),
            );
        }
    }
    out
}

/// Medium at the threshold, high at twice it.
fn escalate(value: i64, threshold: i64) -> Severity {
    if value >= 2 * threshold {
        Severity::High
    } else {
        Severity::Medium
    }
}

/// People at the customer: who wrote to us, and whom we wrote to at one of
/// the deal's contact domains.
fn customer_contacts(deal: &Deal, known: &[(&Message, DateTime<Utc>)]) -> HashSet<String> {
    let at_customer = |address: &str| {
        let domain = address.rsplit('@').next().unwrap_or_default();
        address.contains('@') && deal.contact_domains.iter().any(|d| d == domain)
    };
    let mut contacts = HashSet::new();
    for (m, _) in known {
        match m.direction {
            Direction::Inbound => {
                contacts.insert(m.from.to_lowercase());
            }
            Direction::Outbound => {
                let to = m.to.iter().chain(&m.cc).map(|a| a.to_lowercase());
                contacts.extend(to.filter(|a| at_customer(a)));
            }
            Direction::Internal => {}
        }
    }
    contacts
}

/// The signature block: what the body holds after the new text, or else
/// its last few lines that are not quoted.
fn signature(message: &Message) -> &str {
    let body = message.body.as_str();
    let new_text = message.new_text.trim();
    if !new_text.is_empty() {
        if let Some(at) = body.find(new_text) {
            let rest = &body[at + new_text.len()..];
            let end = rest.find("\n>").unwrap_or(rest.len());
            return &rest[..end];
        }
    }
    let unquoted_end = body.find("\n>").unwrap_or(body.len());
    let head = &body[..unquoted_end];
    let start = head
        .rmatch_indices('\n')
        .nth(SIGNATURE_LINES - 1)
        .map_or(0, |(i, _)| i);
    &head[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senior_titles_are_found_in_several_languages_but_not_in_prose() {
        for title in [
            "Jane Doe, CFO",
            "VP Sales",
            "Head of Procurement",
            "Leiterin Einkauf",
            "Directeur financier",
            "Chef de projet",
        ] {
            assert!(SENIOR_TITLE.is_match(title), "{title}");
        }
        for prose in [
            "we will head over later",
            "Best regards, Ann",
            "the vp of it",
        ] {
            assert!(!SENIOR_TITLE.is_match(prose), "{prose}");
        }
    }

    #[test]
    fn escalation_doubles() {
        assert_eq!(escalate(14, 14), Severity::Medium);
        assert_eq!(escalate(28, 14), Severity::High);
    }
}
