//! The read registry: who read which export, when, and a fingerprint of what they got, so that a
//! publisher can ask "who reads this?" and anyone can ask "which reads went stale?".
//!
//! No export value is ever stored. A fingerprint is HMAC-SHA256 over the export's name and value,
//! keyed with the ID of the stack that exports it. That ID ends in a random UUID, and only principals
//! who can list the publisher's exports or describe its stacks know it; they can read the value
//! itself anyway. So a reader of the table cannot test guesses of a low-entropy value ("true", a port
//! number) or of a NoEcho secret against a fingerprint. The price: a value re-exported by a new stack
//! (the old one deleted and recreated) shows as `changed`, which is worth a look anyway.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::time::SystemTime;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::config::Governance;
use crate::error::SourceError;
use crate::lookup::{ExportOrigin, ExportSource};
use crate::plan::Source;
use crate::properties::output_ref;
use crate::role_arn::RoleArn;

/// The fingerprint scheme, stored with every fingerprint so that it can change without confusion.
pub const FINGERPRINT_SCHEME: &str = "hmac-sha256-stack:v1";

/// The fingerprint of `value` as exported by `origin` (see the module docs for why it is keyed).
pub fn fingerprint(origin: &ExportOrigin, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(origin.exporting_stack_id.as_bytes()).expect("HMAC takes any key");
    mac.update(origin.export.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    // 128 bits tell values apart as well as 256 would, and keep items small.
    hex_128(&digest)
}

/// The first 128 bits of a digest, in lower-case hex.
fn hex_128(digest: &[u8]) -> String {
    hex::encode(&digest[..16])
}

/// An opaque, stable stand-in for `text` (SHA-256, 128 bits in hex), for keys that must not hold it.
pub fn opaque_id(text: &str) -> String {
    use sha2::Digest;
    hex_128(&Sha256::digest(text.as_bytes()))
}

/// The registry's key for one consumer resource: `<StackId>|<LogicalResourceId>`.
pub fn reader_key(stack_id: &str, logical_resource_id: &str) -> String {
    format!("{stack_id}|{logical_resource_id}")
}

/// A publisher account and region, and how it was reached: the unit read once per audit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceRef {
    /// The role's account, or the function's own account.
    pub account: String,
    pub region: String,
    /// `None`: read with the function's own credentials.
    pub role_arn: Option<String>,
}

impl SourceRef {
    /// The source a plan read; `own_account` names the function's account when no role was used.
    pub fn from_source(source: &Source, own_account: &str) -> SourceRef {
        SourceRef {
            account: source.role.as_ref().map_or_else(|| own_account.to_owned(), |role| role.account().to_owned()),
            region: source.region.clone(),
            role_arn: source.role.as_ref().map(|role| role.as_str().to_owned()),
        }
    }

    /// The source to read again, with this session name for CloudTrail, on nobody's behalf and
    /// without a consumer's ExternalId: the registry never keeps one, and the publisher role trusts
    /// the audit role without it (examples/publisher-role.yaml).
    pub fn to_source(&self, session_name: &str) -> Result<Source, String> {
        let role = match &self.role_arn {
            Some(arn) => Some(RoleArn::parse(arn).map_err(|error| error.to_string())?),
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadExport {
    /// The Data key (`!GetAtt Lookup.<key>`): the export name, `<StackName>.<OutputKey>`, or an alias.
    pub key: String,
    /// The export name, or `<StackName>.<OutputKey>` for a stack output (export names have no dot).
    pub export: String,
    /// Empty when the value was a default.
    pub fingerprint: String,
    /// The value was the resource's `Defaults` entry, because the export or output was missing.
    pub defaulted: bool,
}

/// What one consumer resource last read: the registry's item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub stack_id: String,
    pub logical_resource_id: String,
    pub consumer_account: String,
    pub stack_name: String,
    pub source: SourceRef,
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
                })
            })
            .collect()
    }
}

/// The registry could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on the reads table {table} failed ({}: {message})", self.cause())]
pub struct RegistryError {
    pub operation: &'static str,
    pub table: String,
    /// The AWS error code, such as `ResourceNotFoundException` or `AccessDeniedException`.
    pub code: Option<String>,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub message: String,
}

impl RegistryError {
    /// The error code, else the HTTP status, else that no answer came.
    pub fn cause(&self) -> String {
        crate::error::call_cause(self.code.as_deref(), self.status)
    }
}

