//! `RemoteExportsService` (the CDK construct of the platform side) and `template.yaml` cannot drift: for
//! each choice of template.yaml's parameters in `cdk/test/service-choices.json`, template.yaml evaluated
//! with those parameters (conditions, `Fn::If`, `Ref`, `Fn::Sub`, …) and the template the construct
//! synthesized for the same choice (`cdk/test/service.test.js`, written to `CDK_SYNTH_DIR`) must hold the
//! same resources under the same logical IDs, with the same properties (IAM statements, environment,
//! invoke permissions, tables, alarms, dashboard), deletion policies and outputs.

use std::collections::BTreeMap;

use remote_exports_core::template::{self, Evaluator, Unknowns};
use remote_exports_e2e::xtask_var;
use serde_json::{Map, Value, json};

/// What a template deploys, intrinsics evaluated: logical ID → type, properties and policies.
type Deployed = BTreeMap<String, Value>;

/// `template` as CloudFormation evaluates it for these parameter values (over its defaults), through the
/// product's one evaluator: pseudo parameters, resources and attributes become placeholders no literal
/// holds (`⟪AWS::Region⟫`, `⟪Ref Name⟫`, `⟪Name.Attribute⟫`), so that a `Sub` lost on either side shows.
fn evaluation(template: &Value, choice: &Map<String, Value>) -> Evaluator {
    let given = choice.iter().map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned())).collect();
    Evaluator::for_template(template, given, Unknowns::Placeholder)
}

/// Whether the template includes what carries this `Condition` (every condition is decided here).
fn included(evaluation: &Evaluator, item: &Value) -> bool {
    item["Condition"].as_str().is_none_or(|c| evaluation.condition(c).unwrap_or_else(|| panic!("{c} is undecided")))
}

/// `value` evaluated (`None`: `AWS::NoValue`).
fn eval(evaluation: &Evaluator, value: &Value) -> Option<Value> {
    evaluation.eval(value, "template").unwrap()
}

/// template.yaml as it deploys for `choice`: resources whose condition holds; a SAM function as the
/// Lambda function it becomes (Globals merged), without its code, which the two build differently.
fn sam_deploys(sam: &Value, choice: &Map<String, Value>) -> (Deployed, Deployed) {
    let evaluation = evaluation(sam, choice);
    let included = |item: &Value| included(&evaluation, item);
    let globals = sam["Globals"]["Function"].as_object().cloned().unwrap_or_default();
    let mut resources = Deployed::new();
    for (id, resource) in sam["Resources"].as_object().unwrap() {
        if !included(resource) {
            continue;
        }
        let mut resource = resource.clone();
        if resource["Type"] == "AWS::Serverless::Function" {
            resource["Type"] = "AWS::Lambda::Function".into();
            let properties = resource["Properties"].as_object_mut().unwrap();
            for (key, value) in &globals {
                properties.entry(key.clone()).or_insert_with(|| value.clone());
            }
            properties.remove("CodeUri");
        }
        resources.insert(id.clone(), deployed(&evaluation, &resource));
    }
    let outputs = sam["Outputs"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, output)| included(output))
        .map(|(id, output)| (id.clone(), output_of(&evaluation, output)))
        .collect();
    (resources, outputs)
}

