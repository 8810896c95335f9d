//! AWS JSON-protocol calls (SSM, DynamoDB, EventBridge) as single SigV4-signed POSTs. Each SDK
//! client would add code for every operation of its service (the SSM client alone is ~1.1 MB) and
//! resident memory at every cold start, for the handful of calls the function makes; the signer, the
//! credentials and the HTTP client used here are already in the binary for STS and CloudFormation.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::Value;

use crate::{TrustRoots, error_chain};

/// How to address one AWS service over its JSON protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonService {
    /// SigV4's service name.
    pub signing_name: &'static str,
    /// The host's first label: `<prefix>.<region>.amazonaws.com`.
    pub endpoint_prefix: &'static str,
    /// The variable that overrides the endpoint, as the SDKs name it.
    pub endpoint_variable: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    pub content_type: &'static str,
    /// `X-Amz-Target` is `<prefix>.<Operation>`.
    pub target_prefix: &'static str,
}

pub const SSM: JsonService = JsonService {
    signing_name: "ssm",
    endpoint_prefix: "ssm",
    endpoint_variable: "AWS_ENDPOINT_URL_SSM",
    content_type: "application/x-amz-json-1.1",
    target_prefix: "AmazonSSM",
};

pub const DYNAMODB: JsonService = JsonService {
    signing_name: "dynamodb",
    endpoint_prefix: "dynamodb",
    endpoint_variable: "AWS_ENDPOINT_URL_DYNAMODB",
    content_type: "application/x-amz-json-1.0",
    target_prefix: "DynamoDB_20120810",
};

pub const EVENTBRIDGE: JsonService = JsonService {
    signing_name: "events",
    endpoint_prefix: "events",
    endpoint_variable: "AWS_ENDPOINT_URL_EVENTBRIDGE",
    content_type: "application/x-amz-json-1.1",
    target_prefix: "AWSEvents",
};

/// SQS over its JSON protocol: the function never calls it; tests read audit events with it.
pub const SQS: JsonService = JsonService {
    signing_name: "sqs",
    endpoint_prefix: "sqs",
    endpoint_variable: "AWS_ENDPOINT_URL_SQS",
    content_type: "application/x-amz-json-1.0",
    target_prefix: "AmazonSQS",
};

/// A failed call: the AWS error code and message, or why no answer came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({}{}: {message})", status.map_or_else(String::new, |s| format!("HTTP {s}, ")), .code.as_deref().unwrap_or("no error code"))]
pub struct JsonCallError {
    pub operation: String,
    /// `None` when no HTTP answer came.
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
    /// A network failure, throttling or a 5xx: worth another attempt. A missing region or
    /// credentials is not.
    pub transient: bool,
}

/// Attempts per call: throttling, 5xx and network errors are retried this often, quickly.
const ATTEMPTS: u32 = 3;

/// Calls one service in the function's own account and region, with the function's credentials.
/// The HTTP client is built on the first call, so a function that never calls pays nothing.
pub struct JsonClient {
    service: JsonService,
    config: SdkConfig,
    roots: TrustRoots,
    endpoint: Option<String>,
    http: OnceLock<reqwest::Client>,
}

impl JsonClient {
    /// The service's endpoint variable, else the configuration's endpoint override, else its regional endpoint.
    pub fn new(service: JsonService, config: &SdkConfig, roots: TrustRoots) -> Self {
        let endpoint =
            std::env::var(service.endpoint_variable).ok().or_else(|| config.endpoint_url().map(str::to_owned));
        JsonClient { service, config: config.clone(), roots, endpoint, http: OnceLock::new() }
    }

    pub(crate) fn endpoint(&self, region: &str) -> String {
        let prefix = self.service.endpoint_prefix;
        match &self.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned() + "/",
            None if region.starts_with("cn-") => format!("https://{prefix}.{region}.amazonaws.com.cn/"),
            None => format!("https://{prefix}.{region}.amazonaws.com/"),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let built = self.roots.reqwest_builder().and_then(|b| b.connect_timeout(Duration::from_secs(5)).build());
        let client = built.map_err(|e| format!("cannot build an HTTP client ({})", error_chain(&e)))?;
        Ok(self.http.get_or_init(|| client))
    }

