//! CloudFormation Lambda Hooks: what the Hooks service sends a function for a STACK or CHANGE_SET
//! target operation, what the function answers, and the template payload behind the request's
//! presigned URL.
//!
//! Source: CloudFormation Hooks User Guide, "Create Lambda functions to evaluate resources for
//! Lambda Hooks" (sections "Evaluating stack operations" and "Evaluating change set operations").
//! The request's field names are read in the guide's examples' spelling (`clientRequestToken`,
//! `stackId`) and in its schema's (`clientRequesttoken`, `stackID`); payload keys in camelCase (the
//! guide) and in PascalCase (AWS's Java plugin for custom hooks).

mod payload;
mod request;
mod response;

pub use payload::{MAX_PAYLOAD_BYTES, Payload, PayloadError, PayloadFetcher, PayloadUrl, PayloadUrlError};
pub use request::{Action, HookRequest, MalformedHook, Target, is_hook_event};
pub use response::{Annotation, AnnotationStatus, ErrorCode, HookResponse, HookStatus, MESSAGE_LIMIT, Severity, cut};
