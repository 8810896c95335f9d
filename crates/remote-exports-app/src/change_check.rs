//! A publisher's change event, checked at once: only the readers of that source (one registry
//! query, never a scan), only their reads that the change may concern (one read of the source),
//! then the same stale/removed/appeared events the audit puts. The event says only where to look;
//! what changed is read from the publisher, so a forged or replayed event can at most cause one
//! re-check, and checks of one target are at least a window apart (later events coalesce into it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remote_exports_core::{
    AuditEvents, AuditReport, ConfigError, Governance, PublisherReads, ReadRegistry, ReadersBySource, SourceChange,
    audit_scoped, now_ms,
};

use crate::audit::{Alerted, AuditError, alert};

/// The default least time between two checks of one stack or parameter.
pub const DEFAULT_CHECK_WINDOW: Duration = Duration::from_secs(10);

/// A check that started this soon after the change's own time may have read just before it became
/// visible (the clocks of EventBridge and the function differ a little): it does not cover it.
const CLOCK_MARGIN_MS: u64 = 1_000;

/// Targets remembered at most, so that a flood of forged targets cannot grow the function's memory.
const REMEMBERED_TARGETS: usize = 10_000;

/// What a change event led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// A check of the same target that started after the change already ran: nothing was read.
    Coalesced,
    /// The readers of the source that the change concerns were checked.
    Checked(ChangeReport),
}

/// One check of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReport {
    /// Records of readers of the source (what the query returned).
    pub readers_of_source: usize,
    /// Of those, the records the change concerns: the ones compared.
    pub concerned: usize,
    pub report: AuditReport,
    pub events_put: usize,
    /// From the change (its event's time) to the last stale event being out, when any was put.
    pub propagation: Option<Duration>,
    /// How long the check waited for its target's window.
    pub waited: Duration,
}

/// The check of change events, built from what it uses: the publishers (read directly, never
/// through the snapshot), the registry (its by-source query and the alerted state) and the
/// allow-lists.
pub struct ChangeCheck<S, R> {
    exports: S,
    /// `None` when `READS_TABLE` is unset: every check fails, naming the setting.
    registry: Option<R>,
    governance: Result<Governance, ConfigError>,
    window: Duration,
    clock: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// When the last check of each target started (ms since the epoch).
    started: Mutex<HashMap<String, u64>>,
}

impl<S: PublisherReads, R: ReadersBySource + ReadRegistry> ChangeCheck<S, R> {
    pub fn new(exports: S, registry: Option<R>, governance: Result<Governance, ConfigError>) -> Self {
        ChangeCheck {
            exports,
            registry,
            governance,
            window: DEFAULT_CHECK_WINDOW,
            clock: Arc::new(now_ms),
            started: Mutex::new(HashMap::new()),
        }
    }

