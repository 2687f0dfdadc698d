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

/// DejaVu Sans (Bitstream Vera license, see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

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

// ---------------------------------------------------------------------------
// Font, backends, output files

/// Registers the embedded font once per process. plotters keeps fonts in a
/// global table keyed by family name; with `ab_glyph` an unregistered family
/// is a drawing error, so every generic family plotters might ask for maps to
/// the same face (bold/italic requests fall back to the Normal face).
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            plotters::style::register_font(family, FontStyle::Normal, FONT_BYTES).is_ok()
        })
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

type DrawResult<E> = Result<(), DrawingAreaErrorKind<E>>;

/// The bitmap backend's error type, named through the trait because
/// `plotters` does not re-export `plotters_bitmap::BitMapBackendError`.
type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

fn render_svg(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult<std::io::Error>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn render_rgb(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult<BitmapError>,
) -> Result<Vec<u8>, String> {
    let (w, h) = PLOT_SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        // `with_buffer` only panics on a wrongly sized buffer, sized right above.
        let root = BitMapBackend::with_buffer(&mut rgb, PLOT_SIZE).into_drawing_area();
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(rgb)
}

/// `<stem>.<ext>` by appending, not `Path::with_extension`, which would eat
/// a dotted stem such as `lr_0.1`.
fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn write_outputs(stem: &Path, svg: &str, rgb: &[u8]) -> Result<[PathBuf; 2], PlotError> {
    let svg_path = with_suffix(stem, "svg");
    let png_path = with_suffix(stem, "png");
    std::fs::write(&svg_path, svg).map_err(|source| PlotError::Io {
        path: svg_path.clone(),
        source,
    })?;
    write_png(&png_path, rgb)?;
    Ok([svg_path, png_path])
}

fn write_png(path: &Path, rgb: &[u8]) -> Result<(), PlotError> {
    let io_err = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let enc_err = |e: png::EncodingError| match e {
        png::EncodingError::IoError(source) => PlotError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => PlotError::Encode {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    };
    let file = File::create(path).map_err(io_err)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), PLOT_SIZE.0, PLOT_SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(enc_err)?;
    writer.write_image_data(rgb).map_err(enc_err)?;
    // `finish` writes IEND and flushes the BufWriter, reporting errors that
    // dropping it would swallow.
    writer.finish().map_err(enc_err)
}

// ---------------------------------------------------------------------------
// Numbers: validity, ranges, tick labels

fn plottable(v: f64, scale: Scale) -> bool {
    v.is_finite() && (scale == Scale::Linear || v > 0.0)
}

/// Running min/max over the values that make it onto an axis.
#[derive(Debug, Clone, Copy)]
struct Extent {
    min: f64,
    max: f64,
}

impl Extent {
    fn empty() -> Self {
        Self {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
    fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
    fn is_empty(&self) -> bool {
        self.min > self.max
    }
}

/// Axis range with a 5 % margin on each side. A zero-width extent (a constant
/// series, a single point) is widened, because plotters cannot map a zero
/// span to pixels. Log axes are padded in decades so the margin looks the
/// same at every magnitude.
fn padded_range(e: Extent, scale: Scale) -> (f64, f64) {
    match scale {
        Scale::Linear => pad_linear(e.min, e.max),
        Scale::Log10 => {
            let (lo, hi) = (e.min.log10(), e.max.log10());
            let (lo, hi) = if hi > lo {
                pad_linear(lo, hi)
            } else {
                (lo - 0.5, hi + 0.5)
            };
            (10f64.powf(lo), 10f64.powf(hi))
        }
    }
}

fn pad_linear(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let (a, b) = if span > 0.0 {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        (lo - pad, hi + pad)
    };
    // Near f64::MAX the padding itself can overflow; an unpadded range is
    // better than an infinite one.
    if a.is_finite() && b.is_finite() && b > a {
        (a, b)
    } else {
        (lo, hi)
    }
}

/// Compact tick label: plain decimals for ordinary magnitudes, `1e-5` style
/// otherwise, at most 6 significant digits (hides float noise such as
/// 0.30000000000000004).
fn fmt_tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.5e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{}", trim_zeros(mantissa), exp)
    } else {
        let decimals = (5 - a.log10().floor() as i32).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

// ---------------------------------------------------------------------------
// Line plots

/// A series after cleaning: contiguous runs of plottable points (a skipped
/// point breaks the line rather than bridging the gap, so a diverged run
/// visibly stops) and the plottable part of its band.
struct PreparedSeries {
    segments: Vec<Vec<(f64, f64)>>,
    band: Vec<(f64, f64, f64)>,
}

impl PreparedSeries {
    fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.band.is_empty()
    }
}

struct PreparedLinePlot {
    series: Vec<PreparedSeries>,
    x_range: (f64, f64),
    y_range: (f64, f64),
}

fn prepare_line_plot(plot: &LinePlot) -> Result<PreparedLinePlot, PlotError> {
    let (xs, ys) = (plot.x_scale, plot.y_scale);
    let mut x_ext = Extent::empty();
    let mut y_ext = Extent::empty();
    let mut series = Vec::with_capacity(plot.series.len());
    for s in &plot.series {
        let mut segments = Vec::new();
        let mut current = Vec::new();
        for &(x, y) in &s.points {
            if plottable(x, xs) && plottable(y, ys) {
                x_ext.add(x);
                y_ext.add(y);
                current.push((x, y));
            } else if !current.is_empty() {
                segments.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            segments.push(current);
        }
        // A band point needs a plottable x and upper edge; a lower edge at or
        // below zero on a log axis (mean − s.e.m. < 0 is common for noisy
        // losses) is kept and clamped to the bottom of the plot when drawn.
        let mut band = Vec::new();
        for &(x, a, b) in s.band.as_deref().unwrap_or(&[]) {
            // (`f64::min` ignores a NaN operand, so check finiteness first.)
            if !(a.is_finite() && b.is_finite()) {
                continue;
            }
            let (lo, hi) = (a.min(b), a.max(b));
            if plottable(x, xs) && plottable(hi, ys) {
                x_ext.add(x);
                y_ext.add(hi);
                if plottable(lo, ys) {
                    y_ext.add(lo);
                }
                band.push((x, lo, hi));
            }
        }
        series.push(PreparedSeries { segments, band });
    }
    if x_ext.is_empty() || y_ext.is_empty() {
        return Err(PlotError::NoData {
            title: plot.title.clone(),
        });
    }
    Ok(PreparedLinePlot {
        series,
        x_range: padded_range(x_ext, xs),
        y_range: padded_range(y_ext, ys),
    })
}

/// Tableau-10 colours (matplotlib's default cycle): distinct and familiar to
/// researchers; beyond ten series, plotters' 99-colour palette takes over.
fn series_color(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    match TAB10.get(i) {
        Some(&(r, g, b)) => RGBColor(r, g, b),
        None => {
            let c = Palette99::pick(i - TAB10.len()).to_rgba();
            RGBColor(c.0, c.1, c.2)
        }
    }
}

fn draw_line_plot<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
    prep: &PreparedLinePlot,
) -> DrawResult<DB::ErrorType> {
    let (x0, x1) = prep.x_range;
    let (y0, y1) = prep.y_range;
    // The coordinate type differs per scale, hence one generic call per
    // combination.
    let lin = |a: f64, b: f64| RangedCoordf64::from(a..b);
    match (plot.x_scale, plot.y_scale) {
        (Scale::Linear, Scale::Linear) => {
            draw_line_chart(root, plot, prep, lin(x0, x1), lin(y0, y1))
        }
        (Scale::Linear, Scale::Log10) => {
            draw_line_chart(root, plot, prep, lin(x0, x1), log_axis(y0, y1))
        }
        (Scale::Log10, Scale::Linear) => {
            draw_line_chart(root, plot, prep, log_axis(x0, x1), lin(y0, y1))
        }
        (Scale::Log10, Scale::Log10) => {
            draw_line_chart(root, plot, prep, log_axis(x0, x1), log_axis(y0, y1))
        }
    }
}

/// A log10 axis with our own tick positions. plotters' `LogCoord` tick
/// algorithm starts at the first whole decade inside the range (a range
/// within one decade gets one tick or none), can emit the same decade twice,
/// and packs ~100 light grid lines between 1 and 10 in some ranges;
/// explicit key points (and no light lines) avoid all three.
fn log_axis(lo: f64, hi: f64) -> WithKeyPoints<LogCoord<f64>> {
    (lo..hi).log_scale().with_key_points(log_ticks(lo, hi))
}

/// Tick values for a log axis over `[lo, hi]` (`0 < lo < hi`): whole decades
/// when there are at least three (thinned to at most ~8), else 1-2-5 steps,
/// else (a range narrower than 1→2) ordinary linear ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let (k0, k1) = (
        (lo.log10() - 1e-9).ceil() as i32,
        (hi.log10() + 1e-9).floor() as i32,
    );
    let decades = k1 - k0 + 1;
    if decades >= 3 {
        let step = (decades + 7) / 8;
        return (k0..=k1)
            .filter(|k| k.rem_euclid(step) == 0)
            .map(|k| 10f64.powi(k))
            .collect();
    }
    let ticks: Vec<f64> = (k0 - 1..=k1 + 1)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .filter(inside)
        .collect();
    if ticks.len() >= 3 {
        ticks
    } else {
        linear_ticks(lo, hi)
    }
}

