//! `docs/config.md` is generated from the same source as `hookmq config default`: the commented
//! `default.toml`. Each `key = value` line becomes a row (key, default, the comment above it);
//! commented-out examples become code blocks. A test keeps the committed file current.

use std::fmt::Write;

/// Renders the configuration reference in Markdown.
pub(crate) fn render(default_toml: &str) -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from `crates/hookmq/default.toml` by `hookmq config docs`; do not edit by hand.\n\
         `hookmq config default` prints the same file. Every key is optional.\n",
    );
    let mut comments: Vec<String> = Vec::new();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut section = String::new();
    let mut preamble_done = false;

    let flush_rows = |out: &mut String, rows: &mut Vec<(String, String, String)>| {
        if rows.is_empty() {
            return;
        }
        out.push_str("\n| Key | Default | Meaning |\n|---|---|---|\n");
        for (k, v, d) in rows.drain(..) {
            let _ = writeln!(
                out,
                "| `{k}` | `{}` | {} |",
                v.replace('|', "\\|"),
                d.replace('|', "\\|")
            );
        }
    };
    let flush_example = |out: &mut String, comments: &mut Vec<String>| {
        if comments.is_empty() {
            return;
        }
        let (code, prose): (Vec<String>, Vec<String>) = comments
            .drain(..)
            .partition(|c| c.starts_with('[') || c.contains(" = ") || c.starts_with("[["));
        if !prose.is_empty() {
            let _ = writeln!(out, "\n{}", prose.join(" "));
        }
        if !code.is_empty() {
            let _ = writeln!(out, "\n```toml\n{}\n```", code.join("\n"));
        }
    };

    for raw in default_toml.lines() {
        let line = raw.trim();
        if line.is_empty() {
            if !preamble_done {
                let _ = writeln!(out, "\n{}", comments.join(" "));
                comments.clear();
                preamble_done = true;
            } else if !comments.is_empty() && rows.is_empty() && section.is_empty() {
                comments.clear();
            } else if !comments.is_empty() {
                flush_rows(&mut out, &mut rows);
                flush_example(&mut out, &mut comments);
            }
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            comments.push(c.trim().to_owned());
            continue;
        }
        if line.starts_with('[') {
            flush_rows(&mut out, &mut rows);
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            let _ = writeln!(out, "\n## `[{section}]`");
            if !comments.is_empty() {
                let _ = writeln!(out, "\n{}", comments.join(" "));
                comments.clear();
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let key = if section.is_empty() {
                k.trim().to_owned()
            } else {
                format!("{section}.{}", k.trim())
            };
            rows.push((key, v.trim().to_owned(), comments.join(" ")));
            comments.clear();
        }
    }
    flush_rows(&mut out, &mut rows);
    flush_example(&mut out, &mut comments);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_config_md_is_current() {
        let want = render(crate::config::DEFAULT_TOML);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md");
        let got = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            got == want,
            "docs/config.md is stale: run `cargo run -p hookmq -- config docs > docs/config.md`"
        );
    }

    #[test]
    fn every_key_of_the_default_file_is_documented() {
        let doc = render(crate::config::DEFAULT_TOML);
        for key in [
            "mqtt.max_inflight",
            "listeners.tcp.default.bind",
            "authorization.cache.ttl",
            "api.token",
        ] {
            assert!(doc.contains(&format!("`{key}`")), "{key} missing");
        }
    }
}
