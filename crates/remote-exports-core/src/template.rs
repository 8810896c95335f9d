//! CloudFormation templates as text: JSON, or YAML with its short-form tags (`!Sub x`) turned into
//! their long form (`{"Fn::Sub": x}`); the values `Ref`, `Fn::Sub` and `Fn::Join` give with known
//! parameters; and a template's outputs. The CLI's preview and the export guard read templates
//! through this module alone.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

/// Values for `Ref`/`Fn::Sub`: template parameters and pseudo parameters (`AWS::StackName`).
pub type Parameters = HashMap<String, String>;

/// A template that could not be read. The text names the line where YAML says it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the template is neither JSON nor YAML: {0}")]
pub struct UnreadableTemplate(pub String);

/// Why an expression has no value here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolved {
    #[error("{path} uses {function}, which has no value before the stack operation runs")]
    Function { path: String, function: String },
    #[error("{path} refers to '{name}', which has no known value")]
    Parameter { path: String, name: String },
}

/// Parses a template body. JSON is tried first, so JSON templates keep their exact numbers.
pub fn parse(text: &str) -> Result<Value, UnreadableTemplate> {
    if let Ok(json) = serde_json::from_str(text) {
        return Ok(json);
    }
    let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| UnreadableTemplate(e.to_string()))?;
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
        Y::Mapping(map) => Value::Object(map.into_iter().map(|(k, v)| (key_text(&k), from_yaml(v))).collect()),
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

/// A mapping key as CloudFormation reads it: scalars as their text (`True`, `123`).
fn key_text(key: &serde_norway::Value) -> String {
    use serde_norway::Value as Y;
    match key {
        Y::String(s) => s.clone(),
        Y::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Y::Number(n) => n.to_string(),
        Y::Null => "null".to_owned(),
        other => format!("{other:?}"),
    }
}

/// The template's parameter defaults, as strings.
pub fn defaults(template: &Value) -> Parameters {
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

/// `value` with `Ref`, `Fn::Sub` and `Fn::Join` of known parameters replaced by their text and every
/// scalar a string, as CloudFormation sends it; any other function is [`Unresolved`]. `path` names
/// the place in errors.
pub fn resolve(value: Value, path: &str, parameters: &Parameters) -> Result<Value, Unresolved> {
    match value {
        Value::Object(map) if map.len() == 1 && is_intrinsic(map.keys().next().expect("one key")) => {
            let (function, argument) = map.into_iter().next().expect("one key");
            resolve_function(&function, argument, path, parameters).map(Value::String)
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
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        Value::Number(n) => Ok(Value::String(n.to_string())),
        other => Ok(other),
    }
}

/// The text of one expression that must be a string (an export name, say).
pub fn resolve_text(value: &Value, path: &str, parameters: &Parameters) -> Result<String, Unresolved> {
    match resolve(value.clone(), path, parameters)? {
        Value::String(text) => Ok(text),
        _ => Err(Unresolved::Function { path: path.to_owned(), function: "a list or map".to_owned() }),
    }
}

fn resolve_function(
    function: &str,
    argument: Value,
    path: &str,
    parameters: &Parameters,
) -> Result<String, Unresolved> {
    let unresolvable = || Unresolved::Function { path: path.to_owned(), function: function.to_owned() };
    match (function, argument) {
        ("Ref", Value::String(name)) => lookup(&name, path, parameters),
        ("Fn::Sub", Value::String(text)) => substitute(&text, path, parameters),
        // `!Sub [text, {Name: expression}]`: the map's names first, then the parameters.
        ("Fn::Sub", Value::Array(items)) => match <[Value; 2]>::try_from(items) {
            Ok([Value::String(text), Value::Object(variables)]) => {
                let mut scope = parameters.clone();
                for (name, expression) in variables {
                    let value = resolve_text(&expression, &format!("{path}.{name}"), parameters)?;
                    scope.insert(name, value);
                }
                substitute(&text, path, &scope)
            }
            _ => Err(unresolvable()),
        },
        ("Fn::Join", Value::Array(items)) => match <[Value; 2]>::try_from(items) {
            Ok([Value::String(separator), Value::Array(parts)]) => {
                let parts: Result<Vec<String>, Unresolved> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| resolve_text(part, &format!("{path}[{i}]"), parameters))
                    .collect();
                Ok(parts?.join(&separator))
            }
            _ => Err(unresolvable()),
        },
        _ => Err(unresolvable()),
    }
}

fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key.starts_with("Fn::")
}

