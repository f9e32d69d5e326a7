//! The normalised CRM+ webhook event: what a delivery says happened, independent of the wire shape
//! Virtuous used (`{"event":"GiftCreate","gift":{..}}`, the documented `eventType`/`data` envelope, or
//! dotted names). Parsing lives in [`crate::receive::envelope`]; this module only names things.

use crate::product::Product;
use serde::{Deserialize, Serialize};

/// The kind of CRM+ record an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// A Contact (a household, organisation or foundation, with individuals inside).
    Contact,
    /// A Gift.
    Gift,
    /// A Project (designation target).
    Project,
    /// A submission of a Virtuous-hosted form.
    FormSubmission,
    /// A note on a Contact.
    ContactNote,
    /// A calendar or program Event.
    Event,
    /// A Raise recurring gift (a schedule; each charge is a [`ResourceKind::Gift`]).
    RecurringGift,
    /// A Raise campaign.
    Campaign,
    /// A Raise donation page.
    Page,
    /// A Volunteer (VOMO) participation: one user's sign-up for, or hours on, a project.
    Participation,
}

impl ResourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ResourceKind; 10] = [
        ResourceKind::Contact,
        ResourceKind::Gift,
        ResourceKind::Project,
        ResourceKind::FormSubmission,
        ResourceKind::ContactNote,
        ResourceKind::Event,
        ResourceKind::RecurringGift,
        ResourceKind::Campaign,
        ResourceKind::Page,
        ResourceKind::Participation,
    ];

    /// The stable kebab-case name (`contact-note`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Contact => "contact",
            ResourceKind::Gift => "gift",
            ResourceKind::Project => "project",
            ResourceKind::FormSubmission => "form-submission",
            ResourceKind::ContactNote => "contact-note",
            ResourceKind::Event => "event",
            ResourceKind::RecurringGift => "recurring-gift",
            ResourceKind::Campaign => "campaign",
            ResourceKind::Page => "page",
            ResourceKind::Participation => "participation",
        }
    }

    /// The camelCase key Virtuous uses for the embedded resource in live deliveries (`contactNote`).
    pub fn payload_key(self) -> &'static str {
        match self {
            ResourceKind::Contact => "contact",
            ResourceKind::Gift => "gift",
            ResourceKind::Project => "project",
            ResourceKind::FormSubmission => "formSubmission",
            ResourceKind::ContactNote => "contactNote",
            ResourceKind::Event => "event",
            ResourceKind::RecurringGift => "recurringGift",
            ResourceKind::Campaign => "campaign",
            ResourceKind::Page => "page",
            ResourceKind::Participation => "participation",
        }
    }
}

/// What happened to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The record was created.
    Create,
    /// The record was modified.
    Update,
    /// The record was removed.
    Delete,
    /// A form was submitted (only for [`ResourceKind::FormSubmission`]).
    Submit,
}

impl Action {
    /// Every action, in a fixed order.
    pub const ALL: [Action; 4] = [
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Submit,
    ];

    /// The stable kebab-case name (`create`), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Submit => "submit",
        }
    }
}

/// The 15 CRM+ webhook event types, one per subscription toggle.
///
/// Serialised in kebab-case (`gift-create`) on every surface; [`EventType::toggle`] gives the
/// subscription field name (`giftCreate`) and [`EventType::live_name`] the PascalCase value seen in
/// live deliveries (`GiftCreate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum EventType {
    ContactCreate,
    ContactUpdate,
    GiftCreate,
    GiftUpdate,
    GiftDelete,
    ProjectCreate,
    ProjectUpdate,
    ProjectDelete,
    FormSubmission,
    ContactNoteCreate,
    ContactNoteUpdate,
    ContactNoteDelete,
    EventCreate,
    EventUpdate,
    EventDelete,
}

impl EventType {
    /// All 15 types in the order of Virtuous's event-type table.
    pub const ALL: [EventType; 15] = [
        EventType::ContactCreate,
        EventType::ContactUpdate,
        EventType::GiftCreate,
        EventType::GiftUpdate,
        EventType::GiftDelete,
        EventType::ProjectCreate,
        EventType::ProjectUpdate,
        EventType::ProjectDelete,
        EventType::FormSubmission,
        EventType::ContactNoteCreate,
        EventType::ContactNoteUpdate,
        EventType::ContactNoteDelete,
        EventType::EventCreate,
        EventType::EventUpdate,
        EventType::EventDelete,
    ];

    /// The record kind this event is about.
    pub fn resource_kind(self) -> ResourceKind {
        use EventType::*;
        match self {
            ContactCreate | ContactUpdate => ResourceKind::Contact,
            GiftCreate | GiftUpdate | GiftDelete => ResourceKind::Gift,
            ProjectCreate | ProjectUpdate | ProjectDelete => ResourceKind::Project,
            FormSubmission => ResourceKind::FormSubmission,
            ContactNoteCreate | ContactNoteUpdate | ContactNoteDelete => ResourceKind::ContactNote,
            EventCreate | EventUpdate | EventDelete => ResourceKind::Event,
        }
    }

