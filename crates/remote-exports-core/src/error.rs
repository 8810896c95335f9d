use std::fmt;

use crate::config::ConfigError;
use crate::policy::{PolicyError, PolicyOrigin};
use crate::properties::PropertyError;

/// Every way a Create or Update can fail. `Display` is the CloudFormation `Reason` a stack author
/// reads: it says what went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("Invalid properties: {0}.")]
    Properties(#[from] PropertyError),
    #[error(
        "The remote-exports function is misconfigured: {0}. Ask the platform team that deployed it to fix the setting."
    )]
    Config(ConfigError),
    #[error(
        "The remote-exports function is misconfigured: {0}. Ask the platform team that deployed it to fix the policy."
    )]
    Policy(#[from] PolicyError),
    #[error(
        "RoleArn {role} is not allowed by the function's ALLOWED_ROLE_ARNS. Use an allowed role, or ask the \
         platform team to allow it."
    )]
    RoleNotAllowed { role: String },
    #[error(
        "Export(s) {} are not allowed by the function's ALLOWED_EXPORTS. Ask the platform team to allow them, or \
         remove them from the selection.", quoted(.names)
    )]
    ExportsNotAllowed { names: Vec<String> },
    #[error(
        "Stack output(s) {} are not allowed by the function's ALLOWED_STACK_OUTPUTS. Ask the platform team to \
         allow them, or remove them from the selection.", quoted(.names)
    )]
    OutputsNotAllowed { names: Vec<String> },
    #[error(
        "Parameter(s) {} are not allowed by the function's ALLOWED_PARAMETERS. Ask the platform team to allow \
         them, or remove them from Parameters.", quoted(.names)
    )]
    ParametersNotAllowed { names: Vec<String> },
    #[error(
        "Consumer account {account} may not read parameter(s) {}: the function's {origin} does not allow them \
         (its entry's Parameters). Remove them from Parameters, or ask the platform team to allow them.",
        quoted(.names)
    )]
    ParametersNotAllowedForConsumer { account: String, names: Vec<String>, origin: PolicyOrigin },
    #[error(
        "Parameter(s) {} are SecureStrings, whose values are answered only to a resource with NoEcho: \"true\" (so \
         that CloudFormation masks them in its console and API). Set NoEcho: \"true\" on this resource, or read \
         them from a separate Custom::RemoteExports resource that sets it.", quoted(.names)
    )]
    SecureWithoutNoEcho { names: Vec<String> },
    #[error(
        "NoEcho reads are refused by this function: it runs with RESPONSE_URL_BINDING=host-only, so its answers \
         are not bound to the request that asked, and a secret could reach whoever invoked it. Read values that \
         are not secret without NoEcho, or ask the platform team to restore the request binding (the default)."
    )]
    NoEchoUnbound,
    #[error(
        "Parameters are read only through a publisher's role: set RoleArn (or ask the platform team for a \
         DEFAULT_ROLE_ARN). The function's own role may read no parameter but its consumer policy."
    )]
    ParametersNeedRole,
    #[error(
        "Parameter '{reference}' is an ARN in region {arn_region}, but this resource reads region {region}: set \
         Region to {arn_region} (in a resource of its own if the others are in {region}), or name the parameter \
         of {region}."
    )]
    ParameterRegion { reference: String, arn_region: String, region: String },
    #[error("Could not read SSM parameters from {source_name}: {error}")]
    ParameterSource { source_name: String, error: ReadError },
    #[error(
        "Consumer account {account} may not use this function: the {origin} has no entry for it and no \"*\" entry. \
         Ask the platform team to add the account."
    )]
    ConsumerNotInPolicy { account: String, origin: PolicyOrigin },
    #[error(
        "The function has a {origin}, but no consumer account is proven for this request (the StackId names none, \
         or RESPONSE_URL_BINDING=host-only leaves it unproven), so the request cannot be checked against it."
    )]
    ConsumerUnknown { origin: PolicyOrigin },
    #[error(
        "Consumer account {account} may not read through {role}: the function's {origin} does not allow it. \
         Use a role the platform team allowed for your account, or ask them to allow this one."
    )]
    RoleNotAllowedForConsumer { account: String, role: String, origin: PolicyOrigin },
    #[error(
        "Consumer account {account} may not read export(s) {}: the function's {origin} does not allow them. \
         Remove them from the selection, or ask the platform team to allow them.", quoted(.names)
    )]
    ExportsNotAllowedForConsumer { account: String, names: Vec<String>, origin: PolicyOrigin },
    #[error(
        "Consumer account {account} may not read stack output(s) {}: the function's {origin} does not allow them \
         (its entry's Outputs). Remove them from the selection, or ask the platform team to allow them.",
        quoted(.names)
    )]
    OutputsNotAllowedForConsumer { account: String, names: Vec<String>, origin: PolicyOrigin },
    #[error(
        "No region to read from: set the Region property (the StackId names no region and the function has no AWS_REGION)."
    )]
    NoRegion,
    #[error("Could not read exports from {source_name}: {error}")]
    Source { source_name: String, error: ReadError },
    #[error("Could not read the outputs of stack {stack} in {source_name}: {error}")]
    StackSource { stack: String, source_name: String, error: ReadError },
    #[error(
        "{} requested {} not found in {source_name}: {}.{} Check the names and the Region/RoleArn, or that the \
         publisher stack has been deployed; a value that may be missing for a while can have a Defaults entry.",
        .missing.len(), missing_noun(.missing), missing_list(.missing), visible_note(*.scanned)
    )]
    Missing { source_name: String, missing: Vec<MissingExport>, scanned: Option<usize> },
    #[error(
        "ExportPrefix '{prefix}' matched no export in {source_name}{}. Check the prefix and the Region/RoleArn.",
        hidden_note(*.hidden)
    )]
    PrefixMatchedNothing { prefix: String, source_name: String, hidden: usize },
    #[error(
        "Data key '{key}' is both the Exports alias for '{target}' and an export matched by ExportPrefix. \
         Rename the alias."
    )]
    AliasCollision { key: String, target: String },
    #[error(
        "The {keys} selected {} make a {bytes}-byte response, over CloudFormation's 4096-byte limit. {}, or split \
         them across several Custom::RemoteExports resources.", .reads.nouns(), .reads.narrowing()
    )]
    ResponseTooLarge { bytes: usize, keys: usize, reads: Reads },
    #[error(
        "Timed out reading {} from {source_name} after {} ms, to answer before the Lambda deadline. {} was slow \
         or unreachable: check the function's network access to {} (in a VPC, a NAT gateway or an interface \
         endpoint for each), or raise its timeout.",
        .reads.nouns(), .waited.as_millis(), .reads.services(), .reads.services()
    )]
    TimedOut { source_name: String, waited: std::time::Duration, reads: Reads },
    #[error(
        "Reads (ListExports, DescribeStacks, GetParameters) from {source_name} were throttled: {throttled} of \
         {attempts} attempt(s) over {} ms were refused \
         (Rate exceeded), and the function kept retrying until it had to answer before the Lambda deadline. Too \
         many stacks are reading this publisher at once. Retry the deployment, deploy fewer consumer stacks at a \
         time (StackSets MaxConcurrentCount), read named StackOutputs rather than every export page, or ask the \
         platform team to turn on the shared export snapshot (template parameter ExportsSnapshot, \
         SNAPSHOT_TABLE), with which the resources of one stack share a read.",
        .waited.as_millis()
    )]
    Throttled { source_name: String, attempts: u32, throttled: u32, waited: std::time::Duration },
    #[error("Internal error in remote-exports ({0}). This is a bug: please report it with the function's logs.")]
    Internal(String),
}

