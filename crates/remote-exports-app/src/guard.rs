//! The export guard's use case: before a stack operation in a publisher account, what it removes
//! and who in other accounts still reads it. The hook handler and `remote-exports check` both run
//! it, each with its own adapters and its own way of saying the verdict.

use remote_exports_core::template::Parameters;
use remote_exports_core::{
    Operation, PublisherStacks, ReadersBySource, RegistryError, StackReadError, TemplateProblem, Verdict, changes,
    verdict,
};
use remote_exports_shared::Partition;

/// Where the guard stands: the publisher account and region whose stacks it checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardScope {
    pub account: String,
    pub region: String,
}

/// Why the guard could not decide: each says what failed, for the hook's `InternalFailure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the stack could not be read: {0}")]
    Stack(#[from] StackReadError),
    #[error("the change set {0} has no template")]
    NoChangeSetTemplate(String),
    #[error("{0}")]
    Template(#[from] TemplateProblem),
    #[error("the read registry could not be queried: {0}")]
    Registry(#[from] RegistryError),
    #[error("the region {0} is in no known partition; upgrade the guard")]
    UnknownRegion(String),
}

/// What is about to happen to a stack, as much as the caller knows of it: the guard reads the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposed {
    /// The stack is deleted: the stack as it stands says what goes.
    Delete,
    /// `template` is deployed over the stack.
    Template { template: String, previous: PreviousTemplate },
    /// A change set of the stack is executed; its template when the caller already has it (a hook's
    /// payload), else the guard reads it.
    ChangeSet { name: String, template: Option<String> },
}

/// The template a deploy replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousTemplate {
    /// The caller has it (a hook's payload; `None` for a stack being created).
    Given(Option<String>),
    /// The guard reads the stack's deployed template.
    Deployed,
}

/// Checks operations on one account's stacks against that account's readers.
pub struct ExportGuard<S, R> {
    stacks: S,
    registry: R,
    scope: GuardScope,
}

impl<S: PublisherStacks, R: ReadersBySource> ExportGuard<S, R> {
    pub fn new(stacks: S, registry: R, scope: GuardScope) -> Self {
        ExportGuard { stacks, registry, scope }
    }

    pub fn scope(&self) -> &GuardScope {
        &self.scope
    }

    /// The verdict on what is `proposed` for the stack named `stack_name`: the operation worked out
    /// (templates the caller lacks are read), then [`Self::decide`].
    pub async fn check(&self, stack_name: &str, proposed: Proposed) -> Result<Verdict, GuardError> {
        let operation = match proposed {
            Proposed::Delete => Operation::Delete,
            Proposed::Template { template, previous: PreviousTemplate::Given(previous_template) } => {
                Operation::Deploy { template, previous_template, parameters: None }
            }
            Proposed::Template { template, previous: PreviousTemplate::Deployed } => {
                let previous_template = self.stacks.template(stack_name, None).await?;
                Operation::Deploy { template, previous_template, parameters: None }
            }
            Proposed::ChangeSet { name, template } => {
                let template = match template {
                    Some(template) => template,
                    None => self
                        .stacks
                        .template(stack_name, Some(&name))
                        .await?
                        .ok_or_else(|| GuardError::NoChangeSetTemplate(name.clone()))?,
                };
                self.change_set(stack_name, &name, template).await?
            }
        };
        self.decide(stack_name, &operation).await
    }

    /// A change set's operation: its template, the stack's deployed template as the previous one (the
    /// Hooks payload of a change set holds none), and the change set's parameter values. Without
    /// those values (DescribeChangeSet failed) the stack's current ones stand in, and a WARN says so.
    async fn change_set(&self, stack_name: &str, change_set: &str, template: String) -> Result<Operation, GuardError> {
        let previous_template = self.stacks.template(stack_name, None).await?;
        let parameters = match self.stacks.change_set_parameters(change_set).await {
            Ok(parameters) => Some(parameters),
            Err(error) => {
                tracing::warn!(%error, "the change set's parameter values are unknown; the stack's current ones stand in");
                None
            }
        };
        Ok(Operation::Deploy { template, previous_template, parameters })
    }

