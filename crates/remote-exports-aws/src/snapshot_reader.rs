//! The adapter every read of the function goes through: a shared, short-lived snapshot of each publisher's exports (and of each stack's outputs, and of
//! each set of parameters read together), so that many consumers deploying at once cost that
//! publisher one ListExports read (one DescribeStacks per stack, one GetParameters per batch) instead
//! of one each. SecureString values are never kept: a NoEcho read decrypts them itself.
//!
//! Single flight: a container that finds no fresh snapshot takes a lease with a conditional write,
//! reads every page, stores the snapshot and releases the lease; the others poll until it appears.
//! A lease whose holder died expires and is taken over. Any failure of the table falls back to a
//! direct read with a WARN: the snapshot can make reads cheaper, never make them fail.

use std::ops::ControlFlow;
use std::time::Duration;

use std::sync::Arc;

use remote_exports_core::{
    Admission, Attempts, Count, Export, Meter, NoMeter, Parameter, ParameterRef, PublishedExports, PublishedOutputs,
    PublishedParameters, PublisherReads, ReadAttempts, ReadError, SnapshotError, SnapshotStore, Source, StackOutputs,
    now_ms, opaque_id,
};
use serde_json::Value;

/// How long a lease holds: long enough for a full read of a large, throttled publisher; a holder
/// that dies delays the others by at most this.
pub const LEASE: Duration = Duration::from_secs(15);

/// How soon a waiting container first looks again for the snapshot, and how far apart at most.
const POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(1);

/// An [`PublisherReads`] that reads through a shared snapshot when it has a store, and directly otherwise.
pub struct SnapshotReader<S, T> {
    direct: S,
    store: Option<T>,
    ttl: Duration,
    holder: String,
    /// Counts hits and misses.
    meter: Arc<dyn Meter>,
}

/// The snapshot's key: one per role (or the function's own account), region and session identity.
/// A publisher may scope what each session reads by the identity the function gives it
/// (`SourceIdentity` and the `ConsumerAccount` tag: the consumer account; the `ConsumerStack` tag and
/// the session name: its stack), so a value one session read is served only to a request that would
/// assume the role as the very same identity: one consumer stack never gets what the publisher's
/// IAM let another read. The ExternalId is not part of it, and the table holds none, not even hashed.
pub fn snapshot_key(source: &Source) -> String {
    let role = source.role.as_ref().map_or("self", |role| role.as_str());
    let identity = source.consumer.as_ref().map_or_else(
        || "nobody".to_owned(),
        |consumer| format!("{}/{}", consumer.source_identity(), consumer.stack_name),
    );
    format!("{role}|{}|{identity}", source.region)
}

/// What one snapshot item holds: a publisher's exports, or one stack's outputs.
enum Body {
    Exports(Vec<Export>),
    /// `None`: the stack does not exist, which is worth sharing too.
    Stack(Option<StackOutputs>),
    /// One GetParameters batch's answer (SecureString values left out).
    Parameters(Vec<(ParameterRef, Parameter)>),
}

/// What to read through the snapshot.
#[derive(Clone, Copy)]
enum Item<'a> {
    Exports,
    Stack(&'a str),
    Parameters(&'a [ParameterRef]),
}

impl Item<'_> {
    /// One item per source for its exports, and one per stack for its outputs.
    fn key(self, source: &Source) -> String {
        match self {
            Item::Exports => snapshot_key(source),
            Item::Stack(name) => format!("{}|stack/{name}", snapshot_key(source)),
            Item::Parameters(batch) => {
                let names: Vec<&str> = batch.iter().map(ParameterRef::as_str).collect();
                format!("{}|ssm/{}", snapshot_key(source), opaque_id(&names.join("\n")))
            }
        }
    }

    fn decode(self, body: &str) -> Result<Body, SnapshotError> {
        match self {
            Item::Exports => decode(body).map(Body::Exports),
            Item::Stack(_) => decode_stack(body).map(Body::Stack),
            Item::Parameters(batch) => decode_parameters(body, batch).map(Body::Parameters),
        }
    }
}