    /// Calls `operation` with `input`, retrying throttling, 5xx and network errors a few times.
    pub async fn call(&self, operation: &str, input: &Value) -> Result<Value, JsonCallError> {
        let mut attempt = 1;
        loop {
            match self.call_once(operation, input).await {
                Err(error) if attempt < ATTEMPTS && error.transient => {
                    let backoff = Duration::from_millis(25 * 2u64.pow(attempt) + fastrand::u64(0..25));
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn call_once(&self, operation: &str, input: &Value) -> Result<Value, JsonCallError> {
        let failed = |status: Option<u16>, code: Option<&str>, message: String| JsonCallError {
            operation: operation.to_owned(),
            status,
            code: code.map(str::to_owned),
            message,
            transient: false,
        };
        let region = self.config.region().ok_or_else(|| failed(None, None, "no region (AWS_REGION)".into()))?;
        let region = region.to_string();
        let provider = self.config.credentials_provider().ok_or_else(|| failed(None, None, "no credentials".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| failed(None, None, format!("could not get credentials ({})", error_chain(&e))))?;
        let url = self.endpoint(&region);
        let body = serde_json::to_vec(input).map_err(|e| failed(None, None, e.to_string()))?;
        let target = format!("{}.{operation}", self.service.target_prefix);
        let headers = [("content-type", self.service.content_type), ("x-amz-target", target.as_str())];
        let identity: Identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(self.service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| failed(None, None, e.to_string()))?
            .into();
        let signable = SignableRequest::new("POST", &url, headers.into_iter(), SignableBody::Bytes(&body))
            .map_err(|e| failed(None, None, e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| failed(None, None, e.to_string()))?.into_parts();
        let http = self.http().map_err(|message| failed(None, None, message))?;
        let mut request = http.post(&url).timeout(Duration::from_secs(10)).body(body);
        for (name, value) in headers.into_iter().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let unanswered = |message: String| JsonCallError { transient: true, ..failed(None, None, message) };
        let response = request.send().await.map_err(|e| unanswered(error_chain(&e.without_url())))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| unanswered(error_chain(&e)))?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 {
            return Ok(answer);
        }
        // `__type` is `Code` or `namespace#Code`, depending on the service.
        let code = answer["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t));
        let message = answer["message"].as_str().or_else(|| answer["Message"].as_str()).unwrap_or("no message");
        let error = failed(Some(status), code, message.to_owned());
        Err(JsonCallError { transient: transient(&error), ..error })
    }
}

fn transient(error: &JsonCallError) -> bool {
    let throttled = matches!(
        error.code.as_deref(),
        Some(
            "ThrottlingException"
                | "Throttling"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "ThrottledException"
        )
    );
    throttled || error.status.is_some_and(|status| status >= 500 || status == 429)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_endpoint_follows_the_override_then_the_partition() {
        let config = aws_config::SdkConfig::builder().build();
        let mut client = JsonClient::new(DYNAMODB, &config, TrustRoots::AmazonTrustServices);
        client.endpoint = None;
        assert_eq!(client.endpoint("eu-west-1"), "https://dynamodb.eu-west-1.amazonaws.com/");
        assert_eq!(client.endpoint("cn-north-1"), "https://dynamodb.cn-north-1.amazonaws.com.cn/");
        client.endpoint = Some("http://127.0.0.1:5000".into());
        assert_eq!(client.endpoint("eu-west-1"), "http://127.0.0.1:5000/");
    }

    #[test]
    fn throttling_and_server_errors_are_transient_client_errors_are_not() {
        let error = |status: Option<u16>, code: Option<&str>| JsonCallError {
            operation: "PutItem".into(),
            status,
            code: code.map(str::to_owned),
            message: String::new(),
            transient: false,
        };
        assert!(transient(&error(Some(400), Some("ProvisionedThroughputExceededException"))));
        assert!(transient(&error(Some(503), None)));
        assert!(transient(&error(Some(429), None)));
        assert!(!transient(&error(Some(400), Some("ResourceNotFoundException"))));
        assert!(!transient(&error(Some(400), Some("AccessDeniedException"))));
        let shown = error(Some(400), Some("AccessDeniedException")).to_string();
        assert_eq!(shown, "PutItem failed (HTTP 400, AccessDeniedException: )");
    }
}
