//! A publisher's role, assumed on behalf of one consumer: the identity the publisher's trust policy
//! and CloudTrail see is chosen here, by the function, from the bound request. `SourceIdentity`
//! names the consumer account, the session tags name the account and its stack, and the session
//! name says the same; none of them comes from the consumer's properties.
//!
//! `aws-config`'s `AssumeRoleProvider` sets neither `SourceIdentity` nor a session duration, so the
//! one AssumeRole call is made here with the SDK's STS client, and its credentials are kept until
//! shortly before they expire.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_sdk_sts::operation::assume_role::builders::AssumeRoleFluentBuilder;
use aws_sdk_sts::types::Tag;
use remote_exports_core::Source;

/// STS's shortest session: a consumer that the publisher removes from its trust policy is refused
/// within 15 minutes, for values served from the shared snapshot too.
const SESSION: Duration = Duration::from_secs(900);

/// Credentials are renewed this long before they expire, so that no call starts with stale ones.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// One role, one consumer (or nobody, for the audit and the CLI), one ExternalId.
pub(crate) struct AssumedRole {
    role: String,
    request: AssumeRoleFluentBuilder,
    current: tokio::sync::Mutex<Option<Credentials>>,
}

impl fmt::Debug for AssumedRole {
    // The request holds the ExternalId: only the role is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumedRole").field("role", &self.role).finish_non_exhaustive()
    }
}

impl AssumedRole {
    pub(crate) fn new(sts: &aws_sdk_sts::Client, role: &str, source: &Source) -> AssumedRole {
        let mut request = sts
            .assume_role()
            .role_arn(role)
            .role_session_name(&source.session_name)
            .duration_seconds(SESSION.as_secs() as i32)
            .set_external_id(source.external_id.clone());
        if let Some(consumer) = &source.consumer {
            request = request.source_identity(consumer.source_identity());
            for (key, value) in consumer.tags() {
                request = request.tags(Tag::builder().key(key).value(value).build().expect("key and value are set"));
            }
        }
        AssumedRole { role: role.to_owned(), request, current: tokio::sync::Mutex::new(None) }
    }

    /// The role assumed as `account` itself (`SourceIdentity` = the account): the export guard
    /// reading the central registry, whose role trusts a caller only under its own account's name.
    pub(crate) fn as_account(sts: &aws_sdk_sts::Client, role: &str, session_name: &str, account: &str) -> AssumedRole {
        let request = sts
            .assume_role()
            .role_arn(role)
            .role_session_name(session_name)
            .duration_seconds(SESSION.as_secs() as i32)
            .source_identity(account);
        AssumedRole { role: role.to_owned(), request, current: tokio::sync::Mutex::new(None) }
    }

    /// Credentials STS issued for this identity: kept ones while they last, else one AssumeRole.
    /// An error carries STS's own (`SdkError<AssumeRoleError>`) as its source.
    pub(crate) async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut current = self.current.lock().await;
        let fresh = |c: &&Credentials| c.expiry().is_some_and(|at| at > SystemTime::now() + RENEW_BEFORE);
        if let Some(credentials) = current.as_ref().filter(fresh) {
            return Ok(credentials.clone());
        }
        let assumed = self.request.clone().send().await.map_err(CredentialsError::provider_error)?;
        let issued =
            assumed.credentials.ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
        let expiry = SystemTime::try_from(issued.expiration).map_err(CredentialsError::unhandled)?;
        let credentials = Credentials::new(
            issued.access_key_id,
            issued.secret_access_key,
            Some(issued.session_token),
            Some(expiry),
            "remote-exports-assume-role",
        );
        *current = Some(credentials.clone());
        Ok(credentials)
    }
}

/// An [`AssumedRole`] as the CloudFormation client's credentials.
#[derive(Debug, Clone)]
pub(crate) struct AssumedRoleCredentials(pub(crate) std::sync::Arc<AssumedRole>);

impl ProvideCredentials for AssumedRoleCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.0.credentials())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::operation::assume_role::{AssumeRoleError, AssumeRoleOutput};
    use aws_smithy_mocks::{mock, mock_client};
    use remote_exports_core::{Consumer, RoleArn};

    fn source(consumer: Option<Consumer>) -> Source {
        Source {
            role: Some(RoleArn::parse("arn:aws:iam::222222222222:role/reader").unwrap()),
            external_id: Some("shared".into()),
            region: "eu-west-1".into(),
            session_name: "111111111111-airmiles".into(),
            consumer,
            not_before_ms: None,
        }
    }

    fn issued(expires_in: Duration) -> AssumeRoleOutput {
        let expiration = aws_sdk_sts::primitives::DateTime::from(SystemTime::now() + expires_in);
        let credentials = aws_sdk_sts::types::Credentials::builder()
            .access_key_id("ASIAEXAMPLE")
            .secret_access_key("secret")
            .session_token("token")
            .expiration(expiration)
            .build()
            .unwrap();
        AssumeRoleOutput::builder().credentials(credentials).build()
    }

    #[tokio::test]
    async fn the_consumer_is_the_source_identity_and_the_session_tags() {
        let consumer = Consumer { account: "111111111111".into(), stack_name: "airmiles".into() };
        let rule = mock!(aws_sdk_sts::Client::assume_role)
            .match_requests(|request| {
                let tags: Vec<_> = request.tags().iter().map(|t| (t.key(), t.value())).collect();
                request.source_identity() == Some("111111111111")
                    && request.role_session_name() == Some("111111111111-airmiles")
                    && request.external_id() == Some("shared")
                    && request.duration_seconds() == Some(900)
                    && tags == [("ConsumerAccount", "111111111111"), ("ConsumerStack", "airmiles")]
            })
            .sequence()
            .output(|| issued(Duration::from_secs(900)))
            .repeatedly()
            .build();
        let sts = mock_client!(aws_sdk_sts, [&rule]);
        let role = AssumedRole::new(&sts, "arn:aws:iam::222222222222:role/reader", &source(Some(consumer)));
        role.credentials().await.unwrap();
        role.credentials().await.unwrap();
        assert_eq!(rule.num_calls(), 1, "kept credentials were not reused");
        assert!(!format!("{role:?}").contains("shared"), "Debug showed the ExternalId");
    }

    #[tokio::test]
    async fn reads_on_nobodys_behalf_carry_no_identity_and_credentials_near_expiry_are_renewed() {
        let rule = mock!(aws_sdk_sts::Client::assume_role)
            .match_requests(|request| request.source_identity().is_none() && request.tags().is_empty())
            .sequence()
            .output(|| issued(Duration::from_secs(30)))
            .repeatedly()
            .build();
        let sts = mock_client!(aws_sdk_sts, [&rule]);
        let role = AssumedRole::new(&sts, "arn:aws:iam::222222222222:role/reader", &source(None));
        role.credentials().await.unwrap();
        role.credentials().await.unwrap();
        assert_eq!(rule.num_calls(), 2, "credentials within a minute of expiry were reused");
    }

    #[tokio::test]
    async fn a_refusal_keeps_stss_error_in_its_source_chain() {
        let rule = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
            AssumeRoleError::generic(
                aws_sdk_sts::error::ErrorMetadata::builder().code("AccessDenied").message("not authorized").build(),
            )
        });
        let sts = mock_client!(aws_sdk_sts, [&rule]);
        let role = AssumedRole::new(&sts, "arn:aws:iam::222222222222:role/reader", &source(None));
        let error = role.credentials().await.unwrap_err();
        let failure = crate::publisher_accounts::assume_role_failure(&error).expect("the STS error in the chain");
        assert_eq!(failure.code.as_deref(), Some("AccessDenied"));
    }
}
