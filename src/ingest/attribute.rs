//! Links each message to a deal and tells who wrote to whom (last step of
//! the ingest stage, before NLP).
//!
//! A message belongs to the deal whose customer it was exchanged with: the
//! mail domain of the counterparty (the sender of an inbound mail, the
//! recipients of an outbound one) is looked up in the deals'
//! `contact_domains`. A customer often has several deals over the years, so
//! the deal whose created..close window holds the message date wins, else
//! the most recent one. A message no domain matches takes the deal of its
//! thread, and failing that an explicit deal reference in its subject
//! ("[D-1007]"), which reps add when they write from a personal address.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use once_cell::sync::Lazy;
use regex::Regex;

use crate::domain::{Deal, Direction, Message, MessageKind};

/// Sets `deal_id` and `direction` on each message. Call notes whose header
/// named a deal keep it: the note taker knew better than any domain match.
pub fn attribute(messages: &mut [Message], deals: &[Deal], internal_domains: &[String]) {
    let internal = normalize_domains(internal_domains);
    let by_domain = index_by_domain(deals);

    let mut matched = 0;
    for message in messages.iter_mut() {
        message.direction = direction(message, &internal);
        if message.kind == MessageKind::Call && message.deal_id.is_some() {
            matched += 1;
            continue;
        }
        let day = message.date.map(|d| d.date_naive());
        message.deal_id = counterparty_domains(message, &internal)
            .iter()
            .find_map(|domain| best_deal(&by_domain, domain, day))
            .map(|deal| deal.id.clone());
        matched += usize::from(message.deal_id.is_some());
    }

    let mut by_thread: BTreeMap<String, String> = BTreeMap::new();
    for message in messages.iter() {
        if let (Some(thread), Some(deal)) = (&message.thread_id, &message.deal_id) {
            let entry = by_thread
                .entry(thread.clone())
                .or_insert_with(|| deal.clone());
            if deal < entry {
                *entry = deal.clone();
            }
        }
    }
    let known: HashSet<&str> = deals.iter().map(|d| d.id.as_str()).collect();
    for message in messages.iter_mut().filter(|m| m.deal_id.is_none()) {
        message.deal_id = message
            .thread_id
            .as_ref()
            .and_then(|t| by_thread.get(t).cloned())
            .or_else(|| deal_reference(&message.subject).filter(|d| known.contains(d.as_str())));
        matched += usize::from(message.deal_id.is_some());
    }
    tracing::info!(
        "attributed {matched} of {} messages to {} deals",
        messages.len(),
        deals.len()
    );
}

/// Inbound when an outsider writes, outbound when we write to an outsider,
/// internal otherwise, including when no internal domains are known.
pub fn direction(message: &Message, internal_domains: &[String]) -> Direction {
    if internal_domains.is_empty() {
        return Direction::Internal;
    }
    let is_internal =
        |addr: &str| domain_of(addr).is_some_and(|d| matches_any(&d, internal_domains));
    if !is_internal(&message.from) {
        return Direction::Inbound;
    }
    let any_external = recipients(message).any(|a| !a.is_empty() && !is_internal(a));
    if any_external {
        Direction::Outbound
    } else {
        Direction::Internal
    }
}

/// Deal ids written in square brackets, like "[D-1007]" or "[OPP-42]".
static DEAL_REFERENCE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"\[([A-Za-z][A-Za-z0-9]*-[A-Za-z0-9]+)\]").expect("deal reference pattern is valid")
});

/// The first deal id written in brackets in `text` (a subject), if any.
/// The caller checks that such a deal exists.
pub fn deal_reference(text: &str) -> Option<String> {
    DEAL_REFERENCE.captures(text).map(|c| c[1].to_string())
}

fn recipients(message: &Message) -> impl Iterator<Item = &str> {
    message.to.iter().chain(&message.cc).map(String::as_str)
}

/// The domains that identify the customer in a message, best first.
fn counterparty_domains(message: &Message, internal: &[String]) -> Vec<String> {
    let external = |addr: &str| domain_of(addr).filter(|d| !matches_any(d, internal));
    let mut domains: Vec<String> = match message.direction {
        Direction::Inbound => external(&message.from).into_iter().collect(),
        Direction::Outbound => recipients(message).filter_map(external).collect(),
        // Without known internal domains everyone may be the customer.
        Direction::Internal => std::iter::once(message.from.as_str())
            .chain(recipients(message))
            .filter_map(external)
            .collect(),
    };
    let mut seen = std::collections::HashSet::new();
    domains.retain(|d| seen.insert(d.clone()));
    domains
}

