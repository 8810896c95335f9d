//! Per-consumer-account read policies: which roles and exports each consumer account may read.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::pattern::{Pattern, PatternList};
use crate::role_arn::RoleArn;

/// Where the policy came from, named in every Reason that cites it (never its contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyOrigin {
    /// `CONSUMER_POLICY`, inline JSON.
    Inline,
    /// `CONSUMER_POLICY_PARAMETER`, an SSM parameter of this name.
    Parameter(String),
}

impl fmt::Display for PolicyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyOrigin::Inline => f.write_str("consumer policy (CONSUMER_POLICY)"),
            PolicyOrigin::Parameter(name) => write!(f, "consumer policy (CONSUMER_POLICY_PARAMETER {name})"),
        }
    }
}

/// What one consumer account may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRules {
    /// Role ARN patterns it may read through; `self` allows the function's own account.
    pub role_arns: Vec<Pattern>,
    pub allows_self: bool,
    /// Export name patterns it may read.
    pub exports: PatternList,
    /// `<StackName>.<OutputKey>` patterns it may read; none when the entry has no `Outputs`.
    pub outputs: PatternList,
    /// SSM parameter name patterns it may read; none when the entry has no `Parameters`.
    pub parameters: PatternList,
}

impl ConsumerRules {
    /// Whether reading through `role` (or the function's own account, for `None`) is allowed.
    pub fn allows_role(&self, role: Option<&RoleArn>) -> bool {
        match role {
            None => self.allows_self,
            Some(role) => self.role_arns.iter().any(|pattern| pattern.matches(role.as_str())),
        }
    }
}

/// A map from consumer account (or `*`, every other account) to what it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerPolicy {
    accounts: BTreeMap<String, ConsumerRules>,
    fallback: Option<ConsumerRules>,
    pub origin: PolicyOrigin,
}

/// Why a policy document was refused. The text names the problem, never another account's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the {origin} is not valid JSON ({detail})")]
    Json { origin: PolicyOrigin, detail: String },
    #[error("the {origin} must be a JSON object of consumer accounts")]
    NotAnObject { origin: PolicyOrigin },
    #[error("the {origin} has the key '{key}', which is neither a 12-digit account ID nor \"*\"")]
    Account { origin: PolicyOrigin, key: String },
    #[error("the {origin} entry for {account} {problem}")]
    Entry { origin: PolicyOrigin, account: String, problem: EntryProblem },
    #[error("the {origin} could not be read: {detail}")]
    Unreadable { origin: PolicyOrigin, detail: String },
    #[error("set CONSUMER_POLICY or CONSUMER_POLICY_PARAMETER, not both")]
    BothSet,
}

impl ConsumerPolicy {
    /// Parses the JSON document:
    /// `{"<account>|*": {"RoleArns": [...], "Exports": [...], "Outputs": [...], "Parameters": [...]}}`.
    pub fn parse(text: &str, origin: PolicyOrigin) -> Result<ConsumerPolicy, PolicyError> {
        let document: Value = serde_json::from_str(text)
            .map_err(|e| PolicyError::Json { origin: origin.clone(), detail: e.to_string() })?;
        let Value::Object(entries) = document else {
            return Err(PolicyError::NotAnObject { origin });
        };
        let mut accounts = BTreeMap::new();
        let mut fallback = None;
        for (key, entry) in entries {
            let is_account = key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit());
            if key != "*" && !is_account {
                return Err(PolicyError::Account { origin, key });
            }
            let rules = parse_rules(&entry).map_err(|problem| PolicyError::Entry {
                origin: origin.clone(),
                account: key.clone(),
                problem,
            })?;
            if key == "*" {
                fallback = Some(rules);
            } else {
                accounts.insert(key, rules);
            }
        }
        Ok(ConsumerPolicy { accounts, fallback, origin })
    }

    /// The rules for `account`: its own entry, else the `*` entry, else none (refused).
    pub fn rules_for(&self, account: &str) -> Option<&ConsumerRules> {
        self.accounts.get(account).or(self.fallback.as_ref())
    }
}

