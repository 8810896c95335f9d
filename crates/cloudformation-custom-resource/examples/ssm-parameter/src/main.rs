//! `Custom::SsmParameterValue`: `!GetAtt Resource.Value` is an SSM parameter's value, read from any
//! region of the account (`{{resolve:ssm:…}}` reads only the stack's own region).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use cloudformation_custom_resource::{CustomResource, Data, Deleted, Failure, Request, StackArn, Success};
use serde::Deserialize;

/// The resource's properties. CloudFormation sends every scalar as a string, so the flag is one too.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Properties {
    /// The parameter's name or ARN.
    name: String,
    /// Where it lives; the stack's region when absent.
    region: Option<String>,
    /// `"true"` to read a SecureString's plaintext.
    with_decryption: Option<String>,
}

struct ParameterValue {
    config: SdkConfig,
}

impl ParameterValue {
    async fn read(&self, request: &Request<Properties>) -> Result<Success, Failure> {
        let properties = &request.properties;
        let with_decryption = match properties.with_decryption.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(Failure::new(format!("WithDecryption must be \"true\" or \"false\", not \"{other}\".")));
            }
        };
        let region = match (&properties.region, StackArn::parse(&request.reply.stack_id)) {
            (Some(region), _) => region.clone(),
            (None, Some(stack)) => stack.region.to_owned(),
            (None, None) => return Err(Failure::new("Region is required: the StackId names no region.")),
        };
        // One client per region read; building one makes no call.
        let config = aws_sdk_ssm::config::Builder::from(&self.config).region(Region::new(region.clone())).build();
        let output = aws_sdk_ssm::Client::from_conf(config)
            .get_parameter()
            .name(&properties.name)
            .with_decryption(with_decryption)
            .send()
            .await
            .map_err(|error| Failure::caused_by(format!("Reading parameter {} in {region}", properties.name), error))?;
        let parameter = output.parameter.ok_or_else(|| Failure::new("GetParameter answered without a parameter."))?;
        let kind = parameter.r#type.map(|t| t.as_str().to_owned()).unwrap_or_default();
        let secret = kind == "SecureString" && with_decryption;
        let data = Data::from_iter([
            ("Value", parameter.value.unwrap_or_default()),
            ("Version", parameter.version.to_string()),
            ("Type", kind),
        ]);
        Ok(Success::new(format!("ssm:{region}:{}", properties.name), data).no_echo(secret))
    }
}

impl CustomResource for ParameterValue {
    type Properties = Properties;

    async fn create(&self, request: &Request<Properties>) -> Result<Success, Failure> {
        self.read(request).await
    }

    /// Another name or region is another ID: CloudFormation then deletes the old one, which is free.
    async fn update(&self, request: &Request<Properties>) -> Result<Success, Failure> {
        self.read(request).await
    }

    /// Reading created nothing.
    async fn delete(&self, _: &Request<Properties>) -> Result<Deleted, Failure> {
        Ok(Deleted::new())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    cloudformation_custom_resource::lambda::run(ParameterValue { config }).await
}
