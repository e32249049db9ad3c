//! One recommended next action per open deal, chosen from its warnings and
//! the factors of its win probability.
//!
//! It runs at the end of enrichment, after the predict stage has produced
//! warnings and factors: the most urgent warning decides the action; without
//! warnings the factor that holds the deal back most does; a deal with
//! neither is told to keep its pace.

use crate::predict::{Warning, WarningKind};

/// The action for a deal, as one sentence for its owner.
///
/// `factors` are the described factors of the win probability with their
/// signed contribution (negative = against a win).
pub fn next_action(warnings: &[Warning], factors: &[(String, f64)]) -> String {
    // The first of the most severe warnings: the warning rules list the most
    // telling problem first.
    let most_urgent = warnings
        .iter()
        .rev()
        .max_by_key(|w| w.severity)
        .map(|w| w.kind);
    if let Some(kind) = most_urgent {
        return action_for(kind).to_string();
    }
    let weakest = factors
        .iter()
        .filter(|(_, weight)| *weight < 0.0)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match weakest {
        Some((factor, _)) => format!("Work on what holds the deal back most: {factor}."),
        None => "Keep the pace: confirm the next meeting and the close date.".to_string(),
    }
}

fn action_for(kind: WarningKind) -> &'static str {
    match kind {
        WarningKind::NoActivity => {
            "Call the customer this week with a concrete next step; the deal has gone quiet."
        }
        WarningKind::Ghosted => {
            "Stop mailing and phone the contact, or reach a second person, to learn why \
             they went silent."
        }
        WarningKind::SingleThreaded => {
            "Ask your contact to bring a second stakeholder, ideally the budget owner, \
             into the next meeting."
        }
        WarningKind::NoSeniorContact => {
            "Get a meeting with a senior decision maker before sending the proposal."
        }
        WarningKind::PricingNeverDiscussed => "Put pricing on the table in the next conversation.",
        WarningKind::StalledInStage => {
            "Agree a dated plan with the customer for the steps to signature."
        }
        WarningKind::CloseDatePushed => {
            "Confirm the close date and what stands between it and a signature."
        }
        WarningKind::SentimentCooling => {
            "Ask the customer openly about their concerns; the tone of their mails has cooled."
        }
        WarningKind::CompetitorActive => {
            "Send a side-by-side comparison and a reference customer to answer the competitor."
        }
        WarningKind::ProbabilityDropped => {
            "Review with the owner what changed since the last run; the win chance fell."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::Severity;

    fn warning(kind: WarningKind, severity: Severity) -> Warning {
        Warning {
            kind,
            severity,
            message: String::new(),
        }
    }

    #[test]
    fn the_most_severe_warning_decides_the_action() {
        let warnings = [
            warning(WarningKind::PricingNeverDiscussed, Severity::Low),
            warning(WarningKind::Ghosted, Severity::High),
            warning(WarningKind::CompetitorActive, Severity::High),
        ];
        let action = next_action(&warnings, &[]);
        assert_eq!(action, action_for(WarningKind::Ghosted));
    }

    #[test]
    fn without_warnings_the_most_negative_factor_decides() {
        let factors = [
            ("customer wrote 2 days ago".to_string(), 0.4),
            ("no reply for 19 days".to_string(), -0.8),
            ("small deal".to_string(), -0.1),
        ];
        let action = next_action(&[], &factors);
        assert!(action.contains("no reply for 19 days"), "{action}");
        assert!(next_action(&[], &factors[..1]).starts_with("Keep the pace"));
    }
}
