//! Reads one resource's properties out of a CloudFormation template, resolving the intrinsic
//! functions a stack author typically uses for them (`!Ref` and `!Sub` of parameters and pseudo
//! parameters). Anything else is refused by name, so a preview never guesses.

use std::collections::HashMap;

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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

/// The values `!Ref`/`!Sub` may use: template parameters (their defaults, overridden by the
/// caller) and pseudo parameters.
pub type Parameters = HashMap<String, String>;

pub fn resource_properties(text: &str, logical_id: &str, given: &Parameters) -> Result<Value, TemplateError> {
    let template = parse(text)?;
    let resource = template
        .get("Resources")
        .and_then(|r| r.get(logical_id))
        .ok_or_else(|| TemplateError::NoSuchResource(logical_id.to_owned()))?;
    let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("resource without a Type");
    if kind != "Custom::RemoteExports" && kind != "AWS::CloudFormation::CustomResource" {
        return Err(TemplateError::NotRemoteExports { id: logical_id.to_owned(), kind: kind.to_owned() });
    }
    let mut parameters = defaults(&template);
    parameters.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut properties = resource.get("Properties").cloned().unwrap_or(Value::Object(Map::new()));
    // The function never reads its own ServiceToken, and it is usually an !ImportValue.
    if let Value::Object(map) = &mut properties {
        map.remove("ServiceToken");
    }
    resolve(properties, "Properties", &parameters)
}

/// The region a resource's ServiceToken names, when the template spells it out: a literal ARN, or an
/// `!Sub` whose region part resolves from the parameters. `None` for `!ImportValue`, `!GetAtt`, a
/// region left to a parameter without a value, or a template that cannot be read.
pub fn service_token_region(text: &str, logical_id: &str, given: &Parameters) -> Option<String> {
    let template = parse(text).ok()?;
    let token = template.get("Resources")?.get(logical_id)?.get("Properties")?.get("ServiceToken")?;
    let arn = match token {
        Value::String(arn) => arn.clone(),
        Value::Object(map) if map.len() == 1 => {
            let Value::String(text) = map.get("Fn::Sub")? else { return None };
            let mut parameters = defaults(&template);
            parameters.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
            parameters.iter().fold(text.clone(), |arn, (name, value)| arn.replace(&format!("${{{name}}}"), value))
        }
        _ => return None,
    };
    let fields: Vec<&str> = arn.split(':').collect();
    match fields[..] {
        ["arn", _, "lambda", region, ..] if !region.is_empty() && !region.contains("${") => Some(region.to_owned()),
        _ => None,
    }
}

fn defaults(template: &Value) -> Parameters {
    template
        .get("Parameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, p)| p.get("Default").map(|d| (name.clone(), plain(d))))
        .collect()
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON, or YAML with the short-form tags (`!Ref x`) turned into their long form (`{"Ref": x}`).
fn parse(text: &str) -> Result<Value, TemplateError> {
    if let Ok(json) = serde_json::from_str(text) {
        return Ok(json);
    }
    let yaml: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| TemplateError::Unreadable(e.to_string()))?;
    Ok(from_yaml(yaml))
}

fn from_yaml(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(from_yaml).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned), from_yaml(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" { name.to_owned() } else { format!("Fn::{name}") };
            let value = from_yaml(tagged.value);
            // `!GetAtt A.b` is `{"Fn::GetAtt": ["A", "b"]}` in long form.
            let value = match (name, value) {
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').unwrap_or((&s, ""));
                    Value::Array(vec![resource.into(), attribute.into()])
                }
                (_, value) => value,
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    }
}

fn resolve(value: Value, path: &str, parameters: &Parameters) -> Result<Value, TemplateError> {
    match value {
        Value::Object(map) if map.len() == 1 && is_intrinsic(map.keys().next().unwrap()) => {
            let (function, argument) = map.into_iter().next().unwrap();
            match (function.as_str(), argument) {
                ("Ref", Value::String(name)) => lookup(&name, path, parameters).map(Value::String),
                ("Fn::Sub", Value::String(text)) => substitute(&text, path, parameters).map(Value::String),
                (function, _) => {
                    Err(TemplateError::Unresolvable { path: path.to_owned(), function: function.to_owned() })
                }
            }
        }
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                let child = format!("{path}.{k}");
                resolve(v, &child, parameters).map(|v| (k, v))
            })
            .collect::<Result<Map<_, _>, _>>()
            .map(Value::Object),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| resolve(v, &format!("{path}[{i}]"), parameters))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        // CloudFormation sends every scalar as a string.
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        Value::Number(n) => Ok(Value::String(n.to_string())),
        other => Ok(other),
    }
}

fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key.starts_with("Fn::")
}

fn lookup(name: &str, path: &str, parameters: &Parameters) -> Result<String, TemplateError> {
    parameters
        .get(name)
        .cloned()
        .ok_or_else(|| TemplateError::MissingParameter { path: path.to_owned(), name: name.to_owned() })
}

/// `${Name}` replaced by its value; `${!Literal}` kept as `${Literal}`.
fn substitute(text: &str, path: &str, parameters: &Parameters) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        match name.strip_prefix('!') {
            Some(literal) => {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            }
            None => out.push_str(&lookup(name, path, parameters)?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
        let properties = resource_properties(TEMPLATE, "Lookup", &pseudo());
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
        let error = resource_properties(TEMPLATE, "Lookup", &Parameters::new()).unwrap_err();
        assert_eq!(
            error,
            TemplateError::MissingParameter { path: "Properties.Refresh".into(), name: "Refresh".into() }
        );
        assert!(error.to_string().contains("--parameter Refresh=VALUE"));
        assert_eq!(
            resource_properties(TEMPLATE, "Topic", &pseudo()).unwrap_err(),
            TemplateError::NotRemoteExports { id: "Topic".into(), kind: "AWS::SNS::Topic".into() }
        );
        assert_eq!(
            resource_properties(TEMPLATE, "Nope", &pseudo()).unwrap_err(),
            TemplateError::NoSuchResource("Nope".into())
        );
    }

    #[test]
    fn refuses_what_it_cannot_resolve() {
        let imported = TEMPLATE.replace("Refresh: !Ref Refresh", "Refresh: !ImportValue other-stack-Value");
        assert_eq!(
            resource_properties(&imported, "Lookup", &pseudo()).unwrap_err(),
            TemplateError::Unresolvable { path: "Properties.Refresh".into(), function: "Fn::ImportValue".into() }
        );
    }

    #[test]
    fn reads_json_templates_and_sub_escapes() {
        let json_template = r#"{"Resources": {"L": {"Type": "Custom::RemoteExports", "Properties": {"ExportPrefix": {"Fn::Sub": "${!x}-${P}"}}}}}"#;
        let properties =
            resource_properties(json_template, "L", &Parameters::from([("P".into(), "v".into())])).unwrap();
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
        let region = |token: &str| service_token_region(&template(token), "L", &given);
        assert_eq!(
            region("arn:aws:lambda:us-east-1:111111111111:function:remote-exports").as_deref(),
            Some("us-east-1")
        );
        let per_region = "!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${Central}:function:remote-exports";
        assert_eq!(region(per_region).as_deref(), Some("eu-west-1"));
        assert_eq!(region("!Sub arn:aws:lambda:${Unset}:1:function:f"), None);
        assert_eq!(region("!ImportValue remote-exports-ServiceToken"), None);
        assert_eq!(service_token_region(&template("x"), "Other", &given), None);
    }
}
