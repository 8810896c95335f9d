//! A resource's properties as CloudFormation sends them (every scalar a string), parsed and checked
//! before anything else; a third of this file is its tests.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::parameter::{InvalidParameterRef, ParameterRef};
use crate::role_arn::{InvalidRoleArn, RoleArn};
use crate::suggest::closest;

/// What a stack author asked for, checked, before any configuration or AWS call is applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceProperties {
    pub role_arn: Option<RoleArn>,
    pub external_id: Option<String>,
    pub region: Option<String>,
    pub selection: Selection,
    pub no_echo: bool,
}

/// What goes into Data: the union of every part. Nothing selected at all means every export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// Exact export names, each of which must exist. Data keys are the names.
    pub names: Vec<String>,
    /// Every export whose name starts with this. Data keys are the names.
    pub prefix: Option<String>,
    /// Data key → an export name or a `<StackName>.<OutputKey>`, each of which must exist.
    pub aliases: BTreeMap<String, String>,
    /// `StackOutputs`, by stack name. Data keys are `<StackName>.<OutputKey>`.
    pub outputs: BTreeMap<String, OutputRequest>,
    /// `Parameters`: Data key → the SSM parameter it holds, read from the same account and region.
    pub parameters: BTreeMap<String, ParameterRef>,
    /// Requested export name, `<StackName>.<OutputKey>` or parameter reference → the value to answer
    /// while it is missing.
    pub defaults: BTreeMap<String, String>,
}

/// What one stack's `StackOutputs` entries ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputRequest {
    /// Every output of the stack (the entry `<StackName>`).
    pub every: bool,
    /// Output keys that must exist and are Data keys of their own (`<StackName>.<OutputKey>` entries).
    pub keys: BTreeSet<String>,
    /// Output keys that must exist because an `Exports` alias names them.
    pub aliased: BTreeSet<String>,
}

impl OutputRequest {
    /// Every output key that must exist.
    pub fn required(&self) -> impl Iterator<Item = &str> {
        self.keys.union(&self.aliased).map(String::as_str)
    }
}

/// `<StackName>.<OutputKey>` split at its dot, or `None` for an export name (which has no dot).
pub fn output_ref(name: &str) -> Option<(&str, &str)> {
    name.split_once('.')
}

impl Selection {
    /// Nothing selected: every export is returned (and no stack is described).
    pub fn is_everything(&self) -> bool {
        self.names.is_empty()
            && self.prefix.is_none()
            && self.aliases.is_empty()
            && self.outputs.is_empty()
            && self.parameters.is_empty()
    }

    /// Each parameter to read, once, however many Data keys hold it.
    pub fn parameter_refs(&self) -> Vec<ParameterRef> {
        let unique: BTreeSet<&ParameterRef> = self.parameters.values().collect();
        unique.into_iter().cloned().collect()
    }

    /// The Data keys that hold `wanted`.
    pub fn parameter_keys_of<'a>(&'a self, wanted: &'a ParameterRef) -> impl Iterator<Item = &'a str> + 'a {
        self.parameters.iter().filter(move |(_, r)| *r == wanted).map(|(key, _)| key.as_str())
    }

    /// Whether answering needs the exports listed at all.
    pub fn needs_exports(&self) -> bool {
        self.is_everything() || !self.names.is_empty() || self.prefix.is_some() || self.exact_names().next().is_some()
    }

    /// Every export name asked for by exact name, through `ExportNames` or `Exports`.
    pub fn exact_names(&self) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .map(String::as_str)
            .chain(self.aliases.values().map(String::as_str).filter(|target| output_ref(target).is_none()))
    }

    /// Every `<StackName>.<OutputKey>` asked for by exact name, through `StackOutputs` or `Exports`.
    pub fn exact_outputs(&self) -> impl Iterator<Item = String> + '_ {
        self.outputs.iter().flat_map(|(stack, request)| request.required().map(move |key| format!("{stack}.{key}")))
    }

    /// Stacks whose every output is asked for.
    pub fn every_output_of(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().filter(|(_, request)| request.every).map(|(stack, _)| stack.as_str())
    }

    /// The Data keys that a requested export name or `<StackName>.<OutputKey>` fills.
    pub fn data_keys_of<'a>(&'a self, requested: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let by_name = match output_ref(requested) {
            None => self.names.iter().any(|name| name == requested),
            Some((stack, key)) => self.outputs.get(stack).is_some_and(|r| r.every || r.keys.contains(key)),
        };
        let by_name_key = by_name.then_some(requested);
        let aliased =
            self.aliases.iter().filter(move |(_, target)| *target == requested).map(|(alias, _)| alias.as_str());
        by_name_key.into_iter().chain(aliased.filter(move |alias| !by_name || *alias != requested))
    }
}

