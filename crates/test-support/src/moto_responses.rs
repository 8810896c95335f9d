use std::time::Duration;

use aws_sdk_s3::config::{Builder, RequestChecksumCalculation};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use serde_json::Value;

use crate::BoxError;

/// How long a ResponseURL stays valid: CloudFormation's presigned URLs last two hours.
const URL_LIFETIME: Duration = Duration::from_secs(7200);

/// CloudFormation's response bucket for a region, in moto's S3: answers are PUT through presigned
/// URLs that the S3 SDK signs (path-style on loopback), and read back with GetObject, as
/// CloudFormation reads them.
pub struct MotoResponses {
    sdk: aws_config::SdkConfig,
    bucket: String,
    /// Path-style, on moto's own endpoint.
    s3: aws_sdk_s3::Client,
}

impl MotoResponses {
    /// Creates the bucket `cloudformation-custom-resource-response-<region>` (it may exist already).
    pub async fn create(endpoint: &str, region: &str) -> Result<MotoResponses, BoxError> {
        let sdk = crate::sdk_config(endpoint.trim_end_matches('/'), region).await;
        let s3 = aws_sdk_s3::Client::from_conf(s3_config(&sdk).force_path_style(true).build());
        let bucket = crate::response_bucket(region);
        let mut create = s3.create_bucket().bucket(&bucket);
        if region != "us-east-1" {
            let location = BucketLocationConstraint::from(region);
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder().location_constraint(location).build(),
            );
        }
        if let Err(error) = create.send().await {
            let owned = error.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you());
            if !owned {
                return Err(format!("CreateBucket {bucket}: {}", aws_sdk_s3::error::DisplayErrorContext(&error)).into());
            }
        }
        Ok(MotoResponses { sdk, bucket, s3 })
    }

    /// The object key of `event`'s request: `<StackId>|<LogicalResourceId>|<RequestId>`.
    fn key(event: &Value) -> String {
        let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
        format!("{}|{}|{}", field("StackId"), field("LogicalResourceId"), field("RequestId"))
    }

    /// Gives `event` a presigned PUT URL for the object its own identifiers name, as CloudFormation does.
    pub async fn address(&self, event: &mut Value) -> Result<(), BoxError> {
        let url = presigned_put(&self.s3, &self.bucket, &MotoResponses::key(event)).await?;
        event["ResponseURL"] = Value::String(url);
        Ok(())
    }

    /// Signs `event`'s own ResponseURL again (scheme, virtual-hosted bucket and key kept as
    /// CloudFormation wrote them) with a fresh presigned query string, for an event that must reach
    /// moto through the real S3 host name (a TLS front and a hosts entry in front of moto, as in
    /// `cargo xtask sam-local`).
    pub async fn presign_in_place(&self, event: &mut Value) -> Result<(), BoxError> {
        let url = url::Url::parse(event["ResponseURL"].as_str().ok_or("the event has no ResponseURL")?)?;
        let host = url.host_str().ok_or("the ResponseURL has no host")?;
        let (bucket, endpoint) = host.split_once('.').ok_or("the ResponseURL is not virtual-hosted")?;
        let key = percent_encoding::percent_decode_str(url.path().trim_start_matches('/')).decode_utf8()?;
        let config = s3_config(&self.sdk).endpoint_url(format!("{}://{endpoint}", url.scheme())).build();
        let url = presigned_put(&aws_sdk_s3::Client::from_conf(config), bucket, &key).await?;
        event["ResponseURL"] = Value::String(url);
        Ok(())
    }

    /// The answer stored for `event`'s request, when one was PUT.
    pub async fn answer(&self, event: &Value) -> Result<Option<Value>, BoxError> {
        let read = self.s3.get_object().bucket(&self.bucket).key(MotoResponses::key(event)).send().await;
        match read {
            Ok(object) => Ok(Some(serde_json::from_slice(&object.body.collect().await?.into_bytes())?)),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(format!("GetObject: {}", aws_sdk_s3::error::DisplayErrorContext(&error)).into()),
        }
    }
}

/// S3 from the shared configuration. A ResponseURL carries no checksum: the function's PUT sends
/// none, as CloudFormation's URLs expect.
fn s3_config(sdk: &aws_config::SdkConfig) -> Builder {
    Builder::from(sdk).request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
}

async fn presigned_put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String, BoxError> {
    let presigned =
        s3.put_object().bucket(bucket).key(key).presigned(PresigningConfig::expires_in(URL_LIFETIME)?).await?;
    Ok(presigned.uri().to_owned())
}
