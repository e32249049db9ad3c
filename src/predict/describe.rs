//! Factors in words: turns a feature name and its value into a short
//! sentence a sales leader can read next to a win probability.
//!
//! The predict stage names each factor behind a forecast by its feature;
//! the report and the CLI call [`describe`] to show it.

use super::features::{feature_descriptions, feature_names};

/// Says what a feature value means for the deal, e.g.
/// "customer has not written for 19 days".
///
/// Missing values say so instead of printing NaN. Features this module does
/// not know (a model trained on other columns) fall back to `name = value`.
pub fn describe(feature: &str, value: f64) -> String {
    if value.is_nan() {
        return match description_of(feature) {
            Some(description) => format!("not known yet: {description}"),
            None => format!("{feature} is not known"),
        };
    }
    let n = value.round() as i64;
    let count = |one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            many.to_string()
        }
    };
    match feature {
        "inbound_messages" => format!("customer sent {n} {}", count("message", "messages")),
        "outbound_messages" => format!("we sent {n} {}", count("message", "messages")),
        "messages_per_week" => format!("{value:.1} messages per week"),
        "days_since_customer_wrote" if n == 0 => "customer wrote today".to_string(),
        "days_since_customer_wrote" => {
            format!("customer has not written for {n} {}", count("day", "days"))
        }
        "customer_reply_hours" => format!("customer answers in {} typically", hours(value)),
        "our_reply_hours" => format!("we answer in {} typically", hours(value)),
        "customer_senders" => format!("{n} {} at the customer wrote", count("person", "people")),
        "calls" => format!("{n} {} held", count("call", "calls")),
        "sentiment_mean" => format!("customer mood is {} ({value:+.2})", mood(value)),
        "sentiment_slope" => {
            let per_month = value * 30.0;
            let trend = if per_month > 0.05 {
                "improving"
            } else if per_month < -0.05 {
                "getting worse"
            } else {
                "steady"
            };
            format!("customer mood is {trend} ({per_month:+.2} per month)")
        }
        "sentiment_recent_shift" => {
            let way = if value >= 0.0 { "warmer" } else { "cooler" };
            format!("customer is {way} in the last 14 days ({value:+.2})")
        }
        "positive_signals" => format!("{n} positive buying {}", count("signal", "signals")),
        "negative_signals" => format!("{n} negative buying {}", count("signal", "signals")),
        "signal_budget_approved" => format!("budget approved mentioned {}", times(n)),
        "signal_no_budget" => format!("no budget mentioned {}", times(n)),
        "signal_competitor_mention" => format!("competitor mentioned {}", times(n)),
        "signal_delay" => format!("delay mentioned {}", times(n)),
        "signal_contract_step" => format!("contract step mentioned {}", times(n)),
        "signal_decision_timeline" => format!("decision date mentioned {}", times(n)),
        "log_amount" => format!("deal amount about {:.0}", value.exp_m1()),
        "deal_age_days" => format!("deal is {n} {} old", count("day", "days")),
        _ => format!("{feature} = {value}"),
    }
}

fn description_of(feature: &str) -> Option<&'static str> {
    let i = feature_names().iter().position(|n| *n == feature)?;
    feature_descriptions().get(i).copied()
}

fn hours(value: f64) -> String {
    if value < 48.0 {
        format!("{value:.0} hours")
    } else {
        format!("{:.0} days", value / 24.0)
    }
}

fn times(n: i64) -> String {
    match n {
        0 => "never".to_string(),
        1 => "once".to_string(),
        _ => format!("{n} times"),
    }
}

fn mood(value: f64) -> &'static str {
    if value > 0.2 {
        "positive"
    } else if value < -0.2 {
        "negative"
    } else {
        "neutral"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_reads_as_days_without_a_message() {
        assert_eq!(
            describe("days_since_customer_wrote", 19.0),
            "customer has not written for 19 days"
        );
        assert_eq!(
            describe("days_since_customer_wrote", 1.0),
            "customer has not written for 1 day"
        );
    }

    #[test]
    fn every_known_feature_has_its_own_sentence() {
        for name in feature_names() {
            let text = describe(name, 2.0);
            assert!(!text.contains(" = "), "{name} falls back to {text:?}");
        }
    }

    #[test]
    fn missing_value_is_said_in_words() {
        let text = describe("customer_reply_hours", f64::NAN);
        assert!(text.contains("median hours the customer took"), "{text}");
        assert!(!text.contains("NaN"));
    }

    #[test]
    fn unknown_feature_falls_back_to_name_and_value() {
        assert_eq!(describe("sector_code", 3.0), "sector_code = 3");
    }
}
