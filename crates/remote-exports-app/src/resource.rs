use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cloudformation_custom_resource::{
    CustomResource, Data, Deleted, Failure, FollowUp, ReplyTarget, Request, RequestKind, StackArn, Success,
};
use remote_exports_core::{
    AlertUpdate, Attempts, ConsumerPolicy, ConsumerPolicyStore, Count, FINGERPRINT_SCHEME, LookupError, LookupPlan,
    Meter, NoMeter, Origin, PublisherReads, PublisherRef, ReadRecord, ReadRegistry, Reads, RegistryError,
    ResourceProperties, Selected, Source, lookup, reader_key, rfc3339,
};

use crate::{PolicyCache, PolicySetting, Settings};

/// The name of the registry's follow-up in the `answered` log line.
pub const REGISTRY_FOLLOW_UP: &str = "reads-registry";

/// `Custom::RemoteExports`: reads a publisher account's exports and returns the selected ones as Data.
pub struct RemoteExports<S, P, R = NoRegistry> {
    settings: Settings,
    exports: S,
    policy: PolicyCache<P>,
    /// Where reads are recorded, when `READS_TABLE` is set.
    registry: Option<Arc<R>>,
    /// Told the kind of every FAILED answer this resource prepares.
    meter: Arc<dyn Meter>,
    /// What the latest requests' plans read: what a timeout or an oversized answer names.
    planned: Planned,
}

/// What the latest requests planned to read, by RequestId, so that a timeout's or an oversized
/// answer's Reason names the source and the reads the request's own plan chose, without planning it
/// again. Bounded, because the driver never says that a request is done.
#[derive(Default)]
struct Planned(Mutex<VecDeque<(String, Source, Reads)>>);

impl Planned {
    const KEPT: usize = 16;

    fn remember(&self, request_id: &str, plan: &LookupPlan) {
        let mut planned = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        planned.retain(|(id, _, _)| id != request_id);
        if planned.len() == Self::KEPT {
            planned.pop_front();
        }
        planned.push_back((request_id.to_owned(), plan.source.clone(), plan.reads()));
    }

    fn of(&self, request_id: &str) -> Option<(Source, Reads)> {
        let planned = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        planned.iter().find(|(id, _, _)| id == request_id).map(|(_, source, reads)| (source.clone(), *reads))
    }
}

/// The registry of a function without `READS_TABLE`: never called.
pub struct NoRegistry;

impl ReadRegistry for NoRegistry {
    async fn record(&self, _: &ReadRecord) -> Result<(), RegistryError> {
        Ok(())
    }
    async fn forget(&self, _: &str, _: Option<&str>) -> Result<bool, RegistryError> {
        Ok(true)
    }
    async fn scan(&self) -> Result<Vec<ReadRecord>, RegistryError> {
        Ok(Vec::new())
    }
    async fn mark_alerted(&self, _: &AlertUpdate) -> Result<bool, RegistryError> {
        Ok(true)
    }
}

impl<S: PublisherReads, P: ConsumerPolicyStore> RemoteExports<S, P, NoRegistry> {
    /// `exports` reads publishers' exports; `parameters` reads a consumer policy kept in SSM.
    pub fn new(settings: Settings, exports: S, parameters: P) -> Self {
        // Unconfigured, nothing is read: the plan fails first, naming the reason.
        let setting = settings.governed.as_ref().map_or(PolicySetting::None, |g| g.consumer_policy.clone());
        let policy = PolicyCache::new(setting, parameters);
        RemoteExports {
            settings,
            exports,
            policy,
            registry: None,
            meter: Arc::new(NoMeter),
            planned: Planned::default(),
        }
    }
}

