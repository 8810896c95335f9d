//! The crate's SDK example, `crates/cloudformation-custom-resource/examples/ssm-parameter`, run as a Lambda
//! `bootstrap` against moto: typed properties, SDK errors with their cause, NoEcho, and a read from
//! another region, all through `cloudformation_custom_resource::lambda::run`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::ParameterType;
use remote_exports_e2e::*;
use serde_json::{Value, json};

const OTHER_REGION: &str = "us-east-1";

async fn put(moto: &str, region: &str, name: &str, value: &str, kind: ParameterType) {
    let config = test_support::sdk_config(moto, region).await;
    let client = aws_sdk_ssm::Client::new(&config);
    client.put_parameter().name(name).value(value).r#type(kind).overwrite(true).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_ssm_example_reads_parameters_across_regions_with_typed_properties() {
    let moto = moto_endpoint("the_ssm_example");
    let prefix = format!("/example-ssm/{}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos());
    let (endpoint, secret) = (format!("{prefix}/endpoint"), format!("{prefix}/token"));
    put(&moto, REGION, &endpoint, "https://eu.example.com", ParameterType::String).await;
    put(&moto, OTHER_REGION, &endpoint, "https://us.example.com", ParameterType::String).await;
    put(&moto, REGION, &secret, "hunter2-token", ParameterType::SecureString).await;

    let runtime = RuntimeApi::start().await.unwrap();
    let responses = ResponseEndpoint::start().await.unwrap();
    let proxy = CountingProxy::start(&moto).await.unwrap();
    let function = Function::start(&FunctionOptions {
        binary: debug_binary("ssm-parameter-value"),
        runtime_api: runtime.address(),
        aws_endpoint: proxy.url(),
        region: REGION.into(),
        env: vec![],
    })
    .unwrap();
    let stack_id = format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/app/0a1b2c3d");
    let send = |kind: &str, request_id: &str, properties: Value| {
        let mut event = create_event(&stack_id, request_id, properties);
        event["RequestType"] = json!(kind);
        event["ResourceType"] = json!("Custom::SsmParameterValue");
        if kind != "Create" {
            event["PhysicalResourceId"] = json!(format!("ssm:{REGION}:{endpoint}"));
            event["OldResourceProperties"] = json!({"Name": endpoint});
        }
        responses.address(&mut event);
        let (runtime, responses, function) = (&runtime, &responses, &function);
        let request_id = request_id.to_owned();
        async move {
            runtime.invoke(&event, TIMEOUT).await.unwrap_or_else(|e| panic!("{e}\n{}", function.logs()));
            responses.delivered(&request_id, Duration::from_secs(5)).await.expect("an answer").json()
        }
    };

    let here = send("Create", "ssm-create", json!({"Name": endpoint})).await;
    assert_eq!(here["Status"], "SUCCESS", "{here}");
    assert_eq!(here["Data"], json!({"Value": "https://eu.example.com", "Version": "1", "Type": "String"}));
    assert_eq!(
        (here["PhysicalResourceId"].as_str(), &here["NoEcho"]),
        (Some(&*format!("ssm:{REGION}:{endpoint}")), &json!(false))
    );

    let there = send("Update", "ssm-update", json!({"Name": endpoint, "Region": OTHER_REGION})).await;
    assert_eq!(there["Data"]["Value"], "https://us.example.com", "{there}");
    assert_eq!(there["PhysicalResourceId"], format!("ssm:{OTHER_REGION}:{endpoint}"));

    let token = send("Create", "ssm-secret", json!({"Name": secret, "WithDecryption": "true"})).await;
    assert_eq!((token["Data"]["Value"].as_str(), &token["NoEcho"]), (Some("hunter2-token"), &json!(true)), "{token}");

    // An SDK error keeps its cause: the modelled error's code and message, after what was being done.
    let missing = send("Create", "ssm-missing", json!({"Name": format!("{prefix}/absent")})).await;
    let reason = missing["Reason"].as_str().unwrap();
    assert_eq!(missing["Status"], "FAILED");
    assert!(
        reason.starts_with(&format!("Reading parameter {prefix}/absent in {REGION}: service error: ParameterNotFound")),
        "{reason}"
    );

    // Typed properties: the Reason names the property, and the SDK is not called.
    let calls_before = proxy.count("GetParameter");
    let misspelt = send("Create", "ssm-misspelt", json!({"Nme": endpoint})).await;
    assert_eq!(
        misspelt["Reason"],
        "Invalid properties: Nme: unknown field `Nme`, expected one of `Name`, `Region`, `WithDecryption`."
    );
    let flag = send("Create", "ssm-flag", json!({"Name": endpoint, "WithDecryption": "yes"})).await;
    assert_eq!(flag["Reason"], "WithDecryption must be \"true\" or \"false\", not \"yes\".");
    let deleted = send("Delete", "ssm-delete", json!({"Nme": "unreadable"})).await;
    assert_eq!(
        (deleted["Status"].as_str(), deleted["PhysicalResourceId"].as_str()),
        (Some("SUCCESS"), Some(&*format!("ssm:{REGION}:{endpoint}")))
    );
    assert_eq!(proxy.count("GetParameter"), calls_before, "no call for properties that do not read");
    assert_eq!(calls_before, 4, "{:?}", proxy.calls());

    let logs = function.logs();
    assert!(!logs.contains("hunter2-token") && !logs.contains(ResponseEndpoint::signature()), "{logs}");
}