    /// The verdict on `operation` for the stack named `stack_name` in this scope. The registry is
    /// asked only when the operation changes an output.
    pub async fn decide(&self, stack_name: &str, operation: &Operation) -> Result<Verdict, GuardError> {
        let partition = Partition::of_region(&self.scope.region)
            .ok_or_else(|| GuardError::UnknownRegion(self.scope.region.clone()))?;
        let current = self.stacks.current(stack_name).await?;
        let pseudo = Parameters::from([
            ("AWS::StackName".to_owned(), stack_name.to_owned()),
            ("AWS::Region".to_owned(), self.scope.region.clone()),
            ("AWS::AccountId".to_owned(), self.scope.account.clone()),
            ("AWS::Partition".to_owned(), partition.id.to_owned()),
            ("AWS::URLSuffix".to_owned(), partition.dns_suffix.to_owned()),
        ]);
        let changes = changes(current.as_ref(), operation, &pseudo)?;
        if changes.removals.is_empty() && changes.value_changes.is_empty() {
            return Ok(verdict(stack_name, changes, &[]));
        }
        let records = self.registry.readers_of(&self.scope.account, &self.scope.region).await?;
        Ok(verdict(stack_name, changes, &records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use remote_exports_core::{CallError, CurrentOutput, CurrentStack, PublisherRef, ReadExport, ReadRecord};

    /// One stack, deployed with [`TEMPLATE`]; its change sets have no template unless `change_set`.
    struct OneStack(Option<CurrentStack>);

    impl PublisherStacks for OneStack {
        async fn current(&self, _stack: &str) -> Result<Option<CurrentStack>, StackReadError> {
            Ok(self.0.clone())
        }
        async fn template(&self, _stack: &str, change_set: Option<&str>) -> Result<Option<String>, StackReadError> {
            Ok(change_set.is_none().then(|| TEMPLATE.to_owned()))
        }
        async fn change_set_parameters(&self, change_set: &str) -> Result<Parameters, StackReadError> {
            let call = CallError {
                operation: "DescribeChangeSet",
                code: Some("ChangeSetNotFound".into()),
                status: Some(404),
                message: format!("ChangeSet [{change_set}] does not exist"),
            };
            Err(StackReadError { subject: change_set.to_owned(), call })
        }
    }

    const TEMPLATE: &str = "Outputs:\n  TopicArn:\n    Value: !Ref Topic\n    Export: {Name: !Ref TopicName}\n";

    /// Records of several publishers; remembers which (account, region) it was asked for.
    #[derive(Default)]
    struct Registry {
        records: Vec<ReadRecord>,
        asked: Mutex<Vec<(String, String)>>,
    }

    impl ReadersBySource for Registry {
        async fn readers_of(&self, account: &str, region: &str) -> Result<Vec<ReadRecord>, RegistryError> {
            self.asked.lock().unwrap().push((account.to_owned(), region.to_owned()));
            Ok(self
                .records
                .iter()
                .filter(|r| r.source.account == account && r.source.region == region)
                .cloned()
                .collect())
        }
    }

    fn record(publisher: &str, export: &str) -> ReadRecord {
        ReadRecord {
            stack_id: "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/1".into(),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: "airmiles".into(),
            source: PublisherRef { account: publisher.into(), region: "eu-west-1".into(), role_arn: None },
            exports: vec![ReadExport {
                key: "Topic".into(),
                export: export.into(),
                fingerprint: "f".into(),
                defaulted: false,
                parameter: None,
            }],
            read_at: "2026-12-01T10:00:00Z".into(),
            request_type: "Create".into(),
            no_echo: false,
            fingerprint_scheme: "s".into(),
            physical_resource_id: None,
            alerted: Default::default(),
        }
    }

    fn booking() -> OneStack {
        OneStack(Some(CurrentStack {
            outputs: vec![CurrentOutput { key: "TopicArn".into(), export_name: Some("booking-TopicArn".into()) }],
            parameters: Parameters::new(),
        }))
    }

    fn scope(account: &str) -> GuardScope {
        GuardScope { account: account.into(), region: "eu-west-1".into() }
    }

    #[tokio::test]
    async fn a_guard_learns_only_its_own_accounts_readers() {
        // The same export name is read from two publishers: only this account's reader counts.
        let registry = Registry {
            records: vec![record("222222222222", "booking-TopicArn"), record("333333333333", "booking-TopicArn")],
            ..Registry::default()
        };
        let guard = ExportGuard::new(booking(), registry, scope("333333333333"));
        let verdict = guard.decide("booking", &Operation::Delete).await.unwrap();
        assert_eq!(verdict.records_checked, 1);
        assert_eq!(*guard.registry.asked.lock().unwrap(), [("333333333333".to_owned(), "eu-west-1".to_owned())]);
    }

    #[tokio::test]
    async fn a_change_set_is_judged_against_the_deployed_template() {
        let guard = ExportGuard::new(booking(), Registry::default(), scope("222222222222"));
        // The name comes from a parameter the guard cannot see: the same expression as the deployed
        // template's is the same name.
        let proposed = Proposed::ChangeSet { name: "arn:change-set".into(), template: Some(TEMPLATE.to_owned()) };
        let verdict = guard.check("booking", proposed).await.unwrap();
        assert!(verdict.unread.is_empty() && !verdict.is_blocked(), "{verdict:?}");
        // A change set whose template cannot be had says so.
        let unread = Proposed::ChangeSet { name: "gone".into(), template: None };
        let error = guard.check("booking", unread).await.unwrap_err();
        assert_eq!(error.to_string(), "the change set gone has no template");
    }

    #[tokio::test]
    async fn no_change_to_an_output_asks_no_registry() {
        let guard = ExportGuard::new(booking(), Registry::default(), scope("222222222222"));
        let template = "Outputs:\n  TopicArn:\n    Value: x\n    Export: {Name: !Sub '${AWS::StackName}-TopicArn'}\n";
        let proposed = Proposed::Template { template: template.into(), previous: PreviousTemplate::Given(None) };
        let verdict = guard.check("booking", proposed).await.unwrap();
        assert!(!verdict.is_blocked());
        assert!(guard.registry.asked.lock().unwrap().is_empty());
    }
}
