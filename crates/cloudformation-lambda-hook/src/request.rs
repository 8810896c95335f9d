//! The request a Lambda Hook receives.

use serde::Deserialize;
use serde_json::Value;

/// Whether `event` has the shape of a Lambda Hook request (and not a custom-resource request or a
/// schedule): a client request token, request data, and an invocation point unless it is for a
/// change set (the guide's change-set syntax has none: a change set is only ever created).
pub fn is_hook_event(event: &Value) -> bool {
    let has = |names: &[&str]| names.iter().any(|name| event.get(*name).is_some());
    let change_set = event.pointer("/requestData/targetType").and_then(Value::as_str) == Some("CHANGE_SET");
    has(&["clientRequestToken", "clientRequesttoken"])
        && has(&["requestData"])
        && (change_set || has(&["actionInvocationPoint"]))
}

/// What the hook is invoked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stack,
    ChangeSet,
}

/// The operation, from `actionInvocationPoint` (`CREATE_PRE_PROVISION`, …). Change sets are
/// always `Create` (the guide: only the CREATE action applies to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// A Lambda Hook request for a STACK or CHANGE_SET target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRequest {
    pub client_request_token: String,
    pub aws_account_id: String,
    pub stack_id: String,
    pub change_set_id: Option<String>,
    pub hook_type_name: Option<String>,
    pub action: Action,
    pub target: Target,
    /// The stack name (STACK) or the change set's ARN (CHANGE_SET).
    pub target_logical_id: String,
    /// The presigned URL of the templates, unchecked: bind it with [`crate::PayloadUrl::bind`].
    pub payload: Option<String>,
    /// 1 on the first invocation; more after `IN_PROGRESS`.
    pub invocation: u32,
}

