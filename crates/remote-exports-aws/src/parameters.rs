//! SSM GetParameter over [`JsonClient`]: one signed request instead of the SSM SDK client.

use aws_config::SdkConfig;
use remote_exports_core::ParameterStore;
use serde_json::{Value, json};

use crate::TrustRoots;
use crate::signed_json::{JsonClient, SSM};

/// Reads String parameters from SSM Parameter Store in the function's own account and region, with
/// the function's own credentials.
pub struct SsmParameters {
    client: JsonClient,
}

impl SsmParameters {
    /// `AWS_ENDPOINT_URL_SSM`, else the configuration's endpoint override, else SSM's regional endpoint.
    pub fn new(config: &SdkConfig, roots: TrustRoots) -> Self {
        SsmParameters { client: JsonClient::new(SSM, config, roots) }
    }
}

impl ParameterStore for SsmParameters {
    async fn get(&self, name: &str) -> Result<String, String> {
        let answer = self.client.call("GetParameter", &json!({"Name": name})).await.map_err(|e| e.to_string())?;
        parameter_value(&answer)
    }
}

fn parameter_value(answer: &Value) -> Result<String, String> {
    answer["Parameter"]["Value"].as_str().map(str::to_owned).ok_or_else(|| "GetParameter returned no value".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_read_from_the_json_answer() {
        let ok = json!({"Parameter": {"Name": "/p", "Type": "String", "Value": "{\"*\": {}}", "Version": 3}});
        assert_eq!(parameter_value(&ok), Ok("{\"*\": {}}".to_owned()));
        assert!(parameter_value(&json!({})).is_err());
    }
}
