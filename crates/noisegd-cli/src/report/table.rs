//! Markdown tables, and the one table every regression experiment reports: PGD against GD (and
//! the explicit solution the noise is predicted to reach), figure by figure, read from the run's
//! `summary.json`.

use serde_json::Value;

/// A markdown table: a header row, then rows of cells.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: vec![],
        }
    }

    /// Appends a row (as many cells as the header).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// `| a | b |` lines with the `|---|` separator, each line ending in a newline.
    pub fn markdown(&self) -> String {
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        " ".into()
                    } else {
                        format!(" {c} ")
                    }
                })
                .collect();
            format!("|{}|\n", cells.join("|"))
        };
        let mut out = line(&self.header);
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// How a figure is printed.
#[derive(Clone, Copy)]
pub enum Format {
    /// Four decimals (`0.1234`).
    Fixed,
    /// Scientific with three decimals (`1.234e-5`).
    Sci,
    /// The JSON value as it is (lists, integers).
    Raw,
    /// A list of indices: `k non-zeros: [..]` (the list only up to 20 entries).
    Support,
}

/// A run's `summary.json`, read for a report: a missing or non-numeric figure prints `n/a`.
pub struct Summary<'a>(pub &'a Value);

impl Summary<'_> {
    /// The figure `key` printed as `format` says.
    pub fn get(&self, key: &str, format: Format) -> String {
        let value = self.0.get(key);
        let number = value.and_then(|v| v.as_f64());
        match format {
            Format::Fixed => number.map_or("n/a".into(), |v| format!("{v:.4}")),
            Format::Sci => number.map_or("n/a".into(), |v| format!("{v:.3e}")),
            Format::Raw => value.map_or("n/a".into(), |v| v.to_string()),
            Format::Support => match value.and_then(|v| v.as_array()) {
                Some(a) if a.len() <= 20 => {
                    format!("{} non-zeros: {}", a.len(), Value::from(a.clone()))
                }
                Some(a) => format!("{} non-zeros", a.len()),
                None => "n/a".into(),
            },
        }
    }

    /// [`Format::Fixed`].
    pub fn fixed(&self, key: &str) -> String {
        self.get(key, Format::Fixed)
    }
}

/// One row of the PGD-versus-GD table: a figure, the summary keys of its PGD and GD values, and
/// the explicit solution's value (`None`: the table has no explicit column).
pub struct Compared<'a> {
    /// What the figure is.
    pub label: &'a str,
    /// Summary key of the PGD value.
    pub pgd: &'a str,
    /// Summary key of the GD value.
    pub gd: &'a str,
    /// The explicit solution's cell, when the table has that column.
    pub explicit: Option<String>,
    /// How the values print.
    pub format: Format,
}

impl<'a> Compared<'a> {
    /// A row without an explicit cell.
    pub fn new(label: &'a str, pgd: &'a str, gd: &'a str, format: Format) -> Self {
        Self {
            label,
            pgd,
            gd,
            explicit: None,
            format,
        }
    }

    /// The same row with the explicit solution's cell.
    pub fn explicit(mut self, cell: impl Into<String>) -> Self {
        self.explicit = Some(cell.into());
        self
    }
}

/// The PGD-versus-GD table of a regression run: `columns` names the value columns (PGD, GD and,
/// when the rows have one, the explicit solution).
pub fn pgd_vs_gd(summary: &Value, columns: &[String], rows: &[Compared]) -> String {
    let s = Summary(summary);
    let mut table = Table::new(std::iter::once(String::new()).chain(columns.iter().cloned()));
    for r in rows {
        let mut cells = vec![
            r.label.to_string(),
            s.get(r.pgd, r.format),
            s.get(r.gd, r.format),
        ];
        cells.extend(r.explicit.clone());
        table.row(cells);
    }
    table.markdown()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_comparison_prints_each_figure_as_its_format_says_and_n_a_when_missing() {
        let summary = json!({"a": 0.123456, "ga": 2.5e-7, "s": [1, 4], "gs": null});
        let text = pgd_vs_gd(
            &summary,
            &["PGD".into(), "GD".into(), "explicit".into()],
            &[
                Compared::new("fixed", "a", "missing", Format::Fixed).explicit("0"),
                Compared::new("sci", "ga", "a", Format::Sci).explicit("1"),
                Compared::new("support", "s", "gs", Format::Support).explicit("-"),
            ],
        );
        assert_eq!(
            text,
            "| | PGD | GD | explicit |\n|---|---|---|---|\n\
             | fixed | 0.1235 | n/a | 0 |\n\
             | sci | 2.500e-7 | 1.235e-1 | 1 |\n\
             | support | 2 non-zeros: [1,4] | n/a | - |\n"
        );
    }
}
