//! Selection: the plan's source read page by page and folded into the Data map, with defaults and
//! "did you mean" for what is missing. (Half of this file is its tests.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use crate::error::{LookupError, MissingExport, MissingKind};
use crate::parameter::{Parameter, ParameterRef, batches};
use crate::plan::{LookupPlan, Source};
use crate::ports::PublisherReads;
use crate::properties::{OutputRequest, PropertyError, output_ref};
use crate::published::{Export, ExportOrigin, ParameterVersion, StackOutputs, parameter_origin};
use crate::suggest::closest;

/// The selected exports and stack outputs, ready to become the response's Data. `Debug` shows the
/// keys only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Selected {
    pub data: BTreeMap<String, String>,
    /// For each Data key, the export or stack output it holds.
    pub origins: BTreeMap<String, ExportOrigin>,
    /// Data keys that hold a `Defaults` value because what they name is missing.
    pub defaulted: BTreeSet<String>,
    /// Exports read from the source, including the ones hidden by the allow-lists.
    pub scanned: usize,
    pub pages: u32,
    /// Stacks described (DescribeStacks, or their snapshot).
    pub stacks: usize,
    /// GetParameters calls (batches of ten).
    pub parameter_calls: usize,
}

impl std::fmt::Debug for Selected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selected")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("defaulted", &self.defaulted)
            .field("scanned", &self.scanned)
            .field("pages", &self.pages)
            .field("stacks", &self.stacks)
            .field("parameter_calls", &self.parameter_calls)
            .finish()
    }
}

/// Reads the plan's source and selects from it: the exports (stopping as soon as nothing more can
/// be selected) and each named stack's outputs, all at once. Missing values take their defaults;
/// whatever is still missing is named in one failure.
pub async fn lookup<S: PublisherReads>(exports: &S, plan: &LookupPlan) -> Result<Selected, LookupError> {
    let selection = &plan.selection;
    let read_exports = async {
        if !selection.needs_exports() {
            return Ok::<_, LookupError>(None);
        }
        let mut selector = Selector::new(plan);
        let pages = exports
            .scan_exports(&plan.source, &mut |page| selector.take(page))
            .await
            .map_err(|error| LookupError::Source { source_name: plan.source.describe(), error })?;
        Ok(Some((selector, pages)))
    };
    let read_stacks =
        futures_util::future::join_all(selection.outputs.keys().map(|stack| async move {
            let outputs = exports.stack_outputs(&plan.source, stack).await.map_err(|error| {
                LookupError::StackSource { stack: stack.clone(), source_name: plan.source.describe(), error }
            })?;
            Ok::<_, LookupError>((stack.as_str(), outputs))
        }));
    // Parameters: one GetParameters per batch of ten, decrypted only for a NoEcho resource.
    let read_parameters = async {
        let wanted = selection.parameter_refs();
        let calls = batches(&wanted);
        let reads = futures_util::future::join_all(
            calls.iter().map(|batch| exports.get_parameters(&plan.source, batch, plan.no_echo)),
        )
        .await;
        let mut found = Vec::new();
        for read in reads {
            found.extend(
                read.map_err(|error| LookupError::ParameterSource { source_name: plan.source.describe(), error })?,
            );
        }
        Ok::<_, LookupError>((wanted, found, calls.len()))
    };
    let (read_exports, stacks, parameters) =
        futures_util::future::join3(read_exports, read_stacks, read_parameters).await;

    let mut selected = Selected::default();
    let mut missing = Vec::new();
    let mut scanned = None;
    let mut exporting_stack_ids = None;
    if let Some((mut selector, pages)) = read_exports? {
        scanned = Some(selector.scanned - selector.hidden);
        exporting_stack_ids = Some(std::mem::take(&mut selector.exporting_stacks));
        selector.finish(pages, &mut selected, &mut missing)?;
    }
    for read in stacks {
        let (stack, outputs) = read?;
        selected.stacks += 1;
        select_outputs(plan, stack, &selection.outputs[stack], outputs, &mut selected, &mut missing);
    }
    let (wanted, found, calls) = parameters?;
    selected.parameter_calls = calls;
    select_parameters(plan, &wanted, found, &mut selected, &mut missing)?;
    apply_defaults(plan, &mut selected, &mut missing);
    if missing.is_empty() {
        return Ok(selected);
    }
    if missing.iter().any(|m| m.kind == MissingKind::Parameter) {
        suggest_parameters(exports, plan, &mut missing).await;
    }
    if missing.iter().any(|m| m.kind == MissingKind::Stack) {
        let ids = match exporting_stack_ids {
            Some(ids) => ids,
            None => stacks_that_export(exports, &plan.source).await,
        };
        suggest_stacks(plan, &ids, &mut missing);
    }
    missing.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Err(LookupError::Missing { source_name: plan.source.describe(), missing, scanned })
}

