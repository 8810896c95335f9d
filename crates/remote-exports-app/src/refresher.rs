//! The refresh of an opted-in consumer stack after a stale-read event: a change set (reviewed and
//! executed by a person or a pipeline) or, when the stack asks for it, an update under the stack's
//! own role, of the previous template with only the refresh parameter changed.

use remote_exports_core::{ConsumerStacks, RefreshPlan, StackReadError, StaleEvent, plan_refresh};

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// A change set was created for review: its name.
    Proposed(String),
    /// A change set of that name exists already: an earlier event of the same check proposed it.
    AlreadyProposed(String),
    /// The stack's update started.
    Started,
    /// Nothing was changed, and why.
    Skipped(String),
}

/// Why a refresh did not happen now.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The stack is busy: Lambda tries the event again later.
    #[error("{0}; the refresh is tried again later")]
    Busy(String),
    #[error(transparent)]
    Stacks(#[from] StackReadError),
}

/// Refreshes this account's opted-in stacks through `stacks`.
pub struct Refresher<C> {
    stacks: C,
}

impl<C: ConsumerStacks> Refresher<C> {
    pub fn new(stacks: C) -> Self {
        Refresher { stacks }
    }

    /// Describes the event's stack, decides ([`plan_refresh`]) and acts; one log line either way.
    pub async fn refresh(&self, event: &StaleEvent) -> Result<RefreshOutcome, RefreshError> {
        let stack = self.stacks.describe(&event.stack_id).await?;
        let outcome = match (plan_refresh(event, stack.as_ref()), stack) {
            (RefreshPlan::Skip(why), _) => RefreshOutcome::Skipped(why),
            (RefreshPlan::Busy(why), _) => {
                tracing::info!(stack = %event.stack_name, event_id = %event.event_id, %why, "refresh deferred");
                return Err(RefreshError::Busy(why));
            }
            (RefreshPlan::ChangeSet { name, parameters }, Some(stack)) => {
                match self.stacks.create_change_set(&stack, &name, &parameters).await? {
                    Some(_) => RefreshOutcome::Proposed(name),
                    None => RefreshOutcome::AlreadyProposed(name),
                }
            }
            (RefreshPlan::Update { parameters }, Some(stack)) => {
                self.stacks.update(&stack, &parameters).await?;
                RefreshOutcome::Started
            }
            (_, None) => RefreshOutcome::Skipped(format!("stack {} no longer exists", event.stack_name)),
        };
        tracing::info!(
            stack = %event.stack_name,
            logical_resource_id = %event.logical_resource_id,
            event_id = %event.event_id,
            outcome = ?outcome,
            "refresh"
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use remote_exports_core::{CallError, ConsumerStack, ParameterValue, REFRESH_TAG, Staleness};

    /// One stack, and every call made to change it.
    struct Stacks {
        stack: Option<ConsumerStack>,
        calls: Mutex<Vec<String>>,
    }

    impl ConsumerStacks for Stacks {
        async fn describe(&self, _: &str) -> Result<Option<ConsumerStack>, StackReadError> {
            Ok(self.stack.clone())
        }
        async fn create_change_set(
            &self,
            _: &ConsumerStack,
            name: &str,
            parameters: &[(String, ParameterValue)],
        ) -> Result<Option<String>, StackReadError> {
            let mut calls = self.calls.lock().unwrap();
            if calls.iter().any(|c| c.contains(name)) {
                return Ok(None);
            }
            calls.push(format!("CreateChangeSet {name} {parameters:?}"));
            Ok(Some("id".into()))
        }
        async fn update(&self, _: &ConsumerStack, _: &[(String, ParameterValue)]) -> Result<(), StackReadError> {
            Err(StackReadError { subject: "s".into(), call: CallError::unexpected("UpdateStack", "refused") })
        }
    }

    fn event() -> StaleEvent {
        StaleEvent {
            stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/airmiles/1".into(),
            stack_name: "airmiles".into(),
            logical_resource_id: "Lookup".into(),
            state: Staleness::Changed,
            event_id: "e".into(),
            time: "2026-12-07T21:00:00Z".into(),
        }
    }

    fn stacks(status: &str, mode: &str) -> Stacks {
        let stack = ConsumerStack {
            stack_id: event().stack_id,
            status: status.into(),
            tags: vec![(REFRESH_TAG.into(), mode.into())],
            parameters: vec![("RemoteExportsRefresh".into(), "0".into())],
            ..ConsumerStack::default()
        };
        Stacks { stack: Some(stack), calls: Mutex::new(Vec::new()) }
    }

    #[tokio::test]
    async fn a_change_set_is_proposed_once_per_check_and_a_busy_stack_is_tried_again() {
        let refresher = Refresher::new(stacks("UPDATE_COMPLETE", "change-set"));
        let name = "remote-exports-refresh-20261207T210000Z".to_owned();
        assert_eq!(refresher.refresh(&event()).await.unwrap(), RefreshOutcome::Proposed(name.clone()));
        assert_eq!(refresher.refresh(&event()).await.unwrap(), RefreshOutcome::AlreadyProposed(name));
        let busy = Refresher::new(stacks("UPDATE_IN_PROGRESS", "change-set"));
        let error = busy.refresh(&event()).await.unwrap_err();
        assert!(matches!(error, RefreshError::Busy(_)) && error.to_string().contains("tried again later"), "{error}");
        assert!(busy.stacks.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_update_that_cloudformation_refuses_is_an_error_naming_the_call() {
        let mut with_role = stacks("UPDATE_COMPLETE", "update");
        with_role.stack.as_mut().unwrap().role_arn = Some("arn:aws:iam::123456789012:role/cfn".into());
        let error = Refresher::new(with_role).refresh(&event()).await.unwrap_err();
        assert!(error.to_string().contains("UpdateStack"), "{error}");
    }
}