/// What the construct synthesized: CDK's own metadata aside; the function's code aside.
fn cdk_deploys(cdk: &Value) -> (Deployed, Deployed) {
    let evaluation = evaluation(cdk, &Map::new());
    let mut resources = Deployed::new();
    for (id, resource) in cdk["Resources"].as_object().unwrap() {
        if resource["Type"] == "AWS::CDK::Metadata" {
            continue;
        }
        assert!(resource.get("Condition").is_none(), "the construct decides at synth time: {id} has a Condition");
        let mut resource = resource.clone();
        if resource["Type"] == "AWS::Lambda::Function" {
            // The function's code is a file asset (the bootstrap the test command built), not inline
            // code or an image: a zip in the CDK's asset bucket, named by its content's hash.
            let code = &resource["Properties"]["Code"];
            let bucket = code["S3Bucket"]["Fn::Sub"].as_str().unwrap_or_default();
            let key = code["S3Key"].as_str().unwrap_or_default();
            let hashed =
                key.strip_suffix(".zip").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(bucket.contains("-assets-") && hashed, "{id}'s code is not an asset: {code}");
            resource["Properties"].as_object_mut().unwrap().remove("Code");
        }
        resources.insert(id.clone(), deployed(&evaluation, &resource));
    }
    let outputs = cdk["Outputs"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, o)| (id.clone(), output_of(&evaluation, o)))
        .collect();
    (resources, outputs)
}

/// Every attribute of a resource but its `Metadata` (SAM's build method, CDK's asset path) and its
/// `Condition` (evaluated before); a literal `${AWS::…}` is a `Sub` that was lost.
fn deployed(evaluation: &Evaluator, resource: &Value) -> Value {
    let known = ["Type", "Properties", "DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "Metadata"];
    for key in resource.as_object().unwrap().keys() {
        assert!(known.contains(&key.as_str()), "resource attribute {key} is not compared here: {resource}");
    }
    let properties = eval(evaluation, &resource["Properties"]);
    let text = serde_json::to_string(&properties).unwrap();
    assert!(!text.contains("${AWS::"), "a literal ${{AWS::…}} outside a Sub: {text}");
    json!({
        "Type": resource["Type"],
        "Properties": properties,
        "DeletionPolicy": resource.get("DeletionPolicy"),
        "UpdateReplacePolicy": resource.get("UpdateReplacePolicy"),
        "DependsOn": resource.get("DependsOn"),
    })
}

fn output_of(evaluation: &Evaluator, output: &Value) -> Value {
    json!({
        "Value": eval(evaluation, &output["Value"]),
        "Description": output["Description"],
        "Export": eval(evaluation, &output["Export"]),
    })
}

/// Each difference as a line a person can act on; empty when the two deploy the same.
fn differences(what: &str, sam: &Deployed, cdk: &Deployed) -> Vec<String> {
    let mut found = Vec::new();
    for id in sam.keys().filter(|id| !cdk.contains_key(*id)) {
        found.push(format!("{what} {id}: in template.yaml, missing from RemoteExportsService"));
    }
    for id in cdk.keys().filter(|id| !sam.contains_key(*id)) {
        found.push(format!("{what} {id}: in RemoteExportsService, missing from template.yaml"));
    }
    for (id, expected) in sam {
        if let Some(actual) = cdk.get(id)
            && actual != expected
        {
            let mut paths = Vec::new();
            diverging(id, expected, actual, &mut paths);
            found.extend(paths.into_iter().map(|path| format!("{what} {path}")));
        }
    }
    found
}

/// Where `sam` and `cdk` part: each path down to the first value that differs.
fn diverging(path: &str, sam: &Value, cdk: &Value, found: &mut Vec<String>) {
    match (sam, cdk) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) = (a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null));
                if x != y {
                    diverging(&format!("{path}.{key}"), x, y, found);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                if x != y {
                    diverging(&format!("{path}[{index}]"), x, y, found);
                }
            }
        }
        _ => found.push(format!("{path}:\n    template.yaml:        {sam}\n    RemoteExportsService: {cdk}")),
    }
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}; the CDK constructs' tests write it (cargo xtask test)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
#[ignore = "needs the CDK constructs' synthesized templates; `cargo xtask test` runs it"]
fn the_cdk_service_deploys_what_template_yaml_deploys_for_the_same_choices() {
    let sam = template::parse(&std::fs::read_to_string(workspace().join("template.yaml")).unwrap()).unwrap();
    let choices = read_json(&workspace().join("cdk/test/service-choices.json"));
    let synthesized = std::path::PathBuf::from(xtask_var("CDK_SYNTH_DIR"));
    let declared = sam["Parameters"].as_object().unwrap();
    let mut compared = std::collections::BTreeSet::new();
    for (name, choice) in choices.as_object().unwrap().iter().filter(|(name, _)| !name.starts_with('_')) {
        for parameter in choice.as_object().unwrap().keys() {
            assert!(declared.contains_key(parameter), "choice '{name}' sets {parameter}, which template.yaml lacks");
        }
        let cdk = read_json(&synthesized.join(format!("service-{name}.template.json")));
        let (sam_resources, sam_outputs) = sam_deploys(&sam, choice.as_object().unwrap());
        let (cdk_resources, cdk_outputs) = cdk_deploys(&cdk);
        let mut found = differences("resource", &sam_resources, &cdk_resources);
        found.extend(differences("output", &sam_outputs, &cdk_outputs));
        assert!(
            found.is_empty(),
            "choice '{name}': RemoteExportsService drifted from template.yaml:\n{}",
            found.join("\n")
        );
        compared.extend(sam_resources.keys().cloned());

        // The comparison sees a statement removed from either side.
        let without_statement = |resources: &Deployed| {
            let mut changed = resources.clone();
            let policies =
                changed.get_mut("RemoteExportsRole").unwrap()["Properties"]["Policies"].as_array_mut().unwrap();
            policies[0]["PolicyDocument"]["Statement"].as_array_mut().unwrap().remove(0);
            changed
        };
        assert!(!differences("resource", &without_statement(&sam_resources), &cdk_resources).is_empty());
        assert!(!differences("resource", &sam_resources, &without_statement(&cdk_resources)).is_empty());
    }
    // Every choice together covers every resource template.yaml can create.
    let every: std::collections::BTreeSet<String> = sam["Resources"].as_object().unwrap().keys().cloned().collect();
    let never: Vec<&String> = every.difference(&compared).collect();
    assert!(never.is_empty(), "no choice in cdk/test/service-choices.json creates {never:?}");
}

