//! Raise webhook event types: integers (`10`..`52`) that Raise's docs leave unlabeled.
//!
//! The labels are configuration with a documented default, the hypothesis from the docs' layout:
//! the tens digit is the family (1 Gifts, 2 RecurringGifts, 3 Donors, 4 Campaigns, 5 Pages) and the
//! units digit the action (0 create, 1 update, 2 delete). **An assumption**, not a fact: Raise's
//! delivery logs name each type (`eventTypeDisplay`), and [`learn_event_types`] reads those rows
//! and reports where the configured labels disagree, so an operator can confirm or correct them.
//! An integer with no label is an unknown event type (tolerated, never guessed).

use crate::event::{Action, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The lowest and highest event type integer the docs list.
pub const EVENT_TYPE_RANGE: core::ops::RangeInclusive<u16> = 10..=52;

/// A Raise record family, as Raise names it (a donor is a CRM+ contact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// A one-time gift or one charge of a recurring gift.
    Gift,
    /// A recurring-gift schedule.
    RecurringGift,
    /// A donor (mapped onto [`ResourceKind::Contact`]).
    Donor,
    /// A campaign.
    Campaign,
    /// A donation page.
    Page,
}

impl Family {
    const ALL: [Family; 5] = [
        Family::Gift,
        Family::RecurringGift,
        Family::Donor,
        Family::Campaign,
        Family::Page,
    ];

    fn code(self) -> &'static str {
        match self {
            Family::Gift => "gift",
            Family::RecurringGift => "recurring-gift",
            Family::Donor => "donor",
            Family::Campaign => "campaign",
            Family::Page => "page",
        }
    }

    /// The shared record kind this family syncs as.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            Family::Gift => ResourceKind::Gift,
            Family::RecurringGift => ResourceKind::RecurringGift,
            Family::Donor => ResourceKind::Contact,
            Family::Campaign => ResourceKind::Campaign,
            Family::Page => ResourceKind::Page,
        }
    }
}

/// One label: a family and an action, written `gift-create`, `recurring-gift-delete`,
/// `donor-update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The Raise family.
    pub family: Family,
    /// What happened.
    pub action: Action,
}

impl Label {
    /// The label's code (`recurring-gift-create`).
    pub fn code(self) -> String {
        format!("{}-{}", self.family.code(), self.action.as_str())
    }

    /// Reads a label code or any spelling of one: the codes (`gift-create`), and display
    /// texts such as `Gift Created`, `RecurringGift.Updated`, `Donor deleted`,
    /// `Recurring Gift Added`. `None` for anything else (never a guess).
    pub fn parse(text: &str) -> Option<Label> {
        let s: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        // Longest family names first: `recurringgift...` is not `gift`.
        const FAMILIES: [(&str, Family); 10] = [
            ("recurringgift", Family::RecurringGift),
            ("recurringdonation", Family::RecurringGift),
            ("recurring", Family::RecurringGift),
            ("gift", Family::Gift),
            ("donation", Family::Gift),
            ("donor", Family::Donor),
            ("campaign", Family::Campaign),
            ("donationpage", Family::Page),
            ("page", Family::Page),
            ("contact", Family::Donor),
        ];
        const ACTIONS: [(&str, Action); 12] = [
            ("create", Action::Create),
            ("created", Action::Create),
            ("add", Action::Create),
            ("added", Action::Create),
            ("new", Action::Create),
            ("update", Action::Update),
            ("updated", Action::Update),
            ("modified", Action::Update),
            ("changed", Action::Update),
            ("delete", Action::Delete),
            ("deleted", Action::Delete),
            ("removed", Action::Delete),
        ];
        for (name, family) in FAMILIES {
            if let Some(rest) = s.strip_prefix(name) {
                if let Some((_, action)) = ACTIONS.iter().find(|(a, _)| *a == rest) {
                    return Some(Label {
                        family,
                        action: *action,
                    });
                }
            }
            // `New Gift`, `Deleted Page`: the verb first.
            if let Some(head) = s.strip_suffix(name) {
                if let Some((_, action)) = ACTIONS.iter().find(|(a, _)| *a == head) {
                    return Some(Label {
                        family,
                        action: *action,
                    });
                }
            }
        }
        None
    }
}

/// The integer → label map a receiver uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypeLabels {
    labels: BTreeMap<u16, Label>,
}

impl Default for EventTypeLabels {
    /// The documented hypothesis (see the module docs): `1x` Gifts, `2x` RecurringGifts, `3x`
    /// Donors, `4x` Campaigns, `5x` Pages; `x0` create, `x1` update, `x2` delete.
    fn default() -> Self {
        let mut labels = BTreeMap::new();
        for (i, family) in Family::ALL.into_iter().enumerate() {
            for (j, action) in [Action::Create, Action::Update, Action::Delete]
                .into_iter()
                .enumerate()
            {
                let code = u16::try_from((i + 1) * 10 + j).unwrap_or(0);
                labels.insert(code, Label { family, action });
            }
        }
        EventTypeLabels { labels }
    }
}