/// Where reads are recorded (a DynamoDB table in production).
pub trait ReadRegistry: Send + Sync {
    /// Records what a consumer resource read, replacing what it read before.
    fn record(&self, record: &ReadRecord) -> impl Future<Output = Result<(), RegistryError>> + Send;
    /// Forgets a consumer resource (its Delete). Forgetting an unknown reader is not an error.
    /// Forgets a consumer resource (its Delete), but only the record that `physical_resource_id`
    /// wrote: after a replacement, CloudFormation deletes the old ID once the new one has been
    /// recorded. `Ok(false)` when the record was left because another ID wrote it. Forgetting an
    /// unknown reader is not an error.
    fn forget(
        &self,
        reader: &str,
        physical_resource_id: Option<&str>,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send;
    /// Every record. Items it cannot understand are skipped with a warning, not fatal.
    fn scan(&self) -> impl Future<Output = Result<Vec<ReadRecord>, RegistryError>> + Send;
    /// Records what an audit alerted about, unless the record was replaced since it was read
    /// (`Ok(false)`): a newer read starts with nothing alerted.
    fn mark_alerted(&self, update: &AlertUpdate) -> impl Future<Output = Result<bool, RegistryError>> + Send;
}

/// An audit's new alerted state for one record, written only if the record is still the one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertUpdate {
    pub reader: String,
    /// The record's writer and time, as the audit read them: the write's condition.
    pub physical_resource_id: Option<String>,
    pub read_at: String,
    pub alerted: BTreeMap<String, String>,
}

impl<R: ReadRegistry> ReadRegistry for std::sync::Arc<R> {
    fn record(&self, record: &ReadRecord) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).record(record)
    }
    fn forget(
        &self,
        reader: &str,
        physical_resource_id: Option<&str>,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        (**self).forget(reader, physical_resource_id)
    }
    fn scan(&self) -> impl Future<Output = Result<Vec<ReadRecord>, RegistryError>> + Send {
        (**self).scan()
    }
    fn mark_alerted(&self, update: &AlertUpdate) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        (**self).mark_alerted(update)
    }
}

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
    pub source: SourceRef,
    pub read_at: String,
    pub state: Staleness,
    /// What an alert about this read would be about: the current value's fingerprint when it
    /// changed, [`REMOVED`] when it is gone. Equal alerts are sent once.
    pub alert: String,
    /// An earlier audit already put an event for this very state.
    pub already_alerted: bool,
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

/// How reading one source went during an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCheck {
    pub source: SourceRef,
    pub readers: usize,
    pub pages: u32,
    /// Why its readers could not be checked.
    pub error: Option<String>,
}

/// The result of comparing every recorded read with what its publisher exports now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditReport {
    pub readers: usize,
    pub sources: Vec<SourceCheck>,
    /// Every stale read, alerted before or not.
    pub stale: Vec<StaleRead>,
    /// Records whose alerted state differs from what this audit found (new alerts, and alerts
    /// whose read is current again), to write once the new alerts are out.
    pub alert_updates: Vec<AlertUpdate>,
}

impl AuditReport {
    /// Sources that could not be read: their readers are unchecked, not current.
    pub fn unchecked(&self) -> impl Iterator<Item = &SourceCheck> {
        self.sources.iter().filter(|check| check.error.is_some())
    }

    /// The stale reads no earlier audit alerted about in this state.
    pub fn to_alert(&self) -> impl Iterator<Item = &StaleRead> {
        self.stale.iter().filter(|stale| !stale.already_alerted)
    }
}

/// The session name audits use, so CloudTrail tells them apart from stack reads.
pub const AUDIT_SESSION_NAME: &str = "remote-exports-audit";

