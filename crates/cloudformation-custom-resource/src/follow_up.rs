//! Work a resource wants done once its SUCCESS answer is decided, such as recording what was read.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

use crate::deadline::{Interrupted, run_guarded};

/// Work that runs beside the delivery of a SUCCESS answer, never before it and never instead of it.
///
/// The [`crate::Driver`] starts it together with the PUT, bounds it by the same deadline, and
/// counts its failure in the answer's log line. Whatever it does (fail, hang, panic), the answer
/// CloudFormation gets is the one already decided. A FAILED answer drops it without running it.
pub struct FollowUp {
    name: &'static str,
    task: Pin<Box<dyn Future<Output = Result<(), FollowUpError>> + Send + 'static>>,
}

/// Why a follow-up failed, as its task said.
type FollowUpError = Box<dyn Error + Send + Sync + 'static>;

impl FollowUp {
    /// `name` goes into the log line, and so does the task's error (with its sources): it should
    /// say what failed and its error code.
    pub fn new<E>(name: &'static str, task: impl Future<Output = Result<(), E>> + Send + 'static) -> Self
    where
        E: Into<FollowUpError>,
    {
        FollowUp { name, task: Box::pin(async move { task.await.map_err(Into::into) }) }
    }

    /// The name given at creation.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the work on a task of its own until `until`; a panic or a timeout is a failure.
    pub(crate) async fn run(self, until: Instant) -> FollowUpOutcome {
        let name = self.name;
        let error = match run_guarded(until, self.task).await {
            Ok(Ok(())) => return FollowUpOutcome { name, error: None },
            Ok(Err(error)) => remote_exports_shared::source_chain(error.as_ref()),
            Err(Interrupted::TimedOut { waited }) => format!("did not finish within {} ms", waited.as_millis()),
            Err(Interrupted::Panicked { message }) => format!("panicked ({message})"),
        };
        tracing::warn!(follow_up = name, %error, "follow-up failed; the answer CloudFormation got is unaffected");
        FollowUpOutcome { name, error: Some(error) }
    }
}

impl fmt::Debug for FollowUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowUp").field("name", &self.name).finish_non_exhaustive()
    }
}

/// How a [`FollowUp`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FollowUpOutcome {
    /// The follow-up's name.
    pub name: &'static str,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl FollowUpOutcome {
    /// `name:ok` or `name:failed`, for the answer's log line.
    pub fn summary(&self) -> String {
        format!("{}:{}", self.name, if self.error.is_some() { "failed" } else { "ok" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(1)
    }

    #[tokio::test(start_paused = true)]
    async fn success_failure_panic_and_hang_are_all_outcomes() {
        let ok = FollowUp::new("registry", async { Ok::<(), String>(()) }).run(soon()).await;
        assert_eq!((ok.summary(), ok.error), ("registry:ok".to_owned(), None));
        let failed = FollowUp::new("registry", async { Err("PutItem: AccessDenied".to_owned()) }).run(soon()).await;
        assert_eq!(failed.error.as_deref(), Some("PutItem: AccessDenied"));
        assert_eq!(failed.summary(), "registry:failed");
        let panicked = FollowUp::new::<String>("registry", async { panic!("bad item") }).run(soon()).await;
        assert!(panicked.error.unwrap().contains("bad item"));
        let hung = FollowUp::new::<String>("registry", std::future::pending()).run(soon()).await;
        assert!(hung.error.unwrap().contains("did not finish"));
    }
}
