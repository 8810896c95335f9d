use crate::config::Governance;
use crate::error::LookupError;
use crate::pattern::PatternList;
use crate::properties::{ResourceProperties, Selection, is_region_name};
use crate::role_arn::RoleArn;

/// Where exports are read from: an account (through a role, or the function's own) and a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// `None` reads the function's own account with its own credentials.
    pub role: Option<RoleArn>,
    pub external_id: Option<String>,
    pub region: String,
    /// The AssumeRole session name, so that CloudTrail shows which stack read the exports.
    pub session_name: String,
}

impl Source {
    /// Deterministic and stable while the source is the same, so an Update that keeps the role's
    /// account and the region is not a replacement. Never derived from anything per-invocation.
    pub fn physical_resource_id(&self) -> String {
        let account = self.role.as_ref().map_or("self", RoleArn::account);
        format!("remote-exports:{account}:{}", self.region)
    }

    pub fn describe(&self) -> String {
        match &self.role {
            Some(role) => format!("account {} in {} (through {role})", role.account(), self.region),
            None => format!("the function's own account in {}", self.region),
        }
    }
}

/// Everything needed to answer one Create or Update, decided before any AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupPlan {
    pub source: Source,
    pub selection: Selection,
    pub allowed_exports: Option<PatternList>,
    pub no_echo: bool,
}

/// Where the request came from, as far as planning needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The consumer stack's region, from its StackId.
    pub stack_region: Option<&'a str>,
    /// The function's `AWS_REGION`.
    pub function_region: Option<&'a str>,
    /// The consumer stack's name, from its StackId.
    pub stack_name: Option<&'a str>,
    pub logical_resource_id: &'a str,
}