fn index_by_domain(deals: &[Deal]) -> HashMap<String, Vec<&Deal>> {
    let mut index: HashMap<String, Vec<&Deal>> = HashMap::new();
    for deal in deals {
        for domain in normalize_domains(&deal.contact_domains) {
            index.entry(domain).or_default().push(deal);
        }
    }
    index
}

/// Looks the domain up, then its parent domains, so mail from
/// `eu.kund.example` finds a deal listed under `kund.example`.
fn best_deal<'a>(
    by_domain: &HashMap<String, Vec<&'a Deal>>,
    domain: &str,
    day: Option<NaiveDate>,
) -> Option<&'a Deal> {
    let mut candidate = domain;
    loop {
        if let Some(deals) = by_domain.get(candidate) {
            return choose(deals, day);
        }
        let (_, parent) = candidate.split_once('.')?;
        if !parent.contains('.') {
            return None;
        }
        candidate = parent;
    }
}

/// The deal whose window holds `day`, else the most recent; among several
/// windows holding `day`, the most recently created.
fn choose<'a>(deals: &[&'a Deal], day: Option<NaiveDate>) -> Option<&'a Deal> {
    let recency = |d: &&&'a Deal| (d.created, d.close_date.or(Some(NaiveDate::MAX)));
    let in_window = day.and_then(|day| {
        deals
            .iter()
            .filter(|d| d.created.is_none_or(|c| c <= day))
            .filter(|d| d.close_date.is_none_or(|c| day <= c))
            .max_by_key(recency)
    });
    in_window
        .or_else(|| deals.iter().max_by_key(recency))
        .copied()
}

fn domain_of(addr: &str) -> Option<String> {
    let (_, domain) = addr.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('>').to_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// Exact domain or a subdomain of it.
fn matches_any(domain: &str, list: &[String]) -> bool {
    list.iter().any(|d| {
        domain == d
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|p| p.ends_with('.'))
    })
}

