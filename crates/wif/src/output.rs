//! Machine and human output, shaped like the az CLI's: `-o json|jsonc|table|tsv|yaml|none` and
//! a JMESPath `--query` applied before formatting.

use serde_json::Value;

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Pretty JSON.
    #[default]
    Json,
    /// JSON (kept for az compatibility; no colouring).
    Jsonc,
    /// Aligned columns of the top-level scalar fields.
    Table,
    /// Tab-separated values, no header (for shell scripts).
    Tsv,
    /// YAML.
    Yaml,
    /// Nothing.
    None,
}

/// Formatting options shared by every listing command.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Json)]
    pub output: Format,
    /// JMESPath query applied to the result, as in the az CLI (for example `[].name`).
    #[arg(long)]
    pub query: Option<String>,
}

/// A `--query` that does not compile or cannot run.
#[derive(Debug, thiserror::Error)]
#[error("invalid --query: {0}")]
pub struct QueryError(String);

/// Applies the query and renders the value.
pub fn render(value: &Value, args: &OutputArgs) -> Result<String, QueryError> {
    let value = match &args.query {
        Some(q) => {
            let expr = jmespath::compile(q).map_err(|e| QueryError(e.to_string()))?;
            let result = expr.search(value).map_err(|e| QueryError(e.to_string()))?;
            serde_json::to_value(&*result).map_err(|e| QueryError(e.to_string()))?
        }
        None => value.clone(),
    };
    Ok(match args.output {
        Format::Json | Format::Jsonc => {
            serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
        }
        Format::Yaml => serde_yaml_ng::to_string(&value).unwrap_or_default(),
        Format::Tsv => tsv(&value),
        Format::Table => table(&value),
        Format::None => String::new(),
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn rows(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn tsv(value: &Value) -> String {
    let mut out = String::new();
    for row in rows(value) {
        let line: Vec<String> = match row {
            Value::Object(m) => m
                .values()
                .filter(|v| !v.is_object() && !v.is_array())
                .map(scalar)
                .collect(),
            other => vec![scalar(other)],
        };
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out
}

fn table(value: &Value) -> String {
    let rows = rows(value);
    let mut headers: Vec<String> = Vec::new();
    for row in &rows {
        if let Value::Object(m) = row {
            for (k, v) in m {
                if !v.is_object() && !v.is_array() && !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
    }
    if headers.is_empty() {
        return rows.iter().map(|r| scalar(r) + "\n").collect();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .map(|h| r.get(h).map(scalar).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            cells
                .iter()
                .filter_map(|c| c.get(i).map(|s| s.chars().count()))
                .chain(std::iter::once(title(h).chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |vals: Vec<String>| -> String {
        vals.iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
            + "\n"
    };
    out.push_str(&line(headers.iter().map(|h| title(h)).collect()));
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for c in cells {
        out.push_str(&line(c));
    }
    out
}

/// `assertionIssuer` → `AssertionIssuer`, as az titles its table columns.
fn title(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(output: Format, query: Option<&str>) -> OutputArgs {
        OutputArgs {
            output,
            query: query.map(str::to_owned),
        }
    }

    #[test]
    fn query_then_tsv() {
        let v = json!([{"name": "a", "n": 1}, {"name": "b", "n": 2}]);
        assert_eq!(
            render(&v, &args(Format::Tsv, Some("[].name"))).unwrap(),
            "a\nb\n"
        );
        assert_eq!(
            render(&v, &args(Format::Tsv, None)).unwrap(),
            "a\t1\nb\t2\n"
        );
    }

    #[test]
    fn table_has_titled_columns() {
        let v = json!([{"name": "alpha", "code": 0}]);
        let t = render(&v, &args(Format::Table, None)).unwrap();
        assert!(t.starts_with("Name   Code\n-----  ----\nalpha  0\n"), "{t}");
    }

    #[test]
    fn bad_query_is_an_error() {
        assert!(render(&json!({}), &args(Format::Json, Some("[[["))).is_err());
    }
}
