//! An in-memory [`ResponseTransport`] for tests of custom resources: no network, every body kept.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::{ResponseTransport, ResponseUrl, TransportError};

/// Records every body it is asked to PUT and answers 200, or the scripted outcomes first.
#[derive(Debug, Default)]
pub struct RecordingTransport {
    bodies: Mutex<Vec<Vec<u8>>>,
    script: Mutex<VecDeque<Result<u16, TransportError>>>,
}

impl RecordingTransport {
    /// Answers every PUT with 200.
    pub fn new() -> Self {
        RecordingTransport::default()
    }

    /// Answers the next PUTs with these outcomes (say `Ok(503)`), then 200 again.
    pub fn script(self, outcomes: impl IntoIterator<Item = Result<u16, TransportError>>) -> Self {
        self.script.lock().expect("script lock").extend(outcomes);
        self
    }

    /// Every body received, accepted or not, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().expect("bodies lock").clone()
    }

    /// Every body received, as JSON.
    pub fn answers(&self) -> Vec<serde_json::Value> {
        self.bodies().iter().map(|body| serde_json::from_slice(body).expect("a JSON body")).collect()
    }
}

impl ResponseTransport for RecordingTransport {
    async fn put(&self, _: &ResponseUrl, body: Vec<u8>, _: Duration) -> Result<u16, TransportError> {
        self.bodies.lock().expect("bodies lock").push(body);
        self.script.lock().expect("script lock").pop_front().unwrap_or(Ok(200))
    }
}

impl<T: ResponseTransport> ResponseTransport for &T {
    fn put(
        &self,
        url: &ResponseUrl,
        body: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<u16, TransportError>> + Send {
        (**self).put(url, body, timeout)
    }
}
