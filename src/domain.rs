//! The records every stage passes along: deals, messages, signals.
//!
//! Ingest produces [`Deal`]s and [`Message`]s, the NLP stage adds
//! [`Signal`]s and sentiment, the store keeps all of them and the predictor
//! turns them into a [`WinProbability`]. Keeping the types here, apart from
//! any stage, lets each stage be read and tested on its own.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Whether a deal is still being worked or has closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Open,
    Won,
    Lost,
}

impl Outcome {
    /// Reads the outcome words CRM exports use ("Closed Won", "won", "lost", ...).
    pub fn parse(text: &str) -> Option<Outcome> {
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() || t == "open" || t == "engaging" || t == "prospecting" {
            return Some(Outcome::Open);
        }
        if t.contains("won") || t == "win" {
            return Some(Outcome::Won);
        }
        if t.contains("lost") || t == "loss" {
            return Some(Outcome::Lost);
        }
        None
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Won => "won",
            Outcome::Lost => "lost",
        }
    }
}

/// One opportunity from the CRM export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    pub id: String,
    pub name: String,
    pub account: String,
    /// Mail domains of the customer's people, lower case, used for attribution.
    pub contact_domains: Vec<String>,
    pub owner: String,
    pub stage: String,
    pub amount: Option<f64>,
    pub created: Option<NaiveDate>,
    pub close_date: Option<NaiveDate>,
    pub outcome: Outcome,
}

/// Where a message came from: mail or a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Email,
    Call,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Email => "email",
            MessageKind::Call => "call",
        }
    }
}

/// Who wrote a message relative to the selling team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the customer to us.
    Inbound,
    /// From us to the customer.
    Outbound,
    /// Between colleagues, or between parties we cannot tell apart.
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }
}

/// The file (and place in it) a message was read from, so that every error
/// and every search hit can point back at the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub path: String,
    /// Byte offset of the message inside an mbox file; `None` for single files.
    pub offset: Option<u64>,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} (byte {offset})", self.path),
            None => write!(f, "{}", self.path),
        }
    }
}

/// One mail or call note, decoded and cleaned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Stable identity: the Message-ID header, or a content hash when absent.
    pub id: String,
    pub kind: MessageKind,
    pub source: SourceRef,
    pub date: Option<DateTime<Utc>>,
    /// Sender address, lower case (`name@domain`), or the speaker of a call note.
    pub from: String,
    pub from_name: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    /// The whole decoded text body, quotes and signature included (for search).
    pub body: String,
    /// Only what the writer wrote this time: no quoted reply, no signature.
    /// Signals and sentiment read this.
    pub new_text: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub deal_id: Option<String>,
    pub direction: Direction,
    /// Names and MIME types of attached files ("offer.pdf (application/pdf)"),
    /// recorded so a search can find them; their content is never body text.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// The conversation this message belongs to: the root Message-ID of its
    /// References chain, or a subject key when the headers are missing.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// A bounce, delivery report or auto-reply (out of office): written by a
    /// machine, so it is not a customer reply even when it comes inbound.
    #[serde(default)]
    pub auto: bool,
}

/// The buying signals the NLP stage looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    BudgetApproved,
    NoBudget,
    DecisionTimeline,
    PricingQuestion,
    ContractStep,
    DemoRequest,
    CompetitorMention,
    Delay,
    Objection,
    DecisionMaker,
    NextMeeting,
    NotInterested,
    ChampionLeaving,
    /// A user's own tracker matched; [`Signal::tracker`] names it. Not in
    /// [`SignalKind::ALL`], which lists what the trained heads look for.
    Custom,
}

impl SignalKind {
    pub const ALL: [SignalKind; 13] = [
        SignalKind::BudgetApproved,
        SignalKind::NoBudget,
        SignalKind::DecisionTimeline,
        SignalKind::PricingQuestion,
        SignalKind::ContractStep,
        SignalKind::DemoRequest,
        SignalKind::CompetitorMention,
        SignalKind::Delay,
        SignalKind::Objection,
        SignalKind::DecisionMaker,
        SignalKind::NextMeeting,
        SignalKind::NotInterested,
        SignalKind::ChampionLeaving,
    ];

    /// The snake_case name used in files, queries (`signal:budget_approved`)
    /// and output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::BudgetApproved => "budget_approved",
            SignalKind::NoBudget => "no_budget",
            SignalKind::DecisionTimeline => "decision_timeline",
            SignalKind::PricingQuestion => "pricing_question",
            SignalKind::ContractStep => "contract_step",
            SignalKind::DemoRequest => "demo_request",
            SignalKind::CompetitorMention => "competitor_mention",
            SignalKind::Delay => "delay",
            SignalKind::Objection => "objection",
            SignalKind::DecisionMaker => "decision_maker",
            SignalKind::NextMeeting => "next_meeting",
            SignalKind::NotInterested => "not_interested",
            SignalKind::ChampionLeaving => "champion_leaving",
            SignalKind::Custom => "custom",
        }
    }

    pub fn parse(name: &str) -> Option<SignalKind> {
        SignalKind::ALL
            .into_iter()
            .chain([SignalKind::Custom])
            .find(|k| k.as_str() == name.trim())
    }

    /// Whether the signal usually moves a deal towards a win.
    pub fn is_positive(self) -> bool {
        matches!(
            self,
            SignalKind::BudgetApproved
                | SignalKind::DecisionTimeline
                | SignalKind::PricingQuestion
                | SignalKind::ContractStep
                | SignalKind::DemoRequest
                | SignalKind::DecisionMaker
                | SignalKind::NextMeeting
        )
    }
}

/// One buying signal found in one sentence of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub message_id: String,
    pub kind: SignalKind,
    /// The sentence that shows the signal, as written.
    pub sentence: String,
    pub score: f32,
    /// The user's tracker that found it; `None` for the trained heads.
    #[serde(default)]
    pub tracker: Option<String>,
}

/// What the NLP stage learned about one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub message_id: String,
    /// ISO 639-1 code, or "und" when the text is too short to tell.
    pub language: String,
    /// From -1 (negative) to 1 (positive).
    pub sentiment: f32,
    pub signals: Vec<Signal>,
}

/// A calibrated chance that a deal closes won, with the factors behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinProbability {
    pub deal_id: String,
    pub probability: f64,
    /// Each factor in words ("customer has not written for 19 days") with its
    /// contribution to the score in log-odds, strongest first.
    pub factors: Vec<(String, f64)>,
}
