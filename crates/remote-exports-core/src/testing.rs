//! In-memory stand-ins for the ports, shared by the unit tests of this crate and of the crates that
//! use it (feature `testing`). One fake per port: a test says what the world holds, not how to fake it.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use crate::{
    Admission, Attempts, ConsumerPolicyStore, Export, FailureKind, Parameter, ParameterRef, PolicyStoreError,
    PublishedExports, PublishedOutputs, PublishedParameters, ReadAttempts, ReadError, ReadStep, RoleArn, Source,
    StackOutputs,
};

/// The account a [`Source`] without a role reads: the function's own.
pub const OWN_ACCOUNT: &str = "self";

/// What a read of [`MemoryPublishers`] does instead of answering.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Fails every call with this error (for DescribeStacks with its step changed to `DescribeStacks`).
    Fail(ReadError),
    /// Never answers.
    Hang,
    /// Panics.
    Panic,
}

#[derive(Debug, Default, Clone)]
struct MemoryParameter {
    kind: String,
    versions: Vec<String>,
    labels: BTreeMap<String, i64>,
}

#[derive(Debug, Default, Clone)]
struct Publisher {
    exports: Vec<Export>,
    stacks: BTreeMap<String, StackOutputs>,
    /// Parameter name → its versions, oldest first, and its labels (label → version).
    parameters: BTreeMap<String, MemoryParameter>,
    /// Parameters the role may not read: a GetParameters naming one is denied whole, as IAM does.
    denied_parameters: Vec<String>,
    /// The consumer accounts its role's trust policy admits; `None` admits every one.
    admitted: Option<Vec<String>>,
}

/// Publisher accounts and what they export, as [`PublisherReads`]: ListExports in pages of
/// `page_size` (100, as CloudFormation pages), DescribeStacks by name. A source names its account by
/// its role ([`OWN_ACCOUNT`] without one); an account nobody set up refuses the AssumeRole, as
/// STS does for a role that does not exist or does not trust the caller.
#[derive(Debug)]
pub struct MemoryPublishers {
    publishers: Mutex<BTreeMap<String, Publisher>>,
    page_size: usize,
    fault: Option<Fault>,
    pause: bool,
    pages_served: AtomicU32,
    reads: Mutex<Vec<String>>,
    /// What every read's attempts were, when set; and how often counting restarted.
    attempts: Option<Attempts>,
    restarts: AtomicU32,
}

impl Default for MemoryPublishers {
    fn default() -> Self {
        MemoryPublishers {
            publishers: Mutex::default(),
            page_size: 100,
            fault: None,
            pause: false,
            pages_served: AtomicU32::new(0),
            reads: Mutex::default(),
            attempts: None,
            restarts: AtomicU32::new(0),
        }
    }
}

impl MemoryPublishers {
    /// Nobody publishes anything.
    pub fn new() -> Self {
        MemoryPublishers::default()
    }

    /// `account` exports these (replacing what it exported).
    pub fn with_exports(self, account: &str, exports: impl IntoIterator<Item = Export>) -> Self {
        self.publish(account, exports);
        self
    }

    /// `account` has the stack `name` (ID `arn:aws:cloudformation:eu-west-1:<account>:stack/<name>/1`)
    /// with these outputs (key, value).
    pub fn with_stack(self, account: &str, name: &str, outputs: &[(&str, &str)]) -> Self {
        let stack_id = format!("arn:aws:cloudformation:eu-west-1:{account}:stack/{name}/1");
        let outputs = outputs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
        self.publishers
            .lock()
            .unwrap()
            .entry(account.to_owned())
            .or_default()
            .stacks
            .insert(name.to_owned(), StackOutputs { stack_id, outputs });
        self
    }

    /// `account` has the SSM parameter `name` of `kind` (`String`, `StringList`, `SecureString`),
    /// with `value` as its next version (version 1 first).
    pub fn with_parameter(self, account: &str, name: &str, kind: &str, value: &str) -> Self {
        self.put_parameter(account, name, kind, value);
        self
    }

    /// From now on `name` has `value` as its next version.
    pub fn put_parameter(&self, account: &str, name: &str, kind: &str, value: &str) {
        let mut publishers = self.publishers.lock().unwrap();
        let parameter =
            publishers.entry(account.to_owned()).or_default().parameters.entry(name.to_owned()).or_default();
        parameter.kind = kind.to_owned();
        parameter.versions.push(value.to_owned());
    }

    /// From now on the role may not read the parameter `name`.
    pub fn deny_parameter(&self, account: &str, name: &str) {
        self.publishers.lock().unwrap().entry(account.to_owned()).or_default().denied_parameters.push(name.to_owned());
    }

    /// `label` points at `version` of `name`.
    pub fn with_label(self, account: &str, name: &str, label: &str, version: i64) -> Self {
        let mut publishers = self.publishers.lock().unwrap();
        let publisher = publishers.entry(account.to_owned()).or_default();
        publisher.parameters.entry(name.to_owned()).or_default().labels.insert(label.to_owned(), version);
        drop(publishers);
        self
    }