/// A policy problem keeps the policy's Reason (the fix is the policy), whenever it was found.
impl From<ConfigError> for LookupError {
    fn from(error: ConfigError) -> Self {
        match error {
            ConfigError::ConsumerPolicy(policy) => LookupError::Policy(policy),
            other => LookupError::Config(other),
        }
    }
}

impl LookupError {
    /// A short, stable name for the kind of failure, for metrics and log queries (low cardinality:
    /// never a name or a value).
    pub fn kind(&self) -> &'static str {
        match self {
            LookupError::Properties(_)
            | LookupError::NoRegion
            | LookupError::AliasCollision { .. }
            | LookupError::ParametersNeedRole
            | LookupError::ParameterRegion { .. } => "InvalidProperties",
            LookupError::Config(_) | LookupError::Policy(_) => "Misconfigured",
            LookupError::RoleNotAllowed { .. }
            | LookupError::ExportsNotAllowed { .. }
            | LookupError::OutputsNotAllowed { .. }
            | LookupError::ConsumerNotInPolicy { .. }
            | LookupError::ConsumerUnknown { .. }
            | LookupError::RoleNotAllowedForConsumer { .. }
            | LookupError::ExportsNotAllowedForConsumer { .. }
            | LookupError::OutputsNotAllowedForConsumer { .. }
            | LookupError::ParametersNotAllowed { .. }
            | LookupError::ParametersNotAllowedForConsumer { .. }
            | LookupError::NoEchoUnbound => "NotAllowed",
            LookupError::SecureWithoutNoEcho { .. } => "InvalidProperties",
            LookupError::Source { error, .. }
            | LookupError::StackSource { error, .. }
            | LookupError::ParameterSource { error, .. } => match error.kind {
                FailureKind::Denied => "Denied",
                FailureKind::Throttled => "Throttled",
                FailureKind::Other => "ReadError",
            },
            LookupError::Missing { missing, .. } if missing.iter().all(|m| m.kind == MissingKind::Parameter) => {
                "MissingParameter"
            }
            LookupError::Missing { missing, .. } if missing.iter().all(|m| m.kind != MissingKind::Export) => {
                "MissingOutput"
            }
            LookupError::Missing { .. } | LookupError::PrefixMatchedNothing { .. } => "MissingExport",
            LookupError::ResponseTooLarge { .. } => "TooLarge",
            LookupError::TimedOut { .. } => "TimedOut",
            LookupError::Throttled { .. } => "Throttled",
            LookupError::Internal(_) => "Internal",
        }
    }
}

