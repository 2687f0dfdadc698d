//! Line plots.

use super::*;

/// A series after cleaning: contiguous runs of plottable points (a skipped
/// point breaks the line rather than bridging the gap, so a diverged run
/// visibly stops) and the plottable part of its band.
pub(super) struct PreparedSeries {
    pub(super) segments: Vec<Vec<(f64, f64)>>,
    pub(super) band: Vec<(f64, f64, f64)>,
}

impl PreparedSeries {
    pub(super) fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.band.is_empty()
    }
}

pub(super) struct PreparedLinePlot {
    pub(super) series: Vec<PreparedSeries>,
    pub(super) x_range: (f64, f64),
    pub(super) y_range: (f64, f64),
}

pub(super) fn prepare_line_plot(plot: &LinePlot) -> Result<PreparedLinePlot, PlotError> {
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
pub(super) fn series_color(i: usize) -> RGBColor {
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

pub(super) fn draw_line_plot<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
    prep: &PreparedLinePlot,
) -> DrawOutcome<DB::ErrorType> {
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
pub(super) fn log_axis(lo: f64, hi: f64) -> WithKeyPoints<LogCoord<f64>> {
    (lo..hi).log_scale().with_key_points(log_ticks(lo, hi))
}

/// Tick values for a log axis over `[lo, hi]` (`0 < lo < hi`): whole decades
/// when there are at least three (thinned to at most ~8), else 1-2-5 steps,
/// else (a range narrower than 1→2) ordinary linear ticks.
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
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
pub(super) fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
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

pub(super) fn draw_line_chart<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
    prep: &PreparedLinePlot,
    x: X,
    y: Y,
) -> DrawOutcome<DB::ErrorType>
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
