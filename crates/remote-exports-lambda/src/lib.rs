//! The Lambda side of `Custom::RemoteExports`: logging set up as the Lambda runtime expects, which
//! path an event takes, one handler per mode, and the mapping from failed invocations to the
//! runtime's typed errors.

mod config;
mod guard_handler;
mod handlers;
mod logging;

pub use config::{FunctionConfig, GuardSetup, MissingSetting, VARIABLES};
pub use guard_handler::{GuardHandler, respond};
pub use handlers::{AuditHandler, ChangeHandler, CustomResourceHandler, MetricsSink, RefreshHandler, stdout_metrics};
pub use logging::init_logging;

use std::future::Future;
use std::sync::Arc;

pub mod metrics;

/// The product's one version (the workspace's, as CHANGELOG.md and the templates carry it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

use cloudformation_custom_resource::HandleError;
use lambda_runtime::{Diagnostic, LambdaEvent};
use remote_exports_app::AuditError;
use serde_json::Value;

/// One mode's handler: an event in, the runtime's answer out.
pub trait Handler {
    fn handle(&self, event: LambdaEvent<Value>) -> impl Future<Output = Result<Value, Diagnostic>>;
}

/// Serves `handler` on the Lambda Runtime API until the runtime stops.
pub async fn serve(handler: impl Handler + 'static) -> Result<(), lambda_runtime::Error> {
    let handler = Arc::new(handler);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event).await }
    }))
    .await
}

/// Which function this process is: `FUNCTION_MODE`, which the template (or
/// `examples/export-guard.yaml`) sets per function. An event's shape never chooses the mode; it only decides whether the mode's
/// function serves it or refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `RemoteExportsFunction` (`custom-resource`, the default): custom-resource requests only.
    CustomResource,
    /// `AuditFunction` (`audit`): the scheduled audit only.
    Audit,
    /// `ExportGuardFunction` (`guard`): Lambda Hook requests of its own account only.
    Guard,
    /// `ChangeCheckFunction` (`change-check`): publishers' change events, from its own bus's rule only.
    ChangeCheck,
    /// `RefresherFunction` (`refresher`, in consumer accounts): the central account's stale-read
    /// events about this account's own stacks.
    Refresher,
}

impl Mode {
    pub fn from_setting(setting: Option<&str>) -> Result<Mode, UnknownMode> {
        match setting.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Mode::CustomResource),
            Some(s) if s.eq_ignore_ascii_case("custom-resource") => Ok(Mode::CustomResource),
            Some(s) if s.eq_ignore_ascii_case("audit") => Ok(Mode::Audit),
            Some(s) if s.eq_ignore_ascii_case("guard") => Ok(Mode::Guard),
            Some(s) if s.eq_ignore_ascii_case("change-check") => Ok(Mode::ChangeCheck),
            Some(s) if s.eq_ignore_ascii_case("refresher") => Ok(Mode::Refresher),
            Some(other) => Err(UnknownMode(other.to_owned())),
        }
    }
}

/// A `FUNCTION_MODE` that names no mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("FUNCTION_MODE must be 'custom-resource', 'audit', 'guard', 'change-check' or 'refresher', not '{0}'")]
pub struct UnknownMode(pub String);

/// An event this function does not serve: refused before any AWS call, answered to nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "this function answers CloudFormation custom-resource requests only; the stale-read audit runs as \
         AuditFunction, on its own schedule, and the export guard as ExportGuardFunction in publisher accounts"
    )]
    NotACustomResourceRequest,
    #[error("this function runs the scheduled stale-read audit only; custom resources use RemoteExportsFunction")]
    NotAScheduledAudit,
    #[error("this function answers CloudFormation Lambda Hook requests (STACK and CHANGE_SET targets) only")]
    NotAHookRequest,
    #[error("the hook request is for a stack of another account or region than this guard's own; nothing was read")]
    ForeignStack,
    #[error(
        "this function checks publishers' change events (CloudFormation Stack Status Change, Parameter Store \
         Change) only"
    )]
    NotAChangeEvent,
    #[error("the change event is malformed or its detail names another account than the one it came from")]
    UntrustedChange,
    #[error("this function refreshes opted-in stacks after remote-exports stale-read events only")]
    NotAStaleEvent,
    #[error(
        "the stale-read event did not come from the central account, or is about a stack of another account or \
         region; nothing was read"
    )]
    UntrustedStaleEvent,
}

