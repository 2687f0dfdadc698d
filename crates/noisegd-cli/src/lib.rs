//! The `noisegd` command's modules as a library, so that fuzz targets and tests can reach them
//! (e.g. `noisegd_cli::config::RunConfig::parse`). The binary is `src/main.rs`.

pub mod config;
pub mod experiments;
pub mod report;
pub mod run;