enum Found {
    Fresh(Body),
    Missing,
}

impl<S: PublisherReads, T: SnapshotStore> SnapshotReader<S, T> {
    /// `store: None` reads directly, exactly as `direct` alone would.
    pub fn new(direct: S, store: Option<T>, ttl: Duration) -> Self {
        let holder = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        SnapshotReader { direct, store, ttl, holder, meter: Arc::new(NoMeter) }
    }

    /// Counts each hit and miss into `meter`.
    pub fn with_meter(self, meter: Arc<dyn Meter>) -> Self {
        SnapshotReader { meter, ..self }
    }

    pub fn direct(&self) -> &S {
        &self.direct
    }

    /// A snapshot this source may answer from: within the TTL, and not older than the request allows.
    async fn fresh(&self, store: &T, key: &str, source: &Source, item: Item<'_>) -> Result<Found, SnapshotError> {
        let Some(meta) = store.meta(key).await? else { return Ok(Found::Missing) };
        let now = now_ms();
        let young = now.saturating_sub(meta.read_at_ms) <= self.ttl.as_millis() as u64;
        let recent_enough = source.not_before_ms.is_none_or(|floor| meta.read_at_ms >= floor);
        if !(young && recent_enough) {
            return Ok(Found::Missing);
        }
        let body = store.body(key, &meta).await?;
        Ok(Found::Fresh(item.decode(&body)?))
    }

    /// The item, read through the snapshot; `Err(None)` means "the table failed, read directly".
    async fn through_snapshot(
        &self,
        store: &T,
        source: &Source,
        item: Item<'_>,
    ) -> Result<(Body, u32), Option<ReadError>> {
        // A value another consumer's read put here goes only to a consumer that the publisher's trust
        // policy admits too: STS decides, with this consumer's own identity.
        self.direct.admit(source).await.map_err(Some)?;
        let key = item.key(source);
        let warn = |error: SnapshotError| {
            tracing::warn!(%error, source = %source.describe(), "export snapshot unavailable; reading directly");
            None
        };
        let mut poll = POLL;
        loop {
            if let Found::Fresh(body) = self.fresh(store, &key, source, item).await.map_err(warn)? {
                tracing::debug!(source = %source.describe(), "export snapshot hit");
                self.meter.add(Count::SnapshotHit, 1);
                return Ok((body, 0));
            }
            let started = now_ms();
            if store.try_lease(&key, &self.holder, started, started + LEASE.as_millis() as u64).await.map_err(warn)? {
                let read = self.read_under_lease(store, &key, source, item, started).await;
                if let Err(error) = store.release(&key, &self.holder).await {
                    tracing::warn!(%error, "could not release the export snapshot's lease; it expires on its own");
                }
                return read.map_err(Some);
            }
            // Someone else is reading: wait for their snapshot, or for their lease to expire, polling
            // less often the longer it takes, so that hundreds of waiters do not flood the table.
            tokio::time::sleep(poll + Duration::from_millis(fastrand::u64(0..poll.as_millis() as u64 / 2 + 1))).await;
            poll = (poll * 2).min(MAX_POLL);
        }
    }

    /// With the lease held: the snapshot that the previous holder may have stored between our look
    /// and our lease (else every waiter that lost that race would read the publisher again), or else
    /// a direct read, stored for the others.
    async fn read_under_lease(
        &self,
        store: &T,
        key: &str,
        source: &Source,
        item: Item<'_>,
        started: u64,
    ) -> Result<(Body, u32), ReadError> {
        if let Ok(Found::Fresh(body)) = self.fresh(store, key, source, item).await {
            tracing::debug!(source = %source.describe(), "export snapshot hit after taking the lease");
            self.meter.add(Count::SnapshotHit, 1);
            return Ok((body, 0));
        }
        self.meter.add(Count::SnapshotMiss, 1);
        let (body, pages) = match item {
            Item::Exports => {
                let (exports, pages) = self.read_all(source).await?;
                (Body::Exports(exports), pages)
            }
            Item::Stack(name) => (Body::Stack(self.direct.stack_outputs(source, name).await?), 0),
            Item::Parameters(batch) => (Body::Parameters(self.direct.get_parameters(source, batch, false).await?), 0),
        };
        let encoded = match &body {
            Body::Exports(exports) => encode(exports),
            Body::Stack(outputs) => encode_stack(outputs.as_ref()),
            Body::Parameters(found) => encode_parameters(found),
        };
        if let Err(error) = store.store(key, started, &encoded).await {
            tracing::warn!(%error, source = %source.describe(), "could not store the export snapshot");
        }
        Ok((body, pages))
    }