const KNOWN: [&str; 13] = [
    "RoleArn",
    "ExternalId",
    "Region",
    "ExportNames",
    "ExportPrefix",
    "Exports",
    "StackOutputs",
    "Parameters",
    "Defaults",
    "NoEcho",
    "Refresh",
    "ServiceToken",
    "ServiceTimeout",
];

const MAX_EXPORT_NAME: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    #[error("ResourceProperties must be an object of properties")]
    NotAnObject,
    #[error("unknown property '{name}'{}; the properties are {}", hint(.suggestion), KNOWN[..11].join(", "))]
    Unknown { name: String, suggestion: Option<String> },
    #[error("property {name} must be {expected}")]
    WrongType { name: &'static str, expected: &'static str },
    #[error("RoleArn {0}")]
    RoleArn(#[from] InvalidRoleArn),
    #[error("ExternalId must be 2 to 1224 characters of letters, digits and +=,.@:/-_")]
    ExternalId,
    #[error("Region '{0}' is not an AWS region name such as eu-west-1")]
    Region(String),
    #[error(
        "{property} contains '{name}', which is not a valid export name \
         (1 to 255 letters, digits, colons and hyphens)"
    )]
    ExportName { property: &'static str, name: String },
    #[error("Exports key '{0}' is not a valid attribute name (1 to 255 letters, digits and . _ : -)")]
    Alias(String),
    #[error(
        "{property} contains '{name}', which is neither <StackName> nor <StackName>.<OutputKey> (a stack name is \
         1 to 128 letters, digits and hyphens starting with a letter; an output key is 1 to 255 letters and digits)"
    )]
    StackOutput { property: &'static str, name: String },
    #[error("{0} is empty; leave it out, or list what you need")]
    Empty(&'static str),
    #[error(
        "Exports key '{alias}' names '{target}', but '{alias}' is also requested as itself (in ExportNames or \
         StackOutputs); a Data key can hold only one value"
    )]
    AliasClash { alias: String, target: String },
    #[error(
        "Defaults has '{key}', which is not requested{}: a default applies to an export name in ExportNames, an \
         Exports target, a <StackName>.<OutputKey> in StackOutputs, or a parameter in Parameters",
        hint(.suggestion)
    )]
    DefaultNotRequested { key: String, suggestion: Option<String> },
    #[error("NoEcho must be \"true\" or \"false\", not '{0}'")]
    NoEcho(String),
    #[error("Parameters contains {0}")]
    Parameter(#[from] InvalidParameterRef),
    #[error(
        "Parameters key '{0}' is not a valid attribute name (1 to 255 letters, digits and . _ : -); a parameter \
         listed without a key is read as !GetAtt <Resource>.<the name as written>"
    )]
    ParameterKey(String),
    #[error("Data key '{key}' is asked for twice ({first} and {second}); a Data key can hold only one value")]
    DataKeyClash { key: String, first: String, second: String },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default()
}

