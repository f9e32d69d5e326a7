//! Which Virtuous product a record, delivery or link belongs to. CRM+ is the default everywhere, so
//! state and configuration written before Raise and Volunteer existed load unchanged.

use serde::{Deserialize, Serialize};

/// A Virtuous product: CRM+, Raise (online giving) or Volunteer (VOMO).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    /// Virtuous CRM+ (`api.virtuoussoftware.com`).
    #[default]
    Crm,
    /// Virtuous Raise (`prod-api.raisedonors.com`).
    Raise,
    /// Virtuous Volunteer, formerly VOMO (`api.vomo.org`).
    Volunteer,
}

impl Product {
    /// Every product, in a fixed order.
    pub const ALL: [Product; 3] = [Product::Crm, Product::Raise, Product::Volunteer];

    /// The stable kebab-case name (`crm`, `raise`, `volunteer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Crm => "crm",
            Product::Raise => "raise",
            Product::Volunteer => "volunteer",
        }
    }

    /// Whether this is CRM+ (the default, omitted when serialising records).
    pub fn is_crm(&self) -> bool {
        *self == Product::Crm
    }
}
