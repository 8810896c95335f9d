/// Up to three of `candidates` closest to `wanted`, best first, for "did you mean" hints.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted_lower = wanted.to_ascii_lowercase();
    // About one edit in five characters: close enough to be a typo, not just a similar name.
    let limit = (wanted.len() / 5).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| c.len().abs_diff(wanted.len()) <= limit)
        .filter_map(|c| {
            // Optimal string alignment: a swapped pair of letters is one typo, not two.
            let distance = strsim::osa_distance(&wanted_lower, &c.to_ascii_lowercase());
            (distance <= limit).then_some((distance, c))
        })
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c.to_owned()).collect()
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
    fn a_transposition_counts_as_one_typo() {
        // Two swaps in a short name: four plain edits (over the limit of 2), two transpositions.
        assert_eq!(closest("vpc-di-sbunet", ["vpc-id-subnet"]), ["vpc-id-subnet"]);
    }
}
