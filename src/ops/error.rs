//! The operations' error: every module's coded error, as one value the adapters hand on.

use crate::reconcile::{self, cursor, deletion, matcher, merge, ratelimit, response, subscription};
use crate::{sync, timestamp};
use core::fmt;

/// A failed operation: a stable `code`, the `module` that raised it, the `field` at fault when
/// known, and a sentence. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Stable kebab-case code (`invalid-argument`, `merge-cycle`, ...).
    pub code: String,
    /// The module that raised it (`ops`, `matcher`, `sync`, ...).
    pub module: &'static str,
    /// Path of the offending input field, or `""`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl OpError {
    /// An error about an input field.
    pub fn invalid_argument(field: impl Into<String>, message: impl Into<String>) -> OpError {
        OpError {
            code: "invalid-argument".into(),
            module: "ops",
            field: field.into(),
            message: message.into(),
        }
    }

    /// An error with no field, raised by `module`.
    pub(crate) fn coded(module: &'static str, code: &str, message: String) -> OpError {
        OpError {
            code: code.to_owned(),
            module,
            field: String::new(),
            message,
        }
    }

    /// The same error naming `field`.
    pub(crate) fn field_to(mut self, field: &str) -> OpError {
        self.field = field.to_owned();
        self
    }

    /// The same error with its field path under `prefix` (`config` + `limit` = `config.limit`).
    pub(crate) fn under(mut self, prefix: &str) -> OpError {
        self.field = join_path(prefix, &self.field);
        self
    }
}

/// `prefix.field`, or `field` alone when `prefix` is empty.
fn join_path(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} ({})", self.message, self.code)
        } else {
            write!(f, "{}: {} ({})", self.field, self.message, self.code)
        }
    }
}

impl std::error::Error for OpError {}

macro_rules! from_module_error {
    ($($module:literal => $t:ty),* $(,)?) => {$(
        impl From<$t> for OpError {
            fn from(e: $t) -> OpError {
                OpError::coded($module, e.code(), e.to_string())
            }
        }
    )*};
}

from_module_error!(
    "cursor" => cursor::CursorError,
    "merge" => merge::MergeError,
    "deletion" => deletion::DeletionError,
    "subscription" => subscription::SubscriptionError,
    "subscription" => crate::raise::subscription::RaiseSubscriptionError,
    "response" => response::ResponseError,
    "timestamp" => timestamp::TimeError,
    "sync" => sync::TransitionError,
);

impl From<matcher::MatchError> for OpError {
    fn from(e: matcher::MatchError) -> OpError {
        OpError {
            field: e.field(),
            ..OpError::coded("matcher", e.code(), e.to_string())
        }
    }
}

impl From<ratelimit::RateError> for OpError {
    fn from(e: ratelimit::RateError) -> OpError {
        OpError {
            field: e.field().to_owned(),
            ..OpError::coded("ratelimit", e.code(), e.to_string())
        }
    }
}

impl From<crate::volunteer::PollError> for OpError {
    fn from(e: crate::volunteer::PollError) -> OpError {
        OpError {
            code: e.code().to_owned(),
            module: "volunteer",
            field: e.field(),
            message: e.to_string(),
        }
    }
}

impl From<crate::volunteer::deletion::VolunteerDeletionError> for OpError {
    fn from(e: crate::volunteer::deletion::VolunteerDeletionError) -> OpError {
        use crate::volunteer::deletion::VolunteerDeletionError as E;
        match e {
            E::Deletion(d) => d.into(),
            E::Config(c) => OpError::from(c).field_to("baseUrl"),
            other => OpError::coded("volunteer", other.code(), other.to_string()).field_to("scan"),
        }
    }
}

impl From<reconcile::ReconcileError> for OpError {
    fn from(e: reconcile::ReconcileError) -> OpError {
        OpError {
            field: e.field(),
            ..OpError::coded("reconcile", e.code(), e.to_string())
        }
    }
}

impl From<sync::SyncError> for OpError {
    fn from(e: sync::SyncError) -> OpError {
        OpError {
            code: e.code().to_owned(),
            module: "sync",
            field: e.field().unwrap_or("").to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<sync::OptionsError> for OpError {
    fn from(e: sync::OptionsError) -> OpError {
        let field = match &e {
            sync::OptionsError::Invalid { field, .. } => format!("options.{field}"),
            _ => "options".to_owned(),
        };
        OpError {
            code: e.code().to_owned(),
            module: "sync",
            field,
            message: e.to_string(),
        }
    }
}

impl From<crate::error::ConfigError> for OpError {
    fn from(e: crate::error::ConfigError) -> OpError {
        OpError {
            code: e.code().to_owned(),
            module: "config",
            field: e.field().to_owned(),
            message: e.message().to_owned(),
        }
    }
}
