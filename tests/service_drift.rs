//! `RemoteExportsService` (the CDK construct of the platform side) and `template.yaml` cannot drift: for
//! each choice of template.yaml's parameters in `cdk/test/service-choices.json`, template.yaml evaluated
//! with those parameters (conditions, `Fn::If`, `Ref`, `Fn::Sub`, …) and the template the construct
//! synthesized for the same choice (`cdk/test/service.test.js`, written to `CDK_SYNTH_DIR`) must hold the
//! same resources under the same logical IDs, with the same properties (IAM statements, environment,
//! invoke permissions, tables, alarms, dashboard), deletion policies and outputs.

use std::collections::{BTreeMap, HashMap};

use remote_exports_core::template;
use remote_exports_e2e::xtask_var;
use serde_json::{Map, Value, json};

/// What a template deploys, intrinsics evaluated: logical ID → type, properties and policies.
type Deployed = BTreeMap<String, Value>;

struct Evaluation {
    parameters: HashMap<String, String>,
    conditions: HashMap<String, bool>,
}

impl Evaluation {
    /// `parameters` over the template's defaults; then its `Conditions`, as CloudFormation evaluates them.
    fn new(template: &Value, choice: &Map<String, Value>) -> Self {
        let mut parameters: HashMap<String, String> = template::defaults(template).into_iter().collect();
        for (name, value) in choice {
            parameters.insert(name.clone(), value.as_str().unwrap().to_owned());
        }
        let mut evaluation = Evaluation { parameters, conditions: HashMap::new() };
        let definitions = template["Conditions"].as_object().cloned().unwrap_or_default();
        for name in definitions.keys() {
            evaluation.condition(name, &definitions);
        }
        evaluation
    }

    fn condition(&mut self, name: &str, definitions: &Map<String, Value>) -> bool {
        if let Some(known) = self.conditions.get(name) {
            return *known;
        }
        let holds = self.holds(&definitions[name], definitions);
        self.conditions.insert(name.to_owned(), holds);
        holds
    }

    fn holds(&mut self, value: &Value, definitions: &Map<String, Value>) -> bool {
        let (function, args) = value.as_object().and_then(|m| m.iter().next()).expect("a condition function");
        let args_list = || args.as_array().cloned().unwrap_or_default();
        match function.as_str() {
            "Fn::Equals" => {
                let args = args_list();
                self.eval(&args[0]) == self.eval(&args[1])
            }
            "Fn::Not" => !self.holds(&args_list()[0], definitions),
            "Fn::And" => args_list().iter().all(|c| self.holds(c, definitions)),
            "Fn::Or" => args_list().iter().any(|c| self.holds(c, definitions)),
            "Condition" => self.condition(args.as_str().unwrap(), definitions),
            other => panic!("condition function {other} is not evaluated here"),
        }
    }

