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

/// CloudFormation's response bucket for `region`: `cloudformation-custom-resource-response-<region
/// without dashes>`, as the CloudFormation user guide names it for VPC endpoint policies. Written
/// here, apart from the protocol crate, so that a slip there cannot hide in the tests.
pub fn response_bucket(region: &str) -> String {
    format!("cloudformation-custom-resource-response-{}", region.replace('-', ""))
}

/// The object key of a ResponseURL, as CloudFormation writes it in the path: `<StackId>|<LogicalResourceId>|<RequestId>`
/// with `:` as `%3A` and `|` as `%7C`, slashes kept (the shape of every public sample, such as the
/// Knowledge Center's `…/arn%3Aaws%3Acloudformation%3Aus-east-1%3A111122223333%3Astack/…%7CMyCustomResource%7C…`).
pub fn response_key_path(stack_id: &str, logical_resource_id: &str, request_id: &str) -> String {
    let mut encoded = String::new();
    for byte in format!("{stack_id}|{logical_resource_id}|{request_id}").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}
