//! A publisher's exports and stack outputs through CloudFormation's SDK client, with the consumer's
//! assumed role, counted attempts and retries until the caller's deadline; a third of this file is its tests.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_cloudformation::config::interceptors::InterceptorContext;
use aws_sdk_cloudformation::config::retry::{ClassifyRetry, RetryAction, RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_cloudformation::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use aws_sdk_cloudformation::operation::list_exports::ListExportsError;
use aws_sdk_ssm::operation::get_parameters::GetParametersError;
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use remote_exports_core::{
    Admission, Attempts, Consumer, Export, FailureKind, Parameter, ParameterRef, PublishedExports, PublishedOutputs,
    PublishedParameters, ReadAttempts, ReadError, ReadStep, Source, StackOutputs,
};

use remote_exports_shared::{is_untrusted_certificate, source_chain};

use crate::assumed_role::{AssumedRole, AssumedRoleCredentials};
use crate::aws_error::{is_missing_stack, live_stack};

/// Retries of throttled, failed-over or unreachable reads never give up on their own: the caller's
/// deadline (the function's work deadline) ends them, so a throttled publisher is waited out for as
/// long as the answer can wait. Full-jitter exponential backoff from 200 ms, at most 4 s apart. The
/// count is finite only because the SDK sums the worst-case backoff of every attempt (for its
/// identity-load timeout): 1 000 attempts average over 30 minutes, beyond Lambda's 15-minute maximum.
pub const UNTIL_DEADLINE: u32 = 1_000;

const STS_ATTEMPTS: u32 = 5;

/// A certificate the function does not trust will not become trusted by waiting: fail at once
/// instead of retrying a TLS failure until the deadline.
#[derive(Debug)]
struct UntrustedCertificatesAreFinal;

impl ClassifyRetry for UntrustedCertificatesAreFinal {
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        let connector_error = match context.output_or_error() {
            Some(Err(error)) => error.as_connector_error().map(|e| source_chain(e)),
            _ => None,
        };
        match connector_error {
            Some(text) if is_untrusted_certificate(&text) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "UntrustedCertificatesAreFinal"
    }
}

fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(4))
}

/// Counts attempts into `log`, with a retry quota of its own and unlimited: the deadline bounds the
/// retries, not a shared token count that one throttled publisher would drain for every other.
fn counted(
    builder: aws_sdk_cloudformation::config::Builder,
    log: &Arc<AttemptLog>,
) -> aws_sdk_cloudformation::config::Builder {
    let partition =
        RetryPartition::custom("remote-exports-list-exports").token_bucket(TokenBucket::unlimited()).build();
    builder
        .retry_partition(partition)
        .retry_classifier(UntrustedCertificatesAreFinal)
        .interceptor(CountReadAttempts(Arc::clone(log)))
}

/// The attempts of a request's reads of one source (ListExports, DescribeStacks, GetParameters,
/// GetParametersByPath), counted as they happen, so that a read cut off by the deadline can still
/// say how often it tried and how often it was throttled: the one count (the resource also puts the
/// throttled attempts in the function's metrics from it).
#[derive(Default)]
struct AttemptLog {
    attempts: AtomicU32,
    throttled: AtomicU32,
}

impl std::fmt::Debug for AttemptLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptLog").field("attempts", &self.attempts).field("throttled", &self.throttled).finish()
    }
}

#[derive(Debug, Clone)]
struct CountReadAttempts(Arc<AttemptLog>);

impl Intercept for CountReadAttempts {
    fn name(&self) -> &'static str {
        "CountReadAttempts"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        let operation_error = context.output_or_error().and_then(Result::err).and_then(|e| e.as_operation_error());
        let code = operation_error.and_then(|error| {
            let list = error.downcast_ref::<ListExportsError>().and_then(ProvideErrorMetadata::code);
            let describe = || error.downcast_ref::<DescribeStacksError>().and_then(ProvideErrorMetadata::code);
            let parameters = || error.downcast_ref::<GetParametersError>().and_then(ProvideErrorMetadata::code);
            let by_path = || error.downcast_ref::<GetParametersByPathError>().and_then(ProvideErrorMetadata::code);
            list.or_else(describe).or_else(parameters).or_else(by_path)
        });
        let status = context.response().map_or(0, |response| response.status().as_u16());
        if failure_kind(code, status) == FailureKind::Throttled {
            self.0.throttled.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Whose credentials: a role, assumed for one consumer stack (or for nobody) with one ExternalId.
/// Credentials are never shared between consumers, so each one's admission is STS's own decision
/// and each read is credited to its own consumer in the publisher's CloudTrail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RoleKey {
    role: String,
    external_id: Option<String>,
    consumer: Option<Consumer>,
    session_name: String,
}

/// A CloudFormation client per identity and region: warm invocations for the same consumer and
/// source make no AssumeRole call until the credentials near expiry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    role: Option<RoleKey>,
    region: String,
}

