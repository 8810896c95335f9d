/// Up to three of `candidates` closest to `wanted`, best first, for "did you mean" hints.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted_lower = wanted.to_ascii_lowercase();
    // About one edit in five characters: close enough to be a typo, not just a similar name.
    let limit = (wanted.len() / 5).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| c.len().abs_diff(wanted.len()) <= limit)
        .filter_map(|c| {
            let distance = edit_distance(wanted_lower.as_bytes(), c.to_ascii_lowercase().as_bytes());
            (distance <= limit).then_some((distance, c))
        })
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c.to_owned()).collect()
}

fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_misses_best_first() {
        let names = [
            "booking-lambda-BookingTopicArn",
            "booking-lambda-BookingQueueArn",
            "airmiles-Table",
            "booking-lambda-BookingTopicName",
        ];
        let found = closest("booking-lambda-BookingTopicARN", names);
        assert_eq!(found[0], "booking-lambda-BookingTopicArn");
        assert!(!found.contains(&"airmiles-Table".to_owned()));
    }

    #[test]
    fn nothing_close_gives_nothing() {
        assert!(closest("vpc-id", ["booking-lambda-BookingTopicArn"]).is_empty());
        assert!(closest("x", Vec::<&str>::new()).is_empty());
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance(b"", b"abc"), 3);
        assert_eq!(edit_distance(b"same", b"same"), 0);
    }
}
