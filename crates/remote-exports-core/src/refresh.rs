//! The refresh of a consumer stack that opted in: what to do about one stale-read event (the audit's
//! or a change check's), decided from the event and the stack as it stands, before any change.
//!
//! A stack opts in with the tag `remote-exports:refresh` = `change-set` (a change set a person or a
//! pipeline reviews and executes) or `update` (the refresher updates the stack itself, only from a
//! stable state and only with the stack's own service role). Either changes one template parameter
//! (tag `remote-exports:refresh-parameter`, default `RemoteExportsRefresh`), which the
//! `Custom::RemoteExports` resource references as its `Refresh`, and keeps the previous template and
//! every other parameter.

use serde_json::Value;

use crate::staleness::Staleness;

/// The tag that opts a stack in, and says how.
pub const REFRESH_TAG: &str = "remote-exports:refresh";
/// The tag that names the refresh parameter, when it is not [`DEFAULT_REFRESH_PARAMETER`].
pub const REFRESH_PARAMETER_TAG: &str = "remote-exports:refresh-parameter";
pub const DEFAULT_REFRESH_PARAMETER: &str = "RemoteExportsRefresh";

/// How an opted-in stack is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshMode {
    ChangeSet,
    Update,
}

/// One stale read of this account's own stack, from an event the central account put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleEvent {
    pub stack_id: String,
    pub stack_name: String,
    pub logical_resource_id: String,
    pub state: Staleness,
    pub event_id: String,
    /// The envelope's `time`, as sent (RFC 3339): the refresh value and the change set's name.
    pub time: String,
}

/// Why an event is not one the refresher acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedStaleEvent {
    #[error("not a remote-exports stale-read event (source remote-exports, detail-type 'Remote export changed', …)")]
    NotAStaleEvent,
    #[error("the event came from account {0}, not the remote-exports central account")]
    NotFromCentralAccount(String),
    #[error("the event is about stack {0}, which is not of this account and region")]
    ForeignStack(String),
    #[error("the event has no valid {0}")]
    Malformed(&'static str),
}

impl StaleEvent {
    /// The stale read `event` reports, if it came from `central_account` (the envelope's account,
    /// which EventBridge sets) and is about a stack of `own_account` in `own_region`.
    pub fn from_event(
        event: &Value,
        central_account: &str,
        own_account: &str,
        own_region: &str,
    ) -> Result<StaleEvent, RefusedStaleEvent> {
        let text = |field: &str| event.get(field).and_then(Value::as_str);
        let state = match (text("source"), text("detail-type")) {
            (Some("remote-exports"), Some("Remote export changed")) => Staleness::Changed,
            (Some("remote-exports"), Some("Remote export removed")) => Staleness::Removed,
            (Some("remote-exports"), Some("Remote export appeared")) => Staleness::Appeared,
            _ => return Err(RefusedStaleEvent::NotAStaleEvent),
        };
        let account = text("account").ok_or(RefusedStaleEvent::Malformed("account"))?;
        if account != central_account {
            return Err(RefusedStaleEvent::NotFromCentralAccount(account.to_owned()));
        }
        let detail = |field: &'static str| {
            event
                .pointer(&format!("/detail/{field}"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or(RefusedStaleEvent::Malformed(field))
        };
        let stack_id = detail("stack_id")?;
        let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
        let ["arn", _partition, "cloudformation", region, account, resource] = parts.as_slice() else {
            return Err(RefusedStaleEvent::ForeignStack(stack_id.to_owned()));
        };
        if (*region, *account) != (own_region, own_account) {
            return Err(RefusedStaleEvent::ForeignStack(stack_id.to_owned()));
        }
        let stack_name = resource.strip_prefix("stack/").and_then(|r| r.split('/').next());
        let stack_name = stack_name.filter(|n| !n.is_empty()).ok_or(RefusedStaleEvent::Malformed("stack_id"))?;
        let time = text("time")
            .filter(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
            .ok_or(RefusedStaleEvent::Malformed("time"))?;
        Ok(StaleEvent {
            stack_id: stack_id.to_owned(),
            stack_name: stack_name.to_owned(),
            logical_resource_id: detail("logical_resource_id")?.to_owned(),
            state,
            event_id: text("id").unwrap_or_default().to_owned(),
            time: time.to_owned(),
        })
    }

    /// The refresh parameter's new value: the same for every event of one check, so that the
    /// second of them finds its refresh done.
    pub fn refresh_value(&self) -> String {
        format!("remote-exports {}", self.time)
    }

    /// The change set's name: letters, digits and hyphens, from the event's time.
    pub fn change_set_name(&self) -> String {
        let stamp: String = self.time.chars().filter(char::is_ascii_alphanumeric).collect();
        format!("remote-exports-refresh-{stamp}")
    }
}

/// A consumer stack as the refresher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerStack {
    pub stack_id: String,
    /// The stack's name, which the change is addressed to (the ID, as described, is checked first).
    pub name: String,
    pub status: String,
    pub tags: Vec<(String, String)>,
    /// Each parameter's key and current value.
    pub parameters: Vec<(String, String)>,
    /// The service role CloudFormation acts with, when the stack has one.
    pub role_arn: Option<String>,
    /// The capabilities the stack was deployed with, acknowledged again for the same template.
    pub capabilities: Vec<String>,
}

/// One parameter of a refresh: a new value for the refresh parameter, the previous for every other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    New(String),
    Previous,
}

