use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Lambda's longest timeout: a runtime deadline further away than this is not a real one.
pub(crate) const MAX_LAMBDA_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The budget assumed when neither the runtime nor the environment gives a usable one.
pub(crate) const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// When the Lambda invocation will be killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// At this instant.
    pub fn at(at: Instant) -> Self {
        Deadline { at }
    }

    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline { at: Instant::now() + budget }
    }

    /// From the runtime's `Lambda-Runtime-Deadline-Ms` (milliseconds since the Unix epoch), when it
    /// lies in (now, now + 15 min]. Emulators send other values (`cargo lambda watch` sends 600000,
    /// a moment in 1970); those are logged once at WARN and `fallback` is assumed instead.
    pub fn from_runtime_millis(deadline_ms: u64, fallback: Duration) -> Self {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let ahead = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        if deadline_ms > now_ms && ahead <= MAX_LAMBDA_TIMEOUT {
            return Deadline::after(ahead);
        }
        tracing::warn!(
            deadline_ms,
            now_ms,
            assumed_budget_ms = fallback.as_millis() as u64,
            "the runtime's deadline is not within the next 15 minutes; assuming a fallback budget"
        );
        Deadline::after(fallback)
    }

    /// The budget to assume when the runtime's deadline is unusable: `AWS_LAMBDA_FUNCTION_TIMEOUT`
    /// (seconds, as emulators set it) when it is a valid Lambda timeout, else 60 s.
    pub fn fallback_budget() -> Duration {
        fallback_budget_from(std::env::var("AWS_LAMBDA_FUNCTION_TIMEOUT").ok().as_deref())
    }

    /// When the invocation ends.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Time left.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// When the work must stop so that an answer can still be delivered: a fifth of the time left
    /// is kept for the answer, at least 500 ms and at most 3 s.
    pub fn work_deadline(&self) -> Instant {
        let reserve = (self.remaining() / 5).clamp(Duration::from_millis(500), Duration::from_secs(3));
        self.at.checked_sub(reserve).unwrap_or(self.at).max(Instant::now())
    }

    /// When delivery must stop: a little before the hard deadline, so that the runtime still hears
    /// how the invocation ended.
    pub fn delivery_deadline(&self) -> Instant {
        let margin = (self.remaining() / 20).min(Duration::from_millis(250));
        self.at.checked_sub(margin).unwrap_or(self.at)
    }
}

fn fallback_budget_from(setting: Option<&str>) -> Duration {
    setting
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .filter(|budget| !budget.is_zero() && *budget <= MAX_LAMBDA_TIMEOUT)
        .unwrap_or(DEFAULT_BUDGET)
}

/// Why guarded work produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Interrupted {
    /// The work ran out of time and was stopped.
    #[error("it did not finish within {} ms, the time left before the Lambda deadline", .waited.as_millis())]
    TimedOut {
        /// How long it ran.
        waited: Duration,
    },
    /// The work panicked.
    #[error("it panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
}

/// Runs `work` on its own task until `until`. A timeout aborts the task, so nothing it started can
/// fire during a later warm invocation; a panic is caught and reported instead of losing the request.
pub(crate) async fn run_guarded<F>(until: Instant, work: F) -> Result<F::Output, Interrupted>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let started = Instant::now();
    let mut task = tokio::spawn(work);
    match tokio::time::timeout_at(until, &mut task).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(join_error)) => {
            let message = match join_error.try_into_panic() {
                Ok(payload) => panic_message(payload.as_ref()),
                Err(error) => error.to_string(),
            };
            Err(Interrupted::Panicked { message })
        }
        Err(_elapsed) => {
            task.abort();
            Err(Interrupted::TimedOut { waited: started.elapsed() })
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test(start_paused = true)]
    async fn returns_the_output_of_work_that_finishes() {
        let until = Instant::now() + Duration::from_secs(1);
        assert_eq!(run_guarded(until, async { 7 }).await, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_and_aborts_slow_work() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let until = Instant::now() + Duration::from_secs(1);
        let result = run_guarded(until, async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            flag.store(true, Ordering::SeqCst);
        })
        .await;
        assert_eq!(result, Err(Interrupted::TimedOut { waited: Duration::from_secs(1) }));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!finished.load(Ordering::SeqCst), "the aborted task kept running");
    }

    #[tokio::test]
    async fn turns_a_panic_into_an_error() {
        let until = Instant::now() + Duration::from_secs(5);
        let result = run_guarded(until, async { panic!("boom {}", 42) }).await;
        assert_eq!(result, Err::<(), _>(Interrupted::Panicked { message: "boom 42".into() }));
    }

    fn epoch_ms(offset: Duration, later: bool) -> u64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        (if later { now + offset } else { now - offset }).as_millis() as u64
    }

    #[tokio::test(start_paused = true)]
    async fn a_real_runtime_deadline_is_used() {
        let deadline = Deadline::from_runtime_millis(epoch_ms(Duration::from_secs(30), true), DEFAULT_BUDGET);
        let remaining = deadline.remaining();
        assert!(remaining <= Duration::from_secs(30) && remaining > Duration::from_secs(28), "{remaining:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn past_or_absurd_deadlines_fall_back_to_the_budget() {
        let budget = Duration::from_secs(45);
        for deadline_ms in [
            600_000,                                      // cargo lambda watch
            0,                                            // nothing
            epoch_ms(Duration::from_secs(1), false),      // already past
            epoch_ms(Duration::from_secs(16 * 60), true), // beyond Lambda's longest timeout
            u64::MAX,
        ] {
            assert_eq!(Deadline::from_runtime_millis(deadline_ms, budget).remaining(), budget, "{deadline_ms}");
        }
    }

    #[test]
    fn the_fallback_budget_comes_from_the_function_timeout_when_valid() {
        assert_eq!(fallback_budget_from(Some("120")), Duration::from_secs(120));
        assert_eq!(fallback_budget_from(Some(" 3 ")), Duration::from_secs(3));
        for bad in [None, Some(""), Some("0"), Some("901"), Some("ten")] {
            assert_eq!(fallback_budget_from(bad), DEFAULT_BUDGET, "{bad:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_time_for_the_answer() {
        let now = Instant::now();
        let deadline = Deadline::at(now + Duration::from_secs(60));
        assert_eq!(deadline.work_deadline(), now + Duration::from_secs(57));
        let short = Deadline::at(now + Duration::from_secs(2));
        assert_eq!(short.work_deadline(), now + Duration::from_millis(1500));
        assert!(short.delivery_deadline() < short.instant());
        assert!(short.delivery_deadline() > short.work_deadline());
    }
}