impl ResourceProperties {
    /// CloudFormation sends every scalar as a string; hand-written events may use real booleans, so
    /// both are accepted.
    pub fn parse(properties: &Value) -> Result<ResourceProperties, PropertyError> {
        let map = match properties {
            Value::Object(map) => map,
            Value::Null => &Map::new(),
            _ => return Err(PropertyError::NotAnObject),
        };
        if let Some(name) = map.keys().find(|key| !KNOWN.contains(&key.as_str())) {
            let suggestion = closest(name, KNOWN).into_iter().next();
            return Err(PropertyError::Unknown { name: name.clone(), suggestion });
        }
        let role_arn = optional_text(map, "RoleArn")?.map(|text| RoleArn::parse(&text)).transpose()?;
        let external_id = optional_text(map, "ExternalId")?;
        if let Some(id) = &external_id {
            let valid_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c);
            if !(2..=1224).contains(&id.len()) || !id.chars().all(valid_char) {
                return Err(PropertyError::ExternalId);
            }
        }
        let region = optional_text(map, "Region")?;
        if let Some(region) = &region
            && !is_region_name(region)
        {
            return Err(PropertyError::Region(region.clone()));
        }
        let selection = parse_selection(map)?;
        let no_echo = match map.get("NoEcho") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => true,
            Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => false,
            Some(other) => return Err(PropertyError::NoEcho(plain(other))),
        };
        Ok(ResourceProperties { role_arn, external_id, region, selection, no_echo })
    }
}

fn parse_selection(map: &Map<String, Value>) -> Result<Selection, PropertyError> {
    // A single string may hold several names joined by commas (export names cannot contain one).
    let mut names = string_list(map, "ExportNames", "a list of export names")?;
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    for name in &names {
        check_export_name("ExportNames", name)?;
    }

    let prefix = optional_text(map, "ExportPrefix")?;
    if let Some(prefix) = &prefix {
        if prefix.is_empty() {
            return Err(PropertyError::Empty("ExportPrefix"));
        }
        check_export_name("ExportPrefix", prefix)?;
    }

    let mut outputs: BTreeMap<String, OutputRequest> = BTreeMap::new();
    for entry in string_list(map, "StackOutputs", "a list of <StackName> or <StackName>.<OutputKey>")? {
        let (stack, key) = parse_output("StackOutputs", &entry)?;
        let request = outputs.entry(stack.to_owned()).or_default();
        match key {
            Some(key) => {
                request.keys.insert(key.to_owned());
            }
            None => request.every = true,
        }
    }

    const ALIASES: &str = "a map of {DataKey: ExportName or StackName.OutputKey}";
    let mut aliases = BTreeMap::new();
    for (alias, target) in object(map, "Exports", ALIASES)? {
        let target = target.as_str().ok_or(PropertyError::WrongType { name: "Exports", expected: ALIASES })?;
        if !is_alias(alias) {
            return Err(PropertyError::Alias(alias.clone()));
        }
        match output_ref(target) {
            None => check_export_name("Exports", target)?,
            Some(_) => {
                parse_output("Exports", target)?;
            }
        }
        aliases.insert(alias.clone(), target.to_owned());
    }
    for (alias, target) in &aliases {
        let requested_as_itself = names.contains(alias)
            || output_ref(alias)
                .is_some_and(|(stack, key)| outputs.get(stack).is_some_and(|r| r.every || r.keys.contains(key)));
        if requested_as_itself && alias != target {
            return Err(PropertyError::AliasClash { alias: alias.clone(), target: target.clone() });
        }
    }

    // An aliased output must exist, as an aliased export must.
    for target in aliases.values() {
        if let Some((stack, key)) = output_ref(target) {
            outputs.entry(stack.to_owned()).or_default().aliased.insert(key.to_owned());
        }
    }
    let parameters = parse_parameters(map)?;
    let mut selection = Selection { names, prefix, aliases, outputs, parameters, defaults: BTreeMap::new() };
    check_parameter_keys(&selection)?;
    let requested: BTreeSet<String> = selection
        .exact_names()
        .map(str::to_owned)
        .chain(selection.exact_outputs())
        .chain(selection.parameters.values().map(|r| r.as_str().to_owned()))
        .collect();
    for (key, value) in object(map, "Defaults", "a map of {ExportName or StackName.OutputKey: DefaultValue}")? {
        let Some(value) = value.as_str() else {
            return Err(PropertyError::WrongType { name: "Defaults", expected: "a map whose values are strings" });
        };
        if !requested.contains(key) {
            let suggestion = closest(key, requested.iter().map(String::as_str)).into_iter().next();
            return Err(PropertyError::DefaultNotRequested { key: key.clone(), suggestion });
        }
        selection.defaults.insert(key.clone(), value.to_owned());
    }
    Ok(selection)
}

