//! `readers`, `prune` and `stale`: the read registry seen from the publisher's side and the
//! consumer's, as the use cases of `remote-exports-app` return it, printed.

use aws_config::SdkConfig;
use remote_exports_app::{Pruned, ReaderFilter, forget_shown, readers_of_stack};
use remote_exports_aws::DynamoDbRegistry;
use remote_exports_core::{AuditReport, ParameterVersion, ReadExport, ReadRecord, StaleRead};
use serde_json::{Value, json};

use crate::RunError;
use crate::args::OutputFormat;
use crate::print::table_of as print_table;

pub fn registry(sdk: &SdkConfig, table: Option<String>) -> Result<DynamoDbRegistry, RunError> {
    let table = table.ok_or_else(|| RunError::Usage("no reads table: pass --table or set READS_TABLE".into()))?;
    Ok(DynamoDbRegistry::new(sdk, &table))
}

/// Who reads what: one Scan, filtered here.
pub async fn readers(registry: &DynamoDbRegistry, filter: &ReaderFilter, output: OutputFormat) -> Result<(), RunError> {
    let records = remote_exports_app::readers(registry, filter).await?;
    match output {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&records.iter().map(reader_json).collect::<Vec<_>>())?)
        }
        OutputFormat::Table => {
            let rows: Vec<[String; 6]> = records
                .iter()
                .map(|r| {
                    let exports: Vec<String> = r.exports.iter().map(read_label).collect();
                    [
                        format!("{}/{}", r.stack_name, r.logical_resource_id),
                        r.consumer_account.clone(),
                        r.source.account.clone(),
                        r.source.region.clone(),
                        exports.join(","),
                        r.read_at.clone(),
                    ]
                })
                .collect();
            print_table(["READER", "CONSUMER", "SOURCE", "REGION", "EXPORTS", "READ AT"], &rows);
            eprintln!("{} reader(s) in {}", records.len(), registry.table());
        }
    }
    Ok(())
}

/// Forgets the readers of `stack_id` (one, with `logical_id`) after showing when each last read and
/// what, and after the stack's name is typed back (or `yes`). Each forgotten reader is one JSON line
/// on stderr, for the operator's log; CloudTrail has the DeleteItem too.
pub async fn prune(
    registry: &DynamoDbRegistry,
    stack_id: &str,
    logical_id: Option<&str>,
    yes: bool,
) -> Result<(), RunError> {
    let records = readers_of_stack(registry, stack_id, logical_id).await?;
    let Some(first) = records.first() else {
        let which = logical_id.map_or_else(String::new, |id| format!(" with LogicalResourceId {id}"));
        return Err(RunError::Run(format!("no reader of {stack_id}{which} is recorded in {}", registry.table())));
    };
    let stack_name = first.stack_name.clone();
    let rows: Vec<[String; 5]> = records
        .iter()
        .map(|r| {
            let reads: Vec<String> = r.exports.iter().map(read_label).collect();
            [
                format!("{}/{}", r.stack_name, r.logical_resource_id),
                r.consumer_account.clone(),
                format!("{} {}", r.source.account, r.source.region),
                reads.join(","),
                r.read_at.clone(),
            ]
        })
        .collect();
    print_table(["READER", "CONSUMER", "SOURCE", "READS", "LAST READ AT"], &rows);
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            return Err(RunError::Usage(
                "nothing was forgotten: confirm on a terminal, or pass --yes in a script".to_owned(),
            ));
        }
        eprint!(
            "Forget {} reader(s) of stack {stack_name} in account {}? The export guard will no longer protect \
             what they read. Type the stack name to confirm: ",
            records.len(),
            first.consumer_account
        );
        std::io::stderr().flush()?;
        let mut typed = String::new();
        std::io::stdin().lock().read_line(&mut typed)?;
        if typed.trim() != stack_name {
            return Err(RunError::Usage("nothing was forgotten: the name did not match".to_owned()));
        }
    }
    let mut forgotten = 0;
    // Each reader's line as soon as it is forgotten: a later failure leaves the earlier ones said.
    let said = forget_shown(registry, &records, |record, reader, pruned| {
        if pruned == Pruned::KeptAsLive {
            eprintln!("{reader}: another PhysicalResourceId wrote it since it was shown, so it is live and was kept");
            return;
        }
        forgotten += 1;
        let line = json!({
            "event": "reader pruned",
            "stack_id": record.stack_id,
            "logical_resource_id": record.logical_resource_id,
            "consumer_account": record.consumer_account,
            "source_account": record.source.account,
            "region": record.source.region,
            "last_read_at": record.read_at,
            "reads": record.exports.iter().map(read_label).collect::<Vec<_>>(),
            "table": registry.table(),
        });
        eprintln!("{line}");
    })
    .await;
    if let Err(error) = said {
        eprintln!("{forgotten} reader(s) of {stack_name} forgotten before the registry failed");
        return Err(error.into());
    }
    eprintln!("{forgotten} reader(s) of {stack_name} forgotten");
    Ok(())
}

