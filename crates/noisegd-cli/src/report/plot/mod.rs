//! Plot rendering for run reports: line plots (e.g. loss curves over steps,
//! with optional ± s.e.m. bands over seeds) and heatmaps (e.g. a metric over
//! a learning-rate × noise-scale sweep), each written as an SVG and a PNG.
//!
//! This module owns everything that touches `plotters`: the embedded font,
//! data cleaning (non-finite / non-positive-on-log points), axis ranges,
//! colours, and the file writing. Callers hand over plain data structures and
//! get the two written paths back, or a [`PlotError`] — drawing never panics
//! on bad data.
//!
//! Fonts: the report must render on machines with no fonts installed (CI,
//! cluster nodes), so `plotters` is built without its `ttf` feature (which
//! loads system fonts through font-kit) and with `ab_glyph` instead, and
//! DejaVu Sans is compiled into the binary and registered under the family
//! names plotters asks for. The SVG only references the family name in its
//! `<text>` elements (the viewer picks a font), but plotters still measures
//! text for layout with the embedded font.
//!
//! PNG encoding: plotters draws into an in-memory RGB buffer and this module
//! encodes it with the `png` crate itself, rather than enabling plotters'
//! `bitmap_encoder` (which pulls the whole `image` crate). That keeps the
//! dependency tree small and lets I/O errors name the path being written.
//! Both images are rendered in memory before anything is written, so a
//! failed plot never leaves a half-written pair behind.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::combinators::{BindKeyPoints, WithKeyPoints};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

mod axis;
mod heatmap;
mod line;
mod output;

use axis::*;
use heatmap::*;
use line::*;
use output::*;

/// DejaVu Sans (Bitstream Vera license, see `assets/fonts/LICENSE-DejaVu.txt`).
pub(super) static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Family name used for every piece of text we draw ourselves. plotters'
/// internal defaults (e.g. legend text) also use "sans-serif".
const FONT: &str = "sans-serif";

/// Pixel size of both outputs (the SVG uses the same user-unit size, so the
/// two files look the same).
pub const PLOT_SIZE: (u32, u32) = (900, 600);

// plotters font sizes are nominal: the drawn em is size / 1.24 pixels (the
// SVG says `font-size="20.97"` for 26), so these read larger than they draw.
const TITLE_SIZE: f64 = 28.0;
const AXIS_DESC_SIZE: f64 = 21.0;
const TICK_LABEL_SIZE: f64 = 17.0;
const LEGEND_SIZE: f64 = 17.0;

/// One curve of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text; an empty label keeps the series out of the legend.
    pub label: String,
    /// `(x, y)` points, drawn in the given order (not sorted).
    pub points: Vec<(f64, f64)>,
    /// Optional shaded band `(x, lo, hi)`, e.g. mean ± s.e.m. over seeds.
    pub band: Option<Vec<(f64, f64, f64)>>,
}

impl Series {
    /// A series without a band.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            points,
            band: None,
        }
    }
}

/// Axis scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    Linear,
    /// Base-10 logarithmic; non-positive values are not plottable on it.
    Log10,
}

/// A line plot with any number of series, one colour each, and a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
}

/// A heatmap over a grid of (x, y) parameter values, with a colour bar.
///
/// Cells are laid out by index, not by value, so log-spaced sweeps get equal
/// cell sizes; the axis tick labels show the values. `y_values[0]` is the
/// bottom row. Non-finite cells (and non-positive ones with `log_color`), e.g.
/// diverged runs, are drawn in grey.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_values: Vec<f64>,
    pub y_values: Vec<f64>,
    /// `values[y][x]`: `values.len() == y_values.len()`, each row `x_values.len()` long.
    pub values: Vec<Vec<f64>>,
    /// Colour by `log10(value)`.
    pub log_color: bool,
    /// Fixed `(lo, hi)` colour range, e.g. to share one scale across two maps;
    /// values outside it are clamped to the end colours. `None`: data range.
    pub color_range: Option<(f64, f64)>,
    /// Label of the colour bar.
    pub color_label: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot write plot file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plot {title:?}: no plottable data (all values missing, non-finite, or non-positive on a log scale)")]
    NoData { title: String },
    #[error("plot {title:?}: invalid input: {message}")]
    InvalidInput { title: String, message: String },
    #[error("plot {title:?}: drawing failed: {message}")]
    Draw { title: String, message: String },
    #[error("cannot encode PNG {}: {message}", path.display())]
    Encode { path: PathBuf, message: String },
    #[error("the embedded plot font could not be loaded")]
    Font,
}

/// Writes `<stem>.svg` and `<stem>.png` ([`PLOT_SIZE`]) and returns their paths
/// in that order. The parent directory must exist.
pub fn write_line_plot(plot: &LinePlot, stem: &Path) -> Result<[PathBuf; 2], PlotError> {
    ensure_font()?;
    let prepared = prepare_line_plot(plot)?;
    let draw_err = |message| PlotError::Draw {
        title: plot.title.clone(),
        message,
    };
    let svg = render_svg(|root| draw_line_plot(root, plot, &prepared)).map_err(draw_err)?;
    let rgb = render_rgb(|root| draw_line_plot(root, plot, &prepared)).map_err(draw_err)?;
    write_outputs(stem, &svg, &rgb)
}

/// Writes `<stem>.svg` and `<stem>.png` ([`PLOT_SIZE`]) and returns their paths
/// in that order. The parent directory must exist.
pub fn write_heatmap(map: &Heatmap, stem: &Path) -> Result<[PathBuf; 2], PlotError> {
    ensure_font()?;
    let scale = prepare_heatmap(map)?;
    let draw_err = |message| PlotError::Draw {
        title: map.title.clone(),
        message,
    };
    let svg = render_svg(|root| draw_heatmap(root, map, &scale)).map_err(draw_err)?;
    let rgb = render_rgb(|root| draw_heatmap(root, map, &scale)).map_err(draw_err)?;
    write_outputs(stem, &svg, &rgb)
}

#[cfg(test)]
mod tests;
