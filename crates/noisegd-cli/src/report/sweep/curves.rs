//! The sweep's plots: the final figures against σ per group (when σ varies; the paper's Figs. 3
//! and 6) and the logged curves of each group with ±s.e.m. bands (Figs. 4 and 7–10).

use super::runs::label;
use super::runs::{GroupKey, RunRecord, Stat};
use super::{NOT_CURVES, PREFERRED_CURVES};
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The figures against σ (when σ varies) and the logged curves; returns the plot stems written.
pub fn write_plots(
    runs: &[RunRecord],
    keys: &[String],
    groups: &BTreeMap<GroupKey, Vec<&RunRecord>>,
    shown: &[String],
    out: &Path,
) -> Result<Vec<String>> {
    let mut written = vec![];
    let sigma_key = "noise.sigma";
    if keys.iter().any(|k| k == sigma_key) {
        let others: Vec<String> = keys.iter().filter(|k| *k != sigma_key).cloned().collect();
        for figure in shown {
            let mut by_series: BTreeMap<GroupKey, Vec<(f64, Stat)>> = BTreeMap::new();
            for (key, members) in groups {
                let sigma: Option<f64> = key
                    .iter()
                    .find(|(k, _)| k == sigma_key)
                    .and_then(|(_, v)| v.parse().ok());
                let values: Vec<f64> = members
                    .iter()
                    .filter_map(|r| r.summary.get(figure).copied())
                    .collect();
                if let (Some(sigma), Some(s)) = (sigma, Stat::of(&values)) {
                    let series_key = key
                        .iter()
                        .filter(|(k, _)| others.contains(k))
                        .cloned()
                        .collect();
                    by_series.entry(series_key).or_default().push((sigma, s));
                }
            }
            let series: Vec<Series> = by_series
                .into_iter()
                .map(|(key, mut points)| {
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series {
                        label: label(&key),
                        points: points.iter().map(|(x, s)| (*x, s.mean)).collect(),
                        band: Some(
                            points
                                .iter()
                                .map(|(x, s)| (*x, s.mean - s.sem, s.mean + s.sem))
                                .collect(),
                        ),
                    }
                })
                .collect();
            // A linked axis (`noise.policy:noise.sigma=anti:0.03,sam:0,...`) gives every series
            // one σ: points, not curves, and nothing the table does not already say.
            if series.iter().all(|s| s.points.len() < 2) {
                continue;
            }
            let stem = format!("sweep_{}_vs_sigma", figure.replace('.', "_"));
            let plot = LinePlot {
                title: format!("final {figure} against sigma (mean ± s.e.m. over seeds)"),
                x_label: "sigma (noise.sigma; per-weight std: sigma on one group for layer, sigma/sqrt(M) for all)".into(),
                y_label: figure.clone(),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                series,
            };
            write_line_plot(&plot, &out.join(&stem))?;
            written.push(stem);
        }
    }

    // Curves: mean ± s.e.m. over seeds at each logged step, per group and per text column value.
    let tables: Vec<(&RunRecord, Table)> = runs
        .iter()
        .filter_map(|r| {
            read_metrics(&r.dir.join("metrics.csv"))
                .ok()
                .map(|t| (r, t))
        })
        .collect();
    let columns: BTreeSet<&String> = tables.iter().flat_map(|(_, t)| t.numeric.keys()).collect();
    for column in PREFERRED_CURVES
        .iter()
        .filter(|c| columns.iter().any(|k| k == *c))
    {
        let mut acc: BTreeMap<(GroupKey, String), BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
        for (run, table) in &tables {
            let key: GroupKey = keys
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        run.params.get(k).cloned().unwrap_or_else(|| "-".into()),
                    )
                })
                .collect();
            let Some(values) = table.numeric.get(*column) else {
                continue;
            };
            for (i, v) in values.iter().enumerate() {
                acc.entry((key.clone(), table.tags[i].clone()))
                    .or_default()
                    .entry(table.steps[i])
                    .or_default()
                    .push(*v);
            }
        }
        let series: Vec<Series> = acc
            .into_iter()
            .map(|((key, tag), by_step)| {
                let stats: Vec<(f64, Stat)> = by_step
                    .into_iter()
                    .filter_map(|(step, v)| Stat::of(&v).map(|s| (step as f64, s)))
                    .collect();
                let name = if tag.is_empty() {
                    label(&key)
                } else {
                    format!("{} {tag}", label(&key))
                };
                Series {
                    label: name,
                    points: stats.iter().map(|(x, s)| (*x, s.mean)).collect(),
                    band: Some(
                        stats
                            .iter()
                            .map(|(x, s)| (*x, s.mean - s.sem, s.mean + s.sem))
                            .collect(),
                    ),
                }
            })
            .collect();
        let positive = series.iter().all(|s| s.points.iter().all(|p| p.1 > 0.0));
        let stem = format!("sweep_curve_{column}");
        let plot = LinePlot {
            title: format!("{column} (mean ± s.e.m. over seeds)"),
            x_label: "step".into(),
            y_label: column.to_string(),
            x_scale: Scale::Log10,
            y_scale: if positive && column.contains("loss") {
                Scale::Log10
            } else {
                Scale::Linear
            },
            series,
        };
        if write_line_plot(&plot, &out.join(&stem)).is_ok() {
            written.push(stem);
        }
    }
    Ok(written)
}