/// Beyond this many clients a container starts afresh, so that many consumers cannot grow it forever.
const MAX_CLIENTS: usize = 512;

pub struct PublisherAccounts {
    base: SdkConfig,
    /// For AssumeRole: a few attempts. A container assumes a role for a consumer every 15 minutes
    /// at most, and STS's limits are far above ListExports'.
    sts: aws_sdk_sts::Client,
    roles: Mutex<HashMap<RoleKey, Arc<AssumedRole>>>,
    clients: Mutex<HashMap<ClientKey, (Client, Arc<AttemptLog>)>>,
    /// SSM clients for the publishers' parameters, with the same credentials as `clients`.
    ssm_clients: Mutex<HashMap<ClientKey, aws_sdk_ssm::Client>>,
}

fn role_key(source: &Source) -> Option<RoleKey> {
    Some(RoleKey {
        role: source.role.as_ref()?.as_str().to_owned(),
        external_id: source.external_id.clone(),
        consumer: source.consumer.clone(),
        session_name: source.session_name.clone(),
    })
}

fn client_key(source: &Source) -> ClientKey {
    ClientKey { role: role_key(source), region: source.region.clone() }
}

impl PublisherAccounts {
    /// Reads that retry throttling and transient failures until the caller's deadline stops them.
    pub fn new(base: SdkConfig) -> Self {
        PublisherAccounts::with_max_attempts(base, UNTIL_DEADLINE)
    }

    /// Reads that give up after `max_attempts`, for callers without a deadline (the CLI).
    pub fn with_max_attempts(base: SdkConfig, max_attempts: u32) -> Self {
        let sts = base.to_builder().retry_config(retry_config(STS_ATTEMPTS.min(max_attempts))).build();
        let base = base.into_builder().retry_config(retry_config(max_attempts)).build();
        PublisherAccounts {
            base,
            sts: aws_sdk_sts::Client::new(&sts),
            roles: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            ssm_clients: Mutex::new(HashMap::new()),
        }
    }

    /// The role assumed for `source`'s identity, shared by its clients in every region.
    fn assumed_role(&self, key: &RoleKey, source: &Source) -> Arc<AssumedRole> {
        let mut roles = self.roles.lock().expect("role cache lock");
        if roles.len() >= MAX_CLIENTS {
            roles.clear();
        }
        Arc::clone(roles.entry(key.clone()).or_insert_with(|| Arc::new(AssumedRole::new(&self.sts, &key.role, source))))
    }

    fn client_for(&self, source: &Source) -> (Client, Arc<AttemptLog>) {
        let key = client_key(source);
        if let Some(entry) = self.clients.lock().expect("client cache lock").get(&key) {
            return entry.clone();
        }
        let log = Arc::new(AttemptLog::default());
        let builder =
            aws_sdk_cloudformation::config::Builder::from(&self.base).region(Region::new(source.region.clone()));
        let mut config = counted(builder, &log);
        if let Some(role_key) = &key.role {
            config = config.credentials_provider(AssumedRoleCredentials(self.assumed_role(role_key, source)));
        }
        let entry = (Client::from_conf(config.build()), log);
        let mut clients = self.clients.lock().expect("client cache lock");
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(key, entry.clone());
        entry
    }
}

impl PublisherAccounts {
    /// An SSM client for `source`: the same assumed role (and so the same consumer identity) as its
    /// CloudFormation client, the same retries until the deadline, its attempts counted in the same
    /// log (a throttled read says how often either service refused).
    fn ssm_for(&self, source: &Source) -> aws_sdk_ssm::Client {
        let key = client_key(source);
        if let Some(client) = self.ssm_clients.lock().expect("client cache lock").get(&key) {
            return client.clone();
        }
        let (_, log) = self.client_for(source);
        let partition =
            RetryPartition::custom("remote-exports-get-parameters").token_bucket(TokenBucket::unlimited()).build();
        let mut config = aws_sdk_ssm::config::Builder::from(&self.base)
            .region(Region::new(source.region.clone()))
            .retry_partition(partition)
            .retry_classifier(UntrustedCertificatesAreFinal)
            .interceptor(CountReadAttempts(log));
        if let Some(role_key) = &key.role {
            config = config.credentials_provider(AssumedRoleCredentials(self.assumed_role(role_key, source)));
        }
        let client = aws_sdk_ssm::Client::from_conf(config.build());
        let mut clients = self.ssm_clients.lock().expect("client cache lock");
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        client
    }
}

