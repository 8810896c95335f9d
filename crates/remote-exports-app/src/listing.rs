//! `remote-exports list`'s use case: what a resource of this function could read from a source
//! (its exports, one stack's outputs, or the SSM parameters under a path), planned and governed as
//! the function plans a read, with SecureString values never shown.

use std::ops::ControlFlow;

use remote_exports_core::{
    ConsumerPolicyStore, LookupError, LookupPlan, Origin, OutputRequest, ParameterRef, PublisherReads, ReadError,
    ReadRegistry, ResourceProperties, RoleArn, Source, batches,
};

use crate::RemoteExports;

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// The source's exports, only those whose name starts with `prefix` when given.
    Exports { prefix: Option<String> },
    /// Every output of this stack, named `<StackName>.<OutputKey>` as StackOutputs reads them.
    StackOutputs(String),
    /// Every SSM parameter under this path, at any depth.
    Parameters(String),
}

/// A listing as a resource would ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub role: Option<RoleArn>,
    pub external_id: Option<String>,
    pub region: String,
    pub listing: Listing,
    /// Apply the consumer policy as for a stack in this account.
    pub consumer_account: Option<String>,
}

/// What a resource could read: `(name, value)` rows sorted by name, and how many the allow-lists hid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub rows: Vec<(String, String)>,
    pub hidden: usize,
    /// "export", "output" or "parameter".
    pub noun: &'static str,
    pub source: Source,
}

/// Shown instead of a SecureString's value.
pub const SECURE_STRING_SHOWN: &str = "(a SecureString: answered only to a resource with NoEcho true)";

/// Why nothing was listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The function would answer such a resource FAILED with this Reason.
    #[error("{0}")]
    Refused(#[from] LookupError),
    /// The stack whose outputs were asked for does not exist.
    #[error("stack {stack} does not exist in {}", publisher.describe())]
    NoSuchStack { stack: String, publisher: Source },
    /// The source could not be read.
    #[error("could not read {what} from {}: {error}", publisher.describe())]
    Unreadable { what: String, publisher: Source, error: ReadError },
}

impl<S: PublisherReads, P: ConsumerPolicyStore, R: ReadRegistry + 'static> RemoteExports<S, P, R> {
    /// Lists what `request` names, after the plan a resource with those properties would get:
    /// `DEFAULT_ROLE_ARN`, the allow-lists and (with a consumer account) its consumer policy apply.
    pub async fn list(&self, request: ListRequest) -> Result<Listed, ListError> {
        let ListRequest { role, external_id, region, listing, consumer_account } = request;
        let governance = self.settings().governed.clone().map_err(LookupError::from)?.governance;
        let policy = match &consumer_account {
            Some(_) => self.consumer_policy().await?,
            None => None,
        };
        let mut properties =
            ResourceProperties { role_arn: role, external_id, region: Some(region), ..Default::default() };
        if let Listing::StackOutputs(stack) = &listing {
            properties
                .selection
                .outputs
                .insert(stack.clone(), OutputRequest { every: true, ..OutputRequest::default() });
        }
        let origin =
            Origin { logical_resource_id: "cli", consumer_account: consumer_account.as_deref(), ..Default::default() };
        let plan = LookupPlan::new(properties, &governance, policy.as_deref(), origin)?;
        let mut listed = match listing {
            Listing::Exports { prefix } => self.list_exports(&plan, prefix.as_deref()).await?,
            Listing::StackOutputs(stack) => self.list_outputs(&plan, &stack).await?,
            Listing::Parameters(path) => self.list_parameters(&plan, &path).await?,
        };
        listed.rows.sort();
        Ok(listed)
    }

    async fn list_exports(&self, plan: &LookupPlan, prefix: Option<&str>) -> Result<Listed, ListError> {
        let source = &plan.source;
        let (mut rows, mut hidden) = (Vec::new(), 0);
        self.exports()
            .scan_exports(source, &mut |page| {
                for export in page {
                    if !plan.visible.allows(&export.name) {
                        hidden += 1;
                    } else if prefix.is_none_or(|p| export.name.starts_with(p)) {
                        rows.push((export.name, export.value));
                    }
                }
                ControlFlow::Continue(())
            })
            .await
            .map_err(|error| unreadable("exports", source, error))?;
        Ok(Listed { rows, hidden, noun: "export", source: source.clone() })
    }

    async fn list_outputs(&self, plan: &LookupPlan, stack: &str) -> Result<Listed, ListError> {
        let source = &plan.source;
        let outputs = self
            .exports()
            .stack_outputs(source, stack)
            .await
            .map_err(|error| unreadable(&format!("stack {stack}"), source, error))?
            .ok_or_else(|| ListError::NoSuchStack { stack: stack.to_owned(), publisher: source.clone() })?;
        let (mut rows, mut hidden) = (Vec::new(), 0);
        for (key, value) in outputs.outputs {
            let name = format!("{stack}.{key}");
            if plan.visible_outputs.allows(&name) {
                rows.push((name, value));
            } else {
                hidden += 1;
            }
        }
        Ok(Listed { rows, hidden, noun: "output", source: source.clone() })
    }

    async fn list_parameters(&self, plan: &LookupPlan, path: &str) -> Result<Listed, ListError> {
        let source = &plan.source;
        let what = format!("the parameters under {path}");
        let names = self
            .exports()
            .parameter_names_under(source, path, true)
            .await
            .map_err(|error| unreadable(&what, source, error))?;
        let (visible, refused): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|name| plan.visible_parameters.allows(name));
        let references: Vec<ParameterRef> = visible.iter().filter_map(|n| ParameterRef::parse(n).ok()).collect();
        let mut rows = Vec::new();
        for batch in batches(&references) {
            let found = self
                .exports()
                .get_parameters(source, &batch, false)
                .await
                .map_err(|error| unreadable(&what, source, error))?;
            for (reference, parameter) in found {
                let value = if parameter.is_secure() { SECURE_STRING_SHOWN.to_owned() } else { parameter.value };
                rows.push((reference.to_string(), value));
            }
        }
        Ok(Listed { rows, hidden: refused.len(), noun: "parameter", source: source.clone() })
    }
}

