use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::BoxError;

/// CloudFormation's response bucket for a region, in moto's S3: answers are PUT through real SigV4
/// presigned URLs, path-style on loopback, and read back with GetObject, as CloudFormation reads them.
pub struct MotoResponses {
    endpoint: String,
    region: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl MotoResponses {
    /// Creates the bucket `cloudformation-custom-resource-response-<region>` (it may exist already).
    pub async fn create(endpoint: &str, region: &str) -> Result<MotoResponses, BoxError> {
        let responses = MotoResponses {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let location = format!(
            "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        );
        let body = if region == "us-east-1" { String::new() } else { location };
        let url = responses.presign("PUT", &responses.bucket_url())?;
        let (status, text) = responses.send("PUT", &url, body.into()).await?;
        if !(200..300).contains(&status) && !text.contains("BucketAlreadyOwnedByYou") {
            return Err(format!("CreateBucket {}: HTTP {status}: {text}", responses.bucket_url()).into());
        }
        Ok(responses)
    }

    fn bucket_url(&self) -> String {
        format!("{}/{}", self.endpoint, crate::response_bucket(&self.region))
    }

    fn object_url(&self, event: &Value) -> String {
        let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
        let key = crate::response_key_path(&field("StackId"), &field("LogicalResourceId"), &field("RequestId"));
        format!("{}/{key}", self.bucket_url())
    }

    /// Gives `event` a presigned PUT URL for the object its own identifiers name, as CloudFormation does.
    pub fn address(&self, event: &mut Value) -> Result<(), BoxError> {
        event["ResponseURL"] = Value::String(self.presign("PUT", &self.object_url(event))?);
        Ok(())
    }

    /// Re-signs `event`'s own ResponseURL (scheme, host and path kept as CloudFormation wrote them)
    /// with a fresh presigned query string, for an event that must reach moto through the real
    /// S3 host name (a TLS front and a hosts entry in front of moto, as in `cargo xtask sam-local`).
    pub fn presign_in_place(&self, event: &mut Value) -> Result<(), BoxError> {
        let url = event["ResponseURL"].as_str().ok_or("the event has no ResponseURL")?;
        let unsigned = url.split_once('?').map_or(url, |(unsigned, _query)| unsigned).to_owned();
        event["ResponseURL"] = Value::String(self.presign("PUT", &unsigned)?);
        Ok(())
    }

    /// `url` with a SigV4 query-string signature for `method`, valid for two hours.
    fn presign(&self, method: &str, url: &str) -> Result<String, BoxError> {
        let identity: Identity = Credentials::new("testing", "testing", None, None, "moto").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(7200));
        // S3 signs the path as sent: no double encoding, no normalisation.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()?
            .into();
        let signable = SignableRequest::new(method, url, std::iter::empty(), SignableBody::UnsignedPayload)?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        let mut request = http::Request::builder().method(method).uri(url).body(())?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.uri().to_string())
    }

    /// The answer stored for `event`'s request, when one was PUT.
    pub async fn answer(&self, event: &Value) -> Result<Option<Value>, BoxError> {
        let url = self.presign("GET", &self.object_url(event))?;
        let (status, text) = self.send("GET", &url, Bytes::new()).await?;
        match status {
            200 => Ok(Some(serde_json::from_str(&text)?)),
            404 => Ok(None),
            other => Err(format!("GetObject: HTTP {other}: {text}").into()),
        }
    }

    async fn send(&self, method: &str, url: &str, body: Bytes) -> Result<(u16, String), BoxError> {
        let request = Request::builder().method(method).uri(url).body(Full::new(body))?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