/// About five "nice" (1, 2, 5 × 10^k) ticks within `[lo, hi]`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    if !(raw > 0.0 && raw.is_finite()) {
        return vec![lo];
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = mag
        * if norm < 1.5 {
            1.0
        } else if norm < 3.5 {
            2.0
        } else if norm < 7.5 {
            5.0
        } else {
            10.0
        };
    let first = (lo / step).ceil();
    (0..20)
        .map(|i| (first + i as f64) * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .collect()
}

fn draw_line_chart<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
    prep: &PreparedLinePlot,
    x: X,
    y: Y,
) -> DrawResult<DB::ErrorType>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(95);
    if !plot.title.is_empty() {
        builder.caption(&plot.title, (FONT, TITLE_SIZE));
    }
    let mut chart = builder.build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .label_style((FONT, TICK_LABEL_SIZE))
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .light_line_style(RGBColor(243, 243, 243))
        .bold_line_style(RGBColor(205, 205, 205))
        .draw()?;

    let y_bottom = prep.y_range.0;
    let y_top = prep.y_range.1;
    // Bands first, so every line is drawn on top of every band.
    for (i, s) in prep.series.iter().enumerate() {
        if s.band.len() >= 2 {
            let fill = series_color(i).mix(0.2).filled();
            let clamp = |v: f64| v.clamp(y_bottom, y_top);
            let upper = s.band.iter().map(|&(x, _, hi)| (x, clamp(hi)));
            let lower = s.band.iter().rev().map(|&(x, lo, _)| (x, clamp(lo)));
            chart.draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                fill,
            )))?;
        }
    }
    let mut any_label = false;
    for (i, (s, src)) in prep.series.iter().zip(&plot.series).enumerate() {
        let color = series_color(i);
        let style = color.stroke_width(2);
        let lines = s.segments.iter().filter(|seg| seg.len() >= 2);
        let annotation =
            chart.draw_series(lines.map(|seg| PathElement::new(seg.clone(), style)))?;
        if !src.label.is_empty() {
            any_label = true;
            // Keep a series that lost all its points in the legend, marked,
            // so a diverged run is not silently missing from the figure.
            let label = if s.is_empty() {
                format!("{} (no data)", src.label)
            } else {
                src.label.clone()
            };
            annotation.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        // An isolated point (a one-point series or one between skipped
        // values) has no line to show, so mark it.
        let dots = s.segments.iter().filter(|seg| seg.len() == 1);
        chart.draw_series(dots.map(|seg| Circle::new(seg[0], 3, color.filled())))?;
    }
    if any_label {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Heatmaps

/// Colour mapping of a heatmap, in transformed (log10 if `log`) space.
#[derive(Debug, Clone, Copy)]
struct ColorScale {
    log: bool,
    lo: f64,
    hi: f64,
}

impl ColorScale {
    fn transform(&self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            None
        } else if self.log {
            Some(v.log10())
        } else {
            Some(v)
        }
    }

    /// Colour of a cell value, clamped to the range; `None` for a value that
    /// cannot be coloured (drawn grey).
    fn color(&self, v: f64) -> Option<RGBColor> {
        let t = self.transform(v)?;
        let f = if self.hi > self.lo {
            (t - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        };
        Some(viridis(f))
    }
}

const MISSING_CELL: RGBColor = RGBColor(200, 200, 200);

/// Viridis (perceptually uniform, colour-blind friendly), linearly
/// interpolated between 11 samples of the matplotlib map; `f` is clamped.
fn viridis(f: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 11] = [
        (68, 1, 84),
        (72, 36, 117),
        (65, 68, 135),
        (53, 95, 141),
        (42, 120, 142),
        (33, 145, 140),
        (34, 168, 132),
        (68, 191, 112),
        (122, 209, 81),
        (189, 223, 38),
        (253, 231, 37),
    ];
    let f = if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) };
    let pos = f * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let w = pos - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * w).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

