//! `template.yaml` as deployed: who may invoke each function, and what each function's role may do.
//! Each entry point gets only the invokers and the permissions it needs.

use std::path::PathBuf;

use remote_exports_core::template::{self, Evaluator, Unknowns};
use serde_norway::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    template["Resources"].get(id).unwrap_or_else(|| panic!("no resource {id}"))
}

/// `!GetAtt X.Arn` and `!Ref X` as the logical ID they name.
fn names(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            tagged.value.as_str().map(|target| target.split('.').next().unwrap_or(target).to_owned())
        }
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Every string anywhere under `value`, tags included.
fn strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => found.push(text.clone()),
        Value::Sequence(items) => items.iter().for_each(|item| strings(item, found)),
        Value::Mapping(map) => map.iter().for_each(|(key, item)| {
            strings(key, found);
            strings(item, found)
        }),
        Value::Tagged(tagged) => strings(&tagged.value, found),
        _ => {}
    }
}

fn actions_of_role(template: &Value, role: &str) -> Vec<String> {
    let mut found = Vec::new();
    strings(&resource(template, role)["Properties"]["Policies"], &mut found);
    found.into_iter().filter(|s| s.contains(':') && !s.starts_with("arn:")).collect()
}

/// The Lambda permissions that let someone invoke `function`.
fn permissions_of<'a>(template: &'a Value, function: &str) -> Vec<&'a Value> {
    let resources = template["Resources"].as_mapping().unwrap();
    resources
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Permission")
        .filter(|r| names(&r["Properties"]["FunctionName"]).as_deref() == Some(function))
        .collect()
}

#[test]
fn only_the_audit_schedule_may_invoke_the_audit_function() {
    let template = template();
    let audit = resource(&template, "AuditFunction");
    assert!(audit["Properties"].get("Events").is_none(), "SAM events would add invokers of their own");
    assert!(audit["Properties"].get("FunctionUrlConfig").is_none());
    let permissions = permissions_of(&template, "AuditFunction");
    assert_eq!(permissions.len(), 1, "{permissions:?}");
    let only = &permissions[0]["Properties"];
    assert_eq!(only["Principal"], "events.amazonaws.com");
    assert_eq!(names(&only["SourceArn"]).as_deref(), Some("AuditScheduleRule"));
    let rule = resource(&template, "AuditScheduleRule");
    assert_eq!(names(&rule["Properties"]["Targets"][0]["Arn"]).as_deref(), Some("AuditFunction"));
    assert_eq!(audit["Properties"]["Environment"]["Variables"]["FUNCTION_MODE"], "audit");
    assert_eq!(names(&audit["Properties"]["Role"]).as_deref(), Some("AuditRole"));
    assert_eq!(names(&audit["Properties"]["LoggingConfig"]["LogGroup"]).as_deref(), Some("AuditLogGroup"));
}

#[test]
fn the_custom_resource_function_can_neither_scan_the_registry_nor_put_events() {
    let template = template();
    let function = resource(&template, "RemoteExportsFunction");
    assert_eq!(function["Properties"]["Environment"]["Variables"]["FUNCTION_MODE"], "custom-resource");
    assert_eq!(names(&function["Properties"]["Role"]).as_deref(), Some("RemoteExportsRole"));
    let actions = actions_of_role(&template, "RemoteExportsRole");
    assert!(actions.contains(&"dynamodb:PutItem".to_owned()), "{actions:?}");
    for forbidden in ["dynamodb:Scan", "dynamodb:UpdateItem", "events:PutEvents"] {
        assert!(!actions.iter().any(|a| a == forbidden), "RemoteExportsRole may {forbidden}: {actions:?}");
    }
    // And the audit cannot write reads or touch the snapshot: each role holds only its own work.
    let audit_actions = actions_of_role(&template, "AuditRole");
    assert!(audit_actions.contains(&"dynamodb:Scan".to_owned()), "{audit_actions:?}");
    for forbidden in ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "ssm:GetParameter"] {
        assert!(!audit_actions.iter().any(|a| a == forbidden), "AuditRole may {forbidden}: {audit_actions:?}");
    }
    // The Organization-wide permission stays on the custom-resource function.
    let organization = resource(&template, "OrganizationInvokePermission");
    assert_eq!(names(&organization["Properties"]["FunctionName"]).as_deref(), Some("RemoteExportsFunction"));
}

/// From a release, the same script deploys the built template beside it in every region, and builds
/// nothing: no Rust on the deploying machine.
#[test]
fn the_released_script_deploys_its_built_template_without_a_build() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("examples/deploy-regions.sh"), release.path().join("deploy-regions.sh")).unwrap();
    // The first line `cargo xtask dist` writes into the template it ships.
    let built = "# remote-exports 9.9.9 (arm64): template.yaml with remote-exports-9.9.9-arm64.zip as the functions' \
                 code, so that `sam deploy --guided`\n# (or `sam package` and `sam publish`) needs no build. Made by \
                 `cargo xtask dist`.\nAWSTemplateFormatVersion: \"2010-09-09\"\n";
    std::fs::write(release.path().join("template.yaml"), built).unwrap();
    let script = release.path().join("deploy-regions.sh");
    let output = deploy_regions_copy(&script, &[], &["eu-west-1", "us-east-1", "--", "OrganizationId=o-abc123def4"]);
    assert!(output.status.success(), "{output:?}");
    let commands: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect();
    assert_eq!(commands.len(), 2, "no sam build: {commands:?}");
    let template = release.path().join("template.yaml");
    for command in &commands {
        assert!(command.starts_with("sam deploy --template-file"), "{command}");
        assert!(command.contains(&template.display().to_string()), "{command}");
        assert!(command.contains("--resolve-s3") && command.contains("--capabilities CAPABILITY_IAM"), "{command}");
        assert!(command.contains("--no-fail-on-empty-changeset"), "re-running adds a region: {command}");
    }
    // In the repository, the template beside the script is not a built one: it builds first.
    std::fs::write(release.path().join("template.yaml"), "AWSTemplateFormatVersion: \"2010-09-09\"\n").unwrap();
    let output = deploy_regions_copy(&script, &[], &["eu-west-1"]);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("sam build"), "{output:?}");
}

