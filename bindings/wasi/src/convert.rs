//! WIT records <-> core types. Inputs become the JSON shape of the JS API (camelCase keys, unset
//! options omitted, never `null`), so the core validates them exactly as it does for the npm package.

use crate::bindings::exports::virtuous::sync::receiver as wit;
use serde_json::{Map, Value};
use virtuous_sync::ConfigError;
use virtuous_sync::Headers;

/// A JSON object under construction that only receives the options that are set.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn set(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    fn opt<T>(mut self, key: &str, value: Option<&T>, to_json: impl FnOnce(&T) -> Value) -> Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), to_json(v));
        }
        self
    }

    fn opt_str(self, key: &str, value: Option<&String>) -> Self {
        self.opt(key, value, |s| Value::String(s.clone()))
    }

    fn opt_bool(self, key: &str, value: Option<bool>) -> Self {
        self.opt(key, value.as_ref(), |b| Value::Bool(*b))
    }

    fn opt_num<N: Copy + Into<serde_json::Number>>(self, key: &str, value: Option<N>) -> Self {
        self.opt(key, value.as_ref(), |n| Value::Number((*n).into()))
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().cloned().map(Value::String).collect())
}

/// A core configuration error as the WIT `error` record.
pub(crate) fn error(e: ConfigError) -> wit::Error {
    wit::Error {
        code: e.code().to_owned(),
        field: e.field().to_owned(),
        message: e.message().to_owned(),
        module: "config".to_owned(),
    }
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
        wit::SchemeSpec::Preset(name) => Value::String(name.clone()),
        wit::SchemeSpec::Custom(s) => Obj::default()
            .opt_str("preset", s.preset.as_ref())
            .opt("headers", s.headers.as_ref(), |h| strings(h))
            .opt_str("encoding", s.encoding.as_ref())
            .opt_str("prefix", s.prefix.as_ref())
            .opt_bool("prefixRequired", s.prefix_required)
            .opt_str("format", s.format.as_ref())
            .opt_str("version", s.version.as_ref())
            .opt_str("signedContent", s.signed_content.as_ref())
            .opt_str("timestampHeader", s.timestamp_header.as_ref())
            .opt_str("idHeader", s.id_header.as_ref())
            .opt("tolerance", s.tolerance.as_ref(), |t| {
                Obj::default()
                    .opt_num("pastSeconds", t.past_seconds)
                    .opt_num("futureSeconds", t.future_seconds)
                    .done()
            })
            .opt_str("secretFormat", s.secret_format.as_ref())
            .done(),
    }
}

/// The `SyncConfig` object (`sync-json` parsed into `sync`; text that is not JSON is an error).
pub(crate) fn config(c: &wit::Config) -> Result<Value, wit::Error> {
    let sync = crate::json::parse_opt(c.sync_json.as_ref(), "sync")?;
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
            strings(e)
        })
        .opt_bool("allowWeakSecrets", c.allow_weak_secrets)
        .opt_bool("diagnostics", c.diagnostics)
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
        .opt_str("encoding", o.encoding.as_ref())
        .opt_bool("allowWeakSecrets", o.allow_weak_secrets)
        .done()
}

/// `generateSecret` options.
pub(crate) fn secret_options(o: &wit::SecretOptions) -> Value {
    Obj::default()
        .opt_num("bytes", o.bytes)
        .opt_str("format", o.format.as_ref())
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

/// The kebab-case name serde gives a unit enum (`Replay::NotChecked` -> `not-checked`), i.e. exactly
/// what the npm package shows.
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
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
) -> wit::Verification {
    wit::Verification {
        ok: v.ok,
        code: v.code.map(str::to_owned),
        message: v.message,
        secret_index: v.secret_index,
        secret_id: v.secret_id,
        replay: serde_name(&v.replay),
        warnings: notices(v.warnings),
        diagnostics: notices(v.diagnostics),
    }
}

/// A signature and its headers (sorted by name, as the core's map is).
pub(crate) fn signed(s: virtuous_sync::receive::signature::Signed) -> wit::Signed {
    wit::Signed {
        signature: s.signature,
        headers: s.headers.into_iter().collect(),
    }
}

fn event(e: virtuous_sync::event::Event) -> wit::Event {
    wit::Event {
        event_type: e.event_type.map(|t| t.as_str().to_owned()),
        raw_event_type: e.raw_event_type,
        resource_kind: e.resource_kind.map(|k| k.as_str().to_owned()),
        event_id: e.event_id,
        timestamp: e.timestamp,
        organization_id: e.organization_id,
        resource_id: e.resource_id,
        modified_date_time_utc: e.modified_date_time_utc,
        resource_json: e.resource.map(|r| r.to_string()),
    }
}

/// A receipt.
pub(crate) fn receipt(r: virtuous_sync::receive::Receipt) -> wit::Receipt {
    wit::Receipt {
        status: r.status,
        reason: r.reason.code().to_owned(),
        authentic: r.authentic,
        dead_letter: r.dead_letter,
        event: r.event.map(event),
        dedupe_key: r.dedupe_key,
        secret_index: r.secret_index,
        secret_id: r.secret_id,
        replay: serde_name(&r.replay),
        warnings: notices(r.warnings),
        diagnostics: notices(r.diagnostics),
        error: r.error.map(notice),
    }
}
