//! The export guard's view of its own account: the stack as it stands (DescribeStacks with the
//! function's own credentials), and the central registry read through a role that knows which
//! account is asking.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use remote_exports_core::template::Parameters;
use remote_exports_core::{CallError, CurrentOutput, CurrentStack, PublisherStacks, StackReadError};

use crate::DynamoDbRegistry;
use crate::assumed_role::{AssumedRole, AssumedRoleCredentials};
use crate::aws_error::call_error;
use crate::aws_error::{is_missing_stack, live_stack};

/// DescribeStacks in the function's own account and region. The client is built once.
pub struct CloudFormationStacks {
    client: Client,
}

impl CloudFormationStacks {
    pub fn new(config: &SdkConfig) -> Self {
        CloudFormationStacks { client: Client::new(config) }
    }
}

/// The account the credentials belong to, as STS says (GetCallerIdentity).
pub async fn caller_account(config: &SdkConfig) -> Result<String, CallError> {
    let identity = aws_sdk_sts::Client::new(config).get_caller_identity().send().await;
    let identity = identity.map_err(|e| call_error("GetCallerIdentity", &e))?;
    identity.account.ok_or_else(|| CallError::unexpected("GetCallerIdentity", "the answer names no account"))
}

impl PublisherStacks for CloudFormationStacks {
    /// GetTemplate, `Original` stage: as written, before transforms.
    async fn template(&self, stack: &str, change_set: Option<&str>) -> Result<Option<String>, StackReadError> {
        let request = self
            .client
            .get_template()
            .stack_name(stack)
            .set_change_set_name(change_set.map(str::to_owned))
            .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original);
        match request.send().await {
            Ok(output) => Ok(output.template_body),
            Err(error) if change_set.is_none() && is_missing_stack(&error) => Ok(None),
            Err(error) => Err(call_failed("GetTemplate", change_set.unwrap_or(stack), &error)),
        }
    }

    async fn current(&self, stack: &str) -> Result<Option<CurrentStack>, StackReadError> {
        let described = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(described) => described,
            // A stack being created does not exist yet: nothing of it is read.
            Err(error) if is_missing_stack(&error) => return Ok(None),
            Err(error) => return Err(call_failed("DescribeStacks", stack, &error)),
        };
        Ok(live_stack(described.stacks, stack).map(|found| CurrentStack {
            outputs: found
                .outputs
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| Some(CurrentOutput { key: o.output_key?, export_name: o.export_name }))
                .collect(),
            parameters: found
                .parameters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| Some((p.parameter_key?, p.resolved_value.or(p.parameter_value)?)))
                // NoEcho values come back masked: a name built from one cannot be worked out.
                .filter(|(_, value)| value != NO_ECHO_MASK)
                .collect(),
        }))
    }

    async fn change_set_parameters(&self, change_set: &str) -> Result<Parameters, StackReadError> {
        let described = self
            .client
            .describe_change_set()
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|error| call_failed("DescribeChangeSet", change_set, &error))?;
        Ok(described
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.use_previous_value != Some(true))
            .filter_map(|p| Some((p.parameter_key?, p.resolved_value.or(p.parameter_value)?)))
            .filter(|(_, value)| value != NO_ECHO_MASK)
            .collect())
    }
}

/// "<operation> of <subject> failed (<cause>: <message>)".
fn call_failed<E>(operation: &'static str, subject: &str, error: &SdkError<E, HttpResponse>) -> StackReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    StackReadError { subject: subject.to_owned(), call: call_error(operation, error) }
}

/// What DescribeStacks and DescribeChangeSet show for a NoEcho parameter's value.
const NO_ECHO_MASK: &str = "****";

/// The read registry as the export guard (and `remote-exports check`) reads it: the central `table`
/// through the central `role` as `account`, or with `config`'s own credentials without a role (a
/// guard in the central account itself).
pub fn guard_registry(config: &SdkConfig, table: &str, role: Option<&str>, account: &str) -> DynamoDbRegistry {
    match role {
        Some(role) => DynamoDbRegistry::new(&registry_reader_config(config, role, account), table),
        None => DynamoDbRegistry::new(config, table),
    }
}

/// `config` with credentials of `role` (the registry's guard role in the central account), assumed
/// with `SourceIdentity` = `account`: the role's trust policy admits a caller only under its own
/// account's name, and its permissions pin `dynamodb:LeadingKeys` to that name.
fn registry_reader_config(config: &SdkConfig, role: &str, account: &str) -> SdkConfig {
    let sts = aws_sdk_sts::Client::new(config);
    let assumed = AssumedRole::as_account(&sts, role, &format!("{account}-export-guard"), account);
    config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(AssumedRoleCredentials(Arc::new(assumed))))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn a_change_sets_template_is_asked_for_by_name_as_written() {
        let rule = mock!(aws_sdk_cloudformation::Client::get_template)
            .match_requests(|r| {
                r.stack_name() == Some("booking")
                    && r.change_set_name() == Some("remove-topic")
                    && r.template_stage() == Some(&aws_sdk_cloudformation::types::TemplateStage::Original)
            })
            .then_output(|| GetTemplateOutput::builder().template_body("Resources: {}").build());
        let stacks = CloudFormationStacks { client: mock_client!(aws_sdk_cloudformation, [&rule]) };
        assert_eq!(stacks.template("booking", Some("remove-topic")).await.unwrap().as_deref(), Some("Resources: {}"));
        assert_eq!(rule.num_calls(), 1);
    }
}
