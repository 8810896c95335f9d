//! The crate's own example, `examples/echo.rs`, run as a Lambda `bootstrap` behind the local Runtime
//! API: a stranger's custom resource gets the same guarantees as remote-exports.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the example binary, which `cargo xtask test` builds"]
async fn the_echo_example_answers_create_update_and_delete() {
    let binary = debug_binary("examples/echo");
    let runtime = RuntimeApi::start().await.unwrap();
    let responses = ResponseEndpoint::start().await.unwrap();
    let function = Function::start(&FunctionOptions {
        binary,
        runtime_api: runtime.address(),
        aws_endpoint: "http://127.0.0.1:9".into(),
        region: REGION.into(),
        env: vec![],
    })
    .unwrap();
    let stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/echo/0";
    for (kind, request_id, properties) in [
        ("Create", "echo-create", json!({"Message": "hello"})),
        ("Update", "echo-update", json!({"Message": "héllo"})),
        ("Create", "echo-invalid", json!({})),
        ("Create", "echo-misspelt", json!({"Mesage": "hello"})),
        ("Delete", "echo-delete", json!({})),
    ] {
        let mut event = create_event(stack_id, request_id, properties);
        event["RequestType"] = json!(kind);
        event["ResourceType"] = json!("Custom::Echo");
        event["PhysicalResourceId"] = json!("echo:Lookup");
        event["OldResourceProperties"] = json!({});
        if request_id == "echo-create" {
            // Written out as CloudFormation writes it (bucket of the stack's region; key
            // `<StackId>|<LogicalResourceId>|<RequestId>` with `:` and `|` percent-encoded), only on loopback.
            event["ResponseURL"] = json!(format!(
                "http://127.0.0.1:{}/cloudformation-custom-resource-response-euwest1/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/echo/0%7CLookup%7Cecho-create?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261128T103000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=7200&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261128%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=0123456789abcdef",
                responses.local_addr().port()
            ));
        } else {
            responses.address(&mut event);
        }
        runtime.invoke(&event, TIMEOUT).await.unwrap_or_else(|e| panic!("{e}\n{}", function.logs()));
        let answer = responses.delivered(request_id, Duration::from_secs(5)).await.expect("an answer").json();
        match request_id {
            "echo-create" => assert_eq!(answer["Data"], json!({"Message": "hello", "Length": "5"})),
            "echo-update" => assert_eq!(answer["Data"], json!({"Message": "héllo", "Length": "6"})),
            // Typed properties: the Reason names the property and the problem.
            "echo-invalid" => assert_eq!(answer["Reason"], "Invalid properties: missing field `Message`."),
            "echo-misspelt" => {
                assert_eq!(answer["Reason"], "Invalid properties: Mesage: unknown field `Mesage`, expected `Message`.")
            }
            _ => assert_eq!(answer["Status"], "SUCCESS"),
        }
        if !["echo-invalid", "echo-misspelt"].contains(&request_id) {
            assert_eq!(answer["PhysicalResourceId"], "echo:Lookup", "{answer}");
        }
    }
    // A forged URL gets nothing, for a stranger's resource too.
    let mut forged = create_event(stack_id, "echo-forged", json!({"Message": "x"}));
    responses.address(&mut forged);
    forged["RequestId"] = json!("another");
    let invocation = runtime.invoke(&forged, TIMEOUT).await.unwrap();
    assert!(matches!(invocation.outcome, Outcome::Error(_)), "{:?}", invocation.outcome);
    assert_eq!(responses.all_puts().len(), 5);
}
