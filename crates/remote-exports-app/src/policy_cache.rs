use std::sync::Arc;

use remote_exports_core::{ConsumerPolicy, ConsumerPolicyStore, PolicyError, PolicyOrigin};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::PolicySetting;

/// The consumer policy in force: inline, or read from a parameter and kept for its TTL per container.
pub struct PolicyCache<P> {
    setting: PolicySetting,
    store: P,
    cached: Mutex<Option<(Instant, Arc<ConsumerPolicy>)>>,
}

impl<P: ConsumerPolicyStore> PolicyCache<P> {
    pub fn new(setting: PolicySetting, store: P) -> Self {
        PolicyCache { setting, store, cached: Mutex::new(None) }
    }

    /// The policy to apply now, `None` when none is configured. A parameter is read at most once per
    /// TTL; a failed read or an invalid document is not kept, so a fix is picked up on the next request.
    pub async fn current(&self) -> Result<Option<Arc<ConsumerPolicy>>, PolicyError> {
        let (name, ttl) = match &self.setting {
            PolicySetting::None => return Ok(None),
            PolicySetting::Inline(policy) => return Ok(Some(Arc::clone(policy))),
            PolicySetting::Parameter { name, ttl } => (name, *ttl),
        };
        let mut cached = self.cached.lock().await;
        if let Some((read_at, policy)) = cached.as_ref()
            && read_at.elapsed() < ttl
        {
            return Ok(Some(Arc::clone(policy)));
        }
        let origin = PolicyOrigin::Parameter(name.clone());
        let text = self
            .store
            .get(name)
            .await
            .map_err(|error| PolicyError::Unreadable { origin: origin.clone(), detail: error.to_string() })?;
        let policy = Arc::new(ConsumerPolicy::parse(&text, origin)?);
        tracing::info!(parameter = %name, "consumer policy read");
        *cached = Some((Instant::now(), Arc::clone(&policy)));
        Ok(Some(policy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remote_exports_core::PolicyStoreError;
    use remote_exports_core::testing::MemoryConsumerPolicy;
    use std::time::Duration;

    const ONLY_A: &str = r#"{"111111111111": {"RoleArns": ["self"], "Exports": ["a-*"]}}"#;
    const ONLY_B: &str = r#"{"111111111111": {"RoleArns": ["self"], "Exports": ["b-*"]}}"#;

    #[tokio::test(start_paused = true)]
    async fn a_parameter_is_kept_for_its_ttl_then_read_again() {
        let parameter = Arc::new(MemoryConsumerPolicy::new().with("/p", Ok(ONLY_A)));
        let setting = PolicySetting::Parameter { name: "/p".into(), ttl: Duration::from_secs(60) };
        let cache = PolicyCache::new(setting, Arc::clone(&parameter));
        let allows_a = |policy: &ConsumerPolicy| policy.rules_for("111111111111").unwrap().exports.allows("a-x");
        assert!(allows_a(&cache.current().await.unwrap().unwrap()));
        parameter.set("/p", Ok(ONLY_B));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(allows_a(&cache.current().await.unwrap().unwrap()), "re-read before the TTL");
        assert_eq!(parameter.reads(), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!allows_a(&cache.current().await.unwrap().unwrap()), "not re-read after the TTL");
        assert_eq!(parameter.reads(), 2);
    }

    #[tokio::test]
    async fn unreadable_and_invalid_parameters_are_errors_that_are_not_kept() {
        let parameter = Arc::new(
            MemoryConsumerPolicy::new().with("/p", Err(PolicyStoreError::Unreadable("ParameterNotFound".into()))),
        );
        let setting = PolicySetting::Parameter { name: "/p".into(), ttl: Duration::from_secs(60) };
        let cache = PolicyCache::new(setting, Arc::clone(&parameter));
        let error = cache.current().await.unwrap_err().to_string();
        assert!(error.contains("could not be read") && error.contains("ParameterNotFound"), "{error}");
        parameter.set("/p", Ok("not json"));
        assert!(cache.current().await.unwrap_err().to_string().contains("not valid JSON"));
        parameter.set("/p", Ok(ONLY_A));
        assert!(cache.current().await.unwrap().is_some());
        assert_eq!(parameter.reads(), 3);
    }
}