/// `Parameters`: a list of names or ARNs (comma-joined in one string, too: neither holds a comma),
/// each its own Data key, or a map from Data key to name or ARN.
fn parse_parameters(map: &Map<String, Value>) -> Result<BTreeMap<String, ParameterRef>, PropertyError> {
    const EXPECTED: &str = "a list of SSM parameter names or ARNs, or a map of {DataKey: name or ARN}";
    let mut parameters = BTreeMap::new();
    match map.get("Parameters") {
        Some(Value::Object(entries)) => {
            if entries.is_empty() {
                return Err(PropertyError::Empty("Parameters"));
            }
            for (key, target) in entries {
                let target =
                    target.as_str().ok_or(PropertyError::WrongType { name: "Parameters", expected: EXPECTED })?;
                if !is_alias(key) {
                    return Err(PropertyError::ParameterKey(key.clone()));
                }
                parameters.insert(key.clone(), ParameterRef::parse(target.trim())?);
            }
        }
        _ => {
            for entry in string_list(map, "Parameters", EXPECTED)? {
                let reference = ParameterRef::parse(&entry)?;
                parameters.insert(reference.data_key(), reference);
            }
        }
    }
    Ok(parameters)
}

/// A parameter's Data key may not be an export's or an output's too.
fn check_parameter_keys(selection: &Selection) -> Result<(), PropertyError> {
    for (key, reference) in &selection.parameters {
        let export = selection.names.iter().find(|name| *name == key).cloned();
        let alias = selection.aliases.get(key).cloned();
        let output = output_ref(key)
            .filter(|(stack, k)| selection.outputs.get(*stack).is_some_and(|r| r.every || r.keys.contains(*k)))
            .map(|_| key.clone());
        if let Some(other) = export.or(alias).or(output) {
            return Err(PropertyError::DataKeyClash {
                key: key.clone(),
                first: format!("'{other}'"),
                second: format!("parameter '{reference}'"),
            });
        }
    }
    Ok(())
}

/// A list property given as a list of strings, or as one comma-separated string.
fn string_list(
    map: &Map<String, Value>,
    name: &'static str,
    expected: &'static str,
) -> Result<Vec<String>, PropertyError> {
    let items: Vec<String> = match map.get(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(|s| s.trim().to_owned()))
            .collect::<Option<_>>()
            .ok_or(PropertyError::WrongType { name, expected })?,
        Some(_) => return Err(PropertyError::WrongType { name, expected }),
    };
    if items.is_empty() {
        return Err(PropertyError::Empty(name));
    }
    Ok(items)
}

/// A map property; absent is empty, present and empty is refused.
fn object<'m>(
    map: &'m Map<String, Value>,
    name: &'static str,
    expected: &'static str,
) -> Result<&'m Map<String, Value>, PropertyError> {
    static NONE: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match map.get(name) {
        None | Some(Value::Null) => Ok(NONE.get_or_init(Map::new)),
        Some(Value::Object(entries)) if entries.is_empty() => Err(PropertyError::Empty(name)),
        Some(Value::Object(entries)) => Ok(entries),
        Some(_) => Err(PropertyError::WrongType { name, expected }),
    }
}

