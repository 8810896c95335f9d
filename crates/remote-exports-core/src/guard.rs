//! The export guard's decision: what a stack operation removes (exports, and outputs that
//! `StackOutputs` readers read), who in other accounts still reads it, and the message that says so.
//! Pure: the stack as it stands, the templates and the registry's records come in; a [`Verdict`]
//! goes out.

use std::fmt::Write as _;

use crate::read_record::ReadRecord;
use crate::template::{self, Parameters, UnreadableTemplate};

/// One output of the stack as it stands, as DescribeStacks returns it (export names resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentOutput {
    pub key: String,
    pub export_name: Option<String>,
}

/// The stack as it stands before the operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentStack {
    pub outputs: Vec<CurrentOutput>,
    /// Parameter values the stack runs with now.
    pub parameters: Parameters,
}

/// What the operation does to the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// A create or an update to `template`; `previous_template` when the caller has it, and the
    /// operation's own parameter values when known (a change set's).
    Deploy { template: String, previous_template: Option<String>, parameters: Option<Parameters> },
    /// The stack goes, and every output with it.
    Delete,
}

/// How an export or output goes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalKind {
    /// The output is gone from the template (with its export, if it had one).
    OutputRemoved,
    /// The output stays, its `Export` is gone.
    ExportRemoved,
    /// The output stays, exported under another name.
    ExportRenamed { to: String },
    /// It may go: the new `Export.Name` cannot be worked out before the operation runs and differs
    /// from the previous template's, or the output now depends on a `Condition` that may be false.
    Uncertain { reason: String },
    /// The stack is deleted.
    StackDeleted,
}

/// One export or output that the operation removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub output_key: String,
    /// The export name it had, if it was exported.
    pub export: Option<String>,
    pub kind: RemovalKind,
}

/// An output that stays but whose value expression changes: readers keep the old value until
/// their next read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueChange {
    pub output_key: String,
    pub export: Option<String>,
}

/// Everything an operation changes that a reader could notice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    pub removals: Vec<Removal>,
    pub value_changes: Vec<ValueChange>,
}