    async fn read_all(&self, source: &Source) -> Result<(Vec<Export>, u32), ReadError> {
        let mut all = Vec::new();
        let pages = self
            .direct
            .scan_exports(source, &mut |page| {
                all.extend(page);
                ControlFlow::Continue(())
            })
            .await?;
        Ok((all, pages))
    }
}

impl<S: PublisherReads, T: SnapshotStore> PublishedExports for SnapshotReader<S, T> {
    async fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> Result<u32, ReadError> {
        let Some(store) = &self.store else { return self.direct.scan_exports(source, on_page).await };
        match self.through_snapshot(store, source, Item::Exports).await {
            Ok((Body::Exports(exports), pages)) => {
                for page in exports.chunks(100) {
                    if on_page(page.to_vec()).is_break() {
                        break;
                    }
                }
                Ok(pages)
            }
            Ok((Body::Stack(_) | Body::Parameters(_), _)) => unreachable!("an exports item decodes as exports"),
            Err(Some(error)) => Err(error),
            Err(None) => {
                self.meter.add(Count::SnapshotMiss, 1);
                self.direct.scan_exports(source, on_page).await
            }
        }
    }
}

impl<S: PublisherReads, T: SnapshotStore> PublishedOutputs for SnapshotReader<S, T> {
    async fn stack_outputs(&self, source: &Source, stack_name: &str) -> Result<Option<StackOutputs>, ReadError> {
        let Some(store) = &self.store else { return self.direct.stack_outputs(source, stack_name).await };
        match self.through_snapshot(store, source, Item::Stack(stack_name)).await {
            Ok((Body::Stack(outputs), _)) => Ok(outputs),
            Ok((Body::Exports(_) | Body::Parameters(_), _)) => unreachable!("a stack item decodes as a stack"),
            Err(Some(error)) => Err(error),
            Err(None) => {
                self.meter.add(Count::SnapshotMiss, 1);
                self.direct.stack_outputs(source, stack_name).await
            }
        }
    }
}

impl<S: PublisherReads, T: SnapshotStore> PublishedParameters for SnapshotReader<S, T> {
    async fn get_parameters(
        &self,
        source: &Source,
        batch: &[ParameterRef],
        decrypt: bool,
    ) -> Result<Vec<(ParameterRef, Parameter)>, ReadError> {
        let Some(store) = &self.store else { return self.direct.get_parameters(source, batch, decrypt).await };
        let mut found = match self.through_snapshot(store, source, Item::Parameters(batch)).await {
            Ok((Body::Parameters(found), _)) => found,
            Ok(_) => unreachable!("a parameters item decodes as parameters"),
            Err(Some(error)) => return Err(error),
            Err(None) => {
                self.meter.add(Count::SnapshotMiss, 1);
                return self.direct.get_parameters(source, batch, decrypt).await;
            }
        };
        // The snapshot keeps no SecureString value: a NoEcho read decrypts its own, directly.
        let secure: Vec<ParameterRef> = found.iter().filter(|(_, p)| p.is_secure()).map(|(r, _)| r.clone()).collect();
        if decrypt && !secure.is_empty() {
            let decrypted = self.direct.get_parameters(source, &secure, true).await?;
            found.retain(|(reference, _)| !secure.contains(reference));
            found.extend(decrypted);
        }
        Ok(found)
    }