/// What the refresher does about one stale read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshPlan {
    /// Nothing, and why (not opted in, no refresh parameter, a failed state, already refreshed).
    Skip(String),
    /// Nothing now: the stack is busy; the event is tried again later.
    Busy(String),
    ChangeSet {
        name: String,
        parameters: Vec<(String, ParameterValue)>,
    },
    Update {
        parameters: Vec<(String, ParameterValue)>,
    },
}

/// States from which an update may start.
const STABLE: &[&str] =
    &["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"];

/// What to do about `event` for `stack` (`None`: it no longer exists).
pub fn plan_refresh(event: &StaleEvent, stack: Option<&ConsumerStack>) -> RefreshPlan {
    let Some(stack) = stack else { return RefreshPlan::Skip(format!("stack {} no longer exists", event.stack_name)) };
    // Exactly as the refresher role's IAM condition reads the tag: no other spelling is opted in.
    let tag = |key: &str| stack.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mode = match tag(REFRESH_TAG) {
        None => {
            return RefreshPlan::Skip(format!("stack {} did not opt in (no tag {REFRESH_TAG})", event.stack_name));
        }
        Some("change-set") => RefreshMode::ChangeSet,
        Some("update") => RefreshMode::Update,
        Some(other) => {
            return RefreshPlan::Skip(format!(
                "stack {}'s tag {REFRESH_TAG} is '{other}', not 'change-set' or 'update'",
                event.stack_name
            ));
        }
    };
    let parameter =
        tag(REFRESH_PARAMETER_TAG).map(str::trim).filter(|p| !p.is_empty()).unwrap_or(DEFAULT_REFRESH_PARAMETER);
    let Some((_, current)) = stack.parameters.iter().find(|(key, _)| key == parameter) else {
        return RefreshPlan::Skip(format!(
            "stack {} has no parameter {parameter}: add it, and reference it as Refresh on {}",
            event.stack_name, event.logical_resource_id
        ));
    };
    let value = event.refresh_value();
    if *current == value {
        return RefreshPlan::Skip(format!("stack {} was already refreshed for this change", event.stack_name));
    }
    let status = stack.status.as_str();
    if status.ends_with("_IN_PROGRESS") {
        return RefreshPlan::Busy(format!("stack {} is {status}", event.stack_name));
    }
    if !STABLE.contains(&status) {
        return RefreshPlan::Skip(format!(
            "stack {} is {status}: a refresh would not start from it; recover the stack first (for \
             UPDATE_ROLLBACK_FAILED, continue the rollback), then update it with a new {parameter}",
            event.stack_name
        ));
    }
    let parameters = stack
        .parameters
        .iter()
        .map(|(key, _)| {
            let value = if key == parameter { ParameterValue::New(value.clone()) } else { ParameterValue::Previous };
            (key.clone(), value)
        })
        .collect();
    match mode {
        RefreshMode::ChangeSet => RefreshPlan::ChangeSet { name: event.change_set_name(), parameters },
        RefreshMode::Update if stack.role_arn.is_none() => RefreshPlan::Skip(format!(
            "stack {} asks for update but has no service role: the refresher updates only stacks that \
             CloudFormation updates with their own role; use change-set, or give the stack a role",
            event.stack_name
        )),
        RefreshMode::Update => RefreshPlan::Update { parameters },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CENTRAL: &str = "111111111111";
    const OWN: &str = "123456789012";
    const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/airmiles/guid";

    fn event() -> Value {
        json!({
            "version": "0", "id": "e1", "detail-type": "Remote export changed", "source": "remote-exports",
            "account": CENTRAL, "time": "2026-12-07T20:55:00Z", "region": "eu-west-1", "resources": [STACK_ID],
            "detail": {"stack_id": STACK_ID, "stack_name": "airmiles", "logical_resource_id": "Lookup",
                       "consumer_account": OWN, "state": "changed"}
        })
    }

    fn stale() -> StaleEvent {
        StaleEvent::from_event(&event(), CENTRAL, OWN, "eu-west-1").unwrap()
    }

    fn stack(status: &str, mode: Option<&str>) -> ConsumerStack {
        ConsumerStack {
            stack_id: STACK_ID.into(),
            name: "airmiles".into(),
            status: status.into(),
            tags: mode.map(|m| vec![(REFRESH_TAG.to_owned(), m.to_owned())]).unwrap_or_default(),
            parameters: vec![("Env".into(), "prod".into()), (DEFAULT_REFRESH_PARAMETER.into(), "1".into())],
            role_arn: Some("arn:aws:iam::123456789012:role/cfn".into()),
            capabilities: vec![],
        }
    }

    #[test]
    fn only_the_central_accounts_events_about_own_stacks_are_taken() {
        assert_eq!(stale().stack_name, "airmiles");
        assert_eq!(stale().change_set_name(), "remote-exports-refresh-20261207T205500Z");
        let mut forged = event();
        forged["account"] = json!(OWN);
        assert_eq!(
            StaleEvent::from_event(&forged, CENTRAL, OWN, "eu-west-1"),
            Err(RefusedStaleEvent::NotFromCentralAccount(OWN.into()))
        );
        let mut other = event();
        other["detail"]["stack_id"] = json!("arn:aws:cloudformation:eu-west-1:999999999999:stack/x/1");
        assert!(matches!(
            StaleEvent::from_event(&other, CENTRAL, OWN, "eu-west-1"),
            Err(RefusedStaleEvent::ForeignStack(_))
        ));
        let mut not_a_stack = event();
        not_a_stack["detail"]["stack_id"] = json!("arn:aws:s3:eu-west-1:123456789012:stack/airmiles/1");
        assert!(matches!(
            StaleEvent::from_event(&not_a_stack, CENTRAL, OWN, "eu-west-1"),
            Err(RefusedStaleEvent::ForeignStack(_))
        ));
        let mut scheduled = event();
        scheduled["source"] = json!("aws.events");
        assert_eq!(
            StaleEvent::from_event(&scheduled, CENTRAL, OWN, "eu-west-1"),
            Err(RefusedStaleEvent::NotAStaleEvent)
        );
    }

    #[test]
    fn an_opted_in_stable_stack_gets_a_change_set_of_the_refresh_parameter_alone() {
        let RefreshPlan::ChangeSet { name, parameters } =
            plan_refresh(&stale(), Some(&stack("UPDATE_COMPLETE", Some("change-set"))))
        else {
            panic!()
        };
        assert_eq!(name, "remote-exports-refresh-20261207T205500Z");
        assert_eq!(
            parameters,
            [
                ("Env".to_owned(), ParameterValue::Previous),
                (
                    DEFAULT_REFRESH_PARAMETER.to_owned(),
                    ParameterValue::New("remote-exports 2026-12-07T20:55:00Z".into())
                )
            ]
        );
    }

    #[test]
    fn nothing_is_done_without_opt_in_a_parameter_or_a_stable_state_and_busy_stacks_wait() {
        let plan = |status: &str, mode: Option<&str>| plan_refresh(&stale(), Some(&stack(status, mode)));
        assert!(matches!(plan("UPDATE_COMPLETE", None), RefreshPlan::Skip(why) if why.contains("did not opt in")));
        for spelling in ["", "Change-Set", " update"] {
            assert!(
                matches!(plan("UPDATE_COMPLETE", Some(spelling)), RefreshPlan::Skip(why) if why.contains("not 'change-set' or 'update'")),
                "{spelling:?}"
            );
        }
        assert!(matches!(plan("UPDATE_IN_PROGRESS", Some("update")), RefreshPlan::Busy(_)));
        assert!(matches!(plan("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Some("change-set")), RefreshPlan::Busy(_)));
        let failed = plan("UPDATE_ROLLBACK_FAILED", Some("update"));
        assert!(
            matches!(&failed, RefreshPlan::Skip(why) if why.contains("UPDATE_ROLLBACK_FAILED") && why.contains("continue the rollback")),
            "{failed:?}"
        );
        assert!(matches!(plan("UPDATE_COMPLETE", Some("update")), RefreshPlan::Update { .. }));
        let mut without_role = stack("UPDATE_COMPLETE", Some("update"));
        without_role.role_arn = None;
        assert!(
            matches!(plan_refresh(&stale(), Some(&without_role)), RefreshPlan::Skip(why) if why.contains("service role"))
        );
        let mut without_parameter = stack("UPDATE_COMPLETE", Some("change-set"));
        without_parameter.parameters.pop();
        assert!(
            matches!(plan_refresh(&stale(), Some(&without_parameter)), RefreshPlan::Skip(why) if why.contains("no parameter RemoteExportsRefresh"))
        );
        let mut done = stack("UPDATE_COMPLETE", Some("update"));
        done.parameters[1].1 = stale().refresh_value();
        assert!(
            matches!(plan_refresh(&stale(), Some(&done)), RefreshPlan::Skip(why) if why.contains("already refreshed"))
        );
        assert!(matches!(plan_refresh(&stale(), None), RefreshPlan::Skip(_)));
    }
}
