use std::fmt;

use url::{Host, Url};

/// Which ResponseURLs may receive an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    /// Only https on an S3 host of the AWS partitions: the answer may carry export values, and the
    /// function must not be usable to send them anywhere else.
    AwsS3Only,
    /// Also `http://127.0.0.1:*` and `http://localhost:*`, for local demos and tests.
    AllowLoopback,
}

/// A validated presigned ResponseURL. `Display` and `Debug` hide the query string, which is a bearer
/// token; only the transport reads the full URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseUrlError {
    #[error("the ResponseURL is not a valid URL ({0})")]
    Invalid(String),
    #[error(
        "the ResponseURL {0} is not an https URL on an Amazon S3 host (*.amazonaws.com or *.amazonaws.com.cn); \
         set ALLOW_LOOPBACK_RESPONSE_URL=true only for local tests"
    )]
    NotAwsS3(String),
}

impl ResponseUrl {
    pub fn parse(raw: &str, policy: UrlPolicy) -> Result<ResponseUrl, ResponseUrlError> {
        let url = Url::parse(raw).map_err(|e| ResponseUrlError::Invalid(e.to_string()))?;
        let allowed = is_aws_s3_https(&url) || (policy == UrlPolicy::AllowLoopback && is_loopback_http(&url));
        if !allowed {
            return Err(ResponseUrlError::NotAwsS3(redact(&url)));
        }
        Ok(ResponseUrl(url))
    }

    /// The full URL, signature included: only for the request that delivers the answer.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// Scheme, host and path: safe to log.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

fn redact(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

fn is_aws_s3_https(url: &Url) -> bool {
    let Some(Host::Domain(host)) = url.host() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    let Some(service_part) = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    // S3 hosts carry a label starting with "s3": s3.amazonaws.com, bucket.s3.eu-west-1.amazonaws.com,
    // bucket.s3-eu-west-1.amazonaws.com, bucket.s3.dualstack.us-east-1.amazonaws.com.
    url.scheme() == "https" && url.username().is_empty() && service_part.split('.').any(|label| label.starts_with("s3"))
}

fn is_loopback_http(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback && matches!(url.scheme(), "http" | "https")
}

impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123%3Astack/s/g%7CLookup%7Creq?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef";

    #[test]
    fn accepts_cloudformation_response_urls_in_every_partition() {
        for url in [
            REAL,
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
            "https://bucket.s3.us-east-1.amazonaws.com/x",
            "https://bucket.s3.dualstack.us-east-1.amazonaws.com/x",
            "https://bucket.s3.cn-north-1.amazonaws.com.cn/x",
            "https://s3-external-1.amazonaws.com/bucket/x",
        ] {
            assert!(ResponseUrl::parse(url, UrlPolicy::AwsS3Only).is_ok(), "{url}");
        }
    }

    #[test]
    fn refuses_anything_else() {
        for url in [
            "http://bucket.s3.amazonaws.com/x",
            "https://evil.example.com/x",
            "https://s3.amazonaws.com.evil.com/x",
            "https://sqs.us-east-1.amazonaws.com/x",
            "https://user@bucket.s3.amazonaws.com/x",
            "http://127.0.0.1:9000/x",
            "file:///etc/passwd",
        ] {
            assert!(ResponseUrl::parse(url, UrlPolicy::AwsS3Only).is_err(), "{url}");
        }
        assert!(matches!(ResponseUrl::parse("not a url", UrlPolicy::AllowLoopback), Err(ResponseUrlError::Invalid(_))));
    }

    #[test]
    fn loopback_only_when_allowed() {
        for url in ["http://127.0.0.1:9000/x?sig=1", "http://localhost:1/x", "http://[::1]:8080/x"] {
            assert!(ResponseUrl::parse(url, UrlPolicy::AllowLoopback).is_ok(), "{url}");
            assert!(ResponseUrl::parse(url, UrlPolicy::AwsS3Only).is_err(), "{url}");
        }
        assert!(ResponseUrl::parse("http://10.0.0.1:9000/x", UrlPolicy::AllowLoopback).is_err());
    }

    #[test]
    fn display_and_errors_hide_the_signature() {
        let url = ResponseUrl::parse(REAL, UrlPolicy::AwsS3Only).unwrap();
        for shown in [url.to_string(), format!("{url:?}"), url.redacted()] {
            assert!(!shown.contains("Signature"), "{shown}");
            assert!(shown.contains("s3-eu-west-1.amazonaws.com"), "{shown}");
        }
        let error =
            ResponseUrl::parse("https://evil.example.com/x?X-Amz-Signature=abc", UrlPolicy::AwsS3Only).unwrap_err();
        assert!(!error.to_string().contains("abc"));
    }
}
