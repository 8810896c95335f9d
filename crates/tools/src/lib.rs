//! What demonstrates and measures the function, run by `cargo xtask demo`, `bench` and `sam-local`:
//!
//! - `remote-exports-demo`: the Booking/Airmiles story against moto, with no AWS account and no Docker;
//! - `remote-exports-bench`: cold start, CPU, memory and AWS calls of the release binary (see `bench/`);
//! - `remote-exports-sam-local`: the sample events through `sam local invoke`, against moto.
//!
//! The stand-ins they run against are the tests' own (`test-support`). Nothing here ships.

pub mod story;

mod cpu_quota;

pub use cpu_quota::{CpuQuota, MB_PER_VCPU};
