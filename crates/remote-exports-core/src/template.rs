//! CloudFormation templates as text: JSON, or YAML with its short-form tags (`!Sub x`) turned into
//! their long form (`{"Fn::Sub": x}`); the workspace's one evaluator of intrinsic functions and
//! conditions ([`Evaluator`]); and a template's outputs. The export guard, the preview and the
//! tests that compare or inspect templates read them through this module alone.

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

/// What an expression whose value is not known before the stack operation gets: a resource's `Ref`
/// or `Fn::GetAtt`, a parameter without a value, `Fn::ImportValue` and the other functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknowns {
    /// An [`Unresolved`] error naming it: what the export guard and a preview need, which must never guess.
    Refuse,
    /// A placeholder no literal holds (`⟪AWS::Region⟫`, `⟪Ref Name⟫`, `⟪Name.Attribute⟫`), and other
    /// functions kept with their arguments evaluated: what comparing two templates needs, where an
    /// expression lost on one side must show.
    Placeholder,
}

/// CloudFormation's intrinsic functions and conditions, evaluated with known parameter values as
/// CloudFormation documents them: `Ref` (`AWS::NoValue` removes the property or item), `Fn::Sub`,
/// `Fn::Join`, `Fn::Split`, `Fn::Select`, `Fn::If`, `Fn::GetAtt`; the condition functions
/// `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not` and `Condition`, for a template's `Conditions`
/// and its `Rules`. Every scalar becomes a string, as CloudFormation passes it. The export guard,
/// the preview and the tests that read templates all evaluate through this one type.
#[derive(Debug, Clone)]
pub struct Evaluator {
    parameters: Parameters,
    conditions: HashMap<String, bool>,
    /// Why each condition of the template that these values do not decide is undecided.
    undecided: HashMap<String, Unresolved>,
    unknowns: Unknowns,
}

impl Evaluator {
    /// With these parameter values and nothing else: no condition is known.
    pub fn new(parameters: Parameters, unknowns: Unknowns) -> Evaluator {
        Evaluator { parameters, conditions: HashMap::new(), undecided: HashMap::new(), unknowns }
    }

    /// For `template`: `given` over its parameters' defaults, then every condition of its
    /// `Conditions` that these values decide.
    pub fn for_template(template: &Value, given: Parameters, unknowns: Unknowns) -> Evaluator {
        let mut parameters = defaults(template);
        parameters.extend(given);
        let mut evaluator = Evaluator::new(parameters, unknowns);
        let definitions = template.get("Conditions").and_then(Value::as_object).cloned().unwrap_or_default();
        for name in definitions.keys() {
            let mut visiting = Vec::new();
            if let Err(why) = evaluator.define(name, &definitions, &mut visiting) {
                evaluator.undecided.insert(name.clone(), why);
            }
        }
        evaluator
    }

    pub fn parameters(&self) -> &Parameters {
        &self.parameters
    }

    /// Whether the condition `name` of the template holds (`None`: not decided by these values).
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    fn define(
        &mut self,
        name: &str,
        definitions: &Map<String, Value>,
        visiting: &mut Vec<String>,
    ) -> Result<bool, Unresolved> {
        if let Some(known) = self.conditions.get(name) {
            return Ok(*known);
        }
        let path = format!("Conditions.{name}");
        let definition = definitions.get(name).filter(|_| !visiting.iter().any(|v| v == name));
        let definition =
            definition.ok_or_else(|| Unresolved::Parameter { path: path.clone(), name: name.to_owned() })?;
        visiting.push(name.to_owned());
        let holds = self.holds_defining(definition, &path, definitions, visiting);
        visiting.pop();
        let holds = holds?;
        self.conditions.insert(name.to_owned(), holds);
        Ok(holds)
    }

