//! The Lambda side of `Custom::RemoteExports`: logging set up as the Lambda runtime expects, and the
//! mapping from the protocol's undeliverable outcomes to the runtime's typed errors.

mod logging;

pub use logging::init_logging;

use cfn_custom_resource::HandleError;

/// An invocation CloudFormation could not be told about. Only these reach the runtime as errors,
/// because an error makes Lambda run the whole event again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FunctionError(#[from] pub HandleError);

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: format!("RemoteExports.{}", error.0.kind_name()),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_reach_the_runtime_with_a_typed_error_type() {
        let refused = HandleError::ResponseUrlRefused(cfn_custom_resource::ResponseUrlError::UnboundStack);
        let diagnostic = lambda_runtime::Diagnostic::from(FunctionError(refused));
        assert_eq!(diagnostic.error_type, "RemoteExports.ResponseUrlRefused");
        assert!(diagnostic.error_message.contains("cannot be bound"), "{}", diagnostic.error_message);
    }
}