    /// The value CloudFormation would see, with pseudo parameters, resources and attributes as
    /// sentinels no literal holds (`⟪AWS::Region⟫`, `⟪Ref Name⟫`, `⟪Name.Attribute⟫`), so that a `Sub`
    /// lost on either side shows; scalars as strings. `None` is `AWS::NoValue`.
    fn eval(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, args) = map.iter().next().unwrap();
                match key.as_str() {
                    "Ref" => self.reference(args.as_str().unwrap()),
                    "Fn::GetAtt" => {
                        let parts = args.as_array().unwrap();
                        Some(format!("⟪{}.{}⟫", parts[0].as_str().unwrap(), parts[1].as_str().unwrap()).into())
                    }
                    "Fn::Sub" => Some(self.sub(args).into()),
                    "Fn::Join" => {
                        let args = args.as_array().unwrap();
                        let items = self.eval(&args[1]).unwrap();
                        let parts: Vec<String> = items.as_array().unwrap().iter().map(text).collect();
                        Some(parts.join(args[0].as_str().unwrap()).into())
                    }
                    "Fn::Split" => {
                        let args = args.as_array().unwrap();
                        let whole = text(&self.eval(&args[1]).unwrap());
                        Some(whole.split(args[0].as_str().unwrap()).map(|s| Value::from(s.to_owned())).collect())
                    }
                    "Fn::Select" => {
                        let args = args.as_array().unwrap();
                        let index: usize = text(&self.eval(&args[0]).unwrap()).parse().unwrap();
                        Some(self.eval(&args[1]).unwrap()[index].clone())
                    }
                    "Fn::If" => {
                        let args = args.as_array().unwrap();
                        let holds = self.conditions[args[0].as_str().unwrap()];
                        self.eval(&args[if holds { 1 } else { 2 }])
                    }
                    _ => Some(self.object(map)),
                }
            }
            Value::Object(map) => Some(self.object(map)),
            Value::Array(items) => Some(items.iter().filter_map(|item| self.eval(item)).collect()),
            Value::Number(n) => Some(n.to_string().into()),
            Value::Bool(b) => Some(b.to_string().into()),
            other => Some(other.clone()),
        }
    }

    fn object(&self, map: &Map<String, Value>) -> Value {
        Value::Object(map.iter().filter_map(|(k, v)| self.eval(v).map(|v| (k.clone(), v))).collect())
    }

    fn reference(&self, name: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return None;
        }
        Some(match self.parameters.get(name) {
            Some(value) => value.clone().into(),
            None if name.starts_with("AWS::") => format!("⟪{name}⟫").into(),
            None => format!("⟪Ref {name}⟫").into(),
        })
    }

    fn sub(&self, args: &Value) -> String {
        let (body, variables) = match args {
            Value::String(body) => (body.as_str(), Map::new()),
            Value::Array(parts) => (parts[0].as_str().unwrap(), parts[1].as_object().cloned().unwrap()),
            other => panic!("Fn::Sub of {other}"),
        };
        let mut out = String::new();
        let mut rest = body;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closed ${") + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = variables.get(name) {
                out.push_str(&text(&self.eval(value).unwrap()));
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&format!("⟪{resource}.{attribute}⟫"));
            } else {
                out.push_str(&text(&self.reference(name).unwrap()));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn text(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())
}

/// template.yaml as it deploys for `choice`: resources whose condition holds; a SAM function as the
/// Lambda function it becomes (Globals merged), without its code, which the two build differently.
fn sam_deploys(sam: &Value, choice: &Map<String, Value>) -> (Deployed, Deployed) {
    let evaluation = Evaluation::new(sam, choice);
    let included = |item: &Value| item["Condition"].as_str().is_none_or(|c| evaluation.conditions[c]);
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
        .unwrap()
        .iter()
        .filter(|(_, output)| included(output))
        .map(|(id, output)| (id.clone(), output_of(&evaluation, output)))
        .collect();
    (resources, outputs)
}

/// What the construct synthesized: CDK's own metadata aside; the function's code aside.
fn cdk_deploys(cdk: &Value) -> (Deployed, Deployed) {
    let evaluation = Evaluation::new(cdk, &Map::new());
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
    let outputs =
        cdk["Outputs"].as_object().unwrap().iter().map(|(id, o)| (id.clone(), output_of(&evaluation, o))).collect();
    (resources, outputs)
}

/// Every attribute of a resource but its `Metadata` (SAM's build method, CDK's asset path) and its
/// `Condition` (evaluated before); a literal `${AWS::…}` is a `Sub` that was lost.
fn deployed(evaluation: &Evaluation, resource: &Value) -> Value {
    let known = ["Type", "Properties", "DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "Metadata"];
    for key in resource.as_object().unwrap().keys() {
        assert!(known.contains(&key.as_str()), "resource attribute {key} is not compared here: {resource}");
    }
    let properties = evaluation.eval(&resource["Properties"]);
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

fn output_of(evaluation: &Evaluation, output: &Value) -> Value {
    json!({
        "Value": evaluation.eval(&output["Value"]),
        "Description": output["Description"],
        "Export": evaluation.eval(&output["Export"]),
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
