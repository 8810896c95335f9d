use std::collections::BTreeSet;

use crate::config::Governance;
use crate::error::{LookupError, Reads};
use crate::pattern::PatternList;
use crate::policy::ConsumerPolicy;
use crate::properties::{ResourceProperties, Selection, is_region_name};
use crate::role_arn::RoleArn;

/// Where exports are read from: an account (through a role, or the function's own) and a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// `None` reads the function's own account with its own credentials.
    pub role: Option<RoleArn>,
    pub external_id: Option<String>,
    pub region: String,
    /// The AssumeRole session name, so that CloudTrail shows who read the exports.
    pub session_name: String,
    /// On whose behalf the role is assumed: the identity the publisher's trust policy and CloudTrail
    /// see, chosen by the function from the bound request, never by the consumer's properties.
    /// `None` for reads on nobody's behalf (the audit, the CLI).
    pub consumer: Option<Consumer>,
    /// A shared export snapshot read before this time (ms since the epoch) may not answer: an Update
    /// reads what the publisher exports after it was asked, never before.
    pub not_before_ms: Option<u64>,
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

/// The consumer stack a role is assumed for, as the bound ResponseURL vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Consumer {
    pub account: String,
    pub stack_name: String,
}

impl Consumer {
    /// The session tag keys the publisher's trust policy may check (`aws:RequestTag/<key>`).
    pub const ACCOUNT_TAG: &str = "ConsumerAccount";
    pub const STACK_TAG: &str = "ConsumerStack";

    /// `sts:SourceIdentity`: the consumer account. It stays with the session in the publisher's
    /// CloudTrail, and a trust policy can admit accounts by it.
    pub fn source_identity(&self) -> &str {
        &self.account
    }

    /// The session tags: the consumer account and its stack.
    pub fn tags(&self) -> [(&'static str, &str); 2] {
        [(Consumer::ACCOUNT_TAG, &self.account), (Consumer::STACK_TAG, &self.stack_name)]
    }

    /// `<account>-<stack>`, within STS's limits: 2 to 64 characters of `[\w+=,.@-]`.
    pub fn session_name(&self) -> String {
        session_name_of(&format!("{}-{}", self.account, self.stack_name))
    }
}

/// Which exports (or stack outputs) a request may see: every list must allow a name (ALLOWED_EXPORTS
/// or ALLOWED_STACK_OUTPUTS, and the consumer's policy entry, when set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportFilter(Vec<PatternList>);

impl ExportFilter {
    pub fn allows(&self, name: &str) -> bool {
        self.0.iter().all(|list| list.allows(name))
    }

    /// Whether some name under `prefix` may be allowed.
    pub fn may_allow_under(&self, prefix: &str) -> bool {
        self.0.iter().all(|list| list.may_allow_under(prefix))
    }
}

/// Everything needed to answer one Create or Update, decided before any AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupPlan {
    pub source: Source,
    pub selection: Selection,
    /// Exports outside it are never returned, suggested or counted as visible.
    pub visible: ExportFilter,
    /// The same for stack outputs, as `<StackName>.<OutputKey>`.
    pub visible_outputs: ExportFilter,
    /// The same for SSM parameters, by name (an ARN's name part).
    pub visible_parameters: ExportFilter,
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
    /// The consumer stack's account, from its StackId (vouched for by the bound ResponseURL).
    pub consumer_account: Option<&'a str>,
    pub logical_resource_id: &'a str,
}

/// `Ok` when no name was refused, else the refusal that names them.
fn none_refused(names: Vec<String>, refusal: impl FnOnce(Vec<String>) -> LookupError) -> Result<(), LookupError> {
    if names.is_empty() { Ok(()) } else { Err(refusal(names)) }
}

/// `raw` within STS's limits for a session name: 2 to 64 characters of `[\w+=,.@-]`.
fn session_name_of(raw: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let name: String = raw.chars().map(|c| if allowed(c) { c } else { '-' }).take(64).collect();
    if name.len() < 2 { "remote-exports".to_owned() } else { name }
}

