//! What a publisher publishes: exports and stack outputs, and where a read value came from.

use std::collections::BTreeMap;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOrigin {
    /// The export name, or `<StackName>.<OutputKey>` for a stack output.
    pub export: String,
    /// The ID of the stack that exports it or has the output; empty for a default.
    pub exporting_stack_id: String,
}
