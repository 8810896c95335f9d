use std::collections::HashMap;
use std::error::Error as StdError;
use std::ops::ControlFlow;
use std::sync::Mutex;

use aws_config::{Region, SdkConfig, sts::AssumeRoleProvider};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use remote_exports_core::{Export, ExportSource, FailureKind, Source, SourceError, SourceStep};

use crate::error_chain;

/// Credentials are cached per client, so clients are cached per role, external ID and region: warm
/// invocations against the same source make no AssumeRole call until the credentials near expiry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    role: Option<String>,
    external_id: Option<String>,
    region: String,
}

pub struct CloudFormationExports {
    base: SdkConfig,
    clients: Mutex<HashMap<ClientKey, Client>>,
}

impl CloudFormationExports {
    pub fn new(base: SdkConfig) -> Self {
        CloudFormationExports { base, clients: Mutex::new(HashMap::new()) }
    }

    async fn client_for(&self, source: &Source) -> Client {
        let key = ClientKey {
            role: source.role.as_ref().map(|r| r.as_str().to_owned()),
            external_id: source.external_id.clone(),
            region: source.region.clone(),
        };
        if let Some(client) = self.clients.lock().expect("client cache lock").get(&key) {
            return client.clone();
        }
        let mut config =
            aws_sdk_cloudformation::config::Builder::from(&self.base).region(Region::new(source.region.clone()));
        if let Some(role) = &source.role {
            let provider =
                AssumeRoleProvider::builder(role.as_str()).session_name(&source.session_name).configure(&self.base);
            let provider = match &source.external_id {
                Some(id) => provider.external_id(id),
                None => provider,
            };
            config = config.credentials_provider(provider.build().await);
        }
        let client = Client::from_conf(config.build());
        self.clients.lock().expect("client cache lock").insert(key, client.clone());
        client
    }
}

impl ExportSource for CloudFormationExports {
    async fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> Result<u32, SourceError> {
        scan_pages(&self.client_for(source).await, on_page).await
    }
}

/// Reads ListExports pages with the SDK paginator until they run out or `on_page` says stop, so that
/// no page after the last one needed is requested.
async fn scan_pages(
    client: &Client,
    on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
) -> Result<u32, SourceError> {
    let mut pages = client.list_exports().into_paginator().send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(classify)?;
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

/// Sorts an SDK failure into the AWS step that failed, with its error code when it has one.
fn classify<E>(error: SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>) -> SourceError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    if let SdkError::ServiceError(context) = &error {
        let service_error = context.err();
        let code = service_error.code().map(str::to_owned);
        return SourceError {
            step: SourceStep::ListExports,
            kind: failure_kind(code.as_deref(), context.raw().status().as_u16()),
            code,
            message: service_error.message().unwrap_or("no message").to_owned(),
        };
    }
    // Credential failures surface as a dispatch/construction failure with the STS error in the chain.
    let mut credentials_failed = false;
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(sts) = current.downcast_ref::<aws_sdk_sts::error::SdkError<AssumeRoleError>>() {
            let (code, message, status) = match sts {
                aws_sdk_sts::error::SdkError::ServiceError(context) => (
                    context.err().code().map(str::to_owned),
                    context.err().message().unwrap_or("no message").to_owned(),
                    context.raw().status().as_u16(),
                ),
                other => (None, error_chain(other), 0),
            };
            let kind = failure_kind(code.as_deref(), status);
            return SourceError { step: SourceStep::AssumeRole, kind, code, message };
        }
        credentials_failed |= current.downcast_ref::<CredentialsError>().is_some();
        cause = current.source();
    }
    let step = if credentials_failed { SourceStep::AssumeRole } else { SourceStep::ListExports };
    SourceError { step, kind: FailureKind::Other, code: None, message: error_chain(&error) }
}

/// Sorts an AWS error code (and HTTP status) into what the stack author has to do about it. The
/// codes are the ones STS and CloudFormation document for throttling and for missing permissions.
fn failure_kind(code: Option<&str>, status: u16) -> FailureKind {
    match code.unwrap_or("") {
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "RequestThrottledException" => FailureKind::Throttled,
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
            SourceError {
                step: SourceStep::ListExports,
                kind: FailureKind::Denied,
                code: Some("AccessDenied".into()),
                message: "nope".into()
            }
        );
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
