//! Deal features: one row of numbers per deal, as the deal stood on a date.
//!
//! This is the first half of the predict stage. It reads the deal's messages
//! (from ingest), their sentiment and signals (from the NLP stage) and the
//! CRM fields, and never anything dated after `as_of`, so that a model
//! trained on closed deals sees what a forecaster would have seen on the day.
//! Values that cannot be known (no customer reply yet, no amount in the CRM)
//! are NaN, which the gradient-boosted model treats as missing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::{Analysis, Deal, Direction, Message, MessageKind, Outcome, SignalKind};

/// One named feature and what it means, for reports and factor sentences.
struct Feature {
    name: &'static str,
    description: &'static str,
}

/// Length of the "recent" window for the sentiment shift feature.
const RECENT_DAYS: i64 = 14;

/// The signals important enough to get a column of their own, besides the
/// positive and negative totals.
const KEY_SIGNALS: [SignalKind; 6] = [
    SignalKind::BudgetApproved,
    SignalKind::NoBudget,
    SignalKind::CompetitorMention,
    SignalKind::Delay,
    SignalKind::ContractStep,
    SignalKind::DecisionTimeline,
];

/// The features, in column order. [`DealStats::into_values`] fills them in
/// the same order; a unit test checks the two agree.
const FEATURES: [Feature; 21] = [
    feature("inbound_messages", "messages the customer sent us"),
    feature("outbound_messages", "messages we sent the customer"),
    feature("messages_per_week", "messages per week with the customer"),
    feature(
        "days_since_customer_wrote",
        "days since the customer last wrote",
    ),
    feature(
        "customer_reply_hours",
        "median hours the customer took to answer us",
    ),
    feature(
        "our_reply_hours",
        "median hours we took to answer the customer",
    ),
    feature(
        "customer_senders",
        "distinct people at the customer who wrote",
    ),
    feature("calls", "calls held"),
    feature(
        "sentiment_mean",
        "mean sentiment of the customer, from -1 to 1",
    ),
    feature("sentiment_slope", "change of customer sentiment per day"),
    feature(
        "sentiment_recent_shift",
        "customer sentiment of the last 14 days minus before",
    ),
    feature(
        "positive_signals",
        "buying signals that point towards a win",
    ),
    feature(
        "negative_signals",
        "buying signals that point towards a loss",
    ),
    feature(
        "signal_budget_approved",
        "times the customer said budget is approved",
    ),
    feature(
        "signal_no_budget",
        "times the customer said there is no budget",
    ),
    feature(
        "signal_competitor_mention",
        "times a competitor was mentioned",
    ),
    feature("signal_delay", "times the customer pushed the deal back"),
    feature("signal_contract_step", "contract steps mentioned"),
    feature(
        "signal_decision_timeline",
        "times a decision date was mentioned",
    ),
    feature("log_amount", "deal amount (natural log of 1 + amount)"),
    feature("deal_age_days", "days since the deal was created"),
];

const fn feature(name: &'static str, description: &'static str) -> Feature {
    Feature { name, description }
}

const fn column<const N: usize>(features: &[Feature; N], names: bool) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = if names {
            features[i].name
        } else {
            features[i].description
        };
        i += 1;
    }
    out
}

static NAMES: [&str; FEATURES.len()] = column(&FEATURES, true);
static DESCRIPTIONS: [&str; FEATURES.len()] = column(&FEATURES, false);

/// The features of one deal, in the order of [`feature_names`].
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    pub deal_id: String,
    pub values: Vec<f64>,
}

/// Column names of every [`FeatureRow`], stable across runs so that a saved
/// model can be checked against the rows it is given.
pub fn feature_names() -> &'static [&'static str] {
    &NAMES
}

/// One sentence per feature, in the order of [`feature_names`], for reports.
pub fn feature_descriptions() -> &'static [&'static str] {
    &DESCRIPTIONS
}

/// The date a deal's features should be taken at.
///
/// A closed deal is seen as it stood when it closed (its close date, or its
/// last dated message when the CRM has none), so training never sees the
/// aftermath of the outcome; an open deal is seen today.
pub fn as_of_date(deal: &Deal, messages: &[&Message], today: NaiveDate) -> NaiveDate {
    if deal.outcome == Outcome::Open {
        return today;
    }
    deal.close_date
        .or_else(|| {
            messages
                .iter()
                .filter_map(|m| m.date)
                .max()
                .map(|d| d.date_naive())
        })
        .unwrap_or(today)
}