/// Why an `eventTypes` configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelConfigError {
    /// The key at fault (`"13"`), or `""`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl EventTypeLabels {
    /// The defaults with `overrides` applied: `{"10": "gift-create", "13": "page-update", "52":
    /// null}` (`null` removes a label, so that integer becomes an unknown type).
    pub fn with_overrides(overrides: &Value) -> Result<EventTypeLabels, LabelConfigError> {
        let mut out = EventTypeLabels::default();
        let Some(obj) = overrides.as_object() else {
            return Err(LabelConfigError {
                key: String::new(),
                message: "expected an object of event type integer -> label".into(),
            });
        };
        for (k, v) in obj {
            let code = parse_code_text(k).ok_or_else(|| LabelConfigError {
                key: k.clone(),
                message: format!(
                    "not an event type integer {}..={}",
                    EVENT_TYPE_RANGE.start(),
                    EVENT_TYPE_RANGE.end()
                ),
            })?;
            match v {
                Value::Null => {
                    out.labels.remove(&code);
                }
                Value::String(s) => {
                    let label = Label::parse(s).ok_or_else(|| LabelConfigError {
                        key: k.clone(),
                        message: "not a label: expected <gift|recurring-gift|donor|campaign|page>-<create|update|delete>".into(),
                    })?;
                    out.labels.insert(code, label);
                }
                _ => {
                    return Err(LabelConfigError {
                        key: k.clone(),
                        message: "expected a label string or null".into(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// The label of an integer, if configured.
    pub fn get(&self, code: u16) -> Option<Label> {
        self.labels.get(&code).copied()
    }

    /// The integers labelled.
    pub fn codes(&self) -> impl Iterator<Item = (u16, Label)> + '_ {
        self.labels.iter().map(|(c, l)| (*c, *l))
    }
}

/// An event type integer from text (`"10"`), within the documented range.
pub fn parse_code_text(s: &str) -> Option<u16> {
    s.trim()
        .parse::<u16>()
        .ok()
        .filter(|c| EVENT_TYPE_RANGE.contains(c))
}

/// An event type integer from a JSON value: a number or numeric text, within the range.
pub fn parse_code(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|c| EVENT_TYPE_RANGE.contains(c)),
        Value::String(s) => parse_code_text(s),
        _ => None,
    }
}

/// Input of [`learn_event_types`]: Raise delivery-log rows (`GET /api/Webhook/log/list`), and
/// the labels configured now (`null`: the defaults).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RaiseLearnInput {
    /// Log rows as Raise returns them (each read for `eventType` and `eventTypeDisplay`).
    #[cfg_attr(feature = "ts", ts(type = "Array<unknown>"))]
    pub rows: Vec<Value>,
    /// The receiver's `raise.eventTypes` overrides, as configured.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "Record<string, string | null>"))]
    pub configured: Option<Value>,
}

/// One event type as the logs name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseLearnedType {
    /// The integer.
    pub code: u16,
    /// The `eventTypeDisplay` text seen (the first, when rows disagree).
    pub display: String,
    /// The label the display text reads as; absent when it reads as none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Rows seen with this integer.
    pub rows: u64,
}

/// Why a configured label and the logs disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RaiseLabelDisagreementKind {
    /// The logs name another label than the configured one.
    DifferentLabel,
    /// The logs name a type the configuration leaves unlabeled.
    NotConfigured,
    /// The display text reads as no known label: check it by hand.
    UnreadableDisplay,
    /// Rows give the same integer different display texts.
    InconsistentDisplay,
}

/// One disagreement between the configuration and the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseLabelDisagreement {
    /// The integer.
    pub code: u16,
    /// What kind.
    pub kind: RaiseLabelDisagreementKind,
    /// The configured label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured: Option<String>,
    /// The label the logs suggest, if readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<String>,
    /// The display text.
    pub display: String,
}

/// What the logs taught.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseLearnedLabels {
    /// Every integer seen in the logs, ascending.
    pub learned: Vec<RaiseLearnedType>,
    /// Where the configuration disagrees with the logs (empty: the configuration is confirmed
    /// for every type seen).
    pub disagreements: Vec<RaiseLabelDisagreement>,
    /// The suggested `raise.eventTypes` overrides: each integer whose readable learned label
    /// differs from the configured one (review them before configuring).
    pub suggested: BTreeMap<String, String>,
    /// Rows without a usable `eventType` integer or `eventTypeDisplay` text (skipped).
    pub skipped_rows: u64,
}

