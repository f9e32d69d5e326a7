#![allow(clippy::unwrap_used)]
use virtuous_sync::event::ResourceKind;
use virtuous_sync::sync::*;
#[test]
fn print() {
    let o = SyncOptions::new("a", "b");
    let vals: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/tmp/vals.json").unwrap()).unwrap();
    for (name, v) in vals.as_object().unwrap() {
        let (kind, rest) = match name.strip_prefix("c:") { Some(r) => (ResourceKind::Contact, r), None => (ResourceKind::Gift, name.as_str()) };
        let f = rest.split('#').next().unwrap();
        let spec = o.fields(kind).unwrap().iter().find(|s| s.name == f).unwrap();
        println!("DIGEST {name} {}", spec_digest(v, spec));
    }
}
