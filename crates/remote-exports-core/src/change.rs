//! Change events: a publisher account's own word that something its readers may hold changed (a
//! stack reached a status that changes outputs and exports, or an SSM parameter was written), as
//! EventBridge delivers it to the central bus. The event only says *where* to look: what changed is
//! always read from the publisher itself, so a forged event can at most cause a re-check.
//!
//! Trusted: the envelope's `account` and `region` (EventBridge sets them to where the event
//! happened; no `PutEvents` caller may send an `aws.*` source). The `detail` is only as good as its
//! producer, so a stack ARN in it must name the envelope's own account and region.

use serde_json::Value;

use crate::parameter::ParameterRef;
use crate::properties::{is_region_name, output_ref};
use crate::read_record::{ReadExport, ReadRecord};

/// The EventBridge `detail-type` of CloudFormation's stack status events.
pub const STACK_STATUS_CHANGE: &str = "CloudFormation Stack Status Change";
/// The EventBridge `detail-type` of SSM Parameter Store's events.
pub const PARAMETER_STORE_CHANGE: &str = "Parameter Store Change";

/// Stack statuses after which a stack's outputs and exports may differ from before: an operation
/// that completed, or rolled back to the previous outputs (which a reader may have read between).
pub const OUTPUT_CHANGING_STATUSES: &[&str] = &[
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "DELETE_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
];

/// SSM operations after which what a reference reads may differ (a label moved, a version written
/// or deleted).
pub const PARAMETER_OPERATIONS: &[&str] = &["Create", "Update", "Delete", "LabelParameterVersion"];

/// What changed in the publisher's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Stack { name: String, stack_id: String, status: String },
    Parameter { name: String, operation: String },
}

/// One change event, checked: the account and region it happened in, what changed, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceChange {
    pub account: String,
    pub region: String,
    pub changed: Changed,
    /// The EventBridge event's `id`, for the logs.
    pub event_id: String,
    /// When it happened (the envelope's `time`), in ms since the epoch.
    pub at_ms: u64,
}

/// Why an event is not a change this function acts on. Each text says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedChange {
    #[error(
        "not a change event: expected source aws.cloudformation with detail-type '{STACK_STATUS_CHANGE}', or \
         aws.ssm with '{PARAMETER_STORE_CHANGE}'"
    )]
    NotAChangeEvent,
    #[error("the change event has no valid {0}")]
    Malformed(&'static str),
    /// The detail names a stack of another account or region than the one the event came from.
    #[error("the event came from account {account} in {region}, but its detail names {named}")]
    ForeignDetail { account: String, region: String, named: String },
}

/// An event that is a change of the right kind but leaves what readers hold as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// A stack status that changes no outputs (`UPDATE_IN_PROGRESS`, a failure).
    StackStatus(String),
    /// An SSM operation that changes no value a reference reads.
    ParameterOperation(String),
}

impl SourceChange {
    /// The change an EventBridge event (as a Lambda target receives it) reports, `Ok(Err(_))` for a
    /// change of no consequence to readers, or why it is refused.
    pub fn from_event(event: &Value) -> Result<Result<SourceChange, Ignored>, RefusedChange> {
        let text = |field: &str| event.get(field).and_then(Value::as_str);
        let account = text("account")
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(RefusedChange::Malformed("account"))?;
        let region = text("region").filter(|r| is_region_name(r)).ok_or(RefusedChange::Malformed("region"))?;
        let event_id = text("id").filter(|id| !id.is_empty()).ok_or(RefusedChange::Malformed("id"))?;
        let at_ms = text("time")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
            .ok_or(RefusedChange::Malformed("time"))?;
        let detail = event.get("detail").filter(|d| d.is_object()).ok_or(RefusedChange::Malformed("detail"))?;
        let field = |name: &str| detail.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
        let changed = match (text("source"), text("detail-type")) {
            (Some("aws.cloudformation"), Some(STACK_STATUS_CHANGE)) => {
                let stack_id = field("stack-id").ok_or(RefusedChange::Malformed("detail.stack-id"))?;
                let status = detail
                    .pointer("/status-details/status")
                    .and_then(Value::as_str)
                    .ok_or(RefusedChange::Malformed("detail.status-details.status"))?;
                let (arn_region, arn_account, name) =
                    stack_arn(stack_id).ok_or(RefusedChange::Malformed("detail.stack-id"))?;
                if (arn_account, arn_region) != (account, region) {
                    return Err(foreign(account, region, stack_id));
                }
                if !OUTPUT_CHANGING_STATUSES.contains(&status) {
                    return Ok(Err(Ignored::StackStatus(status.to_owned())));
                }
                Changed::Stack { name: name.to_owned(), stack_id: stack_id.to_owned(), status: status.to_owned() }
            }
            (Some("aws.ssm"), Some(PARAMETER_STORE_CHANGE)) => {
                let name = field("name").ok_or(RefusedChange::Malformed("detail.name"))?;
                let operation = field("operation").ok_or(RefusedChange::Malformed("detail.operation"))?;
                let reference = ParameterRef::parse(name).map_err(|_| RefusedChange::Malformed("detail.name"))?;
                // An ARN in the detail, or in `resources`, must be of the event's own account.
                let resources = event.get("resources").and_then(Value::as_array).into_iter().flatten();
                for arn in resources.filter_map(Value::as_str).chain(reference.is_arn().then_some(name)) {
                    let mut parts = arn.split(':').skip(3);
                    if (parts.next(), parts.next()) != (Some(region), Some(account)) {
                        return Err(foreign(account, region, arn));
                    }
                }
                if !PARAMETER_OPERATIONS.contains(&operation) {
                    return Ok(Err(Ignored::ParameterOperation(operation.to_owned())));
                }
                Changed::Parameter { name: reference.name().to_owned(), operation: operation.to_owned() }
            }
            _ => return Err(RefusedChange::NotAChangeEvent),
        };
        Ok(Ok(SourceChange {
            account: account.to_owned(),
            region: region.to_owned(),
            changed,
            event_id: event_id.to_owned(),
            at_ms,
        }))
    }