/// The consumer a request reads for, when its StackId names one.
fn consumer(origin: &Origin<'_>) -> Option<Consumer> {
    Some(Consumer { account: origin.consumer_account?.to_owned(), stack_name: origin.stack_name?.to_owned() })
}

impl LookupPlan {
    /// What this plan reads, and through what: for Reasons that name only what applies.
    pub fn reads(&self) -> Reads {
        Reads {
            role: self.source.role.is_some(),
            exports: self.selection.needs_exports(),
            outputs: !self.selection.outputs.is_empty(),
            parameters: !self.selection.parameters.is_empty(),
        }
    }

    /// Applies the function's defaults, allow-lists and consumer policy to the properties. Refusals
    /// happen here, so a refused role is never assumed and a refused export name is never looked up.
    /// Reasons name the refused item and the setting, never the setting's value.
    pub fn new(
        properties: ResourceProperties,
        governance: &Governance,
        policy: Option<&ConsumerPolicy>,
        origin: Origin<'_>,
    ) -> Result<LookupPlan, LookupError> {
        let role = properties.role_arn.or_else(|| governance.default_role_arn.clone());
        if let (Some(role), Some(allowed)) = (&role, &governance.allowed_role_arns)
            && !allowed.allows(role.as_str())
        {
            return Err(LookupError::RoleNotAllowed { role: role.to_string() });
        }
        let selection = &properties.selection;
        let refused = |allowed: &PatternList| -> Vec<String> {
            selection.exact_names().filter(|n| !allowed.allows(n)).map(str::to_owned).collect()
        };
        // A whole stack is refused before any call when no output of it could be allowed.
        let refused_outputs = |allowed: &PatternList| -> Vec<String> {
            let stacks = selection.every_output_of().filter(|stack| !allowed.may_allow_under(&format!("{stack}.")));
            let outputs = selection.exact_outputs().filter(|output| !allowed.allows(output));
            stacks.map(|stack| format!("{stack} (every output)")).chain(outputs).collect()
        };
        let publisher_account = role.as_ref().map(RoleArn::account);
        if role.is_none() && !selection.parameters.is_empty() {
            return Err(LookupError::ParametersNeedRole);
        }
        let refused_parameters = |allowed: &PatternList| -> Vec<String> {
            let refused = selection.parameters.values().filter(|r| !allowed.allows(r.governed_name(publisher_account)));
            let names: BTreeSet<String> = refused.map(ToString::to_string).collect();
            names.into_iter().collect()
        };
        let mut visible = Vec::new();
        let mut visible_outputs = Vec::new();
        let mut visible_parameters = Vec::new();
        if let Some(allowed) = &governance.allowed_exports {
            none_refused(refused(allowed), |names| LookupError::ExportsNotAllowed { names })?;
            visible.push(allowed.clone());
        }
        if let Some(allowed) = &governance.allowed_stack_outputs {
            none_refused(refused_outputs(allowed), |names| LookupError::OutputsNotAllowed { names })?;
            visible_outputs.push(allowed.clone());
        }
        if let Some(allowed) = &governance.allowed_parameters {
            none_refused(refused_parameters(allowed), |names| LookupError::ParametersNotAllowed { names })?;
            visible_parameters.push(allowed.clone());
        }
        if let Some(policy) = policy {
            let origin_name = || policy.origin.clone();
            let account =
                origin.consumer_account.ok_or_else(|| LookupError::ConsumerUnknown { origin: origin_name() })?;
            let rules = policy.rules_for(account).ok_or_else(|| LookupError::ConsumerNotInPolicy {
                account: account.to_owned(),
                origin: origin_name(),
            })?;
            if !rules.allows_role(role.as_ref()) {
                return Err(LookupError::RoleNotAllowedForConsumer {
                    account: account.to_owned(),
                    role: role.as_ref().map_or_else(|| "the function's own account".to_owned(), ToString::to_string),
                    origin: origin_name(),
                });
            }
            none_refused(refused(&rules.exports), |names| LookupError::ExportsNotAllowedForConsumer {
                account: account.to_owned(),
                names,
                origin: origin_name(),
            })?;
            visible.push(rules.exports.clone());
            none_refused(refused_outputs(&rules.outputs), |names| LookupError::OutputsNotAllowedForConsumer {
                account: account.to_owned(),
                names,
                origin: origin_name(),
            })?;
            visible_outputs.push(rules.outputs.clone());
            none_refused(refused_parameters(&rules.parameters), |names| {
                LookupError::ParametersNotAllowedForConsumer {
                    account: account.to_owned(),
                    names,
                    origin: origin_name(),
                }
            })?;
            visible_parameters.push(rules.parameters.clone());
        }
        let region = properties
            .region
            .or_else(|| origin.stack_region.filter(|r| is_region_name(r)).map(str::to_owned))
            .or_else(|| origin.function_region.filter(|r| is_region_name(r)).map(str::to_owned))
            .ok_or(LookupError::NoRegion)?;
        // SSM answers in the region it is asked in: an ARN of another region would read as missing.
        if let Some((reference, elsewhere)) =
            properties.selection.parameters.values().find_map(|r| {
                r.arn_region().filter(|arn_region| *arn_region != region).map(|arn_region| (r, arn_region))
            })
        {
            return Err(LookupError::ParameterRegion {
                reference: reference.to_string(),
                arn_region: elsewhere.to_owned(),
                region,
            });
        }
        let consumer = consumer(&origin);
        Ok(LookupPlan {
            source: Source {
                role,
                external_id: properties.external_id,
                region,
                session_name: consumer.as_ref().map_or_else(|| "remote-exports".to_owned(), Consumer::session_name),
                consumer,
                not_before_ms: None,
            },
            selection: properties.selection,
            visible: ExportFilter(visible),
            visible_outputs: ExportFilter(visible_outputs),
            visible_parameters: ExportFilter(visible_parameters),
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
        consumer_account: Some("111111111111"),
        logical_resource_id: "Lookup",
    };

    #[test]
    fn region_comes_from_the_property_then_the_stack_then_the_function() {
        let g = Governance::default();
        let plan = LookupPlan::new(properties(json!({"Region": "ap-south-1"})), &g, None, STACK).unwrap();
        assert_eq!(plan.source.region, "ap-south-1");
        let plan = LookupPlan::new(properties(json!({})), &g, None, STACK).unwrap();
        assert_eq!(plan.source.region, "eu-west-1");
        let origin = Origin { stack_region: None, ..STACK };
        assert_eq!(LookupPlan::new(properties(json!({})), &g, None, origin).unwrap().source.region, "us-east-1");
        let error = LookupPlan::new(properties(json!({})), &g, None, Origin::default()).unwrap_err();
        assert_eq!(error, LookupError::NoRegion);
    }

    #[test]
    fn the_default_role_applies_when_none_is_given() {
        let g = Governance {
            default_role_arn: Some(RoleArn::parse("arn:aws:iam::333333333333:role/d").unwrap()),
            ..Default::default()
        };
        let plan = LookupPlan::new(properties(json!({})), &g, None, STACK).unwrap();
        assert_eq!(plan.source.role.unwrap().account(), "333333333333");
        let plan = LookupPlan::new(properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/r"})), &g, None, STACK)
            .unwrap();
        assert_eq!(plan.source.role.unwrap().account(), "222222222222");
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), None, STACK).unwrap();
        assert_eq!(plan.source.role, None);
    }

    #[test]
    fn governance_refuses_before_any_call() {
        let g = Governance {
            allowed_role_arns: PatternList::parse("arn:aws:iam::222222222222:role/remote-exports-*"),
            allowed_exports: PatternList::parse("booking-*"),
            ..Default::default()
        };
        let error =
            LookupPlan::new(properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/admin"})), &g, None, STACK)
                .unwrap_err();
        assert!(matches!(error, LookupError::RoleNotAllowed { .. }), "{error:?}");
        let allowed_role = json!({"RoleArn": "arn:aws:iam::222222222222:role/remote-exports-reader", "ExportNames": ["booking-a", "secret-b"], "Exports": {"X": "secret-c"}});
        let error = LookupPlan::new(properties(allowed_role), &g, None, STACK).unwrap_err();
        assert_eq!(error, LookupError::ExportsNotAllowed { names: vec!["secret-b".into(), "secret-c".into()] });
        assert!(!error.to_string().contains("booking-*"), "the Reason revealed the allow-list: {error}");
    }

    const POLICY: &str = r#"{"111111111111": {"RoleArns": ["arn:aws:iam::222222222222:role/reader"], "Exports": ["booking-*"]},
        "*": {"RoleArns": ["self"], "Exports": ["shared-*"]}}"#;

    fn with_policy(props: serde_json::Value, account: Option<&str>) -> Result<LookupPlan, LookupError> {
        let policy = ConsumerPolicy::parse(POLICY, crate::PolicyOrigin::Inline).unwrap();
        let origin = Origin { consumer_account: account, ..STACK };
        LookupPlan::new(properties(props), &Governance::default(), Some(&policy), origin)
    }

    #[test]
    fn the_consumer_policy_decides_per_account_before_any_call() {
        let reader = json!({"RoleArn": "arn:aws:iam::222222222222:role/reader", "ExportNames": ["booking-Topic"]});
        let plan = with_policy(reader.clone(), Some("111111111111")).unwrap();
        assert!(plan.visible.allows("booking-Other") && !plan.visible.allows("shared-VpcId"));

        let error = with_policy(reader.clone(), Some("333333333333")).unwrap_err();
        assert!(matches!(error, LookupError::RoleNotAllowedForConsumer { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains("333333333333") && text.contains("CONSUMER_POLICY"), "{text}");
        assert!(
            !text.contains("111111111111") && !text.contains("booking-*"),
            "another account's rules leaked: {text}"
        );

        let own = with_policy(json!({"ExportNames": ["shared-VpcId"]}), Some("333333333333")).unwrap();
        assert_eq!(own.source.role, None);
        let error = with_policy(json!({"ExportNames": ["booking-Topic"]}), Some("333333333333")).unwrap_err();
        assert!(
            matches!(error, LookupError::ExportsNotAllowedForConsumer { ref names, .. } if names == &["booking-Topic"])
        );
        let error = with_policy(json!({"ExportNames": ["shared-VpcId"]}), Some("111111111111")).unwrap_err();
        assert!(
            matches!(error, LookupError::RoleNotAllowedForConsumer { ref role, .. } if role.contains("own account"))
        );
        let error = with_policy(json!({}), None).unwrap_err();
        assert!(matches!(error, LookupError::ConsumerUnknown { .. }), "{error:?}");
    }

    #[test]
    fn outputs_are_governed_by_their_own_lists_before_any_call() {
        let governance =
            Governance { allowed_stack_outputs: PatternList::parse("booking-lambda.*"), ..Default::default() };
        let plan = |props| LookupPlan::new(properties(props), &governance, None, STACK);
        let allowed = plan(json!({"StackOutputs": ["booking-lambda", "booking-lambda.TopicArn"]})).unwrap();
        assert!(allowed.visible_outputs.allows("booking-lambda.QueueUrl"));
        assert!(!allowed.visible_outputs.allows("vpc.VpcId"));
        let error = plan(json!({"StackOutputs": ["vpc", "vpc.VpcId"], "Exports": {"X": "db.Password"}})).unwrap_err();
        assert_eq!(
            error,
            LookupError::OutputsNotAllowed {
                names: vec!["vpc (every output)".into(), "db.Password".into(), "vpc.VpcId".into()]
            }
        );
        assert!(error.to_string().contains("ALLOWED_STACK_OUTPUTS"), "{error}");

        // A policy entry without Outputs allows none; exports stay as they were.
        let error = with_policy(json!({"StackOutputs": ["shared-vpc.VpcId"]}), Some("333333333333")).unwrap_err();
        assert!(
            matches!(error, LookupError::OutputsNotAllowedForConsumer { ref names, .. } if names == &["shared-vpc.VpcId"]),
            "{error:?}"
        );
        assert!(with_policy(json!({"ExportNames": ["shared-VpcId"]}), Some("333333333333")).is_ok());
    }

    #[test]
    fn an_account_with_no_entry_and_no_fallback_is_refused() {
        let policy = ConsumerPolicy::parse(
            r#"{"111111111111": {"RoleArns": ["self"], "Exports": ["*"]}}"#,
            crate::PolicyOrigin::Inline,
        )
        .unwrap();
        let origin = Origin { consumer_account: Some("333333333333"), ..STACK };
        let error = LookupPlan::new(properties(json!({})), &Governance::default(), Some(&policy), origin).unwrap_err();
        assert!(matches!(error, LookupError::ConsumerNotInPolicy { .. }), "{error:?}");
    }

    #[test]
    fn the_allow_lists_and_the_policy_must_both_allow() {
        let governance = Governance { allowed_exports: PatternList::parse("booking-lambda-*"), ..Default::default() };
        let policy = ConsumerPolicy::parse(POLICY, crate::PolicyOrigin::Inline).unwrap();
        let origin = Origin { consumer_account: Some("111111111111"), ..STACK };
        let props = json!({"RoleArn": "arn:aws:iam::222222222222:role/reader"});
        let plan = LookupPlan::new(properties(props), &governance, Some(&policy), origin).unwrap();
        assert!(plan.visible.allows("booking-lambda-Topic"));
        assert!(!plan.visible.allows("booking-other-Topic"), "ALLOWED_EXPORTS must still apply");
    }

    #[test]
    fn the_identity_names_the_consumer_from_the_stack_id_never_from_the_properties() {
        let props = json!({"RoleArn": "arn:aws:iam::222222222222:role/r", "ExternalId": "shared-secret"});
        let plan = LookupPlan::new(properties(props), &Governance::default(), None, STACK).unwrap();
        let consumer = plan.source.consumer.clone().unwrap();
        assert_eq!((consumer.account.as_str(), consumer.stack_name.as_str()), ("111111111111", "airmiles"));
        assert_eq!(consumer.source_identity(), "111111111111");
        assert_eq!(consumer.tags(), [("ConsumerAccount", "111111111111"), ("ConsumerStack", "airmiles")]);
        assert_eq!(plan.source.session_name, "111111111111-airmiles");
        let long = "s".repeat(100);
        let origin = Origin { stack_name: Some(&long), ..STACK };
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), None, origin).unwrap();
        assert_eq!(plan.source.session_name.len(), 64);
        assert!(plan.source.session_name.starts_with("111111111111-sss"));
        let unknown = Origin { stack_name: None, consumer_account: None, ..STACK };
        let plan = LookupPlan::new(properties(json!({})), &Governance::default(), None, unknown).unwrap();
        assert_eq!((plan.source.session_name.as_str(), plan.source.consumer), ("remote-exports", None));
    }

    #[test]
    fn the_physical_id_follows_the_source_only() {
        let g = Governance::default();
        let a = LookupPlan::new(
            properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/a", "ExportNames": ["x"]})),
            &g,
            None,
            STACK,
        )
        .unwrap();
        let b = LookupPlan::new(
            properties(json!({"RoleArn": "arn:aws:iam::222222222222:role/b", "Refresh": "2"})),
            &g,
            None,
            STACK,
        )
        .unwrap();
        assert_eq!(a.source.physical_resource_id(), "remote-exports:222222222222:eu-west-1");
        assert_eq!(a.source.physical_resource_id(), b.source.physical_resource_id());
        let own = LookupPlan::new(properties(json!({"Region": "us-east-2"})), &g, None, STACK).unwrap();
        assert_eq!(own.source.physical_resource_id(), "remote-exports:self:us-east-2");
    }
}