/// What is wrong with one account's entry; each text completes "the entry for <account> …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error("must be an object with RoleArns and Exports")]
    NotAnObject,
    #[error("has the unknown key '{0}'; the keys are RoleArns, Exports, Outputs and Parameters")]
    UnknownKey(String),
    #[error("needs {0}, a list of patterns")]
    NotAList(&'static str),
    #[error("has {item} in {list}, which is not a pattern (a non-empty string without spaces or commas)")]
    NotAPattern { list: &'static str, item: String },
    #[error("has '{0}' in RoleArns, which is neither a role ARN pattern (arn:…) nor \"self\"")]
    NotARolePattern(String),
    #[error("has '{0}' in Exports, which is not an export name pattern (letters, digits, : - and *)")]
    NotAnExportPattern(String),
    #[error("has '{0}' in Outputs, which is not a <StackName>.<OutputKey> pattern (letters, digits, . - and *)")]
    NotAnOutputPattern(String),
    #[error("has '{0}' in Parameters, which is not a parameter name or ARN pattern (letters, digits, _ . - / : and *)")]
    NotAParameterPattern(String),
}

fn parse_rules(entry: &Value) -> Result<ConsumerRules, EntryProblem> {
    let Value::Object(fields) = entry else {
        return Err(EntryProblem::NotAnObject);
    };
    const KEYS: [&str; 4] = ["RoleArns", "Exports", "Outputs", "Parameters"];
    if let Some(unknown) = fields.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(EntryProblem::UnknownKey(unknown.clone()));
    }
    let list = |name: &'static str| -> Result<Vec<String>, EntryProblem> {
        let Some(Value::Array(items)) = fields.get(name) else {
            return Err(EntryProblem::NotAList(name));
        };
        items
            .iter()
            .map(|item| match item.as_str() {
                Some(text) if !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || c == ',') => {
                    Ok(text.to_owned())
                }
                _ => Err(EntryProblem::NotAPattern { list: name, item: item.to_string() }),
            })
            .collect()
    };
    let mut role_arns = Vec::new();
    let mut allows_self = false;
    for pattern in list("RoleArns")? {
        if pattern == "self" {
            allows_self = true;
        } else if pattern.starts_with("arn:") {
            role_arns.push(Pattern::new(&pattern));
        } else {
            return Err(EntryProblem::NotARolePattern(pattern));
        }
    }
    let exports = list("Exports")?;
    let export_char = |c: char| c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '*';
    if let Some(bad) = exports.iter().find(|p| !p.chars().all(export_char)) {
        return Err(EntryProblem::NotAnExportPattern(bad.clone()));
    }
    let exports = PatternList::parse(&exports.join(",")).unwrap_or_else(PatternList::nothing);
    let outputs = if fields.contains_key("Outputs") { list("Outputs")? } else { Vec::new() };
    let output_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '*';
    if let Some(bad) = outputs.iter().find(|p| !p.chars().all(output_char)) {
        return Err(EntryProblem::NotAnOutputPattern(bad.clone()));
    }
    let outputs = PatternList::parse(&outputs.join(",")).unwrap_or_else(PatternList::nothing);
    let parameters = if fields.contains_key("Parameters") { list("Parameters")? } else { Vec::new() };
    let parameter_char = |c: char| c.is_ascii_alphanumeric() || "_.-/*:".contains(c);
    if let Some(bad) = parameters.iter().find(|p| !p.chars().all(parameter_char)) {
        return Err(EntryProblem::NotAParameterPattern(bad.clone()));
    }
    let parameters = PatternList::parse(&parameters.join(",")).unwrap_or_else(PatternList::nothing);
    Ok(ConsumerRules { role_arns, allows_self, exports, outputs, parameters })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"111111111111": {"RoleArns": ["arn:aws:iam::222222222222:role/remote-exports-reader"], "Exports": ["booking-*"]},
        "*": {"RoleArns": ["self"], "Exports": ["shared-*"]}}"#;

    fn role(account: &str) -> RoleArn {
        RoleArn::parse(&format!("arn:aws:iam::{account}:role/remote-exports-reader")).unwrap()
    }

    #[test]
    fn an_account_gets_its_own_rules_and_others_the_fallback() {
        let policy = ConsumerPolicy::parse(EXAMPLE, PolicyOrigin::Inline).unwrap();
        let own = policy.rules_for("111111111111").unwrap();
        assert!(own.allows_role(Some(&role("222222222222"))));
        assert!(!own.allows_role(None));
        assert!(own.exports.allows("booking-lambda-BookingTopicArn"));
        assert!(!own.exports.allows("shared-VpcId"));
        let other = policy.rules_for("333333333333").unwrap();
        assert!(other.allows_role(None));
        assert!(!other.allows_role(Some(&role("222222222222"))));
        assert!(other.exports.allows("shared-VpcId"));
        assert!(!own.outputs.allows("booking-lambda.TopicArn"), "an entry without Outputs allows no output");
    }

    #[test]
    fn outputs_are_allowed_by_their_own_patterns() {
        let policy = ConsumerPolicy::parse(
            r#"{"*": {"RoleArns": ["self"], "Exports": [], "Outputs": ["booking-lambda.*", "vpc.VpcId"]}}"#,
            PolicyOrigin::Inline,
        )
        .unwrap();
        let rules = policy.rules_for("111111111111").unwrap();
        assert!(rules.outputs.allows("booking-lambda.TopicArn") && rules.outputs.allows("vpc.VpcId"));
        assert!(!rules.outputs.allows("vpc.SubnetIds") && !rules.exports.allows("booking-lambda-TopicArn"));
    }

    #[test]
    fn without_a_fallback_unknown_accounts_get_nothing() {
        let policy =
            ConsumerPolicy::parse(r#"{"111111111111": {"RoleArns": ["self"], "Exports": []}}"#, PolicyOrigin::Inline)
                .unwrap();
        assert!(policy.rules_for("333333333333").is_none());
        assert!(!policy.rules_for("111111111111").unwrap().exports.allows("anything"));
    }

    #[test]
    fn invalid_documents_name_the_problem() {
        let origin = PolicyOrigin::Parameter("/platform/remote-exports/policy".into());
        for (text, expected) in [
            ("{", "not valid JSON"),
            ("[]", "must be a JSON object"),
            (r#"{"1234": {"RoleArns": [], "Exports": []}}"#, "'1234', which is neither"),
            (r#"{"*": {"RoleArns": ["self"]}}"#, "needs Exports"),
            (r#"{"*": {"RoleArns": ["self"], "Exports": [], "Region": "x"}}"#, "unknown key 'Region'"),
            (r#"{"*": {"RoleArns": ["admin"], "Exports": []}}"#, "'admin' in RoleArns"),
            (r#"{"*": {"RoleArns": ["self"], "Exports": ["a b"]}}"#, "not a pattern"),
            (r#"{"*": {"RoleArns": ["self"], "Exports": ["x/y"]}}"#, "'x/y' in Exports"),
            (r#"{"*": {"RoleArns": [7], "Exports": []}}"#, "has 7 in RoleArns"),
            (r#"{"*": {"RoleArns": ["self"], "Exports": [], "Outputs": ["a/b"]}}"#, "'a/b' in Outputs"),
            (r#"{"*": {"RoleArns": ["self"], "Exports": [], "Outputs": "a.b"}}"#, "needs Outputs, a list"),
        ] {
            let error = ConsumerPolicy::parse(text, origin.clone()).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("CONSUMER_POLICY_PARAMETER /platform/remote-exports/policy"), "{error}");
        }
    }
}