/// Builds the feature row of `deal` from what was known at the end of
/// `as_of` (UTC). Messages dated later, or not dated at all, are left out.
///
/// `analyses` maps a message id to what the NLP stage found in it; messages
/// without an analysis count for activity but not for sentiment or signals.
pub fn deal_features(
    deal: &Deal,
    messages: &[&Message],
    analyses: &HashMap<String, &Analysis>,
    as_of: NaiveDate,
) -> FeatureRow {
    let end = end_of_day(as_of);
    let mut known: Vec<(&Message, DateTime<Utc>)> = Vec::with_capacity(messages.len());
    for message in messages {
        match message.date {
            Some(date) if date < end => known.push((message, date)),
            Some(_) => {}
            None => tracing::warn!(
                deal = %deal.id,
                message = %message.id,
                source = %message.source,
                "message has no date, left out of the deal's features"
            ),
        }
    }
    known.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.id.cmp(&b.0.id)));

    let stats = DealStats::collect(deal, &known, analyses, end);
    FeatureRow {
        deal_id: deal.id.clone(),
        values: stats.into_values(),
    }
}

/// The first instant after `day`, the exclusive end of what may be seen.
fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0)
        .expect("midnight exists on every date")
        .and_utc()
}

/// Whether a message carries the customer's voice: what they wrote, or a
/// call with them (whose notes record what they said).
pub fn customer_voice(message: &Message) -> bool {
    !message.auto && (message.direction == Direction::Inbound || message.kind == MessageKind::Call)
}

/// The named intermediate values behind a feature row.
struct DealStats {
    inbound: f64,
    outbound: f64,
    per_week: f64,
    days_since_customer: f64,
    customer_reply_hours: f64,
    our_reply_hours: f64,
    customer_senders: f64,
    calls: f64,
    sentiment_mean: f64,
    sentiment_slope: f64,
    sentiment_shift: f64,
    positive: f64,
    negative: f64,
    key_signals: [f64; KEY_SIGNALS.len()],
    log_amount: f64,
    age_days: f64,
}

impl DealStats {
    fn collect(
        deal: &Deal,
        known: &[(&Message, DateTime<Utc>)],
        analyses: &HashMap<String, &Analysis>,
        end: DateTime<Utc>,
    ) -> DealStats {
        let is_in = |m: &Message| m.direction == Direction::Inbound;
        let is_out = |m: &Message| m.direction == Direction::Outbound;
        let inbound = known.iter().filter(|(m, _)| is_in(m)).count();
        let outbound = known.iter().filter(|(m, _)| is_out(m)).count();
        let calls = known
            .iter()
            .filter(|(m, _)| m.kind == MessageKind::Call)
            .count();
        let senders: HashSet<&str> = known
            .iter()
            .filter(|(m, _)| is_in(m))
            .map(|(m, _)| m.from.as_str())
            .collect();

        let days_since_customer = known
            .iter()
            .rev()
            .find(|(m, _)| is_in(m))
            .map_or(f64::NAN, |(_, date)| days_between(*date, end).floor());

        let (customer_reply_hours, our_reply_hours) = reply_latencies(known);

        let voice: Vec<(DateTime<Utc>, &Analysis)> = known
            .iter()
            .filter(|(m, _)| customer_voice(m))
            .filter_map(|(m, date)| analyses.get(&m.id).map(|a| (*date, *a)))
            .collect();
        let (positive, negative, key_signals) = signal_counts(&voice);

        let as_of = end - Duration::days(1);
        let start = deal
            .created
            .map(|d| end_of_day(d) - Duration::days(1))
            .or_else(|| known.first().map(|(_, date)| *date));
        let per_week = match start {
            Some(start) if !known.is_empty() => {
                let span = days_between(start, end).max(7.0);
                known.len() as f64 * 7.0 / span
            }
            _ => 0.0,
        };

        DealStats {
            inbound: inbound as f64,
            outbound: outbound as f64,
            per_week,
            days_since_customer,
            customer_reply_hours,
            our_reply_hours,
            customer_senders: senders.len() as f64,
            calls: calls as f64,
            sentiment_mean: mean(voice.iter().map(|(_, a)| f64::from(a.sentiment))),
            sentiment_slope: sentiment_slope(&voice),
            sentiment_shift: sentiment_shift(&voice, end),
            positive,
            negative,
            key_signals,
            log_amount: deal.amount.map_or(f64::NAN, |a| a.max(0.0).ln_1p()),
            age_days: deal.created.map_or(f64::NAN, |created| {
                (as_of.date_naive() - created).num_days() as f64
            }),
        }
    }

