//! The read registry's use cases for people: who reads what (`remote-exports readers`), and
//! forgetting the readers of a consumer stack that no longer exists (`remote-exports prune`), only
//! as they were shown.

use remote_exports_core::{ParameterRef, ReadRecord, ReadRegistry, RegistryError, reader_key};

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
    pub fn matches(&self, record: &ReadRecord) -> bool {
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

/// Every recorded reader that `filter` matches, by consumer stack and resource: one Scan, filtered here.
pub async fn readers<R: ReadRegistry>(registry: &R, filter: &ReaderFilter) -> Result<Vec<ReadRecord>, RegistryError> {
    let mut records: Vec<ReadRecord> =
        registry.scan().await?.into_iter().filter(|record| filter.matches(record)).collect();
    records.sort_by(|a, b| (&a.stack_name, &a.logical_resource_id).cmp(&(&b.stack_name, &b.logical_resource_id)));
    Ok(records)
}

/// The recorded readers of the consumer stack `stack_id` (only `logical_id`'s, when given): what
/// `prune` shows before it forgets anything.
pub async fn readers_of_stack<R: ReadRegistry>(
    registry: &R,
    stack_id: &str,
    logical_id: Option<&str>,
) -> Result<Vec<ReadRecord>, RegistryError> {
    let records = registry.scan().await?;
    Ok(records
        .into_iter()
        .filter(|r| r.stack_id == stack_id && logical_id.is_none_or(|id| r.logical_resource_id == id))
        .collect())
}

/// What forgetting a reader that was shown did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pruned {
    Forgotten,
    /// Another PhysicalResourceId wrote the record after it was shown: it is live, and was kept.
    KeptAsLive,
}

/// Forgets `shown`, each only if the record is still the one shown (the PhysicalResourceId that
/// wrote it): a reader recorded again meanwhile is live and stays. `on_each` hears of each reader
/// as soon as it is done, so that what was forgotten is said even when a later one fails.
pub async fn forget_shown<R: ReadRegistry>(
    registry: &R,
    shown: &[ReadRecord],
    mut on_each: impl FnMut(&ReadRecord, &str, Pruned),
) -> Result<(), RegistryError> {
    for record in shown {
        let reader = reader_key(&record.stack_id, &record.logical_resource_id);
        let forgotten = registry.forget(&reader, record.physical_resource_id.as_deref()).await?;
        on_each(record, &reader, if forgotten { Pruned::Forgotten } else { Pruned::KeptAsLive });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use remote_exports_core::{ParameterVersion, PublisherRef, ReadExport};

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
    }

    /// Records by reader, each with the PhysicalResourceId that wrote it.
    #[derive(Default)]
    struct Records(std::sync::Mutex<Vec<ReadRecord>>);

    impl ReadRegistry for Records {
        async fn record(&self, record: &ReadRecord) -> Result<(), RegistryError> {
            self.0.lock().unwrap().push(record.clone());
            Ok(())
        }
        async fn forget(&self, reader: &str, id: Option<&str>) -> Result<bool, RegistryError> {
            let mut records = self.0.lock().unwrap();
            let written_by = |r: &ReadRecord| reader_key(&r.stack_id, &r.logical_resource_id) == reader;
            match records.iter().position(written_by) {
                Some(i) if records[i].physical_resource_id.as_deref() != id => Ok(false),
                Some(i) => {
                    records.remove(i);
                    Ok(true)
                }
                None => Ok(true),
            }
        }
        async fn scan(&self) -> Result<Vec<ReadRecord>, RegistryError> {
            Ok(self.0.lock().unwrap().clone())
        }
        async fn mark_alerted(&self, _: &remote_exports_core::AlertUpdate) -> Result<bool, RegistryError> {
            Ok(true)
        }
    }

    #[tokio::test]
    async fn pruning_forgets_only_the_records_shown() {
        let registry = Records::default();
        let mut dead = record(&["booking-topic"], "222222222222", "eu-west-1");
        dead.physical_resource_id = Some("old".into());
        let mut other = dead.clone();
        other.logical_resource_id = "Other".into();
        registry.record(&dead).await.unwrap();
        registry.record(&other).await.unwrap();
        let shown = readers_of_stack(&registry, "s", None).await.unwrap();
        assert_eq!(shown.len(), 2);
        // Meanwhile, Other is recorded again by a new PhysicalResourceId: it is live.
        registry.0.lock().unwrap()[1].physical_resource_id = Some("new".into());
        let mut outcomes = Vec::new();
        forget_shown(&registry, &shown, |_, _, pruned| outcomes.push(pruned)).await.unwrap();
        assert_eq!(outcomes, [Pruned::Forgotten, Pruned::KeptAsLive]);
        assert_eq!(readers(&registry, &ReaderFilter::default()).await.unwrap().len(), 1);
        assert!(readers_of_stack(&registry, "s", Some("Lookup")).await.unwrap().is_empty());
    }
}