/// Puts one stack's visible outputs into Data: every one for a whole-stack request, and each
/// required key (under its own name and its aliases), or notes what is missing.
fn select_outputs(
    plan: &LookupPlan,
    stack: &str,
    request: &OutputRequest,
    outputs: Option<StackOutputs>,
    selected: &mut Selected,
    missing: &mut Vec<MissingExport>,
) {
    let Some(StackOutputs { stack_id, outputs }) = outputs else {
        let uncovered = request.every
            || request.required().any(|key| !plan.selection.defaults.contains_key(&format!("{stack}.{key}")));
        if uncovered {
            missing.push(MissingExport { name: stack.to_owned(), suggestions: Vec::new(), kind: MissingKind::Stack });
        }
        return;
    };
    let visible: BTreeMap<String, String> = outputs
        .into_iter()
        .map(|(key, value)| (format!("{stack}.{key}"), value))
        .filter(|(name, _)| plan.visible_outputs.allows(name))
        .collect();
    let origin = |name: &str| ExportOrigin::new(name, stack_id.clone());
    if request.every {
        if visible.is_empty() && request.keys.is_empty() {
            missing.push(MissingExport {
                name: stack.to_owned(),
                suggestions: Vec::new(),
                kind: MissingKind::NoOutputs,
            });
        }
        for (name, value) in &visible {
            selected.data.insert(name.clone(), value.clone());
            selected.origins.insert(name.clone(), origin(name));
        }
    }
    for key in request.required() {
        let name = format!("{stack}.{key}");
        match visible.get(&name) {
            Some(value) => {
                for data_key in plan.selection.data_keys_of(&name) {
                    selected.data.insert(data_key.to_owned(), value.clone());
                    selected.origins.insert(data_key.to_owned(), origin(&name));
                }
            }
            None => missing.push(MissingExport {
                suggestions: closest(&name, visible.keys().map(String::as_str)),
                name,
                kind: MissingKind::Output,
            }),
        }
    }
}

/// The IDs of the stacks that export something: the stacks this role can be seen to have, read
/// only on the way to a failure (a best effort: an unreadable list suggests nothing).
async fn stacks_that_export<S: PublisherReads>(exports: &S, source: &Source) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut collect = |page: Vec<Export>| {
        ids.extend(page.into_iter().map(|export| export.exporting_stack_id));
        ControlFlow::Continue(())
    };
    let _ = exports.scan_exports(source, &mut collect).await;
    ids
}

/// Suggests, for each missing stack, stacks that exist (they export something, or were found here)
/// and whose outputs this request may see.
fn suggest_stacks(plan: &LookupPlan, exporting_stack_ids: &BTreeSet<String>, missing: &mut [MissingExport]) {
    // `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`
    let exporting = exporting_stack_ids.iter().filter_map(|id| id.split('/').nth(1));
    let known: BTreeSet<&str> = exporting
        .chain(plan.selection.outputs.keys().map(String::as_str))
        .filter(|name| plan.visible_outputs.may_allow_under(&format!("{name}.")))
        .collect();
    let absent: BTreeSet<String> =
        missing.iter().filter(|m| m.kind == MissingKind::Stack).map(|m| m.name.clone()).collect();
    for entry in missing.iter_mut().filter(|m| m.kind == MissingKind::Stack) {
        let candidates = known.iter().copied().filter(|name| !absent.contains(*name));
        entry.suggestions = closest(&entry.name, candidates);
    }
}

/// Puts each parameter found under its Data keys, or notes it missing. A SecureString is answered
/// only to a NoEcho resource, so that CloudFormation masks it.
fn select_parameters(
    plan: &LookupPlan,
    wanted: &[ParameterRef],
    found: Vec<(ParameterRef, Parameter)>,
    selected: &mut Selected,
    missing: &mut Vec<MissingExport>,
) -> Result<(), LookupError> {
    let secure: Vec<String> =
        found.iter().filter(|(_, p)| p.is_secure() && !plan.no_echo).map(|(r, _)| r.to_string()).collect();
    if !secure.is_empty() {
        return Err(LookupError::SecureWithoutNoEcho { names: secure });
    }
    let mut answered = BTreeSet::new();
    for (reference, parameter) in found {
        let origin = parameter_origin(&reference, &parameter);
        for key in plan.selection.parameter_keys_of(&reference) {
            // An export that ExportPrefix (or "everything") matched under the same key.
            if let Some(export) = selected.origins.get(key).filter(|o| o.parameter.is_none()) {
                return Err(LookupError::Properties(PropertyError::DataKeyClash {
                    key: key.to_owned(),
                    first: format!("'{}'", export.export),
                    second: format!("parameter '{reference}'"),
                }));
            }
            selected.data.insert(key.to_owned(), parameter.value.clone());
            selected.origins.insert(key.to_owned(), origin.clone());
        }
        answered.insert(reference);
    }
    for reference in wanted.iter().filter(|r| !answered.contains(*r)) {
        missing.push(MissingExport {
            name: reference.to_string(),
            suggestions: Vec::new(),
            kind: MissingKind::Parameter,
        });
    }
    Ok(())
}