/// Reads delivery-log rows and compares what they call each event type with the configuration.
pub fn learn_event_types(input: &RaiseLearnInput) -> Result<RaiseLearnedLabels, LabelConfigError> {
    let configured = match &input.configured {
        None | Some(Value::Null) => EventTypeLabels::default(),
        Some(v) => EventTypeLabels::with_overrides(v)?,
    };
    let mut seen: BTreeMap<u16, (String, u64, bool)> = BTreeMap::new();
    let mut skipped = 0u64;
    for row in &input.rows {
        let code = row.get("eventType").and_then(parse_code);
        let display = row
            .get("eventTypeDisplay")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let (Some(code), Some(display)) = (code, display) else {
            skipped += 1;
            continue;
        };
        let e = seen
            .entry(code)
            .or_insert_with(|| (display.to_owned(), 0, false));
        e.1 += 1;
        if e.0 != display {
            e.2 = true;
        }
    }
    let mut out = RaiseLearnedLabels {
        learned: Vec::new(),
        disagreements: Vec::new(),
        suggested: BTreeMap::new(),
        skipped_rows: skipped,
    };
    for (code, (display, rows, inconsistent)) in seen {
        let learned = Label::parse(&display);
        let have = configured.get(code);
        out.learned.push(RaiseLearnedType {
            code,
            display: display.clone(),
            label: learned.map(Label::code),
            rows,
        });
        let d = |kind| RaiseLabelDisagreement {
            code,
            kind,
            configured: have.map(Label::code),
            learned: learned.map(Label::code),
            display: display.clone(),
        };
        if inconsistent {
            out.disagreements
                .push(d(RaiseLabelDisagreementKind::InconsistentDisplay));
            continue;
        }
        match (have, learned) {
            (_, None) => out
                .disagreements
                .push(d(RaiseLabelDisagreementKind::UnreadableDisplay)),
            (None, Some(l)) => {
                out.disagreements
                    .push(d(RaiseLabelDisagreementKind::NotConfigured));
                out.suggested.insert(code.to_string(), l.code());
            }
            (Some(h), Some(l)) if h != l => {
                out.disagreements
                    .push(d(RaiseLabelDisagreementKind::DifferentLabel));
                out.suggested.insert(code.to_string(), l.code());
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_follow_the_hypothesis() {
        let l = EventTypeLabels::default();
        assert_eq!(l.codes().count(), 15);
        assert_eq!(l.get(10).unwrap().code(), "gift-create");
        assert_eq!(l.get(21).unwrap().code(), "recurring-gift-update");
        assert_eq!(l.get(32).unwrap().code(), "donor-delete");
        assert_eq!(l.get(52).unwrap().code(), "page-delete");
        assert_eq!(l.get(13), None);
    }

    #[test]
    fn display_texts_parse() {
        for (t, want) in [
            ("Gift Created", Some("gift-create")),
            ("RecurringGift.Updated", Some("recurring-gift-update")),
            ("Recurring Gift Added", Some("recurring-gift-create")),
            ("New Donor", Some("donor-create")),
            ("page-delete", Some("page-delete")),
            ("Gift Refunded", None),
            ("", None),
        ] {
            assert_eq!(Label::parse(t).map(Label::code).as_deref(), want, "{t}");
        }
    }

    #[test]
    fn overrides_and_errors() {
        let l = EventTypeLabels::with_overrides(&json!({"13": "page-update", "52": null})).unwrap();
        assert_eq!(l.get(13).unwrap().code(), "page-update");
        assert_eq!(l.get(52), None);
        assert_eq!(
            EventTypeLabels::with_overrides(&json!({"9": "gift-create"}))
                .unwrap_err()
                .key,
            "9"
        );
        assert!(EventTypeLabels::with_overrides(&json!({"10": "gift-refund"})).is_err());
        assert!(EventTypeLabels::with_overrides(&json!([])).is_err());
    }

    #[test]
    fn learning_reports_disagreements() {
        let rows = vec![
            json!({"eventType": 10, "eventTypeDisplay": "Gift Created"}),
            json!({"eventType": 11, "eventTypeDisplay": "Recurring Gift Created"}),
            json!({"eventType": 13, "eventTypeDisplay": "Gift Refunded"}),
            json!({"eventType": "x"}),
        ];
        let out = learn_event_types(&RaiseLearnInput {
            rows,
            configured: None,
        })
        .unwrap();
        assert_eq!(out.learned.len(), 3);
        assert_eq!(out.skipped_rows, 1);
        assert_eq!(out.disagreements.len(), 2);
        assert_eq!(
            out.disagreements[0].kind,
            RaiseLabelDisagreementKind::DifferentLabel
        );
        assert_eq!(
            out.disagreements[1].kind,
            RaiseLabelDisagreementKind::UnreadableDisplay
        );
        assert_eq!(out.suggested.get("11").unwrap(), "recurring-gift-create");
    }
}
