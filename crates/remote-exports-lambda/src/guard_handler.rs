//! `ExportGuardFunction`: CloudFormation Lambda Hook requests for STACK and CHANGE_SET targets in
//! the publisher account it is deployed in, and nothing else.
//!
//! Who may invoke it: the hook's execution role, and principals of its own account whose IAM
//! policies allow it (they learn only what their account may learn). What it trusts: its own account
//! and region (configuration), nothing in the event but the operation to check. A request for another account's or region's stack is refused before any call, a payload
//! URL outside the region's S3 endpoints is never fetched, and the registry answers only this
//! account's readers whatever the event says (IAM pins the query to the account that asks).

use std::time::Duration;

use cloudformation_lambda_hook::{
    Action, Annotation, AnnotationStatus, HookRequest, HookResponse, PayloadError, PayloadFetcher, PayloadUrl,
    PayloadUrlError, Severity, Target, cut,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use remote_exports_app::{ExportGuard, GuardError, PreviousTemplate, Proposed};
use remote_exports_core::now_ms;
use remote_exports_core::{Affected, PublisherStacks, ReadersBySource, Removal, ValueChange, Verdict, subject};
use serde_json::Value;

use crate::handlers::MetricsSink;
use crate::handlers::refuse;
use crate::metrics::{self, GuardEnding, MetricsSettings};
use crate::{EventShape, Handler, MissingSetting, Refused};

/// The Hooks service waits 30 s; the guard stops working well before.
const HOOK_BUDGET: Duration = Duration::from_secs(25);

/// Why the guard could not decide on a request it serves: answered `InternalFailure`, so that the
/// hook's FailureMode decides.
#[derive(Debug, thiserror::Error)]
enum Undecided {
    #[error("the stack ID {0} names no stack")]
    NoStackName(String),
    #[error("{0}")]
    PayloadUrl(#[from] PayloadUrlError),
    #[error("{0}")]
    Payload(#[from] PayloadError),
    #[error("the hook payload holds no template")]
    NoTemplate,
    #[error("{0}")]
    Guard(#[from] GuardError),
    #[error("the check did not finish within {} s", .0.as_secs())]
    TimedOut(Duration),
}

pub struct GuardHandler<S, R> {
    /// `Err`: a setting is missing, and every request is answered `InternalFailure` naming it, so
    /// the hook's FailureMode decides and the message says what to set.
    guard: Result<ExportGuard<S, R>, MissingSetting>,
    fetcher: PayloadFetcher,
    allow_loopback: bool,
    metrics: MetricsSettings,
    sink: MetricsSink,
}

impl<S: PublisherStacks, R: ReadersBySource> GuardHandler<S, R> {
    pub fn new(
        guard: Result<ExportGuard<S, R>, MissingSetting>,
        fetcher: PayloadFetcher,
        allow_loopback: bool,
        metrics: MetricsSettings,
        sink: MetricsSink,
    ) -> Self {
        GuardHandler { guard, fetcher, allow_loopback, metrics, sink }
    }
}

impl<S: PublisherStacks, R: ReadersBySource> Handler for GuardHandler<S, R> {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        if EventShape::of(&event.payload) != EventShape::Hook {
            tracing::warn!("refused an event that is not a Lambda Hook request; nothing was answered");
            return Err(refuse(Refused::NotAHookRequest, Some("GuardUndecided"), &self.metrics, &self.sink));
        }
        let request = match HookRequest::parse(&event.payload) {
            Ok(request) => request,
            Err(error) => {
                let token = event.payload["clientRequestToken"].as_str().unwrap_or_default();
                tracing::error!(%error, "hook request not served");
                return Ok(
                    self.finish(GuardEnding::Undecided, HookResponse::internal_failure(token, error.to_string()))
                );
            }
        };
        let guard = match &self.guard {
            Ok(guard) => guard,
            Err(unconfigured) => {
                let message = format!("The export guard is not configured: {unconfigured}");
                tracing::error!(%message);
                return Ok(self.finish(
                    GuardEnding::Undecided,
                    HookResponse::internal_failure(&request.client_request_token, message),
                ));
            }
        };
        let scope = guard.scope();
        // The request must be for a stack of this function's own account and region.
        let own = Some((scope.region.as_str(), scope.account.as_str()));
        if request.aws_account_id != scope.account || request.stack_region_and_account() != own {
            tracing::warn!(
                stack_id = %request.stack_id,
                account = %request.aws_account_id,
                "refused a hook request for another account's or region's stack; nothing was read"
            );
            return Err(refuse(Refused::ForeignStack, Some("GuardUndecided"), &self.metrics, &self.sink));
        }
        let budget = lambda_budget(&event.context);
        let response = match tokio::time::timeout(budget, self.check(guard, &request, budget)).await {
            Ok(response) => response,
            Err(_) => Err(Undecided::TimedOut(budget)),
        };
        let token = &request.client_request_token;
        let (ending, response) = match response {
            Ok(verdict) => {
                let ending = if verdict.is_blocked() { GuardEnding::Blocked } else { GuardEnding::Passed };
                tracing::info!(
                    stack = request.stack_name().unwrap_or("?"),
                    target = ?request.target,
                    action = ?request.action,
                    blocked = verdict.blocked.len(),
                    unread_removals = verdict.unread.len(),
                    value_changes = verdict.value_changes.len(),
                    records_checked = verdict.records_checked,
                    "export guard decided"
                );
                (ending, respond(token, &verdict))
            }
            Err(failure) => {
                let message = format!("The export guard could not decide: {failure}");
                tracing::error!(%message);
                (GuardEnding::Undecided, HookResponse::internal_failure(token, message))
            }
        };
        Ok(self.finish(ending, response))
    }
}

impl<S: PublisherStacks, R: ReadersBySource> GuardHandler<S, R> {
    /// What the request proposes, from its payload, then the guard's one use case.
    async fn check(
        &self,
        guard: &ExportGuard<S, R>,
        request: &HookRequest,
        budget: Duration,
    ) -> Result<Verdict, Undecided> {
        let stack = request.stack_name().ok_or_else(|| Undecided::NoStackName(request.stack_id.clone()))?;
        let proposed = match (request.target, request.action) {
            // A delete's payload holds no template.
            (Target::Stack, Action::Delete) => Proposed::Delete,
            _ => {
                let url = PayloadUrl::bind(request.payload.as_deref(), &guard.scope().region, self.allow_loopback)?;
                let payload = self.fetcher.fetch(&url, budget).await?;
                let template = payload.template.ok_or(Undecided::NoTemplate)?;
                match (request.target, &request.change_set_id) {
                    (Target::ChangeSet, Some(change_set)) => {
                        Proposed::ChangeSet { name: change_set.clone(), template: Some(template) }
                    }
                    _ => Proposed::Template { template, previous: PreviousTemplate::Given(payload.previous_template) },
                }
            }
        };
        Ok(guard.check(stack, proposed).await?)
    }

    fn finish(&self, ending: GuardEnding, response: HookResponse) -> Value {
        (self.sink)(&metrics::guard_document(&self.metrics, ending, now_ms()));
        response.to_json()
    }
}

/// The time left before the Hooks service gives up, less a margin to answer in.
fn lambda_budget(context: &lambda_runtime::Context) -> Duration {
    let left = context.deadline.saturating_sub(now_ms());
    Duration::from_millis(left.saturating_sub(1_000)).min(HOOK_BUDGET)
}

/// The hook's answer for a verdict: FAILED with NonCompliant when a reader would break, with one
/// annotation per removal that is read and per value change that is read.
pub fn respond(token: &str, verdict: &Verdict) -> HookResponse {
    let mut annotations: Vec<Annotation> = verdict.blocked.iter().map(blocked_annotation).collect();
    annotations.extend(verdict.value_changes.iter().filter(|a| !a.readers.is_empty()).map(change_annotation));
    let response = if verdict.is_blocked() {
        HookResponse::non_compliant(token, verdict.message())
    } else {
        HookResponse::success(token, verdict.message())
    };
    response.with_annotations(annotations)
}

fn blocked_annotation(affected: &Affected<Removal>) -> Annotation {
    let removal = &affected.change;
    let readers: Vec<String> = affected
        .readers
        .iter()
        .map(|r| format!("{}/{}/{}", r.consumer_account, r.stack_name, r.logical_resource_id))
        .collect();
    Annotation {
        annotation_name: "RemovedExportStillRead".to_owned(),
        status: AnnotationStatus::Failed,
        status_message: truncate(format!(
            "{} is removed but read by {}",
            subject(removal.export.as_deref(), &removal.output_key),
            readers.join(", ")
        )),
        remediation_message: Some(
            "Update or delete those readers first, or set the hook's FailureMode to WARN.".to_owned(),
        ),
        remediation_link: None,
        severity_level: Some(Severity::High),
    }
}

fn change_annotation(affected: &Affected<ValueChange>) -> Annotation {
    let change = &affected.change;
    Annotation {
        annotation_name: "ReadExportChangesValue".to_owned(),
        status: AnnotationStatus::Passed,
        status_message: truncate(format!(
            "Warning: {} changes its value; {} reader(s) keep the old value until their next Update",
            subject(change.export.as_deref(), &change.output_key),
            affected.readers.len()
        )),
        remediation_message: Some(
            "Update the readers after this operation so that they read the new value.".to_owned(),
        ),
        remediation_link: None,
        severity_level: Some(Severity::Medium),
    }
}

/// Annotation texts are kept short: the full story is in the message.
fn truncate(text: String) -> String {
    cut(text, 1024, "…")
}
