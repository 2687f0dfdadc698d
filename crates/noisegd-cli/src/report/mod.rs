//! The one owner of what a person reads: run reports' markdown tables (and the PGD-versus-GD
//! table every regression experiment shares), plots (SVG and PNG), and the aggregation of many
//! runs into a sweep report (mean ± s.e.m. over seeds, beside the paper's numbers).

pub mod plot;
pub mod sweep;
pub mod table;
