//! WIT records <-> core types. Inputs become the JSON shape of the JS API (camelCase keys, unset
//! options omitted, never `null`), so the core validates them exactly as it does for the npm package.

use crate::bindings::exports::virtuous::sync::receiver as wit;
use crate::bindings::exports::virtuous::sync::types::Error;
use serde_json::{Map, Value};
use virtuous_sync::ConfigError;
use virtuous_sync::Headers;

/// A JSON object under construction that only receives the options that are set.
#[derive(Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    pub(crate) fn set(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    pub(crate) fn opt<T>(
        mut self,
        key: &str,
        value: Option<&T>,
        to_json: impl FnOnce(&T) -> Value,
    ) -> Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), to_json(v));
        }
        self
    }

    pub(crate) fn opt_str(self, key: &str, value: Option<&String>) -> Self {
        self.opt(key, value, |s| Value::String(s.clone()))
    }

    pub(crate) fn opt_bool(self, key: &str, value: Option<bool>) -> Self {
        self.opt(key, value.as_ref(), |b| Value::Bool(*b))
    }

    pub(crate) fn opt_num<N: Copy + Into<serde_json::Number>>(
        self,
        key: &str,
        value: Option<N>,
    ) -> Self {
        self.opt(key, value.as_ref(), |n| Value::Number((*n).into()))
    }

    pub(crate) fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().cloned().map(Value::String).collect())
}

/// A core configuration error as the WIT `error` record.
pub(crate) fn error(e: ConfigError) -> Error {
    crate::json::coded(
        e.code(),
        "config",
        e.field().to_owned(),
        e.message().to_owned(),
    )
}

/// The JS API's name of each enumerated option (what the core's JSON reader accepts).
fn preset(p: wit::Preset) -> Value {
    Value::from(match p {
        wit::Preset::Virtuous => "virtuous",
        wit::Preset::StandardWebhooks => "standard-webhooks",
        wit::Preset::Github => "github",
        wit::Preset::Vomo => "vomo",
        wit::Preset::Raise => "raise",
    })
}

fn encoding(e: &wit::Encoding) -> Value {
    Value::from(match e {
        wit::Encoding::Auto => "auto",
        wit::Encoding::Hex => "hex",
        wit::Encoding::Base64 => "base64",
    })
}

fn tag_encoding(e: &wit::TagEncoding) -> Value {
    Value::from(match e {
        wit::TagEncoding::Hex => "hex",
        wit::TagEncoding::Base64 => "base64",
    })
}

fn signature_format(f: &wit::SignatureFormat) -> Value {
    Value::from(match f {
        wit::SignatureFormat::Single => "single",
        wit::SignatureFormat::VersionedList => "versioned-list",
    })
}

fn signed_content(c: &wit::SignedContent) -> Value {
    Value::from(match c {
        wit::SignedContent::Body => "body",
        wit::SignedContent::TimestampBody => "timestamp.body",
        wit::SignedContent::IdTimestampBody => "id.timestamp.body",
    })
}

fn secret_format(f: &wit::SecretFormat) -> Value {
    Value::from(match f {
        wit::SecretFormat::Raw => "raw",
        wit::SecretFormat::Whsec => "whsec",
    })
}

fn generated_format(f: &wit::GeneratedFormat) -> Value {
    Value::from(match f {
        wit::GeneratedFormat::Base64url => "base64url",
        wit::GeneratedFormat::Hex => "hex",
        wit::GeneratedFormat::Whsec => "whsec",
    })
}

/// `{ id?, secret, notAfter? }`.
pub(crate) fn secret(s: &wit::Secret) -> Value {
    Obj::default()
        .opt_str("id", s.id.as_ref())
        .set("secret", Value::String(s.secret.clone()))
        .opt_num("notAfter", s.not_after)
        .done()
}