/// What the operation changes, from the stack as it stands (`None`: a new stack, or unknown) and
/// the templates. `pseudo` holds `AWS::StackName`, `AWS::Region`, `AWS::AccountId`, `AWS::Partition`
/// and `AWS::URLSuffix`, used to work out new export names.
pub fn changes(
    current: Option<&CurrentStack>,
    operation: &Operation,
    pseudo: &Parameters,
) -> Result<Changes, TemplateProblem> {
    let (template, previous, new_parameters) = match operation {
        Operation::Delete => {
            let removals = current.map_or_else(Vec::new, |stack| {
                let removal = |output: &CurrentOutput| Removal {
                    output_key: output.key.clone(),
                    export: output.export_name.clone(),
                    kind: RemovalKind::StackDeleted,
                };
                stack.outputs.iter().map(removal).collect()
            });
            return Ok(Changes { removals, value_changes: Vec::new() });
        }
        Operation::Deploy { template, previous_template, parameters } => {
            (template, previous_template.as_deref(), parameters.as_ref())
        }
    };
    let after = template::parse(template).map_err(TemplateProblem::New)?;
    let previous = previous.filter(|text| !text.trim().is_empty()).map(template::parse).transpose();
    let previous = previous.map_err(TemplateProblem::Previous)?;
    let previous_outputs = previous.as_ref().map(template::outputs).unwrap_or_default();

    let mut parameters = template::defaults(&after);
    if let Some(stack) = current {
        // The hook is not told new parameter values: the stack's current ones stand in for them.
        parameters.extend(stack.parameters.iter().map(clone_pair));
    }
    parameters.extend(new_parameters.into_iter().flatten().map(clone_pair));
    parameters.extend(pseudo.iter().map(clone_pair));

    // Before: the stack's own outputs when it exists (names as CloudFormation resolved them), else
    // the previous template's.
    let before: Vec<CurrentOutput> = match current {
        Some(stack) => stack.outputs.clone(),
        None => previous_outputs
            .iter()
            .map(|(key, output)| CurrentOutput {
                key: key.clone(),
                export_name: output
                    .export_name
                    .as_ref()
                    .and_then(|name| template::resolve_text(name, key, &parameters).ok()),
            })
            .collect(),
    };
    let after_outputs = template::outputs(&after);
    // Export names the new template still produces, under any output key: a move is not a removal.
    let still_exported: Vec<String> = after_outputs
        .iter()
        .filter_map(|(key, output)| output.export_name.as_ref().map(|name| (key, name)))
        .filter_map(|(key, name)| template::resolve_text(name, key, &parameters).ok())
        .collect();
    let mut changes = Changes::default();
    for output in before {
        let removal = |kind| Removal { output_key: output.key.clone(), export: output.export_name.clone(), kind };
        let moved = output.export_name.as_ref().is_some_and(|name| still_exported.contains(name));
        let Some(next) = after_outputs.get(&output.key) else {
            // A moved export lives on under another key; only a StackOutputs reader of this key loses.
            let export = if moved { None } else { output.export_name.clone() };
            changes.removals.push(Removal { output_key: output.key.clone(), export, kind: RemovalKind::OutputRemoved });
            continue;
        };
        let was = previous_outputs.get(&output.key);
        // An output that newly depends on a condition (or on a changed one) may not be created.
        if let Some((condition, definition)) = &next.condition
            && was.and_then(|w| w.condition.as_ref()) != Some(&(condition.clone(), definition.clone()))
        {
            let reason = format!("it depends on the Condition {condition}, which may be false after the operation");
            changes.removals.push(removal(RemovalKind::Uncertain { reason }));
            continue;
        }
        if let Some(name) = &output.export_name
            && !moved
        {
            match &next.export_name {
                None => changes.removals.push(removal(RemovalKind::ExportRemoved)),
                Some(expression) => {
                    let path = format!("Outputs.{}.Export.Name", output.key);
                    match template::resolve_text(expression, &path, &parameters) {
                        Ok(new) if &new == name => {}
                        Ok(new) => changes.removals.push(removal(RemovalKind::ExportRenamed { to: new })),
                        // The same expression as before names the same export.
                        Err(_) if was.and_then(|w| w.export_name.as_ref()) == Some(expression) => {}
                        Err(unresolved) => {
                            changes.removals.push(removal(RemovalKind::Uncertain { reason: unresolved.to_string() }))
                        }
                    }
                }
            }
        }
        if was.is_some_and(|was| was.value != next.value) {
            changes.value_changes.push(ValueChange { output_key: output.key.clone(), export: output.export_name });
        }
    }
    Ok(changes)
}

fn clone_pair((name, value): (&String, &String)) -> (String, String) {
    (name.clone(), value.clone())
}

/// A template in the operation that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("the new template cannot be read: {0}")]
    New(UnreadableTemplate),
    #[error("the previous template cannot be read: {0}")]
    Previous(UnreadableTemplate),
}

/// One consumer resource that reads what a change touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub consumer_account: String,
    pub stack_name: String,
    /// The consumer stack's region, from its StackId.
    pub region: String,
    pub logical_resource_id: String,
    /// The Data key it reads the value under.
    pub key: String,
    pub read_at: String,
}

impl Reader {
    fn describe(&self) -> String {
        format!(
            "account {} stack {} ({}) resource {} as {}, last read {}",
            self.consumer_account, self.stack_name, self.region, self.logical_resource_id, self.key, self.read_at
        )
    }
}

/// A change and the readers it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected<T> {
    pub change: T,
    pub readers: Vec<Reader>,
}

/// The guard's answer for one operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Removals that a live reader still reads: the operation must not go ahead.
    pub blocked: Vec<Affected<Removal>>,
    /// Removals nobody reads.
    pub unread: Vec<Removal>,
    /// Value changes, with whoever reads them (a warning, never a block).
    pub value_changes: Vec<Affected<ValueChange>>,
    /// How many reader records of this publisher were checked.
    pub records_checked: usize,
}

