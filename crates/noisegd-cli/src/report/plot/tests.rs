//! The plots' contract: each writes an SVG and a PNG with the text and ink expected, skips points a
//! log axis cannot show, and turns bad input (no plottable point, an unwritable path) into an error
//! that names it rather than a panic.

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
