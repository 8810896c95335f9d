//! One description of a failed SDK call, for every adapter: the AWS error code, or the HTTP status
//! when the answer had none, or why no answer came.

use std::error::Error as StdError;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use remote_exports_shared::source_chain;

use remote_exports_core::CallError;

/// A failed SDK call as the domain's [`CallError`]: service errors keep their code, unreadable
/// answers their status.
pub fn call_error<E>(operation: &'static str, error: &SdkError<E, Response>) -> CallError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    {
        let (code, status, message) = match error {
            SdkError::ServiceError(context) => (
                context.err().code().map(str::to_owned),
                Some(context.raw().status().as_u16()),
                context.err().message().map_or_else(|| source_chain(context.err()), str::to_owned),
            ),
            // An answer that could not be read, such as a 200 whose body is not the service's JSON.
            SdkError::ResponseError(context) => (None, Some(context.raw().status().as_u16()), source_chain(error)),
            other => (None, None, source_chain(other)),
        };
        CallError { operation, code, status, message }
    }
}

/// CloudFormation's answer for a stack name that never existed (or is gone): `ValidationError`,
/// "Stack with id <name> does not exist".
pub(crate) fn is_missing_stack<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.ends_with("does not exist"))
    })
}

/// The stack named `name` among DescribeStacks' answer, unless it is deleted.
pub(crate) fn live_stack(
    stacks: Option<Vec<aws_sdk_cloudformation::types::Stack>>,
    name: &str,
) -> Option<aws_sdk_cloudformation::types::Stack> {
    use aws_sdk_cloudformation::types::StackStatus;
    stacks.unwrap_or_default().into_iter().find(|stack| {
        stack.stack_name.as_deref() == Some(name) && stack.stack_status != Some(StackStatus::DeleteComplete)
    })
}

/// A DynamoDB conditional write or delete whose condition did not hold.
pub(crate) fn is_condition_failure<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_the_code_else_the_status_else_no_answer() {
        let error = |code: Option<&str>, status: Option<u16>| CallError {
            operation: "PutItem",
            code: code.map(str::to_owned),
            status,
            message: "m".into(),
        };
        assert_eq!(
            error(Some("AccessDeniedException"), Some(400)).to_string(),
            "PutItem failed (AccessDeniedException: m)"
        );
        assert_eq!(error(None, Some(403)).to_string(), "PutItem failed (HTTP 403: m)");
        assert_eq!(error(None, None).to_string(), "PutItem failed (no answer: m)");
    }
}