impl Refused {
    /// The refusal's kind: the `RefusedKind` of its metric, and its errorType after `RemoteExports.`.
    pub fn kind(self) -> &'static str {
        match self {
            Refused::NotACustomResourceRequest => "NotACustomResourceRequest",
            Refused::NotAScheduledAudit => "NotAScheduledAudit",
            Refused::NotAHookRequest => "NotAHookRequest",
            Refused::ForeignStack => "ForeignStack",
            Refused::NotAChangeEvent => "NotAChangeEvent",
            Refused::UntrustedChange => "UntrustedChange",
            Refused::NotAStaleEvent => "NotAStaleEvent",
            Refused::UntrustedStaleEvent => "UntrustedStaleEvent",
        }
    }
}

impl From<Refused> for lambda_runtime::Diagnostic {
    fn from(refused: Refused) -> Self {
        lambda_runtime::Diagnostic {
            error_type: format!("RemoteExports.{}", refused.kind()),
            error_message: refused.to_string(),
        }
    }
}

/// What an invocation is, decided from the event's shape alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// An EventBridge schedule: the audit function runs the audit; the custom-resource function refuses it.
    ScheduledAudit,
    /// A CloudFormation Lambda Hook request: the guard serves it; the others refuse it.
    Hook,
    /// An event from CloudFormation or SSM (`aws.cloudformation`, `aws.ssm`): the change check serves
    /// it; the others refuse it.
    SourceChange,
    /// A stale-read event (`remote-exports`): the refresher serves it; the others refuse it.
    StaleRead,
    /// Anything else is a custom-resource request, answered (or refused) by the protocol driver;
    /// the audit function and the guard refuse it.
    CustomResource,
}

impl EventShape {
    /// A scheduled event has `"source": "aws.events"` and `"detail-type": "Scheduled Event"`. An
    /// event that also carries custom-resource fields is not one: it goes to the driver, whose URL
    /// binding decides, so that nothing can smuggle a request past it or trigger an audit with one.
    pub fn of(event: &Value) -> EventShape {
        let scheduled = event["source"] == "aws.events" && event["detail-type"] == "Scheduled Event";
        let custom_resource_fields = ["ResponseURL", "RequestType", "StackId"].iter().any(|f| event.get(f).is_some());
        if custom_resource_fields {
            EventShape::CustomResource
        } else if scheduled {
            EventShape::ScheduledAudit
        } else if matches!(event["source"].as_str(), Some("aws.cloudformation" | "aws.ssm"))
            && event.get("detail").is_some()
        {
            EventShape::SourceChange
        } else if event["source"] == "remote-exports" && event.get("detail").is_some() {
            EventShape::StaleRead
        } else if cloudformation_lambda_hook::is_hook_event(event) {
            EventShape::Hook
        } else {
            EventShape::CustomResource
        }
    }
}

/// A refresh that could not happen now (a busy stack, a refused call). Lambda retries the event.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RefreshFailure(#[from] pub remote_exports_app::RefreshError);

impl From<RefreshFailure> for lambda_runtime::Diagnostic {
    fn from(failure: RefreshFailure) -> Self {
        let kind = match failure.0 {
            remote_exports_app::RefreshError::Busy(_) => "StackBusy",
            remote_exports_app::RefreshError::Stacks(_) => "RefreshFailed",
        };
        lambda_runtime::Diagnostic { error_type: format!("RemoteExports.{kind}"), error_message: failure.to_string() }
    }
}

/// The runs that read publishers and put stale-read events: the scheduled audit, and a change
/// event's check. A failed one is an error to the runtime, so that Lambda retries its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Audit,
    Change,
}

impl Check {
    /// Its name in a message.
    pub fn name(self) -> &'static str {
        match self {
            Check::Audit => "the audit",
            Check::Change => "the change check",
        }
    }

    /// Its errorType after `RemoteExports.`.
    fn error_type(self) -> &'static str {
        match self {
            Check::Audit => "AuditFailed",
            Check::Change => "ChangeCheckFailed",
        }
    }
}

/// A [`Check`] that could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailure {
    #[error("{1}")]
    Failed(Check, AuditError),
    #[error("{} did not finish before the function's deadline", .0.name())]
    TimedOut(Check),
}

impl From<CheckFailure> for lambda_runtime::Diagnostic {
    fn from(failure: CheckFailure) -> Self {
        let (CheckFailure::Failed(check, _) | CheckFailure::TimedOut(check)) = &failure;
        lambda_runtime::Diagnostic {
            error_type: format!("RemoteExports.{}", check.error_type()),
            error_message: failure.to_string(),
        }
    }
}