impl PublishedExports for PublisherAccounts {
    async fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> Result<u32, ReadError> {
        let (client, _) = self.client_for(source);
        scan_pages(&client, on_page).await
    }
}

impl PublishedOutputs for PublisherAccounts {
    async fn stack_outputs(&self, source: &Source, stack_name: &str) -> Result<Option<StackOutputs>, ReadError> {
        let (client, _) = self.client_for(source);
        describe_stack(&client, stack_name).await
    }
}

impl PublishedParameters for PublisherAccounts {
    async fn get_parameters(
        &self,
        source: &Source,
        batch: &[ParameterRef],
        decrypt: bool,
    ) -> Result<Vec<(ParameterRef, Parameter)>, ReadError> {
        crate::publisher_parameters::get_parameters(&self.ssm_for(source), batch, decrypt).await
    }

    async fn parameter_names_under(
        &self,
        source: &Source,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<String>, ReadError> {
        crate::publisher_parameters::names_under(&self.ssm_for(source), path, recursive).await
    }
}

impl Admission for PublisherAccounts {
    /// STS accepts (or accepted, for credentials still valid) this consumer's identity for the role.
    async fn admit(&self, source: &Source) -> Result<(), ReadError> {
        let Some(key) = role_key(source) else { return Ok(()) };
        let credentials = self.assumed_role(&key, source).credentials().await;
        credentials.map(drop).map_err(|error| credentials_failure(&error))
    }
}

impl ReadAttempts for PublisherAccounts {
    fn restart(&self, source: &Source) {
        let (_, log) = self.client_for(source);
        log.attempts.store(0, Ordering::Relaxed);
        log.throttled.store(0, Ordering::Relaxed);
    }

    fn attempts(&self, source: &Source) -> Option<Attempts> {
        let clients = self.clients.lock().expect("client cache lock");
        let (_, log) = clients.get(&client_key(source))?;
        Some(Attempts {
            attempts: log.attempts.load(Ordering::Relaxed),
            throttled: log.throttled.load(Ordering::Relaxed),
        })
    }
}

/// Reads ListExports pages with the SDK paginator until they run out or `on_page` says stop, so that
/// no page after the last one needed is requested.
async fn scan_pages(
    client: &Client,
    on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
) -> Result<u32, ReadError> {
    let mut pages = client.list_exports().into_paginator().send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(error, ReadStep::ListExports))?;
        count += 1;
        let exports = page
            .exports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|export| {
                Some(Export::new(export.name?, export.value?, export.exporting_stack_id.unwrap_or_default()))
            })
            .collect();
        if on_page(exports).is_break() {
            break;
        }
    }
    Ok(count)
}

/// One DescribeStacks by name. A stack that never existed answers `ValidationError` ("Stack with id
/// <name> does not exist"); a name never matches a deleted stack, but the status is checked anyway.
async fn describe_stack(client: &Client, stack_name: &str) -> Result<Option<StackOutputs>, ReadError> {
    let described = match client.describe_stacks().stack_name(stack_name).send().await {
        Ok(described) => described,
        Err(error) if is_missing_stack(&error) => return Ok(None),
        Err(error) => return Err(classify(error, ReadStep::DescribeStacks)),
    };
    Ok(live_stack(described.stacks, stack_name).map(|stack| StackOutputs {
        stack_id: stack.stack_id.unwrap_or_default(),
        outputs: stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|output| Some((output.output_key?, output.output_value?)))
            .collect(),
    }))
}

