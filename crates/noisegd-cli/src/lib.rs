//! The `noisegd` command's modules as a library, so that fuzz targets and tests can reach them
//! (e.g. `noisegd_cli::config::RunConfig::parse`). The binary is `src/main.rs`.

// The `width` summary is one large `serde_json::json!` literal.
#![recursion_limit = "256"]

pub mod config;
pub mod data_check;
pub mod experiments;
pub mod interrupt;
pub mod report;
pub mod run;
pub mod sweep;