    /// `account`'s role admits only these consumer accounts (its trust policy's
    /// `AllowedConsumerAccounts`): any other is refused the AssumeRole, as STS would.
    pub fn admitting_only(self, account: &str, consumers: &[&str]) -> Self {
        let admitted = consumers.iter().map(|c| c.to_string()).collect();
        self.publishers.lock().unwrap().entry(account.to_owned()).or_default().admitted = Some(admitted);
        self
    }

    /// ListExports answers this many exports a page.
    pub fn with_page_size(self, page_size: usize) -> Self {
        MemoryPublishers { page_size: page_size.max(1), ..self }
    }

    /// Every call fails, hangs or panics.
    pub fn with_fault(self, fault: Fault) -> Self {
        MemoryPublishers { fault: Some(fault), ..self }
    }

    /// Every call lets other tasks run once before it answers, as a call over the network would.
    pub fn with_pause(self) -> Self {
        MemoryPublishers { pause: true, ..self }
    }

    /// From now on `account` exports these instead: a publisher that redeployed.
    pub fn publish(&self, account: &str, exports: impl IntoIterator<Item = Export>) {
        self.publishers.lock().unwrap().entry(account.to_owned()).or_default().exports = exports.into_iter().collect();
    }

    /// From now on `account` has no stack `name`.
    pub fn delete_stack(&self, account: &str, name: &str) {
        if let Some(publisher) = self.publishers.lock().unwrap().get_mut(account) {
            publisher.stacks.remove(name);
        }
    }

    /// ListExports pages answered so far.
    pub fn pages_served(&self) -> u32 {
        self.pages_served.load(Ordering::SeqCst)
    }

    /// Every read so far, in order: `<account>` for an export scan, `<account>/<stack>` for a
    /// DescribeStacks.
    pub fn reads(&self) -> Vec<String> {
        self.reads.lock().unwrap().clone()
    }

    /// Every read reports these attempts (say, throttled ones), as an adapter counting them would.
    pub fn with_attempts(self, attempts: Attempts) -> Self {
        MemoryPublishers { attempts: Some(attempts), ..self }
    }

    /// How often a request's reads began (counting restarted).
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::SeqCst)
    }

    /// How many reads (scans and DescribeStacks) were made.
    pub fn read_count(&self) -> usize {
        self.reads.lock().unwrap().len()
    }

    async fn start(&self, read: String, step: ReadStep) -> Result<(), ReadError> {
        self.reads.lock().unwrap().push(read);
        if self.pause {
            YieldOnce(false).await;
        }
        match &self.fault {
            None => Ok(()),
            Some(Fault::Fail(error)) => Err(ReadError { step, ..error.clone() }),
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Panic) => panic!("the export source exploded"),
        }
    }

    /// The publisher `source` reaches, if its role admits `source`'s consumer.
    fn publisher(&self, source: &Source) -> Result<Publisher, ReadError> {
        let account = account_of(source);
        let denied = || ReadError {
            step: ReadStep::AssumeRole,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".to_owned()),
            message: format!(
                "User: arn:aws:sts::111111111111:assumed-role/remote-exports/function is not authorized to perform: \
                 sts:AssumeRole on resource: arn:aws:iam::{account}:role/remote-exports-reader"
            ),
        };
        let publisher = self.publishers.lock().unwrap().get(account).cloned().ok_or_else(denied)?;
        let consumer = source.consumer.as_ref().map(|c| c.account.as_str());
        match &publisher.admitted {
            Some(admitted) if source.role.is_some() && !admitted.iter().any(|a| Some(a.as_str()) == consumer) => {
                Err(denied())
            }
            _ => Ok(publisher),
        }
    }
}

fn account_of(source: &Source) -> &str {
    source.role.as_ref().map_or(OWN_ACCOUNT, RoleArn::account)
}

impl PublishedExports for MemoryPublishers {
    async fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> Result<u32, ReadError> {
        self.start(account_of(source).to_owned(), ReadStep::ListExports).await?;
        let exports = self.publisher(source)?.exports;
        let mut pages = 0;
        for page in exports.chunks(self.page_size) {
            pages += 1;
            self.pages_served.fetch_add(1, Ordering::SeqCst);
            if on_page(page.to_vec()).is_break() {
                return Ok(pages);
            }
        }
        if exports.is_empty() {
            // CloudFormation answers an empty first page.
            self.pages_served.fetch_add(1, Ordering::SeqCst);
            let _ = on_page(Vec::new());
            pages = 1;
        }
        Ok(pages)
    }
}

impl PublishedOutputs for MemoryPublishers {
    async fn stack_outputs(&self, source: &Source, stack_name: &str) -> Result<Option<StackOutputs>, ReadError> {
        let account = account_of(source);
        self.start(format!("{account}/{stack_name}"), ReadStep::DescribeStacks).await?;
        Ok(self.publisher(source)?.stacks.get(stack_name).cloned())
    }
}

