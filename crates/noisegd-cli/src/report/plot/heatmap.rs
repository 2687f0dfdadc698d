//! Heatmaps.

use super::*;

/// Colour mapping of a heatmap, in transformed (log10 if `log`) space.
#[derive(Debug, Clone, Copy)]
pub(super) struct ColorScale {
    pub(super) log: bool,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl ColorScale {
    pub(super) fn transform(&self, v: f64) -> Option<f64> {
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
    pub(super) fn color(&self, v: f64) -> Option<RGBColor> {
        let t = self.transform(v)?;
        let f = if self.hi > self.lo {
            (t - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        };
        Some(viridis(f))
    }
}

pub(super) const MISSING_CELL: RGBColor = RGBColor(200, 200, 200);

/// Viridis (perceptually uniform, colour-blind friendly), linearly
/// interpolated between 11 samples of the matplotlib map; `f` is clamped.
pub(super) fn viridis(f: f64) -> RGBColor {
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

pub(super) fn prepare_heatmap(map: &Heatmap) -> Result<ColorScale, PlotError> {
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
pub(super) fn grid_label(values: &[f64], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| values.get(i))
            .map(|&v| fmt_tick(v))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

pub(super) fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    scale: &ColorScale,
) -> DrawOutcome<DB::ErrorType> {
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

pub(super) fn draw_color_bar<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    scale: &ColorScale,
    y: Y,
    (lo, hi): (f64, f64),
) -> DrawOutcome<DB::ErrorType>
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
