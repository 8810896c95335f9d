//! Fingerprints: what the read registry keeps instead of a value.
//!
//! No export value is ever stored. A fingerprint is HMAC-SHA256 over the export's name and value,
//! keyed with the ID of the stack that exports it. That ID ends in a random UUID, and only principals
//! who can list the publisher's exports or describe its stacks know it; they can read the value
//! itself anyway. So a reader of the table cannot test guesses of a low-entropy value ("true", a port
//! number) or of a NoEcho secret against a fingerprint. The price: a value re-exported by a new stack
//! (the old one deleted and recreated) shows as `changed`, which is worth a look anyway.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::published::ExportOrigin;

/// The fingerprint scheme, stored with every fingerprint so that it can change without confusion.
pub const FINGERPRINT_SCHEME: &str = "hmac-sha256-stack:v1";

/// The fingerprint of `value` as exported by `origin` (see the module docs for why it is keyed).
pub fn fingerprint(origin: &ExportOrigin, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(origin.exporting_stack_id.as_bytes()).expect("HMAC takes any key");
    mac.update(origin.export.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    // 128 bits tell values apart as well as 256 would, and keep items small.
    hex_128(&digest)
}

/// The first 128 bits of a digest, in lower-case hex.
fn hex_128(digest: &[u8]) -> String {
    hex::encode(&digest[..16])
}

/// An opaque, stable stand-in for `text` (SHA-256, 128 bits in hex), for keys that must not hold it.
pub fn opaque_id(text: &str) -> String {
    use sha2::Digest;
    hex_128(&Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(export: &str, stack: &str) -> ExportOrigin {
        ExportOrigin { export: export.into(), exporting_stack_id: stack.into() }
    }

    #[test]
    fn fingerprints_depend_on_value_name_and_stack_and_hide_the_value() {
        let base = fingerprint(&origin("flag", "stack/a/1"), "true");
        assert_eq!(base.len(), 32);
        assert_eq!(base, fingerprint(&origin("flag", "stack/a/1"), "true"));
        assert_ne!(base, fingerprint(&origin("flag", "stack/a/1"), "false"));
        assert_ne!(base, fingerprint(&origin("flag2", "stack/a/1"), "true"));
        assert_ne!(base, fingerprint(&origin("flag", "stack/a/2"), "true"));
        // Without the stack's ID a guess cannot be tested: an unkeyed hash of the same input differs.
        assert_ne!(base, fingerprint(&origin("flag", ""), "true"));
        // Name and value are separated, so moving bytes between them changes the fingerprint.
        assert_ne!(fingerprint(&origin("ab", "s"), "c"), fingerprint(&origin("a", "s"), "bc"));
    }
}
