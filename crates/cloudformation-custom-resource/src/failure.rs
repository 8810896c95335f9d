//! Why a request failed, as the Reason a stack author reads, with the error behind it kept.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use remote_exports_shared::source_chain;

use crate::response::{MAX_RESPONSE_BYTES, truncate_utf8};

/// Why a request failed: the Reason a stack author reads in the stack's events.
///
/// Build one with [`Failure::new`] from a sentence that says what went wrong and what to do, or
/// from an error with [`Failure::from_error`] or [`Failure::caused_by`], which keep the error's
/// whole source chain in the Reason and as [`Error::source`]. `Failure` is itself an
/// [`Error`], so there is no blanket `From` for `?`: write `.map_err(Failure::from_error)?`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Failure {
    /// Shown in the stack's events: say what went wrong and what to do.
    pub reason: String,
    /// For a failed Create, the ID the rollback's Delete will carry. Ignored on Update and Delete,
    /// where the current ID is always kept so that a failure is never mistaken for a replacement.
    pub physical_resource_id: Option<String>,
    /// A short `key=value` summary for the answer's log line (never secrets).
    pub detail: String,
    cause: Option<Arc<dyn Error + Send + Sync>>,
}

impl Failure {
    /// A failure with this Reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Failure { reason: reason.into(), physical_resource_id: None, detail: String::new(), cause: None }
    }

    /// A failure whose Reason is the error's source chain, outermost first (`service error:
    /// ParameterNotFound: …`), within CloudFormation's 4096 bytes.
    pub fn from_error(error: impl Error + Send + Sync + 'static) -> Self {
        Failure { reason: bounded(source_chain(&error)), cause: Some(Arc::new(error)), ..Failure::new("") }
    }

    /// A failure whose Reason is `reason`, then `: ` and the error's source chain. Write `reason` as
    /// what was being done, without a final full stop: `Reading parameter /app/url in eu-west-1`.
    pub fn caused_by(reason: impl fmt::Display, error: impl Error + Send + Sync + 'static) -> Self {
        let reason = bounded(format!("{reason}: {}", source_chain(&error)));
        Failure { reason, cause: Some(Arc::new(error)), ..Failure::new("") }
    }

    /// The ID a failed Create answers with.
    pub fn with_physical_resource_id(self, id: impl Into<String>) -> Self {
        Failure { physical_resource_id: Some(id.into()), ..self }
    }

    /// Adds a summary to the answer's log line.
    pub fn detail(self, detail: impl Into<String>) -> Self {
        Failure { detail: detail.into(), ..self }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn Error + 'static))
    }
}

/// No Reason can be longer than the whole answer; the encoder cuts it further to fit.
fn bounded(mut reason: String) -> String {
    let kept = truncate_utf8(&reason, MAX_RESPONSE_BYTES).len();
    reason.truncate(kept);
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a cause, as SDK errors are built: `service error` around the operation's error.
    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: String,
        #[source]
        cause: Option<Box<Layer>>,
    }

    fn layers(texts: &[&str]) -> Layer {
        texts
            .iter()
            .rev()
            .fold(None, |cause, text| Some(Layer { text: (*text).to_owned(), cause: cause.map(Box::new) }))
            .expect("at least one layer")
    }

    #[test]
    fn the_reason_keeps_the_whole_chain_and_the_source_is_kept() {
        let error = layers(&["service error", "ParameterNotFound: Parameter /app/url not found."]);
        let failure = Failure::from_error(error);
        assert_eq!(failure.reason, "service error: ParameterNotFound: Parameter /app/url not found.");
        let source = failure.source().expect("the error is kept");
        assert_eq!(source.to_string(), "service error");
        assert_eq!(
            source.source().expect("and its cause").to_string(),
            "ParameterNotFound: Parameter /app/url not found."
        );
    }

    #[test]
    fn context_comes_first_and_repeated_causes_are_shown_once() {
        let error = layers(&["dispatch failure: connection refused", "connection refused"]);
        let failure = Failure::caused_by("Reading parameter /app/url in eu-west-1", error);
        assert_eq!(failure.reason, "Reading parameter /app/url in eu-west-1: dispatch failure: connection refused");
        assert_eq!(failure.to_string(), failure.reason);
    }

    #[test]
    fn a_huge_chain_stays_within_the_answer_limit() {
        let long = "é".repeat(5000);
        let failure = Failure::from_error(layers(&[&long, "cause"]));
        assert!(failure.reason.len() <= MAX_RESPONSE_BYTES);
        assert!(failure.reason.starts_with("éé"));
    }

    #[test]
    fn a_plain_failure_has_no_source() {
        let failure = Failure::new("Name is required.").with_physical_resource_id("id").detail("k=v");
        assert!(failure.source().is_none());
        assert_eq!((failure.physical_resource_id.as_deref(), failure.detail.as_str()), (Some("id"), "k=v"));
    }
}
