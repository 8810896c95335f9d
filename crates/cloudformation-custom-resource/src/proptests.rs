//! Properties that must hold for any input: nothing panics, nothing exceeds 4096 bytes, a cut
//! Reason keeps its beginning, and a Delete that can be addressed is always SUCCESS.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::request::RawResponseUrl;
use crate::response::MAX_RESPONSE_BYTES;
use crate::response_url::{encoded_response_key, response_bucket};
use crate::testing::RecordingTransport;
use crate::{
    CustomResource, Data, Deadline, Deleted, Driver, Failure, ReplyTarget, Request, Response, ResponseUrl, Status,
    Success, UrlPolicy,
};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Events that look like CloudFormation's, with any field replaced or dropped.
fn event_like() -> impl Strategy<Value = Value> {
    let field = prop_oneof![json_value(), ".{0,60}".prop_map(Value::String)];
    (
        prop::sample::select(vec!["Create", "Update", "Delete", "Upsert", ""]),
        prop::collection::btree_map(
            prop::sample::select(vec![
                "StackId",
                "RequestId",
                "LogicalResourceId",
                "PhysicalResourceId",
                "ResourceType",
                "ResourceProperties",
                "ResponseURL",
                "OldResourceProperties",
            ]),
            prop::option::of(field),
            0..5,
        ),
    )
        .prop_map(|(kind, changes)| {
            let mut event = json!({
                "RequestType": kind,
                "ResponseURL": "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x",
                "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g",
                "RequestId": "r",
                "LogicalResourceId": "L",
                "PhysicalResourceId": "p",
                "ResourceType": "Custom::X",
                "ResourceProperties": {},
                "OldResourceProperties": {},
            });
            for (key, value) in changes {
                match value {
                    Some(value) => event[key] = value,
                    None => {
                        event.as_object_mut().unwrap().remove(key);
                    }
                }
            }
            event
        })
}

fn reply(stack_id: &str, request_id: &str, logical: &str) -> ReplyTarget {
    ReplyTarget {
        response_url: RawResponseUrl::new("http://127.0.0.1:1/x"),
        stack_id: stack_id.into(),
        request_id: request_id.into(),
        logical_resource_id: logical.into(),
        physical_resource_id: None,
    }
}

struct Succeeds;

impl CustomResource for Succeeds {
    type Properties = Value;

    async fn create(&self, _: &Request) -> Result<Success, Failure> {
        Ok(Success::new("id", Data::new()))
    }
    async fn update(&self, _: &Request) -> Result<Success, Failure> {
        Ok(Success::new("id", Data::new()))
    }
    async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
        Err(Failure::new("not reached for malformed events"))
    }
}

proptest! {
    #[test]
    fn parsing_any_json_never_panics(event in prop_oneof![json_value(), event_like()]) {
        let _ = Request::parse(event);
    }

    #[test]
    fn binding_any_url_never_panics(url in ".{0,120}", stack in ".{0,80}", logical in ".{0,20}", request in ".{0,20}") {
        let mut target = reply(&stack, &request, &logical);
        target.response_url = RawResponseUrl::new(url);
        let _ = ResponseUrl::bind(&target, &UrlPolicy::strict().in_region("eu-west-1").with_loopback(true));
    }

    #[test]
    fn a_failed_answer_always_fits_and_keeps_the_start_of_its_reason(
        reason in ".{0,6000}",
        request_id in "[a-z0-9-]{1,64}",
        logical in "[A-Za-z0-9]{1,255}",
        id in ".{1,300}",
    ) {
        let stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/6f1c9a70-c7b1-11f0-8d2e-0a1b2c3d4e5f";
        let response = Response::failed(&reply(stack, &request_id, &logical), id, reason.clone());
        let body = response.encode().expect("a FAILED answer with usable identifiers fits");
        prop_assert!(body.len() <= MAX_RESPONSE_BYTES);
        let json: Value = serde_json::from_slice(&body).unwrap();
        let kept = json["Reason"].as_str().unwrap();
        let kept = kept.strip_suffix(" …[truncated]").unwrap_or(kept);
        prop_assert!(reason.starts_with(kept), "the kept Reason is not the start of the original");
    }

    #[test]
    fn a_success_either_fits_or_is_refused(values in prop::collection::vec((".{1,30}", ".{0,400}"), 0..20)) {
        let data: Data = values.into_iter().collect();
        let stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g";
        match Response::success(&reply(stack, "r", "L"), "id".into(), data, false).encode() {
            Ok(body) => prop_assert!(body.len() <= MAX_RESPONSE_BYTES),
            Err(crate::error::EncodeError::TooLarge { bytes }) => prop_assert!(bytes > MAX_RESPONSE_BYTES),
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    #[test]
    fn an_addressable_malformed_delete_is_always_success(
        request_id in "[a-z0-9-]{1,40}",
        logical in "[A-Za-z0-9]{1,40}",
        drop_fields in prop::sample::subsequence(vec!["ResourceType", "ResourceProperties", "PhysicalResourceId", "ServiceToken"], 1..4),
        // A ResourceType that is not a string makes the event malformed whatever else is kept.
        junk in json_value().prop_filter("not a string", |v| !v.is_string()),
    ) {
        let stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g";
        let url = format!("http://127.0.0.1:1/{}/{}", response_bucket("eu-west-1"), encoded_response_key(stack, &logical, &request_id));
        let mut event = json!({
            "RequestType": "Delete", "ResponseURL": url, "StackId": stack, "RequestId": request_id,
            "LogicalResourceId": logical, "PhysicalResourceId": "p", "ResourceType": "Custom::X",
            "ResourceProperties": {}, "ServiceToken": "arn",
        });
        for field in drop_fields {
            event.as_object_mut().unwrap().remove(field);
        }
        event["ResourceType"] = junk;
        let transport = RecordingTransport::new();
        let driver = Driver::new(Succeeds, &transport).with_url_policy(UrlPolicy::strict().in_region("eu-west-1").with_loopback(true));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        prop_assert!(Request::parse(event.clone()).is_err(), "the event should be malformed");
        let handled = runtime.block_on(driver.handle(event, Deadline::after(Duration::from_secs(5))));
        let answers = transport.answers();
        prop_assert_eq!(answers.len(), 1);
        prop_assert_eq!(&answers[0]["Status"], "SUCCESS");
        prop_assert_eq!(handled.unwrap().status, Status::Success);
    }
}
