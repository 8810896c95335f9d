//! What the demo and `sam-local` print: numbered sections and checked expectations, and the sample
//! events they read.

use std::path::Path;

use serde_json::Value;

use test_support::BoxError;

/// Reads `<dir>/<name>.json`.
pub fn read_event(dir: &Path, name: &str) -> Result<Value, BoxError> {
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

pub fn section(title: &str) {
    println!("\n━━ {title}");
}

/// Prints a tick for a met expectation; an unmet one is the error that ends the story.
pub fn expect(condition: bool, what: &str) -> Result<(), BoxError> {
    if condition {
        println!("  ✓ {what}");
        Ok(())
    } else {
        Err(format!("expected: {what}").into())
    }
}
