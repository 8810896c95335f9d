use std::sync::Arc;
use std::time::Duration;

use cloudformation_custom_resource::UrlPolicy;
use remote_exports_core::{ConfigError, ConsumerPolicy, Governance, PolicyError, PolicyOrigin};

/// Where the consumer policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySetting {
    /// No policy: every consumer account the function's resource policy lets in may read what the
    /// allow-lists allow.
    None,
    /// `CONSUMER_POLICY`, parsed once at start-up.
    Inline(Arc<ConsumerPolicy>),
    /// `CONSUMER_POLICY_PARAMETER`, read from SSM and re-read after `ttl`.
    Parameter { name: String, ttl: Duration },
}

/// What governs every read: the allow-lists and the consumer policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governed {
    pub governance: Governance,
    pub consumer_policy: PolicySetting,
}

/// The function's configuration, read once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What governs reads, or the one reason the read use cases cannot run: then Create and Update
    /// fail with a Reason that names it, and Delete (which never reads) still succeeds.
    pub governed: Result<Governed, ConfigError>,
    pub url_policy: UrlPolicy,
    /// `AWS_REGION`: the last resort when neither the properties nor the StackId name a region.
    pub function_region: Option<String>,
    /// `FUNCTION_ACCOUNT_ID`: the account recorded as the source of reads made without a role.
    pub function_account: Option<String>,
    /// `READS_TABLE`: the DynamoDB table of the read registry; unset means no registry and no calls.
    pub reads_table: Option<String>,
    /// `SNAPSHOT_TABLE` and `SNAPSHOT_TTL_SECONDS`: the shared export snapshot.
    pub snapshot: Option<SnapshotSettings>,
    /// `AUDIT_EVENT_BUS`: the bus the audit puts its events on (name or ARN); `default` when unset.
    pub audit_event_bus: String,
    /// Said at WARN on every cold start: settings that weaken the function or were not understood.
    pub warnings: Vec<String>,
}

const DEFAULT_POLICY_TTL: Duration = Duration::from_secs(300);

/// Where the shared export snapshot lives and how old a value read from it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSettings {
    pub table: String,
    pub ttl: Duration,
}

const DEFAULT_SNAPSHOT_TTL: Duration = Duration::from_secs(30);