/// Reads each distinct source once (one credential, one paginated ListExports) and reports every
/// recorded read whose export changed or disappeared. Roles the function no longer allows are not
/// assumed: their readers are reported unchecked.
pub async fn audit<S: ExportSource>(records: &[ReadRecord], exports: &S, governance: &Governance) -> AuditReport {
    let mut by_source: BTreeMap<&SourceRef, Vec<&ReadRecord>> = BTreeMap::new();
    for record in records {
        by_source.entry(&record.source).or_default().push(record);
    }
    let mut report = AuditReport { readers: records.len(), ..AuditReport::default() };
    for (source_ref, readers) in by_source {
        let mut check = SourceCheck { source: source_ref.clone(), readers: readers.len(), pages: 0, error: None };
        match current_fingerprints(source_ref, &readers, exports, governance).await {
            Ok((current, pages)) => {
                check.pages = pages;
                for record in readers {
                    let stale = stale_in(record, &current);
                    let alerted: BTreeMap<String, String> =
                        stale.iter().map(|read| (read.key.clone(), read.alert.clone())).collect();
                    if alerted != record.alerted {
                        report.alert_updates.push(AlertUpdate {
                            reader: record.reader(),
                            physical_resource_id: record.physical_resource_id.clone(),
                            read_at: record.read_at.clone(),
                            alerted,
                        });
                    }
                    report.stale.extend(stale);
                }
            }
            Err(error) => check.error = Some(error),
        }
        report.sources.push(check);
    }
    report
}

/// Fingerprints of the exports these readers hold, as the source exports them now.
async fn current_fingerprints<S: ExportSource>(
    source_ref: &SourceRef,
    readers: &[&ReadRecord],
    exports: &S,
    governance: &Governance,
) -> Result<(HashMap<String, String>, u32), String> {
    if let (Some(role), Some(allowed)) = (&source_ref.role_arn, &governance.allowed_role_arns)
        && !allowed.allows(role)
    {
        return Err(format!("role {role} is no longer allowed by ALLOWED_ROLE_ARNS, so it was not assumed"));
    }
    let source = source_ref.to_source(AUDIT_SESSION_NAME)?;
    let wanted: HashSet<&str> = readers.iter().flat_map(|r| r.exports.iter().map(|e| e.export.as_str())).collect();
    let stacks: BTreeSet<&str> = wanted.iter().filter_map(|name| output_ref(name)).map(|(stack, _)| stack).collect();
    let mut current = HashMap::new();
    let mut pages = 0;
    if wanted.iter().any(|name| output_ref(name).is_none()) {
        pages = exports
            .scan_exports(&source, &mut |page| {
                for export in page.into_iter().filter(|e| wanted.contains(e.name.as_str())) {
                    let origin =
                        ExportOrigin { export: export.name.clone(), exporting_stack_id: export.exporting_stack_id };
                    current.insert(export.name, fingerprint(&origin, &export.value));
                }
                std::ops::ControlFlow::Continue(())
            })
            .await
            .map_err(|error: SourceError| error.to_string())?;
    }
    // One DescribeStacks per stack, however many readers hold its outputs.
    for stack in stacks {
        let described =
            exports.stack_outputs(&source, stack).await.map_err(|error| format!("stack {stack}: {error}"))?;
        for (key, value) in described.iter().flat_map(|d| d.outputs.iter()) {
            let name = format!("{stack}.{key}");
            if wanted.contains(name.as_str()) {
                let origin = ExportOrigin {
                    export: name.clone(),
                    exporting_stack_id: described.as_ref().map_or_else(String::new, |d| d.stack_id.clone()),
                };
                current.insert(name, fingerprint(&origin, value));
            }
        }
    }
    Ok((current, pages))
}

fn stale_in(record: &ReadRecord, current: &HashMap<String, String>) -> Vec<StaleRead> {
    record
        .exports
        .iter()
        .filter_map(|read| {
            let (state, alert) = match current.get(&read.export) {
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
            })
        })
        .collect()
}

/// Puts one event per stale read on an event bus.
pub trait AuditEvents: Send + Sync {
    /// Returns how many events were accepted; an error says which were not and why.
    fn publish(&self, stale: &[StaleRead]) -> impl Future<Output = Result<usize, String>> + Send;
}

