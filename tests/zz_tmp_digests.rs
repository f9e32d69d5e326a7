#![allow(clippy::unwrap_used)]
use virtuous_sync::sync::*;
#[test]
fn print() {
    let o = SyncOptions::new("a", "b");
    let specs = o.fields(virtuous_sync::event::ResourceKind::Gift).unwrap();
    let vals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("/tmp/vals.json").unwrap()).unwrap();
    for (name, v) in vals.as_object().unwrap() {
        let f = name.split('#').next().unwrap();
        let spec = specs.iter().find(|s| s.name == f).unwrap();
        println!("DIGEST {name} {}", spec_digest(v, spec));
    }
}
