use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::ControlFlow;

use crate::error::{LookupError, MissingExport, SourceError};
use crate::plan::{LookupPlan, Source};
use crate::suggest::closest;

/// One CloudFormation export. `Debug` hides the value: it may be a NoEcho secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub value: String,
    /// The ID of the stack that exports it (empty when the source does not say).
    pub exporting_stack_id: String,
}

impl Export {
    pub fn new(name: impl Into<String>, value: impl Into<String>, exporting_stack_id: impl Into<String>) -> Self {
        Export { name: name.into(), value: value.into(), exporting_stack_id: exporting_stack_id.into() }
    }
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("exporting_stack_id", &self.exporting_stack_id)
            .finish()
    }
}

/// Where a Data key's value came from: what the read registry records instead of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOrigin {
    pub export: String,
    pub exporting_stack_id: String,
}

/// How a read of a source went so far, counted per attempt (retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    pub attempts: u32,
    /// Attempts refused as throttled ("Rate exceeded").
    pub throttled: u32,
}

/// Something that lists an account's exports in a region, one page at a time.
pub trait ExportSource: Send + Sync {
    /// The attempts of the latest read of `source`, also while it is still running or after it was
    /// cut off by a deadline; `None` when the source does not count them.
    fn attempts(&self, _source: &Source) -> Option<Attempts> {
        None
    }

    /// Hands each page to `on_page` until the pages run out or `on_page` returns `Break`, which
    /// means no further page should be requested. Returns how many pages were read.
    fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> impl Future<Output = Result<u32, SourceError>> + Send;
}

/// Reads a named text parameter, such as a consumer policy kept in SSM Parameter Store.
pub trait ParameterStore: Send + Sync {
    /// The parameter's value (decrypted when it is stored encrypted), or why it cannot be used.
    fn get(&self, name: &str) -> impl Future<Output = Result<String, ParameterError>> + Send;
}

/// Why a parameter's value cannot be used. Each text completes "the parameter could not be read: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    /// A type that does not hold one text, such as `StringList`.
    #[error("it is a {found} parameter, which cannot hold a JSON document; store it as a String or SecureString")]
    WrongType { found: String },
    /// A SecureString whose KMS key the reader may not use.
    #[error(
        "it is a SecureString that the function cannot decrypt ({detail}); grant the function kms:Decrypt on its \
         KMS key (template parameter ConsumerPolicyKmsKeyArn), or encrypt it with the AWS-managed aws/ssm key"
    )]
    CannotDecrypt { detail: String },
    /// Missing, denied, throttled or unreachable: the store's own words.
    #[error("{0}")]
    Unreadable(String),
}

/// The selected exports, ready to become the response's Data. `Debug` shows the keys only.
#[derive(Clone, PartialEq, Eq)]
pub struct Selected {
    pub data: BTreeMap<String, String>,
    /// For each Data key, the export it holds.
    pub origins: BTreeMap<String, ExportOrigin>,
    /// Exports read from the source, including the ones hidden by the allow-lists.
    pub scanned: usize,
    pub pages: u32,
}

impl std::fmt::Debug for Selected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selected")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("scanned", &self.scanned)
            .field("pages", &self.pages)
            .finish()
    }
}

/// Reads the plan's source and selects from it, stopping as soon as nothing more can be selected.
pub async fn lookup<S: ExportSource>(exports: &S, plan: &LookupPlan) -> Result<Selected, LookupError> {
    let mut selector = Selector::new(plan);
    let pages = exports
        .scan_exports(&plan.source, &mut |page| selector.take(page))
        .await
        .map_err(|error| LookupError::Source { source_name: plan.source.describe(), error })?;
    selector.finish(pages)
}

/// Selection as a fold over pages, so that memory stays at what is selected (plus names, for hints).
struct Selector<'p> {
    plan: &'p LookupPlan,
    /// Exact names not seen yet → the Data keys they fill.
    pending: HashMap<&'p str, Vec<&'p str>>,
    data: BTreeMap<String, String>,
    origins: BTreeMap<String, ExportOrigin>,
    /// Names of visible, unselected exports, kept only to suggest fixes for missing names.
    other_names: Vec<String>,
    scanned: usize,
    hidden: usize,
    /// Visible exports the prefix matched: an alias key that merely starts with it does not count.
    prefix_matches: usize,
    collision: Option<LookupError>,
}

