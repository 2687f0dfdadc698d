//! The `noisegd` command's modules as a library, so that fuzz targets and tests can reach them
//! (e.g. `noisegd_cli::config::RunConfig::parse`). The binary is `src/main.rs`, which only parses
//! the command line and wires these together.
//!
//! The layers, bottom to top (the library `noisegd` below all of them):
//!
//! ```text
//! config (TOML -> typed tables)  run (the run directory)  report (tables, plots, sweep aggregation)
//!                 \                    |                    /
//!                  experiments (prepare -> train through noisegd::train -> summarize)
//!                                      |
//!                       sweep (grids of runs), main.rs (the command line)
//! ```
//!
//! Where a change goes: a new experiment is a file (or folder) in [`experiments`] with a
//! `run(config, dir, options)` and a variant of [`experiments::Experiment`] dispatched in
//! [`experiments::run`]; its settings, if any, a table in [`config`]. A new figure in a report
//! is a row of [`report::table`]; a new noise method is a policy in the library's `noise`
//! module, which every experiment then accepts in `[noise]`.

// The `width` summary is one large `serde_json::json!` literal.
#![recursion_limit = "256"]

pub mod config;
pub mod data_check;
pub mod experiments;
pub mod interrupt;
pub mod report;
pub mod run;
pub mod sweep;