fn unreadable(what: &str, source: &Source, error: ReadError) -> ListError {
    ListError::Unreadable { what: what.to_owned(), publisher: source.clone(), error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remote_exports_core::Export;
    use remote_exports_core::testing::{MemoryConsumerPolicy, MemoryPublishers};

    use crate::Settings;

    const PUBLISHER: &str = "222222222222";

    fn resource(
        vars: &[(&str, &str)],
        exports: MemoryPublishers,
    ) -> RemoteExports<MemoryPublishers, MemoryConsumerPolicy> {
        let settings = Settings::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()));
        RemoteExports::new(settings, exports, MemoryConsumerPolicy::new())
    }

    fn request(listing: Listing) -> ListRequest {
        ListRequest {
            role: Some(RoleArn::parse(&format!("arn:aws:iam::{PUBLISHER}:role/reader")).unwrap()),
            external_id: None,
            region: "eu-west-1".into(),
            listing,
            consumer_account: None,
        }
    }

    #[tokio::test]
    async fn exports_are_listed_as_the_allow_list_lets_a_resource_see_them() {
        let published = [Export::new("booking-topic", "arn:topic", "s"), Export::new("billing-db", "db", "s")];
        let resource =
            resource(&[("ALLOWED_EXPORTS", "booking-*")], MemoryPublishers::new().with_exports(PUBLISHER, published));
        let listed = resource.list(request(Listing::Exports { prefix: None })).await.unwrap();
        assert_eq!(listed.rows, [("booking-topic".to_owned(), "arn:topic".to_owned())]);
        assert_eq!((listed.hidden, listed.noun), (1, "export"));
    }

    #[tokio::test]
    async fn secure_strings_are_listed_without_their_value() {
        let exports = MemoryPublishers::new()
            .with_parameter(PUBLISHER, "/booking/db-password", "SecureString", "hunter2")
            .with_parameter(PUBLISHER, "/booking/topic", "String", "arn:topic");
        let listed = resource(&[], exports).list(request(Listing::Parameters("/booking".into()))).await.unwrap();
        assert_eq!(
            listed.rows,
            [
                ("/booking/db-password".to_owned(), SECURE_STRING_SHOWN.to_owned()),
                ("/booking/topic".to_owned(), "arn:topic".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn a_missing_stack_and_a_refused_plan_are_not_listings() {
        let publisher = MemoryPublishers::new().with_exports(PUBLISHER, []);
        let error = resource(&[], publisher).list(request(Listing::StackOutputs("gone".into()))).await.unwrap_err();
        assert!(matches!(&error, ListError::NoSuchStack { stack, .. } if stack == "gone"), "{error}");
        let restricted =
            resource(&[("ALLOWED_ROLE_ARNS", "arn:aws:iam::333333333333:role/*")], MemoryPublishers::new());
        let error = restricted.list(request(Listing::Exports { prefix: None })).await.unwrap_err();
        assert!(matches!(error, ListError::Refused(_)), "{error}");
    }
}