/// A preset name (string) or a scheme object.
fn scheme_spec(spec: &wit::SchemeSpec) -> Value {
    match spec {
        wit::SchemeSpec::Preset(name) => preset(*name),
        wit::SchemeSpec::Custom(s) => Obj::default()
            .opt("preset", s.preset.as_ref(), |p| preset(*p))
            .opt("headers", s.headers.as_ref(), |h| strings(h))
            .opt("encoding", s.encoding.as_ref(), encoding)
            .opt_str("prefix", s.prefix.as_ref())
            .opt_bool("prefixRequired", s.prefix_required)
            .opt("format", s.format.as_ref(), signature_format)
            .opt_str("version", s.version.as_ref())
            .opt("signedContent", s.signed_content.as_ref(), signed_content)
            .opt_str("timestampHeader", s.timestamp_header.as_ref())
            .opt_str("idHeader", s.id_header.as_ref())
            .opt("tolerance", s.tolerance.as_ref(), |t| {
                Obj::default()
                    .opt_num("pastSeconds", t.past_seconds)
                    .opt_num("futureSeconds", t.future_seconds)
                    .done()
            })
            .opt("secretFormat", s.secret_format.as_ref(), secret_format)
            .done(),
    }
}

/// The `SyncConfig` object (`sync` parsed; text that is not JSON is an error).
pub(crate) fn config(c: &wit::Config) -> Result<Value, Error> {
    let sync = crate::json::parse_opt(c.sync.as_ref(), "sync")?;
    Ok(Obj::default()
        .set(
            "secrets",
            Value::Array(c.secrets.iter().map(secret).collect()),
        )
        .set("platformName", Value::String(c.platform_name.clone()))
        .opt("scheme", c.scheme.as_ref(), scheme_spec)
        .opt_num("maxBodyBytes", c.max_body_bytes)
        .opt_num("maxDepth", c.max_depth)
        .opt("subscribedEvents", c.subscribed_events.as_ref(), |e| {
            let names = e
                .iter()
                .map(|t| Value::from(crate::types::core_event_type(*t).as_str()));
            Value::Array(names.collect())
        })
        .opt_bool("allowWeakSecrets", c.allow_weak_secrets)
        .opt_bool("diagnostics", c.diagnostics)
        .opt("product", c.product.as_ref(), |p| {
            Value::from(crate::types::core_product(*p).as_str())
        })
        .opt("raise", c.raise.as_ref(), |r| {
            Obj::default()
                .opt("eventTypes", r.event_types.as_ref(), |m| {
                    Value::Object(
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
                            .collect(),
                    )
                })
                .done()
        })
        .opt("sync", Some(&sync).filter(|v| !v.is_null()), Value::clone)
        .done())
}

/// `VerifyOptions`.
pub(crate) fn verify_options(o: &wit::VerifyOptions) -> Value {
    Obj::default()
        .opt("scheme", o.scheme.as_ref(), scheme_spec)
        .opt_str("timestamp", o.timestamp.as_ref())
        .opt_str("id", o.id.as_ref())
        .opt_num("nowMs", o.now_ms)
        .opt_bool("allowWeakSecrets", o.allow_weak_secrets)
        .opt_bool("diagnostics", o.diagnostics)
        .done()
}

/// `SignOptions`.
pub(crate) fn sign_options(o: &wit::SignOptions) -> Value {
    Obj::default()
        .opt("scheme", o.scheme.as_ref(), scheme_spec)
        .opt_num("timestamp", o.timestamp)
        .opt_str("id", o.id.as_ref())
        .opt("encoding", o.encoding.as_ref(), tag_encoding)
        .opt_bool("allowWeakSecrets", o.allow_weak_secrets)
        .done()
}

/// `generateSecret` options.
pub(crate) fn secret_options(o: &wit::SecretOptions) -> Value {
    Obj::default()
        .opt_num("bytes", o.bytes)
        .opt("format", o.format.as_ref(), generated_format)
        .done()
}

/// Header pairs in order, repeats kept.
pub(crate) fn headers(pairs: &[(String, String)]) -> Headers {
    let mut h = Headers::new();
    for (name, value) in pairs {
        h.append(name, value);
    }
    h
}

fn replay(r: virtuous_sync::receive::signature::Replay) -> wit::Replay {
    use virtuous_sync::receive::signature::Replay;
    match r {
        Replay::Checked => wit::Replay::Checked,
        Replay::Unavailable => wit::Replay::Unavailable,
        Replay::NotChecked => wit::Replay::NotChecked,
    }
}