/// Suggests, for each missing parameter, the closest names under its path that this request may
/// read: one GetParametersByPath per path, only on the way to a failure (a best effort).
async fn suggest_parameters<S: PublisherReads>(exports: &S, plan: &LookupPlan, missing: &mut [MissingExport]) {
    let mut under: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in missing.iter().filter(|m| m.kind == MissingKind::Parameter) {
        if let Some(path) = ParameterRef::parse(&entry.name).ok().and_then(|r| r.parent_path().map(str::to_owned))
            && !under.contains_key(&path)
        {
            let names = exports.parameter_names_under(&plan.source, &path, false).await.unwrap_or_default();
            let visible = names.into_iter().filter(|name| plan.visible_parameters.allows(name)).collect();
            under.insert(path, visible);
        }
    }
    for entry in missing.iter_mut().filter(|m| m.kind == MissingKind::Parameter) {
        let Ok(reference) = ParameterRef::parse(&entry.name) else { continue };
        let Some(names) = reference.parent_path().and_then(|path| under.get(path)) else { continue };
        let candidates = names.iter().map(String::as_str).filter(|name| *name != reference.name());
        entry.suggestions = closest(reference.name(), candidates);
    }
}

/// Fills each missing export, output or parameter that has a default, under every Data key it would
/// have filled.
fn apply_defaults(plan: &LookupPlan, selected: &mut Selected, missing: &mut Vec<MissingExport>) {
    let defaults = &plan.selection.defaults;
    missing.retain(|entry| {
        if entry.kind == MissingKind::Parameter {
            let Some(default) = defaults.get(&entry.name) else { return true };
            let origin = ExportOrigin {
                export: entry.name.clone(),
                parameter: Some(ParameterVersion::default()),
                ..ExportOrigin::default()
            };
            let keys = plan.selection.parameters.iter().filter(|(_, r)| r.as_str() == entry.name);
            fill(keys.map(|(key, _)| key.as_str()), &origin, default, selected);
            return false;
        }
        let Some(default) = defaults.get(&entry.name).filter(|_| entry.kind <= MissingKind::Output) else {
            return true;
        };
        fill_default(plan, &entry.name, default, selected);
        false
    });
    // Outputs of a missing stack whose every required key has a default were not listed one by one.
    for (stack, request) in &plan.selection.outputs {
        for key in request.required() {
            let name = format!("{stack}.{key}");
            let filled = plan.selection.data_keys_of(&name).all(|data_key| selected.data.contains_key(data_key));
            if let (false, Some(default)) = (filled, defaults.get(&name)) {
                let stack_missing = missing.iter().any(|m| m.kind == MissingKind::Stack && m.name == *stack);
                if !stack_missing {
                    fill_default(plan, &name, default, selected);
                }
            }
        }
    }
}

fn fill_default(plan: &LookupPlan, requested: &str, default: &str, selected: &mut Selected) {
    fill(plan.selection.data_keys_of(requested), &ExportOrigin::new(requested, String::new()), default, selected);
}