/// Who reads each change, among `records` (the registry's records of this publisher account and
/// region). A value read from `Defaults` does not count: the reader has its fallback. Nor does an SSM
/// parameter, even one whose name is an export's: the guard judges exports and outputs only, and
/// does not stop the removal of an `AWS::SSM::Parameter` that someone reads.
pub fn verdict(stack_name: &str, changes: Changes, records: &[ReadRecord]) -> Verdict {
    let readers_of = |output_key: &str, export: Option<&str>| -> Vec<Reader> {
        let output_ref = format!("{stack_name}.{output_key}");
        let mut readers: Vec<Reader> = records
            .iter()
            .flat_map(|record| {
                record
                    .exports
                    .iter()
                    .filter(|read| !read.defaulted && read.parameter.is_none())
                    .filter(|read| Some(read.export.as_str()) == export || read.export == output_ref)
                    .map(|read| Reader {
                        consumer_account: record.consumer_account.clone(),
                        stack_name: record.stack_name.clone(),
                        region: record.stack_id.split(':').nth(3).unwrap_or("?").to_owned(),
                        logical_resource_id: record.logical_resource_id.clone(),
                        key: read.key.clone(),
                        read_at: record.read_at.clone(),
                    })
            })
            .collect();
        readers.sort_by(|a, b| {
            (&a.consumer_account, &a.stack_name, &a.key).cmp(&(&b.consumer_account, &b.stack_name, &b.key))
        });
        readers
    };
    let mut verdict = Verdict { records_checked: records.len(), ..Verdict::default() };
    for removal in changes.removals {
        let readers = readers_of(&removal.output_key, removal.export.as_deref());
        if readers.is_empty() {
            verdict.unread.push(removal);
        } else {
            verdict.blocked.push(Affected { change: removal, readers });
        }
    }
    for change in changes.value_changes {
        let readers = readers_of(&change.output_key, change.export.as_deref());
        verdict.value_changes.push(Affected { change, readers });
    }
    verdict
}

