use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::ResponseUrl;

/// Sends one PUT. Implementations must send an empty Content-Type and a byte-exact Content-Length,
/// and must give up after `timeout`.
pub trait ResponseTransport: Send + Sync {
    /// PUTs `body` to the full `url` and returns the HTTP status.
    fn put(
        &self,
        url: &ResponseUrl,
        body: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<u16, TransportError>> + Send;
}

/// Why one PUT got no HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No answer within the attempt's time.
    #[error("timed out")]
    Timeout,
    /// Connection, DNS or TLS failure; the text must not contain the URL's query.
    #[error("{0}")]
    Network(String),
    /// The endpoint's TLS certificate is not trusted. Final: waiting will not make it trusted.
    #[error("{0}")]
    Untrusted(String),
}

/// How delivery retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The ceiling of the first pause (full jitter: the pause is random below it).
    pub first_backoff: Duration,
    /// The highest ceiling; it doubles up to this.
    pub max_backoff: Duration,
    /// The longest one attempt may take, before the deadline cuts it shorter.
    pub attempt_timeout: Duration,
}

impl RetryPolicy {
    /// Pauses start below `first` and double up to `max`, each chosen at random below its ceiling.
    pub fn with_backoff(self, first: Duration, max: Duration) -> Self {
        RetryPolicy { first_backoff: first, max_backoff: max.max(first), ..self }
    }

    /// The longest one attempt may take.
    pub fn with_attempt_timeout(self, attempt_timeout: Duration) -> Self {
        RetryPolicy { attempt_timeout, ..self }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// A delivered answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// The 2xx status S3 answered.
    pub status: u16,
    /// Attempts made, the successful one included.
    pub attempts: u32,
}

/// Why an answer was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// A 4xx other than 429: the URL will never accept it.
    #[error(
        "the ResponseURL refused the answer with HTTP {status} after {attempts} attempt(s); the presigned URL may have expired"
    )]
    Refused {
        /// The status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// A 3xx: the bound URL pointed elsewhere. Redirects are never followed, so the answer went
    /// nowhere else; a retry would get the same.
    #[error(
        "the ResponseURL answered HTTP {status} (a redirect) after {attempts} attempt(s); redirects are never \
         followed, so the answer was not sent"
    )]
    Redirected {
        /// The status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The endpoint's certificate is not trusted: no retry can help.
    #[error("the ResponseURL's TLS certificate is not trusted, so the answer was not sent: {error}")]
    Untrusted {
        /// What the transport said, with any advice it has.
        error: String,
    },
    /// Retries ran into the deadline.
    #[error(
        "the answer could not be delivered before the deadline after {attempts} attempt(s); last error: {last_error}"
    )]
    DeadlineExceeded {
        /// Attempts made.
        attempts: u32,
        /// What the last attempt got.
        last_error: String,
    },
}

/// Too little time left to be worth another attempt.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// PUTs the body, retrying network errors, 5xx and 429 with jittered exponential backoff until the
/// deadline. Any other status is final: 2xx is delivered, 3xx is a redirect that is never followed,
/// 4xx means the URL will never accept it.
pub(crate) async fn deliver<T: ResponseTransport>(
    transport: &T,
    url: &ResponseUrl,
    body: &[u8],
    deadline: Instant,
    policy: RetryPolicy,
) -> Result<Delivered, DeliveryError> {
    let mut attempts = 0;
    let mut last_error = String::from("no attempt was made");
    let mut backoff_ceiling = policy.first_backoff;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining < MIN_ATTEMPT {
            return Err(DeliveryError::DeadlineExceeded { attempts, last_error });
        }
        attempts += 1;
        match transport.put(url, body.to_vec(), remaining.min(policy.attempt_timeout)).await {
            Ok(status @ 200..=299) => return Ok(Delivered { status, attempts }),
            Ok(status) if status == 429 || status >= 500 => last_error = format!("HTTP {status}"),
            Ok(status @ 300..=399) => return Err(DeliveryError::Redirected { status, attempts }),
            Ok(status) => return Err(DeliveryError::Refused { status, attempts }),
            Err(TransportError::Untrusted(error)) => return Err(DeliveryError::Untrusted { error }),
            Err(error) => last_error = error.to_string(),
        }
        tracing::warn!(attempt = attempts, error = %last_error, url = %url, "response delivery failed, retrying");
        // Full jitter keeps many stacks failing at once from retrying in lockstep.
        let pause = Duration::from_secs_f64(backoff_ceiling.as_secs_f64() * fastrand::f64());
        let until = (Instant::now() + pause).min(deadline);
        tokio::time::sleep_until(until).await;
        backoff_ceiling = (backoff_ceiling * 2).min(policy.max_backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RecordingTransport;

    #[tokio::test(start_paused = true)]
    async fn an_untrusted_certificate_is_final() {
        let transport = RecordingTransport::new().script([Err(TransportError::Untrusted("UnknownIssuer".into()))]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let error = deliver(&transport, &crate::testing::loopback_url(1), b"{}", deadline, RetryPolicy::default())
            .await
            .unwrap_err();
        assert_eq!(error, DeliveryError::Untrusted { error: "UnknownIssuer".into() });
        assert_eq!(transport.bodies().len(), 1, "one attempt, no retries");
        assert_eq!(Instant::now(), deadline - Duration::from_secs(30), "no time spent waiting");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_5xx_429_and_network_errors_then_delivers() {
        let transport =
            RecordingTransport::new().script([Ok(503), Err(TransportError::Network("reset".into())), Ok(429), Ok(200)]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let delivered = deliver(&transport, &crate::testing::loopback_url(1), b"{}", deadline, RetryPolicy::default())
            .await
            .unwrap();
        assert_eq!(delivered, Delivered { status: 200, attempts: 4 });
    }

    #[tokio::test(start_paused = true)]
    async fn does_not_retry_a_client_error() {
        let transport = RecordingTransport::new().script([Ok(403)]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let error = deliver(&transport, &crate::testing::loopback_url(1), b"{}", deadline, RetryPolicy::default())
            .await
            .unwrap_err();
        assert_eq!(error, DeliveryError::Refused { status: 403, attempts: 1 });
        assert_eq!(transport.bodies().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_redirect_is_final_and_names_its_status() {
        let transport = RecordingTransport::new().script([Ok(307)]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let error = deliver(&transport, &crate::testing::loopback_url(1), b"{}", deadline, RetryPolicy::default())
            .await
            .unwrap_err();
        assert_eq!(error, DeliveryError::Redirected { status: 307, attempts: 1 });
        let text = error.to_string();
        assert!(text.contains("HTTP 307") && text.contains("never followed"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(transport.bodies().len(), 1, "one attempt, no retries");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_the_deadline() {
        let transport = RecordingTransport::new().script(std::iter::repeat_n(Ok(503), 10_000));
        let start = Instant::now();
        let deadline = start + Duration::from_secs(5);
        let error = deliver(&transport, &crate::testing::loopback_url(1), b"{}", deadline, RetryPolicy::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DeliveryError::DeadlineExceeded { ref last_error, .. } if last_error == "HTTP 503"),
            "{error:?}"
        );
        assert!(Instant::now() <= deadline);
        assert!(transport.bodies().len() >= 3, "only {} attempts", transport.bodies().len());
    }
}