    fn into_values(self) -> Vec<f64> {
        let mut values = vec![
            self.inbound,
            self.outbound,
            self.per_week,
            self.days_since_customer,
            self.customer_reply_hours,
            self.our_reply_hours,
            self.customer_senders,
            self.calls,
            self.sentiment_mean,
            self.sentiment_slope,
            self.sentiment_shift,
            self.positive,
            self.negative,
        ];
        values.extend(self.key_signals);
        values.push(self.log_amount);
        values.push(self.age_days);
        values
    }
}

fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Median hours the customer took to answer us, and we to answer them.
///
/// Mails are walked in date order; a turn starts with the first mail of one
/// side after the other side wrote, and its latency runs from that side's
/// first unanswered mail. Calls are left out: they are answered on the spot.
fn reply_latencies(known: &[(&Message, DateTime<Utc>)]) -> (f64, f64) {
    let mut customer = Vec::new();
    let mut ours = Vec::new();
    let mut waiting: Option<(Direction, DateTime<Utc>)> = None;
    let mails = known
        .iter()
        .filter(|(m, _)| m.kind == MessageKind::Email && m.direction != Direction::Internal);
    for (message, date) in mails {
        match waiting {
            Some((side, since)) if side != message.direction => {
                let hours = (*date - since).num_seconds() as f64 / 3600.0;
                if message.direction == Direction::Inbound {
                    customer.push(hours);
                } else {
                    ours.push(hours);
                }
                waiting = Some((message.direction, *date));
            }
            Some(_) => {}
            None => waiting = Some((message.direction, *date)),
        }
    }
    (median(customer), median(ours))
}

fn signal_counts(voice: &[(DateTime<Utc>, &Analysis)]) -> (f64, f64, [f64; KEY_SIGNALS.len()]) {
    let mut positive = 0.0;
    let mut negative = 0.0;
    let mut key = [0.0; KEY_SIGNALS.len()];
    for signal in voice.iter().flat_map(|(_, a)| &a.signals) {
        if signal.kind.is_positive() {
            positive += 1.0;
        } else {
            negative += 1.0;
        }
        if let Some(i) = KEY_SIGNALS.iter().position(|k| *k == signal.kind) {
            key[i] += 1.0;
        }
    }
    (positive, negative, key)
}

/// Least-squares slope of sentiment against time, per day. NaN with fewer
/// than two messages or when they all share one instant.
fn sentiment_slope(voice: &[(DateTime<Utc>, &Analysis)]) -> f64 {
    let Some((first, _)) = voice.first() else {
        return f64::NAN;
    };
    let points: Vec<(f64, f64)> = voice
        .iter()
        .map(|(date, a)| (days_between(*first, *date), f64::from(a.sentiment)))
        .collect();
    let mx = mean(points.iter().map(|p| p.0));
    let my = mean(points.iter().map(|p| p.1));
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    if points.len() < 2 || sxx <= f64::EPSILON {
        f64::NAN
    } else {
        sxy / sxx
    }
}