    fn holds_defining(
        &mut self,
        value: &Value,
        path: &str,
        definitions: &Map<String, Value>,
        visiting: &mut Vec<String>,
    ) -> Result<bool, Unresolved> {
        if let Some(("Condition", Value::String(name))) = single(value) {
            return self.define(name, definitions, visiting);
        }
        let (function, args) =
            single(value).ok_or_else(|| unresolved_function(path, "a condition that is not a function"))?;
        let items = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        match function {
            "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let mut results = Vec::new();
                for (i, item) in items().iter().enumerate() {
                    results.push(self.holds_defining(item, &format!("{path}[{i}]"), definitions, visiting)?);
                }
                Ok(combine(function, &results))
            }
            _ => self.holds(value, path),
        }
    }

    /// Whether a condition (or a rule's condition or assertion) holds.
    pub fn holds(&self, value: &Value, path: &str) -> Result<bool, Unresolved> {
        let (function, args) =
            single(value).ok_or_else(|| unresolved_function(path, "a condition that is not a function"))?;
        let items = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        match (function, args) {
            ("Condition", Value::String(name)) => {
                self.condition(name).ok_or_else(|| Unresolved::Parameter { path: path.to_owned(), name: name.clone() })
            }
            ("Fn::Equals", _) => match items() {
                [left, right] => Ok(self.eval(left, path)? == self.eval(right, path)?),
                _ => Err(unresolved_function(path, function)),
            },
            ("Fn::Not" | "Fn::And" | "Fn::Or", _) => {
                let results: Vec<bool> = items()
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.holds(item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?;
                Ok(combine(function, &results))
            }
            _ => Err(unresolved_function(path, function)),
        }
    }

    /// `value` evaluated; `None` when it is `AWS::NoValue` (or an `Fn::If` that chose it).
    pub fn eval(&self, value: &Value, path: &str) -> Result<Option<Value>, Unresolved> {
        match value {
            Value::Object(map) if map.len() == 1 && is_intrinsic(map.keys().next().expect("one key")) => {
                let (function, args) = map.iter().next().expect("one key");
                self.function(function, args, path)
            }
            Value::Object(map) => {
                let mut evaluated = Map::new();
                for (key, inner) in map {
                    if let Some(inner) = self.eval(inner, &format!("{path}.{key}"))? {
                        evaluated.insert(key.clone(), inner);
                    }
                }
                Ok(Some(Value::Object(evaluated)))
            }
            Value::Array(items) => {
                let mut evaluated = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    evaluated.extend(self.eval(item, &format!("{path}[{i}]"))?);
                }
                Ok(Some(Value::Array(evaluated)))
            }
            Value::Bool(b) => Ok(Some(Value::String(b.to_string()))),
            Value::Number(n) => Ok(Some(Value::String(n.to_string()))),
            other => Ok(Some(other.clone())),
        }
    }

    /// The text of one expression that must be a string (an export name, say).
    pub fn text(&self, value: &Value, path: &str) -> Result<String, Unresolved> {
        match self.eval(value, path)? {
            Some(Value::String(text)) => Ok(text),
            _ => Err(unresolved_function(path, "a list or map")),
        }
    }

    fn function(&self, function: &str, args: &Value, path: &str) -> Result<Option<Value>, Unresolved> {
        let unresolvable = || unresolved_function(path, function);
        let items = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        let text = |value: &Value| self.text(value, path);
        let value = match (function, args) {
            ("Ref", Value::String(name)) if name == "AWS::NoValue" => return Ok(None),
            ("Ref", Value::String(name)) => Value::String(self.reference(name, path)?),
            ("Fn::Sub", Value::String(body)) => Value::String(self.substitute(body, &Map::new(), path)?),
            // `!Sub [text, {Name: expression}]`: the map's names first, then the parameters.
            ("Fn::Sub", _) => match items() {
                [Value::String(body), Value::Object(variables)] => {
                    Value::String(self.substitute(body, variables, path)?)
                }
                _ => return Err(unresolvable()),
            },
            ("Fn::Join", _) => match items() {
                [Value::String(separator), list] => {
                    let parts = match self.eval(list, path)? {
                        Some(Value::Array(parts)) => parts,
                        _ => return Err(unresolvable()),
                    };
                    let parts: Vec<String> = parts
                        .iter()
                        .enumerate()
                        .map(|(i, part)| self.text(part, &format!("{path}[{i}]")))
                        .collect::<Result<_, _>>()?;
                    Value::String(parts.join(separator))
                }
                _ => return Err(unresolvable()),
            },
            ("Fn::Split", _) => match items() {
                [Value::String(separator), whole] => {
                    text(whole)?.split(separator.as_str()).map(|part| Value::String(part.to_owned())).collect()
                }
                _ => return Err(unresolvable()),
            },
            ("Fn::Select", _) => match items() {
                [index, list] => {
                    let index: usize = text(index)?.parse().map_err(|_| unresolvable())?;
                    match self.eval(list, path)? {
                        Some(Value::Array(mut items)) if index < items.len() => items.swap_remove(index),
                        _ => return Err(unresolvable()),
                    }
                }
                _ => return Err(unresolvable()),
            },
            ("Fn::If", _) => match items() {
                [Value::String(condition), when, otherwise] => {
                    // Undecided: what its definition lacks (a parameter without a value, say), or,
                    // without the template's conditions, the function itself.
                    let holds = match self.condition(condition) {
                        Some(holds) => holds,
                        None => return Err(self.undecided.get(condition).cloned().unwrap_or_else(unresolvable)),
                    };
                    return self.eval(if holds { when } else { otherwise }, path);
                }
                _ => return Err(unresolvable()),
            },
            ("Fn::GetAtt", _) if self.unknowns == Unknowns::Placeholder => match items() {
                [Value::String(resource), Value::String(attribute)] => {
                    Value::String(format!("⟪{resource}.{attribute}⟫"))
                }
                _ => return Err(unresolvable()),
            },
            _ if self.unknowns == Unknowns::Placeholder => {
                let evaluated = self.eval(args, path)?.unwrap_or(Value::Null);
                Value::Object(Map::from_iter([(function.to_owned(), evaluated)]))
            }
            _ => return Err(unresolvable()),
        };
        Ok(Some(value))
    }

    fn reference(&self, name: &str, path: &str) -> Result<String, Unresolved> {
        match (self.parameters.get(name), self.unknowns) {
            (Some(value), _) => Ok(value.clone()),
            (None, Unknowns::Placeholder) if name.starts_with("AWS::") => Ok(format!("⟪{name}⟫")),
            (None, Unknowns::Placeholder) => Ok(format!("⟪Ref {name}⟫")),
            (None, Unknowns::Refuse) => Err(Unresolved::Parameter { path: path.to_owned(), name: name.to_owned() }),
        }
    }

    /// `${Name}` replaced by its value (`variables` first); `${!Literal}` kept as `${Literal}`.
    fn substitute(&self, body: &str, variables: &Map<String, Value>, path: &str) -> Result<String, Unresolved> {
        let mut out = String::with_capacity(body.len());
        let mut rest = body;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let name = &after[..end];
            match (name.strip_prefix('!'), variables.get(name), name.split_once('.')) {
                (Some(literal), _, _) => {
                    out.push_str("${");
                    out.push_str(literal);
                    out.push('}');
                }
                (None, Some(variable), _) => out.push_str(&self.text(variable, &format!("{path}.{name}"))?),
                (None, None, Some((resource, attribute)))
                    if self.unknowns == Unknowns::Placeholder && !self.parameters.contains_key(name) =>
                {
                    out.push_str(&format!("⟪{resource}.{attribute}⟫"));
                }
                (None, None, _) => out.push_str(&self.reference(name, path)?),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The one function of a single-key object.
fn single(value: &Value) -> Option<(&str, &Value)> {
    value.as_object().filter(|map| map.len() == 1).and_then(|map| map.iter().next()).map(|(k, v)| (k.as_str(), v))
}

fn combine(function: &str, results: &[bool]) -> bool {
    match function {
        "Fn::Not" => !results.first().copied().unwrap_or(false),
        "Fn::And" => results.iter().all(|r| *r),
        _ => results.iter().any(|r| *r),
    }
}

fn unresolved_function(path: &str, function: &str) -> Unresolved {
    Unresolved::Function { path: path.to_owned(), function: function.to_owned() }
}

fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key.starts_with("Fn::")
}

/// `value` evaluated with known `parameters` and nothing unknown allowed (see [`Evaluator`]);
/// `path` names the place in errors.
pub fn resolve(value: Value, path: &str, parameters: &Parameters) -> Result<Value, Unresolved> {
    let evaluator = Evaluator::new(parameters.clone(), Unknowns::Refuse);
    Ok(evaluator.eval(&value, path)?.unwrap_or(Value::Null))
}

/// The text of one expression that must be a string (an export name, say).
pub fn resolve_text(value: &Value, path: &str, parameters: &Parameters) -> Result<String, Unresolved> {
    Evaluator::new(parameters.clone(), Unknowns::Refuse).text(value, path)
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

    #[test]
    fn conditions_if_split_select_and_no_value_evaluate_as_cloudformation_documents_them() {
        let template = parse(
            "Parameters:\n  Mode:\n    Type: String\n    Default: strict\n  Names:\n    Type: String\n    Default: a,b\nConditions:\n  Strict: !Equals [!Ref Mode, strict]\n  Loose: !Not [!Condition Strict]\n  Both: !And [!Condition Strict, !Equals ['1', 1]]\n",
        )
        .unwrap();
        let evaluator = Evaluator::for_template(&template, Parameters::new(), Unknowns::Refuse);
        assert_eq!(
            (evaluator.condition("Strict"), evaluator.condition("Loose"), evaluator.condition("Both")),
            (Some(true), Some(false), Some(true))
        );
        let value = json!({
            "First": {"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Names"}]}]},
            "Chosen": {"Fn::If": ["Loose", "loose", {"Ref": "AWS::NoValue"}]},
            "List": [{"Fn::If": ["Strict", "kept", "dropped"]}, {"Ref": "AWS::NoValue"}],
        });
        assert_eq!(evaluator.eval(&value, "p").unwrap(), Some(json!({"First": "b", "List": ["kept"]})));
        let unset =
            parse("Parameters:\n  Env:\n    Type: String\nConditions:\n  Prod: !Equals [!Ref Env, prod]\n").unwrap();
        let undecided = Evaluator::for_template(&unset, Parameters::new(), Unknowns::Refuse);
        let chosen = json!({"Fn::If": ["Prod", "a", "b"]});
        assert_eq!(
            undecided.eval(&chosen, "p").unwrap_err(),
            Unresolved::Parameter { path: "Conditions.Prod".into(), name: "Env".into() },
            "the parameter the condition lacks is named"
        );
        assert_eq!(
            Evaluator::new(Parameters::new(), Unknowns::Refuse).eval(&chosen, "p").unwrap_err(),
            Unresolved::Function { path: "p".into(), function: "Fn::If".into() },
            "without the template's conditions, the function is named"
        );
        let flipped =
            Evaluator::for_template(&template, Parameters::from([("Mode".into(), "x".into())]), Unknowns::Refuse);
        assert_eq!(flipped.condition("Loose"), Some(true));
    }

    #[test]
    fn unknowns_are_refused_or_shown_as_placeholders() {
        let value = json!({"Fn::Sub": "${AWS::Region}:${Topic.TopicName}:${Bucket}"});
        let refuse = Evaluator::new(Parameters::new(), Unknowns::Refuse);
        assert_eq!(
            refuse.eval(&value, "p").unwrap_err(),
            Unresolved::Parameter { path: "p".into(), name: "AWS::Region".into() }
        );
        let placeholder = Evaluator::new(Parameters::new(), Unknowns::Placeholder);
        assert_eq!(placeholder.text(&value, "p").unwrap(), "⟪AWS::Region⟫:⟪Topic.TopicName⟫:⟪Ref Bucket⟫");
        let imported = json!({"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-x"}});
        assert_eq!(placeholder.eval(&imported, "p").unwrap(), Some(json!({"Fn::ImportValue": "⟪AWS::StackName⟫-x"})));
        assert_eq!(
            placeholder.eval(&json!({"Fn::GetAtt": ["Topic", "TopicArn"]}), "p").unwrap(),
            Some(json!("⟪Topic.TopicArn⟫"))
        );
    }
}
