use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// When the Lambda invocation will be killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    pub fn at(at: Instant) -> Self {
        Deadline { at }
    }

    /// From the runtime's `Lambda-Runtime-Deadline-Ms` (milliseconds since the Unix epoch).
    pub fn from_epoch_millis(deadline_ms: u64) -> Self {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Deadline { at: Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)) }
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

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

/// Why guarded work produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("it did not finish within {waited_ms} ms, the time left before the Lambda deadline")]
    TimedOut { waited_ms: u128 },
    #[error("it panicked: {message}")]
    Panicked { message: String },
}

/// Runs `work` on its own task until `until`. A timeout aborts the task, so nothing it started can
/// fire during a later warm invocation; a panic is caught and reported instead of losing the request.
pub async fn run_guarded<F>(until: Instant, work: F) -> Result<F::Output, Interrupted>
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
            Err(Interrupted::TimedOut { waited_ms: started.elapsed().as_millis() })
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
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
        assert!(matches!(result, Err(Interrupted::TimedOut { waited_ms: 1000 })), "{result:?}");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!finished.load(Ordering::SeqCst), "the aborted task kept running");
    }

    #[tokio::test]
    async fn turns_a_panic_into_an_error() {
        let until = Instant::now() + Duration::from_secs(5);
        let result = run_guarded(until, async { panic!("boom {}", 42) }).await;
        assert_eq!(result, Err::<(), _>(Interrupted::Panicked { message: "boom 42".into() }));
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
