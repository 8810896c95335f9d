//! `remote-exports preview`'s use case: the Create request a resource would send, from its
//! properties as JSON or from a template, its intrinsic functions evaluated with the template's
//! parameters and pseudo parameters by core's one evaluator (`Ref`, `Fn::Sub`, `Fn::Join`,
//! `Fn::Split`, `Fn::Select`, `Fn::If` over the template's conditions, `AWS::NoValue`); anything
//! else, or a value nobody gave, is refused by name, so a preview never guesses. The function's own
//! resource then answers it.

use cloudformation_custom_resource::Request;
use remote_exports_core::template::{self, Evaluator, Parameters, Unknowns, Unresolved};
use remote_exports_shared::Partition;
use serde_json::{Map, Value, json};

/// Where the resource's properties come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewProperties {
    Json(Value),
    /// The resource `logical_id` of a template, with values for its parameters (`Name`, `Value`).
    Template {
        text: String,
        logical_id: String,
        parameters: Vec<(String, String)>,
    },
}

/// The consumer stack a preview stands in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewStack {
    pub region: String,
    pub account: String,
}

/// A Create request for the function's resource, and what the template says that a deploy would trip on.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub request: Request,
    pub warnings: Vec<PreviewWarning>,
}

/// Something the template does that would fail before the function is called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewWarning {
    #[error(
        "{id}'s ServiceToken names region {named}, but the stack is in {region}. CloudFormation invokes a \
         ServiceToken only in the stack's own region (\"The service token must be from the same Region in which you \
         are creating the stack\", AWS::CloudFormation::CustomResource reference), so the stack would fail before \
         the function is called. Deploy the function in {region} and name it with \
         !Sub arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:<account>:function:<name>."
    )]
    ServiceTokenInAnotherRegion { id: String, named: String, region: String },
}