/// A requested export, stack output or stack that does not exist, with the closest names that do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingExport {
    pub name: String,
    pub suggestions: Vec<String>,
    pub kind: MissingKind,
}

impl MissingExport {
    pub fn export(name: impl Into<String>, suggestions: Vec<String>) -> MissingExport {
        MissingExport { name: name.into(), suggestions, kind: MissingKind::Export }
    }
}

/// What is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MissingKind {
    Export,
    /// A `<StackName>.<OutputKey>` of a stack that exists.
    Output,
    /// A stack that does not exist (or was deleted).
    Stack,
    /// A stack asked for as a whole that has no output this request may see.
    NoOutputs,
    /// An SSM parameter (or the version or label asked for) that does not exist.
    Parameter,
}

/// What a resource reads, so that a Reason names only the services and properties that apply to it.
/// All `false` (nothing known, say the properties did not parse) speaks of everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reads {
    /// Through a publisher's role (STS), not the function's own account.
    pub role: bool,
    /// ListExports: ExportNames, ExportPrefix, export aliases, or everything.
    pub exports: bool,
    /// DescribeStacks: StackOutputs and output aliases.
    pub outputs: bool,
    /// GetParameters: Parameters.
    pub parameters: bool,
}

impl Reads {
    fn known(self) -> Reads {
        if self.exports || self.outputs || self.parameters {
            self
        } else {
            Reads { role: true, exports: true, outputs: true, parameters: true }
        }
    }

    /// "export(s), stack output(s) and SSM parameter(s)", as far as they are read.
    pub fn nouns(self) -> String {
        let r = self.known();
        and_list(&[(r.exports, "export(s)"), (r.outputs, "stack output(s)"), (r.parameters, "SSM parameter(s)")], "and")
    }