    /// What a check of this change covers, across events: a later event for the same target is
    /// covered by a check that started after it happened.
    pub fn target(&self) -> String {
        match &self.changed {
            Changed::Stack { name, .. } => format!("{}|{}|stack|{name}", self.account, self.region),
            Changed::Parameter { name, .. } => format!("{}|{}|parameter|{name}", self.account, self.region),
        }
    }

    /// Whether `read` may hold what changed: for a stack, any export (ListExports does not say which
    /// stack exported a name that is gone) and the stack's own outputs; for a parameter, references
    /// to it by name or by this account's ARN.
    pub fn concerns(&self, read: &ReadExport) -> bool {
        match (&self.changed, &read.parameter) {
            (Changed::Stack { name, .. }, None) => output_ref(&read.export).is_none_or(|(stack, _)| stack == name),
            (Changed::Parameter { name, .. }, Some(_)) => ParameterRef::parse(&read.export).is_ok_and(|reference| {
                same_parameter(reference.name(), name)
                    && reference.arn_account().is_none_or(|owner| owner == self.account)
            }),
            _ => false,
        }
    }

    /// Whether any of `record`'s reads may hold what changed.
    pub fn concerns_record(&self, record: &ReadRecord) -> bool {
        record.exports.iter().any(|read| self.concerns(read))
    }

    pub fn describe(&self) -> String {
        match &self.changed {
            Changed::Stack { name, status, .. } => {
                format!("stack {name} of account {} in {} is {status}", self.account, self.region)
            }
            Changed::Parameter { name, operation } => {
                format!("parameter {name} of account {} in {}: {operation}", self.account, self.region)
            }
        }
    }
}

fn foreign(account: &str, region: &str, named: &str) -> RefusedChange {
    RefusedChange::ForeignDetail { account: account.to_owned(), region: region.to_owned(), named: named.to_owned() }
}

/// SSM names a parameter with or without its leading slash in different places (`/a/b`, an ARN's
/// `parameter/a/b`); a name of one level may be written either way.
fn same_parameter(a: &str, b: &str) -> bool {
    a.trim_start_matches('/') == b.trim_start_matches('/')
}

