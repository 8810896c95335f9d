use std::time::Duration;

use cfn_custom_resource::{ResponseTransport, ResponseUrl, TransportError};
use reqwest::header::CONTENT_TYPE;

use crate::{TrustRoots, error_chain, is_untrusted_certificate};

/// PUTs answers to presigned S3 URLs.
#[derive(Clone)]
pub struct HttpResponseTransport {
    client: reqwest::Client,
    roots: TrustRoots,
}

impl HttpResponseTransport {
    pub fn new(roots: TrustRoots) -> Result<Self, reqwest::Error> {
        let client = roots.reqwest_builder()?.connect_timeout(Duration::from_secs(5)).build()?;
        Ok(HttpResponseTransport { client, roots })
    }
}

impl ResponseTransport for HttpResponseTransport {
    async fn put(&self, url: &ResponseUrl, body: Vec<u8>, timeout: Duration) -> Result<u16, TransportError> {
        let sent = self
            .client
            .put(url.expose().clone())
            // The presigned signature covers an empty Content-Type; any other breaks it.
            .header(CONTENT_TYPE, "")
            .body(body)
            .timeout(timeout)
            .send()
            .await;
        match sent {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if error.is_timeout() => Err(TransportError::Timeout),
            // Without the URL: its query string is a bearer token.
            Err(error) => {
                let text = error_chain(&error.without_url());
                if is_untrusted_certificate(&text) {
                    Err(TransportError::Untrusted(format!("{text}; {}", self.roots.advice())))
                } else {
                    Err(TransportError::Network(text))
                }
            }
        }
    }
}
