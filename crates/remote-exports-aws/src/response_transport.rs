use std::time::Duration;

use cloudformation_custom_resource::{HttpTransport, ResponseTransport, ResponseUrl, TransportError};

use crate::TrustRoots;

/// PUTs answers to presigned S3 URLs: the protocol crate's transport, trusting the chosen roots,
/// and saying which setting to change when a certificate is not trusted.
#[derive(Clone)]
pub struct HttpResponseTransport {
    http: HttpTransport,
    roots: TrustRoots,
}

impl HttpResponseTransport {
    pub fn new(roots: TrustRoots) -> Result<Self, reqwest::Error> {
        let http = HttpTransport::from_builder(roots.reqwest_builder()?.connect_timeout(Duration::from_secs(5)))?;
        Ok(HttpResponseTransport { http, roots })
    }
}

impl ResponseTransport for HttpResponseTransport {
    async fn put(&self, url: &ResponseUrl, body: Vec<u8>, timeout: Duration) -> Result<u16, TransportError> {
        match self.http.put(url, body, timeout).await {
            Err(TransportError::Untrusted(text)) => {
                Err(TransportError::Untrusted(format!("{text}; {}", self.roots.advice())))
            }
            other => other,
        }
    }
}