fn prepare_heatmap(map: &Heatmap) -> Result<ColorScale, PlotError> {
    let invalid = |message: String| PlotError::InvalidInput {
        title: map.title.clone(),
        message,
    };
    if map.values.len() != map.y_values.len() {
        return Err(invalid(format!(
            "{} value rows for {} y values",
            map.values.len(),
            map.y_values.len()
        )));
    }
    if let Some((j, row)) = map
        .values
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != map.x_values.len())
    {
        return Err(invalid(format!(
            "row {j} has {} values for {} x values",
            row.len(),
            map.x_values.len()
        )));
    }
    let mut scale = ColorScale {
        log: map.log_color,
        lo: 0.0,
        hi: 0.0,
    };
    let mut ext = Extent::empty();
    for v in map
        .values
        .iter()
        .flatten()
        .filter_map(|&v| scale.transform(v))
    {
        ext.add(v);
    }
    if ext.is_empty() {
        return Err(PlotError::NoData {
            title: map.title.clone(),
        });
    }
    match map.color_range {
        Some((a, b)) => {
            let (lo, hi) = (a.min(b), a.max(b));
            match (scale.transform(lo), scale.transform(hi)) {
                (Some(lo), Some(hi)) => (scale.lo, scale.hi) = (lo, hi),
                _ => {
                    return Err(invalid(format!(
                        "color_range ({a}, {b}) must be finite{}",
                        if map.log_color {
                            " and positive for log_color"
                        } else {
                            ""
                        }
                    )))
                }
            }
        }
        None => (scale.lo, scale.hi) = (ext.min, ext.max),
    }
    Ok(scale)
}

