use cfn_custom_resource::UrlPolicy;
use remote_exports_core::{ConfigError, Governance};

/// The function's configuration, read once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A bad setting fails Create and Update with a Reason that names it; Delete never reads it.
    pub governance: Result<Governance, ConfigError>,
    pub url_policy: UrlPolicy,
    /// `AWS_REGION`: the last resort when neither the properties nor the StackId name a region.
    pub function_region: Option<String>,
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings::from_vars(|name| std::env::var(name).ok())
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Settings {
        let loopback = var("ALLOW_LOOPBACK_RESPONSE_URL").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Settings {
            governance: Governance::from_vars(&var),
            url_policy: if loopback { UrlPolicy::AllowLoopback } else { UrlPolicy::AwsS3Only },
            function_region: var("AWS_REGION").filter(|r| !r.trim().is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_need_an_explicit_opt_in() {
        assert_eq!(Settings::from_vars(|_| None).url_policy, UrlPolicy::AwsS3Only);
        let on = |name: &str| (name == "ALLOW_LOOPBACK_RESPONSE_URL").then(|| "TRUE".to_owned());
        assert_eq!(Settings::from_vars(on).url_policy, UrlPolicy::AllowLoopback);
        let other = |name: &str| (name == "ALLOW_LOOPBACK_RESPONSE_URL").then(|| "yes".to_owned());
        assert_eq!(Settings::from_vars(other).url_policy, UrlPolicy::AwsS3Only);
    }

    #[test]
    fn a_bad_setting_is_kept_as_an_error_not_a_crash() {
        let bad = |name: &str| (name == "DEFAULT_ROLE_ARN").then(|| "nope".to_owned());
        assert!(Settings::from_vars(bad).governance.is_err());
    }
}
