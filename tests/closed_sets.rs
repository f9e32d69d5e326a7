//! Every code and reason a caller can branch on is a closed set, listed where callers read it:
//! the TypeScript unions in `pkg/index.d.ts` / `pkg/types.d.ts`, and the WIT enums in `wit/world.wit` (error
//! codes, receipt reasons, verification codes, sync reasons, reconciliation item kinds and reasons).
//!
//! The Rust side is derived from the code, not restated here: error codes from the match arms of
//! every `fn code` of an `…Error` / `…ErrorCode` type in `src/` plus the literal codes the
//! operation dispatcher and the adapters raise; receipt reasons, verification codes and the
//! reconciliation item kinds and reasons from their enums' `ALL`. A new variant with a new code
//! fails this test until the d.ts union and the WIT docs list it; a union member nothing produces
//! fails it too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Kebab-case string literals (`"a-b"` or `"word"`) in `text`.
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('"') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('"') else { break };
        let lit = &after[..j];
        if !lit.is_empty()
            && lit
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && lit.starts_with(|c: char| c.is_ascii_lowercase())
        {
            out.push(lit.to_string());
        }
        rest = &after[j + 1..];
    }
    out
}

/// The body of the block opening at the first `{` at or after `from`.
fn block(text: &str, from: usize) -> &str {
    let open = from + text[from..].find('{').unwrap();
    let mut depth = 0usize;
    for (k, ch) in text[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..open + k];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced braces")
}

/// `type name -> codes` of every `fn code` in an `impl <Type>` block of `src/`.
fn code_fns() -> Vec<(String, String, Vec<String>)> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut at = 0;
        while let Some(i) = text[at..].find("fn code(") {
            let pos = at + i;
            let impl_at = text[..pos].rfind("\nimpl ").unwrap();
            let ty: String = text[impl_at + 6..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push((f.display().to_string(), ty, literals(block(&text, pos + 8))));
            at = pos + 8;
        }
    }
    out
}

/// Every code an error can carry to a caller.
fn rust_error_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (file, ty, lits) in code_fns() {
        // Not thrown: receipt notices of a dead letter (`EnvelopeError`), verification codes
        // (`SignatureError`, checked below) and money errors (thrown as `invalid-money`).
        if ty == "EnvelopeError" || ty == "SignatureError" || ty == "MoneyError" {
            continue;
        }
        if ty.ends_with("Error") || ty.ends_with("ErrorCode") {
            // A `code` without literals delegates (`ConfigError` -> `ConfigErrorCode`).
            assert!(
                !lits.is_empty() || !ty.ends_with("Code"),
                "{file}: {ty}::code has no literal codes"
            );
            codes.extend(lits);
        }
    }
    // Raised by the dispatcher and the adapters directly.
    for rel in [
        "src/ops/mod.rs",
        "src/ops/error.rs",
        "bindings/js/src/lib.rs",
        "bindings/js/src/convert.rs",
        "bindings/wasi/src/reconcile.rs",
    ] {
        let text = read(rel);
        for marker in ["code: \"", "VirtuousSyncError::new(\n            \""] {
            let mut at = 0;
            while let Some(i) = text[at..].find(marker) {
                let start = at + i + marker.len() - 1;
                codes.extend(literals(&text[start..start + 60]).into_iter().take(1));
                at = start + 1;
            }
        }
    }
    codes
}

/// The package's declarations: the hand-written `pkg/index.d.ts` and the generated `pkg/types.d.ts`.
fn dts() -> String {
    read("pkg/index.d.ts") + &read("pkg/types.d.ts")
}

/// The string members of `export type <name> = ...;` in the d.ts.
fn ts_union(dts: &str, name: &str) -> BTreeSet<String> {
    let head = format!("export type {name} =");
    let i = dts
        .find(&head)
        .unwrap_or_else(|| panic!("pkg/index.d.ts and pkg/types.d.ts have no `{head}`"));
    let body = &dts[i + head.len()..];
    let end = body.find(';').unwrap();
    literals(&body[..end]).into_iter().collect()
}