/// `<stack>-<logical id>`, within STS's limits: 2 to 64 characters of `[\w+=,.@-]`.
fn session_name(origin: &Origin<'_>) -> String {
    let raw = match origin.stack_name {
        Some(stack) => format!("{stack}-{}", origin.logical_resource_id),
        None => format!("remote-exports-{}", origin.logical_resource_id),
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let mut name: String = raw.chars().map(|c| if allowed(c) { c } else { '-' }).take(64).collect();
    if name.len() < 2 {
        name = "remote-exports".to_owned();
    }
    name
}

impl LookupPlan {
    /// Applies the function's defaults and governance to the properties. Refusals happen here, so a
    /// refused role is never assumed and a refused export name is never looked up.
    pub fn new(
        properties: ResourceProperties,
        governance: &Governance,
        origin: Origin<'_>,
    ) -> Result<LookupPlan, LookupError> {
        let role = properties.role_arn.or_else(|| governance.default_role_arn.clone());
        if let (Some(role), Some(allowed)) = (&role, &governance.allowed_role_arns)
            && !allowed.allows(role.as_str())
        {
            return Err(LookupError::RoleNotAllowed { role: role.to_string(), allowed: allowed.to_string() });
        }
        if let Some(allowed) = &governance.allowed_exports {
            let refused: Vec<String> =
                properties.selection.exact_names().filter(|n| !allowed.allows(n)).map(str::to_owned).collect();
            if !refused.is_empty() {
                return Err(LookupError::ExportsNotAllowed { names: refused, allowed: allowed.to_string() });
            }
        }
        let region = properties
            .region
            .or_else(|| origin.stack_region.filter(|r| is_region_name(r)).map(str::to_owned))
            .or_else(|| origin.function_region.filter(|r| is_region_name(r)).map(str::to_owned))
            .ok_or(LookupError::NoRegion)?;
        Ok(LookupPlan {
            source: Source { role, external_id: properties.external_id, region, session_name: session_name(&origin) },
            selection: properties.selection,
            allowed_exports: governance.allowed_exports.clone(),
            no_echo: properties.no_echo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn properties(value: serde_json::Value) -> ResourceProperties {
        ResourceProperties::parse(&value).unwrap()
    }

    const STACK: Origin<'static> = Origin {
        stack_region: Some("eu-west-1"),
        function_region: Some("us-east-1"),
        stack_name: Some("airmiles"),
        logical_resource_id: "Lookup",
    };

    #[test]
    fn region_comes_from_the_property_then_the_stack_then_the_function() {
        let g = Governance::default();
        let plan = LookupPlan::new(properties(json!({"Region": "ap-south-1"})), &g, STACK).unwrap();
        assert_eq!(plan.source.region, "ap-south-1");
        let plan = LookupPlan::new(properties(json!({})), &g, STACK).unwrap();
        assert_eq!(plan.source.region, "eu-west-1");
        let origin = Origin { stack_region: None, ..STACK };
        assert_eq!(LookupPlan::new(properties(json!({})), &g, origin).unwrap().source.region, "us-east-1");
        let error = LookupPlan::new(properties(json!({})), &g, Origin::default()).unwrap_err();
        assert_eq!(error, LookupError::NoRegion);
    }

    #[test]
    fn the_default_role_applies_when_none_is_given() {
        let g = Governance {
            default_role_arn: Some(RoleArn::parse("arn:aws:iam::333333333333:role/d").unwrap()),
            ..Default::default()
        };
        let plan = LookupPlan::new(properties(json!({})), &g, STACK).unwrap();
        assert_eq!(plan.source.role.unwrap().account(), "333333333333");
        let plan =
            LookupPlan::new(properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/r"})), &g, STACK).unwrap();
        assert_eq!(plan.source.role.unwrap().account(), "222222222222");
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), STACK).unwrap();
        assert_eq!(plan.source.role, None);
    }

    #[test]
    fn governance_refuses_before_any_call() {
        let g = Governance {
            allowed_role_arns: PatternList::parse("arn:aws:iam::222222222222:role/remote-exports-*"),
            allowed_exports: PatternList::parse("booking-*"),
            ..Default::default()
        };
        let error = LookupPlan::new(properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/admin"})), &g, STACK)
            .unwrap_err();
        assert!(matches!(error, LookupError::RoleNotAllowed { .. }), "{error:?}");
        let allowed_role = json!({"RoleArn": "arn:aws:iam::222222222222:role/remote-exports-reader", "ExportNames": ["booking-a", "secret-b"], "Exports": {"X": "secret-c"}});
        let error = LookupPlan::new(properties(allowed_role), &g, STACK).unwrap_err();
        assert_eq!(
            error,
            LookupError::ExportsNotAllowed {
                names: vec!["secret-b".into(), "secret-c".into()],
                allowed: "booking-*".into()
            }
        );
    }

    #[test]
    fn the_session_name_names_the_stack_within_sts_limits() {
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), STACK).unwrap();
        assert_eq!(plan.source.session_name, "airmiles-Lookup");
        let long = "s".repeat(100);
        let origin = Origin { stack_name: Some(&long), ..STACK };
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), origin).unwrap();
        assert_eq!(plan.source.session_name.len(), 64);
        let odd = Origin { stack_name: None, logical_resource_id: "a b", ..STACK };
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), odd).unwrap();
        assert_eq!(plan.source.session_name, "remote-exports-a-b");
    }

    #[test]
    fn the_physical_id_follows_the_source_only() {
        let g = Governance::default();
        let a = LookupPlan::new(
            properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/a", "ExportNames": ["x"]})),
            &g,
            STACK,
        )
        .unwrap();
        let b = LookupPlan::new(
            properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/b", "Refresh": "2"})),
            &g,
            STACK,
        )
        .unwrap();
        assert_eq!(a.source.physical_resource_id(), "remote-exports:222222222222:eu-west-1");
        assert_eq!(a.source.physical_resource_id(), b.source.physical_resource_id());
        let own = LookupPlan::new(properties(json!({"Region": "us-east-2"})), &g, STACK).unwrap();
        assert_eq!(own.source.physical_resource_id(), "remote-exports:self:us-east-2");
    }
}