/// Why a request is not one this crate serves. Never contains the payload URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedHook {
    #[error("the hook request is malformed: {0}")]
    Shape(String),
    #[error("the hook request's target type is {0}; only STACK and CHANGE_SET are served")]
    UnsupportedTarget(String),
    #[error("the hook request's actionInvocationPoint is {0}; only CREATE/UPDATE/DELETE_PRE_PROVISION are served")]
    UnsupportedAction(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(alias = "clientRequesttoken")]
    client_request_token: String,
    aws_account_id: String,
    #[serde(alias = "stackID")]
    stack_id: String,
    #[serde(default)]
    change_set_id: Option<String>,
    #[serde(default)]
    hook_type_name: Option<String>,
    #[serde(default)]
    action_invocation_point: Option<String>,
    request_data: WireData,
    #[serde(default)]
    request_context: Option<WireContext>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireData {
    target_type: String,
    #[serde(default)]
    target_logical_id: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireContext {
    #[serde(default)]
    invocation: Option<u32>,
}

impl HookRequest {
    pub fn parse(event: &Value) -> Result<HookRequest, MalformedHook> {
        let wire = Wire::deserialize(event).map_err(|e| MalformedHook::Shape(e.to_string()))?;
        let target = match wire.request_data.target_type.as_str() {
            "STACK" => Target::Stack,
            "CHANGE_SET" => Target::ChangeSet,
            other => return Err(MalformedHook::UnsupportedTarget(other.to_owned())),
        };
        let action = match (target, wire.action_invocation_point.as_deref()) {
            // Judged whatever the point says, or without one: a change set is always being created.
            (Target::ChangeSet, _) => Action::Create,
            (Target::Stack, Some("CREATE_PRE_PROVISION")) => Action::Create,
            (Target::Stack, Some("UPDATE_PRE_PROVISION")) => Action::Update,
            (Target::Stack, Some("DELETE_PRE_PROVISION")) => Action::Delete,
            (Target::Stack, Some(other)) => return Err(MalformedHook::UnsupportedAction(other.to_owned())),
            (Target::Stack, None) => {
                return Err(MalformedHook::Shape("a STACK request needs an actionInvocationPoint".to_owned()));
            }
        };
        if wire.client_request_token.is_empty() {
            return Err(MalformedHook::Shape("clientRequestToken is empty".to_owned()));
        }
        Ok(HookRequest {
            client_request_token: wire.client_request_token,
            aws_account_id: wire.aws_account_id,
            stack_id: wire.stack_id,
            change_set_id: wire.change_set_id.filter(|id| !id.is_empty()),
            hook_type_name: wire.hook_type_name,
            action,
            target,
            target_logical_id: wire.request_data.target_logical_id.unwrap_or_default(),
            payload: wire.request_data.payload.filter(|url| !url.is_empty()),
            invocation: wire.request_context.and_then(|c| c.invocation).unwrap_or(1),
        })
    }

    /// The stack's name, from its ID (`arn:…:stack/<name>/<uuid>`).
    pub fn stack_name(&self) -> Option<&str> {
        self.stack_id.split(':').nth(5)?.strip_prefix("stack/")?.split('/').next().filter(|n| !n.is_empty())
    }

    /// The stack's region and account, from its ID.
    pub fn stack_region_and_account(&self) -> Option<(&str, &str)> {
        let fields: Vec<&str> = self.stack_id.splitn(6, ':').collect();
        match fields[..] {
            ["arn", _, "cloudformation", region, account, _] => Some((region, account)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The guide's STACK example ("Evaluating stack operations"), verbatim but for the URL.
    fn stack_example() -> Value {
        json!({
            "clientRequestToken": "f8da6d11-b23f-48f4-814c-0fb6a667f50e",
            "awsAccountId": "123456789012",
            "stackId": "arn:aws:cloudformation:us-west-2:123456789012:stack/MyStack/1a2345b6-0000-00a0-a123-00abc0abc000",
            "changeSetId": null,
            "hookTypeName": "my::lambda::stackhook",
            "hookTypeVersion": "00000008",
            "hookModel": {"LambdaFunction": "arn:aws:lambda:us-west-2:123456789012:function:MyFunction"},
            "actionInvocationPoint": "UPDATE_PRE_PROVISION",
            "requestData": {
                "targetName": "STACK",
                "targetType": "STACK",
                "targetLogicalId": "my-cloudformation-stack",
                "payload": "https://s3.us-west-2.amazonaws.com/bucket/key?X-Amz-Signature=abc"
            },
            "requestContext": {"invocation": 1, "callbackContext": null}
        })
    }

    #[test]
    fn the_guides_stack_example_parses() {
        let request = HookRequest::parse(&stack_example()).unwrap();
        assert_eq!((request.target, request.action, request.invocation), (Target::Stack, Action::Update, 1));
        assert_eq!(request.stack_name(), Some("MyStack"));
        assert_eq!(request.stack_region_and_account(), Some(("us-west-2", "123456789012")));
        assert_eq!(request.change_set_id, None);
        assert!(is_hook_event(&stack_example()));
    }

    #[test]
    fn the_schemas_spellings_and_change_sets_parse() {
        let mut event = stack_example();
        let object = event.as_object_mut().unwrap();
        let token = object.remove("clientRequestToken").unwrap();
        object.insert("clientRequesttoken".into(), token);
        let stack = object.remove("stackId").unwrap();
        object.insert("stackID".into(), stack);
        object.insert("actionInvocationPoint".into(), json!("CREATE_PRE_PROVISION"));
        event["requestData"]["targetType"] = json!("CHANGE_SET");
        event["changeSetId"] = json!(
            "arn:aws:cloudformation:us-west-2:123456789012:changeSet/SampleChangeSet/1a2345b6-0000-00a0-a123-00abc0abc000"
        );
        let request = HookRequest::parse(&event).unwrap();
        assert_eq!((request.target, request.action), (Target::ChangeSet, Action::Create));
        assert!(request.change_set_id.is_some() && is_hook_event(&event));
    }

    /// The guide's change-set *syntax* block: `clientRequesttoken`, `stackID`, and no
    /// `actionInvocationPoint` at all.
    fn change_set_syntax() -> Value {
        json!({
            "clientRequesttoken": "4885d0b0-0000-4b0f-a6d4-3d4bd5c0bf7f",
            "awsAccountId": "123456789012",
            "stackID": "arn:aws:cloudformation:us-west-2:123456789012:stack/MyStack/1a2345b6-0000-00a0-a123-00abc0abc000",
            "changeSetId": "arn:aws:cloudformation:us-west-2:123456789012:changeSet/SampleChangeSet/1a2345b6-0000-00a0-a123-00abc0abc000",
            "hookTypeName": "my::lambda::changesethook",
            "hookTypeVersion": "00000008",
            "hookModel": {"LambdaFunction": "arn:aws:lambda:us-west-2:123456789012:function:MyFunction"},
            "requestData": {
                "targetName": "CHANGE_SET",
                "targetType": "CHANGE_SET",
                "targetLogicalId": "arn:aws:cloudformation:us-west-2:123456789012:changeSet/SampleChangeSet/1a2345b6-0000-00a0-a123-00abc0abc000",
                "payload": "https://s3.us-west-2.amazonaws.com/bucket/key?X-Amz-Signature=abc"
            },
            "requestContext": {"invocation": 1, "callbackContext": null}
        })
    }

    #[test]
    fn a_change_set_is_judged_whatever_its_invocation_point_and_in_either_spelling() {
        let syntax = change_set_syntax();
        assert!(is_hook_event(&syntax), "the guide's change-set syntax is a hook request");
        let request = HookRequest::parse(&syntax).unwrap();
        assert_eq!((request.target, request.action), (Target::ChangeSet, Action::Create));
        assert_eq!(request.client_request_token, "4885d0b0-0000-4b0f-a6d4-3d4bd5c0bf7f");
        assert_eq!(request.stack_name(), Some("MyStack"));
        for point in ["CREATE_PRE_PROVISION", "UPDATE_PRE_PROVISION", "SOMETHING_NEW"] {
            let mut event = change_set_syntax();
            event["actionInvocationPoint"] = json!(point);
            let object = event.as_object_mut().unwrap();
            let token = object.remove("clientRequesttoken").unwrap();
            object.insert("clientRequestToken".into(), token);
            let stack = object.remove("stackID").unwrap();
            object.insert("stackId".into(), stack);
            let request = HookRequest::parse(&event).unwrap();
            assert_eq!((request.target, request.action), (Target::ChangeSet, Action::Create), "{point}");
        }
        // A stack operation still needs to say which one it is.
        let mut stack = stack_example();
        stack.as_object_mut().unwrap().remove("actionInvocationPoint");
        assert!(!is_hook_event(&stack));
        assert!(matches!(HookRequest::parse(&stack), Err(MalformedHook::Shape(_))));
    }

    #[test]
    fn other_targets_and_shapes_are_refused_by_name() {
        let mut resource = stack_example();
        resource["requestData"]["targetType"] = json!("AWS::S3::Bucket");
        assert_eq!(
            HookRequest::parse(&resource).unwrap_err(),
            MalformedHook::UnsupportedTarget("AWS::S3::Bucket".into())
        );
        let custom_resource = json!({"RequestType": "Create", "ResponseURL": "https://x", "StackId": "s"});
        assert!(!is_hook_event(&custom_resource));
        assert!(matches!(HookRequest::parse(&custom_resource), Err(MalformedHook::Shape(_))));
    }
}
