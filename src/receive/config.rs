//! The receiver's configuration: secrets, platform name, scheme, limits, subscribed events.
//! Read once from the JSON-shaped configuration every surface uses, naming the field of any error.

use super::envelope::{self, Limits};
use super::secret::SecretEntry;
use super::signature::Scheme;
use crate::error::{ConfigError, ConfigErrorCode};
use crate::event::EventType;
use crate::json::{as_object, only_keys, opt_bool, opt_str, opt_str_list, opt_u64};
use crate::product::Product;
use crate::raise::event_types::EventTypeLabels;
use serde_json::{Map, Value};

/// Largest configurable body limit (64 MiB); Virtuous deliveries embed a single record.
pub const MAX_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The keys of the receiver's configuration object.
pub(crate) const KEYS: [&str; 10] = [
    "secrets",
    "product",
    "raise",
    "platformName",
    "scheme",
    "maxBodyBytes",
    "maxDepth",
    "subscribedEvents",
    "allowWeakSecrets",
    "diagnostics",
];

/// Everything a [`Receiver`](super::Receiver) is built from. Validated once, at construction.
#[derive(Debug, Clone)]
pub struct Config {
    /// The product whose deliveries this receiver takes (default CRM+). It picks the envelope
    /// parser and the default scheme (`virtuous`, `raise`, `vomo`).
    pub product: Product,
    /// Raise's event type labels (integer -> family and action); only read for Raise.
    pub raise_labels: EventTypeLabels,
    /// Current and recent webhook secrets, newest first by convention (rotation).
    pub secrets: Vec<SecretEntry>,
    /// Our platform's name, as stamped in `transactionSource` / `referenceSource` on every write.
    pub platform_name: String,
    /// The signing scheme (default: the `virtuous` preset).
    pub scheme: Scheme,
    /// Body size and JSON depth limits.
    pub limits: Limits,
    /// Event types the host handles; others are acknowledged (2xx) and dropped. `None`: all 15.
    pub subscribed_events: Option<Vec<EventType>>,
    /// Accept secrets shorter than [`super::secret::MIN_SECRET_BYTES`] (for existing secrets that cannot be changed yet).
    pub allow_weak_secrets: bool,
    /// Run failure diagnostics (on failures only; never weakens a check). Default on.
    pub diagnostics: bool,
}

impl Config {
    /// A configuration with the Virtuous scheme and default limits.
    pub fn new(platform_name: impl Into<String>, secrets: Vec<SecretEntry>) -> Config {
        Config {
            product: Product::Crm,
            raise_labels: EventTypeLabels::default(),
            secrets,
            platform_name: platform_name.into(),
            scheme: Scheme::virtuous(),
            limits: Limits::default(),
            subscribed_events: None,
            allow_weak_secrets: false,
            diagnostics: true,
        }
    }

    /// Reads `{ secrets, platformName, scheme?, maxBodyBytes?, maxDepth?, subscribedEvents?,
    /// allowWeakSecrets?, diagnostics? }`, naming the field of any error.
    pub fn from_json(v: &Value) -> Result<Config, ConfigError> {
        let o = as_object(v, "")?;
        only_keys(o, "", &KEYS)?;
        let c = Config::read(o)?;
        c.validate()?;
        Ok(c)
    }

