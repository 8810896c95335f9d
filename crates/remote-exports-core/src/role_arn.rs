use std::fmt;

/// An IAM role ARN, checked for shape before any call: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleArn(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an IAM role ARN; expected arn:<partition>:iam::<12-digit account>:role/<name>")]
pub struct InvalidRoleArn(pub String);

impl RoleArn {
    pub fn parse(text: &str) -> Result<RoleArn, InvalidRoleArn> {
        let invalid = || InvalidRoleArn(text.to_owned());
        let mut parts = text.splitn(6, ':');
        let fields = [parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()];
        let [Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)] = fields else {
            return Err(invalid());
        };
        let partition_ok =
            partition.starts_with("aws") && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let name = resource.strip_prefix("role/").and_then(|path| path.rsplit('/').next()).unwrap_or("");
        let name_ok = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        let path_ok = resource.len() <= 512 + 5 + 64 && resource.bytes().all(|b| b.is_ascii_graphic());
        if partition_ok && account_ok && name_ok && path_ok { Ok(RoleArn(text.to_owned())) } else { Err(invalid()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn account(&self) -> &str {
        self.0.split(':').nth(4).expect("validated")
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_role_arns_of_every_partition_and_path() {
        for arn in [
            "arn:aws:iam::222222222222:role/remote-exports-reader",
            "arn:aws:iam::222222222222:role/platform/readers/remote-exports",
            "arn:aws-cn:iam::222222222222:role/x",
            "arn:aws-us-gov:iam::222222222222:role/a+b=c,d.e@f_g-h",
        ] {
            let role = RoleArn::parse(arn).unwrap();
            assert_eq!(role.account(), "222222222222");
            assert_eq!(role.as_str(), arn);
        }
    }

    #[test]
    fn refuses_anything_that_is_not_a_role_arn() {
        for arn in [
            "",
            "222222222222",
            "arn:aws:iam::22222222222:role/x",
            "arn:aws:iam::2222222222222:role/x",
            "arn:aws:iam::22222222222a:role/x",
            "arn:aws:iam::222222222222:user/x",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:sts::222222222222:assumed-role/x/y",
            "arn:aws:iam:eu-west-1:222222222222:role/x",
            "arn:gcp:iam::222222222222:role/x",
            "arn:aws:iam::222222222222:role/has space",
            "arn:aws:iam::222222222222:role/this-name-is-far-too-long-for-iam-which-allows-only-sixty-four-chars",
        ] {
            assert!(RoleArn::parse(arn).is_err(), "{arn}");
        }
    }
}
