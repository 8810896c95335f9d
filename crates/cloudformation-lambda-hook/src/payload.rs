//! The templates behind a hook request: an S3 presigned URL that the Hooks service hands over.
//!
//! AWS does not document the bucket, so the binding is what can be checked: https, an S3 endpoint
//! of the function's own region (its partition's DNS suffix), a SigV4 presigned query, no user
//! info, no other port. The body is bounded while it is read, redirects are never followed, and
//! errors never contain the query string (a bearer token).

use std::time::Duration;

use remote_exports_shared::{Partition, source_chain};
use serde::Deserialize;
use serde_json::Value;
use url::{Host, Url};

/// The largest payload read: a template body is at most 1 MB (from S3), and a payload holds two
/// of them, JSON-escaped, or one and the changed resources.
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// A payload URL that passed the binding. `Debug` shows no query string.
#[derive(Clone, PartialEq, Eq)]
pub struct PayloadUrl(Url);

impl std::fmt::Debug for PayloadUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PayloadUrl({})", self.redacted())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadUrlError {
    #[error("the hook request has no payload URL")]
    Missing,
    #[error("the payload URL is not a URL")]
    Unparseable,
    #[error("the payload URL {0} is not https")]
    NotHttps(String),
    #[error(
        "the payload URL's host {host} is not an S3 endpoint of {region}: the Hooks service hands over a presigned S3 \
         URL in the function's own region, and nothing else is fetched"
    )]
    ForeignHost { host: String, region: String },
    #[error("the payload URL {0} is not presigned (no X-Amz-Signature)")]
    NotPresigned(String),
    #[error("the payload URL {0} carries user info or a port")]
    Unusual(String),
    #[error("the function's region {0} is in no known partition; upgrade the function")]
    UnknownRegion(String),
}

impl PayloadUrl {
    /// Accepts `text` only where the Hooks service can have put it for a function in `region`.
    /// `allow_loopback` admits `http://127.0.0.1:<port>` too (tests only).
    pub fn bind(text: Option<&str>, region: &str, allow_loopback: bool) -> Result<PayloadUrl, PayloadUrlError> {
        let url = Url::parse(text.ok_or(PayloadUrlError::Missing)?).map_err(|_| PayloadUrlError::Unparseable)?;
        let shown = redact(&url);
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PayloadUrlError::Unusual(shown));
        }
        if !url.query_pairs().any(|(name, _)| name == "X-Amz-Signature") {
            return Err(PayloadUrlError::NotPresigned(shown));
        }
        let loopback = matches!(url.host(), Some(Host::Ipv4(ip)) if ip.is_loopback());
        if allow_loopback && loopback && url.scheme() == "http" {
            return Ok(PayloadUrl(url));
        }
        if url.scheme() != "https" {
            return Err(PayloadUrlError::NotHttps(shown));
        }
        if url.port().is_some() {
            return Err(PayloadUrlError::Unusual(shown));
        }
        let partition = Partition::of_region(region)
            .filter(|p| p.has_stack_region(region))
            .ok_or_else(|| PayloadUrlError::UnknownRegion(region.to_owned()))?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if !is_regional_s3_host(&host, region, partition) {
            return Err(PayloadUrlError::ForeignHost { host, region: region.to_owned() });
        }
        Ok(PayloadUrl(url))
    }

    /// The URL without its query string, for messages.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

/// `s3.<region>.<suffix>` (path style), `<bucket>.s3.<region>.<suffix>` (virtual-hosted), their
/// `s3.dualstack.` forms, and, in us-east-1, the global `s3.amazonaws.com` names.
fn is_regional_s3_host(host: &str, region: &str, partition: &Partition) -> bool {
    let regional =
        [format!("s3.{region}.{}", partition.dns_suffix), format!("s3.dualstack.{region}.{}", partition.dns_suffix)];
    let global = (region == "us-east-1").then(|| format!("s3.{}", partition.dns_suffix));
    regional.iter().chain(global.iter()).any(|endpoint| {
        host == endpoint
            || host
                .strip_suffix(endpoint.as_str())
                .and_then(|bucket| bucket.strip_suffix('.'))
                .is_some_and(|bucket| !bucket.is_empty() && !bucket.contains('.'))
    })
}

fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// What the payload holds. Template texts are JSON or YAML, as given to CloudFormation; both are
/// empty for a stack delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payload {
    pub template: Option<String>,
    pub previous_template: Option<String>,
    /// CHANGE_SET targets: the resources the change set changes, as the service gives them.
    pub changed_resources: Vec<Value>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default, alias = "Template")]
    template: Option<String>,
    #[serde(default, alias = "previousTemplate", alias = "PreviousTemplate")]
    previous_template: Option<String>,
    #[serde(default, alias = "changedResources", alias = "ChangedResources")]
    changed_resources: Option<Vec<Value>>,
}

impl Payload {
    /// Parses a payload body.
    pub fn parse(body: &[u8]) -> Result<Payload, PayloadError> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
        let text = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
        Ok(Payload {
            template: text(wire.template),
            previous_template: text(wire.previous_template),
            changed_resources: wire.changed_resources.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("fetching the hook payload from {url} failed: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("fetching the hook payload from {url} timed out after {seconds} s")]
    TimedOut { url: String, seconds: u64 },
    #[error("the hook payload at {url} answered HTTP {status}; redirects are never followed")]
    Status { url: String, status: u16 },
    #[error(
        "the hook payload at {url} is larger than {limit} bytes; CloudFormation templates are at most 1 MB, so it \
         was not read"
    )]
    TooLarge { url: String, limit: usize },
    #[error("the hook payload is not the JSON document the Hooks service sends: {0}")]
    NotJson(String),
}

/// GETs payloads with a client that never follows redirects.
#[derive(Debug, Clone)]
pub struct PayloadFetcher {
    client: reqwest::Client,
    limit: usize,
}

impl PayloadFetcher {
    /// Fetches through a client built from `builder` (your roots, your timeouts), with redirects
    /// turned off whatever the builder says.
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<PayloadFetcher, reqwest::Error> {
        let client = builder.redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(PayloadFetcher { client, limit: MAX_PAYLOAD_BYTES })
    }

    /// A smaller bound, for tests.
    pub fn with_limit(mut self, limit: usize) -> PayloadFetcher {
        self.limit = limit;
        self
    }