/// Tick label for a grid value.
fn grid_label(values: &[f64], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| values.get(i))
            .map(|&v| fmt_tick(v))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    scale: &ColorScale,
) -> DrawResult<DB::ErrorType> {
    root.fill(&WHITE)?;
    // `titled` puts the caption flush with the top edge; margin first.
    let area = root.margin(10, 0, 0, 0);
    let area = if map.title.is_empty() {
        area
    } else {
        area.titled(&map.title, (FONT, TITLE_SIZE))?
    };
    let bar_width = 150;
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(bar_width));

    // The grid.
    // Cell i spans [Exact(i), Exact(i + 1)). plotters' integer ranges are
    // inclusive (`0..n` makes n + 1 segments), hence `0..n - 1`; n >= 1 here.
    let (nx, ny) = (map.x_values.len() as i32, map.y_values.len() as i32);
    let mut chart = ChartBuilder::on(&main)
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(95)
        .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(map.x_label.as_str())
        .y_desc(map.y_label.as_str())
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .label_style((FONT, TICK_LABEL_SIZE))
        .x_labels(map.x_values.len().min(12))
        .y_labels(map.y_values.len().min(12))
        .x_label_formatter(&|v| grid_label(&map.x_values, v))
        .y_label_formatter(&|v| grid_label(&map.y_values, v))
        .draw()?;
    let cells = map.values.iter().enumerate().flat_map(|(j, row)| {
        row.iter().enumerate().map(move |(i, &v)| {
            let (i, j) = (i as i32, j as i32);
            let color = scale.color(v).unwrap_or(MISSING_CELL);
            Rectangle::new(
                [
                    (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                    (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                ],
                color.filled(),
            )
        })
    });
    chart.draw_series(cells)?;

    // The colour bar, in value space so its ticks read like the data.
    let (lo, hi) = if scale.hi > scale.lo {
        (scale.lo, scale.hi)
    } else {
        pad_linear(scale.lo, scale.hi)
    };
    if scale.log {
        draw_color_bar(
            &bar,
            map,
            scale,
            log_axis(10f64.powf(lo), 10f64.powf(hi)),
            (lo, hi),
        )
    } else {
        draw_color_bar(&bar, map, scale, RangedCoordf64::from(lo..hi), (lo, hi))
    }
}

fn draw_color_bar<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    scale: &ColorScale,
    y: Y,
    (lo, hi): (f64, f64),
) -> DrawResult<DB::ErrorType>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    // Same top margin and bottom label area as the grid, so the bar lines up
    // with the cells.
    let mut chart = ChartBuilder::on(area)
        .margin_top(15)
        .margin_bottom(15)
        .margin_left(5)
        .margin_right(15)
        .x_label_area_size(55)
        .right_y_label_area_size(90)
        .build_cartesian_2d(0f64..1f64, y)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(map.color_label.as_str())
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .label_style((FONT, TICK_LABEL_SIZE))
        .y_label_formatter(&|v| fmt_tick(*v))
        .draw()?;
    const STEPS: usize = 128;
    let untransform = |t: f64| if scale.log { 10f64.powf(t) } else { t };
    let strips = (0..STEPS).map(|k| {
        let t0 = lo + (hi - lo) * k as f64 / STEPS as f64;
        let t1 = lo + (hi - lo) * (k + 1) as f64 / STEPS as f64;
        let f = if scale.hi > scale.lo {
            ((t0 + t1) / 2.0 - scale.lo) / (scale.hi - scale.lo)
        } else {
            0.5
        };
        Rectangle::new(
            [(0.0, untransform(t0)), (1.0, untransform(t1))],
            viridis(f).filled(),
        )
    });
    chart.draw_series(strips)?;
    Ok(())
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn loss_plot() -> LinePlot {
        LinePlot {
            title: "Training loss".into(),
            x_label: "step".into(),
            y_label: "loss".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log10,
            series: vec![
                Series {
                    label: "sigma=0".into(),
                    points: (1..=50).map(|i| (i as f64, 1.0 / i as f64)).collect(),
                    band: Some(
                        (1..=50)
                            .map(|i| (i as f64, 0.8 / i as f64, 1.2 / i as f64))
                            .collect(),
                    ),
                },
                Series::new(
                    "sigma=0.1",
                    (1..=50)
                        .map(|i| (i as f64, 2.0 / (i as f64).sqrt()))
                        .collect(),
                ),
            ],
        }
    }

    /// Decodes a PNG written by this module into (width, height, RGB bytes).
    fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
        let file = std::io::BufReader::new(File::open(path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    /// Non-white pixels in rows `y0..y1`.
    fn ink_in_rows(rgb: &[u8], width: u32, rows: std::ops::Range<u32>) -> usize {
        let w = width as usize;
        rgb.chunks_exact(3)
            .enumerate()
            .filter(|(k, p)| rows.contains(&((k / w) as u32)) && p.iter().any(|&c| c < 200))
            .count()
    }

    /// The text content of every `<text>` element (plotters puts it on its
    /// own line between the tags).
    fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..t.find("</text>")?];
                Some(body.trim().to_string())
            })
            .collect()
    }

    fn assert_svg_has(svg: &str, wanted: &[&str]) {
        let texts = svg_texts(svg);
        for w in wanted {
            assert!(
                texts.iter().any(|t| t == w),
                "SVG lacks text {w:?}; has {texts:?}"
            );
        }
    }

    fn count_color(rgb: &[u8], c: RGBColor) -> usize {
        rgb.chunks_exact(3)
            .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
            .count()
    }

    #[test]
    fn line_plot_writes_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let plot = loss_plot();
        // A dotted stem must keep its dot: `lr_0.1.svg`, not `lr_0.svg`.
        let [svg, png_path] = write_line_plot(&plot, &dir.path().join("loss_lr_0.1")).unwrap();
        assert_eq!(svg, dir.path().join("loss_lr_0.1.svg"));
        assert_eq!(png_path, dir.path().join("loss_lr_0.1.png"));

        let bytes = std::fs::read(&png_path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR is the first chunk: length(4) "IHDR"(4) width(4) height(4).
        assert_eq!(&bytes[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 900);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 600);
        let (w, h, rgb) = decode_png(&png_path);
        assert_eq!((w, h), PLOT_SIZE);
        assert_eq!(rgb.len(), 900 * 600 * 3);

        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..text.len().min(100)]);
        assert!(text.contains(r#"width="900" height="600""#));
        assert_svg_has(
            &text,
            &["Training loss", "step", "loss", "sigma=0", "sigma=0.1"],
        );
    }

    /// A missing or broken font would leave the PNG without any text while
    /// everything else still draws. Two titles of different text give the
    /// same layout (the caption height does not depend on the text), so the
    /// images must differ, and only in the title band.
    #[test]
    fn png_contains_rendered_text() {
        let dir = tempfile::tempdir().unwrap();
        let a = LinePlot {
            title: "Training loss".into(),
            ..loss_plot()
        };
        let b = LinePlot {
            title: "Gradient norm (mean)".into(),
            ..loss_plot()
        };
        let [_, pa] = write_line_plot(&a, &dir.path().join("a")).unwrap();
        let [_, pb] = write_line_plot(&b, &dir.path().join("b")).unwrap();
        let (w, h, rgb_a) = decode_png(&pa);
        let (_, _, rgb_b) = decode_png(&pb);
        let differing_rows: Vec<u32> = (0..h)
            .filter(|&y| {
                let row = (y * w * 3) as usize..((y + 1) * w * 3) as usize;
                rgb_a[row.clone()] != rgb_b[row]
            })
            .collect();
        assert!(!differing_rows.is_empty(), "title text not rendered");
        assert!(
            differing_rows.iter().all(|&y| y < 50),
            "differences outside the title band: {differing_rows:?}"
        );
        let ink_title = ink_in_rows(&rgb_a, w, 0..50);
        assert!(
            ink_title > 300,
            "title not rendered: {ink_title} dark pixels"
        );
        // The x-axis description sits in the bottom rows, below the tick labels.
        let ink_bottom = ink_in_rows(&rgb_a, w, 570..600);
        assert!(
            ink_bottom > 50,
            "axis description not rendered: {ink_bottom}"
        );
    }

    #[test]
    fn non_plottable_points_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let plot = LinePlot {
            title: "skips".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_scale: Scale::Log10,
            y_scale: Scale::Log10,
            series: vec![
                Series {
                    label: "mixed".into(),
                    points: vec![
                        (1.0, 1.0),
                        (2.0, f64::NAN),
                        (3.0, f64::INFINITY),
                        (4.0, -1.0),
                        (5.0, 0.0),
                        (0.0, 2.0),
                        (-1.0, 2.0),
                        (f64::NEG_INFINITY, 3.0),
                        (6.0, 0.5),
                        (7.0, 0.25),
                    ],
                    // lo <= 0 on a log axis is clamped, not dropped.
                    band: Some(vec![
                        (1.0, -1.0, 2.0),
                        (6.0, 0.1, f64::NAN),
                        (7.0, 0.1, 0.5),
                    ]),
                },
                Series::new("all invalid", vec![(1.0, f64::NAN), (2.0, -3.0)]),
            ],
        };
        let prep = prepare_line_plot(&plot).unwrap();
        assert_eq!(
            prep.series[0].segments,
            vec![vec![(1.0, 1.0)], vec![(6.0, 0.5), (7.0, 0.25)]]
        );
        assert_eq!(prep.series[0].band, vec![(1.0, -1.0, 2.0), (7.0, 0.1, 0.5)]);
        assert!(prep.series[1].is_empty());
        let (x0, x1) = prep.x_range;
        let (y0, y1) = prep.y_range;
        assert!(0.0 < x0 && x0 < 1.0 && x1 > 7.0, "{:?}", prep.x_range);
        assert!(0.0 < y0 && y0 < 0.1 && y1 > 2.0, "{:?}", prep.y_range);

        let [svg, _] = write_line_plot(&plot, &dir.path().join("skips")).unwrap();
        let text = std::fs::read_to_string(svg).unwrap();
        assert_svg_has(&text, &["mixed", "all invalid (no data)"]);
    }

    #[test]
    fn no_plottable_point_is_a_no_data_error() {
        let dir = tempfile::tempdir().unwrap();
        let plot = LinePlot {
            title: "empty".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log10,
            series: vec![
                Series::new("a", vec![(1.0, 0.0), (2.0, -1.0), (3.0, f64::NAN)]),
                Series::new("b", vec![]),
            ],
        };
        let err = write_line_plot(&plot, &dir.path().join("empty")).unwrap_err();
        assert!(
            matches!(&err, PlotError::NoData { title } if title == "empty"),
            "{err}"
        );
        assert!(err.to_string().contains("empty"));
        let no_series = LinePlot {
            series: vec![],
            ..plot
        };
        assert!(matches!(
            write_line_plot(&no_series, &dir.path().join("e2")),
            Err(PlotError::NoData { .. })
        ));
        // Nothing was written for a failed plot.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn constant_and_single_point_series_get_a_nonzero_range() {
        let dir = tempfile::tempdir().unwrap();
        for (y_scale, y) in [
            (Scale::Linear, 0.0),
            (Scale::Linear, 3.0),
            (Scale::Log10, 1e-3),
        ] {
            let plot = LinePlot {
                title: "constant".into(),
                x_label: "x".into(),
                y_label: "y".into(),
                x_scale: Scale::Linear,
                y_scale,
                series: vec![Series::new("c", (0..10).map(|i| (i as f64, y)).collect())],
            };
            let prep = prepare_line_plot(&plot).unwrap();
            let (y0, y1) = prep.y_range;
            assert!(y0 < y && y < y1, "{y_scale:?} {y}: {:?}", prep.y_range);
            write_line_plot(&plot, &dir.path().join("constant")).unwrap();

            let single = LinePlot {
                series: vec![Series::new("p", vec![(2.0, y)])],
                ..plot
            };
            let prep = prepare_line_plot(&single).unwrap();
            assert!(prep.x_range.0 < 2.0 && 2.0 < prep.x_range.1);
            write_line_plot(&single, &dir.path().join("single")).unwrap();
        }
    }

    #[test]
    fn band_is_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let mut plot = loss_plot();
        plot.y_scale = Scale::Linear;
        plot.series.truncate(1);
        let with_band = plot.clone();
        plot.series[0].band = None;
        let [_, p1] = write_line_plot(&with_band, &dir.path().join("band")).unwrap();
        let [_, p2] = write_line_plot(&plot, &dir.path().join("noband")).unwrap();
        // The band is the first series' colour at 20 % over white.
        let c = series_color(0);
        let tint = |v: u8| (0.2 * v as f64 + 0.8 * 255.0).round() as u8;
        let fill = RGBColor(tint(c.0), tint(c.1), tint(c.2));
        let near = |rgb: &[u8]| {
            rgb.chunks_exact(3)
                .filter(|p| {
                    p.iter()
                        .zip([fill.0, fill.1, fill.2])
                        .all(|(&a, b)| a.abs_diff(b) <= 2)
                })
                .count()
        };
        let (with_px, without_px) = (near(&decode_png(&p1).2), near(&decode_png(&p2).2));
        assert!(
            with_px > 1000 && without_px < 100,
            "band pixels: {with_px} vs {without_px}"
        );
    }

    #[test]
    fn io_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("missing_dir").join("loss");
        let err = write_line_plot(&loss_plot(), &stem).unwrap_err();
        match &err {
            PlotError::Io { path, .. } => assert_eq!(path, &with_suffix(&stem, "svg")),
            other => panic!("expected Io, got {other}"),
        }
        assert!(err.to_string().contains("missing_dir"), "{err}");
    }

    #[test]
    fn many_series_and_single_cell_edge_cases() {
        let dir = tempfile::tempdir().unwrap();
        let series = (0..14)
            .map(|k| {
                Series::new(
                    format!("seed {k}"),
                    vec![(0.0, k as f64), (1.0, k as f64 + 1.0)],
                )
            })
            .collect();
        let plot = LinePlot {
            series,
            y_scale: Scale::Linear,
            ..loss_plot()
        };
        let colors: Vec<RGBColor> = (0..14).map(series_color).collect();
        for (i, c) in colors.iter().enumerate() {
            assert!(!colors[..i].contains(c), "colour {i} repeats");
        }
        write_line_plot(&plot, &dir.path().join("many")).unwrap();
        let one = Heatmap {
            x_values: vec![0.1],
            y_values: vec![1.0],
            values: vec![vec![3.0]],
            ..sweep(vec![], None)
        };
        let [_, p] = write_heatmap(&one, &dir.path().join("one")).unwrap();
        assert!(count_color(&decode_png(&p).2, viridis(0.5)) > 10_000);
    }

    #[test]
    fn log_ticks_cover_narrow_and_wide_ranges() {
        assert_eq!(log_ticks(1e-4, 1.0), vec![1e-4, 1e-3, 1e-2, 1e-1, 1.0]);
        let wide = log_ticks(1e-20, 1e3);
        assert!(wide.len() >= 3 && wide.len() <= 12, "{wide:?}");
        assert_eq!(log_ticks(0.8, 60.0), vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
        // Within one 1-2-5 step: linear ticks, still inside the range.
        let narrow = log_ticks(0.31, 0.39);
        assert!(
            narrow.len() >= 3 && narrow.iter().all(|v| (0.31..=0.39).contains(v)),
            "{narrow:?}"
        );
    }

    #[test]
    fn tick_labels_are_compact() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(0.1 + 0.2), "0.3");
        assert_eq!(fmt_tick(2.5), "2.5");
        assert_eq!(fmt_tick(-40.0), "-40");
        assert_eq!(fmt_tick(1e-4), "1e-4");
        assert_eq!(fmt_tick(2.5e-7), "2.5e-7");
        assert_eq!(fmt_tick(1e6), "1e6");
        assert_eq!(fmt_tick(12345.0), "12345");
        assert_eq!(fmt_tick(0.00125), "0.00125");
    }

    fn sweep(values: Vec<Vec<f64>>, color_range: Option<(f64, f64)>) -> Heatmap {
        Heatmap {
            title: "Final loss".into(),
            x_label: "learning rate".into(),
            y_label: "noise scale".into(),
            x_values: vec![1e-3, 1e-2, 1e-1],
            y_values: vec![0.0, 0.05],
            values,
            log_color: false,
            color_range,
            color_label: "loss".into(),
        }
    }

    #[test]
    fn heatmap_writes_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = sweep(vec![vec![0.5, 0.2, f64::NAN], vec![0.6, 0.1, 0.3]], None);
        for log_color in [false, true] {
            map.log_color = log_color;
            let [svg, png_path] =
                write_heatmap(&map, &dir.path().join(format!("sweep_{log_color}"))).unwrap();
            let (w, h, rgb) = decode_png(&png_path);
            assert_eq!((w, h), PLOT_SIZE);
            // Both ends of the colour scale are present (cells and bar), and
            // the NaN cell is grey.
            assert!(count_color(&rgb, viridis(1.0)) > 100);
            assert!(count_color(&rgb, viridis(0.0)) > 100);
            assert!(count_color(&rgb, MISSING_CELL) > 1000);
            let text = std::fs::read_to_string(svg).unwrap();
            assert_svg_has(
                &text,
                &[
                    "Final loss",
                    "learning rate",
                    "noise scale",
                    "loss",
                    "0.001",
                    "0.1",
                    "0",
                    "0.05",
                ],
            );
        }
    }

    #[test]
    fn heatmap_color_range_is_shared_and_clamps() {
        let dir = tempfile::tempdir().unwrap();
        let top = viridis(1.0);
        let top_pixels = |map: &Heatmap, name: &str| {
            let [_, p] = write_heatmap(map, &dir.path().join(name)).unwrap();
            count_color(&decode_png(&p).2, top)
        };
        let low = vec![vec![0.2, 0.3, 0.4], vec![0.25, 0.35, 0.3]];
        // Own range: the 0.4 cell takes the top colour (a whole cell).
        let own = top_pixels(&sweep(low.clone(), None), "own");
        // Shared range (0, 1): nothing reaches the top colour except the bar's end.
        let shared = top_pixels(&sweep(low, Some((0.0, 1.0))), "shared");
        // Out-of-range values clamp to the end colours instead of failing.
        let clamped = top_pixels(
            &sweep(
                vec![vec![-5.0, 0.5, 10.0], vec![0.5, 1e300, 0.5]],
                Some((0.0, 1.0)),
            ),
            "clamped",
        );
        eprintln!("top-colour pixels: own {own}, shared {shared}, clamped {clamped}");
        assert!(
            shared < own / 4,
            "shared range not applied: {shared} vs {own}"
        );
        assert!(
            clamped > own + own / 2,
            "values above the range not clamped to top: {clamped} vs {own}"
        );

        let scale = ColorScale {
            log: false,
            lo: 0.0,
            hi: 1.0,
        };
        assert_eq!(scale.color(-5.0), Some(viridis(0.0)));
        assert_eq!(scale.color(10.0), Some(viridis(1.0)));
        assert_eq!(scale.color(f64::NAN), None);
        let log_scale = ColorScale {
            log: true,
            lo: -2.0,
            hi: 0.0,
        };
        assert_eq!(log_scale.color(0.0), None);
        assert_eq!(log_scale.color(1e-9), Some(viridis(0.0)));
    }

    #[test]
    fn heatmap_bad_input_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("bad");
        let ragged = sweep(vec![vec![1.0, 2.0, 3.0], vec![1.0]], None);
        assert!(matches!(
            write_heatmap(&ragged, &stem),
            Err(PlotError::InvalidInput { .. })
        ));
        let rows = sweep(vec![vec![1.0, 2.0, 3.0]], None);
        assert!(matches!(
            write_heatmap(&rows, &stem),
            Err(PlotError::InvalidInput { .. })
        ));
        let all_nan = sweep(vec![vec![f64::NAN; 3]; 2], Some((0.0, 1.0)));
        assert!(matches!(
            write_heatmap(&all_nan, &stem),
            Err(PlotError::NoData { .. })
        ));
        let mut log_bad_range = sweep(vec![vec![1.0; 3]; 2], Some((0.0, 1.0)));
        log_bad_range.log_color = true;
        assert!(matches!(
            write_heatmap(&log_bad_range, &stem),
            Err(PlotError::InvalidInput { .. })
        ));
        let empty = Heatmap {
            x_values: vec![],
            y_values: vec![],
            values: vec![],
            ..sweep(vec![], None)
        };
        assert!(matches!(
            write_heatmap(&empty, &stem),
            Err(PlotError::NoData { .. })
        ));
        // A constant map (zero-width colour range) still draws.
        write_heatmap(&sweep(vec![vec![2.0; 3]; 2], None), &stem).unwrap();
    }
}