    /// The services the reads go to: "STS, CloudFormation or SSM".
    pub fn services(self) -> String {
        let r = self.known();
        and_list(&[(r.role, "STS"), (r.exports || r.outputs, "CloudFormation"), (r.parameters, "SSM")], "or")
    }

    /// How to read less, one clause per property that was read.
    fn narrowing(self) -> String {
        let r = self.known();
        let ways = [
            (r.exports, "select fewer exports with ExportNames or a narrower ExportPrefix"),
            (r.outputs, "name the StackOutputs you need (<StackName>.<OutputKey>) rather than whole stacks"),
            (r.parameters, "read fewer Parameters (a StringList counts whole)"),
        ];
        let chosen: Vec<&str> = ways.into_iter().filter_map(|(read, way)| read.then_some(way)).collect();
        let mut text = chosen.join("; ");
        if let Some(first) = text.get(..1) {
            text.replace_range(..1, &first.to_uppercase());
        }
        text
    }
}

/// "a, b and c" (or "or") of the items present.
fn and_list(items: &[(bool, &str)], conjunction: &str) -> String {
    let present: Vec<&str> = items.iter().filter_map(|(present, item)| present.then_some(*item)).collect();
    match present.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// Which AWS step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStep {
    AssumeRole,
    ListExports,
    DescribeStacks,
    GetParameters,
    GetParametersByPath,
}

impl ReadStep {
    /// The API action, as CloudTrail and IAM name it.
    pub fn action(self) -> &'static str {
        match self {
            ReadStep::AssumeRole => "AssumeRole",
            ReadStep::ListExports => "ListExports",
            ReadStep::DescribeStacks => "DescribeStacks",
            ReadStep::GetParameters => "GetParameters",
            ReadStep::GetParametersByPath => "GetParametersByPath",
        }
    }
}

/// What kind of failure it was, as the adapter classified it from the AWS error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureKind {
    /// Not allowed: a trust policy, a permission, an ExternalId.
    Denied,
    /// Too many requests, even after the SDK's retries.
    Throttled,
    #[default]
    Other,
}

/// A failure of the export source, classified so that the Reason can say what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub step: ReadStep,
    pub kind: FailureKind,
    /// The AWS error code, such as `AccessDenied`, when there is one.
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = match self.code.as_deref() {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        };
        let throttled = self.kind == FailureKind::Throttled;
        let denied = self.kind == FailureKind::Denied;
        match self.step {
            ReadStep::AssumeRole if denied => write!(
                f,
                "AssumeRole was denied ({detail}). The publisher's trust policy decides who reads through its \
                 role: check that the role exists, that its trust policy names this function's role, allows \
                 sts:SetSourceIdentity and sts:TagSession, and admits this consumer account (AllowedConsumerAccounts \
                 in examples/publisher-role.yaml, checked as sts:SourceIdentity), and that ExternalId matches its \
                 sts:ExternalId condition."
            ),
            ReadStep::AssumeRole if throttled => write!(
                f,
                "AssumeRole was throttled ({detail}) even after retries. Try again later (change the Refresh \
                 property to retry an Update)."
            ),
            ReadStep::AssumeRole => write!(f, "AssumeRole failed ({detail})."),
            ReadStep::ListExports if denied => {
                write!(f, "ListExports was denied ({detail}). The role needs cloudformation:ListExports.")
            }
            ReadStep::ListExports if throttled => write!(
                f,
                "ListExports was throttled ({detail}) even after retries. Try again later (change the Refresh property \
                 to retry an Update)."
            ),
            ReadStep::ListExports => write!(f, "ListExports failed ({detail})."),
            ReadStep::DescribeStacks if denied => write!(
                f,
                "DescribeStacks was denied ({detail}). The role needs cloudformation:DescribeStacks on this stack: \
                 the publisher-role template (examples/publisher-role.yaml) grants it to the stack names in its \
                 ReadableStacks parameter."
            ),
            ReadStep::DescribeStacks if throttled => write!(
                f,
                "DescribeStacks was throttled ({detail}) even after retries. Try again later (change the Refresh \
                 property to retry an Update)."
            ),
            ReadStep::DescribeStacks => write!(f, "DescribeStacks failed ({detail})."),
            ReadStep::GetParameters | ReadStep::GetParametersByPath if denied => write!(
                f,
                "{} was denied ({detail}). The role needs ssm:GetParameters on the parameter (the publisher-role \
                 template, examples/publisher-role.yaml, grants it on the paths in its ReadableParameters \
                 parameter) and, for a SecureString, kms:Decrypt on its key through SSM (ParameterKmsKeyArns).",
                self.step.action()
            ),
            ReadStep::GetParameters | ReadStep::GetParametersByPath if throttled => write!(
                f,
                "{} was throttled ({detail}) even after retries. Try again later (change the Refresh property to \
                 retry an Update).",
                self.step.action()
            ),
            ReadStep::GetParameters | ReadStep::GetParametersByPath => {
                write!(f, "{} failed ({detail}).", self.step.action())
            }
        }
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

