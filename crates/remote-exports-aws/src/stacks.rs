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
use remote_exports_core::{
    CallError, ConsumerStack, ConsumerStacks, CurrentOutput, CurrentStack, ParameterValue, PublisherStacks,
    StackReadError,
};

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

/// The refresher's view: its own account's stacks, described and refreshed with the previous
/// template. CloudFormation updates a stack under the role it already has: no role is passed. A change
/// is addressed to the name the stack ID was just described under (AWS takes either; moto, which the
/// tests run against, only names); the role's tag condition is evaluated on the stack so named.
impl ConsumerStacks for CloudFormationStacks {
    async fn describe(&self, stack_id: &str) -> Result<Option<ConsumerStack>, StackReadError> {
        let described = match self.client.describe_stacks().stack_name(stack_id).send().await {
            Ok(described) => described,
            Err(error) if is_missing_stack(&error) => return Ok(None),
            Err(error) => return Err(call_failed("DescribeStacks", stack_id, &error)),
        };
        let Some(found) = described.stacks.unwrap_or_default().into_iter().next() else { return Ok(None) };
        Ok(Some(ConsumerStack {
            stack_id: found.stack_id.unwrap_or_else(|| stack_id.to_owned()),
            name: found.stack_name.unwrap_or_default(),
            status: found.stack_status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            tags: found.tags.unwrap_or_default().into_iter().filter_map(|t| Some((t.key?, t.value?))).collect(),
            parameters: found
                .parameters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| Some((p.parameter_key?, p.parameter_value.unwrap_or_default())))
                .collect(),
            role_arn: found.role_arn,
            capabilities: found.capabilities.unwrap_or_default().iter().map(|c| c.as_str().to_owned()).collect(),
        }))
    }

    async fn create_change_set(
        &self,
        stack: &ConsumerStack,
        name: &str,
        parameters: &[(String, ParameterValue)],
    ) -> Result<Option<String>, StackReadError> {
        let request = self
            .client
            .create_change_set()
            .stack_name(&stack.name)
            .change_set_name(name)
            .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Update)
            .use_previous_template(true)
            .description("remote-exports: read the changed values again (the refresh parameter alone changes)")
            .set_parameters(Some(sdk_parameters(parameters)))
            .set_capabilities(capabilities(stack));
        match request.send().await {
            Ok(created) => Ok(Some(created.id.unwrap_or_default())),
            Err(error) if error.as_service_error().and_then(|e| e.code()) == Some("AlreadyExistsException") => Ok(None),
            Err(error) => Err(call_failed("CreateChangeSet", &stack.stack_id, &error)),
        }
    }

    async fn update(
        &self,
        stack: &ConsumerStack,
        parameters: &[(String, ParameterValue)],
    ) -> Result<(), StackReadError> {
        let request = self
            .client
            .update_stack()
            .stack_name(&stack.name)
            .use_previous_template(true)
            .set_parameters(Some(sdk_parameters(parameters)))
            .set_capabilities(capabilities(stack));
        request.send().await.map(drop).map_err(|error| call_failed("UpdateStack", &stack.stack_id, &error))
    }
}

fn sdk_parameters(parameters: &[(String, ParameterValue)]) -> Vec<aws_sdk_cloudformation::types::Parameter> {
    parameters
        .iter()
        .map(|(key, value)| {
            let parameter = aws_sdk_cloudformation::types::Parameter::builder().parameter_key(key);
            match value {
                ParameterValue::New(value) => parameter.parameter_value(value).build(),
                ParameterValue::Previous => parameter.use_previous_value(true).build(),
            }
        })
        .collect()
}

/// The capabilities the stack was deployed with: the same template needs the same acknowledgements
/// (none sent when it had none).
fn capabilities(stack: &ConsumerStack) -> Option<Vec<aws_sdk_cloudformation::types::Capability>> {
    let capabilities: Vec<_> =
        stack.capabilities.iter().map(|c| aws_sdk_cloudformation::types::Capability::from(c.as_str())).collect();
    (!capabilities.is_empty()).then_some(capabilities)
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
