//! What the CDK constructs emit is what the function reads: the properties of the `RemoteExports`
//! resource that `cdk/test/constructs.test.js` synthesized (written by `cargo xtask test` to
//! `CDK_SYNTH_DIR`), sent through the real binary against moto as CloudFormation would send them.

use remote_exports_e2e::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_synthesized_remote_exports_resource_reads_what_it_asks_for() {
    let test = "a_synthesized_remote_exports_resource_reads_what_it_asks_for";
    let synthesized = std::path::PathBuf::from(xtask_var("CDK_SYNTH_DIR")).join("airmiles.template.json");
    let template: Value = serde_json::from_str(&std::fs::read_to_string(&synthesized).unwrap_or_else(|e| {
        panic!("{}: {e}; the CDK constructs' tests write it (cargo xtask test)", synthesized.display())
    }))
    .unwrap();
    let resources = template["Resources"].as_object().unwrap();
    let (_, resource) =
        resources.iter().find(|(_, r)| r["Type"] == "Custom::RemoteExports").expect("a RemoteExports resource");
    let mut properties = resource["Properties"].clone();
    // CloudFormation resolves the ServiceToken to choose the function; the function never reads it.
    properties.as_object_mut().unwrap().remove("ServiceToken");

    // The publisher the synthesized app names: account 222222222222, exports and a stack of its own.
    let world = World::start(test, &[]).await;
    // The names are the app's, not this run's: a second run on the same moto starts from nothing.
    let earlier = Publisher::connect(&world.moto, "222222222222", REGION).await.unwrap();
    for stack in ["cdk-booking-0", "cdk-booking-api"] {
        earlier.delete_stack(stack).await.unwrap();
    }
    let booking = world
        .publish(
            "222222222222",
            REGION,
            "cdk-booking",
            &[pair("cdk-booking-BookingTopicArn", "arn:aws:sns:eu-west-1:222222222222:cdk-topic")],
        )
        .await;
    booking.publish_outputs("cdk-booking-api", &[pair("ApiUrl", "https://cdk.api.example")]).await.unwrap();

    let answer = world.answer(&world.event("Create", "cdk-create", properties)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let data = &answer["Data"];
    assert_eq!(data["cdk-booking-BookingTopicArn"], "arn:aws:sns:eu-west-1:222222222222:cdk-topic", "{answer}");
    assert_eq!(data["Api"], "https://cdk.api.example", "{answer}");
    assert_eq!(data["cdk-booking-api.ApiUrl"], "https://cdk.api.example", "{answer}");
    assert_eq!(data["cdk-payments-api.ApiUrl"], "none", "the Defaults entry answers the missing output: {answer}");
    // Every key the synthesized app reads with !GetAtt is in Data.
    let mut read = Vec::new();
    collect_getatts(&template["Resources"], &mut read);
    for key in read {
        assert!(data.get(&key).is_some(), "the app reads {key}, which Data lacks: {answer}");
    }
}

fn collect_getatts(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get("Fn::GetAtt")
                && parts[0].as_str().is_some_and(|id| id.starts_with("Lookup"))
            {
                found.push(parts[1].as_str().unwrap_or_default().to_owned());
            }
            map.values().for_each(|v| collect_getatts(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_getatts(v, found)),
        _ => {}
    }
}

/// The Python package that jsii-pacmak built from the same classes synthesizes the same resource
/// for the same app (`cdk/test/python_consumer.py`, run by `cargo xtask test`).
#[test]
#[ignore = "end-to-end: needs the CDK constructs built; `cargo xtask test` runs it"]
fn the_python_package_synthesizes_the_same_resource() {
    let dir = std::path::PathBuf::from(xtask_var("CDK_SYNTH_DIR"));
    let read = |name: &str| -> Value {
        let path = dir.join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap()
    };
    let (typescript, python) = (read("airmiles.template.json"), read("airmiles-python.json"));
    let of_type = |template: &Value, kind: &str| -> Vec<Value> {
        let resources = template["Resources"].as_object().unwrap();
        resources.values().filter(|r| r["Type"] == kind).cloned().collect()
    };
    for kind in ["Custom::RemoteExports", "AWS::SNS::Subscription"] {
        let (ts, py) = (of_type(&typescript, kind), of_type(&python, kind));
        assert_eq!(ts.len(), 1, "{kind} in {typescript}");
        assert_eq!(ts, py, "{kind} differs between the TypeScript and the Python app");
    }
}