fn lookup(name: &str, path: &str, parameters: &Parameters) -> Result<String, Unresolved> {
    parameters.get(name).cloned().ok_or_else(|| Unresolved::Parameter { path: path.to_owned(), name: name.to_owned() })
}

/// `${Name}` replaced by its value; `${!Literal}` kept as `${Literal}`.
fn substitute(text: &str, path: &str, parameters: &Parameters) -> Result<String, Unresolved> {
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

/// One entry of a template's `Outputs`, as written (expressions unresolved).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateOutput {
    /// `Fn::GetAtt` in one form (`["A", "b"]`), so that `!GetAtt A.b` and its long form compare equal.
    pub value: Value,
    /// `Export.Name`, when the output is exported.
    pub export_name: Option<Value>,
    /// The output's `Condition`, with the condition's definition from `Conditions`.
    pub condition: Option<(String, Value)>,
}

/// The template's outputs by key.
pub fn outputs(template: &Value) -> BTreeMap<String, TemplateOutput> {
    template
        .get("Outputs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, output)| {
            let export_name = output.get("Export").and_then(|export| export.get("Name")).cloned();
            let value = normal_form(output.get("Value").cloned().unwrap_or(Value::Null));
            let condition = output.get("Condition").and_then(Value::as_str).map(|name| {
                let definition = template.get("Conditions").and_then(|c| c.get(name)).cloned().unwrap_or(Value::Null);
                (name.to_owned(), definition)
            });
            (key.clone(), TemplateOutput { value, export_name, condition })
        })
        .collect()
}

/// `{"Fn::GetAtt": "A.b"}` as `{"Fn::GetAtt": ["A", "b"]}`, everywhere in `value`.
fn normal_form(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, inner)| match (key.as_str(), inner) {
                    ("Fn::GetAtt", Value::String(s)) => {
                        let (resource, attribute) = s.split_once('.').unwrap_or((&s, ""));
                        (key.clone(), Value::Array(vec![resource.into(), attribute.into()]))
                    }
                    (_, inner) => (key, normal_form(inner)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normal_form).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_short_forms_become_long_forms() {
        let template = parse(
            "Outputs:\n  T:\n    Value: !GetAtt Topic.TopicArn\n    Export:\n      Name: !Sub '${AWS::StackName}-T'\n",
        )
        .unwrap();
        assert_eq!(
            outputs(&template)["T"],
            TemplateOutput {
                value: json!({"Fn::GetAtt": ["Topic", "TopicArn"]}),
                export_name: Some(json!({"Fn::Sub": "${AWS::StackName}-T"})),
                condition: None,
            }
        );
    }

    #[test]
    fn getatt_forms_compare_equal_and_scalar_keys_read_as_text() {
        let long = parse(r#"{"Outputs": {"T": {"Value": {"Fn::GetAtt": "Topic.TopicArn"}}}}"#).unwrap();
        let short = parse("Outputs:\n  T:\n    Value: !GetAtt Topic.TopicArn\n").unwrap();
        assert_eq!(outputs(&long)["T"], outputs(&short)["T"]);
        let keys = parse("Outputs:\n  True:\n    Value: x\n  123:\n    Value: y\n").unwrap();
        assert_eq!(outputs(&keys).keys().collect::<Vec<_>>(), ["123", "true"]);
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let error = parse("Outputs:\n  T:\n    Value: [unclosed\n  U: x\n").unwrap_err();
        assert!(error.to_string().contains("line"), "{error}");
    }

    #[test]
    fn sub_join_and_ref_resolve_with_known_parameters() {
        let parameters = Parameters::from([("AWS::StackName".into(), "booking".into()), ("Env".into(), "prod".into())]);
        let sub = json!({"Fn::Sub": ["${AWS::StackName}-${Kind}-${!Literal}", {"Kind": {"Ref": "Env"}}]});
        assert_eq!(resolve_text(&sub, "x", &parameters).unwrap(), "booking-prod-${Literal}");
        let join = json!({"Fn::Join": [":", [{"Ref": "AWS::StackName"}, "Topic"]]});
        assert_eq!(resolve_text(&join, "x", &parameters).unwrap(), "booking:Topic");
        let imported = json!({"Fn::ImportValue": "other"});
        assert_eq!(
            resolve_text(&imported, "Outputs.T", &parameters).unwrap_err(),
            Unresolved::Function { path: "Outputs.T".into(), function: "Fn::ImportValue".into() }
        );
        assert_eq!(
            resolve_text(&json!({"Ref": "Unset"}), "p", &parameters).unwrap_err(),
            Unresolved::Parameter { path: "p".into(), name: "Unset".into() }
        );
    }
}