fn missing_noun(missing: &[MissingExport]) -> String {
    let exports = missing.iter().any(|m| m.kind == MissingKind::Export);
    let outputs = missing.iter().any(|m| !matches!(m.kind, MissingKind::Export | MissingKind::Parameter));
    let parameters = missing.iter().any(|m| m.kind == MissingKind::Parameter);
    let nouns = and_list(&[(exports, "export(s)"), (outputs, "stack output(s)"), (parameters, "parameter(s)")], "and");
    if nouns.is_empty() { "export(s)".to_owned() } else { nouns }
}

fn missing_list(missing: &[MissingExport]) -> String {
    let described: Vec<String> = missing
        .iter()
        .map(|m| {
            let what = match m.kind {
                MissingKind::Export | MissingKind::Output => format!("'{}'", m.name),
                MissingKind::Parameter => format!("parameter '{}'", m.name),
                MissingKind::Stack => format!("stack '{}' (it does not exist)", m.name),
                MissingKind::NoOutputs => format!("stack '{}' (it has no output this stack may read)", m.name),
            };
            match m.suggestions.as_slice() {
                [] => what,
                suggestions => format!("{what} (did you mean {}?)", quoted(suggestions).replace(", ", " or ")),
            }
        })
        .collect();
    described.join(", ")
}

fn visible_note(scanned: Option<usize>) -> String {
    scanned.map(|count| format!(" {count} export(s) were visible there.")).unwrap_or_default()
}

fn hidden_note(hidden: usize) -> String {
    if hidden == 0 {
        String::new()
    } else {
        format!(" ({hidden} export(s) there are hidden from this stack by the function's allow-lists)")
    }
}

/// A failed call to a service or store, in words an operator can act on: the operation, the error
/// code (else the HTTP status, else that no answer came) and the service's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({}: {message})", self.cause())]
pub struct CallError {
    pub operation: &'static str,
    /// The service's error code, such as `AccessDeniedException`.
    pub code: Option<String>,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub message: String,
}

impl CallError {
    /// A call that was answered, but not with what it needs (`message` says what was missing).
    pub fn unexpected(operation: &'static str, message: impl Into<String>) -> CallError {
        CallError { operation, code: None, status: None, message: message.into() }
    }

    /// The code, else the HTTP status, else that no answer came.
    pub fn cause(&self) -> String {
        call_cause(self.code.as_deref(), self.status)
    }
}