/// A `metrics.csv`: the step of each row, its text columns joined (e.g. `method`), and every
/// numeric column.
struct Table {
    steps: Vec<u64>,
    tags: Vec<String>,
    numeric: BTreeMap<String, Vec<f64>>,
}

fn read_metrics(path: &Path) -> Result<Table> {
    let mut reader = csv::Reader::from_path(path)?;
    let header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let step_col = header
        .iter()
        .position(|h| h == "step")
        .context("metrics.csv has no step column")?;
    let is_numeric = |j: usize| {
        rows.iter()
            .all(|r| r.get(j).is_some_and(|v| v.parse::<f64>().is_ok()))
    };
    let mut numeric = BTreeMap::new();
    let mut text_cols = vec![];
    for (j, name) in header.iter().enumerate() {
        if NOT_CURVES.contains(&name.as_str()) {
            continue;
        }
        if is_numeric(j) {
            numeric.insert(
                name.clone(),
                rows.iter()
                    .map(|r| r[j].parse().unwrap_or(f64::NAN))
                    .collect(),
            );
        } else {
            text_cols.push(j);
        }
    }
    let steps = rows
        .iter()
        .map(|r| {
            r[step_col]
                .parse::<u64>()
                .context("a step that is not a whole number")
        })
        .collect::<Result<_>>()?;
    let tags = rows
        .iter()
        .map(|r| {
            text_cols
                .iter()
                .map(|&j| r[j].to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    Ok(Table {
        steps,
        tags,
        numeric,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of `(policy, σ)` cells with a final test accuracy each, grouped as the report does.
    fn plots_for(cells: &[(&str, &str)], out: &Path) -> Vec<String> {
        let keys: Vec<String> = vec!["noise.policy".into(), "noise.sigma".into()];
        let runs: Vec<RunRecord> = cells
            .iter()
            .enumerate()
            .map(|(i, (policy, sigma))| RunRecord {
                dir: out.join(format!("run{i}")),
                params: [("noise.policy", *policy), ("noise.sigma", *sigma)]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                summary: [("test_accuracy".to_string(), 0.5 + i as f64 / 100.0)].into(),
            })
            .collect();
        let mut groups: BTreeMap<GroupKey, Vec<&RunRecord>> = BTreeMap::new();
        for run in &runs {
            let key = keys
                .iter()
                .map(|k| (k.clone(), run.params[k].clone()))
                .collect();
            groups.entry(key).or_default().push(run);
        }
        write_plots(&runs, &keys, &groups, &["test_accuracy".into()], out).unwrap()
    }

    #[test]
    fn a_sigma_grid_is_plotted_against_sigma_and_a_linked_axis_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let grid = [
            ("layer", "0.01"),
            ("layer", "0.05"),
            ("all", "0.01"),
            ("all", "0.05"),
        ];
        assert_eq!(
            plots_for(&grid, tmp.path()),
            vec!["sweep_test_accuracy_vs_sigma".to_string()]
        );
        assert!(tmp
            .path()
            .join("sweep_test_accuracy_vs_sigma.svg")
            .is_file());

        let tmp = tempfile::tempdir().unwrap();
        let linked = [("anti", "0.03"), ("sam", "0"), ("rwp", "0.01")];
        assert_eq!(plots_for(&linked, tmp.path()), Vec::<String>::new());
    }
}
