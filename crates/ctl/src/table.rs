//! Plain-text tables for `hookmq ctl` output: a header row and left-aligned columns.

/// A circuit breaker's JSON (`breaker` of a handler, driver or server) as one cell: `closed`,
/// `open`, `half_open` with the times it opened, `off` when disabled, `-` when not registered.
pub(crate) fn breaker_cell(b: &serde_json::Value) -> String {
    let Some(state) = b["state"].as_str() else {
        return "-".into();
    };
    if b["failures"].as_u64() == Some(0) {
        return "off".into();
    }
    match b["opens"].as_u64() {
        Some(n) if n > 0 => format!("{state}(opened {n}x)"),
        _ => state.to_owned(),
    }
}

/// A table being built.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, columns padded to their widest cell.
    pub(crate) fn render(&self) -> String {
        let cols = self.header.len();
        let mut width = vec![0; cols];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in row.iter().enumerate().take(cols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .take(cols)
                .map(|(i, c)| {
                    if i + 1 == cols {
                        c.clone()
                    } else {
                        format!("{c:<w$}", w = width[i])
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["long value".into(), "x".into()]);
        assert_eq!(t.render(), "A           BB\nlong value  x\n");
    }
}
