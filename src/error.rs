//! The configuration error every receiver surface shares: a stable code, the path of the field at
//! fault (`secrets[1].notAfter`) and a sentence. A leaf: it imports nothing of the crate.

use core::fmt;

/// A configuration or argument the caller got wrong. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    code: ConfigErrorCode,
    field: String,
    message: String,
}

/// What kind of configuration mistake it is; each has a stable kebab-case [`code`](ConfigErrorCode::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorCode {
    /// A value has the wrong type or shape.
    InvalidConfig,
    /// `scheme` names a preset that does not exist.
    UnknownPreset,
    /// A scheme field is inconsistent or out of range.
    InvalidScheme,
    /// The secret list is empty.
    NoSecrets,
    /// A secret is empty, not text, or not decodable in the scheme's secret format.
    InvalidSecret,
    /// A secret is shorter than [`MIN_SECRET_BYTES`](crate::MIN_SECRET_BYTES) and weak secrets were not allowed.
    WeakSecret,
    /// `platformName` is missing or blank.
    InvalidPlatformName,
    /// A size, depth, count or other option is out of range.
    InvalidOption,
    /// An argument to a call (not the configuration) is unusable.
    InvalidArgument,
}

impl ConfigErrorCode {
    /// Every code, for documentation and uniqueness tests.
    pub const ALL: [ConfigErrorCode; 9] = [
        ConfigErrorCode::InvalidConfig,
        ConfigErrorCode::UnknownPreset,
        ConfigErrorCode::InvalidScheme,
        ConfigErrorCode::NoSecrets,
        ConfigErrorCode::InvalidSecret,
        ConfigErrorCode::WeakSecret,
        ConfigErrorCode::InvalidPlatformName,
        ConfigErrorCode::InvalidOption,
        ConfigErrorCode::InvalidArgument,
    ];

    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            ConfigErrorCode::InvalidConfig => "invalid-config",
            ConfigErrorCode::UnknownPreset => "unknown-preset",
            ConfigErrorCode::InvalidScheme => "invalid-scheme",
            ConfigErrorCode::NoSecrets => "no-secrets",
            ConfigErrorCode::InvalidSecret => "invalid-secret",
            ConfigErrorCode::WeakSecret => "weak-secret",
            ConfigErrorCode::InvalidPlatformName => "invalid-platform-name",
            ConfigErrorCode::InvalidOption => "invalid-option",
            ConfigErrorCode::InvalidArgument => "invalid-argument",
        }
    }
}

impl ConfigError {
    /// A new error about `field` (a dotted path such as `scheme.tolerance.pastSeconds`).
    pub fn new(
        code: ConfigErrorCode,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, found inside `parent`: the path gains `parent` in front (`""` under
    /// `secrets[0]` reads `secrets[0]`, `secret` reads `secrets[0].secret`, `[2]` under `ids` reads
    /// `ids[2]`). Readers of a part take an empty path and are named only here, on the failure path:
    /// formatting the path on every call showed in profiles.
    #[must_use]
    pub fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if parent.is_empty() {
            self.field
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }

    /// The stable code (`weak-secret`).
    pub fn code(&self) -> &'static str {
        self.code.code()
    }

    /// The typed code.
    pub fn kind(&self) -> ConfigErrorCode {
        self.code
    }

    /// The path of the offending field (`secrets[0]`), or `""` when it is the whole value.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// A sentence saying what is wrong and how to fix it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} ({})", self.message, self.code())
        } else {
            write!(f, "{}: {} ({})", self.field, self.message, self.code())
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case() {
        let codes: HashSet<_> = ConfigErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), ConfigErrorCode::ALL.len());
        for c in codes {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
    }

    #[test]
    fn under_prefixes_the_path() {
        let e = |f: &str| ConfigError::new(ConfigErrorCode::InvalidSecret, f, "m");
        assert_eq!(e("").under("secrets[0]").field(), "secrets[0]");
        assert_eq!(e("secret").under("secrets[1]").field(), "secrets[1].secret");
        assert_eq!(e("[2]").under("ids").field(), "ids[2]");
        assert_eq!(e("maxBodyBytes").under("").field(), "maxBodyBytes");
        assert_eq!(e("b").under("a").under("x[3]").field(), "x[3].a.b");
        let u = e("k").under("p");
        assert_eq!(
            (u.kind(), u.message()),
            (ConfigErrorCode::InvalidSecret, "m")
        );
    }

    #[test]
    fn display_names_field_and_code() {
        let e = ConfigError::new(ConfigErrorCode::WeakSecret, "secrets[0]", "too short");
        assert_eq!(e.to_string(), "secrets[0]: too short (weak-secret)");
    }
}