fn normalize_domains(domains: &[String]) -> Vec<String> {
    domains
        .iter()
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Outcome, SourceRef};
    use chrono::{TimeZone, Utc};

    fn deal(id: &str, domain: &str, created: &str, close: Option<&str>) -> Deal {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        Deal {
            id: id.into(),
            name: id.into(),
            account: String::new(),
            contact_domains: vec![domain.into()],
            owner: String::new(),
            stage: String::new(),
            amount: None,
            created: day(created),
            close_date: close.and_then(day),
            outcome: if close.is_some() {
                Outcome::Won
            } else {
                Outcome::Open
            },
        }
    }

    fn mail(from: &str, to: &[&str], day: Option<(i32, u32, u32)>) -> Message {
        Message {
            id: format!("{from}-{to:?}"),
            kind: MessageKind::Email,
            source: SourceRef {
                path: "t".into(),
                offset: None,
            },
            date: day.map(|(y, m, d)| Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()),
            from: from.into(),
            from_name: String::new(),
            to: to.iter().map(|s| s.to_string()).collect(),
            cc: Vec::new(),
            subject: String::new(),
            body: String::new(),
            new_text: String::new(),
            in_reply_to: None,
            references: Vec::new(),
            deal_id: None,
            direction: Direction::Internal,
            attachments: Vec::new(),
            thread_id: None,
            auto: false,
        }
    }

    fn us() -> Vec<String> {
        vec!["vendor.example".to_string()]
    }

    #[test]
    fn direction_follows_internal_domains() {
        let inbound = mail("lars@kund.example", &["anna@vendor.example"], None);
        let outbound = mail("anna@vendor.example", &["lars@kund.example"], None);
        let internal = mail("anna@vendor.example", &["bo@sales.vendor.example"], None);
        assert_eq!(direction(&inbound, &us()), Direction::Inbound);
        assert_eq!(direction(&outbound, &us()), Direction::Outbound);
        assert_eq!(direction(&internal, &us()), Direction::Internal);
        assert_eq!(direction(&inbound, &[]), Direction::Internal);
    }

    #[test]
    fn inbound_mail_is_matched_by_sender_domain() {
        let deals = [deal("D-1", "kund.example", "2026-01-01", None)];
        let mut msgs = [mail("lars@kund.example", &["anna@vendor.example"], None)];
        attribute(&mut msgs, &deals, &us());
        assert_eq!(msgs[0].deal_id.as_deref(), Some("D-1"));
        assert_eq!(msgs[0].direction, Direction::Inbound);
    }

    #[test]
    fn outbound_mail_is_matched_by_recipient_domain() {
        let deals = [
            deal("D-1", "kund.example", "2026-01-01", None),
            deal("D-2", "other.example", "2026-01-01", None),
        ];
        let mut msgs = [mail(
            "anna@vendor.example",
            &["bo@vendor.example", "lars@other.example"],
            None,
        )];
        attribute(&mut msgs, &deals, &us());
        assert_eq!(msgs[0].deal_id.as_deref(), Some("D-2"));
        assert_eq!(msgs[0].direction, Direction::Outbound);
    }

    #[test]
    fn deal_whose_window_holds_the_date_wins_over_newer_deal() {
        let deals = [
            deal("OLD", "kund.example", "2025-01-01", Some("2025-06-30")),
            deal("NEW", "kund.example", "2026-01-01", None),
        ];
        let mut msgs = [
            mail("lars@kund.example", &[], Some((2025, 3, 1))),
            mail("lars@kund.example", &[], Some((2026, 3, 1))),
            mail("lars@kund.example", &[], Some((2025, 9, 1))),
            mail("lars@kund.example", &[], None),
        ];
        attribute(&mut msgs, &deals, &us());
        let ids: Vec<_> = msgs.iter().map(|m| m.deal_id.as_deref()).collect();
        assert_eq!(
            ids,
            vec![Some("OLD"), Some("NEW"), Some("NEW"), Some("NEW")]
        );
    }

    #[test]
    fn subdomain_matches_and_unknown_domain_stays_unattributed() {
        let deals = [deal("D-1", "kund.example", "2026-01-01", None)];
        let mut msgs = [
            mail("lars@eu.kund.example", &[], None),
            mail("x@nobody.example", &[], None),
        ];
        attribute(&mut msgs, &deals, &us());
        assert_eq!(msgs[0].deal_id.as_deref(), Some("D-1"));
        assert_eq!(msgs[1].deal_id, None);
    }

    #[test]
    fn unmatched_reply_takes_the_deal_of_its_thread() {
        let deals = [deal("D-1", "kund.example", "2026-01-01", None)];
        let mut first = mail("lars@kund.example", &["anna@vendor.example"], None);
        first.thread_id = Some("t1".into());
        let mut forward = mail("lars@gmail.example", &["anna@vendor.example"], None);
        forward.thread_id = Some("t1".into());
        let mut msgs = [forward, first];
        attribute(&mut msgs, &deals, &us());
        assert_eq!(msgs[0].deal_id.as_deref(), Some("D-1"));
    }

    #[test]
    fn subject_deal_reference_is_used_when_domain_and_thread_fail() {
        let deals = [deal("D-1007", "kund.example", "2026-01-01", None)];
        let mut msgs = [
            mail("lars@gmail.example", &["anna@vendor.example"], None),
            mail("lars@gmail.example", &["anna@vendor.example"], None),
        ];
        msgs[0].subject = "Re: pricing [D-1007]".into();
        msgs[1].subject = "Re: pricing [D-9999]".into();
        attribute(&mut msgs, &deals, &us());
        assert_eq!(msgs[0].deal_id.as_deref(), Some("D-1007"));
        assert_eq!(msgs[1].deal_id, None);
    }

    #[test]
    fn call_note_keeps_the_deal_from_its_header() {
        let deals = [deal("D-1", "kund.example", "2026-01-01", None)];
        let mut note = mail("anna@vendor.example", &["lars@kund.example"], None);
        note.kind = MessageKind::Call;
        note.deal_id = Some("D-9".into());
        let mut msgs = [note];
        attribute(&mut msgs, &deals, &us());
        assert_eq!(msgs[0].deal_id.as_deref(), Some("D-9"));
        assert_eq!(msgs[0].direction, Direction::Outbound);
    }
}
