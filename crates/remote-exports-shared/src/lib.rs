//! What the remote-exports crates share, and nothing else: the AWS partition table (which regions
//! belong to which partition, their DNS suffixes and certificate roots) and errors as one line of
//! text. The protocol crates use it internally; it is published because they are.

mod error_chain;
mod partition;

pub use error_chain::{is_untrusted_certificate, source_chain};
pub use partition::Partition;