impl<S: PublisherReads, P: ConsumerPolicyStore, R: ReadRegistry + 'static> RemoteExports<S, P, R> {
    /// Records every successful read in `registry` (and forgets it on Delete); `None` records nothing.
    pub fn with_registry<R2: ReadRegistry>(self, registry: Option<R2>) -> RemoteExports<S, P, R2> {
        let RemoteExports { settings, exports, policy, registry: _, meter, planned } = self;
        RemoteExports { settings, exports, policy, registry: registry.map(Arc::new), meter, planned }
    }

    /// Tells `meter` the kind of each FAILED answer (see [`LookupError::kind`]).
    pub fn with_meter(self, meter: Arc<dyn Meter>) -> Self {
        RemoteExports { meter, ..self }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the resource reads publishers through.
    pub fn exports(&self) -> &S {
        &self.exports
    }

    pub fn registry(&self) -> Option<&R> {
        self.registry.as_deref()
    }

    /// The consumer policy in force now (read through its cache).
    pub async fn consumer_policy(&self) -> Result<Option<std::sync::Arc<ConsumerPolicy>>, LookupError> {
        Ok(self.policy.current().await?)
    }

    /// Everything decided before any AWS call: defaults, allow-lists and the consumer's policy.
    pub fn plan(&self, request: &Request, policy: Option<&ConsumerPolicy>) -> Result<LookupPlan, LookupError> {
        let governance = &self.settings.governed.as_ref().map_err(|error| LookupError::from(error.clone()))?.governance;
        let stack = StackArn::parse(&request.reply.stack_id);
        // Only a ResponseURL bound to its request makes CloudFormation vouch for the StackId. Under
        // host-only the account is the invoker's claim: no identity is given to the publisher, no
        // consumer policy entry applies, and nothing secret is answered.
        let vouched = self.settings.url_policy.binds_request();
        let consumer = stack.filter(|_| vouched);
        let origin = Origin {
            stack_region: stack.map(|s| s.region),
            function_region: self.settings.function_region.as_deref(),
            stack_name: consumer.map(|s| s.stack_name),
            consumer_account: consumer.map(|s| s.account),
            logical_resource_id: &request.reply.logical_resource_id,
        };
        let plan = LookupPlan::new(ResourceProperties::parse(&request.properties)?, governance, policy, origin)?;
        if plan.no_echo && !vouched {
            return Err(LookupError::NoEchoUnbound);
        }
        Ok(plan)
    }

    /// The throttled attempts of this request's reads of `source`, into the function's metrics once:
    /// the count the Reason is made of too.
    fn count_throttled(&self, source: &Source) {
        if let Some(attempts) = self.exports.attempts(source).filter(|a| a.throttled > 0) {
            self.meter.add(Count::ThrottledAttempt, attempts.throttled);
        }
    }

    /// The FAILED answer for `error`, its kind counted.
    fn failure(&self, error: &LookupError) -> Failure {
        self.meter.failed(error.kind());
        Failure::new(error.to_string()).detail(format!("kind={}", error.kind()))
    }

    async fn read(&self, request: &Request) -> Result<Success, Failure> {
        let fail = |error: LookupError| self.failure(&error);
        let policy = self.consumer_policy().await.map_err(fail)?;
        let mut plan = self.plan(request, policy.as_deref()).map_err(fail)?;
        self.planned.remember(&request.reply.request_id, &plan);
        if request.kind == RequestKind::Update {
            // A changed Refresh (or any Update) must see what is exported now, not a snapshot from before.
            plan.source.not_before_ms = Some(remote_exports_core::now_ms());
        }
        self.exports.restart(&plan.source);
        let selected = lookup(&self.exports, &plan).await;
        self.count_throttled(&plan.source);
        let selected = selected.map_err(|error| {
            // A failed Create that knows its source answers with the ID a success would have had.
            fail(error).with_physical_resource_id(plan.source.physical_resource_id())
        })?;
        let mut detail = format!("scanned={} pages={} stacks={}", selected.scanned, selected.pages, selected.stacks);
        if !selected.defaulted.is_empty() {
            // Data keys, never values: the operator sees which reads fell back to a default.
            let keys: Vec<&str> = selected.defaulted.iter().map(String::as_str).collect();
            detail.push_str(&format!(" defaulted={}", keys.join(",")));
        }
        let follow_up = self.registry.as_ref().map(|registry| self.record_read(registry, request, &plan, &selected));
        let data: Data = selected.data.into_iter().collect();
        let success = Success::new(plan.source.physical_resource_id(), data).no_echo(plan.no_echo).detail(detail);
        Ok(match follow_up {
            Some(follow_up) => success.then(follow_up),
            None => success,
        })
    }

    /// Records the read beside the delivery; fingerprints are computed there too, off the answer's path.
    fn record_read(&self, registry: &Arc<R>, request: &Request, plan: &LookupPlan, selected: &Selected) -> FollowUp {
        let stack = StackArn::parse(&request.reply.stack_id);
        let own_account = self.settings.function_account.as_deref().unwrap_or("self");
        let mut record = ReadRecord {
            stack_id: request.reply.stack_id.clone(),
            logical_resource_id: request.reply.logical_resource_id.clone(),
            consumer_account: stack.map_or_else(String::new, |s| s.account.to_owned()),
            stack_name: stack.map_or_else(String::new, |s| s.stack_name.to_owned()),
            source: PublisherRef::from_source(&plan.source, own_account),
            exports: Vec::new(),
            read_at: rfc3339(SystemTime::now()),
            request_type: request.kind.as_str().to_owned(),
            no_echo: plan.no_echo,
            fingerprint_scheme: FINGERPRINT_SCHEME.to_owned(),
            physical_resource_id: Some(plan.source.physical_resource_id()),
            alerted: Default::default(),
        };
        let (registry, data, origins, defaulted) =
            (Arc::clone(registry), selected.data.clone(), selected.origins.clone(), selected.defaulted.clone());
        FollowUp::new(REGISTRY_FOLLOW_UP, async move {
            record.exports = ReadRecord::exports_of(&data, &origins, &defaulted);
            drop(data);
            registry.record(&record).await
        })
    }
}

