//! The HTTP request a decision asks the host to make against the Virtuous API: a leaf both
//! directions of sync share (an inbound `fetch`/`verify`, an outbound `submit`/`fetch`).

use crate::event::ResourceKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An HTTP request to make against the Virtuous API (a `GET` has a `null` body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "SyncRequest")
)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// `POST`, `PUT` or `GET`.
    #[cfg_attr(feature = "ts", ts(type = "\"POST\" | \"PUT\" | \"GET\""))]
    pub method: String,
    /// Path under the API host (`/api/v2/Gift/Transaction`).
    pub path: String,
    /// JSON body (absent for a `GET`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub body: Value,
}

impl Request {
    /// `GET` of one Virtuous record (`/api/Gift/{id}`, `/api/Contact/{id}`; the body is `null`):
    /// the read an inbound `verify`/`fetch` and a full-record update's `fetch` ask for.
    pub(crate) fn get_record(kind: ResourceKind, id: &str) -> Request {
        let path = match kind {
            ResourceKind::Gift => format!("/api/Gift/{id}"),
            _ => format!("/api/Contact/{id}"),
        };
        Request {
            method: "GET".into(),
            path,
            body: Value::Null,
        }
    }
}