    /// What happened.
    pub fn action(self) -> Action {
        use EventType::*;
        match self {
            ContactCreate | GiftCreate | ProjectCreate | ContactNoteCreate | EventCreate => {
                Action::Create
            }
            ContactUpdate | GiftUpdate | ProjectUpdate | ContactNoteUpdate | EventUpdate => {
                Action::Update
            }
            GiftDelete | ProjectDelete | ContactNoteDelete | EventDelete => Action::Delete,
            FormSubmission => Action::Submit,
        }
    }

    /// The event for a kind and action, if Virtuous has one.
    pub fn from_parts(kind: ResourceKind, action: Action) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.resource_kind() == kind && t.action() == action)
    }

    /// The stable kebab-case code (`contact-note-create`).
    pub fn as_str(self) -> &'static str {
        use EventType::*;
        match self {
            ContactCreate => "contact-create",
            ContactUpdate => "contact-update",
            GiftCreate => "gift-create",
            GiftUpdate => "gift-update",
            GiftDelete => "gift-delete",
            ProjectCreate => "project-create",
            ProjectUpdate => "project-update",
            ProjectDelete => "project-delete",
            FormSubmission => "form-submission",
            ContactNoteCreate => "contact-note-create",
            ContactNoteUpdate => "contact-note-update",
            ContactNoteDelete => "contact-note-delete",
            EventCreate => "event-create",
            EventUpdate => "event-update",
            EventDelete => "event-delete",
        }
    }

    /// The subscription toggle field (`contactNoteCreate`), as in `POST /api/Webhook`.
    pub fn toggle(self) -> &'static str {
        use EventType::*;
        match self {
            ContactCreate => "contactCreate",
            ContactUpdate => "contactUpdate",
            GiftCreate => "giftCreate",
            GiftUpdate => "giftUpdate",
            GiftDelete => "giftDelete",
            ProjectCreate => "projectCreate",
            ProjectUpdate => "projectUpdate",
            ProjectDelete => "projectDelete",
            FormSubmission => "formSubmission",
            ContactNoteCreate => "contactNoteCreate",
            ContactNoteUpdate => "contactNoteUpdate",
            ContactNoteDelete => "contactNoteDelete",
            EventCreate => "eventCreate",
            EventUpdate => "eventUpdate",
            EventDelete => "eventDelete",
        }
    }

    /// The PascalCase value live deliveries put in their `event` field (`GiftCreate`).
    pub fn live_name(self) -> &'static str {
        use EventType::*;
        match self {
            ContactCreate => "ContactCreate",
            ContactUpdate => "ContactUpdate",
            GiftCreate => "GiftCreate",
            GiftUpdate => "GiftUpdate",
            GiftDelete => "GiftDelete",
            ProjectCreate => "ProjectCreate",
            ProjectUpdate => "ProjectUpdate",
            ProjectDelete => "ProjectDelete",
            FormSubmission => "FormSubmission",
            ContactNoteCreate => "ContactNoteCreate",
            ContactNoteUpdate => "ContactNoteUpdate",
            ContactNoteDelete => "ContactNoteDelete",
            EventCreate => "EventCreate",
            EventUpdate => "EventUpdate",
            EventDelete => "EventDelete",
        }
    }
}

/// One parsed, normalised delivery.
///
/// Every field but `raw_event_type` is optional because Virtuous publishes no payload schema:
/// what is absent stays absent rather than being invented. A CRM+ event is written exactly as
/// before Raise and Volunteer existed (`product`, `action` and `productEventType` are omitted for
/// CRM+), so stored events and existing consumers read unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The product the delivery came from; CRM+ (the default) is omitted on the wire.
    #[serde(default, skip_serializing_if = "Product::is_crm")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub product: Product,
    /// What happened, for Raise and Volunteer events (a CRM+ event's `eventType` says it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The product's own name for the type, for Raise and Volunteer events: Raise's configured
    /// label for the integer (`gift-create`, `donor-update`), VOMO's type (`participation.created`).
    /// Absent for a type the configuration does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_event_type: Option<String>,
    /// The recognised CRM+ event type, or `None` for a type this version does not know (tolerated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventType>,
    /// The event type exactly as the delivery spelled it (`GiftCreate`, `gift.created`, ...).
    pub raw_event_type: String,
    /// The record kind, when the type is recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_kind: Option<ResourceKind>,
    /// The delivery's own event id, when it carries one (the documented envelope does; live ones
    /// observed so far do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The delivery's own timestamp string, when present, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The organisation (tenant) id, when the delivery names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The embedded record's id, normalised to a string (`78421` and `"78421"` both give `"78421"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The record's `modifiedDateTimeUtc`, as sent, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_time_utc: Option<String>,
    /// The embedded record as received (unknown fields kept), when the delivery has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub resource: Option<serde_json::Value>,
}
