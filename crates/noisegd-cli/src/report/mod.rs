//! Plots and human-readable reports.

// The heat maps and a few helpers are for the width experiment (paper Fig. 1); they are tested
// in the module but not yet called by an experiment.
#[allow(dead_code)]
pub mod plot;