    /// The payload, read until `limit` bytes and no further, within `timeout`.
    pub async fn fetch(&self, url: &PayloadUrl, timeout: Duration) -> Result<Payload, PayloadError> {
        let shown = url.redacted();
        let read = async {
            let unreachable = |e: reqwest::Error| PayloadError::Unreachable {
                url: shown.clone(),
                reason: source_chain(&e.without_url()),
            };
            let mut response = self.client.get(url.0.clone()).send().await.map_err(unreachable)?;
            let status = response.status().as_u16();
            if status != 200 {
                return Err(PayloadError::Status { url: shown.clone(), status });
            }
            let too_large = || PayloadError::TooLarge { url: shown.clone(), limit: self.limit };
            if response.content_length().is_some_and(|length| length > self.limit as u64) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
                if body.len() + chunk.len() > self.limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Payload::parse(&body)
        };
        tokio::time::timeout(timeout, read)
            .await
            .unwrap_or_else(|_| Err(PayloadError::TimedOut { url: shown.clone(), seconds: timeout.as_secs() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SIGNED: &str = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261202&X-Amz-Signature=abc";

    fn bind(url: &str, region: &str) -> Result<PayloadUrl, PayloadUrlError> {
        PayloadUrl::bind(Some(url), region, false)
    }

    #[test]
    fn only_presigned_s3_urls_of_the_functions_region_are_bound() {
        for good in [
            format!("https://hooks-payloads.s3.eu-west-1.amazonaws.com/p/k.json{SIGNED}"),
            format!("https://s3.eu-west-1.amazonaws.com/hooks-payloads/p/k.json{SIGNED}"),
            format!("https://s3.dualstack.eu-west-1.amazonaws.com/b/k{SIGNED}"),
        ] {
            assert!(bind(&good, "eu-west-1").is_ok(), "{good}");
        }
        assert!(bind(&format!("https://b.s3.cn-north-1.amazonaws.com.cn/k{SIGNED}"), "cn-north-1").is_ok());
        assert!(bind(&format!("https://b.s3.amazonaws.com/k{SIGNED}"), "us-east-1").is_ok());
        let refused = |url: String, region: &str| bind(&url, region).unwrap_err();
        assert!(matches!(
            refused(format!("https://b.s3.us-east-1.amazonaws.com/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::ForeignHost { .. }
        ));
        assert!(matches!(
            refused(format!("https://b.s3.amazonaws.com/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::ForeignHost { .. }
        ));
        assert!(matches!(
            refused(format!("https://evil.example/s3.eu-west-1.amazonaws.com{SIGNED}"), "eu-west-1"),
            PayloadUrlError::ForeignHost { .. }
        ));
        assert!(matches!(
            refused(format!("https://s3.eu-west-1.amazonaws.com.evil.example/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::ForeignHost { .. }
        ));
        assert!(matches!(
            refused(format!("https://a.b.s3.eu-west-1.amazonaws.com/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::ForeignHost { .. }
        ));
        assert!(matches!(
            refused(format!("http://b.s3.eu-west-1.amazonaws.com/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::NotHttps(_)
        ));
        assert!(matches!(
            refused("https://b.s3.eu-west-1.amazonaws.com/k".into(), "eu-west-1"),
            PayloadUrlError::NotPresigned(_)
        ));
        assert!(matches!(
            refused(format!("https://u:p@b.s3.eu-west-1.amazonaws.com/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::Unusual(_)
        ));
        assert!(matches!(
            refused(format!("https://b.s3.eu-west-1.amazonaws.com:8443/k{SIGNED}"), "eu-west-1"),
            PayloadUrlError::Unusual(_)
        ));
        assert!(matches!(refused(format!("http://127.0.0.1:9/k{SIGNED}"), "eu-west-1"), PayloadUrlError::NotHttps(_)));
        assert!(PayloadUrl::bind(Some(&format!("http://127.0.0.1:9/k{SIGNED}")), "eu-west-1", true).is_ok());
        assert_eq!(PayloadUrl::bind(None, "eu-west-1", false).unwrap_err(), PayloadUrlError::Missing);
        let error = refused(format!("http://b.s3.eu-west-1.amazonaws.com/k{SIGNED}"), "eu-west-1").to_string();
        assert!(!error.contains("Signature"), "{error}");
    }

    #[test]
    fn payloads_parse_in_both_spellings_and_a_delete_is_empty() {
        let camel = br#"{"template": "Resources: {}", "previousTemplate": "{}"}"#;
        let payload = Payload::parse(camel).unwrap();
        assert_eq!(
            (payload.template.as_deref(), payload.previous_template.as_deref()),
            (Some("Resources: {}"), Some("{}"))
        );
        let pascal = br#"{"Template": "Resources: {}", "ChangedResources": [{"action": "DELETE"}]}"#;
        assert_eq!(Payload::parse(pascal).unwrap().changed_resources.len(), 1);
        assert_eq!(Payload::parse(br#"{"template": "", "previousTemplate": ""}"#).unwrap(), Payload::default());
        assert!(matches!(Payload::parse(b"<xml/>"), Err(PayloadError::NotJson(_))));
    }

    /// Serves one response to one request on loopback.
    async fn serve_once(response: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(&response).await;
        });
        format!("http://{address}/payload.json{SIGNED}")
    }

    fn fetcher(limit: usize) -> PayloadFetcher {
        PayloadFetcher::from_builder(reqwest::Client::builder()).unwrap().with_limit(limit)
    }

    #[tokio::test]
    async fn bodies_beyond_the_bound_and_redirects_are_refused() {
        let loopback = |url: &str| PayloadUrl::bind(Some(url), "eu-west-1", true).unwrap();
        let body = br#"{"template": "Resources: {}"}"#;
        let ok = serve_once(
            [format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes(), body].concat(),
        )
        .await;
        assert_eq!(
            fetcher(1024).fetch(&loopback(&ok), Duration::from_secs(5)).await.unwrap().template.as_deref(),
            Some("Resources: {}")
        );
        // No Content-Length: the bound holds while the chunks arrive.
        let chunked =
            serve_once([b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".as_slice(), &[b' '; 4096]].concat()).await;
        let error = fetcher(1024).fetch(&loopback(&chunked), Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(error, PayloadError::TooLarge { limit: 1024, .. }), "{error}");
        let redirect = serve_once(
            b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/\r\ncontent-length: 0\r\n\r\n".to_vec(),
        )
        .await;
        let error = fetcher(1024).fetch(&loopback(&redirect), Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(error, PayloadError::Status { status: 307, .. }), "{error}");
        assert!(!error.to_string().contains("Signature"), "{error}");
    }
}
