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

/// The fingerprint of `value` as exported by `origin` (see the module docs for why it is keyed). A
/// parameter's is its ARN, version and the time the version was written, without the value: a
/// version is immutable, so nothing of the value needs keeping, and nothing can be guessed from it.
pub fn fingerprint(origin: &ExportOrigin, value: &str) -> String {
    if let Some(parameter) = &origin.parameter {
        let version = parameter.version.map_or_else(String::new, |v| v.to_string());
        return opaque_id(&format!("{}\0{version}\0{}", origin.exporting_stack_id, parameter.modified_ms));
    }
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
        ExportOrigin { export: export.into(), exporting_stack_id: stack.into(), ..ExportOrigin::default() }
    }

    #[test]
    fn a_parameters_fingerprint_is_its_version_not_its_value() {
        let arn = "arn:aws:ssm:eu-west-1:222222222222:parameter/booking/flag";
        let read = |version, modified_ms| ExportOrigin {
            export: "/booking/flag".into(),
            exporting_stack_id: arn.into(),
            parameter: Some(crate::published::ParameterVersion { version: Some(version), modified_ms }),
        };
        assert_eq!(fingerprint(&read(3, 1000), "true"), fingerprint(&read(3, 1000), "false"));
        assert_ne!(fingerprint(&read(3, 1000), "true"), fingerprint(&read(4, 2000), "true"));
        // Deleted and created again: version 1 again, written later.
        assert_ne!(fingerprint(&read(1, 1000), "x"), fingerprint(&read(1, 5000), "x"));
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
