//! Staleness: how a recorded read differs from what its publisher exports now, and the event that
//! says so.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::read_record::{PublisherRef, ReadExport, ReadRecord};

/// Why a read is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Staleness {
    /// The export still exists with another value (or from another stack).
    Changed,
    /// The export no longer exists.
    Removed,
    /// The read took its default, and the export or output exists now.
    Appeared,
}

impl Staleness {
    pub fn as_str(self) -> &'static str {
        match self {
            Staleness::Changed => "changed",
            Staleness::Removed => "removed",
            Staleness::Appeared => "appeared",
        }
    }

    /// The EventBridge DetailType of the audit's event.
    pub fn detail_type(self) -> &'static str {
        match self {
            Staleness::Changed => "Remote export changed",
            Staleness::Removed => "Remote export removed",
            Staleness::Appeared => "Remote export appeared",
        }
    }
}

/// One Data key of one consumer resource whose value is no longer what the publisher exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleRead {
    pub stack_id: String,
    pub logical_resource_id: String,
    pub consumer_account: String,
    pub stack_name: String,
    pub key: String,
    pub export: String,
    pub source: PublisherRef,
    pub read_at: String,
    pub state: Staleness,
    /// What an alert about this read would be about: the current value's fingerprint when it
    /// changed, [`REMOVED`] when it is gone. Equal alerts are sent once.
    pub alert: String,
    /// An earlier audit already put an event for this very state.
    pub already_alerted: bool,
    /// `export` is an SSM parameter (as the resource wrote it), not an export or stack output.
    pub parameter: bool,
}

/// The alert of a read whose export is gone.
pub const REMOVED: &str = "removed";

impl StaleRead {
    /// What the consumer should do.
    pub fn advice(&self) -> String {
        match self.state {
            Staleness::Changed => format!(
                "Update stack {} with a new Refresh value on {} to read the new value.",
                self.stack_name, self.logical_resource_id
            ),
            Staleness::Removed => format!(
                "Remove '{}' from {} in stack {} (and whatever uses !GetAtt {}.{}), give it a Defaults entry, or \
                 ask the publisher to restore it.",
                self.export, self.logical_resource_id, self.stack_name, self.logical_resource_id, self.key
            ),
            Staleness::Appeared => format!(
                "'{}' exists now, but stack {} still holds its default. Update the stack with a new Refresh value on \
                 {} to read it.",
                self.export, self.stack_name, self.logical_resource_id
            ),
        }
    }

    /// The event's detail: who is affected, by what, and what to do. Never a value.
    pub fn event_detail(&self) -> Value {
        json!({
            "stack_id": self.stack_id,
            "stack_name": self.stack_name,
            "logical_resource_id": self.logical_resource_id,
            "consumer_account": self.consumer_account,
            "export": self.export,
            "kind": if self.parameter { "parameter" } else if self.export.contains('.') { "output" } else { "export" },
            "data_key": self.key,
            "state": self.state.as_str(),
            "source_account": self.source.account,
            "region": self.source.region,
            "source_role_arn": self.source.role_arn,
            "read_at": self.read_at,
            "advice": self.advice(),
        })
    }
}

/// The reads of `record` that `checked` accepts and that differ from `current`.
pub(crate) fn stale_in(
    record: &ReadRecord,
    current: &HashMap<String, String>,
    checked: &dyn Fn(&ReadExport) -> bool,
) -> Vec<StaleRead> {
    record
        .exports
        .iter()
        .filter(|read| checked(read))
        .filter_map(|read| {
            let (state, alert) = match current.get(&read.current_key()) {
                None if read.defaulted => return None,
                None => (Staleness::Removed, REMOVED.to_owned()),
                Some(now) if read.defaulted => (Staleness::Appeared, now.clone()),
                Some(now) if *now != read.fingerprint => (Staleness::Changed, now.clone()),
                Some(_) => return None,
            };
            Some(StaleRead {
                stack_id: record.stack_id.clone(),
                logical_resource_id: record.logical_resource_id.clone(),
                consumer_account: record.consumer_account.clone(),
                stack_name: record.stack_name.clone(),
                key: read.key.clone(),
                export: read.export.clone(),
                source: record.source.clone(),
                read_at: record.read_at.clone(),
                state,
                already_alerted: record.alerted.get(&read.key) == Some(&alert),
                alert,
                parameter: read.parameter.is_some(),
            })
        })
        .collect()
}
