use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, HttpClientError};
use remote_exports_shared::Partition;

/// The roots of Amazon Trust Services, which sign the certificates of every AWS endpoint the
/// function talks to (STS, CloudFormation, S3) outside China.
const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("amazon-trust-services-roots.pem");

/// A `TLS_ROOTS` setting that names neither choice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TLS_ROOTS must be 'amazon' or 'system', not '{0}'")]
pub struct UnknownTrustRoots(pub String);

/// Which certificate authorities the function trusts for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustRoots {
    /// Only Amazon Trust Services: stricter than the system store, and it costs almost nothing at
    /// start-up, where parsing the system bundle (twice: SDK and ResponseURL client) was most of the
    /// function's cold-start CPU.
    AmazonTrustServices,
    /// The operating system's bundle: for China regions, and for networks that inspect TLS with a
    /// CA of their own.
    System,
}

impl TrustRoots {
    /// `TLS_ROOTS=amazon|system`; by default Amazon Trust Services in the partitions whose endpoints
    /// use them (commercial and GovCloud), and the system bundle everywhere else, unknown included.
    pub fn choose(setting: Option<&str>, region: Option<&str>) -> Result<TrustRoots, UnknownTrustRoots> {
        match setting.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if s.eq_ignore_ascii_case("amazon") => Ok(TrustRoots::AmazonTrustServices),
            Some(s) if s.eq_ignore_ascii_case("system") => Ok(TrustRoots::System),
            Some(other) => Err(UnknownTrustRoots(other.to_owned())),
            None => match region.map(Partition::of_region) {
                // No region at all: the SDK will fail on its own; the default changes nothing.
                None => Ok(TrustRoots::AmazonTrustServices),
                Some(Some(partition)) if partition.amazon_trust_services => Ok(TrustRoots::AmazonTrustServices),
                Some(_) => Ok(TrustRoots::System),
            },
        }
    }

    /// What an operator can do about a certificate these roots do not trust.
    pub(crate) fn advice(self) -> &'static str {
        match self {
            TrustRoots::AmazonTrustServices => {
                "the function trusts only Amazon Trust Services (TLS_ROOTS=amazon); if a proxy inspects TLS \
                 with its own CA, set TLS_ROOTS=system and add that CA to the system bundle"
            }
            TrustRoots::System => "the function trusts the system bundle (TLS_ROOTS=system), which lacks this issuer",
        }
    }

    pub fn reqwest_builder(self) -> Result<reqwest::ClientBuilder, reqwest::Error> {
        let builder = reqwest::Client::builder();
        Ok(match self {
            TrustRoots::AmazonTrustServices => {
                builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())?)
            }
            TrustRoots::System => builder,
        })
    }

    fn sdk_trust_store(self) -> TrustStore {
        match self {
            TrustRoots::AmazonTrustServices => TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes()),
            TrustRoots::System => TrustStore::default(),
        }
    }
}

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`,
/// `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`), once, with an HTTP client that trusts `roots`.
pub async fn load_sdk_config(roots: TrustRoots) -> Result<SdkConfig, HttpClientError> {
    Ok(sdk_config_loader(roots)?.load().await)
}

/// The loader behind [`load_sdk_config`], for a caller (a test) that overrides part of it.
pub fn sdk_config_loader(roots: TrustRoots) -> Result<ConfigLoader, HttpClientError> {
    let tls_context = TlsContext::builder().with_trust_store(roots.sdk_trust_store()).build()?;
    let http_client =
        Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc)).tls_context(tls_context).build_https();
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        // PublisherAccounts sets its own retries (until the deadline); this covers every other call.
        .retry_config(RetryConfig::standard().with_max_attempts(5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_roots_by_default_and_system_roots_outside_commercial_and_govcloud() {
        assert_eq!(TrustRoots::choose(None, Some("eu-west-1")), Ok(TrustRoots::AmazonTrustServices));
        assert_eq!(TrustRoots::choose(None, Some("us-gov-west-1")), Ok(TrustRoots::AmazonTrustServices));
        for region in ["cn-north-1", "eusc-de-east-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "xx-new-1"]
        {
            assert_eq!(TrustRoots::choose(None, Some(region)), Ok(TrustRoots::System), "{region}");
        }
        assert_eq!(TrustRoots::choose(Some("system"), Some("eu-west-1")), Ok(TrustRoots::System));
        assert_eq!(TrustRoots::choose(Some(" Amazon "), Some("cn-north-1")), Ok(TrustRoots::AmazonTrustServices));
        assert!(TrustRoots::choose(Some("both"), None).is_err());
    }

    #[test]
    fn untrusted_certificates_are_told_which_setting_to_change() {
        assert!(TrustRoots::AmazonTrustServices.advice().contains("TLS_ROOTS=system"));
    }

    #[test]
    fn the_embedded_bundle_holds_the_five_amazon_trust_services_roots() {
        let certificates = reqwest::Certificate::from_pem_bundle(AMAZON_TRUST_SERVICES_ROOTS.as_bytes()).unwrap();
        assert_eq!(certificates.len(), 5);
        assert!(
            TlsContext::builder().with_trust_store(TrustRoots::AmazonTrustServices.sdk_trust_store()).build().is_ok()
        );
    }
}