/// An export or output by name; a parameter as `ssm:<reference>@<version>`.
fn read_label(read: &ReadExport) -> String {
    match &read.parameter {
        Some(ParameterVersion { version: Some(version), .. }) => format!("ssm:{}@{version}", read.export),
        Some(_) => format!("ssm:{}", read.export),
        None => read.export.clone(),
    }
}

fn reader_json(record: &ReadRecord) -> Value {
    let parameters: Vec<Value> = record
        .exports
        .iter()
        .filter_map(|e| e.parameter.map(|p| json!({"parameter": e.export, "data_key": e.key, "version": p.version})))
        .collect();
    json!({
        "stack_id": record.stack_id,
        "stack_name": record.stack_name,
        "logical_resource_id": record.logical_resource_id,
        "consumer_account": record.consumer_account,
        "source_account": record.source.account,
        "region": record.source.region,
        "role_arn": record.source.role_arn,
        "exports": record.exports.iter().filter(|e| e.parameter.is_none()).map(|e| e.export.as_str()).collect::<Vec<_>>(),
        "parameters": parameters,
        "data_keys": record.exports.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
        "defaulted": record.exports.iter().filter(|e| e.defaulted).map(|e| e.key.as_str()).collect::<Vec<_>>(),
        "read_at": record.read_at,
        "request_type": record.request_type,
    })
}

/// Prints the stale reads; `true` when there are any.
pub fn print_stale(report: &AuditReport, output: OutputFormat) -> Result<bool, RunError> {
    match output {
        OutputFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report.stale.iter().map(StaleRead::event_detail).collect::<Vec<_>>())?
            )
        }
        OutputFormat::Table => {
            let rows: Vec<[String; 5]> = report
                .stale
                .iter()
                .map(|s| {
                    [
                        format!("{}/{}", s.stack_name, s.logical_resource_id),
                        s.export.clone(),
                        s.state.as_str().to_owned(),
                        format!("{} {}", s.source.account, s.source.region),
                        s.advice(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                print_table(["READER", "EXPORT", "STATE", "SOURCE", "WHAT TO DO"], &rows);
            }
            let sources = report.sources.len();
            eprintln!(
                "{} stale read(s) among {} reader(s); {sources} source(s) read once each",
                report.stale.len(),
                report.readers
            );
        }
    }
    for check in report.unchecked() {
        eprintln!(
            "warning: {} reader(s) of {} not checked: {}",
            check.readers,
            check.source.describe(),
            check.error.as_ref().map(ToString::to_string).unwrap_or_default()
        );
    }
    Ok(!report.stale.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_read_is_labelled_with_its_version() {
        let read = ReadExport {
            key: "Topic".into(),
            export: "/booking/prod/topic:3".into(),
            fingerprint: "f".into(),
            defaulted: false,
            parameter: Some(ParameterVersion { version: Some(2), modified_ms: 0 }),
        };
        assert_eq!(read_label(&read), "ssm:/booking/prod/topic:3@2");
    }
}
