//! SSM GetParameter as one signed JSON request. The SDK's SSM client would add about 1.1 MB to the
//! function (code for some 150 operations) and measurably more resident memory at every cold start,
//! for one call that only runs when a consumer policy lives in SSM; the signer, the credentials and
//! the HTTP client used here are already in the binary.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use remote_exports_core::ParameterStore;
use serde_json::{Value, json};

use crate::{TrustRoots, error_chain};

const TARGET: &str = "AmazonSSM.GetParameter";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Reads String parameters from SSM Parameter Store in the function's own account and region, with
/// the function's own credentials. The HTTP client is built on the first read.
pub struct SsmParameters {
    config: SdkConfig,
    roots: TrustRoots,
    endpoint: Option<String>,
    http: OnceLock<reqwest::Client>,
}

impl SsmParameters {
    /// `AWS_ENDPOINT_URL_SSM`, else the configuration's endpoint override, else SSM's regional endpoint.
    pub fn new(config: &SdkConfig, roots: TrustRoots) -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_SSM").ok().or_else(|| config.endpoint_url().map(str::to_owned));
        SsmParameters { config: config.clone(), roots, endpoint, http: OnceLock::new() }
    }

    fn endpoint(&self, region: &str) -> String {
        match &self.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned() + "/",
            None if region.starts_with("cn-") => format!("https://ssm.{region}.amazonaws.com.cn/"),
            None => format!("https://ssm.{region}.amazonaws.com/"),
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
}

impl ParameterStore for SsmParameters {
    async fn get(&self, name: &str) -> Result<String, String> {
        let region = self.config.region().ok_or("GetParameter needs a region (AWS_REGION)")?.to_string();
        let provider = self.config.credentials_provider().ok_or("GetParameter needs credentials")?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("GetParameter could not get credentials ({})", error_chain(&e)))?;
        let url = self.endpoint(&region);
        let body = serde_json::to_vec(&json!({"Name": name})).map_err(|e| e.to_string())?;
        let headers = [("content-type", CONTENT_TYPE), ("x-amz-target", TARGET)];
        let identity: Identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name("ssm")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable = SignableRequest::new("POST", &url, headers.into_iter(), SignableBody::Bytes(&body))
            .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
        let mut request = self.http()?.post(&url).timeout(Duration::from_secs(10)).body(body);
        for (name, value) in headers.into_iter().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response =
            request.send().await.map_err(|e| format!("GetParameter failed ({})", error_chain(&e.without_url())))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| format!("GetParameter failed ({})", error_chain(&e)))?;
        parse_answer(status, &text)
    }
}

/// The parameter's value from a 200, or the AWS error code and message from anything else.
fn parse_answer(status: u16, text: &str) -> Result<String, String> {
    let answer: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if status == 200 {
        return answer["Parameter"]["Value"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "GetParameter returned no value".to_owned());
    }
    // `__type` is `ParameterNotFound` or `com.amazonaws…#ParameterNotFound`, depending on the service version.
    let code = answer["__type"].as_str().map_or("unknown", |t| t.rsplit('#').next().unwrap_or(t));
    let message = answer["message"].as_str().or_else(|| answer["Message"].as_str()).unwrap_or("no message");
    Err(format!("GetParameter failed (HTTP {status}, {code}: {message})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_errors_are_read_from_the_json_answer() {
        let ok = r#"{"Parameter": {"Name": "/p", "Type": "String", "Value": "{\"*\": {}}", "Version": 3}}"#;
        assert_eq!(parse_answer(200, ok), Ok("{\"*\": {}}".to_owned()));
        let missing = r#"{"__type": "com.amazonaws.ssm#ParameterNotFound", "message": "Parameter /p not found."}"#;
        assert_eq!(
            parse_answer(400, missing),
            Err("GetParameter failed (HTTP 400, ParameterNotFound: Parameter /p not found.)".to_owned())
        );
        let denied = r#"{"__type": "AccessDeniedException", "Message": "not authorized"}"#;
        assert!(parse_answer(400, denied).unwrap_err().contains("AccessDeniedException: not authorized"));
        assert!(parse_answer(503, "<html>").unwrap_err().contains("HTTP 503, unknown"));
    }

    #[tokio::test]
    async fn the_endpoint_follows_the_override_then_the_partition() {
        let config = aws_config::SdkConfig::builder().build();
        let mut parameters = SsmParameters::new(&config, TrustRoots::AmazonTrustServices);
        parameters.endpoint = None;
        assert_eq!(parameters.endpoint("eu-west-1"), "https://ssm.eu-west-1.amazonaws.com/");
        assert_eq!(parameters.endpoint("cn-north-1"), "https://ssm.cn-north-1.amazonaws.com.cn/");
        parameters.endpoint = Some("http://127.0.0.1:5000".into());
        assert_eq!(parameters.endpoint("eu-west-1"), "http://127.0.0.1:5000/");
    }
}