    async fn parameter_names_under(
        &self,
        source: &Source,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<String>, ReadError> {
        self.direct.parameter_names_under(source, path, recursive).await
    }
}

impl<S: PublisherReads, T: SnapshotStore> Admission for SnapshotReader<S, T> {
    async fn admit(&self, source: &Source) -> Result<(), ReadError> {
        self.direct.admit(source).await
    }
}

impl<S: PublisherReads, T: SnapshotStore> ReadAttempts for SnapshotReader<S, T> {
    fn restart(&self, source: &Source) {
        self.direct.restart(source)
    }

    fn attempts(&self, source: &Source) -> Option<Attempts> {
        self.direct.attempts(source)
    }
}

/// `[[name, value, exporting stack], …]`: compact, and what `decode` reads back.
fn encode(exports: &[Export]) -> String {
    let rows: Vec<[&str; 3]> =
        exports.iter().map(|e| [e.name.as_str(), e.value.as_str(), e.exporting_stack_id.as_str()]).collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
}

/// A body this version did not write.
fn unreadable(what: &str) -> SnapshotError {
    SnapshotError::Unreadable(what.to_owned())
}

fn decode(body: &str) -> Result<Vec<Export>, SnapshotError> {
    let rows: Vec<Value> = serde_json::from_str(body).map_err(|e| unreadable(&format!("exports: {e}")))?;
    rows.iter()
        .map(|row| match (row[0].as_str(), row[1].as_str(), row[2].as_str()) {
            (Some(name), Some(value), Some(stack)) => Ok(Export::new(name, value, stack)),
            _ => Err(unreadable("an export row")),
        })
        .collect()
}

/// `[[reference, name, arn, type, value, version, modified], …]`, a SecureString's value left empty.
fn encode_parameters(found: &[(ParameterRef, Parameter)]) -> String {
    let rows: Vec<Value> = found
        .iter()
        .map(|(reference, p)| {
            let value = if p.is_secure() { "" } else { p.value.as_str() };
            serde_json::json!([reference.as_str(), p.name, p.arn, p.kind, value, p.version, p.modified_ms])
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
}

fn decode_parameters(body: &str, batch: &[ParameterRef]) -> Result<Vec<(ParameterRef, Parameter)>, SnapshotError> {
    let rows: Vec<Value> = serde_json::from_str(body).map_err(|e| unreadable(&format!("parameters: {e}")))?;
    let unreadable = || unreadable("a parameter row");
    rows.iter()
        .map(|row| {
            let text = |i: usize| row[i].as_str().map(str::to_owned).ok_or_else(unreadable);
            let reference =
                batch.iter().find(|r| r.as_str() == row[0].as_str().unwrap_or_default()).ok_or_else(unreadable)?;
            let parameter = Parameter {
                name: text(1)?,
                arn: text(2)?,
                kind: text(3)?,
                value: text(4)?,
                version: row[5].as_i64().ok_or_else(unreadable)?,
                modified_ms: row[6].as_i64().ok_or_else(unreadable)?,
            };
            Ok((reference.clone(), parameter))
        })
        .collect()
}

/// `{"StackId": …, "Outputs": {key: value}}`, or `null` for a stack that does not exist.
fn encode_stack(outputs: Option<&StackOutputs>) -> String {
    let body = outputs.map(|o| serde_json::json!({"StackId": o.stack_id, "Outputs": o.outputs}));
    serde_json::to_string(&body).unwrap_or_else(|_| "null".to_owned())
}

fn decode_stack(body: &str) -> Result<Option<StackOutputs>, SnapshotError> {
    let value: Value = serde_json::from_str(body).map_err(|e| unreadable(&format!("stack outputs: {e}")))?;
    if value.is_null() {
        return Ok(None);
    }
    let unreadable = || unreadable("stack outputs");
    let stack_id = value["StackId"].as_str().ok_or_else(unreadable)?.to_owned();
    let outputs = value["Outputs"]
        .as_object()
        .ok_or_else(unreadable)?
        .iter()
        .map(|(key, value)| value.as_str().map(|v| (key.clone(), v.to_owned())).ok_or_else(unreadable))
        .collect::<Result<_, _>>()?;
    Ok(Some(StackOutputs { stack_id, outputs }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use remote_exports_core::testing::MemoryPublishers;
    use remote_exports_core::{Consumer, FailureKind, ReadStep, RoleArn, SnapshotMeta};
    use remote_exports_core::{Parameter, ParameterRef};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct MemoryStore {
        snapshots: Mutex<HashMap<String, (SnapshotMeta, String)>>,
        leases: Mutex<HashMap<String, (String, u64)>>,
        broken: bool,
        /// Stored just before the next lease is granted: a holder that finished between a
        /// waiter's look and its lease.
        finished_meanwhile: Mutex<Option<String>>,
    }

    impl SnapshotStore for MemoryStore {
        async fn meta(&self, key: &str) -> Result<Option<SnapshotMeta>, SnapshotError> {
            if self.broken {
                return Err(SnapshotError::Call(remote_exports_core::CallError {
                    operation: "GetItem",
                    code: Some("ResourceNotFoundException".into()),
                    status: Some(400),
                    message: "Requested resource not found".into(),
                }));
            }
            Ok(self.snapshots.lock().unwrap().get(key).map(|(meta, _)| meta.clone()))
        }
        async fn body(&self, key: &str, _: &SnapshotMeta) -> Result<String, SnapshotError> {
            Ok(self.snapshots.lock().unwrap()[key].1.clone())
        }
        async fn store(&self, key: &str, read_at_ms: u64, body: &str) -> Result<(), SnapshotError> {
            let meta = SnapshotMeta { generation: "g".into(), parts: 1, read_at_ms };
            self.snapshots.lock().unwrap().insert(key.to_owned(), (meta, body.to_owned()));
            Ok(())
        }
        async fn try_lease(&self, key: &str, holder: &str, now: u64, until: u64) -> Result<bool, SnapshotError> {
            let finished = self.finished_meanwhile.lock().unwrap().take();
            if let Some(body) = finished {
                self.store(key, now, &body).await?;
            }
            let mut leases = self.leases.lock().unwrap();
            match leases.get(key) {
                Some((_, expires)) if *expires > now => Ok(false),
                _ => {
                    leases.insert(key.to_owned(), (holder.to_owned(), until));
                    Ok(true)
                }
            }
        }
        async fn release(&self, key: &str, holder: &str) -> Result<(), SnapshotError> {
            let mut leases = self.leases.lock().unwrap();
            if leases.get(key).is_some_and(|(h, _)| h == holder) {
                leases.remove(key);
            }
            Ok(())
        }
    }

    const PUBLISHER: &str = "222222222222";

    /// The publisher exports `topic` = `value` and its stack `booking` has the output `Topic` = `value`;
    /// each call lets the other readers run first, as a call over the network would.
    fn publisher(value: &str) -> Arc<MemoryPublishers> {
        let exports = MemoryPublishers::new()
            .with_exports(PUBLISHER, [Export::new("topic", value, "stack/b/1")])
            .with_stack(PUBLISHER, "booking", &[("Topic", value)])
            .with_pause();
        Arc::new(exports)
    }

    fn source(not_before_ms: Option<u64>) -> Source {
        source_for("111111111111", not_before_ms)
    }

    /// A read through the publisher's role on behalf of a stack in `consumer`.
    fn source_for(consumer: &str, not_before_ms: Option<u64>) -> Source {
        Source {
            role: Some(RoleArn::parse("arn:aws:iam::222222222222:role/reader").unwrap()),
            external_id: Some("secret-ish".into()),
            region: "eu-west-1".into(),
            session_name: "s".into(),
            consumer: Some(Consumer { account: consumer.into(), stack_name: "airmiles".into() }),
            not_before_ms,
        }
    }

    async fn value(source_: &SnapshotReader<Arc<MemoryPublishers>, Arc<MemoryStore>>, src: &Source) -> String {
        let mut seen = String::new();
        source_
            .scan_exports(src, &mut |page| {
                seen = page[0].value.clone();
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
        seen
    }

    #[test]
    fn a_parameters_snapshot_keeps_no_securestring_value_and_reads_back_what_it_kept() {
        let reference = |text: &str| ParameterRef::parse(text).unwrap();
        let parameter = |name: &str, kind: &str, value: &str| Parameter {
            name: name.into(),
            arn: format!("arn:aws:ssm:eu-west-1:222222222222:parameter{name}"),
            kind: kind.into(),
            value: value.into(),
            version: 3,
            modified_ms: 1_795_438_442_000,
        };
        let batch = [reference("/a/topic"), reference("/a/password")];
        let found = vec![
            (batch[0].clone(), parameter("/a/topic", "String", "arn:topic")),
            (batch[1].clone(), parameter("/a/password", "SecureString", "hunter2")),
        ];
        let body = encode_parameters(&found);
        assert!(!body.contains("hunter2"), "{body}");
        let read = decode_parameters(&body, &batch).unwrap();
        assert_eq!(read[0], found[0]);
        assert_eq!((read[1].1.kind.as_str(), read[1].1.value.as_str(), read[1].1.version), ("SecureString", "", 3));
        assert!(decode_parameters(&body, &batch[..1]).is_err(), "a row for a reference not asked for");
        assert!(decode_parameters("[[1]]", &batch).is_err());
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_read_and_updates_never_read_an_older_snapshot() {
        let store = Arc::new(MemoryStore::default());
        let exports = publisher("v0");
        let shared = || SnapshotReader::new(Arc::clone(&exports), Some(Arc::clone(&store)), Duration::from_secs(30));
        let (a, b, c) = (shared(), shared(), shared());
        let src = source(None);
        let values = tokio::join!(value(&a, &src), value(&b, &src), value(&c, &src));
        assert_eq!(exports.read_count(), 1, "single flight");
        assert_eq!(values, ("v0".to_owned(), "v0".to_owned(), "v0".to_owned()));
        assert!(!snapshot_key(&src).contains("secret-ish"), "the external ID is not stored");
        assert_ne!(snapshot_key(&src), snapshot_key(&source_for("333333333333", None)), "one snapshot per consumer");
        let mut other_stack = source(None);
        other_stack.consumer = Some(Consumer { account: "111111111111".into(), stack_name: "hotels".into() });
        assert_ne!(snapshot_key(&src), snapshot_key(&other_stack), "one snapshot per consumer stack");

        // The publisher redeploys: a Create still gets the snapshot, an Update that arrived after
        // the snapshot was read reads again.
        exports.publish(PUBLISHER, [Export::new("topic", "v1", "stack/b/1")]);
        assert_eq!(value(&b, &src).await, "v0");
        let update = source(Some(now_ms() + 1));
        assert_eq!(value(&a, &update).await, "v1");
        assert_eq!(exports.read_count(), 2);
    }

    #[tokio::test]
    async fn a_snapshot_stored_between_the_look_and_the_lease_is_used_not_read_again() {
        let finished = encode(&[Export::new("topic", "from-the-previous-holder", "stack/b/1")]);
        let store = Arc::new(MemoryStore { finished_meanwhile: Mutex::new(Some(finished)), ..MemoryStore::default() });
        let exports = publisher("v0");
        let reader = SnapshotReader::new(Arc::clone(&exports), Some(Arc::clone(&store)), Duration::from_secs(30));
        assert_eq!(value(&reader, &source(None)).await, "from-the-previous-holder");
        assert_eq!(exports.read_count(), 0, "the publisher was read again");
        assert!(store.leases.lock().unwrap().is_empty(), "the lease was not released");
    }

    /// The publisher's role admits consumer A only: B gets nothing from the snapshot A filled, and
    /// the refusal is the publisher's (an AssumeRole denied), not a read.
    #[tokio::test]
    async fn a_consumer_the_publisher_does_not_admit_gets_nothing_from_the_snapshot() {
        let store = Arc::new(MemoryStore::default());
        let exports = Arc::new(
            MemoryPublishers::new()
                .with_exports(PUBLISHER, [Export::new("topic", "v0", "stack/b/1")])
                .with_stack(PUBLISHER, "booking", &[("Topic", "v0")])
                .admitting_only(PUBLISHER, &["111111111111"]),
        );
        let reader = SnapshotReader::new(Arc::clone(&exports), Some(Arc::clone(&store)), Duration::from_secs(30));
        let admitted = source_for("111111111111", None);
        assert_eq!(value(&reader, &admitted).await, "v0");
        assert!(reader.stack_outputs(&admitted, "booking").await.unwrap().is_some());
        assert_eq!(exports.read_count(), 2);

        let refused = source_for("333333333333", None);
        let mut seen = Vec::new();
        let error = reader
            .scan_exports(&refused, &mut |page| {
                seen.extend(page);
                ControlFlow::Continue(())
            })
            .await
            .unwrap_err();
        assert_eq!((error.step, error.kind), (ReadStep::AssumeRole, FailureKind::Denied));
        assert!(seen.is_empty(), "a value reached a consumer the publisher refuses");
        let error = reader.stack_outputs(&refused, "booking").await.unwrap_err();
        assert_eq!(error.step, ReadStep::AssumeRole);
        assert_eq!(exports.read_count(), 2, "a refused consumer caused a read");
    }

    #[tokio::test]
    async fn a_broken_store_falls_back_to_direct_reads() {
        let store = Arc::new(MemoryStore { broken: true, ..MemoryStore::default() });
        let exports = publisher("v0");
        let reader = SnapshotReader::new(Arc::clone(&exports), Some(store), Duration::from_secs(30));
        assert_eq!(value(&reader, &source(None)).await, "v0");
        exports.publish(PUBLISHER, [Export::new("topic", "v1", "stack/b/1")]);
        assert_eq!(value(&reader, &source(None)).await, "v1");
        assert_eq!(exports.read_count(), 2);
    }

    #[tokio::test]
    async fn concurrent_readers_of_a_stack_share_one_describe_and_its_absence() {
        let store = Arc::new(MemoryStore::default());
        let exports = publisher("v0");
        let shared = || SnapshotReader::new(Arc::clone(&exports), Some(Arc::clone(&store)), Duration::from_secs(30));
        let (a, b, c) = (shared(), shared(), shared());
        let src = source(None);
        let (x, y, z) = tokio::join!(
            a.stack_outputs(&src, "booking"),
            b.stack_outputs(&src, "booking"),
            c.stack_outputs(&src, "booking")
        );
        let (x, y, z) = (x.unwrap().unwrap(), y.unwrap().unwrap(), z.unwrap().unwrap());
        assert!(x == y && y == z && x.outputs["Topic"] == "v0");
        assert_eq!(exports.reads(), ["222222222222/booking"], "one DescribeStacks for three readers");
        // Each stack has an item of its own, apart from the exports.
        assert_eq!(value(&a, &src).await, "v0");
        assert_eq!(a.stack_outputs(&src, "gone").await.unwrap(), None);
        assert_eq!(b.stack_outputs(&src, "gone").await.unwrap(), None);
        assert_eq!(
            exports.reads(),
            ["222222222222/booking", "222222222222", "222222222222/gone"],
            "a missing stack is shared too"
        );
    }

    #[test]
    fn snapshots_round_trip() {
        let exports = vec![Export::new("a\"b", "é\n", "s1"), Export::new("c", "", "")];
        assert_eq!(decode(&encode(&exports)).unwrap(), exports);
        assert!(decode("{").is_err());
        let stack = StackOutputs {
            stack_id: "arn:stack/x/1".into(),
            outputs: std::collections::BTreeMap::from([("K".into(), "v\"".into())]),
        };
        assert_eq!(decode_stack(&encode_stack(Some(&stack))).unwrap(), Some(stack));
        assert_eq!(decode_stack(&encode_stack(None)).unwrap(), None);
        assert!(decode_stack("{}").is_err());
    }
}
