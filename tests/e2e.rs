//! The end-to-end suite: the real binaries against moto, a Lambda Runtime API emulator and a
//! ResponseURL endpoint. Each module is one capability; `cargo xtask test` runs them all
//! (`--include-ignored`); `cargo test -p remote-exports-e2e --test e2e -- --include-ignored lifecycle::`
//! runs one module against a moto of your own (`MOTO_ENDPOINT`, `MOTO_SERVER`).

mod cargo_lambda;
mod cdk;
mod changes;
mod cli;
mod demo;
mod docs;
mod example_echo;
mod example_ssm;
mod failures;
mod guard;
mod lifecycle;
mod metrics;
mod outputs;
mod parameters;
mod partitions;
mod protocol;
mod refresher;
mod regions;
mod registry;
mod selection;
mod service_drift;
mod snapshot;
mod template;
mod tls;
mod trust;