/// `examples/deploy-regions.sh`, the one command for every region, as it would run: the home region
/// creates the registry and runs the audit, every other region uses the home registry by ARN.
#[test]
fn one_command_deploys_every_region_around_one_registry() {
    let output = deploy_regions(
        &[],
        &[
            "eu-west-1",
            "us-east-1",
            "ap-southeast-2",
            "--",
            "OrganizationId=o-abc123def4",
            "AuditSchedule=rate(1 hour)",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let commands: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect();
    assert_eq!(commands.len(), 4, "{commands:?}");
    // Every deployment shows its change set and waits, unless told otherwise.
    assert!(commands[1..].iter().all(|c| c.contains("--confirm-changeset")), "{commands:?}");
    assert!(commands[0].starts_with("sam build"));
    let home = &commands[1];
    assert!(home.contains("--region eu-west-1") && home.contains("ReadsRegistry=true"), "{home}");
    assert!(home.contains("AuditSchedule=rate") && !home.contains("ReadsTableArn"), "{home}");
    for (command, region) in commands[2..].iter().zip(["us-east-1", "ap-southeast-2"]) {
        assert!(command.contains(&format!("--region {region}")), "{command}");
        assert!(command.contains("ReadsTableArn=") && command.contains("OrganizationId=o-abc123def4"), "{command}");
        assert!(!command.contains("AuditSchedule") && !command.contains("ReadsRegistry"), "{command}");
    }
    // Every parameter the script sets exists in the template, and the home stack exports the ARN.
    let template = template();
    for parameter in ["ReadsRegistry", "ReadsTableArn", "AuditSchedule", "OrganizationId", "FunctionName"] {
        assert!(template["Parameters"].get(parameter).is_some(), "template.yaml has no parameter {parameter}");
    }
    assert!(template["Outputs"].get("ReadsTableArn").is_some());
    let function = resource(&template, "RemoteExportsFunction");
    assert_eq!(names(&function["Properties"]["FunctionName"]).as_deref(), Some("FunctionName"));
}

/// A piece of a template in the long form the product's one evaluator reads (`!Sub x` is
/// `{"Fn::Sub": x}`): written back as YAML, tags and all, and read as the guard reads templates.
fn long_form(value: &Value) -> serde_json::Value {
    template::parse(&serde_norway::to_string(value).unwrap()).unwrap()
}

/// What `value` evaluates to with these parameter values (`Fn::Split` gives several strings),
/// through the product's evaluator, which refuses whatever has no value.
fn evaluate(value: &Value, parameters: &[(&str, &str)]) -> Vec<String> {
    let parameters = parameters.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    let evaluated = Evaluator::new(parameters, Unknowns::Refuse).eval(&long_form(value), "value").unwrap();
    match evaluated {
        Some(serde_json::Value::String(text)) => vec![text],
        Some(serde_json::Value::Array(items)) => items.iter().map(|item| item.as_str().unwrap().to_owned()).collect(),
        other => panic!("not a string or a list of strings: {other:?}"),
    }
}

/// `ReadableStacks=booking-*,vpc` grants DescribeStacks on exactly those stacks' ARNs, and nothing
/// is granted without it.
#[test]
fn the_publisher_role_grants_describe_stacks_on_the_readable_stacks_only() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/publisher-role.yaml");
    let role: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let policies = role["Resources"]["ReaderRole"]["Properties"]["Policies"].as_sequence().unwrap();
    let conditional = policies.iter().find_map(|policy| match policy {
        Value::Tagged(tagged) if tagged.tag == "If" => Some(tagged.value.as_sequence().unwrap()),
        _ => None,
    });
    let [condition, granted, otherwise] = conditional.expect("the DescribeStacks policy is conditional").as_slice()
    else {
        panic!("!If takes three arguments")
    };
    assert_eq!(condition.as_str(), Some("HasReadableStacks"));
    assert_eq!(names(otherwise).as_deref(), Some("AWS::NoValue"), "nothing without ReadableStacks");
    let statement = &granted["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Action"], "cloudformation:DescribeStacks");
    let parameters =
        [("ReadableStacks", "booking-*,vpc"), ("AWS::Partition", "aws"), ("AWS::AccountId", "222222222222")];
    assert_eq!(
        evaluate(&statement["Resource"], &parameters),
        ["arn:*:cloudformation:*:*:stack/booking-*/*", "arn:*:cloudformation:*:*:stack/vpc/*"]
    );
}

/// The metric names the function writes (README, "Operating it"): alarms and the dashboard may read
/// no other from the function's namespace.
const METRICS: [&str; 18] = [
    "Answered",
    "Refused",
    "FailedReason",
    "ThrottledAttempts",
    "SnapshotHits",
    "SnapshotMisses",
    "FollowUpFailures",
    "StaleReads",
    "EventsPut",
    "UncheckedSources",
    "ChangeEvents",
    "ChangesIgnored",
    "ChangesCoalesced",
    "SourcesChecked",
    "ChangeStaleReads",
    "ChangeEventsPut",
    "ChangeUncheckedSources",
    "PropagationTime",
];

