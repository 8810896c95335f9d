//! What unit tests of a custom resource need (feature `testing`): a transport that keeps every
//! answer instead of sending it, and events shaped as CloudFormation sends them.
//!
//! ```
//! use std::time::Duration;
//! use cloudformation_custom_resource::testing::{REGION, RecordingTransport, event};
//! use cloudformation_custom_resource::{Deadline, Driver, RequestKind, UrlPolicy};
//! # use cloudformation_custom_resource::{CustomResource, Data, Deleted, Failure, Request, Success};
//! # struct MyResource;
//! # impl CustomResource for MyResource {
//! #     type Properties = serde_json::Value;
//! #     async fn create(&self, _: &Request) -> Result<Success, Failure> { Ok(Success::new("id", Data::new())) }
//! #     async fn update(&self, _: &Request) -> Result<Success, Failure> { Ok(Success::new("id", Data::new())) }
//! #     async fn delete(&self, _: &Request) -> Result<Deleted, Failure> { Ok(Deleted::new()) }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let transport = RecordingTransport::new();
//! // The events' ResponseURLs are on loopback, as a local emulator's are.
//! let policy = UrlPolicy::strict().in_region(REGION).with_loopback(true);
//! let driver = Driver::new(MyResource, &transport).with_url_policy(policy);
//! let create = event(RequestKind::Create, serde_json::json!({"Name": "x"}));
//! driver.handle(create, Deadline::after(Duration::from_secs(10))).await.unwrap();
//! assert_eq!(transport.answers()[0]["Status"], "SUCCESS");
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::response_url::{encoded_response_key, response_bucket};
use crate::{RequestKind, ResponseTransport, ResponseUrl, TransportError};

/// The region of [`STACK_ID`]: the function's own, for [`crate::UrlPolicy::in_region`].
pub const REGION: &str = "us-east-1";

/// The stack [`event`]s come from.
pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/test-stack/4c5d6e7f";

/// An event as CloudFormation sends it for `kind`, from [`STACK_ID`], for the resource `Resource`
/// (`Custom::Test`, PhysicalResourceId `resource-id` on Update and Delete, RequestId `request-<kind>`),
/// its ResponseURL on 127.0.0.1 (accepted with [`crate::UrlPolicy::with_loopback`]). Change any field
/// before handing it to the driver; a changed RequestId or LogicalResourceId no longer matches the URL.
pub fn event(kind: RequestKind, properties: Value) -> Value {
    let request_id = format!("request-{}", kind.as_str().to_ascii_lowercase());
    let key = encoded_response_key(STACK_ID, "Resource", &request_id);
    let mut event = json!({
        "RequestType": kind.as_str(),
        "ServiceToken": format!("arn:aws:lambda:{REGION}:123456789012:function:custom-resource"),
        "ResponseURL": format!("http://127.0.0.1:9/{}/{key}?X-Amz-Signature=test", response_bucket("us-east-1")),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Resource",
        "ResourceType": "Custom::Test",
        "ResourceProperties": properties,
    });
    if kind != RequestKind::Create {
        event["PhysicalResourceId"] = json!("resource-id");
    }
    if kind == RequestKind::Update {
        event["OldResourceProperties"] = event["ResourceProperties"].clone();
    }
    event
}

/// Records every body it is asked to PUT and answers 200, or the scripted outcomes first.
#[derive(Debug, Default)]
pub struct RecordingTransport {
    bodies: Mutex<Vec<Vec<u8>>>,
    script: Mutex<VecDeque<Result<u16, TransportError>>>,
}

impl RecordingTransport {
    /// Answers every PUT with 200.
    pub fn new() -> Self {
        RecordingTransport::default()
    }

    /// Answers the next PUTs with these outcomes (say `Ok(503)`), then 200 again.
    pub fn script(self, outcomes: impl IntoIterator<Item = Result<u16, TransportError>>) -> Self {
        self.script.lock().expect("script lock").extend(outcomes);
        self
    }

    /// Every body received, accepted or not, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().expect("bodies lock").clone()
    }

    /// Every body received, as JSON.
    pub fn answers(&self) -> Vec<Value> {
        self.bodies().iter().map(|body| serde_json::from_slice(body).expect("a JSON body")).collect()
    }
}

impl ResponseTransport for RecordingTransport {
    async fn put(&self, _: &ResponseUrl, body: Vec<u8>, _: Duration) -> Result<u16, TransportError> {
        self.bodies.lock().expect("bodies lock").push(body);
        self.script.lock().expect("script lock").pop_front().unwrap_or(Ok(200))
    }
}

impl<T: ResponseTransport> ResponseTransport for &T {
    fn put(
        &self,
        url: &ResponseUrl,
        body: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<u16, TransportError>> + Send {
        (**self).put(url, body, timeout)
    }
}

/// A ResponseURL on `127.0.0.1:<port>` in CloudFormation's shape (bucket of eu-west-1, key naming the
/// request, written out), bound under the loopback policy: for this crate's transport tests.
#[cfg(test)]
pub(crate) fn loopback_url(port: u16) -> ResponseUrl {
    let request = crate::Request::parse(json!({
        "RequestType": "Create",
        "ResponseURL": format!("http://127.0.0.1:{port}/cloudformation-custom-resource-response-euwest1/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/s/g%7CL%7Cr?X-Amz-Signature=secret"),
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g",
        "RequestId": "r",
        "LogicalResourceId": "L",
        "ResourceType": "Custom::Test",
        "ResourceProperties": {},
    }))
    .expect("a valid request");
    ResponseUrl::bind(&request.reply, &crate::UrlPolicy::strict().in_region("eu-west-1").with_loopback(true))
        .expect("a bound URL")
}
