use serde_json::{Value, json};

/// The ServiceToken CloudFormation puts in every request (and repeats in the properties).
pub const SERVICE_TOKEN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:remote-exports";

/// A Create request for the `Lookup` resource as CloudFormation sends it, answered at `response_url`.
pub fn create_event(response_url: &str, stack_id: &str, request_id: &str, properties: Value) -> Value {
    let mut resource_properties = json!({"ServiceToken": SERVICE_TOKEN});
    for (key, value) in properties.as_object().into_iter().flatten() {
        resource_properties[key] = value.clone();
    }
    json!({
        "RequestType": "Create",
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": "Lookup",
        "ResourceType": "Custom::RemoteExports",
        "ResourceProperties": resource_properties,
    })
}