#[test]
fn the_alarms_and_the_dashboard_read_the_metrics_the_function_writes() {
    let template = template();
    let alarms: Vec<(&Value, &Value)> = template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    assert!(alarms.len() >= 6, "{alarms:?}");
    let mut alarmed = Vec::new();
    for (id, alarm) in &alarms {
        let conditions = ["HasAlarms", "HasAuditAlarms", "HasChangeAlarms"];
        assert!(conditions.iter().any(|c| alarm["Condition"] == *c), "{id:?} is unconditional");
        let mut read = Vec::new();
        metrics_in_namespace(&alarm["Properties"], &mut read);
        for name in read {
            assert!(METRICS.contains(&name.as_str()), "{id:?} reads '{name}', which the function does not write");
            alarmed.push(name);
        }
    }
    alarmed.sort();
    alarmed.dedup();
    assert_eq!(alarmed, ["Answered", "Refused", "UncheckedSources"]);
    let refused = resource(&template, "RefusedInvocationsAlarm")["Properties"].clone();
    assert_eq!((refused["MetricName"].as_str(), refused["Threshold"].as_u64()), (Some("Refused"), Some(0)));
    assert_eq!(refused["Period"], 300);

    // The dashboard's body is JSON once substituted, and charts every metric.
    let body = &resource(&template, "OperatorsDashboard")["Properties"]["DashboardBody"];
    let Value::Tagged(_) = body else { panic!("DashboardBody is not a !Sub") };
    let parameters = [("AWS::Region", "eu-west-1"), ("MetricsNamespace", "RemoteExports")];
    let parameters = parameters.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    // The function's name is a resource's Ref: a placeholder, inside a JSON string.
    let json_text = Evaluator::new(parameters, Unknowns::Placeholder).text(&long_form(body), "DashboardBody").unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("{e}: {json_text}"));
    let charted = dashboard.to_string();
    for metric in METRICS {
        assert!(charted.contains(&format!("\"{metric}\"")) || charted.contains(metric), "{metric} is not charted");
    }
}

/// The `MetricName` of every metric under `value` whose `Namespace` is `!Ref MetricsNamespace`.
fn metrics_in_namespace(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            if names(&value["Namespace"]).as_deref() == Some("MetricsNamespace")
                && let Some(name) = value["MetricName"].as_str()
            {
                found.push(name.to_owned());
            }
            map.values().for_each(|item| metrics_in_namespace(item, found));
        }
        Value::Sequence(items) => items.iter().for_each(|item| metrics_in_namespace(item, found)),
        Value::Tagged(tagged) => metrics_in_namespace(&tagged.value, found),
        _ => {}
    }
}

/// Whether `template`'s rules let these parameter values (the others at their defaults) deploy, each
/// rule's condition and assertions evaluated by the product's evaluator.
fn rules_allow(template: &Value, set: &[(&str, &str)]) -> bool {
    let template = long_form(template);
    let given = set.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    let evaluator = Evaluator::for_template(&template, given, Unknowns::Refuse);
    template["Rules"].as_object().unwrap().iter().all(|(name, rule)| {
        let holds = |value: &serde_json::Value| evaluator.holds(value, &format!("Rules.{name}")).unwrap();
        let applies = rule.get("RuleCondition").is_none_or(holds);
        !applies || rule["Assertions"].as_array().unwrap().iter().all(|a| holds(&a["Assert"]))
    })
}

/// host-only lets the invoker choose where answers go: never with the function open to other accounts.
#[test]
fn host_only_binding_is_refused_when_other_accounts_may_invoke() {
    let template = template();
    let host_only = ("ResponseUrlBinding", "host-only");
    assert!(rules_allow(&template, &[]));
    assert!(rules_allow(&template, &[host_only]), "host-only alone, for one account");
    assert!(!rules_allow(&template, &[host_only, ("OrganizationId", "o-abc123def4")]));
    assert!(!rules_allow(&template, &[host_only, ("ConsumerAccountIds", "111111111111")]));
    assert!(rules_allow(&template, &[("OrganizationId", "o-abc123def4"), ("ConsumerAccountIds", "111111111111")]));
}

fn deploy_regions(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    deploy_regions_copy(&root.join("examples/deploy-regions.sh"), env, args)
}