/// `time` as RFC 3339 in UTC, to the second: `2026-11-23T13:04:02Z`.
pub fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::Export;
    use crate::pattern::PatternList;
    use crate::testing::MemoryExports;
    use std::time::Duration;
    use std::time::UNIX_EPOCH;

    fn origin(export: &str, stack: &str) -> ExportOrigin {
        ExportOrigin { export: export.into(), exporting_stack_id: stack.into() }
    }

    #[test]
    fn fingerprints_depend_on_value_name_and_stack_and_hide_the_value() {
        let base = fingerprint(&origin("flag", "stack/a/1"), "true");
        assert_eq!(base.len(), 32);
        assert_eq!(base, fingerprint(&origin("flag", "stack/a/1"), "true"));
        assert_ne!(base, fingerprint(&origin("flag", "stack/a/1"), "false"));
        assert_ne!(base, fingerprint(&origin("flag2", "stack/a/1"), "true"));
        assert_ne!(base, fingerprint(&origin("flag", "stack/a/2"), "true"));
        // Without the stack's ID a guess cannot be tested: an unkeyed hash of the same input differs.
        assert_ne!(base, fingerprint(&origin("flag", ""), "true"));
        // Name and value are separated, so moving bytes between them changes the fingerprint.
        assert_ne!(fingerprint(&origin("ab", "s"), "c"), fingerprint(&origin("a", "s"), "bc"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_438_442)), "2026-11-23T12:54:02Z");
    }

    /// Stack `vpc` of the publisher has the output `VpcId` with the value of its first export.
    const VPC_STACK: &str = "arn:aws:cloudformation:eu-west-1:222222222222:stack/vpc/1";

    /// Account 222222222222 exports `exports`; any other account cannot be read.
    fn publisher(exports: Vec<Export>) -> MemoryExports {
        let vpc_id = exports.first().map(|export| export.value.clone());
        let source = MemoryExports::new().with_exports("222222222222", exports);
        match vpc_id {
            Some(vpc_id) => source.with_stack("222222222222", "vpc", &[("VpcId", &vpc_id)]),
            None => source,
        }
    }

    fn source(account: &str) -> SourceRef {
        SourceRef {
            account: account.into(),
            region: "eu-west-1".into(),
            role_arn: Some(format!("arn:aws:iam::{account}:role/reader")),
        }
    }

    fn record(stack: &str, source_account: &str, reads: &[(&str, &str, &str)]) -> ReadRecord {
        ReadRecord {
            stack_id: format!("arn:aws:cloudformation:eu-west-1:111111111111:stack/{stack}/guid"),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: stack.into(),
            source: source(source_account),
            exports: reads
                .iter()
                .map(|(export, value, stack)| ReadExport {
                    key: export.to_string(),
                    export: export.to_string(),
                    fingerprint: if *stack == "default" {
                        String::new()
                    } else {
                        fingerprint(&origin(export, stack), value)
                    },
                    defaulted: *stack == "default",
                })
                .collect(),
            read_at: "2026-11-23T00:00:00Z".into(),
            request_type: "Create".into(),
            no_echo: false,
            fingerprint_scheme: FINGERPRINT_SCHEME.into(),
            physical_resource_id: Some(format!("remote-exports:{source_account}:eu-west-1")),
            alerted: BTreeMap::new(),
        }
    }

    /// Applies an audit's alert updates to the records, as the registry would.
    fn remember(records: &mut [ReadRecord], report: &AuditReport) {
        for update in &report.alert_updates {
            let record = records.iter_mut().find(|r| r.reader() == update.reader).unwrap();
            record.alerted = update.alerted.clone();
        }
    }

    #[tokio::test]
    async fn each_state_is_alerted_once_and_a_further_change_alerts_again() {
        let publish = |value: &str| publisher(vec![Export::new("topic", value, "stack/b/1")]);
        let mut records = vec![record("airmiles", "222222222222", &[("topic", "v1", "stack/b/1")])];
        let alerts = |report: &AuditReport| report.to_alert().map(|s| s.alert.clone()).collect::<Vec<_>>();

        let current = audit(&records, &publish("v1"), &Governance::default()).await;
        assert!(current.stale.is_empty() && current.alert_updates.is_empty());

        let changed = audit(&records, &publish("v2"), &Governance::default()).await;
        assert_eq!(alerts(&changed), vec![fingerprint(&origin("topic", "stack/b/1"), "v2")]);
        remember(&mut records, &changed);
        let again = audit(&records, &publish("v2"), &Governance::default()).await;
        assert_eq!((again.stale.len(), alerts(&again).len(), again.alert_updates.len()), (1, 0, 0));

        let changed_again = audit(&records, &publish("v3"), &Governance::default()).await;
        assert_eq!(alerts(&changed_again), vec![fingerprint(&origin("topic", "stack/b/1"), "v3")]);
        remember(&mut records, &changed_again);

        let removed = publisher(vec![]);
        let gone = audit(&records, &removed, &Governance::default()).await;
        assert_eq!(alerts(&gone), vec![REMOVED.to_owned()]);
        remember(&mut records, &gone);

        // Back to the value that was read: nothing is stale, and the alerted state is cleared, so a
        // later removal is a new alert.
        let restored = audit(&records, &publish("v1"), &Governance::default()).await;
        assert!(restored.stale.is_empty());
        assert_eq!(restored.alert_updates.len(), 1);
        assert!(restored.alert_updates[0].alerted.is_empty());
        remember(&mut records, &restored);
        let gone_again = audit(&records, &removed, &Governance::default()).await;
        assert_eq!(alerts(&gone_again), vec![REMOVED.to_owned()]);
    }

    #[tokio::test]
    async fn each_source_is_read_once_and_changes_and_removals_are_found() {
        let sources =
            publisher(vec![Export::new("topic", "arn-2", "stack/b/1"), Export::new("queue", "q", "stack/b/1")]);
        let records = vec![
            record("airmiles", "222222222222", &[("topic", "arn-1", "stack/b/1"), ("queue", "q", "stack/b/1")]),
            record("hotels", "222222222222", &[("queue", "q", "stack/b/1"), ("gone", "x", "stack/b/1")]),
            record("cars", "333333333333", &[("anything", "x", "s")]),
        ];
        let report = audit(&records, &sources, &Governance::default()).await;
        assert_eq!(sources.reads(), vec!["222222222222", "333333333333"]);
        let found: Vec<_> = report.stale.iter().map(|s| (s.stack_name.as_str(), s.export.as_str(), s.state)).collect();
        assert_eq!(found, vec![("airmiles", "topic", Staleness::Changed), ("hotels", "gone", Staleness::Removed)]);
        let unchecked: Vec<_> = report.unchecked().map(|c| (c.source.account.as_str(), c.readers)).collect();
        assert_eq!(unchecked, vec![("333333333333", 1)]);
        assert!(report.stale[1].advice().contains("Remove 'gone' from Lookup in stack hotels"));
        let detail = report.stale[0].event_detail();
        assert_eq!((detail["state"].as_str(), detail["export"].as_str()), (Some("changed"), Some("topic")));
        assert!(!detail.to_string().contains("arn-"), "{detail}");
    }

    #[tokio::test]
    async fn outputs_are_audited_with_one_describe_per_stack_and_defaults_report_appeared() {
        let publish = |value: &str| publisher(vec![Export::new("topic", value, "stack/b/1")]);
        let records = vec![
            record("airmiles", "222222222222", &[("vpc.VpcId", "vpc-1", VPC_STACK), ("vpc.SubnetIds", "", "default")]),
            record("hotels", "222222222222", &[("vpc.VpcId", "vpc-1", VPC_STACK), ("new-export", "", "default")]),
        ];
        let sources = publish("vpc-1");
        let report = audit(&records, &sources, &Governance::default()).await;
        assert!(report.stale.is_empty(), "{:?}", report.stale);
        assert_eq!(sources.reads(), ["222222222222", "222222222222/vpc"], "one ListExports and one DescribeStacks");

        let changed = audit(&records, &publish("vpc-2"), &Governance::default()).await;
        let found: Vec<_> = changed.stale.iter().map(|s| (s.stack_name.as_str(), s.export.as_str(), s.state)).collect();
        assert_eq!(
            found,
            vec![("airmiles", "vpc.VpcId", Staleness::Changed), ("hotels", "vpc.VpcId", Staleness::Changed)]
        );

        // A defaulted export that now exists has appeared.
        let appeared = publisher(vec![Export::new("x", "vpc-1", "s"), Export::new("new-export", "real", "stack/n/1")]);
        let report = audit(&records, &appeared, &Governance::default()).await;
        let found: Vec<_> = report.stale.iter().map(|s| (s.stack_name.as_str(), s.export.as_str(), s.state)).collect();
        assert_eq!(found, vec![("hotels", "new-export", Staleness::Appeared)]);
        assert!(report.stale[0].advice().contains("new Refresh value"), "{}", report.stale[0].advice());
        assert_eq!(report.stale[0].event_detail()["state"], "appeared");
    }

    #[tokio::test]
    async fn a_role_no_longer_allowed_is_not_assumed() {
        let sources = MemoryExports::new();
        let governance = Governance {
            allowed_role_arns: Some(PatternList::parse("arn:aws:iam::999999999999:role/*").unwrap()),
            ..Governance::default()
        };
        let report = audit(&[record("a", "222222222222", &[("x", "1", "s")])], &sources, &governance).await;
        assert!(sources.reads().is_empty());
        assert!(report.sources[0].error.as_deref().unwrap().contains("no longer allowed"));
    }
}
