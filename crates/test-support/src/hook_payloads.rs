use std::time::Duration;

use aws_sdk_s3::config::{Builder, RequestChecksumCalculation};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::BoxError;

/// Where the Hooks service would put a hook's payload, in moto's S3: a bucket of the region, objects
/// written with PutObject and handed over as presigned GET URLs (path-style on loopback), as the
/// Hooks User Guide describes ("an Amazon S3 presigned URL").
pub struct HookPayloads {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl HookPayloads {
    pub async fn create(endpoint: &str, region: &str) -> Result<HookPayloads, BoxError> {
        let sdk = crate::sdk_config(endpoint.trim_end_matches('/'), region).await;
        let config = Builder::from(&sdk)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .force_path_style(true)
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        let bucket = format!("hooks-payloads-{region}");
        let mut create = s3.create_bucket().bucket(&bucket);
        if region != "us-east-1" {
            let location = BucketLocationConstraint::from(region);
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder().location_constraint(location).build(),
            );
        }
        if let Err(error) = create.send().await
            && !error.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you())
        {
            return Err(format!("CreateBucket {bucket}: {}", aws_sdk_s3::error::DisplayErrorContext(&error)).into());
        }
        Ok(HookPayloads { s3, bucket })
    }

    /// Stores `body` under `key` and returns a presigned GET URL for it, valid for an hour.
    pub async fn put(&self, key: &str, body: impl Into<Vec<u8>>) -> Result<String, BoxError> {
        let body = ByteStream::from(body.into());
        self.s3.put_object().bucket(&self.bucket).key(key).body(body).send().await?;
        let presigned = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(3600))?)
            .await?;
        Ok(presigned.uri().to_owned())
    }
}
