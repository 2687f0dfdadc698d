//! Font, backends, output files.

use super::*;

/// Registers the embedded font once per process. plotters keeps fonts in a
/// global table keyed by family name; with `ab_glyph` an unregistered family
/// is a drawing error, so every generic family plotters might ask for maps to
/// the same face (bold/italic requests fall back to the Normal face).
pub(super) fn ensure_font() -> Result<(), PlotError> {
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

pub(super) type DrawOutcome<E> = Result<(), DrawingAreaErrorKind<E>>;

/// The bitmap backend's error type, named through the trait because
/// `plotters` does not re-export `plotters_bitmap::BitMapBackendError`.
pub(super) type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

pub(super) fn render_svg(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawOutcome<std::io::Error>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

pub(super) fn render_rgb(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawOutcome<BitmapError>,
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
pub(super) fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

pub(super) fn write_outputs(stem: &Path, svg: &str, rgb: &[u8]) -> Result<[PathBuf; 2], PlotError> {
    let svg_path = with_suffix(stem, "svg");
    let png_path = with_suffix(stem, "png");
    std::fs::write(&svg_path, svg).map_err(|source| PlotError::Io {
        path: svg_path.clone(),
        source,
    })?;
    write_png(&png_path, rgb)?;
    Ok([svg_path, png_path])
}

pub(super) fn write_png(path: &Path, rgb: &[u8]) -> Result<(), PlotError> {
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
