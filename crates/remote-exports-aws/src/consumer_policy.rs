//! SSM GetParameter for the consumer policy, read by its type.

use std::sync::OnceLock;

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::types::ParameterType;
use remote_exports_core::{CallError, ConsumerPolicyStore, PolicyStoreError};

use crate::aws_error::call_error;

/// Reads String and SecureString parameters (decrypted) from SSM Parameter Store in the function's
/// own account and region, with the function's own credentials. The client is built on first use.
pub struct SsmConsumerPolicy {
    config: SdkConfig,
    client: OnceLock<Client>,
}

impl SsmConsumerPolicy {
    pub fn new(config: &SdkConfig) -> Self {
        SsmConsumerPolicy { config: config.clone(), client: OnceLock::new() }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::new(&self.config))
    }
}

impl ConsumerPolicyStore for SsmConsumerPolicy {
    async fn get(&self, name: &str) -> Result<String, PolicyStoreError> {
        // Decryption is asked for always: it is ignored for a String and needed for a SecureString.
        let answer = self.client().get_parameter().name(name).with_decryption(true).send().await;
        match answer {
            Ok(output) => parameter_value(output),
            Err(error) => Err(unreadable(&call_error("GetParameter", &error))),
        }
    }
}

fn parameter_value(output: GetParameterOutput) -> Result<String, PolicyStoreError> {
    let parameter =
        output.parameter.ok_or_else(|| PolicyStoreError::Unreadable("GetParameter returned no parameter".into()))?;
    match parameter.r#type {
        Some(ParameterType::String | ParameterType::SecureString) | None => {
            parameter.value.ok_or_else(|| PolicyStoreError::Unreadable("GetParameter returned no value".into()))
        }
        Some(other) => Err(PolicyStoreError::WrongType { found: other.as_str().to_owned() }),
    }
}

/// A KMS refusal behind GetParameter is a SecureString the function may not decrypt: SSM answers
/// `AccessDeniedException` naming `kms:Decrypt`, or a KMS error code for a disabled or missing key.
fn unreadable(error: &CallError) -> PolicyStoreError {
    let code = error.code.as_deref().unwrap_or_default();
    let kms_code =
        code.starts_with("KMS") || matches!(code, "InvalidKeyId" | "DisabledException" | "KeyUnavailableException");
    let kms_denied = code == "AccessDeniedException" && error.message.contains("kms:");
    if kms_code || kms_denied {
        PolicyStoreError::CannotDecrypt { detail: format!("{}: {}", error.cause(), error.message) }
    } else {
        PolicyStoreError::Unreadable(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::error::ErrorMetadata;
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, mock_client};

    fn answer(kind: ParameterType, value: &str) -> GetParameterOutput {
        let parameter = Parameter::builder().name("/p").r#type(kind).value(value).build();
        GetParameterOutput::builder().parameter(parameter).build()
    }

    async fn read(rule: &aws_smithy_mocks::Rule) -> Result<String, PolicyStoreError> {
        let client = mock_client!(aws_sdk_ssm, [rule]);
        let parameters = SsmConsumerPolicy { config: SdkConfig::builder().build(), client: OnceLock::from(client) };
        parameters.get("/p").await
    }

    #[tokio::test]
    async fn strings_and_decrypted_secure_strings_are_read_and_decryption_is_asked_for() {
        let rule = mock!(Client::get_parameter)
            .match_requests(|input| input.with_decryption == Some(true))
            .then_output(|| answer(ParameterType::SecureString, "{\"*\": {}}"));
        assert_eq!(read(&rule).await, Ok("{\"*\": {}}".to_owned()));
        let rule = mock!(Client::get_parameter).then_output(|| answer(ParameterType::String, "{}"));
        assert_eq!(read(&rule).await, Ok("{}".to_owned()));
    }

    #[tokio::test]
    async fn a_string_list_is_refused_by_its_type() {
        let rule = mock!(Client::get_parameter).then_output(|| answer(ParameterType::StringList, "a,b"));
        let error = read(&rule).await.unwrap_err();
        assert_eq!(error, PolicyStoreError::WrongType { found: "StringList".into() });
        assert!(error.to_string().contains("String or SecureString"), "{error}");
    }

    /// The error SSM returns when the caller may not use the parameter's key (AWS re:Post and the
    /// SSM troubleshooting guide quote this message shape).
    #[tokio::test]
    async fn a_secure_string_that_cannot_be_decrypted_names_the_fix() {
        let rule = mock!(Client::get_parameter).then_error(|| {
            GetParameterError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message(
                        "User: arn:aws:sts::123456789012:assumed-role/remote-exports/fn is not authorized to perform: \
                         kms:Decrypt on resource: arn:aws:kms:eu-west-1:123456789012:key/1234abcd because no \
                         identity-based policy allows the kms:Decrypt action",
                    )
                    .build(),
            )
        });
        let error = read(&rule).await.unwrap_err();
        assert!(matches!(error, PolicyStoreError::CannotDecrypt { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains("SecureString") && text.contains("ConsumerPolicyKmsKeyArn"), "{text}");
    }

    #[tokio::test]
    async fn other_errors_keep_their_code() {
        let rule = mock!(Client::get_parameter).then_error(|| {
            GetParameterError::generic(ErrorMetadata::builder().code("ParameterNotFound").message("").build())
        });
        let error = read(&rule).await.unwrap_err();
        assert!(
            matches!(&error, PolicyStoreError::Unreadable(text) if text.contains("ParameterNotFound")),
            "{error:?}"
        );
    }
}
