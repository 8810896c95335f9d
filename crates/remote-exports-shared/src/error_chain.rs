//! Errors as one line of text: what a FAILED Reason, a hook's message and a log line show.

use std::error::Error;

/// Each error in the chain, outermost first, joined with `: `. A cause whose text an outer error
/// already shows is left out: many errors repeat their source in their own message. What a
/// failed custom resource puts in its Reason; as useful in a log line.
pub fn source_chain(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !text.is_empty() && !parts.iter().any(|shown| shown.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}

/// Whether an error chain's text says a TLS certificate was not trusted (rustls and the platform
/// verifiers say "certificate", as in `invalid peer certificate: UnknownIssuer`): a failure that no
/// retry can heal.
pub fn is_untrusted_certificate(chain: &str) -> bool {
    chain.contains("certificate") || chain.contains("UnknownIssuer")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SDK-style error: an outer message around its cause.
    #[derive(Debug, thiserror::Error)]
    enum Sdk {
        #[error("{0}")]
        Around(&'static str, #[source] Box<Sdk>),
        #[error("{0}")]
        Cause(&'static str),
    }

    use Sdk::{Around, Cause};

    #[test]
    fn the_chain_is_outermost_first_and_shows_a_repeated_cause_once() {
        let outer = Around("dispatch failure: connection refused", Box::new(Cause("connection refused")));
        assert_eq!(source_chain(&outer), "dispatch failure: connection refused");
        let other = Around("service error", Box::new(Cause("AccessDenied")));
        assert_eq!(source_chain(&other), "service error: AccessDenied");
    }

    #[test]
    fn certificate_failures_are_told_apart() {
        assert!(is_untrusted_certificate(
            "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer"
        ));
        assert!(!is_untrusted_certificate(
            "error sending request: client error (Connect): tcp connect error: Connection refused"
        ));
    }
}
