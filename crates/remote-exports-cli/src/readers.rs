//! `readers` and `stale`: the read registry seen from the publisher's side and the consumer's.

use aws_config::SdkConfig;
use remote_exports_aws::DynamoDbRegistry;
use remote_exports_core::{
    AuditReport, ParameterRef, ParameterVersion, ReadExport, ReadRecord, ReadRegistry, StaleRead,
};
use serde_json::{Value, json};

use crate::RunError;
use crate::args::OutputFormat;
use crate::print::table_of as print_table;

/// Which readers to show.
#[derive(Debug, Default)]
pub struct ReaderFilter {
    /// An export name, or a `<StackName>.<OutputKey>`.
    pub export: Option<String>,
    pub prefix: Option<String>,
    /// An SSM parameter's name, or a reference as a resource wrote it.
    pub parameter: Option<String>,
    pub source_account: Option<String>,
    pub region: Option<String>,
}

impl ReaderFilter {
    fn matches(&self, record: &ReadRecord) -> bool {
        let reads = |wanted: &dyn Fn(&str) -> bool| {
            record.exports.iter().filter(|e| e.parameter.is_none()).any(|e| wanted(&e.export))
        };
        let reads_parameter = |wanted: &str| {
            record.exports.iter().filter(|e| e.parameter.is_some()).any(|e| {
                e.export == wanted || ParameterRef::parse(&e.export).is_ok_and(|reference| reference.name() == wanted)
            })
        };
        self.export.as_deref().is_none_or(|name| reads(&|export| export == name))
            && self.prefix.as_deref().is_none_or(|prefix| reads(&|export| export.starts_with(prefix)))
            && self.parameter.as_deref().is_none_or(reads_parameter)
            && self.source_account.as_deref().is_none_or(|account| record.source.account == account)
            && self.region.as_deref().is_none_or(|region| record.source.region == region)
    }
}

pub fn registry(sdk: &SdkConfig, table: Option<String>) -> Result<DynamoDbRegistry, RunError> {
    let table = table.ok_or_else(|| RunError::Usage("no reads table: pass --table or set READS_TABLE".into()))?;
    Ok(DynamoDbRegistry::new(sdk, &table))
}

/// Who reads what: one Scan, filtered here.
pub async fn readers(registry: &DynamoDbRegistry, filter: &ReaderFilter, output: OutputFormat) -> Result<(), RunError> {
    let mut records: Vec<ReadRecord> =
        registry.scan().await?.into_iter().filter(|record| filter.matches(record)).collect();
    records.sort_by(|a, b| (&a.stack_name, &a.logical_resource_id).cmp(&(&b.stack_name, &b.logical_resource_id)));
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
    let records: Vec<ReadRecord> = registry
        .scan()
        .await?
        .into_iter()
        .filter(|r| r.stack_id == stack_id && logical_id.is_none_or(|id| r.logical_resource_id == id))
        .collect();
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
            "Forget {} reader(s) of stack {stack_name} in account {}? The export guard will no longer protect              what they read. Type the stack name to confirm: ",
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
    for record in &records {
        let reader = remote_exports_core::reader_key(&record.stack_id, &record.logical_resource_id);
        // Only the record shown: one that another PhysicalResourceId wrote meanwhile is live, and stays.
        if !registry.forget(&reader, record.physical_resource_id.as_deref()).await? {
            eprintln!("{reader}: another PhysicalResourceId wrote it since it was shown, so it is live and was kept");
            continue;
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
    use remote_exports_core::PublisherRef;

    fn record(exports: &[&str], account: &str, region: &str) -> ReadRecord {
        ReadRecord {
            stack_id: "s".into(),
            logical_resource_id: "L".into(),
            consumer_account: "111111111111".into(),
            stack_name: "airmiles".into(),
            source: PublisherRef { account: account.into(), region: region.into(), role_arn: None },
            exports: exports
                .iter()
                .map(|e| ReadExport {
                    key: e.to_string(),
                    export: e.to_string(),
                    fingerprint: "f".into(),
                    defaulted: false,
                    parameter: e.starts_with('/').then_some(ParameterVersion { version: Some(2), modified_ms: 0 }),
                })
                .collect(),
            read_at: "t".into(),
            request_type: "Create".into(),
            no_echo: false,
            fingerprint_scheme: "v".into(),
            physical_resource_id: None,
            alerted: Default::default(),
        }
    }

    #[test]
    fn filters_combine() {
        let reader = record(&["booking-topic", "booking-queue"], "222222222222", "eu-west-1");
        let filter = |f: ReaderFilter| f.matches(&reader);
        assert!(filter(ReaderFilter::default()));
        assert!(filter(ReaderFilter { export: Some("booking-topic".into()), ..Default::default() }));
        assert!(!filter(ReaderFilter { export: Some("booking".into()), ..Default::default() }));
        assert!(filter(ReaderFilter { prefix: Some("booking-".into()), ..Default::default() }));
        assert!(!filter(ReaderFilter { prefix: Some("hotel-".into()), ..Default::default() }));
        let wrong_account = ReaderFilter { source_account: Some("333333333333".into()), ..Default::default() };
        assert!(!filter(wrong_account));
        let both = ReaderFilter {
            source_account: Some("222222222222".into()),
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        assert!(!filter(both));
        let parameter_reader = record(&["/booking/prod/topic:3", "booking-topic"], "222222222222", "eu-west-1");
        let by =
            |name: &str| ReaderFilter { parameter: Some(name.into()), ..Default::default() }.matches(&parameter_reader);
        assert!(by("/booking/prod/topic") && by("/booking/prod/topic:3"));
        assert!(!by("booking-topic"), "an export is not a parameter");
        let export = ReaderFilter { export: Some("/booking/prod/topic:3".into()), ..Default::default() };
        assert!(!export.matches(&parameter_reader), "a parameter is not an export");
        assert_eq!(read_label(&parameter_reader.exports[0]), "ssm:/booking/prod/topic:3@2");
    }
}
