//! SSM parameters as a resource names them: a name (`/booking/prod/topic-arn`) or an ARN (a parameter
//! of the publisher's account, or one shared with it through AWS RAM), with an optional version or
//! label selector (`:3`, `:prod`), which GetParameters honours as given.

/// GetParameters reads at most this many names per call.
pub const GET_PARAMETERS_BATCH: usize = 10;

/// A parameter reference as written in `Parameters`, checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParameterRef(String);

/// Why a `Parameters` entry is not a parameter reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not an SSM parameter name or ARN (a name is 1 to 2048 letters, digits and _ . - /, a path starts \
     with /; an ARN is arn:<partition>:ssm:<region>:<account>:parameter/<name>; either may end in :<version> or \
     :<label>)"
)]
pub struct InvalidParameterRef(pub String);

impl ParameterRef {
    pub fn parse(text: &str) -> Result<ParameterRef, InvalidParameterRef> {
        let invalid = || InvalidParameterRef(text.to_owned());
        let (base, selector) = split_selector(text);
        let name = match base.strip_prefix("arn:") {
            Some(rest) => {
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                let [partition, "ssm", region, account, resource] = parts.as_slice() else { return Err(invalid()) };
                let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
                if partition.is_empty() || !crate::properties::is_region_name(region) || !account_ok {
                    return Err(invalid());
                }
                resource.strip_prefix("parameter").filter(|name| name.starts_with('/')).ok_or_else(invalid)?
            }
            None => base,
        };
        let name_char = |b: u8| b.is_ascii_alphanumeric() || b"_.-/".contains(&b);
        let levels = name.split('/').filter(|level| !level.is_empty()).count();
        let valid_name = (1..=2048).contains(&name.len())
            && name.bytes().all(name_char)
            && !name.contains("//")
            && !name.ends_with('/')
            && levels <= 15;
        let valid_selector = selector.is_none_or(|s| {
            let version = !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
            let label = (1..=100).contains(&s.len())
                && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            version || label
        });
        if valid_name && valid_selector { Ok(ParameterRef(text.to_owned())) } else { Err(invalid()) }
    }

    /// As written, selector included: what GetParameters is asked for.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without its selector: the name or ARN GetParameters answers with.
    pub fn base(&self) -> &str {
        split_selector(&self.0).0
    }

    pub fn selector(&self) -> Option<&str> {
        split_selector(&self.0).1
    }

    pub fn is_arn(&self) -> bool {
        self.0.starts_with("arn:")
    }

    /// The parameter's name: the reference itself, or the part of an ARN after `:parameter`.
    pub fn name(&self) -> &str {
        name_in(self.base())
    }

    /// The account an ARN names; `None` for a name (the publisher's own account).
    pub fn arn_account(&self) -> Option<&str> {
        self.is_arn().then(|| self.base().split(':').nth(4)).flatten()
    }

    /// The region an ARN names; `None` for a name.
    pub fn arn_region(&self) -> Option<&str> {
        self.is_arn().then(|| self.base().split(':').nth(3)).flatten()
    }

    /// What the allow-lists match: the name, or, for the ARN of another account's parameter (shared
    /// through AWS RAM), the ARN itself, so that a name pattern never admits a parameter of an owner
    /// the platform team did not name.
    pub fn governed_name(&self, publisher_account: Option<&str>) -> &str {
        match self.arn_account() {
            Some(owner) if Some(owner) != publisher_account => self.base(),
            _ => self.name(),
        }
    }

    /// The path that holds it (`/booking/prod` for `/booking/prod/topic-arn`), where near matches
    /// are looked for when it is missing; `None` for a name outside any path.
    pub fn parent_path(&self) -> Option<&str> {
        let name = self.name();
        if !name.starts_with('/') {
            return None;
        }
        let (parent, _) = name.rsplit_once('/')?;
        Some(if parent.is_empty() { "/" } else { parent })
    }

    /// The Data key of an entry listed without an alias: the entry as written, so that
    /// `!GetAtt Lookup./booking/prod/topic-arn` reads it. CloudFormation looks an attribute up as one
    /// exact key of Data (the short form splits at the first dot only), and SSM names hold only
    /// letters, digits and `_ . - /`; a name changed into a "safer" key could collide with another.
    pub fn data_key(&self) -> String {
        self.0.clone()
    }
}

impl std::fmt::Display for ParameterRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parameter's name in a name or an ARN: the ARN's part after `:parameter`, where SSM writes
/// `parameter/flag` for the name `flag` and `parameter/a/b` for `/a/b`.
fn name_in(base: &str) -> &str {
    if !base.starts_with("arn:") {
        return base;
    }
    let Some((_, resource)) = base.split_once(":parameter") else { return base };
    match resource.strip_prefix('/') {
        Some(single) if !single.contains('/') => single,
        _ => resource,
    }
}