/// Mean sentiment in the last [`RECENT_DAYS`] before `end` minus the mean
/// before that; NaN when either window is empty.
fn sentiment_shift(voice: &[(DateTime<Utc>, &Analysis)], end: DateTime<Utc>) -> f64 {
    let cut = end - Duration::days(RECENT_DAYS);
    let recent = mean(
        voice
            .iter()
            .filter(|(date, _)| *date >= cut)
            .map(|(_, a)| f64::from(a.sentiment)),
    );
    let before = mean(
        voice
            .iter()
            .filter(|(date, _)| *date < cut)
            .map(|(_, a)| f64::from(a.sentiment)),
    );
    recent - before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Signal, SourceRef};
    use chrono::TimeZone;

    fn deal() -> Deal {
        Deal {
            id: "D1".into(),
            name: "Acme rollout".into(),
            account: "Acme".into(),
            contact_domains: vec!["acme.com".into()],
            owner: "rep@us.com".into(),
            stage: "negotiation".into(),
            amount: Some(9999.0),
            created: NaiveDate::from_ymd_opt(2024, 1, 1),
            close_date: None,
            outcome: Outcome::Open,
        }
    }

    fn mail(id: &str, direction: Direction, from: &str, day: u32, hour: u32) -> Message {
        Message {
            id: id.into(),
            kind: MessageKind::Email,
            source: SourceRef {
                path: "fixture.mbox".into(),
                offset: None,
            },
            date: Some(Utc.with_ymd_and_hms(2024, 1, day, hour, 0, 0).unwrap()),
            from: from.into(),
            from_name: String::new(),
            to: vec![],
            cc: vec![],
            subject: String::new(),
            body: String::new(),
            new_text: String::new(),
            in_reply_to: None,
            references: vec![],
            deal_id: Some("D1".into()),
            direction,
            attachments: Vec::new(),
            thread_id: None,
            auto: false,
        }
    }

    fn value(row: &FeatureRow, name: &str) -> f64 {
        let i = feature_names().iter().position(|n| *n == name).unwrap();
        row.values[i]
    }

    #[test]
    fn every_feature_has_a_value_and_a_description() {
        let row = deal_features(&deal(), &[], &HashMap::new(), day(10));
        assert_eq!(row.values.len(), feature_names().len());
        assert_eq!(feature_descriptions().len(), feature_names().len());
        assert!(feature_descriptions().iter().all(|d| !d.is_empty()));
        let unique: HashSet<_> = feature_names().iter().collect();
        assert_eq!(unique.len(), feature_names().len());
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, d).unwrap()
    }

    #[test]
    fn reply_latency_runs_from_first_unanswered_mail() {
        let a = mail("a", Direction::Outbound, "rep@us.com", 2, 9);
        let b = mail("b", Direction::Outbound, "rep@us.com", 2, 12);
        let c = mail("c", Direction::Inbound, "ann@acme.com", 3, 9);
        let d = mail("d", Direction::Outbound, "rep@us.com", 3, 11);
        let row = deal_features(&deal(), &[&d, &c, &b, &a], &HashMap::new(), day(10));
        assert_eq!(value(&row, "customer_reply_hours"), 24.0);
        assert_eq!(value(&row, "our_reply_hours"), 2.0);
        assert_eq!(value(&row, "days_since_customer_wrote"), 7.0);
        assert_eq!(value(&row, "customer_senders"), 1.0);
    }

    #[test]
    fn sentiment_slope_and_shift_follow_the_customer_mood() {
        let a = mail("a", Direction::Inbound, "ann@acme.com", 1, 9);
        let b = mail("b", Direction::Inbound, "bob@acme.com", 11, 9);
        let c = mail("c", Direction::Inbound, "ann@acme.com", 21, 9);
        let analysis = |id: &str, sentiment: f32, kinds: &[SignalKind]| Analysis {
            message_id: id.into(),
            language: "en".into(),
            sentiment,
            signals: kinds
                .iter()
                .map(|k| Signal {
                    message_id: id.into(),
                    kind: *k,
                    sentence: String::new(),
                    score: 1.0,
                    tracker: None,
                })
                .collect(),
        };
        let aa = analysis("a", 0.8, &[SignalKind::BudgetApproved]);
        let ab = analysis(
            "b",
            0.3,
            &[SignalKind::Delay, SignalKind::CompetitorMention],
        );
        let ac = analysis("c", -0.2, &[]);
        let analyses: HashMap<String, &Analysis> = [
            ("a".to_string(), &aa),
            ("b".to_string(), &ab),
            ("c".to_string(), &ac),
        ]
        .into_iter()
        .collect();
        let row = deal_features(&deal(), &[&a, &b, &c], &analyses, day(21));
        assert!((value(&row, "sentiment_slope") + 0.05).abs() < 1e-9);
        assert!((value(&row, "sentiment_mean") - 0.3).abs() < 1e-6);
        // Recent window holds b and c (0.05), before holds a (0.8).
        assert!((value(&row, "sentiment_recent_shift") + 0.75).abs() < 1e-6);
        assert_eq!(value(&row, "positive_signals"), 1.0);
        assert_eq!(value(&row, "negative_signals"), 2.0);
        assert_eq!(value(&row, "signal_delay"), 1.0);
        assert_eq!(value(&row, "deal_age_days"), 20.0);
    }

    #[test]
    fn unknown_values_are_missing_not_zero() {
        let mut d = deal();
        d.amount = None;
        d.created = None;
        let row = deal_features(&d, &[], &HashMap::new(), day(10));
        for name in [
            "days_since_customer_wrote",
            "customer_reply_hours",
            "log_amount",
        ] {
            assert!(value(&row, name).is_nan(), "{name} should be NaN");
        }
        assert_eq!(value(&row, "inbound_messages"), 0.0);
    }

    #[test]
    fn closed_deal_is_seen_on_its_close_date_or_last_message() {
        let mut d = deal();
        d.outcome = Outcome::Won;
        let m = mail("a", Direction::Inbound, "ann@acme.com", 5, 9);
        assert_eq!(as_of_date(&d, &[&m], day(30)), day(5));
        d.close_date = Some(day(7));
        assert_eq!(as_of_date(&d, &[&m], day(30)), day(7));
        d.outcome = Outcome::Open;
        assert_eq!(as_of_date(&d, &[&m], day(30)), day(30));
    }
}
