use serde_json::{Value, json};

/// The ServiceToken CloudFormation puts in every request (and repeats in the properties).
pub const SERVICE_TOKEN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:remote-exports";

/// A Create request for the `Lookup` resource as CloudFormation sends it. Its ResponseURL is empty:
/// give it one bound to the event with [`crate::ResponseEndpoint::address`] or [`crate::MotoResponses::address`].
pub fn create_event(stack_id: &str, request_id: &str, properties: Value) -> Value {
    let mut resource_properties = json!({"ServiceToken": SERVICE_TOKEN});
    for (key, value) in properties.as_object().into_iter().flatten() {
        resource_properties[key] = value.clone();
    }
    json!({
        "RequestType": "Create",
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": "",
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": "Lookup",
        "ResourceType": "Custom::RemoteExports",
        "ResourceProperties": resource_properties,
    })
}
