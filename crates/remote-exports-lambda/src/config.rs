//! The function's whole configuration, read once at start-up through one reader: which mode, the
//! use cases' settings, the TLS roots and the metrics. Each variable is read in one place, typed,
//! with its warning; [`VARIABLES`] lists them all, and a test holds the manual's table to it.

use remote_exports_app::Settings;
use remote_exports_aws::TrustRoots;

use crate::Mode;
use crate::metrics::MetricsSettings;

/// Every variable the function reads, besides the AWS SDK's own (`AWS_ENDPOINT_URL*`, credentials,
/// `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`, read by `aws-config`) and the logging
/// variables (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG`), which logging reads
/// first so that this reader's warnings can be logged.
pub const VARIABLES: &[&str] = &[
    "FUNCTION_MODE",
    "AWS_REGION",
    "DEFAULT_ROLE_ARN",
    "ALLOWED_ROLE_ARNS",
    "ALLOWED_EXPORTS",
    "ALLOWED_STACK_OUTPUTS",
    "ALLOWED_PARAMETERS",
    "CONSUMER_POLICY",
    "CONSUMER_POLICY_PARAMETER",
    "CONSUMER_POLICY_TTL_SECONDS",
    "RESPONSE_URL_BINDING",
    "ALLOW_LOOPBACK_RESPONSE_URL",
    "TLS_ROOTS",
    "READS_TABLE",
    "SNAPSHOT_TABLE",
    "SNAPSHOT_TTL_SECONDS",
    // Their old names, still read (deprecated in 0.2.0).
    "EXPORTS_CACHE_TABLE",
    "EXPORTS_CACHE_TTL_SECONDS",
    "FUNCTION_ACCOUNT_ID",
    "AUDIT_EVENT_BUS",
    "CHANGE_CHECK_WINDOW_SECONDS",
    "CENTRAL_ACCOUNT_ID",
    "GUARD_REGISTRY_ROLE_ARN",
    "METRICS_NAMESPACE",
    "METRICS_CONSUMER_ACCOUNT_DIMENSION",
];

/// What the function runs with.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub mode: Mode,
    pub settings: Settings,
    pub tls_roots: TrustRoots,
    pub metrics: MetricsSettings,
    /// `GUARD_REGISTRY_ROLE_ARN`: the central account's role the guard reads the registry through.
    pub guard_registry_role: Option<String>,
    /// `CHANGE_CHECK_WINDOW_SECONDS`: the least time between two checks of one stack or parameter.
    pub change_check_window: std::time::Duration,
    /// `CENTRAL_ACCOUNT_ID`: the account whose stale-read events the refresher takes.
    pub central_account: Option<String>,
    /// Said at ERROR on every cold start: settings that were replaced by a safe default.
    pub errors: Vec<String>,
}

