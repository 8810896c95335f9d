//! The stale-read audit: every recorded read compared with what its publisher exports now, each
//! publisher read once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::config::Governance;
use crate::error::ReadError;
use crate::fingerprint::fingerprint;
use crate::parameter::{ParameterRef, batches};
use crate::ports::PublisherReads;
use crate::properties::output_ref;
use crate::published::{ExportOrigin, parameter_origin};
use crate::read_record::{AlertUpdate, PublisherRef, ReadExport, ReadRecord, parameter_key};
use crate::role_arn::InvalidRoleArn;
use crate::staleness::{StaleRead, stale_in};

/// How reading one source went during an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherCheck {
    pub source: PublisherRef,
    pub readers: usize,
    pub pages: u32,
    /// Why its readers (or some of their reads) could not be checked.
    pub error: Option<UncheckedSource>,
}

/// Why a source's readers could not be checked: they are reported unchecked, not current.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UncheckedSource {
    #[error("role {0} is no longer allowed by ALLOWED_ROLE_ARNS, so it was not assumed")]
    RoleNoLongerAllowed(String),
    #[error("{0}")]
    InvalidRole(#[from] InvalidRoleArn),
    #[error("{0}")]
    Exports(ReadError),
    #[error("stack {stack}: {error}")]
    Stack { stack: String, error: ReadError },
    #[error("parameter(s) {} could not be read ({why}); reads of them were not checked", names.join(", "))]
    Parameters { names: Vec<String>, why: String },
}

/// The result of comparing every recorded read with what its publisher exports now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditReport {
    pub readers: usize,
    pub sources: Vec<PublisherCheck>,
    /// Every stale read, alerted before or not.
    pub stale: Vec<StaleRead>,
    /// Records whose alerted state differs from what this audit found (new alerts, and alerts
    /// whose read is current again), to write once the new alerts are out.
    pub alert_updates: Vec<AlertUpdate>,
}