/// Why no request could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("the region {region} is in none of the partitions this version knows ({known})")]
    UnknownRegion { region: String, known: String },
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("the preview's request does not parse: {0}")]
    Request(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum TemplateError {
    #[error("the template is neither JSON nor YAML: {0}")]
    Unreadable(String),
    #[error("the template has no resource '{0}'")]
    NoSuchResource(String),
    #[error("resource '{id}' is a {kind}, not Custom::RemoteExports")]
    NotRemoteExports { id: String, kind: String },
    #[error("property {path} uses {function}, which a preview cannot resolve; pass --properties instead")]
    Unresolvable { path: String, function: String },
    #[error("property {path} refers to '{name}'; give its value with --parameter {name}=VALUE")]
    MissingParameter { path: String, name: String },
}

/// The Create request a stack in `stack` would send with these properties.
pub fn preview(properties: PreviewProperties, stack: &PreviewStack) -> Result<Preview, PreviewError> {
    let PreviewStack { region, account } = stack;
    let partition = Partition::of_region(region)
        .ok_or_else(|| PreviewError::UnknownRegion { region: region.clone(), known: Partition::known_ids() })?
        .id;
    let mut warnings = Vec::new();
    let properties = match properties {
        PreviewProperties::Json(properties) => properties,
        PreviewProperties::Template { text, logical_id, parameters } => {
            let mut given = Parameters::from([
                ("AWS::Region".to_owned(), region.clone()),
                ("AWS::Partition".to_owned(), partition.to_owned()),
                ("AWS::AccountId".to_owned(), account.clone()),
            ]);
            given.extend(parameters);
            // Parsed once, for the ServiceToken's region and the properties.
            let template = parse(&text)?;
            if let Some(named) = service_token_region(&template, &logical_id, &given)
                && named != *region
            {
                warnings.push(PreviewWarning::ServiceTokenInAnotherRegion {
                    id: logical_id.clone(),
                    named,
                    region: region.clone(),
                });
            }
            resource_properties(&template, &logical_id, &given)?
        }
    };
    let event = json!({
        "RequestType": "Create",
        "ResponseURL": "https://preview.invalid/not-sent",
        "StackId": format!("arn:{partition}:cloudformation:{region}:{account}:stack/preview/00000000-0000-0000-0000-000000000000"),
        "RequestId": "preview",
        "LogicalResourceId": "Lookup",
        "ResourceType": "Custom::RemoteExports",
        "ResourceProperties": properties,
    });
    let request = Request::parse(event).map_err(|e| PreviewError::Request(e.reason))?;
    Ok(Preview { request, warnings })
}

/// The resource's properties, resolved; without its ServiceToken.
pub fn resource_properties(template: &Value, logical_id: &str, given: &Parameters) -> Result<Value, TemplateError> {
    let resource = template
        .get("Resources")
        .and_then(|r| r.get(logical_id))
        .ok_or_else(|| TemplateError::NoSuchResource(logical_id.to_owned()))?;
    let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("resource without a Type");
    if kind != "Custom::RemoteExports" && kind != "AWS::CloudFormation::CustomResource" {
        return Err(TemplateError::NotRemoteExports { id: logical_id.to_owned(), kind: kind.to_owned() });
    }
    let mut properties = resource.get("Properties").cloned().unwrap_or(Value::Object(Map::new()));
    // The function never reads its own ServiceToken, and it is usually an !ImportValue.
    if let Value::Object(map) = &mut properties {
        map.remove("ServiceToken");
    }
    let evaluator = Evaluator::for_template(template, given.clone(), Unknowns::Refuse);
    let resolved = evaluator.eval(&properties, "Properties").map_err(|unresolved| match unresolved {
        Unresolved::Function { path, function } => TemplateError::Unresolvable { path, function },
        Unresolved::Parameter { path, name } => TemplateError::MissingParameter { path, name },
    })?;
    Ok(resolved.unwrap_or(Value::Object(Map::new())))
}

/// The region a resource's ServiceToken names, when the template spells it out: a literal ARN, or an
/// expression whose region part has a value (the account part need not). `None` for `!ImportValue`,
/// `!GetAtt`, or a region left to a parameter without a value.
fn service_token_region(template: &Value, logical_id: &str, given: &Parameters) -> Option<String> {
    let token = template.get("Resources")?.get(logical_id)?.get("Properties")?.get("ServiceToken")?;
    // Placeholders stand for what has no value, so that a known region still shows; no condition is
    // decided over one (an `!If` token names no region here).
    let mut parameters = template::defaults(template);
    parameters.extend(given.clone());
    let evaluator = Evaluator::new(parameters, Unknowns::Placeholder);
    let arn = evaluator.text(token, "ServiceToken").ok()?;
    let fields: Vec<&str> = arn.split(':').collect();
    match fields[..] {
        ["arn", _, "lambda", region, ..] if !region.is_empty() && !region.contains('⟪') => Some(region.to_owned()),
        _ => None,
    }
}

/// The template, or why it is neither JSON nor YAML.
fn parse(text: &str) -> Result<Value, TemplateError> {
    template::parse(text).map_err(|e| TemplateError::Unreadable(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Parameters:
  BookingAccountId:
    Type: String
    Default: "222222222222"
  Refresh:
    Type: String
Resources:
  Lookup:
    Type: Custom::RemoteExports
    Properties:
      ServiceToken: !ImportValue remote-exports-ServiceToken
      ServiceTimeout: 120
      RoleArn: !Sub arn:${AWS::Partition}:iam::${BookingAccountId}:role/remote-exports-reader
      ExportNames: [booking-lambda-BookingTopicArn]
      NoEcho: true
      Refresh: !Ref Refresh
  Topic:
    Type: AWS::SNS::Topic
"#;

    fn pseudo() -> Parameters {
        Parameters::from([("AWS::Partition".into(), "aws".into()), ("Refresh".into(), "7".into())])
    }

    #[test]
    fn resolves_refs_subs_and_stringifies_scalars_as_cloudformation_does() {
        let properties = resource_properties(&parse(TEMPLATE).unwrap(), "Lookup", &pseudo());
        assert_eq!(
            properties.unwrap(),
            json!({
                "ServiceTimeout": "120",
                "RoleArn": "arn:aws:iam::222222222222:role/remote-exports-reader",
                "ExportNames": ["booking-lambda-BookingTopicArn"],
                "NoEcho": "true",
                "Refresh": "7",
            })
        );
    }

    #[test]
    fn names_what_is_missing() {
        // Refresh has no default and was not given.
        let error = resource_properties(&parse(TEMPLATE).unwrap(), "Lookup", &Parameters::new()).unwrap_err();
        assert_eq!(
            error,
            TemplateError::MissingParameter { path: "Properties.Refresh".into(), name: "Refresh".into() }
        );
        assert!(error.to_string().contains("--parameter Refresh=VALUE"));
        assert_eq!(
            resource_properties(&parse(TEMPLATE).unwrap(), "Topic", &pseudo()).unwrap_err(),
            TemplateError::NotRemoteExports { id: "Topic".into(), kind: "AWS::SNS::Topic".into() }
        );
        assert_eq!(
            resource_properties(&parse(TEMPLATE).unwrap(), "Nope", &pseudo()).unwrap_err(),
            TemplateError::NoSuchResource("Nope".into())
        );
    }

    #[test]
    fn refuses_what_it_cannot_resolve() {
        let imported = TEMPLATE.replace("Refresh: !Ref Refresh", "Refresh: !ImportValue other-stack-Value");
        assert_eq!(
            resource_properties(&parse(&imported).unwrap(), "Lookup", &pseudo()).unwrap_err(),
            TemplateError::Unresolvable { path: "Properties.Refresh".into(), function: "Fn::ImportValue".into() }
        );
    }

    #[test]
    fn reads_json_templates_and_sub_escapes() {
        let json_template = r#"{"Resources": {"L": {"Type": "Custom::RemoteExports", "Properties": {"ExportPrefix": {"Fn::Sub": "${!x}-${P}"}}}}}"#;
        let properties =
            resource_properties(&parse(json_template).unwrap(), "L", &Parameters::from([("P".into(), "v".into())]))
                .unwrap();
        assert_eq!(properties, json!({"ExportPrefix": "${x}-v"}));
    }

    #[test]
    fn the_service_token_region_is_read_where_the_template_spells_it_out() {
        let template = |token: &str| {
            format!(
                "Parameters:\n  Central:\n    Type: String\nResources:\n  L:\n    Type: Custom::RemoteExports\n    Properties:\n      ServiceToken: {token}\n"
            )
        };
        let given = Parameters::from([
            ("AWS::Region".to_owned(), "eu-west-1".to_owned()),
            ("AWS::Partition".to_owned(), "aws".to_owned()),
        ]);
        let region = |token: &str| service_token_region(&parse(&template(token)).unwrap(), "L", &given);
        assert_eq!(
            region("arn:aws:lambda:us-east-1:111111111111:function:remote-exports").as_deref(),
            Some("us-east-1")
        );
        let per_region = "!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${Central}:function:remote-exports";
        assert_eq!(region(per_region).as_deref(), Some("eu-west-1"));
        assert_eq!(region("!Sub arn:aws:lambda:${Unset}:1:function:f"), None);
        assert_eq!(region("!ImportValue remote-exports-ServiceToken"), None);
        assert_eq!(service_token_region(&parse(&template("x")).unwrap(), "Other", &given), None);
    }

    #[test]
    fn a_preview_is_a_create_in_the_chosen_region_and_partition() {
        let stack = PreviewStack { region: "cn-north-1".into(), account: "111111111111".into() };
        let made = preview(PreviewProperties::Json(json!({"ExportPrefix": "x"})), &stack).unwrap();
        assert_eq!(made.request.kind, cloudformation_custom_resource::RequestKind::Create);
        let arn = cloudformation_custom_resource::StackArn::parse(&made.request.reply.stack_id).unwrap();
        assert_eq!((arn.partition, arn.region, arn.account), ("aws-cn", "cn-north-1", "111111111111"));
        assert_eq!(made.request.properties["ExportPrefix"], "x");
        let unknown = PreviewStack { region: "xx-east-1".into(), account: "111111111111".into() };
        let error = preview(PreviewProperties::Json(json!({})), &unknown).unwrap_err();
        assert!(error.to_string().contains("aws-iso-f"), "{error}");
    }

    #[test]
    fn a_service_token_of_another_region_is_a_warning() {
        let template = "Resources:\n  L:\n    Type: Custom::RemoteExports\n    Properties:\n      ServiceToken: !Sub arn:${AWS::Partition}:lambda:us-east-1:1:function:f\n      ExportPrefix: x\n";
        let stack = PreviewStack { region: "eu-west-1".into(), account: "111111111111".into() };
        let properties =
            PreviewProperties::Template { text: template.into(), logical_id: "L".into(), parameters: Vec::new() };
        let made = preview(properties, &stack).unwrap();
        assert!(
            matches!(&made.warnings[..], [PreviewWarning::ServiceTokenInAnotherRegion { named, .. }] if named == "us-east-1")
        );
        assert_eq!(made.request.properties, json!({"ExportPrefix": "x"}));
    }
}
