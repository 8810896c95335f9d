//! `remote-exports check`: the export guard's decision for a template or change set, before a
//! deploy, printed for a person or a pipeline.

use aws_config::SdkConfig;
use cloudformation_custom_resource::Status;
use remote_exports_app::{ExportGuard, GuardScope, Proposed};
use remote_exports_aws::{CloudFormationStacks, caller_account, guard_registry};
use remote_exports_core::{Reader, RemovalKind, Verdict};
use serde_json::{Value, json};

use crate::RunError;
use crate::args::OutputFormat;

pub struct Check {
    pub stack: String,
    /// The stack's region; `sdk` is configured for it.
    pub region: String,
    pub proposed: Proposed,
    pub table: String,
    pub registry_role: Option<String>,
}

pub async fn run(sdk: &SdkConfig, check: Check, output: OutputFormat) -> Result<Status, RunError> {
    let Check { stack, region, proposed, table, registry_role } = check;
    // The account is the one the credentials belong to, as STS says: the same key IAM pins the
    // registry query to.
    let account = caller_account(sdk).await?;
    let registry = guard_registry(sdk, &table, registry_role.as_deref(), &account);
    let scope = GuardScope { account: account.clone(), region: region.clone() };
    let verdict = ExportGuard::new(CloudFormationStacks::new(sdk), registry, scope).check(&stack, proposed).await?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&verdict_json(&stack, &verdict))?),
        OutputFormat::Table => print_table(&stack, &account, &region, &verdict),
    }
    Ok(if verdict.is_blocked() { Status::Failed } else { Status::Success })
}

fn print_table(stack: &str, account: &str, region: &str, verdict: &Verdict) {
    println!("Stack {stack} in account {account}, {region}: {} reader record(s) checked", verdict.records_checked);
    if verdict.blocked.is_empty() && verdict.unread.is_empty() && verdict.value_changes.is_empty() {
        println!("Nothing is removed or changed.");
    }
    for affected in &verdict.blocked {
        println!(
            "BLOCKED  {}  ({})",
            name(affected.change.export.as_deref(), &affected.change.output_key),
            kind(&affected.change.kind)
        );
        for reader in &affected.readers {
            println!("         read by {}", describe(reader));
        }
    }
    for removal in &verdict.unread {
        println!(
            "removed  {}  ({}): nobody reads it",
            name(removal.export.as_deref(), &removal.output_key),
            kind(&removal.kind)
        );
    }
    for affected in &verdict.value_changes {
        let change = &affected.change;
        println!(
            "changed  {}: {} reader(s) keep the old value until their next Update",
            name(change.export.as_deref(), &change.output_key),
            affected.readers.len()
        );
        for reader in &affected.readers {
            println!("         read by {}", describe(reader));
        }
    }
    if verdict.is_blocked() {
        println!("Update or delete those readers first; the export guard would stop this deploy (FailureMode FAIL).");
    }
}

fn name(export: Option<&str>, output_key: &str) -> String {
    export.map_or_else(|| format!("output {output_key}"), |export| format!("export {export} (output {output_key})"))
}

fn kind(kind: &RemovalKind) -> String {
    match kind {
        RemovalKind::OutputRemoved => "output removed".to_owned(),
        RemovalKind::ExportRemoved => "no longer exported".to_owned(),
        RemovalKind::ExportRenamed { to } => format!("renamed to {to}"),
        RemovalKind::Uncertain { reason } => format!("may be removed: {reason}"),
        RemovalKind::StackDeleted => "stack deleted".to_owned(),
    }
}

fn describe(reader: &Reader) -> String {
    format!(
        "{}/{} ({}) {} as {}, last read {}",
        reader.consumer_account,
        reader.stack_name,
        reader.region,
        reader.logical_resource_id,
        reader.key,
        reader.read_at
    )
}

fn reader_json(reader: &Reader) -> Value {
    json!({
        "ConsumerAccount": reader.consumer_account,
        "StackName": reader.stack_name,
        "Region": reader.region,
        "LogicalResourceId": reader.logical_resource_id,
        "Key": reader.key,
        "ReadAt": reader.read_at,
    })
}

fn verdict_json(stack: &str, verdict: &Verdict) -> Value {
    let removal = |export: &Option<String>, output_key: &str, kind_of: &RemovalKind, readers: &[Reader]| {
        json!({
            "Export": export,
            "OutputKey": output_key,
            "Change": kind(kind_of),
            "Readers": readers.iter().map(reader_json).collect::<Vec<_>>(),
        })
    };
    json!({
        "Stack": stack,
        "Blocked": verdict.is_blocked(),
        "ReaderRecordsChecked": verdict.records_checked,
        "Removals": verdict
            .blocked
            .iter()
            .map(|a| removal(&a.change.export, &a.change.output_key, &a.change.kind, &a.readers))
            .chain(verdict.unread.iter().map(|r| removal(&r.export, &r.output_key, &r.kind, &[])))
            .collect::<Vec<_>>(),
        "ValueChanges": verdict
            .value_changes
            .iter()
            .map(|a| json!({
                "Export": a.change.export,
                "OutputKey": a.change.output_key,
                "Readers": a.readers.iter().map(reader_json).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>(),
    })
}