/// `name:selector`: a selector follows the last `:` of a name (names have none) or of an ARN's
/// resource part (after `:parameter`).
fn split_selector(text: &str) -> (&str, Option<&str>) {
    let resource_start =
        if text.starts_with("arn:") { text.find(":parameter").map_or(text.len(), |i| i + 1) } else { 0 };
    match text[resource_start..].rfind(':') {
        Some(at) => (&text[..resource_start + at], Some(&text[resource_start + at + 1..])),
        None => (text, None),
    }
}

/// One parameter as GetParameters returned it. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub arn: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// A `StringList` as SSM stores it: comma-joined, which is what CloudFormation passes for one.
    pub value: String,
    pub version: i64,
    /// When this version was written, in ms since the epoch (0 when not given).
    pub modified_ms: i64,
}

impl Parameter {
    pub fn is_secure(&self) -> bool {
        self.kind == "SecureString"
    }

    /// Whether GetParameters answered this parameter for `wanted`: by name or by ARN, as asked.
    pub fn answers(&self, wanted: &ParameterRef) -> bool {
        let base = wanted.base();
        let answered = if self.arn.is_empty() { name_in(&self.name) } else { name_in(&self.arn) };
        self.name == base || self.arn == base || answered == wanted.name()
    }
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parameter")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("version", &self.version)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Splits references into GetParameters calls: at most [`GET_PARAMETERS_BATCH`] per call, and one
/// reference per parameter name in a call (a name and an ARN of one parameter, or two selectors of
/// it, go to different calls), so that each answer names the one reference it answers.
pub fn batches(wanted: &[ParameterRef]) -> Vec<Vec<ParameterRef>> {
    let mut batches: Vec<Vec<ParameterRef>> = Vec::new();
    for reference in wanted {
        let fits = |batch: &&mut Vec<ParameterRef>| {
            batch.len() < GET_PARAMETERS_BATCH && batch.iter().all(|other| other.name() != reference.name())
        };
        match batches.iter_mut().find(fits) {
            Some(batch) => batch.push(reference.clone()),
            None => batches.push(vec![reference.clone()]),
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ParameterRef {
        ParameterRef::parse(text).unwrap()
    }

    #[test]
    fn names_arns_and_selectors_are_read_as_ssm_documents_them() {
        let plain = parsed("/booking/prod/topic-arn");
        assert_eq!(
            (plain.base(), plain.selector(), plain.name()),
            ("/booking/prod/topic-arn", None, "/booking/prod/topic-arn")
        );
        assert_eq!(plain.parent_path(), Some("/booking/prod"));
        assert_eq!(plain.data_key(), "/booking/prod/topic-arn");
        let version = parsed("/booking/prod/topic-arn:3");
        assert_eq!((version.base(), version.selector()), ("/booking/prod/topic-arn", Some("3")));
        assert_eq!(version.data_key(), "/booking/prod/topic-arn:3");
        let label = parsed("booking.flag:prod");
        assert_eq!((label.base(), label.selector(), label.parent_path()), ("booking.flag", Some("prod"), None));
        let arn = parsed("arn:aws:ssm:eu-west-1:333333333333:parameter/shared/vpc-id:2");
        assert_eq!(arn.base(), "arn:aws:ssm:eu-west-1:333333333333:parameter/shared/vpc-id");
        assert_eq!((arn.name(), arn.selector(), arn.is_arn()), ("/shared/vpc-id", Some("2"), true));
        assert_eq!((arn.arn_account(), arn.arn_region()), (Some("333333333333"), Some("eu-west-1")));
        assert_eq!(arn.governed_name(Some("333333333333")), "/shared/vpc-id");
        assert_eq!(arn.governed_name(Some("222222222222")), arn.base(), "another owner is governed by its ARN");
        assert_eq!(plain.governed_name(Some("222222222222")), "/booking/prod/topic-arn");
        // SSM's ARN of the name `flag` is parameter/flag, as is that of /flag's: one name per level.
        assert_eq!(parsed("arn:aws:ssm:eu-west-1:222222222222:parameter/flag").name(), "flag");
        assert_eq!(parsed("/top").parent_path(), Some("/"));
        let public = parsed("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
        assert_eq!(public.selector(), None);
    }

    #[test]
    fn refuses_what_ssm_would_refuse() {
        for bad in [
            "",
            "has space",
            "/a//b",
            "/trailing/",
            "/a:",
            "/a:3x",
            "/a:-label",
            "arn:aws:ssm:eu-west-1:2222:parameter/x",
            "arn:aws:s3:::bucket",
            "arn:aws:ssm:eu-west-1:222222222222:parameter",
            "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",
        ] {
            assert!(ParameterRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn batches_hold_ten_and_one_reference_per_parameter() {
        let refs: Vec<ParameterRef> = (0..11).map(|i| parsed(&format!("/p/{i}"))).collect();
        let split = batches(&refs);
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), [10, 1]);
        let same = [
            parsed("/a/x"),
            parsed("/a/x:1"),
            parsed("/b"),
            parsed("arn:aws:ssm:eu-west-1:222222222222:parameter/a/x:prod"),
        ];
        let split = batches(&same);
        assert_eq!(split.len(), 3);
        assert!(split.iter().all(|batch| batch.iter().filter(|r| r.name() == "/a/x").count() == 1));
    }
}