/// `<StackName>` or `<StackName>.<OutputKey>`.
fn parse_output<'a>(property: &'static str, entry: &'a str) -> Result<(&'a str, Option<&'a str>), PropertyError> {
    let (stack, key) = match output_ref(entry) {
        Some((stack, key)) => (stack, Some(key)),
        None => (entry, None),
    };
    let valid_key = key
        .is_none_or(|key| (1..=MAX_EXPORT_NAME).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric()));
    if is_stack_name(stack) && valid_key {
        Ok((stack, key))
    } else {
        Err(PropertyError::StackOutput { property, name: entry.to_owned() })
    }
}

/// CloudFormation's stack names: `[a-zA-Z][-a-zA-Z0-9]*`, at most 128 characters.
pub(crate) fn is_stack_name(name: &str) -> bool {
    name.len() <= 128
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn optional_text(map: &Map<String, Value>, name: &'static str) -> Result<Option<String>, PropertyError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
        Some(_) => Err(PropertyError::WrongType { name, expected: "a string" }),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn is_export_name(name: &str) -> bool {
    (1..=MAX_EXPORT_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'-')
}

fn check_export_name(property: &'static str, name: &str) -> Result<(), PropertyError> {
    if is_export_name(name) { Ok(()) } else { Err(PropertyError::ExportName { property, name: name.to_owned() }) }
}

fn is_alias(alias: &str) -> bool {
    (1..=MAX_EXPORT_NAME).contains(&alias.len())
        && alias.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`.
pub(crate) fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && lower(&parts[0])
        && parts[1..parts.len() - 1].iter().all(lower)
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ResourceProperties, PropertyError> {
        ResourceProperties::parse(&value)
    }

    #[test]
    fn no_properties_selects_everything() {
        let parsed = parse(json!({"ServiceToken": "arn:aws:lambda:eu-west-1:1:function:f"})).unwrap();
        assert!(parsed.selection.is_everything());
        assert_eq!(parsed, ResourceProperties::default());
        assert!(parse(Value::Null).unwrap().selection.is_everything());
    }

    #[test]
    fn reads_every_property_as_cloudformation_sends_it() {
        let parsed = parse(json!({
            "ServiceToken": "arn", "ServiceTimeout": "300",
            "RoleArn": "arn:aws:iam::222222222222:role/reader",
            "ExternalId": "shared-secret",
            "Region": "us-east-1",
            "ExportNames": ["booking-lambda-BookingTopicArn", "a:b"],
            "ExportPrefix": "shared-",
            "Exports": {"Topic": "booking-lambda-BookingTopicArn"},
            "NoEcho": "true",
            "Refresh": "2026-11-22",
        }))
        .unwrap();
        assert_eq!(parsed.role_arn.unwrap().account(), "222222222222");
        assert_eq!(parsed.external_id.as_deref(), Some("shared-secret"));
        assert_eq!(parsed.region.as_deref(), Some("us-east-1"));
        assert_eq!(parsed.selection.names, ["booking-lambda-BookingTopicArn", "a:b"]);
        assert_eq!(parsed.selection.prefix.as_deref(), Some("shared-"));
        assert_eq!(parsed.selection.aliases["Topic"], "booking-lambda-BookingTopicArn");
        assert!(parsed.no_echo);
    }

    #[test]
    fn accepts_real_booleans_and_comma_joined_names() {
        let parsed = parse(json!({"NoEcho": true, "ExportNames": "a, b,a"})).unwrap();
        assert!(parsed.no_echo);
        assert_eq!(parsed.selection.names, ["a", "b"]);
        assert!(!parse(json!({"NoEcho": "False"})).unwrap().no_echo);
    }

    #[test]
    fn a_misspelt_property_is_refused_with_a_hint() {
        let error = parse(json!({"ExportName": ["a"]})).unwrap_err();
        assert_eq!(error, PropertyError::Unknown { name: "ExportName".into(), suggestion: Some("ExportNames".into()) });
        assert!(error.to_string().contains("did you mean ExportNames?"), "{error}");
    }

    #[test]
    fn refuses_bad_values_clearly() {
        let cases = [
            (json!({"RoleArn": "admin"}), "RoleArn 'admin' is not an IAM role ARN"),
            (json!({"RoleArn": ["x"]}), "RoleArn must be a string"),
            (json!({"Region": "Europe"}), "Region 'Europe'"),
            (json!({"ExportNames": []}), "ExportNames is empty"),
            (json!({"ExportNames": [1]}), "ExportNames must be a list"),
            (json!({"ExportNames": ["has space"]}), "'has space', which is not a valid export name"),
            (json!({"ExportPrefix": "a/b"}), "ExportPrefix contains 'a/b'"),
            (json!({"Exports": {"A": 1}}), "Exports must be a map"),
            (json!({"Exports": {"bad key": "a"}}), "Exports key 'bad key'"),
            (json!({"Exports": {}}), "Exports is empty"),
            (json!({"Exports": ["a"]}), "Exports must be a map"),
            (json!({"Exports": {"a": "b"}, "ExportNames": ["a"]}), "a Data key can hold only one value"),
            (json!({"NoEcho": "yes"}), "NoEcho must be \"true\" or \"false\", not 'yes'"),
            (json!({"ExternalId": "x"}), "ExternalId must be"),
            (json!("text"), "must be an object"),
        ];
        for (input, expected) in cases {
            let message = parse(input.clone()).unwrap_err().to_string();
            assert!(message.contains(expected), "{input}: {message}");
        }
    }

    #[test]
    fn reads_stack_outputs_aliases_to_them_and_defaults() {
        let parsed = parse(json!({
            "StackOutputs": ["booking-lambda", "vpc.VpcId", "vpc.SubnetIds"],
            "Exports": {"Topic": "booking-lambda.BookingTopicArn", "Db": "db.Endpoint"},
            "Defaults": {"vpc.SubnetIds": "", "db.Endpoint": "localhost"},
        }))
        .unwrap();
        let selection = parsed.selection;
        assert!(selection.outputs["booking-lambda"].every);
        assert_eq!(selection.outputs["booking-lambda"].aliased.iter().collect::<Vec<_>>(), ["BookingTopicArn"]);
        assert_eq!(selection.outputs["vpc"].keys.len(), 2);
        assert!(!selection.outputs["db"].every && selection.outputs["db"].keys.is_empty());
        assert!(!selection.needs_exports() && !selection.is_everything());
        assert_eq!(selection.data_keys_of("db.Endpoint").collect::<Vec<_>>(), ["Db"]);
        assert_eq!(selection.data_keys_of("vpc.VpcId").collect::<Vec<_>>(), ["vpc.VpcId"]);
        assert_eq!(selection.defaults["db.Endpoint"], "localhost");
        let comma = parse(json!({"StackOutputs": "vpc.VpcId, booking-lambda"})).unwrap();
        assert_eq!(comma.selection.outputs.len(), 2);
    }

    #[test]
    fn refuses_bad_outputs_and_defaults_by_name() {
        let cases = [
            (json!({"StackOutputs": ["1stack"]}), "StackOutputs contains '1stack', which is neither"),
            (json!({"StackOutputs": ["vpc.Vpc-Id"]}), "'vpc.Vpc-Id'"),
            (json!({"StackOutputs": ["vpc."]}), "'vpc.'"),
            (json!({"StackOutputs": []}), "StackOutputs is empty"),
            (json!({"StackOutputs": {"a": 1}}), "StackOutputs must be a list"),
            (json!({"Exports": {"A": "vpc.Vpc_Id"}}), "Exports contains 'vpc.Vpc_Id'"),
            (json!({"Defaults": {"vpc.VpcId": "x"}}), "Defaults has 'vpc.VpcId', which is not requested"),
            (
                json!({"ExportNames": ["booking-Topic"], "Defaults": {"booking-Topc": "x"}}),
                "not requested (did you mean booking-Topic?)",
            ),
            (json!({"ExportNames": ["a"], "Defaults": {"a": 1}}), "Defaults must be a map whose values are strings"),
            (json!({"ExportNames": ["a"], "Defaults": {}}), "Defaults is empty"),
            (
                json!({"StackOutputs": ["vpc"], "Exports": {"vpc.VpcId": "other-export"}}),
                "a Data key can hold only one value",
            ),
        ];
        for (input, expected) in cases {
            let message = parse(input.clone()).unwrap_err().to_string();
            assert!(message.contains(expected), "{input}: {message}");
        }
        // A whole-stack request with a default for one of its keys is a typo of nothing: refused too.
        assert!(parse(json!({"StackOutputs": ["vpc"], "Defaults": {"vpc.VpcId": "x"}})).is_err());
    }

    #[test]
    fn an_alias_may_repeat_its_own_name() {
        let parsed = parse(json!({"Exports": {"a": "a"}, "ExportNames": ["a"]})).unwrap();
        assert_eq!(parsed.selection.exact_names().collect::<Vec<_>>(), ["a", "a"]);
    }

    #[test]
    fn knows_region_names() {
        for region in ["eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-4", "eusc-de-east-1"] {
            assert!(is_region_name(region), "{region}");
        }
        for region in ["", "eu", "eu-west", "EU-WEST-1", "eu-west-x", "europe-west-1", "eu--1"] {
            assert!(!is_region_name(region), "{region}");
        }
    }

    mod any_input {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<f64>().prop_map(|f| serde_json::json!(f)),
                ".{0,30}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,12}", inner, 0..5)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Known property names with any values, so that every parser branch is reached.
        fn properties() -> impl Strategy<Value = Value> {
            prop::collection::btree_map(prop::sample::select(KNOWN.to_vec()), value(), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
        }

        proptest! {
            #[test]
            fn parsing_never_panics(input in prop_oneof![value(), properties()]) {
                let _ = ResourceProperties::parse(&input);
            }
        }
    }

    /// The rules the CDK constructs apply at synth time are these: `tests/vectors/properties.json`,
    /// which cdk/test/validation.test.js reads too, holds each side to the same verdicts.
    #[test]
    fn the_shared_vectors_get_the_functions_verdicts() {
        let vectors: Value = serde_json::from_str(include_str!("../../../tests/vectors/properties.json")).unwrap();
        let external_id = |id: &str| {
            let properties = json!({"ExternalId": id});
            !matches!(ResourceProperties::parse(&properties), Err(PropertyError::ExternalId))
        };
        let stack_output = |entry: &str| output_ref(entry).is_some() && parse_output("StackOutputs", entry).is_ok();
        type Rule<'a> = &'a dyn Fn(&str) -> bool;
        let rules: [(&str, Rule); 6] = [
            ("exportName", &is_export_name),
            ("roleArn", &|arn| RoleArn::parse(arn).is_ok()),
            ("region", &is_region_name),
            ("externalId", &external_id),
            ("stackOutput", &stack_output),
            ("parameter", &|name| crate::ParameterRef::parse(name).is_ok()),
        ];
        for (kind, rule) in rules {
            for (verdict, expected) in [("valid", true), ("invalid", false)] {
                for value in vectors[kind][verdict].as_array().unwrap() {
                    let value = value.as_str().unwrap();
                    assert_eq!(rule(value), expected, "{kind} {value:?} should be {verdict}");
                }
            }
        }
        for case in vectors["closest"].as_array().unwrap() {
            let candidates: Vec<&str> =
                case["candidates"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            let found = crate::closest(case["name"].as_str().unwrap(), candidates);
            assert_eq!(found.first().map(String::as_str), case["closest"].as_str(), "{case}");
        }
    }
}
