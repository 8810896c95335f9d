//! The AWS partitions: which regions belong to which, and the DNS suffix of their endpoints.
//!
//! Source: the partition data every AWS SDK for Rust service crate embeds for its endpoint rules
//! (`src/endpoint_lib.rs`, `PartitionResolver::new_from_json`, read in `aws-sdk-sts` 1.124.0), which
//! mirrors `partitions.json` of the Smithy endpoint rules (`aws.partition` function). A region is in
//! a partition when it is listed there or matches the partition's `regionRegex`; the SDK's rules put
//! an unmatched region in `aws`, but here it is unknown, because guessing a partition for a URL
//! check would be guessing which hosts to trust.

/// One AWS partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// The partition as ARNs name it: `aws`, `aws-cn`, …
    pub id: &'static str,
    /// The DNS suffix of its endpoints: `amazonaws.com`, `amazonaws.com.cn`, …
    pub dns_suffix: &'static str,
    /// The suffix of its dual-stack endpoints in the newer `<service>.<region>.<suffix>` form.
    pub dual_stack_dns_suffix: &'static str,
    /// Region name prefixes (the alternatives of `regionRegex` before `-\w+-\d+`).
    region_prefixes: &'static [&'static str],
    /// Named regions outside the pattern (the SDK's `regions` map: its `*-global` pseudo-regions).
    listed_regions: &'static [&'static str],
    /// Whether its endpoints present certificates issued under Amazon Trust Services' roots.
    pub amazon_trust_services: bool,
}

/// Every partition the SDK's endpoint rules know, in the SDK's order.
const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        region_prefixes: &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"],
        listed_regions: &["aws-global"],
        amazon_trust_services: true,
    },
    Partition {
        id: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        dual_stack_dns_suffix: "api.amazonwebservices.com.cn",
        region_prefixes: &["cn"],
        listed_regions: &["aws-cn-global"],
        // China's endpoints chain to certificate authorities licensed there, not Amazon Trust Services.
        amazon_trust_services: false,
    },
    Partition {
        id: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        dual_stack_dns_suffix: "api.amazonwebservices.eu",
        region_prefixes: &["eusc-de"],
        listed_regions: &[],
        // A separate sovereign operator: do not assume the commercial roots.
        amazon_trust_services: false,
    },
    Partition {
        id: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        dual_stack_dns_suffix: "api.aws.ic.gov",
        region_prefixes: &["us-iso"],
        listed_regions: &["aws-iso-global"],
        amazon_trust_services: false,
    },
    Partition {
        id: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_dns_suffix: "api.aws.scloud",
        region_prefixes: &["us-isob"],
        listed_regions: &["aws-iso-b-global"],
        amazon_trust_services: false,
    },
    Partition {
        id: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_dns_suffix: "api.cloud-aws.adc-e.uk",
        region_prefixes: &["eu-isoe"],
        listed_regions: &["aws-iso-e-global"],
        amazon_trust_services: false,
    },
    Partition {
        id: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_dns_suffix: "api.aws.hci.ic.gov",
        region_prefixes: &["us-isof"],
        listed_regions: &["aws-iso-f-global"],
        amazon_trust_services: false,
    },
    Partition {
        id: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        region_prefixes: &["us-gov"],
        listed_regions: &["aws-us-gov-global"],
        amazon_trust_services: true,
    },
];

impl Partition {
    /// The partition with this ARN name.
    pub fn by_id(id: &str) -> Option<&'static Partition> {
        PARTITIONS.iter().find(|partition| partition.id == id)
    }

    /// Every known partition's ID, comma-separated, for messages that list them.
    pub fn known_ids() -> String {
        PARTITIONS.iter().map(|partition| partition.id).collect::<Vec<_>>().join(", ")
    }

    /// The partition `region` belongs to, by the SDK's region patterns.
    pub fn of_region(region: &str) -> Option<&'static Partition> {
        PARTITIONS.iter().find(|partition| partition.contains(region))
    }

    /// Whether `region` belongs here: listed, or `^<prefix>-\w+-\d+$` for one of the prefixes.
    pub fn contains(&self, region: &str) -> bool {
        self.listed_regions.contains(&region) || self.has_stack_region(region)
    }

    /// Whether a stack can live in `region` here: it fits the partition's region pattern. The
    /// listed `*-global` names are endpoint pseudo-regions, never a stack's region.
    pub fn has_stack_region(&self, region: &str) -> bool {
        self.region_prefixes.iter().any(|prefix| {
            region.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('-')).is_some_and(is_word_then_number)
        })
    }
}

/// `\w+-\d+`, the whole text.
fn is_word_then_number(text: &str) -> bool {
    let Some((word, number)) = text.split_once('-') else { return false };
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !word.is_empty() && word.chars().all(is_word) && !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_is_found_by_its_regions_and_its_id() {
        let cases = [
            ("us-east-1", "aws", "amazonaws.com"),
            ("eu-west-1", "aws", "amazonaws.com"),
            ("mx-central-1", "aws", "amazonaws.com"),
            ("aws-global", "aws", "amazonaws.com"),
            ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
            ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
            ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
            ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
            ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
            ("eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk"),
            ("us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov"),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
            ("us-gov-east-1", "aws-us-gov", "amazonaws.com"),
        ];
        for (region, id, suffix) in cases {
            let partition = Partition::of_region(region).unwrap_or_else(|| panic!("{region} has no partition"));
            assert_eq!((partition.id, partition.dns_suffix), (id, suffix), "{region}");
            assert_eq!(Partition::by_id(id), Some(partition));
        }
        assert_eq!(PARTITIONS.len(), 8);
        for partition in PARTITIONS {
            assert!(cases.iter().any(|(_, id, _)| *id == partition.id), "{} is untested", partition.id);
        }
    }

    #[test]
    fn regions_outside_every_pattern_have_no_partition() {
        for region in ["", "local", "xx-east-1", "us-east", "us-east-1a", "us-gov-west", "eusc-fr-east-1", "us-east-x"]
        {
            assert_eq!(Partition::of_region(region), None, "{region}");
        }
        assert_eq!(Partition::by_id("aws-xyz"), None);
    }

    #[test]
    fn pseudo_regions_are_never_a_stacks_region() {
        for partition in PARTITIONS {
            for region in partition.listed_regions {
                assert!(partition.contains(region) && !partition.has_stack_region(region), "{region}");
            }
        }
        assert!(Partition::by_id("aws").unwrap().has_stack_region("us-east-1"));
    }

    #[test]
    fn only_the_commercial_and_govcloud_partitions_use_amazon_trust_services() {
        let amazon: Vec<_> = PARTITIONS.iter().filter(|p| p.amazon_trust_services).map(|p| p.id).collect();
        assert_eq!(amazon, ["aws", "aws-us-gov"]);
    }
}
