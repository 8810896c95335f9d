use aws_config::SdkConfig;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use remote_exports_core::ParameterStore;

use crate::error_chain;

/// Reads String parameters from SSM Parameter Store in the function's own account and region.
pub struct SsmParameters {
    client: aws_sdk_ssm::Client,
}

impl SsmParameters {
    pub fn new(config: &SdkConfig) -> Self {
        SsmParameters { client: aws_sdk_ssm::Client::new(config) }
    }
}

impl ParameterStore for SsmParameters {
    async fn get(&self, name: &str) -> Result<String, String> {
        let output =
            self.client.get_parameter().name(name).send().await.map_err(|error| match error.as_service_error() {
                Some(service) => format!(
                    "GetParameter failed ({}: {})",
                    service.code().unwrap_or("unknown"),
                    service.message().unwrap_or("no message")
                ),
                None => format!("GetParameter failed ({})", error_chain(&error)),
            })?;
        output.parameter.and_then(|p| p.value).ok_or_else(|| "GetParameter returned no value".to_owned())
    }
}