    /// At least `window` between two checks of one target.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The wall clock, in ms since the epoch (tests pass one that follows tokio's paused time).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the readers `change` concerns, unless a check of its target that started after it
    /// already did; waits out the target's window first. Puts one event per newly stale read.
    pub async fn check<E: AuditEvents>(&self, change: &SourceChange, events: &E) -> Result<ChangeOutcome, AuditError> {
        let registry = self.registry.as_ref().ok_or(AuditError::NoRegistry)?;
        let governance = self.governance.as_ref().map_err(|error| AuditError::Config(error.clone()))?;
        let target = change.target();
        // EventBridge delivers at least once; a delivery or replay of an event already checked is covered.
        let delivery = format!("event|{}", change.event_id);
        if self.started_at(&delivery).is_some() {
            return Ok(ChangeOutcome::Coalesced);
        }
        // A change "from the future" (a forged time) is treated as happening now.
        let happened = change.at_ms.min((self.clock)());
        if self.covered(&target, happened) {
            return Ok(ChangeOutcome::Coalesced);
        }
        // The readers first: a change nobody reads costs one query and never waits for the window,
        // so a busy stack or parameter without readers holds up no other change.
        let records = registry.readers_of(&change.account, &change.region).await?;
        let readers_of_source = records.len();
        let concerned: Vec<_> = records.into_iter().filter(|record| change.concerns_record(record)).collect();
        let mut waited = Duration::ZERO;
        if !concerned.is_empty() {
            loop {
                if self.covered(&target, happened) {
                    return Ok(ChangeOutcome::Coalesced);
                }
                let now = (self.clock)();
                match self.started_at(&target).map(|started| started + self.window.as_millis() as u64) {
                    Some(open) if now < open => {
                        let wait = Duration::from_millis(open - now);
                        waited += wait;
                        tokio::time::sleep(wait).await;
                    }
                    _ => break,
                }
            }
        }
        let started = (self.clock)();
        let before = self.started_at(&target);
        if !concerned.is_empty() {
            self.remember(&target, started);
        }
        self.remember(&delivery, started);
        // One read of the source for the concerned records (none when nobody reads what changed), then
        // their events and alerted state.
        let checked = async {
            let report = audit_scoped(&concerned, &self.exports, governance, &|read| change.concerns(read)).await;
            let alerted = alert(&report, events, registry).await?;
            Ok::<_, AuditError>((report, alerted))
        }
        .await;
        let (report, Alerted { events_put, put_at_ms, replaced }) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                // Not done: Lambda's retry of this event (or the next change) must check again.
                self.forget(&delivery, &target, before);
                return Err(error);
            }
        };
        tracing::info!(
            change = %change.describe(),
            event_id = %change.event_id,
            readers_of_source,
            concerned = concerned.len(),
            stale = report.stale.len(),
            unchecked_sources = report.unchecked().count(),
            events_put,
            records_replaced_since_read = replaced,
            waited_ms = waited.as_millis() as u64,
            "checked a change"
        );
        Ok(ChangeOutcome::Checked(ChangeReport {
            readers_of_source,
            concerned: concerned.len(),
            report,
            events_put,
            propagation: put_at_ms.map(|at| Duration::from_millis(at.saturating_sub(change.at_ms))),
            waited,
        }))
    }

    /// Whether a check of `target` that started after `happened` already ran.
    fn covered(&self, target: &str, happened: u64) -> bool {
        self.started_at(target).is_some_and(|started| started >= happened.saturating_add(CLOCK_MARGIN_MS))
    }

    fn started_at(&self, key: &str) -> Option<u64> {
        self.started.lock().unwrap_or_else(|e| e.into_inner()).get(key).copied()
    }

    /// Undoes what a failed check remembered: its delivery, and its target's previous start.
    fn forget(&self, delivery: &str, target: &str, before: Option<u64>) {
        let mut remembered = self.started.lock().unwrap_or_else(|e| e.into_inner());
        remembered.remove(delivery);
        match before {
            Some(started) => remembered.insert(target.to_owned(), started),
            None => remembered.remove(target),
        };
    }

    fn remember(&self, target: &str, started: u64) {
        let mut remembered = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if remembered.len() >= REMEMBERED_TARGETS {
            // Forget the older half: at worst, a replay of one of theirs is checked once more.
            let mut times: Vec<u64> = remembered.values().copied().collect();
            times.sort_unstable();
            let median = times[times.len() / 2];
            remembered.retain(|_, at| *at > median);
        }
        remembered.insert(target.to_owned(), started);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU32, Ordering};

    use remote_exports_core::testing::MemoryPublishers;
    use remote_exports_core::{
        AlertUpdate, Changed, Export, ExportOrigin, FINGERPRINT_SCHEME, PublishError, PublisherRef, ReadExport,
        ReadRecord, RegistryError, StaleRead, Staleness, fingerprint,
    };

    const PUBLISHER: &str = "222222222222";
    const REGION: &str = "eu-west-1";

    /// A registry of fixed records that counts its queries and scans and keeps alert updates.
    #[derive(Default)]
    struct Registry {
        records: Vec<ReadRecord>,
        queries: AtomicU32,
        scans: AtomicU32,
        alerted: Mutex<Vec<AlertUpdate>>,
    }

    impl ReadersBySource for Registry {
        async fn readers_of(&self, account: &str, region: &str) -> Result<Vec<ReadRecord>, RegistryError> {
            self.queries.fetch_add(1, Ordering::SeqCst);
            let of_source = |r: &&ReadRecord| r.source.account == account && r.source.region == region;
            Ok(self.records.iter().filter(of_source).cloned().collect())
        }
    }

    impl ReadRegistry for Registry {
        async fn record(&self, _: &ReadRecord) -> Result<(), RegistryError> {
            Ok(())
        }
        async fn forget(&self, _: &str, _: Option<&str>) -> Result<bool, RegistryError> {
            Ok(true)
        }
        async fn scan(&self) -> Result<Vec<ReadRecord>, RegistryError> {
            self.scans.fetch_add(1, Ordering::SeqCst);
            Ok(self.records.clone())
        }
        async fn mark_alerted(&self, update: &AlertUpdate) -> Result<bool, RegistryError> {
            self.alerted.lock().unwrap().push(update.clone());
            Ok(true)
        }
    }

    /// Keeps what it is given; refuses while `refusing` is set, as an unavailable bus would.
    #[derive(Default)]
    struct Kept(Mutex<Vec<StaleRead>>, std::sync::atomic::AtomicBool);

    impl AuditEvents for Kept {
        async fn publish(&self, stale: &[StaleRead]) -> Result<usize, PublishError> {
            if self.1.load(Ordering::SeqCst) {
                return Err(PublishError { accepted: 0, failures: vec![] });
            }
            self.0.lock().unwrap().extend_from_slice(stale);
            Ok(stale.len())
        }
    }

    fn reader(stack: &str, account: &str, reads: &[(&str, &str)]) -> ReadRecord {
        ReadRecord {
            stack_id: format!("arn:aws:cloudformation:{REGION}:111111111111:stack/{stack}/guid"),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: stack.into(),
            source: PublisherRef {
                account: account.into(),
                region: REGION.into(),
                role_arn: Some(format!("arn:aws:iam::{account}:role/reader")),
            },
            exports: reads
                .iter()
                .map(|(export, value)| ReadExport {
                    key: export.to_string(),
                    export: export.to_string(),
                    fingerprint: fingerprint(&ExportOrigin::new(*export, "stack/booking/1"), value),
                    ..ReadExport::default()
                })
                .collect(),
            read_at: "2026-12-07T00:00:00Z".into(),
            request_type: "Create".into(),
            no_echo: false,
            fingerprint_scheme: FINGERPRINT_SCHEME.into(),
            physical_resource_id: None,
            alerted: BTreeMap::new(),
        }
    }

    fn stack_change(stack: &str, at_ms: u64) -> SourceChange {
        let event_id = format!("{stack}-{at_ms}");
        SourceChange {
            account: PUBLISHER.into(),
            region: REGION.into(),
            changed: Changed::Stack {
                name: stack.into(),
                stack_id: format!("arn:aws:cloudformation:{REGION}:{PUBLISHER}:stack/{stack}/1"),
                status: "UPDATE_COMPLETE".into(),
            },
            event_id,
            at_ms,
        }
    }

    /// A clock that follows tokio's (paused) time from a fixed start.
    fn paused_clock() -> impl Fn() -> u64 + Send + Sync + 'static {
        let start = tokio::time::Instant::now();
        move || 1_800_000_000_000 + start.elapsed().as_millis() as u64
    }

    fn setup() -> (Arc<MemoryPublishers>, Arc<Registry>) {
        let publishers = Arc::new(
            MemoryPublishers::new()
                .with_exports(PUBLISHER, vec![Export::new("topic", "v2", "stack/booking/1")])
                .with_stack(PUBLISHER, "booking", &[("Queue", "q")]),
        );
        let registry = Registry {
            records: vec![
                reader("airmiles", PUBLISHER, &[("topic", "v1")]),
                reader("hotels", PUBLISHER, &[("other.Out", "x")]),
                reader("cars", "333333333333", &[("topic", "v1")]),
            ],
            ..Registry::default()
        };
        (publishers, Arc::new(registry))
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_checks_only_the_readers_it_concerns_with_one_query_and_one_read() {
        let (publishers, registry) = setup();
        let check = ChangeCheck::new(Arc::clone(&publishers), Some(Arc::clone(&registry)), Ok(Governance::default()))
            .with_clock(paused_clock());
        let events = Kept::default();
        let now = paused_clock()();
        let ChangeOutcome::Checked(checked) = check.check(&stack_change("booking", now), &events).await.unwrap() else {
            panic!("not checked")
        };
        assert_eq!((checked.readers_of_source, checked.concerned, checked.events_put), (2, 1, 1));
        let stale = events.0.lock().unwrap();
        assert_eq!((stale[0].stack_name.as_str(), stale[0].state), ("airmiles", Staleness::Changed));
        assert_eq!((registry.queries.load(Ordering::SeqCst), registry.scans.load(Ordering::SeqCst)), (1, 0));
        assert_eq!(publishers.reads(), [PUBLISHER], "one ListExports; the other stack's output was not described");
        assert_eq!(registry.alerted.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn replays_coalesce_and_a_burst_is_one_check_per_window() {
        let (publishers, registry) = setup();
        let clock = paused_clock();
        let t0 = clock();
        let check = ChangeCheck::new(Arc::clone(&publishers), Some(Arc::clone(&registry)), Ok(Governance::default()))
            .with_clock(clock)
            .with_window(Duration::from_secs(10));
        let events = Kept::default();
        assert!(matches!(check.check(&stack_change("booking", t0), &events).await, Ok(ChangeOutcome::Checked(_))));
        // The same event again (a replay), and an older one: covered by the check that followed them.
        tokio::time::advance(Duration::from_secs(3)).await;
        for at in [t0, t0 - 60_000] {
            assert_eq!(check.check(&stack_change("booking", at), &events).await.unwrap(), ChangeOutcome::Coalesced);
        }
        assert_eq!(registry.queries.load(Ordering::SeqCst), 1);
        // A new change 3 s after the check waits out the window, then is checked once.
        let newer = stack_change("booking", t0 + 3_000);
        let ChangeOutcome::Checked(second) = check.check(&newer, &events).await.unwrap() else { panic!() };
        assert_eq!(second.waited, Duration::from_secs(7));
        assert_eq!(check.check(&newer, &events).await.unwrap(), ChangeOutcome::Coalesced);
        // A forged time in the future is now: checked once, then covered.
        let mut future = stack_change("booking", t0 + 3_600_000);
        future.event_id = "forged".into();
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(matches!(check.check(&future, &events).await.unwrap(), ChangeOutcome::Checked(_)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(check.check(&future, &events).await.unwrap(), ChangeOutcome::Coalesced, "the same event id");
        assert_eq!(registry.queries.load(Ordering::SeqCst), 3);
        // Forged again under new ids: still no more than one check per window.
        for id in ["forged-2", "forged-3"] {
            future.event_id = id.into();
            let ChangeOutcome::Checked(again) = check.check(&future, &events).await.unwrap() else { panic!() };
            assert!(again.waited >= Duration::from_secs(8), "{:?}", again.waited);
        }
        // Another target is not held back by this one's window.
        let other = stack_change("other", t0 + 35_000);
        let ChangeOutcome::Checked(other) = check.check(&other, &events).await.unwrap() else { panic!() };
        assert_eq!(other.waited, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_check_is_not_remembered_so_its_retry_checks_again() {
        let (publishers, registry) = setup();
        let check = ChangeCheck::new(Arc::clone(&publishers), Some(Arc::clone(&registry)), Ok(Governance::default()))
            .with_clock(paused_clock());
        let events = Kept::default();
        events.1.store(true, Ordering::SeqCst);
        let change = stack_change("booking", paused_clock()());
        assert!(check.check(&change, &events).await.is_err());
        events.1.store(false, Ordering::SeqCst);
        let ChangeOutcome::Checked(retried) = check.check(&change, &events).await.unwrap() else {
            panic!("the retry was coalesced with the failed check")
        };
        assert_eq!((retried.events_put, retried.waited), (1, Duration::ZERO), "the failed check held no window");
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_nobody_reads_costs_one_query_and_never_waits() {
        let (publishers, registry) = setup();
        let check = ChangeCheck::new(Arc::clone(&publishers), Some(Arc::clone(&registry)), Ok(Governance::default()))
            .with_clock(paused_clock());
        let events = Kept::default();
        for n in 0..3 {
            let mut change = stack_change("busy-but-unread", paused_clock()() + n);
            change.account = "999999999999".into();
            let ChangeOutcome::Checked(checked) = check.check(&change, &events).await.unwrap() else { panic!() };
            assert_eq!((checked.concerned, checked.waited), (0, Duration::ZERO));
        }
        assert!(publishers.reads().is_empty(), "nothing read");
    }

    #[tokio::test]
    async fn without_a_registry_the_check_fails_naming_the_setting() {
        let check = ChangeCheck::new(MemoryPublishers::new(), None::<Registry>, Ok(Governance::default()));
        let error = check.check(&stack_change("booking", now_ms()), &Kept::default()).await.unwrap_err();
        assert!(error.to_string().contains("READS_TABLE"), "{error}");
    }
}
