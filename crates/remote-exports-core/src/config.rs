use crate::pattern::PatternList;
use crate::policy::PolicyError;
use crate::role_arn::{InvalidRoleArn, RoleArn};

/// The function's own governance settings, read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Governance {
    /// `DEFAULT_ROLE_ARN`: used when a resource names no RoleArn.
    pub default_role_arn: Option<RoleArn>,
    /// `ALLOWED_ROLE_ARNS`: when set, any other role is refused before any STS call.
    pub allowed_role_arns: Option<PatternList>,
    /// `ALLOWED_EXPORTS`: when set, nothing outside it is ever returned.
    pub allowed_exports: Option<PatternList>,
    /// `ALLOWED_STACK_OUTPUTS`: patterns over `<StackName>.<OutputKey>`; when set, no other output is
    /// ever returned.
    pub allowed_stack_outputs: Option<PatternList>,
    /// `ALLOWED_PARAMETERS`: patterns over SSM parameter names (an ARN's name part); when set, no
    /// other parameter is ever read.
    pub allowed_parameters: Option<PatternList>,
}

/// Why the function's use cases cannot run as configured: the one reason, found at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the function's DEFAULT_ROLE_ARN is invalid: {0}")]
    DefaultRoleArn(InvalidRoleArn),
    /// `CONSUMER_POLICY` is not a policy, or both it and `CONSUMER_POLICY_PARAMETER` are set.
    #[error("{0}")]
    ConsumerPolicy(PolicyError),
}

impl Governance {
    /// Reads the settings through `var`, normally `std::env::var`. Blank values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Governance, ConfigError> {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let default_role_arn =
            set("DEFAULT_ROLE_ARN").map(|arn| RoleArn::parse(&arn)).transpose().map_err(ConfigError::DefaultRoleArn)?;
        Ok(Governance {
            default_role_arn,
            allowed_role_arns: set("ALLOWED_ROLE_ARNS").and_then(|v| PatternList::parse(&v)),
            allowed_exports: set("ALLOWED_EXPORTS").and_then(|v| PatternList::parse(&v)),
            allowed_stack_outputs: set("ALLOWED_STACK_OUTPUTS").and_then(|v| PatternList::parse(&v)),
            allowed_parameters: set("ALLOWED_PARAMETERS").and_then(|v| PatternList::parse(&v)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn nothing_set_means_no_restrictions() {
        assert_eq!(Governance::from_vars(vars(&[])).unwrap(), Governance::default());
        assert_eq!(
            Governance::from_vars(vars(&[("ALLOWED_EXPORTS", " "), ("DEFAULT_ROLE_ARN", "")])).unwrap(),
            Governance::default()
        );
    }

    #[test]
    fn reads_every_setting() {
        let governance = Governance::from_vars(vars(&[
            ("DEFAULT_ROLE_ARN", "arn:aws:iam::222222222222:role/reader"),
            ("ALLOWED_ROLE_ARNS", "arn:aws:iam::222222222222:role/*"),
            ("ALLOWED_EXPORTS", "booking-*"),
            ("ALLOWED_STACK_OUTPUTS", "booking-lambda.*"),
            ("ALLOWED_PARAMETERS", "/booking/*"),
        ]))
        .unwrap();
        assert!(governance.allowed_parameters.clone().unwrap().allows("/booking/prod/topic-arn"));
        assert!(governance.allowed_stack_outputs.unwrap().allows("booking-lambda.TopicArn"));
        assert_eq!(governance.default_role_arn.unwrap().account(), "222222222222");
        assert!(governance.allowed_role_arns.unwrap().allows("arn:aws:iam::222222222222:role/x"));
        assert!(governance.allowed_exports.unwrap().allows("booking-x"));
    }

    #[test]
    fn an_invalid_default_role_is_an_error() {
        let error = Governance::from_vars(vars(&[("DEFAULT_ROLE_ARN", "reader")])).unwrap_err();
        assert!(error.to_string().contains("DEFAULT_ROLE_ARN is invalid"), "{error}");
    }
}