impl Settings {
    pub fn from_env() -> Settings {
        Settings::from_vars(|name| std::env::var(name).ok())
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Settings {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut warnings = Vec::new();
        let binding = match set("RESPONSE_URL_BINDING").as_deref() {
            None => UrlPolicy::strict(),
            Some(v) if v.eq_ignore_ascii_case("request") => UrlPolicy::strict(),
            Some(v) if v.eq_ignore_ascii_case("host-only") => {
                warnings.push(
                    "RESPONSE_URL_BINDING=host-only: ResponseURLs are not bound to their request, so anyone who may \
                     invoke this function can have answers sent to an S3 bucket of their choosing (still only in \
                     this function's region and partition). Use it only while AWS's URL format is not recognised, \
                     never with the function open to other accounts, and remove it as soon as you can."
                        .to_owned(),
                );
                UrlPolicy::host_only()
            }
            Some(other) => {
                warnings.push(format!(
                    "RESPONSE_URL_BINDING='{other}' is not 'request' or 'host-only'; using the strict 'request' binding"
                ));
                UrlPolicy::strict()
            }
        };
        // AWS_REGION and ALLOW_LOOPBACK_RESPONSE_URL, read as the protocol crate's lambda::run reads them.
        let (url_policy, url_warnings) = binding.with_lambda_vars(&var);
        warnings.extend(url_warnings);
        let ttl = set("CONSUMER_POLICY_TTL_SECONDS")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(DEFAULT_POLICY_TTL, Duration::from_secs);
        let consumer_policy = match (set("CONSUMER_POLICY"), set("CONSUMER_POLICY_PARAMETER")) {
            (None, None) => Ok(PolicySetting::None),
            (Some(json), None) => ConsumerPolicy::parse(&json, PolicyOrigin::Inline)
                .map(|policy| PolicySetting::Inline(Arc::new(policy)))
                .map_err(ConfigError::ConsumerPolicy),
            (None, Some(name)) => Ok(PolicySetting::Parameter { name, ttl }),
            (Some(_), Some(_)) => Err(ConfigError::ConsumerPolicy(PolicyError::BothSet)),
        };
        // Both are read whatever the other holds; the policy's problem is said first, as a read did.
        let governed = match (Governance::from_vars(&var), consumer_policy) {
            (_, Err(problem)) | (Err(problem), _) => Err(problem),
            (Ok(governance), Ok(consumer_policy)) => Ok(Governed { governance, consumer_policy }),
        };
        Settings {
            governed,
            function_region: url_policy.home_region().map(str::to_owned),
            url_policy,
            function_account: set("FUNCTION_ACCOUNT_ID"),
            reads_table: set("READS_TABLE"),
            snapshot: renamed(&set, "SNAPSHOT_TABLE", "EXPORTS_CACHE_TABLE", &mut warnings).map(|table| {
                SnapshotSettings {
                    table,
                    ttl: renamed(&set, "SNAPSHOT_TTL_SECONDS", "EXPORTS_CACHE_TTL_SECONDS", &mut warnings)
                        .and_then(|v| v.parse::<u64>().ok())
                        .map_or(DEFAULT_SNAPSHOT_TTL, Duration::from_secs),
                }
            }),
            audit_event_bus: set("AUDIT_EVENT_BUS").unwrap_or_else(|| "default".to_owned()),
            warnings,
        }
    }
}

/// A setting under its name, or under the name it had before (read, with a warning, until the next
/// minor version; the changelog says so).
fn renamed(set: &impl Fn(&str) -> Option<String>, name: &str, old: &str, warnings: &mut Vec<String>) -> Option<String> {
    match (set(name), set(old)) {
        (Some(value), Some(_)) => {
            warnings.push(format!("{old} is ignored: {name} is set (remove {old}, its old name)"));
            Some(value)
        }
        (None, Some(value)) => {
            warnings.push(format!("{old} is deprecated: rename it {name} (read under its old name until 0.3)"));
            Some(value)
        }
        (value, None) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &'static [(&'static str, &'static str)]) -> Settings {
        Settings::from_vars(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn strict_binding_in_the_functions_region_and_no_loopback_by_default() {
        let settings = with(&[("AWS_REGION", "eu-west-1")]);
        assert_eq!(settings.url_policy, UrlPolicy::strict().in_region("eu-west-1"));
        assert!(settings.warnings.is_empty());
        assert_eq!(settings.governed.unwrap().consumer_policy, PolicySetting::None);
    }

    #[test]
    fn the_snapshot_settings_old_names_are_read_with_a_warning_and_lose_to_the_new() {
        let old =
            with(&[("AWS_REGION", "eu-west-1"), ("EXPORTS_CACHE_TABLE", "t"), ("EXPORTS_CACHE_TTL_SECONDS", "5")]);
        assert_eq!(old.snapshot, Some(SnapshotSettings { table: "t".into(), ttl: Duration::from_secs(5) }));
        assert!(
            old.warnings.iter().any(|w| w.starts_with("EXPORTS_CACHE_TABLE is deprecated: rename it SNAPSHOT_TABLE"))
        );
        let both = with(&[("AWS_REGION", "eu-west-1"), ("SNAPSHOT_TABLE", "new"), ("EXPORTS_CACHE_TABLE", "old")]);
        assert_eq!(both.snapshot.map(|s| s.table).as_deref(), Some("new"));
        assert!(both.warnings.iter().any(|w| w.starts_with("EXPORTS_CACHE_TABLE is ignored")), "{:?}", both.warnings);
        let new = with(&[("AWS_REGION", "eu-west-1"), ("SNAPSHOT_TABLE", "t")]);
        assert_eq!((new.snapshot.map(|s| s.ttl), new.warnings.len()), (Some(DEFAULT_SNAPSHOT_TTL), 0));
    }

    #[test]
    fn without_a_region_nothing_can_be_bound_and_it_is_said() {
        let settings = with(&[]);
        assert_eq!(settings.url_policy.home_region(), None);
        assert!(settings.warnings[0].contains("AWS_REGION is not set"), "{:?}", settings.warnings);
    }

    #[test]
    fn loopback_and_host_only_need_an_explicit_opt_in_and_warn() {
        let strict = || UrlPolicy::strict().in_region("us-east-1");
        assert_eq!(
            with(&[("AWS_REGION", "us-east-1"), ("ALLOW_LOOPBACK_RESPONSE_URL", "TRUE")]).url_policy,
            strict().with_loopback(true)
        );
        assert_eq!(with(&[("AWS_REGION", "us-east-1"), ("ALLOW_LOOPBACK_RESPONSE_URL", "yes")]).url_policy, strict());
        let host_only = with(&[("AWS_REGION", "us-east-1"), ("RESPONSE_URL_BINDING", "host-only")]);
        assert_eq!(host_only.url_policy, UrlPolicy::host_only().in_region("us-east-1"));
        assert!(host_only.warnings[0].contains("not bound"), "{:?}", host_only.warnings);
        let typo = with(&[("AWS_REGION", "us-east-1"), ("RESPONSE_URL_BINDING", "hostonly")]);
        assert_eq!(typo.url_policy, strict());
        assert_eq!(typo.warnings.len(), 1);
    }

    #[test]
    fn a_bad_setting_is_the_one_reason_the_read_use_cases_cannot_run() {
        let reason = |vars: &'static [(&'static str, &'static str)]| with(vars).governed.unwrap_err();
        assert!(matches!(reason(&[("DEFAULT_ROLE_ARN", "nope")]), ConfigError::DefaultRoleArn(_)));
        assert!(matches!(reason(&[("CONSUMER_POLICY", "{")]), ConfigError::ConsumerPolicy(PolicyError::Json { .. })));
        let both = reason(&[("CONSUMER_POLICY", "{}"), ("CONSUMER_POLICY_PARAMETER", "/p")]);
        assert_eq!(both, ConfigError::ConsumerPolicy(PolicyError::BothSet));
        // Both wrong: the policy's problem is the one said, as when the policy was read first.
        let two = reason(&[("DEFAULT_ROLE_ARN", "nope"), ("CONSUMER_POLICY", "{")]);
        assert!(matches!(two, ConfigError::ConsumerPolicy(_)), "{two}");
    }

    #[test]
    fn the_parameter_is_reread_after_its_ttl() {
        let settings = with(&[("CONSUMER_POLICY_PARAMETER", "/p"), ("CONSUMER_POLICY_TTL_SECONDS", "5")]);
        assert_eq!(
            settings.governed.unwrap().consumer_policy,
            PolicySetting::Parameter { name: "/p".into(), ttl: Duration::from_secs(5) }
        );
        let default = with(&[("CONSUMER_POLICY_PARAMETER", "/p")]);
        assert_eq!(
            default.governed.unwrap().consumer_policy,
            PolicySetting::Parameter { name: "/p".into(), ttl: DEFAULT_POLICY_TTL }
        );
    }
}