impl<S, P, R> CustomResource for RemoteExports<S, P, R>
where
    S: PublisherReads + 'static,
    P: ConsumerPolicyStore + 'static,
    R: ReadRegistry + 'static,
{
    // The properties are read by `ResourceProperties::parse`, whose Reasons suggest near matches.
    type Properties = serde_json::Value;

    async fn create(&self, request: &Request) -> Result<Success, Failure> {
        self.read(request).await
    }

    async fn update(&self, request: &Request) -> Result<Success, Failure> {
        self.read(request).await
    }

    /// Nothing was created, so there is nothing to delete: no call, no validation, always SUCCESS.
    /// With a registry, the reader is forgotten beside the answer, where a failure cannot reach it,
    /// and only if this Delete's PhysicalResourceId wrote it: the Delete of a replaced or
    /// rolled-back ID leaves the record of the ID that reads now.
    async fn delete(&self, request: &Request) -> Result<Deleted, Failure> {
        let Some(registry) = &self.registry else { return Ok(Deleted::new()) };
        let (registry, reader) =
            (Arc::clone(registry), reader_key(&request.reply.stack_id, &request.reply.logical_resource_id));
        let physical_resource_id = request.reply.physical_resource_id.clone();
        Ok(Deleted::new().then(FollowUp::new(REGISTRY_FOLLOW_UP, async move {
            let forgotten = registry.forget(&reader, physical_resource_id.as_deref()).await;
            if forgotten == Ok(false) {
                tracing::debug!(
                    %reader,
                    physical_resource_id = physical_resource_id.as_deref().unwrap_or(""),
                    "reads-table record left: another PhysicalResourceId of this resource wrote it"
                );
            }
            forgotten.map(drop)
        })))
    }

    fn timeout_reason(&self, request: &Request, waited: Duration) -> String {
        // Cut off before it had a plan (reading the consumer policy, say): nothing more to name.
        let Some((source, reads)) = self.planned.of(&request.reply.request_id) else {
            let (source_name, reads) = ("the publisher".to_owned(), Reads::default());
            return self.failure(&LookupError::TimedOut { source_name, waited, reads }).reason;
        };
        // The read was cut off before it could count its throttled attempts.
        self.count_throttled(&source);
        let source_name = source.describe();
        let error = match self.exports.attempts(&source) {
            Some(Attempts { attempts, throttled }) if throttled > 0 => {
                LookupError::Throttled { source_name, attempts, throttled, waited }
            }
            _ => LookupError::TimedOut { source_name, waited, reads },
        };
        self.failure(&error).reason
    }

    fn oversized_reason(&self, request: &Request, bytes: usize, data_keys: usize) -> String {
        let reads = self.planned.of(&request.reply.request_id).map(|(_, reads)| reads).unwrap_or_default();
        self.failure(&LookupError::ResponseTooLarge { bytes, keys: data_keys, reads }).reason
    }

    fn failed_create_id(&self, reply: &ReplyTarget) -> String {
        format!("remote-exports:failed:{}", reply.logical_resource_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudformation_custom_resource::testing::RecordingTransport;
    use cloudformation_custom_resource::{Deadline, Driver};
    use remote_exports_core::testing::{Fault, MemoryConsumerPolicy, MemoryPublishers, OWN_ACCOUNT};
    use remote_exports_core::{Export, FailureKind, ReadError, ReadStep, output_ref};
    use serde_json::{Value, json};

    const STACK: &str = "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid";
    const ROLE: &str = "arn:aws:iam::222222222222:role/reader";

    fn event(kind: &str, properties: Value) -> Value {
        json!({
            "RequestType": kind,
            // CloudFormation's bucket and key for this request, on loopback as an emulator carries it.
            "ResponseURL": "http://127.0.0.1:9/cloudformation-custom-resource-response-euwest1/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A111111111111%3Astack/airmiles/guid%7CLookup%7Cr1?X-Amz-Signature=s",
            "StackId": STACK,
            "RequestId": "r1",
            "LogicalResourceId": "Lookup",
            "PhysicalResourceId": "remote-exports:222222222222:eu-west-1",
            "ResourceType": "Custom::RemoteExports",
            "ResourceProperties": properties,
            "OldResourceProperties": {},
        })
    }

    /// The publisher (222222222222) and the function's own account both export `pairs`; each name
    /// `<stack>.<key>` is also an output of that stack.
    fn exports(pairs: &[(&str, &str)]) -> MemoryPublishers {
        let list: Vec<Export> =
            pairs.iter().map(|(name, value)| Export::new(*name, *value, "stack/booking/1")).collect();
        let mut source =
            MemoryPublishers::new().with_exports(OWN_ACCOUNT, list.clone()).with_exports("222222222222", list);
        for (name, value) in pairs {
            if let Some((stack, key)) = output_ref(name) {
                source = source.with_stack("222222222222", stack, &[(key, value)]);
            }
        }
        source
    }

    fn failing(fault: Fault) -> MemoryPublishers {
        MemoryPublishers::new().with_fault(fault)
    }

    /// `vars`, as a function in eu-west-1 (the events' region) answering on loopback would have them.
    fn local_settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| (name == "ALLOW_LOOPBACK_RESPONSE_URL").then(|| "true".to_owned()))
                .or_else(|| (name == "AWS_REGION").then(|| "eu-west-1".to_owned()))
        })
    }

    async fn run_with(
        vars: &'static [(&'static str, &'static str)],
        source: MemoryPublishers,
        event: Value,
    ) -> (Vec<Value>, usize) {
        let settings = local_settings(vars);
        let transport = RecordingTransport::new();
        let policy = settings.url_policy.clone();
        let resource = RemoteExports::new(settings, source, MemoryConsumerPolicy::new());
        let driver = Driver::new(resource, &transport).with_url_policy(policy);
        driver.handle(event, Deadline::after(Duration::from_secs(10))).await.unwrap();
        (transport.answers(), driver.resource().exports.read_count())
    }

    async fn run(source: MemoryPublishers, event: Value) -> (Vec<Value>, usize) {
        run_with(&[], source, event).await
    }

    /// Records what it is asked to do; fails every write when `fail` is set.
    #[derive(Default)]
    struct FakeRegistry {
        recorded: std::sync::Mutex<Vec<ReadRecord>>,
        forgotten: std::sync::Mutex<Vec<String>>,
        fail: bool,
    }

    impl ReadRegistry for FakeRegistry {
        async fn record(&self, record: &ReadRecord) -> Result<(), RegistryError> {
            self.recorded.lock().unwrap().push(record.clone());
            self.outcome()
        }
        async fn forget(&self, reader: &str, _: Option<&str>) -> Result<bool, RegistryError> {
            self.forgotten.lock().unwrap().push(reader.to_owned());
            self.outcome().map(|()| true)
        }
        async fn scan(&self) -> Result<Vec<ReadRecord>, RegistryError> {
            Ok(self.recorded.lock().unwrap().clone())
        }
        async fn mark_alerted(&self, _: &AlertUpdate) -> Result<bool, RegistryError> {
            self.outcome().map(|()| true)
        }
    }

    impl FakeRegistry {
        fn outcome(&self) -> Result<(), RegistryError> {
            if !self.fail {
                return Ok(());
            }
            Err(RegistryError {
                operation: "PutItem",
                table: "reads".into(),
                code: Some("AccessDeniedException".into()),
                status: Some(400),
                message: "not authorized".into(),
            })
        }
    }

    async fn run_with_registry(
        registry: &Arc<FakeRegistry>,
        event: Value,
    ) -> (Value, Option<cloudformation_custom_resource::error::FollowUpOutcome>) {
        let settings = local_settings(&[]);
        let transport = RecordingTransport::new();
        let policy = settings.url_policy.clone();
        let source = exports(&[("topic", "arn:sns:1"), ("flag", "true")]);
        let resource =
            RemoteExports::new(settings, source, MemoryConsumerPolicy::new()).with_registry(Some(Arc::clone(registry)));
        let driver = Driver::new(resource, &transport).with_url_policy(policy);
        let handled = driver.handle(event, Deadline::after(Duration::from_secs(10))).await.unwrap();
        (transport.answers().remove(0), handled.follow_up)
    }

    #[tokio::test]
    async fn a_successful_read_is_recorded_with_fingerprints_and_no_values() {
        let registry = Arc::new(FakeRegistry::default());
        let properties = json!({"RoleArn": ROLE, "Exports": {"Topic": "topic"}, "ExportNames": ["flag"]});
        let (body, follow_up) = run_with_registry(&registry, event("Update", properties)).await;
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(follow_up.unwrap().error, None);
        let recorded = registry.recorded.lock().unwrap().clone();
        let record = &recorded[0];
        assert_eq!(record.reader(), format!("{STACK}|Lookup"));
        assert_eq!((record.consumer_account.as_str(), record.stack_name.as_str()), ("111111111111", "airmiles"));
        assert_eq!((record.source.account.as_str(), record.source.role_arn.as_deref()), ("222222222222", Some(ROLE)));
        assert_eq!(record.request_type, "Update");
        let keys: Vec<_> = record.exports.iter().map(|e| (e.key.as_str(), e.export.as_str())).collect();
        assert_eq!(keys, vec![("Topic", "topic"), ("flag", "flag")]);
        let shown = format!("{record:?}");
        assert!(!shown.contains("arn:sns:1") && !shown.contains("\"true\""), "{shown}");
    }

    #[tokio::test]
    async fn outputs_and_defaults_are_recorded_with_what_was_defaulted() {
        let registry = Arc::new(FakeRegistry::default());
        let properties = json!({"RoleArn": ROLE, "StackOutputs": ["booking.TopicArn", "booking.Queue"],
                                "ExportNames": ["topic"], "Defaults": {"booking.Queue": "none"}});
        let settings = local_settings(&[]);
        let transport = RecordingTransport::new();
        let policy = settings.url_policy.clone();
        let source = exports(&[("topic", "arn:sns:1"), ("booking.TopicArn", "arn:sns:2")]);
        let resource = RemoteExports::new(settings, source, MemoryConsumerPolicy::new())
            .with_registry(Some(Arc::clone(&registry)));
        let driver = Driver::new(resource, &transport).with_url_policy(policy);
        driver.handle(event("Create", properties), Deadline::after(Duration::from_secs(10))).await.unwrap();
        let body = transport.answers().remove(0);
        assert_eq!(
            body["Data"],
            json!({"topic": "arn:sns:1", "booking.TopicArn": "arn:sns:2", "booking.Queue": "none"})
        );
        let record = registry.recorded.lock().unwrap()[0].clone();
        let reads: Vec<_> =
            record.exports.iter().map(|e| (e.key.as_str(), e.defaulted, e.fingerprint.is_empty())).collect();
        assert_eq!(reads, [("booking.Queue", true, true), ("booking.TopicArn", false, false), ("topic", false, false)]);
    }

    #[tokio::test]
    async fn a_failing_registry_never_fails_the_answer_and_delete_forgets_the_reader() {
        let registry = Arc::new(FakeRegistry { fail: true, ..FakeRegistry::default() });
        let (body, follow_up) = run_with_registry(&registry, event("Create", json!({"RoleArn": ROLE}))).await;
        assert_eq!(body["Status"], "SUCCESS");
        assert!(follow_up.unwrap().error.unwrap().contains("AccessDeniedException"));
        let (body, follow_up) = run_with_registry(&registry, event("Delete", json!({"RoleArn": 42}))).await;
        assert_eq!(body["Status"], "SUCCESS");
        assert!(follow_up.unwrap().error.is_some());
        assert_eq!(*registry.forgotten.lock().unwrap(), vec![format!("{STACK}|Lookup")]);
    }

    #[tokio::test]
    async fn a_failed_read_records_nothing() {
        let registry = Arc::new(FakeRegistry::default());
        let (body, follow_up) =
            run_with_registry(&registry, event("Create", json!({"ExportNames": ["missing"]}))).await;
        assert_eq!(body["Status"], "FAILED");
        assert!(follow_up.is_none());
        assert!(registry.recorded.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn create_answers_with_the_selected_data() {
        let (bodies, _) =
            run(exports(&[("a", "1"), ("b", "2")]), event("Create", json!({"RoleArn": ROLE, "ExportNames": ["b"]})))
                .await;
        assert_eq!(bodies[0]["Data"], json!({"b": "2"}));
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    }

    #[tokio::test]
    async fn delete_succeeds_without_a_call_even_with_garbage_properties_and_settings() {
        let vars = &[("DEFAULT_ROLE_ARN", "garbage"), ("CONSUMER_POLICY", "{")];
        let (bodies, calls) =
            run_with(vars, failing(Fault::Panic), event("Delete", json!({"RoleArn": 42, "Bogus": true}))).await;
        assert_eq!(calls, 0);
        assert_eq!(bodies[0]["Status"], "SUCCESS");
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    }

    #[tokio::test]
    async fn a_panic_in_the_lookup_becomes_failed() {
        let (bodies, _) = run(failing(Fault::Panic), event("Create", json!({}))).await;
        assert_eq!(bodies[0]["Status"], "FAILED");
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("source exploded"), "{}", bodies[0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_lookup_is_answered_naming_the_source() {
        let (bodies, _) = run(failing(Fault::Hang), event("Create", json!({"RoleArn": ROLE}))).await;
        let reason = bodies[0]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("Timed out reading export(s) from account 222222222222 in eu-west-1"), "{reason}");
        assert!(reason.contains("STS or CloudFormation was slow or unreachable"), "{reason}");
    }

    /// Counts what it is told, for the metrics.
    #[derive(Default)]
    struct KeptCounts(std::sync::Mutex<Vec<(Count, u32)>>);

    impl Meter for KeptCounts {
        fn add(&self, count: Count, n: u32) {
            self.0.lock().unwrap().push((count, n));
        }
        fn failed(&self, _: &'static str) {}
    }

    /// The adapter's one count of a request's attempts makes both the Reason and the metric: counted
    /// afresh when the request's reads begin, put in the metrics once, whether the read ends or is cut off.
    #[tokio::test(start_paused = true)]
    async fn throttled_attempts_come_from_one_count_into_the_reason_and_the_metrics() {
        let throttled = Attempts { attempts: 9, throttled: 7 };
        for (source, expected) in [
            (exports(&[("topic", "arn:sns:1")]).with_attempts(throttled), "SUCCESS"),
            (failing(Fault::Hang).with_attempts(throttled), "FAILED"),
        ] {
            let settings = local_settings(&[]);
            let transport = RecordingTransport::new();
            let policy = settings.url_policy.clone();
            let meter = Arc::new(KeptCounts::default());
            let resource = RemoteExports::new(settings, source, MemoryConsumerPolicy::new()).with_meter(meter.clone());
            let driver = Driver::new(resource, &transport).with_url_policy(policy);
            let properties = json!({"RoleArn": ROLE, "ExportNames": ["topic"]});
            driver.handle(event("Create", properties), Deadline::after(Duration::from_secs(10))).await.unwrap();
            let answer = transport.answers().remove(0);
            assert_eq!(answer["Status"], expected, "{answer}");
            if expected == "FAILED" {
                let reason = answer["Reason"].as_str().unwrap();
                assert!(reason.contains("were throttled: 7 of 9 attempt(s)"), "{reason}");
            }
            let counted: Vec<(Count, u32)> = meter.0.lock().unwrap().clone();
            assert_eq!(counted, [(Count::ThrottledAttempt, 7)], "{expected}");
            assert_eq!(driver.resource().exports.restarts(), 1);
        }
    }

    #[tokio::test]
    async fn a_failed_update_keeps_its_physical_id() {
        let failure = ReadError {
            step: ReadStep::AssumeRole,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".into()),
            message: "no".into(),
        };
        let (bodies, _) =
            run(failing(Fault::Fail(failure)), event("Update", json!({"RoleArn": "arn:aws:iam::333333333333:role/x"})))
                .await;
        assert_eq!(bodies[0]["Status"], "FAILED");
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    }

    #[tokio::test]
    async fn a_create_with_bad_properties_fails_with_a_usable_id_and_no_call() {
        let (bodies, calls) = run(exports(&[]), event("Create", json!({"RoleArn": "admin"}))).await;
        assert_eq!(calls, 0);
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:failed:Lookup");
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("RoleArn 'admin'"));
    }

    #[tokio::test]
    async fn data_over_the_limit_fails_instead_of_dropping_keys() {
        let many: Vec<Export> = (0..60).map(|i| Export::new(format!("export-{i}"), "v".repeat(80), "s")).collect();
        let (bodies, _) =
            run(MemoryPublishers::new().with_exports(OWN_ACCOUNT, many), event("Create", json!({}))).await;
        let reason = bodies[0]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("The 60 selected export(s) make a "), "{reason}");
        assert!(bodies[0].get("Data").is_none());
    }

    #[tokio::test]
    async fn no_echo_is_passed_on() {
        let (bodies, _) = run(exports(&[("a", "secret")]), event("Create", json!({"NoEcho": "true"}))).await;
        assert_eq!(bodies[0]["NoEcho"], true);
    }

    #[tokio::test]
    async fn the_consumer_policy_refuses_before_any_call() {
        let vars = &[("CONSUMER_POLICY", r#"{"111111111111": {"RoleArns": ["self"], "Exports": ["shared-*"]}}"#)];
        let (bodies, calls) =
            run_with(vars, exports(&[("booking-x", "1")]), event("Create", json!({"RoleArn": ROLE}))).await;
        assert_eq!(calls, 0);
        let reason = bodies[0]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("Consumer account 111111111111 may not read through"), "{reason}");
        let (bodies, calls) =
            run_with(vars, exports(&[("booking-x", "1"), ("shared-y", "2")]), event("Create", json!({}))).await;
        assert_eq!((calls, &bodies[0]["Data"]), (1, &json!({"shared-y": "2"})));
    }

    #[tokio::test]
    async fn an_invalid_or_conflicting_policy_fails_create_and_names_the_problem() {
        let (bodies, calls) = run_with(&[("CONSUMER_POLICY", "[1]")], exports(&[]), event("Create", json!({}))).await;
        assert_eq!(calls, 0);
        assert!(
            bodies[0]["Reason"].as_str().unwrap().contains("consumer policy (CONSUMER_POLICY) must be a JSON object")
        );
        let vars = &[("CONSUMER_POLICY", "{}"), ("CONSUMER_POLICY_PARAMETER", "/p")];
        let (bodies, _) = run_with(vars, exports(&[]), event("Create", json!({}))).await;
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("not both"), "{}", bodies[0]);
    }
}