/// `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>` → (region, account, name).
/// The documented example's ARN has no `/<id>`: accepted too.
fn stack_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "cloudformation", region, account, resource] = parts.as_slice() else { return None };
    let name = resource.strip_prefix("stack/")?.split('/').next()?;
    let valid = !partition.is_empty() && !name.is_empty() && account.len() == 12;
    valid.then_some((*region, *account, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The example of the CloudFormation User Guide's "Stack Status Change" event detail page.
    fn stack_event() -> Value {
        serde_json::from_str(include_str!("../../../events/stack-status-change.json")).unwrap()
    }

    /// The example of the Systems Manager User Guide's Parameter Store events.
    fn parameter_event() -> Value {
        serde_json::from_str(include_str!("../../../events/parameter-store-change.json")).unwrap()
    }

    fn read(export: &str, parameter: bool) -> ReadExport {
        ReadExport {
            key: export.into(),
            export: export.into(),
            parameter: parameter.then(Default::default),
            ..ReadExport::default()
        }
    }

    #[test]
    fn the_documented_stack_status_change_is_a_change_of_its_stack() {
        let change = SourceChange::from_event(&stack_event()).unwrap().unwrap();
        let Changed::Stack { name, status, .. } = &change.changed else { panic!("{change:?}") };
        assert_eq!((name.as_str(), status.as_str()), ("teststack", "CREATE_COMPLETE"));
        assert_eq!((change.account.as_str(), change.region.as_str()), ("111122223333", "us-west-1"));
        assert_eq!(change.target(), "111122223333|us-west-1|stack|teststack");
        let mut with_id = stack_event();
        with_id["detail"]["stack-id"] = json!("arn:aws:cloudformation:us-west-1:111122223333:stack/teststack/6a7e-1");
        assert_eq!(SourceChange::from_event(&with_id).unwrap().unwrap().target(), change.target());
        assert!(change.concerns(&read("any-export", false)));
        assert!(change.concerns(&read("teststack.TopicArn", false)));
        assert!(!change.concerns(&read("otherstack.TopicArn", false)));
        assert!(!change.concerns(&read("/teststack/param", true)));
    }

    #[test]
    fn the_documented_parameter_change_concerns_references_to_it() {
        let change = SourceChange::from_event(&parameter_event()).unwrap().unwrap();
        let Changed::Parameter { name, operation } = &change.changed else { panic!("{change:?}") };
        assert_eq!((name.as_str(), operation.as_str()), ("MyExampleParameter", "Create"));
        for (reference, concerned) in [
            ("MyExampleParameter", true),
            ("MyExampleParameter:3", true),
            ("MyExampleParameter:prod", true),
            ("arn:aws:ssm:us-east-2:123456789012:parameter/MyExampleParameter", true),
            ("arn:aws:ssm:us-east-2:999999999999:parameter/MyExampleParameter", false),
            ("MyExampleParameterB", false),
            ("/other/MyExampleParameter", false),
        ] {
            assert_eq!(change.concerns(&read(reference, true)), concerned, "{reference}");
        }
        assert!(!change.concerns(&read("MyExampleParameter", false)), "an export named like the parameter is not it");
    }

    #[test]
    fn a_detail_naming_another_account_or_region_is_refused() {
        let mut event = stack_event();
        event["detail"]["stack-id"] = json!("arn:aws:cloudformation:us-west-1:444455556666:stack/teststack/1");
        let refused = SourceChange::from_event(&event).unwrap_err();
        assert!(matches!(refused, RefusedChange::ForeignDetail { .. }), "{refused:?}");
        assert!(refused.to_string().contains("444455556666"), "{refused}");
        let mut event = parameter_event();
        event["resources"] = json!(["arn:aws:ssm:us-east-2:444455556666:parameter/MyExampleParameter"]);
        assert!(matches!(SourceChange::from_event(&event), Err(RefusedChange::ForeignDetail { .. })));
    }

    #[test]
    fn only_statuses_and_operations_that_change_values_are_checked() {
        let mut event = stack_event();
        event["detail"]["status-details"]["status"] = json!("UPDATE_IN_PROGRESS");
        assert_eq!(SourceChange::from_event(&event), Ok(Err(Ignored::StackStatus("UPDATE_IN_PROGRESS".into()))));
        for status in OUTPUT_CHANGING_STATUSES {
            event["detail"]["status-details"]["status"] = json!(status);
            assert!(SourceChange::from_event(&event).unwrap().is_ok(), "{status}");
        }
        let mut event = parameter_event();
        event["detail"]["operation"] = json!("UnlabelParameterVersion");
        assert!(matches!(SourceChange::from_event(&event), Ok(Err(Ignored::ParameterOperation(_)))));
    }

    #[test]
    fn anything_else_is_refused_with_what_was_wrong() {
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "account": "111122223333",
            "region": "us-west-1", "id": "x", "time": "2026-12-07T10:00:00Z", "detail": {}});
        assert_eq!(SourceChange::from_event(&scheduled), Err(RefusedChange::NotAChangeEvent));
        for (field, value) in [("account", json!("1234")), ("time", json!("yesterday")), ("region", json!("EU"))] {
            let mut event = stack_event();
            event[field] = value;
            let refused = SourceChange::from_event(&event).unwrap_err();
            assert!(refused.to_string().contains(field), "{field}: {refused}");
        }
        let mut event = stack_event();
        event["detail"]["stack-id"] = json!("teststack");
        assert_eq!(SourceChange::from_event(&event), Err(RefusedChange::Malformed("detail.stack-id")));
    }
}