fn codes_of<T: serde::Serialize>(all: &[T]) -> BTreeSet<String> {
    all.iter()
        .map(|v| {
            serde_json::to_value(v)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn assert_same(what: &str, rust: &BTreeSet<String>, listed: &BTreeSet<String>) {
    let missing: Vec<_> = rust.difference(listed).collect();
    let extra: Vec<_> = listed.difference(rust).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: produced by Rust but not listed: {missing:?}; listed but produced by nothing: {extra:?}"
    );
}

/// The cases of `enum <name> { ... }` in the WIT (comments skipped).
fn wit_enum(wit: &str, name: &str) -> BTreeSet<String> {
    let head = format!("enum {name} {{");
    let i = wit
        .find(&head)
        .unwrap_or_else(|| panic!("wit/world.wit has no `{head}`"));
    let body = &wit[i + head.len()..];
    let body = &body[..body.find('}').unwrap()];
    body.lines()
        .map(|l| l.split("//").next().unwrap())
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn error_codes_are_listed_in_the_dts_and_the_wit_docs() {
    let rust = rust_error_codes();
    assert!(
        rust.contains("legacy-reconcile-input") && rust.contains("size-hint-too-large"),
        "{rust:?}"
    );
    let dts = dts();
    assert_same("ErrorCode", &rust, &ts_union(&dts, "ErrorCode"));
    let wit = read("wit/world.wit");
    // `random-unavailable` comes from the npm adapter's host randomness only (WIT's is infallible).
    let mut wit_codes = rust.clone();
    wit_codes.remove("random-unavailable");
    assert_same(
        "WIT enum error-code",
        &wit_codes,
        &wit_enum(&wit, "error-code"),
    );
}

#[test]
fn receipt_and_verification_codes_are_listed() {
    use virtuous_sync::receive::signature::SignatureError;
    use virtuous_sync::receive::ReceiptReason;
    let dts = dts();
    let wit = read("wit/world.wit");
    let reasons: BTreeSet<String> = ReceiptReason::ALL
        .iter()
        .map(|r| r.code().to_string())
        .collect();
    assert_same("ReceiptReason", &reasons, &ts_union(&dts, "ReceiptReason"));
    assert_same(
        "WIT enum receipt-reason",
        &reasons,
        &wit_enum(&wit, "receipt-reason"),
    );
    let codes: BTreeSet<String> = SignatureError::ALL
        .iter()
        .map(|r| r.code().to_string())
        .collect();
    assert_same(
        "VerificationCode",
        &codes,
        &ts_union(&dts, "VerificationCode"),
    );
    assert_same(
        "WIT enum verification-code",
        &codes,
        &wit_enum(&wit, "verification-code"),
    );
}

#[test]
fn reconciliation_kinds_and_reasons_are_listed() {
    use virtuous_sync::reconcile::{ItemKind, ItemReason};
    let dts = dts();
    let wit = read("wit/world.wit");
    let kinds = codes_of(&ItemKind::ALL);
    assert_same(
        "ReconcileItemKind",
        &kinds,
        &ts_union(&dts, "ReconcileItemKind"),
    );
    assert_same("WIT enum item-kind", &kinds, &wit_enum(&wit, "item-kind"));
    let reasons = codes_of(&ItemReason::ALL);
    assert_same(
        "ReconcileItemReason",
        &reasons,
        &ts_union(&dts, "ReconcileItemReason"),
    );
    assert_same(
        "WIT enum item-reason",
        &reasons,
        &wit_enum(&wit, "item-reason"),
    );
}

#[test]
fn sync_reasons_are_listed() {
    let (_, _, lits) = code_fns()
        .into_iter()
        .find(|(_, ty, _)| ty == "Reason")
        .expect("Reason::code");
    let reasons: BTreeSet<String> = lits.into_iter().collect();
    let dts = dts();
    assert_same("Reason", &reasons, &ts_union(&dts, "Reason"));
    assert_same(
        "WIT enum reason",
        &reasons,
        &wit_enum(&read("wit/world.wit"), "reason"),
    );
}

#[test]
fn product_and_record_kinds_are_listed() {
    use virtuous_sync::{Product, ResourceKind};
    let dts = dts();
    let wit = read("wit/world.wit");
    let products: BTreeSet<String> = Product::ALL
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    assert_same("Product", &products, &ts_union(&dts, "Product"));
    assert_same("WIT enum product", &products, &wit_enum(&wit, "product"));
    let kinds: BTreeSet<String> = ResourceKind::ALL
        .iter()
        .map(|k| k.as_str().to_string())
        .collect();
    assert_same("ResourceKind", &kinds, &ts_union(&dts, "ResourceKind"));
    assert_same(
        "WIT enum resource-kind",
        &kinds,
        &wit_enum(&wit, "resource-kind"),
    );
    let actions: BTreeSet<String> = ["create", "update", "delete", "submit"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in &actions {
        // The core's Action serialises to exactly these names.
        let v: virtuous_sync::Action = serde_json::from_value(serde_json::json!(a)).unwrap();
        assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(a));
    }
    assert_same("Action", &actions, &ts_union(&dts, "Action"));
    assert_same("WIT enum action", &actions, &wit_enum(&wit, "action"));
}

#[test]
fn wit_enums_are_read_and_compared() {
    // The check above can fail: a case missing from, or added to, a WIT enum is reported.
    let wit = "enum e {\n  // a comment\n  a-b,\n  c, // why\n  d\n}";
    let cases = wit_enum(wit, "e");
    assert_eq!(cases.len(), 3, "{cases:?}");
    let rust: BTreeSet<String> = ["a-b", "c", "x"].iter().map(|s| s.to_string()).collect();
    let result = std::panic::catch_unwind(|| assert_same("e", &rust, &cases));
    assert!(result.is_err(), "a differing WIT enum must fail the check");
}
