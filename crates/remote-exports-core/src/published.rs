//! What a publisher publishes: exports and stack outputs, and where a read value came from.

use std::collections::BTreeMap;

use crate::parameter::{Parameter, ParameterRef};

/// One CloudFormation export. `Debug` hides the value: it may be a NoEcho secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub value: String,
    /// The ID of the stack that exports it (empty when the source does not say).
    pub exporting_stack_id: String,
}

impl Export {
    pub fn new(name: impl Into<String>, value: impl Into<String>, exporting_stack_id: impl Into<String>) -> Self {
        Export { name: name.into(), value: value.into(), exporting_stack_id: exporting_stack_id.into() }
    }
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("exporting_stack_id", &self.exporting_stack_id)
            .finish()
    }
}

/// One stack's outputs, as DescribeStacks returns them. `Debug` hides the values.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StackOutputs {
    pub stack_id: String,
    /// Output key → value.
    pub outputs: BTreeMap<String, String>,
}

impl std::fmt::Debug for StackOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackOutputs")
            .field("stack_id", &self.stack_id)
            .field("keys", &self.outputs.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where a Data key's value came from: what the read registry records instead of the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportOrigin {
    /// The export name, `<StackName>.<OutputKey>` for a stack output, or the parameter reference
    /// as the resource wrote it.
    pub export: String,
    /// The ID of the stack that exports it or has the output, or the parameter's ARN; empty for a
    /// default.
    pub exporting_stack_id: String,
    /// `Some` for an SSM parameter.
    pub parameter: Option<ParameterVersion>,
}

impl ExportOrigin {
    /// An export's or stack output's origin.
    pub fn new(export: impl Into<String>, exporting_stack_id: impl Into<String>) -> Self {
        ExportOrigin { export: export.into(), exporting_stack_id: exporting_stack_id.into(), parameter: None }
    }
}

/// Where a parameter's value came from: the reference as written, the parameter's ARN and version.
pub fn parameter_origin(reference: &ParameterRef, parameter: &Parameter) -> ExportOrigin {
    ExportOrigin {
        export: reference.as_str().to_owned(),
        exporting_stack_id: parameter.arn.clone(),
        parameter: Some(ParameterVersion { version: Some(parameter.version), modified_ms: parameter.modified_ms }),
    }
}

/// Which version of an SSM parameter a Data key holds. A version never changes once written, so it
/// (with the time it was written, which tells a recreated parameter's version 1 from the old one's)
/// says whether a read is current without keeping anything of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParameterVersion {
    /// `None` when the resource's default answered because the parameter was missing.
    pub version: Option<i64>,
    /// When the version was written, in ms since the epoch.
    pub modified_ms: i64,
}
