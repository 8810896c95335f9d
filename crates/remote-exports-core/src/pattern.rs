use std::fmt;

/// A name pattern in which `*` matches any run of characters (including none); everything else is literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(text: &str) -> Pattern {
        Pattern(text.to_owned())
    }

    pub fn matches(&self, candidate: &str) -> bool {
        glob_match(self.0.as_bytes(), candidate.as_bytes())
    }

    /// Whether some name that starts with `prefix` matches: some start of the pattern matches the
    /// prefix exactly, and the rest of the pattern can always match some remainder.
    pub fn may_match_under(&self, prefix: &str) -> bool {
        (0..=self.0.len()).any(|end| glob_match(&self.0.as_bytes()[..end], prefix.as_bytes()))
    }
}

/// Greedy wildcard matching with backtracking to the last `*`: linear in practice, never exponential.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            last_star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star, matched_to)) = last_star {
            p = star + 1;
            t = matched_to + 1;
            last_star = Some((star, t));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// A comma-separated allow-list, as in `ALLOWED_EXPORTS=booking-*,shared-VpcId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternList(Vec<Pattern>);

impl PatternList {
    /// Blank entries are ignored; an all-blank list is `None`, meaning "no restriction".
    pub fn parse(text: &str) -> Option<PatternList> {
        let patterns: Vec<Pattern> =
            text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(Pattern::new).collect();
        (!patterns.is_empty()).then_some(PatternList(patterns))
    }

    /// A list that allows nothing, as an empty `Exports` list in a consumer policy does.
    pub fn nothing() -> PatternList {
        PatternList(Vec::new())
    }

    pub fn allows(&self, candidate: &str) -> bool {
        self.0.iter().any(|pattern| pattern.matches(candidate))
    }

    /// Whether the list may allow some name that starts with `prefix`.
    pub fn may_allow_under(&self, prefix: &str) -> bool {
        self.0.iter().any(|pattern| pattern.may_match_under(prefix))
    }
}

impl fmt::Display for PatternList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pattern) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&pattern.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_whether_anything_under_a_prefix_may_match() {
        let cases = [
            ("booking-*", "booking-lambda.", true),
            ("booking-lambda.Topic*", "booking-lambda.", true),
            ("*.TopicArn", "anything.", true),
            ("shared-*", "booking-lambda.", false),
            ("booking-lambda.Topic", "booking-lambda.", true),
            ("booking-lambda.Topic", "booking-lambdas.", false),
            ("a*b.c", "axxb.", true),
            ("a*b.c", "axxc.", true),
            ("ab.c", "ax.", false),
        ];
        for (pattern, prefix, expected) in cases {
            assert_eq!(Pattern::new(pattern).may_match_under(prefix), expected, "{pattern} under {prefix}");
        }
    }

    #[test]
    fn star_matches_any_run() {
        let cases = [
            ("booking-*", "booking-lambda-TopicArn", true),
            ("booking-*", "booking-", true),
            ("booking-*", "airmiles-x", false),
            ("*-TopicArn", "booking-lambda-TopicArn", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("arn:aws:iam::*:role/remote-exports-*", "arn:aws:iam::222222222222:role/remote-exports-reader", true),
            ("arn:aws:iam::*:role/remote-exports-*", "arn:aws:iam::222222222222:role/admin", false),
            ("a**a", "aa", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(Pattern::new(pattern).matches(text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = Pattern::new(&"*a".repeat(50));
        let text = "a".repeat(49) + "b";
        assert!(!pattern.matches(&text));
    }

    #[test]
    fn lists_split_on_commas_and_ignore_blanks() {
        let list = PatternList::parse(" booking-* , ,shared-VpcId ").unwrap();
        assert!(list.allows("booking-x"));
        assert!(list.allows("shared-VpcId"));
        assert!(!list.allows("shared-VpcIdX"));
        assert_eq!(list.to_string(), "booking-*,shared-VpcId");
        assert_eq!(PatternList::parse(" , "), None);
        assert_eq!(PatternList::parse(""), None);
    }
}