impl AuditReport {
    /// Sources that could not be read: their readers are unchecked, not current.
    pub fn unchecked(&self) -> impl Iterator<Item = &PublisherCheck> {
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
pub async fn audit<S: PublisherReads>(records: &[ReadRecord], exports: &S, governance: &Governance) -> AuditReport {
    audit_scoped(records, exports, governance, &|_| true).await
}

/// [`audit`] of the reads `in_scope` accepts: only they are read and compared. Every other read
/// keeps what was alerted about it, as an unchecked one does (a change event's check).
pub async fn audit_scoped<S: PublisherReads>(
    records: &[ReadRecord],
    exports: &S,
    governance: &Governance,
    in_scope: &(dyn Fn(&ReadExport) -> bool + Sync),
) -> AuditReport {
    let mut by_source: BTreeMap<&PublisherRef, Vec<&ReadRecord>> = BTreeMap::new();
    for record in records {
        by_source.entry(&record.source).or_default().push(record);
    }
    let mut report = AuditReport { readers: records.len(), ..AuditReport::default() };
    for (source_ref, readers) in by_source {
        let mut check = PublisherCheck { source: source_ref.clone(), readers: readers.len(), pages: 0, error: None };
        match current_fingerprints(source_ref, &readers, exports, governance, in_scope).await {
            Ok(Current { fingerprints, unchecked, pages }) => {
                check.pages = pages;
                if let Some((_, why)) = unchecked.first_key_value() {
                    let names = unchecked.keys().cloned().collect();
                    check.error = Some(UncheckedSource::Parameters { names, why: why.clone() });
                }
                let is_unchecked = |read: &ReadExport| {
                    !in_scope(read) || (read.parameter.is_some() && unchecked.contains_key(&read.export))
                };
                for record in readers {
                    let stale: Vec<StaleRead> = stale_in(record, &fingerprints, &|read| !is_unchecked(read));
                    // An unchecked read keeps what was alerted about it.
                    let mut alerted: BTreeMap<String, String> =
                        stale.iter().map(|read| (read.key.clone(), read.alert.clone())).collect();
                    for read in record.exports.iter().filter(|read| is_unchecked(read)) {
                        if let Some(alert) = record.alerted.get(&read.key) {
                            alerted.insert(read.key.clone(), alert.clone());
                        }
                    }
                    if alerted != record.alerted {
                        report.alert_updates.push(AlertUpdate {
                            reader: record.reader(),
                            physical_resource_id: record.physical_resource_id.clone(),
                            read_at: record.read_at.clone(),
                            alerted,
                            previous: record.alerted.clone(),
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

/// What a source holds now, of what its readers read.
struct Current {
    /// By [`crate::ReadExport::current_key`]; a key that is absent is gone.
    fingerprints: HashMap<String, String>,
    /// Parameters (as the resources wrote them) that could not be read (denied one by one, say), with
    /// why: neither gone nor current.
    unchecked: BTreeMap<String, String>,
    pages: u32,
}

/// Fingerprints of the exports these readers hold, as the source exports them now.
async fn current_fingerprints<S: PublisherReads>(
    source_ref: &PublisherRef,
    readers: &[&ReadRecord],
    exports: &S,
    governance: &Governance,
    in_scope: &(dyn Fn(&ReadExport) -> bool + Sync),
) -> Result<Current, UncheckedSource> {
    if let (Some(role), Some(allowed)) = (&source_ref.role_arn, &governance.allowed_role_arns)
        && !allowed.allows(role)
    {
        return Err(UncheckedSource::RoleNoLongerAllowed(role.clone()));
    }
    let source = source_ref.to_source(AUDIT_SESSION_NAME)?;
    let reads = || readers.iter().flat_map(|r| r.exports.iter()).filter(|read| in_scope(read));
    let wanted: HashSet<&str> = reads().filter(|e| e.parameter.is_none()).map(|e| e.export.as_str()).collect();
    let parameters: BTreeSet<&str> = reads().filter(|e| e.parameter.is_some()).map(|e| e.export.as_str()).collect();
    let stacks: BTreeSet<&str> = wanted.iter().filter_map(|name| output_ref(name)).map(|(stack, _)| stack).collect();
    let mut current = HashMap::new();
    let mut pages = 0;
    if wanted.iter().any(|name| output_ref(name).is_none()) {
        pages = exports
            .scan_exports(&source, &mut |page| {
                for export in page.into_iter().filter(|e| wanted.contains(e.name.as_str())) {
                    let origin = ExportOrigin::new(export.name.clone(), export.exporting_stack_id);
                    current.insert(export.name, fingerprint(&origin, &export.value));
                }
                std::ops::ControlFlow::Continue(())
            })
            .await
            .map_err(UncheckedSource::Exports)?;
    }
    // One DescribeStacks per stack, however many readers hold its outputs.
    for stack in stacks {
        let described = exports
            .stack_outputs(&source, stack)
            .await
            .map_err(|error| UncheckedSource::Stack { stack: stack.to_owned(), error })?;
        for (key, value) in described.iter().flat_map(|d| d.outputs.iter()) {
            let name = format!("{stack}.{key}");
            if wanted.contains(name.as_str()) {
                let origin = ExportOrigin {
                    export: name.clone(),
                    exporting_stack_id: described.as_ref().map_or_else(String::new, |d| d.stack_id.clone()),
                    ..ExportOrigin::default()
                };
                current.insert(name, fingerprint(&origin, value));
            }
        }
    }
    // Parameters: their versions, in GetParameters batches of ten, never decrypted (the fingerprint
    // of a parameter is its version, not its value). A call fails whole when one name is denied, so
    // a failed batch is read again one by one: one unreadable parameter leaves the others checked.
    let references: Vec<ParameterRef> = parameters.iter().filter_map(|r| ParameterRef::parse(r).ok()).collect();
    let mut unchecked = BTreeMap::new();
    for batch in batches(&references) {
        let reads = match exports.get_parameters(&source, &batch, false).await {
            Ok(found) => vec![Ok(found)],
            Err(_) if batch.len() > 1 => {
                let mut one_by_one = Vec::new();
                for reference in &batch {
                    let single = std::slice::from_ref(reference);
                    one_by_one.push(exports.get_parameters(&source, single, false).await.map_err(|e| (reference, e)));
                }
                one_by_one
            }
            Err(error) => vec![Err((&batch[0], error))],
        };
        for read in reads {
            match read {
                Ok(found) => {
                    for (reference, parameter) in found {
                        let origin = parameter_origin(&reference, &parameter);
                        current.insert(parameter_key(reference.as_str()), fingerprint(&origin, ""));
                    }
                }
                Err((reference, error)) => {
                    unchecked.insert(reference.to_string(), error.to_string());
                }
            }
        }
    }
    Ok(Current { fingerprints: current, unchecked, pages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::FINGERPRINT_SCHEME;
    use crate::pattern::PatternList;
    use crate::published::Export;
    use crate::staleness::{REMOVED, Staleness};
    use crate::testing::MemoryPublishers;

    fn origin(export: &str, stack: &str) -> ExportOrigin {
        ExportOrigin::new(export, stack)
    }

    /// Stack `vpc` of the publisher has the output `VpcId` with the value of its first export.
    const VPC_STACK: &str = "arn:aws:cloudformation:eu-west-1:222222222222:stack/vpc/1";

    /// Account 222222222222 exports `exports`; any other account cannot be read.
    fn publisher(exports: Vec<Export>) -> MemoryPublishers {
        let vpc_id = exports.first().map(|export| export.value.clone());
        let source = MemoryPublishers::new().with_exports("222222222222", exports);
        match vpc_id {
            Some(vpc_id) => source.with_stack("222222222222", "vpc", &[("VpcId", &vpc_id)]),
            None => source,
        }
    }

    fn source(account: &str) -> PublisherRef {
        PublisherRef {
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
                    parameter: None,
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
    async fn parameters_are_audited_by_version_and_one_unreadable_leaves_the_others_checked() {
        let source = MemoryPublishers::new()
            .with_parameter("222222222222", "/booking/topic", "String", "v1")
            .with_parameter("222222222222", "/booking/flag", "String", "on");
        let parameter_read = |name: &str, key: &str| -> ReadExport {
            let reference = ParameterRef::parse(name).unwrap();
            let parameter = crate::Parameter {
                name: name.into(),
                arn: format!("arn:aws:ssm:eu-west-1:222222222222:parameter{name}"),
                kind: "String".into(),
                value: String::new(),
                version: 1,
                modified_ms: 1_000,
            };
            let origin = parameter_origin(&reference, &parameter);
            ReadExport {
                key: key.into(),
                export: name.into(),
                fingerprint: fingerprint(&origin, "ignored"),
                defaulted: false,
                parameter: origin.parameter,
            }
        };
        let mut reader = record("airmiles", "222222222222", &[]);
        reader.exports = vec![parameter_read("/booking/topic", "Topic"), parameter_read("/booking/flag", "Flag")];
        reader.alerted.insert("Flag".into(), "an earlier alert".into());
        let report = audit(std::slice::from_ref(&reader), &source, &Governance::default()).await;
        assert!(report.stale.is_empty() && report.unchecked().next().is_none(), "{report:?}");

        source.put_parameter("222222222222", "/booking/topic", "String", "v2");
        source.deny_parameter("222222222222", "/booking/flag");
        let report = audit(std::slice::from_ref(&reader), &source, &Governance::default()).await;
        let states: Vec<(&str, Staleness, bool)> =
            report.stale.iter().map(|s| (s.key.as_str(), s.state, s.parameter)).collect();
        assert_eq!(states, [("Topic", Staleness::Changed, true)], "the denied one is not called removed");
        let unchecked: Vec<&PublisherCheck> = report.unchecked().collect();
        assert!(
            unchecked[0].error.as_ref().unwrap().to_string().contains("/booking/flag could not be read"),
            "{unchecked:?}"
        );
        assert_eq!(report.alert_updates[0].alerted.get("Flag").map(String::as_str), Some("an earlier alert"));
    }

    #[tokio::test]
    async fn a_scoped_audit_reads_and_compares_only_its_scope_and_keeps_other_alerts() {
        let sources = publisher(vec![Export::new("topic", "v2", "stack/b/1")]).with_stack("222222222222", "vpc", &[]);
        let mut reader =
            record("airmiles", "222222222222", &[("topic", "v1", "stack/b/1"), ("vpc.VpcId", "v", VPC_STACK)]);
        reader.alerted.insert("vpc.VpcId".into(), REMOVED.into());
        let exports_only = |read: &ReadExport| output_ref(&read.export).is_none();
        let report = audit_scoped(std::slice::from_ref(&reader), &sources, &Governance::default(), &exports_only).await;
        assert_eq!(sources.reads(), ["222222222222"], "the output's stack was not described");
        let found: Vec<_> = report.stale.iter().map(|s| (s.export.as_str(), s.state)).collect();
        assert_eq!(found, [("topic", Staleness::Changed)]);
        let alerted = &report.alert_updates[0].alerted;
        assert_eq!(alerted.get("vpc.VpcId").map(String::as_str), Some(REMOVED), "out of scope: kept");
        assert!(alerted.contains_key("topic"));
    }

    #[tokio::test]
    async fn a_role_no_longer_allowed_is_not_assumed() {
        let sources = MemoryPublishers::new();
        let governance = Governance {
            allowed_role_arns: Some(PatternList::parse("arn:aws:iam::999999999999:role/*").unwrap()),
            ..Governance::default()
        };
        let report = audit(&[record("a", "222222222222", &[("x", "1", "s")])], &sources, &governance).await;
        assert!(sources.reads().is_empty());
        assert!(report.sources[0].error.as_ref().unwrap().to_string().contains("no longer allowed"));
    }
}
