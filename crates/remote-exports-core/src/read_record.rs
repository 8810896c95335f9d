//! The read registry's records: who read which export, when, through which publisher, and a
//! fingerprint of what they got, so that a publisher can ask "who reads this?" and anyone can ask
//! "which reads went stale?".

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use crate::fingerprint::fingerprint;
use crate::plan::Source;
use crate::published::{ExportOrigin, ParameterVersion};
use crate::role_arn::{InvalidRoleArn, RoleArn};

/// The registry's key for one consumer resource: `<StackId>|<LogicalResourceId>`.
pub fn reader_key(stack_id: &str, logical_resource_id: &str) -> String {
    format!("{stack_id}|{logical_resource_id}")
}

/// A publisher account and region, and how it was reached: the unit read once per audit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublisherRef {
    /// The role's account, or the function's own account.
    pub account: String,
    pub region: String,
    /// `None`: read with the function's own credentials.
    pub role_arn: Option<String>,
}

impl PublisherRef {
    /// The source a plan read; `own_account` names the function's account when no role was used.
    pub fn from_source(source: &Source, own_account: &str) -> PublisherRef {
        PublisherRef {
            account: source.role.as_ref().map_or_else(|| own_account.to_owned(), |role| role.account().to_owned()),
            region: source.region.clone(),
            role_arn: source.role.as_ref().map(|role| role.as_str().to_owned()),
        }
    }

    /// The source to read again, with this session name for CloudTrail, on nobody's behalf and
    /// without a consumer's ExternalId: the registry never keeps one, and the publisher role trusts
    /// the audit role without it (examples/publisher-role.yaml).
    pub fn to_source(&self, session_name: &str) -> Result<Source, InvalidRoleArn> {
        let role = match &self.role_arn {
            Some(arn) => Some(RoleArn::parse(arn)?),
            None => None,
        };
        Ok(Source {
            role,
            external_id: None,
            region: self.region.clone(),
            session_name: session_name.to_owned(),
            consumer: None,
            not_before_ms: None,
        })
    }

    pub fn describe(&self) -> String {
        match &self.role_arn {
            Some(role) => format!("account {} in {} (through {role})", self.account, self.region),
            None => format!("account {} in {} (the function's own credentials)", self.account, self.region),
        }
    }
}

/// One Data key as the registry keeps it: never the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadExport {
    /// The Data key (`!GetAtt Lookup.<key>`): the export name, `<StackName>.<OutputKey>`, or an alias.
    pub key: String,
    /// The export name, or `<StackName>.<OutputKey>` for a stack output (export names have no dot).
    pub export: String,
    /// Empty when the value was a default.
    pub fingerprint: String,
    /// The value was the resource's `Defaults` entry, because the export or output was missing.
    pub defaulted: bool,
    /// An SSM parameter (`export` is its reference as written), and the version read.
    pub parameter: Option<ParameterVersion>,
}

impl ReadExport {
    /// The key of what it read in a map of current fingerprints: parameters apart from exports,
    /// whose names they may share.
    pub fn current_key(&self) -> String {
        match self.parameter {
            Some(_) => parameter_key(&self.export),
            None => self.export.clone(),
        }
    }
}

/// A parameter's key among exports and outputs: `|` is in no export, stack or output name.
pub fn parameter_key(reference: &str) -> String {
    format!("ssm|{reference}")
}

/// What one consumer resource last read: the registry's item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub stack_id: String,
    pub logical_resource_id: String,
    pub consumer_account: String,
    pub stack_name: String,
    pub source: PublisherRef,
    pub exports: Vec<ReadExport>,
    /// RFC 3339, UTC.
    pub read_at: String,
    /// `Create` or `Update`.
    pub request_type: String,
    pub no_echo: bool,
    pub fingerprint_scheme: String,
    /// The PhysicalResourceId of the answer that wrote the record: only a Delete of that ID removes
    /// it. `None` for records written before it was kept.
    pub physical_resource_id: Option<String>,
    /// For each Data key, the stale state an audit last alerted about ([`StaleRead::alert`]). The
    /// consumer's next read writes a new record, which clears it.
    pub alerted: BTreeMap<String, String>,
}

impl ReadRecord {
    pub fn reader(&self) -> String {
        reader_key(&self.stack_id, &self.logical_resource_id)
    }

    /// The Data keys and fingerprints of what was selected; values are used here and dropped.
    pub fn exports_of(
        data: &BTreeMap<String, String>,
        origins: &BTreeMap<String, ExportOrigin>,
        defaulted: &BTreeSet<String>,
    ) -> Vec<ReadExport> {
        origins
            .iter()
            .filter_map(|(key, origin)| {
                let value = data.get(key)?;
                let defaulted = defaulted.contains(key);
                Some(ReadExport {
                    key: key.clone(),
                    export: origin.export.clone(),
                    fingerprint: if defaulted { String::new() } else { fingerprint(origin, value) },
                    defaulted,
                    parameter: origin.parameter,
                })
            })
            .collect()
    }
}

/// An audit's new alerted state for one record, written only if the record is still the one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertUpdate {
    pub reader: String,
    /// The record's writer and time, as the audit read them: the write's condition.
    pub physical_resource_id: Option<String>,
    pub read_at: String,
    pub alerted: BTreeMap<String, String>,
    /// What was alerted when the check read the record: the write's condition too, so that two checks
    /// at once (the audit and a change event's) never lose each other's alerts.
    pub previous: BTreeMap<String, String>,
}

/// `time` as RFC 3339 in UTC, to the second: `2026-11-23T13:04:02Z`.
pub fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_438_442)), "2026-11-23T12:54:02Z");
    }
}