/// The live-reference constructs and the example templates they mirror cannot drift either:
/// `RemoteExportsChangeForwarding` and `examples/publisher-changes.yaml`, `RemoteExportsRefresher` and
/// `examples/consumer-refresher.yaml`, each evaluated with the values of `cdk/test/live-choices.json`
/// (the function's code aside: an S3 object there, an asset here).
#[test]
#[ignore = "needs the CDK constructs' synthesized templates; `cargo xtask test` runs it"]
fn the_cdk_live_constructs_deploy_what_the_example_templates_deploy() {
    let choices = read_json(&workspace().join("cdk/test/live-choices.json"));
    let synthesized = std::path::PathBuf::from(xtask_var("CDK_SYNTH_DIR"));
    for (choice, example, construct) in [
        ("forwarding", "publisher-changes.yaml", "RemoteExportsChangeForwarding"),
        ("refresher", "consumer-refresher.yaml", "RemoteExportsRefresher"),
    ] {
        let text = std::fs::read_to_string(workspace().join("examples").join(example)).unwrap();
        let mut template = template::parse(&text).unwrap();
        for resource in template["Resources"].as_object_mut().unwrap().values_mut() {
            if resource["Type"] == "AWS::Lambda::Function" {
                resource["Properties"].as_object_mut().unwrap().remove("Code");
            }
        }
        let (expected, expected_outputs) = sam_deploys(&template, choices[choice].as_object().unwrap());
        let cdk = read_json(&synthesized.join(format!("live-{choice}.template.json")));
        let (actual, actual_outputs) = cdk_deploys(&cdk);
        let mut found = differences("resource", &expected, &actual);
        found.extend(differences("output", &expected_outputs, &actual_outputs));
        assert!(found.is_empty(), "{construct} drifted from examples/{example}:\n{}", found.join("\n"));
        assert!(!expected.is_empty());
    }
}