impl PublishedParameters for MemoryPublishers {
    /// As SSM answers: the version or label asked for, the value encrypted (here: marked) unless
    /// `decrypt`; `arn:aws:ssm:eu-west-1:<account>:parameter<name>` as the ARN.
    async fn get_parameters(
        &self,
        source: &Source,
        batch: &[ParameterRef],
        decrypt: bool,
    ) -> Result<Vec<(ParameterRef, Parameter)>, ReadError> {
        let account = account_of(source);
        let names: Vec<&str> = batch.iter().map(ParameterRef::as_str).collect();
        self.start(format!("{account}/ssm:{}", names.join(",")), ReadStep::GetParameters).await?;
        assert!(batch.len() <= crate::GET_PARAMETERS_BATCH, "GetParameters takes at most ten names");
        let publisher = self.publisher(source)?;
        if let Some(denied) = batch.iter().find(|r| publisher.denied_parameters.iter().any(|d| d == r.name())) {
            return Err(ReadError {
                step: ReadStep::GetParameters,
                kind: FailureKind::Denied,
                code: Some("AccessDeniedException".to_owned()),
                message: format!(
                    "not authorized to perform: ssm:GetParameters on resource: parameter{}",
                    denied.name()
                ),
            });
        }
        let mut found = Vec::new();
        for reference in batch {
            let name = reference.name();
            let Some(stored) =
                publisher.parameters.get(name).or_else(|| publisher.parameters.get(name.trim_start_matches('/')))
            else {
                continue;
            };
            let latest = stored.versions.len() as i64;
            let version = match reference.selector() {
                None => Some(latest),
                Some(selector) => match selector.parse::<i64>() {
                    Ok(number) => Some(number).filter(|n| (1..=latest).contains(n)),
                    Err(_) => stored.labels.get(selector).copied(),
                },
            };
            let Some(version) = version else { continue };
            let value = &stored.versions[(version - 1) as usize];
            let secure = stored.kind == "SecureString";
            found.push((
                reference.clone(),
                Parameter {
                    name: reference.base().to_owned(),
                    arn: format!("arn:aws:ssm:eu-west-1:{account}:parameter{}", name),
                    kind: stored.kind.clone(),
                    value: if secure && !decrypt { format!("encrypted:{}", value.len()) } else { value.clone() },
                    version,
                    modified_ms: 1_000 * version,
                },
            ));
        }
        Ok(found)
    }

    async fn parameter_names_under(
        &self,
        source: &Source,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<String>, ReadError> {
        let account = account_of(source);
        self.start(format!("{account}/ssm-path:{path}"), ReadStep::GetParametersByPath).await?;
        let prefix = if path.ends_with('/') { path.to_owned() } else { format!("{path}/") };
        let publisher = self.publisher(source)?;
        Ok(publisher
            .parameters
            .keys()
            .filter(|name| name.strip_prefix(&prefix).is_some_and(|rest| recursive || !rest.contains('/')))
            .cloned()
            .collect())
    }
}

impl Admission for MemoryPublishers {
    /// Admission is the AssumeRole alone (not a read); the function's own account needs none.
    async fn admit(&self, source: &Source) -> Result<(), ReadError> {
        if source.role.is_none() {
            return Ok(());
        }
        self.publisher(source).map(drop)
    }
}

impl ReadAttempts for MemoryPublishers {
    fn restart(&self, _source: &Source) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
    }

    fn attempts(&self, _source: &Source) -> Option<Attempts> {
        self.attempts
    }
}

/// Named parameters, as [`ConsumerPolicyStore`]; an absent name is [`PolicyStoreError::Unreadable`].
#[derive(Debug, Default)]
pub struct MemoryConsumerPolicy {
    values: Mutex<BTreeMap<String, Result<String, PolicyStoreError>>>,
    reads: AtomicU32,
}

impl MemoryConsumerPolicy {
    /// No parameters.
    pub fn new() -> Self {
        MemoryConsumerPolicy::default()
    }

    /// `name` holds `value`, or cannot be used for `error`.
    pub fn with(self, name: &str, value: Result<&str, PolicyStoreError>) -> Self {
        self.set(name, value);
        self
    }

    /// From now on `name` holds `value` (or fails).
    pub fn set(&self, name: &str, value: Result<&str, PolicyStoreError>) {
        self.values.lock().unwrap().insert(name.to_owned(), value.map(str::to_owned));
    }

    /// How many reads were made.
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }
}

impl ConsumerPolicyStore for MemoryConsumerPolicy {
    async fn get(&self, name: &str) -> Result<String, PolicyStoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let values = self.values.lock().unwrap();
        values.get(name).cloned().unwrap_or_else(|| Err(PolicyStoreError::Unreadable(format!("no parameter {name}"))))
    }
}

/// Pending once, then ready: lets the other futures of a `join!` run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}