/// Puts a default under each of `keys`, marked as a default from `origin`.
fn fill<'k>(keys: impl Iterator<Item = &'k str>, origin: &ExportOrigin, default: &str, selected: &mut Selected) {
    for key in keys {
        selected.data.insert(key.to_owned(), default.to_owned());
        selected.origins.insert(key.to_owned(), origin.clone());
        selected.defaulted.insert(key.to_owned());
    }
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
    /// IDs of the stacks that export visible names, kept only to suggest fixes for missing stacks.
    exporting_stacks: BTreeSet<String>,
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
        // Aliases of stack outputs are filled from DescribeStacks, not from the exports.
        for (alias, name) in plan.selection.aliases.iter().filter(|(_, name)| output_ref(name).is_none()) {
            pending.entry(name).or_default().push(alias);
        }
        Selector {
            plan,
            pending,
            data: BTreeMap::new(),
            origins: BTreeMap::new(),
            other_names: Vec::new(),
            exporting_stacks: BTreeSet::new(),
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
            if !self.plan.selection.outputs.is_empty() && !self.exporting_stacks.contains(&exporting_stack_id) {
                self.exporting_stacks.insert(exporting_stack_id.clone());
            }
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
            let origin = || ExportOrigin::new(name.clone(), exporting_stack_id.clone());
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

    /// Moves what was selected into `selected`, and what is missing into `missing`.
    fn finish(self, pages: u32, selected: &mut Selected, missing: &mut Vec<MissingExport>) -> Result<(), LookupError> {
        if let Some(collision) = self.collision {
            return Err(collision);
        }
        missing.extend(self.pending.keys().map(|name| {
            MissingExport::export(
                *name,
                closest(name, self.other_names.iter().chain(self.data.keys()).map(String::as_str)),
            )
        }));
        if let Some(prefix) = &self.plan.selection.prefix
            && self.prefix_matches == 0
        {
            return Err(LookupError::PrefixMatchedNothing {
                prefix: prefix.clone(),
                source_name: self.plan.source.describe(),
                hidden: self.hidden,
            });
        }
        selected.data.extend(self.data);
        selected.origins.extend(self.origins);
        selected.scanned = self.scanned;
        selected.pages = pages;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Governance;
    use crate::error::ReadError;
    use crate::error::{FailureKind, ReadStep};
    use crate::pattern::PatternList;
    use crate::plan::Origin;
    use crate::properties::ResourceProperties;
    use crate::testing::{Fault, MemoryPublishers, OWN_ACCOUNT};
    use serde_json::json;

    /// `count` exports of the stacks `stack0`..`stack2` (`stack<i%3>-Output<i>` = `value-<i>`) in the
    /// function's own account, in pages of `page_size`.
    fn pages(count: usize, page_size: usize) -> MemoryPublishers {
        let exports = (0..count).map(|i| {
            let stack_id = format!("arn:aws:cloudformation:eu-west-1:222222222222:stack/stack{}/id", i % 3);
            Export::new(format!("stack{}-Output{i}", i % 3), format!("value-{i}"), stack_id)
        });
        MemoryPublishers::new().with_exports(OWN_ACCOUNT, exports).with_page_size(page_size)
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

    async fn run(source: &MemoryPublishers, properties: serde_json::Value) -> Result<Selected, LookupError> {
        lookup(source, &plan(properties)).await
    }

    #[tokio::test]
    async fn no_selection_returns_everything_from_every_page() {
        let source = pages(250, 100);
        let selected = run(&source, json!({})).await.unwrap();
        assert_eq!(selected.data.len(), 250);
        assert_eq!(selected.data["stack1-Output4"], "value-4");
        assert_eq!((selected.pages, selected.scanned), (3, 250));
    }

    #[tokio::test]
    async fn exact_names_stop_paging_once_all_are_found() {
        let source = pages(1000, 100);
        let selected = run(&source, json!({"ExportNames": ["stack0-Output3", "stack0-Output150"]})).await.unwrap();
        assert_eq!(selected.data.len(), 2);
        assert_eq!(selected.data["stack0-Output150"], "value-150");
        assert_eq!(source.pages_served(), 2, "read past the page holding the last name");
    }

    #[tokio::test]
    async fn aliases_rename_keys_and_may_share_a_target() {
        let source = pages(10, 100);
        let selected =
            run(&source, json!({"Exports": {"Topic": "stack0-Output0", "Same": "stack0-Output0"}, "ExportNames": ["stack0-Output0"]})).await.unwrap();
        assert_eq!(selected.data.len(), 3);
        assert_eq!(selected.data["Topic"], "value-0");
        assert_eq!(selected.data["Same"], "value-0");
        assert_eq!(selected.data["stack0-Output0"], "value-0");
    }

    #[tokio::test]
    async fn a_prefix_reads_every_page_and_unions_with_names() {
        let source = pages(300, 100);
        let selected =
            run(&source, json!({"ExportPrefix": "stack2-", "ExportNames": ["stack0-Output0"]})).await.unwrap();
        assert_eq!(selected.data.len(), 101);
        assert!(selected.data.keys().all(|k| k.starts_with("stack2-") || k == "stack0-Output0"));
        assert_eq!(source.pages_served(), 3);
    }

    #[tokio::test]
    async fn missing_names_are_all_named_with_suggestions() {
        let source = pages(30, 100);
        let error = run(&source, json!({"ExportNames": ["stack0-Output0", "stack1-Outptu4", "nothing-like-it"]}))
            .await
            .unwrap_err();
        let LookupError::Missing { missing, scanned, .. } = &error else { panic!("{error:?}") };
        assert_eq!(*scanned, Some(30));
        assert_eq!(missing[0], MissingExport::export("nothing-like-it", vec![]));
        assert_eq!(missing[1].name, "stack1-Outptu4");
        assert_eq!(missing[1].suggestions[0], "stack1-Output4");
    }

    #[tokio::test]
    async fn a_prefix_that_matches_nothing_fails() {
        let source = pages(30, 100);
        let error = run(&source, json!({"ExportPrefix": "vpc-"})).await.unwrap_err();
        assert!(matches!(error, LookupError::PrefixMatchedNothing { hidden: 0, .. }), "{error:?}");
    }

    #[tokio::test]
    async fn an_alias_key_that_starts_with_the_prefix_does_not_hide_an_empty_prefix() {
        let source = pages(30, 100);
        let error = run(&source, json!({"ExportPrefix": "vpc-", "Exports": {"vpc-Alias": "stack0-Output0"}}))
            .await
            .unwrap_err();
        assert!(matches!(error, LookupError::PrefixMatchedNothing { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn the_visible_count_leaves_out_hidden_exports() {
        let governance = Governance { allowed_exports: PatternList::parse("stack1-*"), ..Default::default() };
        let source = pages(30, 100);
        let error =
            lookup(&source, &plan_with(json!({"ExportNames": ["stack1-Nope"]}), &governance)).await.unwrap_err();
        assert!(matches!(error, LookupError::Missing { scanned: Some(10), .. }), "{error:?}");
        assert!(error.to_string().contains("10 export(s) were visible"), "{error}");
    }

    #[test]
    fn debug_never_shows_values() {
        let export = Export::new("db-Password", "hunter2", "stack-id");
        let selected = Selected { data: BTreeMap::from([("k".into(), "hunter2".into())]), ..Selected::default() };
        let outputs = StackOutputs { stack_id: "s".into(), outputs: BTreeMap::from([("k".into(), "hunter2".into())]) };
        for shown in [format!("{export:?}"), format!("{selected:?}"), format!("{outputs:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_alias_that_shadows_a_prefix_match_fails() {
        let source = pages(30, 100);
        let error = run(&source, json!({"ExportPrefix": "stack1-", "Exports": {"stack1-Output1": "stack0-Output0"}}))
            .await
            .unwrap_err();
        assert!(matches!(error, LookupError::AliasCollision { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn allowed_exports_hide_everything_else() {
        let governance = Governance { allowed_exports: PatternList::parse("stack1-*"), ..Default::default() };
        let source = pages(30, 7);
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
        let source = pages(30, 100);
        let error =
            lookup(&source, &plan_with(json!({"ExportNames": ["stack1-Output0"]}), &governance)).await.unwrap_err();
        let LookupError::Missing { missing, .. } = error else { panic!() };
        assert!(missing[0].suggestions.iter().all(|s| s.starts_with("stack1-")), "{:?}", missing[0].suggestions);
    }

    fn booking() -> MemoryPublishers {
        pages(30, 10)
            .with_stack(
                OWN_ACCOUNT,
                "booking-lambda",
                &[("BookingTopicArn", "arn:topic"), ("BookingQueueUrl", "https://q")],
            )
            .with_stack(OWN_ACCOUNT, "vpc", &[("VpcId", "vpc-1")])
    }

    #[tokio::test]
    async fn stack_outputs_are_read_whole_or_by_key_with_one_describe_per_stack_and_no_export_scan() {
        let source = booking();
        let selected = run(
            &source,
            json!({"StackOutputs": ["booking-lambda", "booking-lambda.BookingTopicArn", "vpc.VpcId"],
                   "Exports": {"Topic": "booking-lambda.BookingTopicArn"}}),
        )
        .await
        .unwrap();
        let keys: Vec<_> = selected.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["Topic", "booking-lambda.BookingQueueUrl", "booking-lambda.BookingTopicArn", "vpc.VpcId"]);
        assert_eq!(selected.data["Topic"], "arn:topic");
        assert_eq!(selected.origins["Topic"].export, "booking-lambda.BookingTopicArn");
        assert!(selected.origins["vpc.VpcId"].exporting_stack_id.ends_with("stack/vpc/1"));
        let mut described = source.reads();
        described.sort();
        assert_eq!(described, ["self/booking-lambda", "self/vpc"]);
        assert_eq!((source.pages_served(), selected.stacks), (0, 2), "no export was needed");
    }

    #[tokio::test]
    async fn outputs_and_exports_are_read_together() {
        let source = booking();
        let selected = run(
            &source,
            json!({"ExportNames": ["stack1-Output1"], "StackOutputs": ["vpc.VpcId"], "Exports": {"Vpc": "vpc.VpcId"}}),
        )
        .await
        .unwrap();
        assert_eq!(selected.data.len(), 3);
        assert_eq!(
            (selected.data["stack1-Output1"].as_str(), selected.data["vpc.VpcId"].as_str()),
            ("value-1", "vpc-1")
        );
    }

    #[tokio::test]
    async fn missing_outputs_and_stacks_are_named_with_near_matches() {
        let source = booking();
        let error = run(&source, json!({"StackOutputs": ["booking-lambda.BookingTopicArm", "bookng-lambda", "vpc"]}))
            .await
            .unwrap_err();
        let LookupError::Missing { missing, scanned, .. } = &error else { panic!("{error:?}") };
        assert_eq!(*scanned, None);
        assert_eq!(
            missing,
            &[
                MissingExport {
                    name: "booking-lambda.BookingTopicArm".into(),
                    suggestions: vec!["booking-lambda.BookingTopicArn".into()],
                    kind: MissingKind::Output
                },
                MissingExport {
                    name: "bookng-lambda".into(),
                    suggestions: vec!["booking-lambda".into()],
                    kind: MissingKind::Stack
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_missing_stack_is_suggested_from_the_stacks_that_export() {
        // The exporting stacks are stack0..2 (see `pages`): `stak1` is near `stack1`.
        let source = booking();
        let error = run(&source, json!({"StackOutputs": ["stak1"]})).await.unwrap_err();
        let LookupError::Missing { missing, .. } = &error else { panic!("{error:?}") };
        assert_eq!(missing[0].suggestions[0], "stack1");
        assert_eq!(source.pages_served(), 3, "the exports were listed only to suggest");
    }

    #[tokio::test]
    async fn defaults_fill_missing_values_and_say_so() {
        let source = booking();
        let selected = run(
            &source,
            json!({"ExportNames": ["stack0-Output0", "new-export"], "StackOutputs": ["vpc.SubnetIds", "gone.Key"],
                   "Exports": {"Subnets": "vpc.SubnetIds"},
                   "Defaults": {"new-export": "", "vpc.SubnetIds": "subnet-a,subnet-b", "gone.Key": "fallback"}}),
        )
        .await
        .unwrap();
        assert_eq!(selected.data["new-export"], "");
        assert_eq!(selected.data["vpc.SubnetIds"], "subnet-a,subnet-b");
        assert_eq!(selected.data["Subnets"], "subnet-a,subnet-b");
        assert_eq!(selected.data["gone.Key"], "fallback");
        assert_eq!(selected.data["stack0-Output0"], "value-0");
        let defaulted: Vec<_> = selected.defaulted.iter().map(String::as_str).collect();
        assert_eq!(defaulted, ["Subnets", "gone.Key", "new-export", "vpc.SubnetIds"]);
        assert_eq!(selected.origins["Subnets"].exporting_stack_id, "");
    }

    #[tokio::test]
    async fn a_default_never_covers_a_whole_missing_stack_or_other_keys() {
        let source = booking();
        let error = run(&source, json!({"StackOutputs": ["gone", "gone.Key"], "Defaults": {"gone.Key": "x"}}))
            .await
            .unwrap_err();
        assert!(matches!(&error, LookupError::Missing { missing, .. } if missing[0].kind == MissingKind::Stack));
        let error =
            run(&source, json!({"ExportNames": ["a", "b"], "Defaults": {"a": "x"}})).await.unwrap_err().to_string();
        assert!(error.starts_with("1 requested export(s) not found") && error.contains("'b'"), "{error}");
    }

    #[tokio::test]
    async fn outputs_outside_the_lists_are_never_returned_counted_or_suggested() {
        let governance = Governance {
            allowed_stack_outputs: PatternList::parse("booking-lambda.BookingQueue*"),
            ..Default::default()
        };
        let source = booking();
        let selected =
            lookup(&source, &plan_with(json!({"StackOutputs": ["booking-lambda"]}), &governance)).await.unwrap();
        let keys: Vec<_> = selected.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["booking-lambda.BookingQueueUrl"]);
        let error =
            lookup(&source, &plan_with(json!({"StackOutputs": ["booking-lambda.BookingQueueUr"]}), &governance))
                .await
                .unwrap_err();
        assert!(error.to_string().contains("did you mean 'booking-lambda.BookingQueueUrl'"), "{error}");
        let hidden =
            Governance { allowed_stack_outputs: PatternList::parse("booking-lambda.Other*"), ..Default::default() };
        let error =
            lookup(&source, &plan_with(json!({"StackOutputs": ["booking-lambda"]}), &hidden)).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("stack 'booking-lambda' (it has no output this stack may read)"), "{text}");
        assert!(!text.contains("BookingTopicArn"), "{text}");
    }

    const PUBLISHER: &str = "222222222222";
    const READER: &str = "arn:aws:iam::222222222222:role/remote-exports-reader";

    fn parameters() -> MemoryPublishers {
        MemoryPublishers::new()
            .with_exports(PUBLISHER, [Export::new("booking-topic", "export-value", "stack/booking/1")])
            .with_parameter(PUBLISHER, "/booking/prod/topic-arn", "String", "arn:topic:v1")
            .with_parameter(PUBLISHER, "/booking/prod/topic-arn", "String", "arn:topic:v2")
            .with_label(PUBLISHER, "/booking/prod/topic-arn", "stable", 1)
            .with_parameter(PUBLISHER, "/booking/prod/subnets", "StringList", "subnet-a,subnet-b")
            .with_parameter(PUBLISHER, "/booking/prod/db-password", "SecureString", "hunter2")
    }

    #[tokio::test]
    async fn parameters_are_read_by_name_version_and_label_under_their_names_or_keys() {
        let source = parameters();
        let selected = run(
            &source,
            json!({"RoleArn": READER, "Parameters": {"Topic": "/booking/prod/topic-arn", "Stable": "/booking/prod/topic-arn:stable"}}),
        )
        .await
        .unwrap();
        assert_eq!(selected.data["Topic"], "arn:topic:v2");
        assert_eq!(selected.data["Stable"], "arn:topic:v1");
        let selected = run(
            &source,
            json!({"RoleArn": READER, "Parameters": ["/booking/prod/topic-arn:1", "/booking/prod/subnets"]}),
        )
        .await
        .unwrap();
        assert_eq!(selected.data["/booking/prod/topic-arn:1"], "arn:topic:v1");
        assert_eq!(selected.data["/booking/prod/subnets"], "subnet-a,subnet-b", "a StringList is comma-joined");
        let origin = &selected.origins["/booking/prod/subnets"];
        assert_eq!(origin.parameter.unwrap().version, Some(1));
        assert!(source.reads().iter().all(|read| read.contains("ssm:")), "no export scan: {:?}", source.reads());
    }

    #[tokio::test]
    async fn a_securestring_is_answered_only_to_a_noecho_resource() {
        let source = parameters();
        let refused =
            run(&source, json!({"RoleArn": READER, "Parameters": ["/booking/prod/db-password"]})).await.unwrap_err();
        assert!(
            matches!(&refused, LookupError::SecureWithoutNoEcho { names } if names == &["/booking/prod/db-password"])
        );
        assert!(refused.to_string().contains("NoEcho: \"true\""), "{refused}");
        let masked =
            run(&source, json!({"RoleArn": READER, "Parameters": ["/booking/prod/db-password"], "NoEcho": "true"}))
                .await
                .unwrap();
        assert_eq!(masked.data["/booking/prod/db-password"], "hunter2");
    }

    #[tokio::test]
    async fn eleven_parameters_take_two_calls_and_a_name_shared_with_an_export_stays_apart() {
        let mut source = MemoryPublishers::new().with_exports(PUBLISHER, [Export::new("flag", "export", "stack/x/1")]);
        for i in 0..11 {
            source = source.with_parameter(PUBLISHER, &format!("/many/p{i}"), "String", &format!("v{i}"));
        }
        source = source.with_parameter(PUBLISHER, "flag", "String", "parameter");
        let names: Vec<String> = (0..11).map(|i| format!("/many/p{i}")).collect();
        let selected = run(&source, json!({"RoleArn": READER, "Parameters": names})).await.unwrap();
        assert_eq!((selected.data.len(), selected.parameter_calls), (11, 2));
        let both =
            run(&source, json!({"RoleArn": READER, "ExportNames": ["flag"], "Parameters": {"FlagParameter": "flag"}}))
                .await
                .unwrap();
        assert_eq!((both.data["flag"].as_str(), both.data["FlagParameter"].as_str()), ("export", "parameter"));
        let clash = ResourceProperties::parse(&json!({"ExportNames": ["flag"], "Parameters": ["flag"]})).unwrap_err();
        assert!(clash.to_string().contains("Data key 'flag' is asked for twice"), "{clash}");
    }

    #[tokio::test]
    async fn a_missing_parameter_is_named_with_near_matches_or_answered_by_its_default() {
        let source = parameters();
        let missing = run(
            &source,
            json!({"RoleArn": READER, "Parameters": ["/booking/prod/topic-ARN", "/booking/prod/topic-arn:9"]}),
        )
        .await
        .unwrap_err();
        let text = missing.to_string();
        assert!(
            text.contains("parameter '/booking/prod/topic-ARN' (did you mean '/booking/prod/topic-arn'?)"),
            "{text}"
        );
        assert!(text.contains("parameter '/booking/prod/topic-arn:9'"), "{text}");
        assert_eq!(missing.kind(), "MissingParameter");
        let by_path: Vec<String> = source.reads().into_iter().filter(|r| r.contains("ssm-path:")).collect();
        assert_eq!(
            by_path,
            ["222222222222/ssm-path:/booking/prod"],
            "one GetParametersByPath per path, only when missing"
        );
        let defaulted = run(
            &source,
            json!({"RoleArn": READER, "Parameters": {"Flag": "/booking/prod/flag"}, "Defaults": {"/booking/prod/flag": "off"}}),
        )
        .await
        .unwrap();
        assert_eq!(defaulted.data["Flag"], "off");
        assert!(defaulted.defaulted.contains("Flag"));
    }

    #[tokio::test]
    async fn allowed_parameters_refuse_before_any_call_and_hide_suggestions() {
        let source = parameters();
        let governance =
            Governance { allowed_parameters: PatternList::parse("/booking/prod/topic-*"), ..Governance::default() };
        let origin = Origin { stack_region: Some("eu-west-1"), logical_resource_id: "L", ..Origin::default() };
        let refused = LookupPlan::new(
            ResourceProperties::parse(&json!({"RoleArn": READER, "Parameters": ["/booking/prod/db-password"]}))
                .unwrap(),
            &governance,
            None,
            origin,
        )
        .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("'/booking/prod/db-password' are not allowed by the function's ALLOWED_PARAMETERS"),
            "{refused}"
        );
        assert_eq!(source.read_count(), 0);
        let missing = lookup(
            &source,
            &plan_with(json!({"RoleArn": READER, "Parameters": ["/booking/prod/topic-arm"]}), &governance),
        )
        .await;
        let text = missing.unwrap_err().to_string();
        assert!(text.contains("did you mean '/booking/prod/topic-arn'?"), "{text}");
        let hidden = lookup(
            &source,
            &plan_with(json!({"RoleArn": READER, "Parameters": ["/booking/prod/topic-sub"]}), &governance),
        )
        .await;
        assert!(!hidden.unwrap_err().to_string().contains("subnets"), "a hidden name is never suggested");
    }

    #[tokio::test]
    async fn parameters_need_a_role_the_arns_region_and_owner_and_a_key_of_their_own() {
        let origin = Origin { stack_region: Some("eu-west-1"), logical_resource_id: "L", ..Origin::default() };
        let planned = |properties: serde_json::Value, governance: &Governance| {
            LookupPlan::new(ResourceProperties::parse(&properties).unwrap(), governance, None, origin)
        };
        let none = planned(json!({"Parameters": ["/a/b"]}), &Governance::default()).unwrap_err();
        assert_eq!(none, LookupError::ParametersNeedRole);
        let elsewhere = "arn:aws:ssm:us-east-1:222222222222:parameter/a/b";
        let error = planned(json!({"RoleArn": READER, "Parameters": [elsewhere]}), &Governance::default()).unwrap_err();
        assert!(error.to_string().contains("is an ARN in region us-east-1, but this resource reads region eu-west-1"));
        // A name pattern admits the publisher's own parameter by ARN, not another owner's.
        let governance = Governance { allowed_parameters: PatternList::parse("/shared/*"), ..Governance::default() };
        let own = "arn:aws:ssm:eu-west-1:222222222222:parameter/shared/vpc";
        let shared = "arn:aws:ssm:eu-west-1:333333333333:parameter/shared/vpc";
        assert!(planned(json!({"RoleArn": READER, "Parameters": [own]}), &governance).is_ok());
        let error = planned(json!({"RoleArn": READER, "Parameters": [shared]}), &governance).unwrap_err();
        assert!(matches!(error, LookupError::ParametersNotAllowed { .. }), "{error}");
        let owner = Governance {
            allowed_parameters: PatternList::parse("arn:*:ssm:*:333333333333:parameter/shared/*"),
            ..Governance::default()
        };
        assert!(planned(json!({"RoleArn": READER, "Parameters": [shared]}), &owner).is_ok());
        // A parameter's key may not take an export's that a prefix matched.
        let source = parameters();
        let clash = run(&source, json!({"RoleArn": READER, "ExportPrefix": "booking-", "Parameters": {"booking-topic": "/booking/prod/topic-arn"}}))
            .await
            .unwrap_err();
        assert!(clash.to_string().contains("Data key 'booking-topic' is asked for twice"), "{clash}");
    }

    #[tokio::test]
    async fn a_describe_failure_names_the_stack_and_the_permission() {
        let source = booking().with_fault(Fault::Fail(ReadError {
            step: ReadStep::ListExports,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".into()),
            message: "not authorized to perform: cloudformation:DescribeStacks".into(),
        }));
        let error = run(&source, json!({"StackOutputs": ["vpc"]})).await.unwrap_err().to_string();
        assert!(error.starts_with("Could not read the outputs of stack vpc in the function's own account"), "{error}");
        assert!(error.contains("ReadableStacks"), "{error}");
    }

    #[tokio::test]
    async fn a_source_failure_names_the_source() {
        let source = pages(1, 1).with_fault(Fault::Fail(ReadError {
            step: ReadStep::ListExports,
            kind: FailureKind::Denied,
            code: Some("AccessDenied".into()),
            message: "no".into(),
        }));
        let error = lookup(&source, &plan(json!({"RoleArn": "arn:aws:iam::222222222222:role/r"}))).await.unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("Could not read exports from account 222222222222 in eu-west-1"), "{text}");
        assert!(text.contains("cloudformation:ListExports"), "{text}");
    }
}