/// An invocation CloudFormation could not be told about. Only these reach the runtime as errors,
/// because an error makes Lambda run the whole event again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FunctionError(#[from] pub HandleError);

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: format!("RemoteExports.{}", error.0.kind_name()),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn scheduled_events_and_custom_resource_requests_never_cross() {
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(EventShape::of(&scheduled), EventShape::ScheduledAudit);
        let mut disguised = scheduled.clone();
        disguised["ResponseURL"] = json!("https://example.com/x");
        assert_eq!(EventShape::of(&disguised), EventShape::CustomResource);
        let request = json!({"RequestType": "Create", "ResponseURL": "https://x", "StackId": "s"});
        assert_eq!(EventShape::of(&request), EventShape::CustomResource);
        let change: Value = serde_json::from_str(include_str!("../../../events/stack-status-change.json")).unwrap();
        assert_eq!(EventShape::of(&change), EventShape::SourceChange);
        let mut disguised = change.clone();
        disguised["RequestType"] = json!("Create");
        assert_eq!(EventShape::of(&disguised), EventShape::CustomResource);
        let other_rule = json!({"source": "aws.events", "detail-type": "Something Else"});
        assert_eq!(EventShape::of(&other_rule), EventShape::CustomResource);
        assert_eq!(EventShape::of(&json!("text")), EventShape::CustomResource);
        let hook =
            json!({"clientRequestToken": "t", "actionInvocationPoint": "UPDATE_PRE_PROVISION", "requestData": {}});
        assert_eq!(EventShape::of(&hook), EventShape::Hook);
        let mut smuggled = hook.clone();
        smuggled["ResponseURL"] = json!("https://example.com/x");
        assert_eq!(EventShape::of(&smuggled), EventShape::CustomResource);
    }

    /// The sample hook events of `events/` are what the guard serves.
    #[test]
    fn the_sample_hook_events_are_hook_requests() {
        for (name, text) in [
            ("hook-stack-update", include_str!("../../../events/hook-stack-update.json")),
            ("hook-stack-delete", include_str!("../../../events/hook-stack-delete.json")),
            ("hook-change-set", include_str!("../../../events/hook-change-set.json")),
        ] {
            let event: Value = serde_json::from_str(text).unwrap();
            assert_eq!(EventShape::of(&event), EventShape::Hook, "{name}");
            cloudformation_lambda_hook::HookRequest::parse(&event).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn the_mode_comes_from_the_setting_and_defaults_to_custom_resources() {
        assert_eq!(Mode::from_setting(None), Ok(Mode::CustomResource));
        assert_eq!(Mode::from_setting(Some("")), Ok(Mode::CustomResource));
        assert_eq!(Mode::from_setting(Some("custom-resource")), Ok(Mode::CustomResource));
        assert_eq!(Mode::from_setting(Some(" Audit ")), Ok(Mode::Audit));
        assert_eq!(Mode::from_setting(Some("guard")), Ok(Mode::Guard));
        assert_eq!(Mode::from_setting(Some("change-check")), Ok(Mode::ChangeCheck));
        assert!(Mode::from_setting(Some("both")).unwrap_err().to_string().contains("'both'"));
        let refused = lambda_runtime::Diagnostic::from(Refused::NotACustomResourceRequest);
        assert_eq!(refused.error_type, "RemoteExports.NotACustomResourceRequest");
        assert!(refused.error_message.contains("AuditFunction"), "{}", refused.error_message);
    }

    #[test]
    fn a_failed_check_says_which_run_failed() {
        let timed_out = lambda_runtime::Diagnostic::from(CheckFailure::TimedOut(Check::Change));
        assert_eq!(timed_out.error_type, "RemoteExports.ChangeCheckFailed");
        assert_eq!(timed_out.error_message, "the change check did not finish before the function's deadline");
        let failed = lambda_runtime::Diagnostic::from(CheckFailure::Failed(Check::Audit, AuditError::NoRegistry));
        assert_eq!(failed.error_type, "RemoteExports.AuditFailed");
        assert!(failed.error_message.contains("READS_TABLE"), "{}", failed.error_message);
    }

    #[test]
    fn errors_reach_the_runtime_with_a_typed_error_type() {
        let refused =
            HandleError::ResponseUrlRefused(cloudformation_custom_resource::error::ResponseUrlError::UnboundStack);
        let diagnostic = lambda_runtime::Diagnostic::from(FunctionError(refused));
        assert_eq!(diagnostic.error_type, "RemoteExports.ResponseUrlRefused");
        assert!(diagnostic.error_message.contains("cannot be bound"), "{}", diagnostic.error_message);
    }
}