impl Verdict {
    pub fn is_blocked(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// The one message a publisher reads in the stack's events (the hook response cuts it to
    /// CloudFormation's 4096 characters; `remote-exports check` prints it all).
    pub fn message(&self) -> String {
        let mut text = String::new();
        if self.is_blocked() {
            let count = self.blocked.len();
            let _ = writeln!(
                text,
                "{count} export(s) or output(s) that other stacks read through remote-exports would be removed:"
            );
            for affected in &self.blocked {
                let _ = writeln!(text, "- {}: read by", describe_removal(&affected.change));
                for reader in &affected.readers {
                    let _ = writeln!(text, "  - {}", reader.describe());
                }
            }
            text.push_str(
                "Update those readers to stop reading it, or delete them, and run this operation again; \
                 or set the hook's FailureMode to WARN to let it through. \
                 `remote-exports readers --export NAME` lists the readers.",
            );
        } else {
            let removed = self.unread.len();
            let _ = write!(
                text,
                "Nothing that another stack reads through remote-exports is removed ({removed} removal(s), {} reader record(s) checked).",
                self.records_checked
            );
        }
        for affected in self.value_changes.iter().filter(|a| !a.readers.is_empty()) {
            let change = &affected.change;
            let name = subject(change.export.as_deref(), &change.output_key);
            let _ = write!(
                text,
                "\nWarning: {name} changes its value; {} reader(s) keep the old value until their next Update ({}).",
                affected.readers.len(),
                affected.readers.iter().map(Reader::describe).collect::<Vec<_>>().join("; ")
            );
        }
        text
    }
}

/// "export <name>", or "output <key>" when it is not exported.
pub fn subject(export: Option<&str>, output_key: &str) -> String {
    export.map_or_else(|| format!("output {output_key}"), |export| format!("export {export}"))
}

fn describe_removal(removal: &Removal) -> String {
    let what = match &removal.export {
        Some(export) => format!("export {export} (output {})", removal.output_key),
        None => format!("output {}", removal.output_key),
    };
    let how = match &removal.kind {
        RemovalKind::OutputRemoved => "the output is removed".to_owned(),
        RemovalKind::ExportRemoved => "the output is no longer exported".to_owned(),
        RemovalKind::ExportRenamed { to } => format!("renamed to {to}"),
        RemovalKind::Uncertain { reason } => format!("it may be removed: {reason}"),
        RemovalKind::StackDeleted => "the stack is deleted".to_owned(),
    };
    format!("{what}, {how}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_record::{PublisherRef, ReadExport};

    const BEFORE: &str = r#"
Parameters:
  Env: {Type: String, Default: dev}
Outputs:
  BookingTopicArn:
    Value: !Ref Topic
    Export: {Name: !Sub '${AWS::StackName}-BookingTopicArn'}
  QueueUrl:
    Value: !Ref Queue
    Export: {Name: !Sub '${AWS::StackName}-${Env}-QueueUrl'}
  TableName:
    Value: !Ref Table
"#;

    fn pseudo() -> Parameters {
        Parameters::from([("AWS::StackName".into(), "booking".into()), ("AWS::Region".into(), "eu-west-1".into())])
    }

    fn current() -> CurrentStack {
        let output =
            |key: &str, export: Option<&str>| CurrentOutput { key: key.into(), export_name: export.map(Into::into) };
        CurrentStack {
            outputs: vec![
                output("BookingTopicArn", Some("booking-BookingTopicArn")),
                output("QueueUrl", Some("booking-prod-QueueUrl")),
                output("TableName", None),
            ],
            parameters: Parameters::from([("Env".into(), "prod".into())]),
        }
    }

    fn deploy(template: &str) -> Operation {
        Operation::Deploy { template: template.into(), previous_template: Some(BEFORE.into()), parameters: None }
    }

    fn record(account: &str, stack: &str, reads: &[(&str, &str)]) -> ReadRecord {
        ReadRecord {
            stack_id: format!("arn:aws:cloudformation:us-east-1:{account}:stack/{stack}/1"),
            logical_resource_id: "Lookup".into(),
            consumer_account: account.into(),
            stack_name: stack.into(),
            source: PublisherRef { account: "222222222222".into(), region: "eu-west-1".into(), role_arn: None },
            exports: reads
                .iter()
                .map(|(key, export)| ReadExport {
                    key: (*key).into(),
                    export: (*export).into(),
                    fingerprint: "f".into(),
                    defaulted: false,
                    parameter: None,
                })
                .collect(),
            read_at: "2026-12-01T10:00:00Z".into(),
            request_type: "Create".into(),
            no_echo: false,
            fingerprint_scheme: "s".into(),
            physical_resource_id: None,
            alerted: Default::default(),
        }
    }

    #[test]
    fn an_unchanged_template_removes_nothing_even_where_a_parameter_names_the_export() {
        let changes = changes(Some(&current()), &deploy(BEFORE), &pseudo()).unwrap();
        assert_eq!(changes, Changes::default());
    }

    #[test]
    fn removed_renamed_unexported_and_changed_outputs_are_told_apart() {
        let after = r#"
Parameters:
  Env: {Type: String, Default: dev}
Outputs:
  BookingTopicArn:
    Value: !GetAtt Topic.TopicArn
    Export: {Name: !Sub '${AWS::StackName}-BookingTopicArn'}
  QueueUrl:
    Value: !Ref Queue
    Export: {Name: !Sub '${AWS::StackName}-${Env}-Queue'}
"#;
        let changes = changes(Some(&current()), &deploy(after), &pseudo()).unwrap();
        assert_eq!(
            changes.removals,
            vec![
                Removal {
                    output_key: "QueueUrl".into(),
                    export: Some("booking-prod-QueueUrl".into()),
                    kind: RemovalKind::ExportRenamed { to: "booking-prod-Queue".into() }
                },
                Removal { output_key: "TableName".into(), export: None, kind: RemovalKind::OutputRemoved },
            ]
        );
        assert_eq!(
            changes.value_changes,
            vec![ValueChange { output_key: "BookingTopicArn".into(), export: Some("booking-BookingTopicArn".into()) }]
        );
        let unexported = BEFORE.replace("    Export: {Name: !Sub '${AWS::StackName}-BookingTopicArn'}\n", "");
        let removed = super::changes(Some(&current()), &deploy(&unexported), &pseudo()).unwrap().removals;
        assert_eq!(removed[0].kind, RemovalKind::ExportRemoved);
    }

    #[test]
    fn a_name_that_cannot_be_worked_out_is_uncertain_unless_its_expression_is_unchanged() {
        let imported = BEFORE.replace("!Sub '${AWS::StackName}-BookingTopicArn'", "!ImportValue naming-Prefix");
        let uncertain = changes(Some(&current()), &deploy(&imported), &pseudo()).unwrap().removals;
        assert!(matches!(uncertain[0].kind, RemovalKind::Uncertain { .. }), "{uncertain:?}");
        let both =
            Operation::Deploy { template: imported.clone(), previous_template: Some(imported), parameters: None };
        assert_eq!(changes(Some(&current()), &both, &pseudo()).unwrap(), Changes::default());
    }

    #[test]
    fn a_new_condition_may_remove_an_output_and_a_moved_export_is_not_removed() {
        let conditional = BEFORE.replace(
            "  BookingTopicArn:\n    Value: !Ref Topic\n",
            "  BookingTopicArn:\n    Condition: Never\n    Value: !Ref Topic\n",
        );
        let removed = changes(Some(&current()), &deploy(&conditional), &pseudo()).unwrap().removals;
        assert!(
            matches!(&removed[0].kind, RemovalKind::Uncertain { reason } if reason.contains("Condition Never")),
            "{removed:?}"
        );
        // The queue's export moves to a new key: only a StackOutputs reader of the old key loses.
        let moved = BEFORE.replace("  QueueUrl:\n", "  Queue:\n");
        let removed = changes(Some(&current()), &deploy(&moved), &pseudo()).unwrap().removals;
        assert_eq!(
            removed,
            vec![Removal { output_key: "QueueUrl".into(), export: None, kind: RemovalKind::OutputRemoved }]
        );
    }

    #[test]
    fn a_change_sets_parameter_values_name_its_exports() {
        let operation = Operation::Deploy {
            template: BEFORE.into(),
            previous_template: Some(BEFORE.into()),
            parameters: Some(Parameters::from([("Env".into(), "test".into())])),
        };
        let removed = changes(Some(&current()), &operation, &pseudo()).unwrap().removals;
        assert_eq!(removed[0].kind, RemovalKind::ExportRenamed { to: "booking-test-QueueUrl".into() });
    }

    #[test]
    fn a_delete_removes_every_output_and_a_new_stack_removes_nothing() {
        let removed = changes(Some(&current()), &Operation::Delete, &pseudo()).unwrap().removals;
        assert_eq!(removed.len(), 3);
        assert!(removed.iter().all(|r| r.kind == RemovalKind::StackDeleted));
        let create = Operation::Deploy { template: BEFORE.into(), previous_template: None, parameters: None };
        assert_eq!(changes(None, &create, &pseudo()).unwrap(), Changes::default());
    }

    #[test]
    fn unreadable_templates_say_which() {
        let broken = Operation::Deploy { template: "Outputs: [".into(), previous_template: None, parameters: None };
        let error = changes(None, &broken, &pseudo()).unwrap_err();
        assert!(
            error.to_string().starts_with("the new template cannot be read") && error.to_string().contains("line"),
            "{error}"
        );
    }

    #[test]
    fn readers_of_exports_and_of_stack_outputs_block_defaults_do_not() {
        let removed = changes(Some(&current()), &Operation::Delete, &pseudo()).unwrap();
        let mut defaulted = record("444444444444", "hotel", &[("Queue", "booking-prod-QueueUrl")]);
        defaulted.exports[0].defaulted = true;
        // A parameter that shares the export's name is not the export.
        let mut parameter = record("555555555555", "flags", &[("Topic", "booking-BookingTopicArn")]);
        parameter.exports[0].parameter = Some(crate::ParameterVersion { version: Some(1), modified_ms: 0 });
        let records = [
            record("111111111111", "airmiles", &[("Topic", "booking-BookingTopicArn")]),
            record("333333333333", "reports", &[("booking.TableName", "booking.TableName")]),
            defaulted,
            parameter,
        ];
        let verdict = verdict("booking", removed, &records);
        assert!(verdict.is_blocked());
        let blocked: Vec<(&str, &str)> = verdict
            .blocked
            .iter()
            .map(|a| (a.change.output_key.as_str(), a.readers[0].consumer_account.as_str()))
            .collect();
        assert_eq!(blocked, [("BookingTopicArn", "111111111111"), ("TableName", "333333333333")]);
        assert!(verdict.blocked.iter().all(|affected| affected.readers.len() == 1));
        assert_eq!(verdict.unread.len(), 1);
        let message = verdict.message();
        assert!(
            message.contains("export booking-BookingTopicArn (output BookingTopicArn), the stack is deleted"),
            "{message}"
        );
        assert!(message.contains("account 111111111111 stack airmiles (us-east-1) resource Lookup as Topic, last read 2026-12-01T10:00:00Z"), "{message}");
        assert!(message.contains("FailureMode to WARN"), "{message}");
    }
}