impl FunctionConfig {
    pub fn from_env() -> FunctionConfig {
        FunctionConfig::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads only the names in [`VARIABLES`], through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> FunctionConfig {
        let var = |name: &str| {
            debug_assert!(VARIABLES.contains(&name), "{name} is not in VARIABLES");
            var(name)
        };
        let settings = Settings::from_vars(var);
        let mut errors = Vec::new();
        // A bad mode must not stop the function: Deletes still have to be answered, and an audit is
        // never run by mistake.
        let mode = Mode::from_setting(var("FUNCTION_MODE").as_deref()).unwrap_or_else(|error| {
            errors.push(format!("{error}; serving custom-resource requests only"));
            Mode::CustomResource
        });
        let tls_roots = TrustRoots::choose(var("TLS_ROOTS").as_deref(), settings.function_region.as_deref())
            .unwrap_or_else(|error| {
                errors.push(format!("{error}; falling back to the system's trusted roots"));
                TrustRoots::System
            });
        let metrics = MetricsSettings::from_vars(var);
        let guard_registry_role = var("GUARD_REGISTRY_ROLE_ARN").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let default_window = remote_exports_app::DEFAULT_CHECK_WINDOW;
        let change_check_window = match var("CHANGE_CHECK_WINDOW_SECONDS").map(|v| v.trim().to_owned()) {
            None => default_window,
            Some(v) if v.is_empty() => default_window,
            Some(v) => match v.parse::<u64>() {
                // Waited out inside one invocation: well within ChangeCheckFunction's 120 s timeout.
                Ok(seconds) if seconds <= 60 => std::time::Duration::from_secs(seconds),
                _ => {
                    errors.push(format!(
                        "CHANGE_CHECK_WINDOW_SECONDS must be a whole number of seconds from 0 to 60, not '{v}'; \
                         using {}",
                        default_window.as_secs()
                    ));
                    default_window
                }
            },
        };
        let central_account = var("CENTRAL_ACCOUNT_ID").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        FunctionConfig {
            mode,
            settings,
            tls_roots,
            metrics,
            guard_registry_role,
            change_check_window,
            central_account,
            errors,
        }
    }

    /// What the guard needs, or the setting that is missing (then every hook request is answered
    /// InternalFailure naming it, and the hook's FailureMode decides).
    pub fn guard_setup(&self) -> Result<GuardSetup, MissingSetting> {
        let missing = |name: &'static str, why: &'static str| MissingSetting { name, why };
        Ok(GuardSetup {
            account: self.settings.function_account.clone().ok_or_else(|| {
                missing("FUNCTION_ACCOUNT_ID", "the publisher account whose stacks and readers the guard checks")
            })?,
            region: self.settings.function_region.clone().ok_or_else(|| missing("AWS_REGION", "the guard's region"))?,
            reads_table: self
                .settings
                .reads_table
                .clone()
                .ok_or_else(|| missing("READS_TABLE", "the central read registry's table ARN"))?,
            registry_role: self.guard_registry_role.clone(),
        })
    }

    /// What the refresher needs: the central account, and this account and region.
    pub fn refresher_setup(&self) -> Result<(String, (String, String)), MissingSetting> {
        let missing = |name: &'static str, why: &'static str| MissingSetting { name, why };
        let central = self
            .central_account
            .clone()
            .ok_or_else(|| missing("CENTRAL_ACCOUNT_ID", "the account whose stale-read events are taken"))?;
        let account = self
            .settings
            .function_account
            .clone()
            .ok_or_else(|| missing("FUNCTION_ACCOUNT_ID", "the consumer account whose stacks are refreshed"))?;
        let region =
            self.settings.function_region.clone().ok_or_else(|| missing("AWS_REGION", "the refresher's region"))?;
        Ok((central, (account, region)))
    }

    /// Logs the version and mode, the settings' warnings and the errors, once per cold start.
    pub fn log(&self) {
        tracing::info!(version = crate::VERSION, mode = ?self.mode, "remote-exports starting");
        self.settings.warnings.iter().for_each(|warning| tracing::warn!(%warning, "function setting"));
        self.errors.iter().for_each(|error| tracing::error!(%error, "function setting"));
    }
}

/// A setting a mode cannot run without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} is not set ({why})")]
pub struct MissingSetting {
    pub name: &'static str,
    /// What the setting is for.
    pub why: &'static str,
}

/// The export guard's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardSetup {
    pub account: String,
    pub region: String,
    /// The registry table's ARN (in the central account).
    pub reads_table: String,
    /// `None`: the registry is read with the function's own credentials (a guard in the central
    /// account itself).
    pub registry_role: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn every_variable_is_read_once_through_the_one_reader() {
        let read = RefCell::new(Vec::new());
        // Every variable set (a valid default role, so the allow-lists after it are read too), so
        // that none is skipped because another is unset or invalid.
        let config = FunctionConfig::from_vars(|name| {
            read.borrow_mut().push(name.to_owned());
            Some(if name == "DEFAULT_ROLE_ARN" { "arn:aws:iam::222222222222:role/r" } else { "x" }.to_owned())
        });
        let mut read = read.into_inner();
        read.sort();
        let mut listed: Vec<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
        listed.sort();
        assert_eq!(read, listed, "a variable is read twice, or read and not listed, or listed and not read");
        assert_eq!(config.mode, Mode::CustomResource, "an unknown mode serves custom resources");
        let unset = FunctionConfig::from_vars(|_| None);
        let warnings = &unset.settings.warnings;
        assert!(warnings.iter().any(|w| w.contains("AWS_REGION is not set")), "{warnings:?}");
    }

    #[test]
    fn bad_settings_fall_back_to_safe_ones_and_say_so() {
        let config = FunctionConfig::from_vars(|name| match name {
            "FUNCTION_MODE" => Some("both".into()),
            "TLS_ROOTS" => Some("everything".into()),
            "AWS_REGION" => Some("eu-west-1".into()),
            _ => None,
        });
        assert_eq!((config.mode, config.tls_roots), (Mode::CustomResource, TrustRoots::System));
        assert_eq!(config.errors.len(), 2, "{:?}", config.errors);
        assert!(config.errors[0].contains("'both'") && config.errors[1].contains("system's trusted roots"));
    }

    #[test]
    fn the_guard_says_which_setting_it_lacks() {
        let config = FunctionConfig::from_vars(|name| match name {
            "FUNCTION_MODE" => Some("guard".into()),
            "AWS_REGION" => Some("eu-west-1".into()),
            "FUNCTION_ACCOUNT_ID" => Some("222222222222".into()),
            _ => None,
        });
        assert_eq!(config.mode, Mode::Guard);
        assert_eq!(config.guard_setup().unwrap_err().name, "READS_TABLE");
    }

    /// The manual's "Function environment" table names exactly these variables (besides the SDK's
    /// and the logging ones, which it lists as such).
    #[test]
    fn the_readme_table_lists_every_variable_and_no_other() {
        let chapter = include_str!("../../../docs/src/environment.md");
        let section = chapter.split("# Function environment").nth(1).expect("the section").split("\n# ").next();
        let named: Vec<&str> = section
            .unwrap()
            .lines()
            .filter(|line| line.starts_with("| `"))
            .flat_map(|line| line.split('|').nth(1).unwrap_or("").split('`').skip(1).step_by(2))
            .map(|name| name.split('=').next().unwrap_or(name))
            .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        for variable in VARIABLES {
            assert!(named.contains(variable), "the manual's table lacks {variable}");
        }
        let outside = ["AWS_ENDPOINT_URL", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"].into_iter().chain([
            "AWS_LAMBDA_LOG_FORMAT",
            "AWS_LAMBDA_LOG_LEVEL",
            "RUST_LOG",
        ]);
        for name in named {
            assert!(
                VARIABLES.contains(&name) || outside.clone().any(|o| o == name),
                "the manual names {name}, not read"
            );
        }
    }
}