    /// Reads the receiver's keys of `o` (the caller has refused unknown keys), without
    /// [`validate`](Config::validate): the facade reads its own section between the two.
    pub(crate) fn read(o: &Map<String, Value>) -> Result<Config, ConfigError> {
        let secrets =
            SecretEntry::list_from_json(o.get("secrets").unwrap_or(&Value::Null), "secrets")?;
        let platform_name = opt_str(o, "", "platformName")?
            .ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorCode::InvalidPlatformName,
                    "platformName",
                    "missing: the name stamped in transactionSource/referenceSource on every write",
                )
            })?
            .to_owned();
        let product = match opt_str(o, "", "product")? {
            None => Product::Crm,
            Some(p) => Product::ALL
                .into_iter()
                .find(|x| x.as_str() == p)
                .ok_or_else(|| {
                    ConfigError::new(
                        ConfigErrorCode::InvalidOption,
                        "product",
                        "expected \"crm\", \"raise\" or \"volunteer\"",
                    )
                })?,
        };
        let scheme = match o.get("scheme").filter(|v| !v.is_null()) {
            Some(s) => Scheme::from_json(s, "scheme")?,
            None => Scheme::for_product(product),
        };
        let raise_labels = raise_section(o, product)?;
        if product != Product::Crm && o.get("subscribedEvents").is_some_and(|v| !v.is_null()) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "subscribedEvents",
                "names CRM+ event types; a raise or volunteer receiver takes its product's types (choose them in the product's subscription)",
            ));
        }
        let mut limits = Limits::default();
        if let Some(n) = opt_u64(o, "", "maxBodyBytes")? {
            limits.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = opt_u64(o, "", "maxDepth")? {
            limits.max_depth = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(Config {
            product,
            raise_labels,
            secrets,
            platform_name,
            scheme,
            limits,
            subscribed_events: subscribed_events(o)?,
            allow_weak_secrets: opt_bool(o, "", "allowWeakSecrets")?.unwrap_or(false),
            diagnostics: opt_bool(o, "", "diagnostics")?.unwrap_or(true),
        })
    }

    /// Checks the fields that are not checked while preparing secrets.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name = self.platform_name.trim();
        if name.is_empty()
            || name.len() > 128
            || name.chars().any(|c| c.is_control() || invisible(c))
        {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidPlatformName,
                "platformName",
                "expected 1 to 128 printable characters (no zero-width, bidi-control or other invisible ones)",
            ));
        }
        if !(1..=MAX_BODY_LIMIT).contains(&self.limits.max_body_bytes) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "maxBodyBytes",
                format!("expected 1 to {MAX_BODY_LIMIT}"),
            ));
        }
        if !(1..=envelope::MAX_DEPTH_LIMIT).contains(&self.limits.max_depth) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "maxDepth",
                format!("expected 1 to {}", envelope::MAX_DEPTH_LIMIT),
            ));
        }
        self.scheme.validate("scheme")
    }
}

/// `subscribedEvents`: event type names in either spelling (`gift-create`, `giftCreate`).
fn subscribed_events(o: &Map<String, Value>) -> Result<Option<Vec<EventType>>, ConfigError> {
    let Some(names) = opt_str_list(o, "", "subscribedEvents")? else {
        return Ok(None);
    };
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            envelope::normalize_event_type(n).ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorCode::InvalidOption,
                    format!("subscribedEvents[{i}]"),
                    "not one of the 15 CRM+ event types (e.g. \"gift-create\", \"giftCreate\")",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Characters that print as nothing or reorder text (Unicode's default-ignorable code points and
/// the bidi controls): in a platform name they would stamp a `transactionSource` that looks like
/// ours and is not, or an invisible one.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// `raise: { eventTypes? }`: Raise's event type label overrides (only with `product: "raise"`).
fn raise_section(o: &Map<String, Value>, product: Product) -> Result<EventTypeLabels, ConfigError> {
    let Some(r) = o.get("raise").filter(|v| !v.is_null()) else {
        return Ok(EventTypeLabels::default());
    };
    if product != Product::Raise {
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidOption,
            "raise",
            "only a receiver with product \"raise\" reads the raise section",
        ));
    }
    let r = as_object(r, "raise")?;
    only_keys(r, "raise", &["eventTypes"])?;
    match r.get("eventTypes").filter(|v| !v.is_null()) {
        None => Ok(EventTypeLabels::default()),
        Some(v) => EventTypeLabels::with_overrides(v).map_err(|e| {
            let field = if e.key.is_empty() {
                "raise.eventTypes".to_owned()
            } else {
                format!("raise.eventTypes.{}", e.key)
            };
            ConfigError::new(ConfigErrorCode::InvalidOption, field, e.message)
        }),
    }
}