/// Sorts an SDK failure into the AWS step that failed, with its error code when it has one.
pub(crate) fn classify<E>(
    error: SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>,
    step: ReadStep,
) -> ReadError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    if let SdkError::ServiceError(context) = &error {
        let service_error = context.err();
        let code = service_error.code().map(str::to_owned);
        let status = context.raw().status().as_u16();
        let message = service_error.message().unwrap_or("no message");
        return ReadError {
            step,
            kind: failure_kind(code.as_deref(), status),
            message: if code.is_some() { message.to_owned() } else { format!("HTTP {status}: {message}") },
            code,
        };
    }
    // Credential failures surface as a dispatch/construction failure with the STS error in the chain.
    let mut chain = std::iter::successors(Some(&error as &(dyn StdError + 'static)), |&e| e.source());
    if chain.any(|e| e.is::<CredentialsError>()) {
        return credentials_failure(&error);
    }
    assume_role_failure(&error).unwrap_or_else(|| ReadError {
        step,
        kind: FailureKind::Other,
        code: None,
        message: source_chain(&error),
    })
}

/// Why credentials could not be had: STS's refusal when it is in the chain, else the chain itself.
fn credentials_failure(error: &(dyn StdError + 'static)) -> ReadError {
    assume_role_failure(error).unwrap_or_else(|| ReadError {
        step: ReadStep::AssumeRole,
        kind: FailureKind::Other,
        code: None,
        message: source_chain(error),
    })
}

/// STS's refusal of an AssumeRole, found anywhere in `error`'s source chain.
pub(crate) fn assume_role_failure(error: &(dyn StdError + 'static)) -> Option<ReadError> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(sts) = current.downcast_ref::<aws_sdk_sts::error::SdkError<AssumeRoleError>>() {
            let (code, message, status) = match sts {
                aws_sdk_sts::error::SdkError::ServiceError(context) => (
                    context.err().code().map(str::to_owned),
                    context.err().message().unwrap_or("no message").to_owned(),
                    context.raw().status().as_u16(),
                ),
                other => (None, source_chain(other), 0),
            };
            let kind = failure_kind(code.as_deref(), status);
            return Some(ReadError { step: ReadStep::AssumeRole, kind, code, message });
        }
        cause = current.source();
    }
    None
}

/// Sorts an AWS error code (and HTTP status) into what the stack author has to do about it:
/// throttling by the SDK's own list of throttling codes (the one its retries use), missing
/// permissions by the codes STS and CloudFormation document for them.
fn failure_kind(code: Option<&str>, status: u16) -> FailureKind {
    match code.unwrap_or("") {
        code if THROTTLING_ERRORS.contains(&code) => FailureKind::Throttled,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "ExpiredToken" => FailureKind::Denied,
        _ if status == 429 => FailureKind::Throttled,
        _ => FailureKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::list_exports::{ListExportsError, ListExportsOutput};
    use aws_sdk_cloudformation::types;
    use aws_sdk_cloudformation::types::StackStatus;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn page(names: &[&str], next: Option<&str>) -> ListExportsOutput {
        let exports = names.iter().map(|n| types::Export::builder().name(*n).value(format!("v-{n}")).build());
        ListExportsOutput::builder()
            .set_exports(Some(exports.collect()))
            .set_next_token(next.map(str::to_owned))
            .build()
    }

    #[tokio::test]
    async fn pages_are_requested_only_while_the_caller_wants_more() {
        let rule = mock!(Client::list_exports)
            .sequence()
            .output(|| page(&["a", "b"], Some("t1")))
            .output(|| page(&["c"], Some("t2")))
            .output(|| page(&["d"], None))
            .build();
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&rule]);
        let mut seen = Vec::new();
        let pages = scan_pages(&client, &mut |exports| {
            seen.extend(exports.into_iter().map(|e| e.name));
            if seen.contains(&"c".to_owned()) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .await
        .unwrap();
        assert_eq!((pages, seen), (2, vec!["a".to_owned(), "b".into(), "c".into()]));
        assert_eq!(rule.num_calls(), 2, "the third page was requested");
    }

    #[tokio::test]
    async fn every_page_is_read_when_the_caller_never_stops() {
        let rule = mock!(Client::list_exports)
            .sequence()
            .output(|| page(&["a"], Some("t1")))
            .output(|| page(&["b"], None))
            .build();
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&rule]);
        let mut count = 0;
        let pages = scan_pages(&client, &mut |exports| {
            count += exports.len();
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
        assert_eq!((pages, count), (2, 2));
    }

    #[tokio::test]
    async fn a_service_error_keeps_its_code_and_step() {
        let rule = mock!(Client::list_exports).then_error(|| {
            ListExportsError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder().code("AccessDenied").message("nope").build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudformation, [&rule]);
        let error = scan_pages(&client, &mut |_| ControlFlow::Continue(())).await.unwrap_err();
        assert_eq!(
            error,
            ReadError {
                step: ReadStep::ListExports,
                kind: FailureKind::Denied,
                code: Some("AccessDenied".into()),
                message: "nope".into()
            }
        );
    }

    #[tokio::test]
    async fn throttling_is_retried_until_the_callers_deadline_and_counted() {
        let throttle = || {
            ListExportsError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        };
        let configure = |log: &Arc<AttemptLog>| {
            let log = Arc::clone(log);
            move |builder: aws_sdk_cloudformation::config::Builder| {
                // The production policy with millisecond backoffs, so that the test takes milliseconds.
                let quick = retry_config(UNTIL_DEADLINE)
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(2));
                // Mock clients have no sleep: without one, backoffs would not wait and nothing would yield.
                let sleep = aws_smithy_async::rt::sleep::default_async_sleep().expect("a Tokio sleep");
                counted(builder.retry_config(quick).sleep_impl(sleep), &log)
            }
        };
        // Far more throttled attempts than any fixed retry count, then an answer: waited out.
        let rule =
            mock!(Client::list_exports).sequence().error(throttle).times(40).output(|| page(&["a"], None)).build();
        let log = Arc::new(AttemptLog::default());
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&rule], configure(&log));
        let pages = scan_pages(&client, &mut |_| ControlFlow::Continue(())).await.unwrap();
        assert_eq!((pages, rule.num_calls()), (1, 41));
        assert_eq!((log.attempts.load(Ordering::Relaxed), log.throttled.load(Ordering::Relaxed)), (41, 40));

        // Endless throttling: only the caller's deadline ends it, and the attempts are known by then.
        let endless = mock!(Client::list_exports).sequence().error(throttle).repeatedly().build();
        let log = Arc::new(AttemptLog::default());
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&endless], configure(&log));
        let mut keep_reading = |_| ControlFlow::Continue(());
        let cut_off = tokio::time::timeout(Duration::from_millis(500), scan_pages(&client, &mut keep_reading));
        assert!(cut_off.await.is_err(), "the SDK gave up before the deadline");
        let throttled = log.throttled.load(Ordering::Relaxed);
        assert!(throttled > 15 && throttled == log.attempts.load(Ordering::Relaxed), "{throttled}");
    }

    #[tokio::test]
    async fn a_stack_is_described_by_name_and_a_missing_one_is_none() {
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
        let stack = |status: StackStatus| {
            types::Stack::builder()
                .stack_name("booking-lambda")
                .stack_id("arn:aws:cloudformation:eu-west-1:222222222222:stack/booking-lambda/1")
                .stack_status(status)
                .outputs(types::Output::builder().output_key("TopicArn").output_value("arn:topic").build())
                .creation_time(aws_smithy_types::DateTime::from_secs(0))
                .build()
        };
        let error = |code: &str, message: &str| {
            DescribeStacksError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder().code(code).message(message).build(),
            )
        };
        let rule = mock!(Client::describe_stacks)
            .sequence()
            .output(move || DescribeStacksOutput::builder().stacks(stack(StackStatus::UpdateComplete)).build())
            .output(move || DescribeStacksOutput::builder().stacks(stack(StackStatus::DeleteComplete)).build())
            .error(move || error("ValidationError", "Stack with id booking-lambda does not exist"))
            .error(move || {
                error(
                    "AccessDenied",
                    "User: arn:aws:sts::222222222222:assumed-role/remote-exports-reader/s is not authorized to \
                     perform: cloudformation:DescribeStacks",
                )
            })
            .build();
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&rule]);
        let found = describe_stack(&client, "booking-lambda").await.unwrap().unwrap();
        assert_eq!(found.outputs["TopicArn"], "arn:topic");
        assert!(found.stack_id.ends_with("stack/booking-lambda/1"));
        assert_eq!(describe_stack(&client, "booking-lambda").await.unwrap(), None, "a deleted stack matched");
        assert_eq!(describe_stack(&client, "booking-lambda").await.unwrap(), None);
        let denied = describe_stack(&client, "booking-lambda").await.unwrap_err();
        assert_eq!((denied.step, denied.kind), (ReadStep::DescribeStacks, FailureKind::Denied));
    }

    #[test]
    fn codes_are_classified_not_messages() {
        assert_eq!(failure_kind(Some("Throttling"), 400), FailureKind::Throttled);
        assert_eq!(failure_kind(Some("RequestLimitExceeded"), 400), FailureKind::Throttled);
        assert_eq!(failure_kind(None, 429), FailureKind::Throttled);
        assert_eq!(failure_kind(Some("AccessDenied"), 403), FailureKind::Denied);
        assert_eq!(failure_kind(Some("ValidationError"), 400), FailureKind::Other);
        assert_eq!(failure_kind(None, 500), FailureKind::Other);
    }
}