/// What a failed AWS call says about itself: its error code, else its HTTP status, else that no
/// answer came. Every WARN and Reason about a call carries one of the three.
pub fn call_cause(code: Option<&str>, status: Option<u16>) -> String {
    match (code, status) {
        (Some(code), _) => code.to_owned(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => "no answer".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_export_reason_names_each_name_and_its_suggestions() {
        let error = LookupError::Missing {
            source_name: "account 222222222222 in eu-west-1".into(),
            missing: vec![
                MissingExport::export("booking-TopicArm", vec!["booking-TopicArn".into(), "booking-TopicName".into()]),
                MissingExport::export("vpc", vec![]),
            ],
            scanned: Some(140),
        };
        assert_eq!(
            error.to_string(),
            "2 requested export(s) not found in account 222222222222 in eu-west-1: 'booking-TopicArm' (did you mean \
             'booking-TopicArn' or 'booking-TopicName'?), 'vpc'. 140 export(s) were visible there. Check the names and \
             the Region/RoleArn, or that the publisher stack has been deployed; a value that may be missing for a \
             while can have a Defaults entry."
        );
    }

    #[test]
    fn missing_outputs_and_stacks_are_named_as_such() {
        let error = LookupError::Missing {
            source_name: "account 222222222222 in eu-west-1".into(),
            missing: vec![
                MissingExport {
                    name: "booking-lambda.TopicArm".into(),
                    suggestions: vec!["booking-lambda.TopicArn".into()],
                    kind: MissingKind::Output,
                },
                MissingExport { name: "bookng".into(), suggestions: vec!["booking".into()], kind: MissingKind::Stack },
            ],
            scanned: None,
        };
        let text = error.to_string();
        assert!(
            text.starts_with(
                "2 requested stack output(s) not found in account 222222222222 in eu-west-1: \
                 'booking-lambda.TopicArm' (did you mean 'booking-lambda.TopicArn'?), stack 'bookng' (it does not \
                 exist) (did you mean 'booking'?). Check the names"
            ),
            "{text}"
        );
        let denied = ReadError {
            step: ReadStep::DescribeStacks,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".into()),
            message: "no".into(),
        };
        let text = LookupError::StackSource { stack: "vpc".into(), source_name: "account 2".into(), error: denied }
            .to_string();
        assert!(text.contains("cloudformation:DescribeStacks") && text.contains("ReadableStacks"), "{text}");
    }

    #[test]
    fn source_errors_say_what_to_fix() {
        let error = |step, kind, code: Option<&str>, message: &str| ReadError {
            step,
            kind,
            code: code.map(str::to_owned),
            message: message.to_owned(),
        };
        let denied = error(ReadStep::AssumeRole, FailureKind::Denied, Some("AccessDenied"), "not authorized");
        assert!(denied.to_string().contains("trust policy"), "{denied}");
        let list = error(ReadStep::ListExports, FailureKind::Denied, Some("AccessDenied"), "no");
        assert!(list.to_string().contains("cloudformation:ListExports"), "{list}");
        let throttled = error(ReadStep::ListExports, FailureKind::Throttled, Some("Throttling"), "Rate exceeded");
        assert!(throttled.to_string().contains("Refresh"), "{throttled}");
        // The wording follows the adapter's classification, not words in the message.
        let unclassified = error(ReadStep::ListExports, FailureKind::Other, Some("Throttling"), "Rate exceeded");
        assert_eq!(unclassified.to_string(), "ListExports failed (Throttling: Rate exceeded).");
        let other = error(ReadStep::ListExports, FailureKind::Other, None, "dispatch failure");
        assert_eq!(other.to_string(), "ListExports failed (dispatch failure).");
    }

    #[test]
    fn every_failure_has_a_low_cardinality_kind() {
        let denied = ReadError {
            step: ReadStep::DescribeStacks,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".into()),
            message: "no".into(),
        };
        let output = MissingExport { name: "s.K".into(), suggestions: vec![], kind: MissingKind::Output };
        let cases = [
            (LookupError::NoRegion, "InvalidProperties"),
            (LookupError::RoleNotAllowed { role: "r".into() }, "NotAllowed"),
            (LookupError::StackSource { stack: "s".into(), source_name: "a".into(), error: denied }, "Denied"),
            (
                LookupError::Missing { source_name: "a".into(), missing: vec![output.clone()], scanned: None },
                "MissingOutput",
            ),
            (
                LookupError::Missing {
                    source_name: "a".into(),
                    missing: vec![output, MissingExport::export("e", vec![])],
                    scanned: Some(1),
                },
                "MissingExport",
            ),
            (LookupError::ResponseTooLarge { bytes: 5000, keys: 50, reads: Reads::default() }, "TooLarge"),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
        }
    }

    /// One of every Reason the domain can give, with every policy problem inside its wrapper.
    fn every_reason() -> Vec<LookupError> {
        use crate::config::ConfigError;
        use crate::policy::PolicyError;
        use crate::properties::PropertyError;
        let origin = PolicyOrigin::Parameter("/platform/policy".into());
        let source = |step, kind| ReadError { step, kind, code: Some("Code".into()), message: "message".into() };
        let waited = std::time::Duration::from_millis(1500);
        let mut reasons = vec![
            LookupError::Properties(PropertyError::NotAnObject),
            LookupError::Properties(PropertyError::Empty("ExportNames")),
            LookupError::Properties(PropertyError::Unknown {
                name: "ExportName".into(),
                suggestion: Some("ExportNames".into()),
            }),
            LookupError::Properties(PropertyError::DefaultNotRequested { key: "a".into(), suggestion: None }),
            LookupError::Config(ConfigError::DefaultRoleArn(crate::RoleArn::parse("x").unwrap_err())),
            LookupError::Policy(PolicyError::Json { origin: origin.clone(), detail: "EOF".into() }),
            LookupError::Policy(PolicyError::NotAnObject { origin: PolicyOrigin::Inline }),
            LookupError::Policy(PolicyError::Account { origin: origin.clone(), key: "12".into() }),
            LookupError::Policy(PolicyError::Entry {
                origin: origin.clone(),
                account: "*".into(),
                problem: crate::policy::EntryProblem::NotAList("Exports"),
            }),
            LookupError::Policy(PolicyError::Unreadable { origin: origin.clone(), detail: "ParameterNotFound".into() }),
            LookupError::Policy(PolicyError::BothSet),
            LookupError::RoleNotAllowed { role: "arn:aws:iam::2:role/r".into() },
            LookupError::ExportsNotAllowed { names: vec!["a".into()] },
            LookupError::OutputsNotAllowed { names: vec!["s.K".into()] },
            LookupError::ConsumerNotInPolicy { account: "1".into(), origin: origin.clone() },
            LookupError::ConsumerUnknown { origin: origin.clone() },
            LookupError::RoleNotAllowedForConsumer { account: "1".into(), role: "r".into(), origin: origin.clone() },
            LookupError::ExportsNotAllowedForConsumer {
                account: "1".into(),
                names: vec!["a".into()],
                origin: origin.clone(),
            },
            LookupError::OutputsNotAllowedForConsumer { account: "1".into(), names: vec!["s.K".into()], origin },
            LookupError::NoRegion,
            LookupError::Missing {
                source_name: "account 2 in eu-west-1".into(),
                missing: vec![MissingExport::export("a", vec!["b".into()])],
                scanned: Some(3),
            },
            LookupError::PrefixMatchedNothing {
                prefix: "p-".into(),
                source_name: "account 2 in eu-west-1".into(),
                hidden: 2,
            },
            LookupError::AliasCollision { key: "k".into(), target: "t".into() },
            LookupError::ResponseTooLarge { bytes: 5000, keys: 50, reads: Reads::default() },
            LookupError::ResponseTooLarge {
                bytes: 5000,
                keys: 5,
                reads: Reads { parameters: true, ..Reads::default() },
            },
            LookupError::TimedOut { source_name: "account 2 in eu-west-1".into(), waited, reads: Reads::default() },
            LookupError::TimedOut {
                source_name: "account 2 in eu-west-1".into(),
                waited,
                reads: Reads { role: true, outputs: true, ..Reads::default() },
            },
            LookupError::Throttled { source_name: "account 2 in eu-west-1".into(), attempts: 9, throttled: 8, waited },
            LookupError::Internal("a bug".into()),
            LookupError::NoEchoUnbound,
        ];
        for step in [ReadStep::AssumeRole, ReadStep::ListExports, ReadStep::DescribeStacks] {
            for kind in [FailureKind::Denied, FailureKind::Throttled, FailureKind::Other] {
                let error = source(step, kind);
                reasons
                    .push(LookupError::Source { source_name: "account 2 in eu-west-1".into(), error: error.clone() });
                reasons.push(LookupError::StackSource { stack: "s".into(), source_name: "account 2".into(), error });
            }
        }
        reasons
    }

    /// Plain grammar in every Reason: a sentence that starts with a capital and ends with a full
    /// stop, and none of the slips that joining texts makes ("function's the", "the the", "..").
    #[test]
    fn every_reason_reads_as_plain_sentences() {
        for error in every_reason() {
            let text = error.to_string();
            assert!(text.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()), "{text}");
            assert!(text.ends_with('.'), "{text}");
            let lower = text.to_lowercase();
            for slip in
                ["'s the ", "'s a ", " the the ", " a a ", " a the ", " the a ", "..", " .", "  ", ",.", ".,", ": ."]
            {
                assert!(!lower.contains(slip), "'{slip}' in: {text}");
            }
            let words: Vec<&str> = lower.split_whitespace().collect();
            for pair in words.windows(2) {
                assert!(
                    pair[0] != pair[1] || pair[0].chars().all(|c| !c.is_alphabetic()),
                    "doubled '{}' in: {text}",
                    pair[0]
                );
            }
        }
    }

    #[test]
    fn a_too_large_response_says_how_to_narrow_what_the_resource_reads() {
        let exports = Reads { role: true, exports: true, ..Reads::default() };
        let text = LookupError::ResponseTooLarge { bytes: 5210, keys: 45, reads: exports }.to_string();
        assert!(text.contains("45 selected export(s) make a 5210-byte response"), "{text}");
        assert!(text.contains("ExportNames") && text.contains("ExportPrefix"), "{text}");
        assert!(!text.contains("Parameters") && !text.contains("StackOutputs"), "{text}");

        let parameters = Reads { role: true, parameters: true, ..Reads::default() };
        let text = LookupError::ResponseTooLarge { bytes: 4800, keys: 3, reads: parameters }.to_string();
        assert!(text.contains("3 selected SSM parameter(s) make a 4800-byte response"), "{text}");
        assert!(text.contains("Read fewer Parameters"), "{text}");
        for other in ["ExportNames", "ExportPrefix", "StackOutputs"] {
            assert!(!text.contains(other), "{other} in: {text}");
        }

        let both = Reads { role: true, outputs: true, parameters: true, ..Reads::default() };
        let text = LookupError::ResponseTooLarge { bytes: 4800, keys: 9, reads: both }.to_string();
        assert!(text.contains("stack output(s) and SSM parameter(s)"), "{text}");
        assert!(text.contains("StackOutputs") && text.contains("Parameters"), "{text}");
    }

    #[test]
    fn a_timeout_names_the_services_the_resource_reads_from() {
        let waited = std::time::Duration::from_millis(4000);
        let source_name = || "account 2 in eu-west-1".to_owned();
        let ssm = Reads { role: true, parameters: true, ..Reads::default() };
        let text = LookupError::TimedOut { source_name: source_name(), waited, reads: ssm }.to_string();
        assert!(text.contains("Timed out reading SSM parameter(s) from account 2"), "{text}");
        assert!(text.contains("STS or SSM was slow"), "{text}");
        assert!(!text.contains("CloudFormation"), "{text}");

        let own = Reads { exports: true, ..Reads::default() };
        let text = LookupError::TimedOut { source_name: source_name(), waited, reads: own }.to_string();
        assert!(text.contains("CloudFormation was slow") && !text.contains("STS"), "{text}");
    }
}