/// `deploy-regions.sh` at `script` (the repository's, or a release's copy), with `DRY_RUN=1`: the
/// commands it would run, one per line.
fn deploy_regions_copy(script: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .env("DRY_RUN", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn deploying_every_region_confirms_unless_told_and_never_copies_host_only() {
    let quiet = deploy_regions(&[("NO_CONFIRM", "1")], &["eu-west-1", "us-east-1"]);
    let commands = String::from_utf8_lossy(&quiet.stdout).into_owned();
    assert!(quiet.status.success() && commands.matches("--no-confirm-changeset").count() == 2, "{quiet:?}");
    let refused = deploy_regions(&[], &["eu-west-1", "us-east-1", "--", "ResponseUrlBinding=host-only"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(refused.stdout.is_empty(), "a command was run: {refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("host-only"), "{refused:?}");
}

/// `role`'s inline policy `name` (the policy a conditional `!If` grants, for one that has a condition).
fn policy<'a>(template: &'a Value, role: &str, name: &str) -> &'a Value {
    let policies = resource(template, role)["Properties"]["Policies"].as_sequence().unwrap();
    let granted = |p: &'a Value| match p {
        Value::Tagged(tagged) if tagged.tag == "If" => &tagged.value[1],
        plain => plain,
    };
    policies
        .iter()
        .map(granted)
        .find(|p| p["PolicyName"] == name)
        .unwrap_or_else(|| panic!("{role} has no policy {name}"))
}

/// `!If [condition, then, else]` as its three parts.
fn if_parts(value: &Value) -> (&str, &Value, &Value) {
    let Value::Tagged(tagged) = value else { panic!("not an !If: {value:?}") };
    assert_eq!(tagged.tag, "If");
    let [condition, then, otherwise] = tagged.value.as_sequence().unwrap().as_slice() else {
        panic!("!If takes three")
    };
    (condition.as_str().unwrap(), then, otherwise)
}

/// With OrganizationId, neither function assumes a role outside the Organization; the
/// custom-resource function may name the consumer (SourceIdentity, session tags), the audit may not.
#[test]
fn roles_are_assumed_only_inside_the_organization_and_with_the_consumers_identity() {
    let template = template();
    for (role, actions) in [
        ("RemoteExportsRole", vec!["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]),
        ("AuditRole", vec!["sts:AssumeRole"]),
    ] {
        let statement = &policy(&template, role, "assume-publisher-roles")["PolicyDocument"]["Statement"][0];
        let granted: Vec<&str> = match &statement["Action"] {
            Value::Sequence(items) => items.iter().map(|a| a.as_str().unwrap()).collect(),
            single => vec![single.as_str().unwrap()],
        };
        assert_eq!(granted, actions, "{role}");
        let (condition, inside, otherwise) = if_parts(&statement["Condition"]);
        assert_eq!(condition, "HasOrganization", "{role}");
        assert_eq!(names(&inside["StringEquals"]["aws:ResourceOrgID"]).as_deref(), Some("OrganizationId"), "{role}");
        assert_eq!(names(otherwise).as_deref(), Some("AWS::NoValue"));
    }
}

/// The snapshot table holds values: its own policy keeps every principal but the function's role
/// away from its items, and the function's role names the table without a reference (a cycle).
#[test]
fn only_the_functions_role_uses_the_snapshot_tables_items() {
    let template = template();
    let table = &resource(&template, "SnapshotTable")["Properties"];
    let statements = table["ResourcePolicy"]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    let deny = &statements[0];
    assert_eq!((deny["Effect"].as_str(), deny["Principal"].as_str()), (Some("Deny"), Some("*")));
    let denied: Vec<&str> = deny["Action"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let used = policy(&template, "RemoteExportsRole", "exports-snapshot");
    for action in used["PolicyDocument"]["Statement"][0]["Action"].as_sequence().unwrap() {
        assert!(denied.contains(&action.as_str().unwrap()), "{action:?} is not kept from others");
    }
    for read in ["dynamodb:Scan", "dynamodb:Query", "dynamodb:PartiQLSelect", "dynamodb:BatchGetItem"] {
        assert!(denied.contains(&read), "{read}");
    }
    // Nothing copies the values out: backups, restores, exports, streams, replicas, or a change of
    // the table or of this policy (the table is replaced instead: its name says which policy it has).
    for copy in [
        "dynamodb:CreateBackup",
        "dynamodb:StartAwsBackupJob",
        "dynamodb:RestoreTableFromBackup",
        "dynamodb:RestoreTableFromAwsBackup",
        "dynamodb:RestoreTableToPointInTime",
        "dynamodb:ExportTableToPointInTime",
        "dynamodb:UpdateTable",
        "dynamodb:CreateTableReplica",
        "dynamodb:EnableKinesisStreamingDestination",
        "dynamodb:UpdateKinesisStreamingDestination",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:PutResourcePolicy",
        "dynamodb:DeleteResourcePolicy",
    ] {
        assert!(denied.contains(&copy), "{copy} is not denied to others");
    }
    // What CloudFormation needs to create it and a later version to replace it stays possible.
    for kept in ["dynamodb:DeleteTable", "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:DescribeTable"]
    {
        assert!(!denied.contains(&kept), "{kept} is denied: the stack could not manage the table");
    }
    assert_eq!(table["Tags"][0]["Key"], "remote-exports:backup", "backup plans have no tag to exclude it by");
    let except = &deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"];
    assert_eq!(names(except).as_deref(), Some("RemoteExportsRole"));
    let Value::Tagged(name) = &table["TableName"] else { panic!("the table has no fixed name") };
    let arn = used["PolicyDocument"]["Statement"][0]["Resource"].clone();
    let Value::Tagged(arn) = arn else { panic!("the role names the table by a reference") };
    assert!(arn.value.as_str().unwrap().ends_with(&format!(":table/{}", name.value.as_str().unwrap())));
}

/// The audit's events go to a bus of its own: only the audit role may put on it, the audit is
/// told its name, and no other account may put rules on it (each event names a consumer's stack and
/// what it reads). Each account of AuditEventAccountIds gets one route with exactly the events about
/// itself, as consumer or as publisher, onto its own default bus.
#[test]
fn audit_events_go_to_a_bus_only_the_audit_puts_on_and_reach_only_the_accounts_they_concern() {
    let template = template();
    let put = &policy(&template, "AuditRole", "put-audit-events")["PolicyDocument"]["Statement"][0];
    assert_eq!(names(&put["Resource"]).as_deref(), Some("AuditEventBus"));
    let audit = resource(&template, "AuditFunction");
    assert_eq!(
        names(&audit["Properties"]["Environment"]["Variables"]["AUDIT_EVENT_BUS"]).as_deref(),
        Some("AuditEventBus")
    );
    let only = &resource(&template, "AuditEventBusOnlyAuditPuts")["Properties"];
    assert_eq!(names(&only["EventBusName"]).as_deref(), Some("AuditEventBus"));
    let statement = &only["Statement"];
    assert_eq!((statement["Effect"].as_str(), statement["Action"].as_str()), (Some("Deny"), Some("events:PutEvents")));
    assert_eq!(names(&statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]).as_deref(), Some("AuditRole"));
    // No bus policy lets another account manage rules (or anything else) on the audit bus; the change
    // bus's one Allow (PutEvents of the Organization's changes) is held by the change check's test.
    let resources = template["Resources"].as_mapping().unwrap();
    let on_audit_bus = |r: &Value| names(&r["Properties"]["EventBusName"]).as_deref() == Some("AuditEventBus");
    for (id, policy) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::Events::EventBusPolicy" && on_audit_bus(r))
    {
        let mut granted = Vec::new();
        strings(&policy["Properties"]["Statement"], &mut granted);
        assert_eq!(policy["Properties"]["Statement"]["Effect"], "Deny", "{id:?} allows something");
        assert!(!granted.iter().any(|g| g.contains("PutRule") || g.contains("PutTargets")), "{id:?}");
    }
    // Ten routes, one per listed account: its events as consumer or as publisher, to its own bus.
    let accounts = "123456789012,222222222222,333333333333,444444444444,555555555555,\
                    666666666666,777777777777,888888888888,999999999999,101010101010";
    let parameters = [("AuditEventAccountIds", accounts), ("AWS::Partition", "aws"), ("AWS::Region", "eu-west-1")];
    let listed: Vec<&str> = accounts.split(',').collect();
    for (n, account) in listed.iter().enumerate() {
        let route = resource(&template, &format!("AuditRoute{n}"));
        assert_eq!(route["Condition"].as_str(), Some(format!("HasAuditRoute{n}").as_str()));
        let properties = &route["Properties"];
        assert_eq!(names(&properties["EventBusName"]).as_deref(), Some("AuditEventBus"));
        let pattern = &properties["EventPattern"];
        assert_eq!(pattern["source"][0], "remote-exports");
        let either = pattern["$or"].as_sequence().unwrap();
        let fields: Vec<(&str, Vec<String>)> = either
            .iter()
            .flat_map(|branch| branch["detail"].as_mapping().unwrap().iter())
            .map(|(field, values)| (field.as_str().unwrap(), evaluate(&values[0], &parameters)))
            .collect();
        assert_eq!(
            fields,
            [("consumer_account", vec![account.to_string()]), ("source_account", vec![account.to_string()])],
            "route {n}"
        );
        let target = &properties["Targets"][0];
        assert_eq!(
            evaluate(&target["Arn"], &parameters),
            [format!("arn:aws:events:eu-west-1:{account}:event-bus/default")]
        );
        assert_eq!(names(&target["RoleArn"]).as_deref(), Some("AuditRouteRole"));
    }
    assert!(template["Resources"].get("AuditRoute10").is_none());
    // The route role puts only on the listed accounts' default buses, for this account's rules only.
    let role = resource(&template, "AuditRouteRole");
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(names(&trust["Condition"]["StringEquals"]["aws:SourceAccount"]).as_deref(), Some("AWS::AccountId"));
    let put = &role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(put["Action"], "events:PutEvents");
    assert_eq!(evaluate(&put["Resource"], &parameters), ["arn:aws:events:eu-west-1:*:event-bus/default"]);
    assert_eq!(evaluate(&put["Condition"]["StringEquals"]["aws:ResourceAccount"], &parameters), listed);
    // Routes exist only with the audit.
    assert!(!rules_allow(&template, &[("AuditEventAccountIds", "123456789012")]));
    assert!(rules_allow(
        &template,
        &[("AuditEventAccountIds", "123456789012"), ("AuditSchedule", "rate(1 day)"), ("ReadsRegistry", "true")]
    ));
}

fn publisher_role() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/publisher-role.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The publisher decides who reads: AllowedConsumerAccounts becomes an sts:SourceIdentity (and
/// ConsumerAccount tag) condition on the function's statements, the ExternalId applies to the
/// function only, and the audit is trusted on nobody's behalf.
#[test]
fn the_publisher_roles_trust_admits_only_the_allowed_consumer_accounts() {
    let role = publisher_role();
    let statements =
        role["Resources"]["ReaderRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"].as_sequence().unwrap();
    let by_sid =
        |sid: &str| statements.iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no statement {sid}"));
    let assume = by_sid("FunctionReadsForAdmittedConsumers");
    assert_eq!(assume["Action"], "sts:AssumeRole");
    let (condition, conditions, _) = if_parts(&assume["Condition"]);
    assert_eq!(condition, "HasTrustConditions");
    let (when, accounts, _) = if_parts(&conditions["StringEquals"]["sts:SourceIdentity"]);
    assert_eq!(when, "HasConsumerAccounts");
    let parameters = [("AllowedConsumerAccounts", "111111111111,333333333333")];
    assert_eq!(evaluate(accounts, &parameters), ["111111111111", "333333333333"]);
    let (when, _, _) = if_parts(&conditions["StringEquals"]["sts:ExternalId"]);
    assert_eq!(when, "HasExternalId");

    let names_consumer = by_sid("FunctionNamesTheConsumer");
    let actions: Vec<&str> =
        names_consumer["Action"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(actions, ["sts:SetSourceIdentity", "sts:TagSession"]);
    let tag_keys: Vec<&str> = names_consumer["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(tag_keys, ["ConsumerAccount", "ConsumerStack"], "the tags the function sets");
    let (when, checked, _) = if_parts(&names_consumer["Condition"]["StringEquals"]);
    assert_eq!(when, "HasConsumerAccounts");
    for key in ["sts:SourceIdentity", "aws:RequestTag/ConsumerAccount"] {
        assert_eq!(evaluate(&checked[key], &parameters), ["111111111111", "333333333333"], "{key}");
    }

    let (when, audit, _) = if_parts(statements.iter().find(|s| matches!(s, Value::Tagged(_))).expect("the audit's"));
    assert_eq!(when, "HasAuditRole");
    assert_eq!(audit["Sid"], "AuditReadsOnNobodysBehalf");
    assert!(audit.get("Condition").is_none(), "the audit has no consumer's ExternalId to give");
}

/// ReadableParameters shares paths: GetParameters on everything under each path, GetParametersByPath
/// on the path itself and below (IAM authorizes it on the path asked for), a bare `/*` refused; and
/// kms:Decrypt only on the named keys, only through SSM, only for parameters under those paths.
#[test]
fn the_publisher_role_grants_the_readable_parameters_only() {
    let role = publisher_role();
    let policies = role["Resources"]["ReaderRole"]["Properties"]["Policies"].as_sequence().unwrap();
    let conditional = |name: &str| {
        policies
            .iter()
            .filter(|policy| matches!(policy, Value::Tagged(_)))
            .map(if_parts)
            .find(|(_, granted, _)| granted["PolicyName"] == name)
            .unwrap_or_else(|| panic!("no conditional policy {name}"))
    };
    let parameters = [
        ("ReadableParameters", "/booking/prod,/shared/vpc"),
        ("ParameterKmsKeyArns", "arn:aws:kms:eu-west-1:222222222222:key/k1"),
    ];
    let under = ["arn:*:ssm:*:*:parameter/booking/prod/*", "arn:*:ssm:*:*:parameter/shared/vpc/*"];
    let paths = ["arn:*:ssm:*:*:parameter/booking/prod", "arn:*:ssm:*:*:parameter/shared/vpc"];
    let (condition, read, otherwise) = conditional("read-readable-parameters");
    assert_eq!((condition, names(otherwise).as_deref()), ("HasReadableParameters", Some("AWS::NoValue")));
    let statements = read["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let actions = |statement: &Value| -> Vec<String> {
        match &statement["Action"] {
            Value::Sequence(items) => items.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
            single => vec![single.as_str().unwrap().to_owned()],
        }
    };
    assert_eq!(actions(&statements[0]), ["ssm:GetParameters", "ssm:GetParametersByPath"]);
    assert_eq!(evaluate(&statements[0]["Resource"], &parameters), under);
    assert_eq!(actions(&statements[1]), ["ssm:GetParametersByPath"], "the path itself: names only");
    assert_eq!(evaluate(&statements[1]["Resource"], &parameters), paths);
    assert_eq!(statements.len(), 2);
    let (condition, decrypt, _) = conditional("decrypt-readable-parameters");
    assert_eq!(condition, "HasParameterKeys");
    let statement = &decrypt["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Action"], "kms:Decrypt");
    assert_eq!(evaluate(&statement["Resource"], &parameters), ["arn:aws:kms:eu-west-1:222222222222:key/k1"]);
    assert_eq!(statement["Condition"]["StringLike"]["kms:ViaService"], "ssm.*");
    let context = &statement["Condition"]["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"];
    assert_eq!(evaluate(context, &parameters), under);
    let pattern =
        regex_lite::Regex::new(role["Parameters"]["ReadableParameters"]["AllowedPattern"].as_str().unwrap()).unwrap();
    for accepted in ["", "/booking", "/booking/prod,/shared/vpc", "/team-*/shared", "/a", "/booking/*-prod"] {
        assert!(pattern.is_match(accepted), "{accepted:?} was refused");
    }
    // Every path names a literal prefix before any wildcard.
    for refused in ["/*", "/", "/**", "/*/shared", "/*-prod", "booking", "/booking/", "/booking,/*", "/a b", "/a//b"] {
        assert!(!pattern.is_match(refused), "{refused:?} was accepted");
    }
}

/// ReadableStacks refuses a bare `*` (DescribeStacks on every stack), and takes named patterns.
#[test]
fn readable_stacks_refuses_a_bare_star() {
    let role = publisher_role();
    let pattern =
        regex_lite::Regex::new(role["Parameters"]["ReadableStacks"]["AllowedPattern"].as_str().unwrap()).unwrap();
    for accepted in ["", "booking-*", "booking-*,vpc", "team*-network", "booking*api*", "a"] {
        assert!(pattern.is_match(accepted), "{accepted:?} was refused");
    }
    // Every pattern names a literal prefix before any wildcard.
    for refused in ["*", "**", "*-*", "*-network", "*booking*", "**x", "booking-*,*", "*,vpc", "-x", "a b"] {
        assert!(!pattern.is_match(refused), "{refused:?} was accepted");
    }
}

/// Parameters may be SecureStrings: a publisher role never shares them with every consumer the
/// function serves, only with the consumer accounts it names.
#[test]
fn readable_parameters_need_named_consumer_accounts() {
    let role = publisher_role();
    let parameters = [("ReadableParameters", "/booking/prod")];
    assert!(!rules_allow(&role, &[("FunctionRoleArn", "arn:aws:iam::111111111111:role/f"), parameters[0]]));
    assert!(rules_allow(
        &role,
        &[
            ("FunctionRoleArn", "arn:aws:iam::111111111111:role/f"),
            parameters[0],
            ("AllowedConsumerAccounts", "333333333333")
        ]
    ));
    assert!(rules_allow(&role, &[("FunctionRoleArn", "arn:aws:iam::111111111111:role/f")]), "stacks alone need none");
}

/// The export guard reads the registry through one role that can query only the caller's own
/// account's readers: the trust pins SourceIdentity to the caller's account, the permission pins
/// the index's partition key to SourceIdentity, and nothing else is granted.
#[test]
fn guards_read_only_their_own_accounts_readers() {
    let template = template();
    let role = resource(&template, "GuardRegistryRole");
    assert_eq!(role["Condition"], "HasGuardRegistry");
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], "*");
    assert_eq!(trust["Condition"]["StringEquals"]["sts:SourceIdentity"], "${aws:PrincipalAccount}");
    assert!(trust["Condition"]["StringEquals"].get("aws:PrincipalOrgID").is_some(), "{trust:?}");
    let mut actions = Vec::new();
    strings(&trust["Action"], &mut actions);
    assert_eq!(actions, ["sts:AssumeRole", "sts:SetSourceIdentity"]);
    let policies = role["Properties"]["Policies"].as_sequence().unwrap();
    let statements: Vec<&Value> =
        policies.iter().flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence().unwrap()).collect();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let statement = statements[0];
    assert_eq!(statement["Action"], "dynamodb:Query");
    assert_eq!(statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"][0], "${aws:SourceIdentity}");
    // ForAllValues holds on an empty set: a query that carries no leading key must not pass.
    assert_eq!(statement["Condition"]["Null"]["dynamodb:LeadingKeys"], "false", "the permission fails open");
    let mut resources = Vec::new();
    strings(&statement["Resource"], &mut resources);
    assert!(resources[0].ends_with("/index/BySource"), "{resources:?}");
    // The index it queries is keyed by the source account.
    let table = resource(&template, "ReadsTable");
    let index = &table["Properties"]["GlobalSecondaryIndexes"][0];
    assert_eq!(
        (index["IndexName"].as_str(), index["KeySchema"][0]["AttributeName"].as_str()),
        (Some("BySource"), Some("SourceAccount"))
    );
    // The guard's own role names itself as that account, and may do nothing else but read its stacks.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/export-guard.yaml");
    let guard: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let statements = guard["Resources"]["ExportGuardRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let mut granted = Vec::new();
    statements.iter().for_each(|s| strings(&s["Action"], &mut granted));
    assert_eq!(
        granted,
        [
            "cloudformation:DescribeStacks",
            "cloudformation:GetTemplate",
            "cloudformation:DescribeChangeSet",
            "sts:AssumeRole",
            "sts:SetSourceIdentity"
        ]
    );
    // The guard runs exactly the object version it was given, and signed code when asked to.
    let function = &guard["Resources"]["ExportGuardFunction"]["Properties"];
    assert_eq!(names(&function["Code"]["S3ObjectVersion"]).as_deref(), Some("CodeS3ObjectVersion"));
    assert!(guard["Parameters"]["CodeS3ObjectVersion"].get("Default").is_none(), "a version must be chosen");
    let (condition, signing, otherwise) = if_parts(&function["CodeSigningConfigArn"]);
    assert_eq!((condition, names(signing).as_deref()), ("HasCodeSigning", Some("CodeSigningConfigArn")));
    assert_eq!(names(otherwise).as_deref(), Some("AWS::NoValue"));
    let hook = &guard["Resources"]["ExportGuardHook"]["Properties"];
    let mut targets = Vec::new();
    strings(&hook["TargetOperations"], &mut targets);
    assert_eq!(targets, ["STACK", "CHANGE_SET"]);
    assert_eq!(guard["Parameters"]["FailureMode"]["Default"], "WARN");
    let invoke = &guard["Resources"]["HookExecutionRole"]["Properties"];
    assert_eq!(
        invoke["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "hooks.cloudformation.amazonaws.com"
    );
}

/// The change check: only its bus's rule invokes it, the bus takes only CloudFormation's and SSM's
/// events from the Organization, the rule passes only the changes that may change a value, and the
/// function acts as the audit (its role, its bus) with one more action: the by-source query.
#[test]
fn only_the_change_bus_rule_invokes_the_change_check_and_the_bus_takes_only_the_organizations_changes() {
    let template = template();
    let function = resource(&template, "ChangeCheckFunction");
    assert_eq!(function["Condition"], "HasChangeEvents");
    assert!(
        function["Properties"].get("Events").is_none() && function["Properties"].get("FunctionUrlConfig").is_none()
    );
    let variables = &function["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["FUNCTION_MODE"], "change-check");
    assert_eq!(names(&variables["AUDIT_EVENT_BUS"]).as_deref(), Some("AuditEventBus"));
    assert_eq!(names(&function["Properties"]["Role"]).as_deref(), Some("AuditRole"));
    assert_eq!(names(&function["Properties"]["LoggingConfig"]["LogGroup"]).as_deref(), Some("ChangeCheckLogGroup"));

    let permissions = permissions_of(&template, "ChangeCheckFunction");
    assert_eq!(permissions.len(), 1, "{permissions:?}");
    let only = &permissions[0]["Properties"];
    assert_eq!(only["Principal"], "events.amazonaws.com");
    assert_eq!(names(&only["SourceArn"]).as_deref(), Some("ChangeCheckRule"));
    let rule = &resource(&template, "ChangeCheckRule")["Properties"];
    assert_eq!(names(&rule["EventBusName"]).as_deref(), Some("ChangeEventBus"));
    assert_eq!(names(&rule["Targets"][0]["Arn"]).as_deref(), Some("ChangeCheckFunction"));
    let patterns = rule["EventPattern"]["$or"].as_sequence().unwrap();
    let statuses: Vec<&str> = patterns[0]["detail"]["status-details"]["status"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(statuses, remote_exports_core::OUTPUT_CHANGING_STATUSES, "the rule and the function agree");
    let operations: Vec<&str> =
        patterns[1]["detail"]["operation"].as_sequence().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(operations, remote_exports_core::PARAMETER_OPERATIONS);
    assert_eq!(patterns[0]["detail-type"][0], remote_exports_core::STACK_STATUS_CHANGE);
    assert_eq!(patterns[1]["detail-type"][0], remote_exports_core::PARAMETER_STORE_CHANGE);

    let bus_policy = &resource(&template, "ChangeEventBusTakesTheOrganizationsChanges")["Properties"];
    assert_eq!(names(&bus_policy["EventBusName"]).as_deref(), Some("ChangeEventBus"));
    let statement = &bus_policy["Statement"];
    assert_eq!((statement["Effect"].as_str(), statement["Action"].as_str()), (Some("Allow"), Some("events:PutEvents")));
    let condition = &statement["Condition"]["StringEquals"];
    assert_eq!(names(&condition["aws:PrincipalOrgID"]).as_deref(), Some("OrganizationId"));
    let sources: Vec<&str> =
        condition["events:source"].as_sequence().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(sources, ["aws.cloudformation", "aws.ssm"]);

    // The query is granted on the index alone, and only with change events on.
    let registry = &policy(&template, "AuditRole", "audit-reads-registry")["PolicyDocument"]["Statement"];
    let (when, query, otherwise) = if_parts(&registry[1]);
    assert_eq!((when, query["Action"].as_str()), ("HasChangeEvents", Some("dynamodb:Query")));
    let mut resource_text = Vec::new();
    strings(&query["Resource"], &mut resource_text);
    assert!(resource_text.iter().any(|r| r.ends_with("/index/BySource")), "{resource_text:?}");
    assert!(names(otherwise).as_deref() == Some("AWS::NoValue"));

    // Without the audit (its safety net and its bus) or the Organization, it cannot be turned on.
    assert!(!rules_allow(&template, &[("ChangeEvents", "true")]));
    assert!(!rules_allow(
        &template,
        &[("ChangeEvents", "true"), ("AuditSchedule", "rate(1 day)"), ("ReadsRegistry", "true")]
    ));
    assert!(rules_allow(
        &template,
        &[
            ("ChangeEvents", "true"),
            ("AuditSchedule", "rate(1 day)"),
            ("ReadsRegistry", "true"),
            ("OrganizationId", "o-abcdefghij")
        ]
    ));
}

fn example(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The publisher side forwards exactly what the central rule passes, to the change bus and nowhere else.
#[test]
fn publishers_forward_the_changes_the_central_rule_passes_and_nothing_else() {
    let forwarding = example("publisher-changes.yaml");
    let central = template();
    let pattern = |t: &Value, rule: &str| resource(t, rule)["Properties"]["EventPattern"].clone();
    assert_eq!(pattern(&forwarding, "ForwardChanges"), pattern(&central, "ChangeCheckRule"));
    let target = &resource(&forwarding, "ForwardChanges")["Properties"]["Targets"][0];
    assert_eq!(names(&target["Arn"]).as_deref(), Some("ChangeEventBusArn"));
    assert_eq!(names(&target["RoleArn"]).as_deref(), Some("ForwardingRole"));
    let role = resource(&forwarding, "ForwardingRole");
    let statements = &role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_sequence().unwrap().len(), 1);
    assert_eq!(
        (statements[0]["Action"].as_str(), names(&statements[0]["Resource"]).as_deref()),
        (Some("events:PutEvents"), Some("ChangeEventBusArn"))
    );
}

/// The refresher: invoked only by its rule, which takes only the central account's events about this
/// account; it may change only stacks that carry the tag (update only those that ask for it), and
/// may never name a role.
#[test]
fn the_refresher_changes_only_tagged_stacks_and_never_passes_a_role() {
    let refresher = example("consumer-refresher.yaml");
    let permissions = permissions_of(&refresher, "RefresherFunction");
    assert_eq!(permissions.len(), 1);
    assert_eq!(permissions[0]["Properties"]["Principal"], "events.amazonaws.com");
    assert_eq!(names(&permissions[0]["Properties"]["SourceArn"]).as_deref(), Some("RefreshRule"));
    let rule = &resource(&refresher, "RefreshRule")["Properties"];
    // The central account is the route role's, read from its ARN: one parameter, no mismatch.
    let mut account = Vec::new();
    strings(&rule["EventPattern"]["account"][0], &mut account);
    assert!(account.contains(&"AuditRouteRoleArn".to_owned()), "{account:?}");
    // Only the central stack's route role may put on this account's default bus (not any principal of
    // the central account, who could otherwise forge stale-read events here).
    let bus = &resource(&refresher, "DefaultBusTakesTheCentralAccountsEvents")["Properties"]["Statement"];
    assert_eq!(names(&bus["Principal"]["AWS"]).as_deref(), Some("AuditRouteRoleArn"));
    assert_eq!(bus["Condition"]["StringEquals"]["events:source"], "remote-exports");
    assert_eq!(names(&rule["EventPattern"]["detail"]["consumer_account"][0]).as_deref(), Some("AWS::AccountId"));
    assert_eq!(rule["EventPattern"]["source"][0], "remote-exports");
    let function = &resource(&refresher, "RefresherFunction")["Properties"];
    assert_eq!(function["Environment"]["Variables"]["FUNCTION_MODE"], "refresher");

    let statements = resource(&refresher, "RefresherRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let by_sid = |sid: &str| statements.iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no {sid}")).clone();
    let tag =
        |statement: &Value| statement["Condition"]["StringEquals"]["aws:ResourceTag/remote-exports:refresh"].clone();
    let propose = by_sid("ProposeOnOptedInStacks");
    assert_eq!(propose["Action"], "cloudformation:CreateChangeSet");
    assert_eq!(tag(&propose), serde_norway::from_str::<Value>("[change-set, update]").unwrap());
    let update = by_sid("UpdateStacksThatAskedForIt");
    assert_eq!(
        (update["Action"].as_str(), tag(&update).as_str()),
        (Some("cloudformation:UpdateStack"), Some("update"))
    );
    let never = by_sid("NeverPassARole");
    assert_eq!(never["Effect"], "Deny");
    assert_eq!(never["Condition"]["Null"]["cloudformation:RoleArn"], "false");
    let mut actions = Vec::new();
    strings(&Value::Sequence(statements.clone()), &mut actions);
    for forbidden in ["iam:PassRole", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack"] {
        assert!(!actions.iter().any(|a| a == forbidden), "the refresher may {forbidden}");
    }
}