/// A verification failure code as the WIT enum (the core's codes are `&'static str`s of its
/// closed `SignatureError` set; `tests/closed_sets.rs` checks the WIT lists them all).
fn verification_code(code: &str) -> Result<wit::VerificationCode, Error> {
    use wit::VerificationCode as C;
    Ok(match code {
        "no-secrets" => C::NoSecrets,
        "missing-signature" => C::MissingSignature,
        "malformed-signature" => C::MalformedSignature,
        "signature-mismatch" => C::SignatureMismatch,
        "missing-timestamp" => C::MissingTimestamp,
        "malformed-timestamp" => C::MalformedTimestamp,
        "timestamp-too-old" => C::TimestampTooOld,
        "timestamp-too-new" => C::TimestampTooNew,
        "missing-id" => C::MissingId,
        other => {
            return Err(crate::json::coded(
                "internal",
                "ops",
                String::new(),
                format!("verification code `{other}` is not in the WIT enum"),
            ))
        }
    })
}

/// A receipt reason as the WIT enum (`None`: a reason the WIT enum does not list, never the case).
fn receipt_reason(r: virtuous_sync::receive::ReceiptReason) -> Option<wit::ReceiptReason> {
    use virtuous_sync::receive::ReceiptReason as R;
    use wit::ReceiptReason as W;
    #[allow(unreachable_patterns)]
    Some(match r {
        R::Accepted => W::Accepted,
        R::UnsubscribedEvent => W::UnsubscribedEvent,
        R::UnknownEventType => W::UnknownEventType,
        R::DeadLetter => W::DeadLetter,
        R::MissingSignature => W::MissingSignature,
        R::MalformedSignature => W::MalformedSignature,
        R::SignatureMismatch => W::SignatureMismatch,
        R::MissingTimestamp => W::MissingTimestamp,
        R::MalformedTimestamp => W::MalformedTimestamp,
        R::TimestampTooOld => W::TimestampTooOld,
        R::TimestampTooNew => W::TimestampTooNew,
        R::MissingId => W::MissingId,
        R::NoSecrets => W::NoSecrets,
        _ => return None,
    })
}

fn notice(n: virtuous_sync::receive::signature::Notice) -> wit::Notice {
    wit::Notice {
        code: n.code,
        message: n.message,
    }
}

fn notices(list: Vec<virtuous_sync::receive::signature::Notice>) -> Vec<wit::Notice> {
    list.into_iter().map(notice).collect()
}

/// A verification result.
pub(crate) fn verification(
    v: virtuous_sync::receive::signature::Verification,
) -> Result<wit::Verification, Error> {
    Ok(wit::Verification {
        ok: v.ok,
        code: v.code.map(verification_code).transpose()?,
        message: v.message,
        secret_index: v.secret_index,
        secret_id: v.secret_id,
        replay: replay(v.replay),
        warnings: notices(v.warnings),
        diagnostics: notices(v.diagnostics),
    })
}

/// A signature and its headers (sorted by name, as the core's map is).
pub(crate) fn signed(s: virtuous_sync::receive::signature::Signed) -> wit::Signed {
    wit::Signed {
        signature: s.signature,
        headers: s.headers.into_iter().collect(),
    }
}

/// A receipt.
///
/// `receive` never fails, so a value the WIT cannot carry (never the case: the enums list every
/// case) degrades instead of failing: an unlisted reason reads `dead-letter` with the core's code in
/// `error`, an event whose type WIT does not list keeps only its raw fields.
pub(crate) fn receipt(r: virtuous_sync::receive::Receipt) -> wit::Receipt {
    let (reason, unlisted) = match receipt_reason(r.reason) {
        Some(reason) => (reason, None),
        None => (
            wit::ReceiptReason::DeadLetter,
            Some(wit::Notice {
                code: r.reason.code().to_owned(),
                message: "a receipt reason the WIT enum does not list".to_owned(),
            }),
        ),
    };
    wit::Receipt {
        status: r.status,
        reason,
        authentic: r.authentic,
        dead_letter: r.dead_letter,
        event: r.event.and_then(|e| crate::types::wit_event(e).ok()),
        dedupe_key: r.dedupe_key,
        secret_index: r.secret_index,
        secret_id: r.secret_id,
        replay: replay(r.replay),
        warnings: notices(r.warnings),
        diagnostics: notices(r.diagnostics),
        error: unlisted.or(r.error.map(notice)),
    }
}