impl<'p> Selector<'p> {
    fn new(plan: &'p LookupPlan) -> Self {
        let mut pending: HashMap<&str, Vec<&str>> = HashMap::new();
        for name in &plan.selection.names {
            pending.entry(name).or_default().push(name);
        }
        for (alias, name) in &plan.selection.aliases {
            pending.entry(name).or_default().push(alias);
        }
        Selector {
            plan,
            pending,
            data: BTreeMap::new(),
            origins: BTreeMap::new(),
            other_names: Vec::new(),
            scanned: 0,
            hidden: 0,
            prefix_matches: 0,
            collision: None,
        }
    }

    fn take(&mut self, page: Vec<Export>) -> ControlFlow<()> {
        let selection = &self.plan.selection;
        let everything = selection.is_everything();
        for Export { name, value, exporting_stack_id } in page {
            self.scanned += 1;
            if !self.plan.visible.allows(&name) {
                self.hidden += 1;
                continue;
            }
            let exact_keys = self.pending.remove(name.as_str());
            let prefix_matched = selection.prefix.as_deref().is_some_and(|prefix| name.starts_with(prefix));
            self.prefix_matches += usize::from(prefix_matched);
            let by_prefix = everything || prefix_matched;
            if by_prefix && let Some(target) = selection.aliases.get(&name).filter(|target| **target != name) {
                self.collision = Some(LookupError::AliasCollision { key: name.clone(), target: target.clone() });
                return ControlFlow::Break(());
            }
            let origin = || ExportOrigin { export: name.clone(), exporting_stack_id: exporting_stack_id.clone() };
            match exact_keys {
                Some(keys) => {
                    for key in keys {
                        self.data.insert(key.to_owned(), value.clone());
                        self.origins.insert(key.to_owned(), origin());
                    }
                    if by_prefix {
                        self.origins.insert(name.clone(), origin());
                        self.data.insert(name, value);
                    }
                }
                None if by_prefix => {
                    self.origins.insert(name.clone(), origin());
                    self.data.insert(name, value);
                }
                None if !self.pending.is_empty() => self.other_names.push(name),
                None => {}
            }
        }
        let open_ended = everything || selection.prefix.is_some();
        if open_ended || !self.pending.is_empty() { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
    }

    fn finish(self, pages: u32) -> Result<Selected, LookupError> {
        if let Some(collision) = self.collision {
            return Err(collision);
        }
        if !self.pending.is_empty() {
            let mut missing: Vec<MissingExport> = self
                .pending
                .keys()
                .map(|name| MissingExport {
                    name: (*name).to_owned(),
                    suggestions: closest(name, self.other_names.iter().chain(self.data.keys()).map(String::as_str)),
                })
                .collect();
            missing.sort_by(|a, b| a.name.cmp(&b.name));
            return Err(LookupError::Missing {
                source_name: self.plan.source.describe(),
                missing,
                scanned: self.scanned - self.hidden,
            });
        }
        if let Some(prefix) = &self.plan.selection.prefix
            && self.prefix_matches == 0
        {
            return Err(LookupError::PrefixMatchedNothing {
                prefix: prefix.clone(),
                source_name: self.plan.source.describe(),
                hidden: self.hidden,
            });
        }
        Ok(Selected { data: self.data, origins: self.origins, scanned: self.scanned, pages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Governance;
    use crate::error::{FailureKind, SourceStep};
    use crate::pattern::PatternList;
    use crate::plan::Origin;
    use crate::properties::ResourceProperties;
    use serde_json::json;
    use std::sync::Mutex;

    /// Pages of a fixed list, recording how many pages were asked for.
    struct Pages {
        pages: Vec<Vec<Export>>,
        served: Mutex<u32>,
        fail: Option<SourceError>,
    }

    impl Pages {
        fn of(count: usize, page_size: usize) -> Pages {
            let exports: Vec<Export> = (0..count)
                .map(|i| Export::new(format!("stack{}-Output{i}", i % 3), format!("value-{i}"), "stack-id"))
                .collect();
            Pages {
                pages: exports.chunks(page_size).map(<[Export]>::to_vec).collect(),
                served: Mutex::new(0),
                fail: None,
            }
        }
        fn served(&self) -> u32 {
            *self.served.lock().unwrap()
        }
    }

    impl ExportSource for Pages {
        async fn scan_exports(
            &self,
            _: &Source,
            on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
        ) -> Result<u32, SourceError> {
            if let Some(error) = &self.fail {
                return Err(error.clone());
            }
            let mut pages = 0;
            for page in &self.pages {
                pages += 1;
                *self.served.lock().unwrap() += 1;
                if on_page(page.clone()).is_break() {
                    break;
                }
            }
            Ok(pages)
        }
    }

    fn plan_with(properties: serde_json::Value, governance: &Governance) -> LookupPlan {
        let origin = Origin {
            stack_region: Some("eu-west-1"),
            function_region: None,
            stack_name: Some("s"),
            consumer_account: Some("111111111111"),
            logical_resource_id: "L",
        };
        LookupPlan::new(ResourceProperties::parse(&properties).unwrap(), governance, None, origin).unwrap()
    }

    fn plan(properties: serde_json::Value) -> LookupPlan {
        plan_with(properties, &Governance::default())
    }

    async fn run(source: &Pages, properties: serde_json::Value) -> Result<Selected, LookupError> {
        lookup(source, &plan(properties)).await
    }

    #[tokio::test]
    async fn no_selection_returns_everything_from_every_page() {
        let source = Pages::of(250, 100);
        let selected = run(&source, json!({})).await.unwrap();
        assert_eq!(selected.data.len(), 250);
        assert_eq!(selected.data["stack1-Output4"], "value-4");
        assert_eq!((selected.pages, selected.scanned), (3, 250));
    }

    #[tokio::test]
    async fn exact_names_stop_paging_once_all_are_found() {
        let source = Pages::of(1000, 100);
        let selected = run(&source, json!({"ExportNames": ["stack0-Output3", "stack0-Output150"]})).await.unwrap();
        assert_eq!(selected.data.len(), 2);
        assert_eq!(selected.data["stack0-Output150"], "value-150");
        assert_eq!(source.served(), 2, "read past the page holding the last name");
    }

    #[tokio::test]
    async fn aliases_rename_keys_and_may_share_a_target() {
        let source = Pages::of(10, 100);
        let selected =
            run(&source, json!({"Exports": {"Topic": "stack0-Output0", "Same": "stack0-Output0"}, "ExportNames": ["stack0-Output0"]})).await.unwrap();
        assert_eq!(selected.data.len(), 3);
        assert_eq!(selected.data["Topic"], "value-0");
        assert_eq!(selected.data["Same"], "value-0");
        assert_eq!(selected.data["stack0-Output0"], "value-0");
    }

    #[tokio::test]
    async fn a_prefix_reads_every_page_and_unions_with_names() {
        let source = Pages::of(300, 100);
        let selected =
            run(&source, json!({"ExportPrefix": "stack2-", "ExportNames": ["stack0-Output0"]})).await.unwrap();
        assert_eq!(selected.data.len(), 101);
        assert!(selected.data.keys().all(|k| k.starts_with("stack2-") || k == "stack0-Output0"));
        assert_eq!(source.served(), 3);
    }

    #[tokio::test]
    async fn missing_names_are_all_named_with_suggestions() {
        let source = Pages::of(30, 100);
        let error = run(&source, json!({"ExportNames": ["stack0-Output0", "stack1-Outptu4", "nothing-like-it"]}))
            .await
            .unwrap_err();
        let LookupError::Missing { missing, scanned, .. } = &error else { panic!("{error:?}") };
        assert_eq!(*scanned, 30);
        assert_eq!(missing[0], MissingExport { name: "nothing-like-it".into(), suggestions: vec![] });
        assert_eq!(missing[1].name, "stack1-Outptu4");
        assert_eq!(missing[1].suggestions[0], "stack1-Output4");
    }

    #[tokio::test]
    async fn a_prefix_that_matches_nothing_fails() {
        let source = Pages::of(30, 100);
        let error = run(&source, json!({"ExportPrefix": "vpc-"})).await.unwrap_err();
        assert!(matches!(error, LookupError::PrefixMatchedNothing { hidden: 0, .. }), "{error:?}");
    }

    #[tokio::test]
    async fn an_alias_key_that_starts_with_the_prefix_does_not_hide_an_empty_prefix() {
        let source = Pages::of(30, 100);
        let error = run(&source, json!({"ExportPrefix": "vpc-", "Exports": {"vpc-Alias": "stack0-Output0"}}))
            .await
            .unwrap_err();
        assert!(matches!(error, LookupError::PrefixMatchedNothing { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn the_visible_count_leaves_out_hidden_exports() {
        let governance = Governance { allowed_exports: PatternList::parse("stack1-*"), ..Default::default() };
        let source = Pages::of(30, 100);
        let error =
            lookup(&source, &plan_with(json!({"ExportNames": ["stack1-Nope"]}), &governance)).await.unwrap_err();
        assert!(matches!(error, LookupError::Missing { scanned: 10, .. }), "{error:?}");
        assert!(error.to_string().contains("10 export(s) were visible"), "{error}");
    }

    #[test]
    fn debug_never_shows_values() {
        let export = Export::new("db-Password", "hunter2", "stack-id");
        let selected = Selected {
            data: BTreeMap::from([("k".into(), "hunter2".into())]),
            origins: BTreeMap::new(),
            scanned: 1,
            pages: 1,
        };
        for shown in [format!("{export:?}"), format!("{selected:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_alias_that_shadows_a_prefix_match_fails() {
        let source = Pages::of(30, 100);
        let error = run(&source, json!({"ExportPrefix": "stack1-", "Exports": {"stack1-Output1": "stack0-Output0"}}))
            .await
            .unwrap_err();
        assert!(matches!(error, LookupError::AliasCollision { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn allowed_exports_hide_everything_else() {
        let governance = Governance { allowed_exports: PatternList::parse("stack1-*"), ..Default::default() };
        let source = Pages::of(30, 7);
        let selected = lookup(&source, &plan_with(json!({}), &governance)).await.unwrap();
        assert_eq!(selected.data.len(), 10);
        assert!(selected.data.keys().all(|k| k.starts_with("stack1-")));
        let error = lookup(&source, &plan_with(json!({"ExportPrefix": "stack2-"}), &governance)).await.unwrap_err();
        assert!(matches!(error, LookupError::PrefixMatchedNothing { hidden: 20, .. }), "{error:?}");
        assert!(error.to_string().contains("hidden from this stack by the function's allow-lists"));
    }

    #[tokio::test]
    async fn suggestions_never_reveal_hidden_exports() {
        let governance = Governance { allowed_exports: PatternList::parse("stack1-*"), ..Default::default() };
        let source = Pages::of(30, 100);
        let error =
            lookup(&source, &plan_with(json!({"ExportNames": ["stack1-Output0"]}), &governance)).await.unwrap_err();
        let LookupError::Missing { missing, .. } = error else { panic!() };
        assert!(missing[0].suggestions.iter().all(|s| s.starts_with("stack1-")), "{:?}", missing[0].suggestions);
    }

    #[tokio::test]
    async fn a_source_failure_names_the_source() {
        let mut source = Pages::of(1, 1);
        source.fail = Some(SourceError {
            step: SourceStep::ListExports,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".into()),
            message: "no".into(),
        });
        let error = lookup(&source, &plan(json!({"RoleArn": "arn:aws:iam::222222222222:role/r"}))).await.unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("Could not read exports from account 222222222222 in eu-west-1"), "{text}");
        assert!(text.contains("cloudformation:ListExports"), "{text}");
    }
}
