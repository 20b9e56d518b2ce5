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
    // The previous line made a row: a `# key = example` right after it is the next optional key
    // (it shares the prose above the rows), not the start of the next row's meaning.
    let mut after_row = false;

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
        let (code, prose): (Vec<String>, Vec<String>) =
            comments.drain(..).partition(|c| is_code(c));
        if !prose.is_empty() {
            let _ = writeln!(out, "\n{}", prose.join(" "));
        }
        if !code.is_empty() {
            let _ = writeln!(out, "\n```toml\n{}\n```", code.join("\n"));
        }
    };

    for raw in default_toml.lines() {
        let line = raw.trim();
        let was_after_row = std::mem::take(&mut after_row);
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
            let c = c.trim();
            // `# key = example` after prose alone, or right after a row, is an optional key
            // without a default: its own row, not a line of an example block.
            if let Some((k, v)) = optional_key(c)
                && !section.is_empty()
                && ((!comments.is_empty() && comments.iter().all(|p| !is_code(p)))
                    || (comments.is_empty() && was_after_row))
            {
                let meaning = if comments.is_empty() {
                    format!("Example: `{v}`.")
                } else {
                    format!("{} Example: `{v}`.", comments.join(" "))
                };
                rows.push((format!("{section}.{k}"), "unset".to_owned(), meaning));
                comments.clear();
                after_row = true;
                continue;
            }
            comments.push(c.to_owned());
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
            after_row = true;
        }
    }
    flush_rows(&mut out, &mut rows);
    flush_example(&mut out, &mut comments);
    out
}

/// Whether a comment line is TOML (a table header or an assignment) rather than prose.
fn is_code(comment: &str) -> bool {
    comment.starts_with('[') || comment.contains(" = ")
}

/// `key = value` when a comment line is exactly one assignment to a plain key.
fn optional_key(comment: &str) -> Option<(&str, &str)> {
    let (k, v) = comment.split_once(" = ")?;
    let plain = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    (plain && !v.contains('#')).then_some((k, v.trim()))
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
            "mqtt.server_keepalive",
            "mqtt.max_keepalive",
            "mqtt.queue_drop_persistent",
            "cluster.credentials_file",
            "cluster.tls_ca_file",
            "cluster.tls_key_file",
        ] {
            assert!(doc.contains(&format!("`{key}`")), "{key} missing");
        }
    }

    #[test]
    fn a_commented_out_optional_key_is_its_own_row_never_part_of_the_next() {
        let toml = "# Preamble.\n\n[s]\n# Prose of a.\na = 1\n# b = \"x\"\n# c = 2\n\
                    # Prose of d.\nd = true\n# Prose of e.\n# e = 5\n\n\
                    # An example:\n# [s.t]\n# f = 1\n";
        let doc = render(toml);
        let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(
            rows,
            [
                "| `s.a` | `1` | Prose of a. |",
                "| `s.b` | `unset` | Example: `\"x\"`. |",
                "| `s.c` | `unset` | Example: `2`. |",
                "| `s.d` | `true` | Prose of d. |",
                "| `s.e` | `unset` | Prose of e. Example: `5`. |",
            ]
        );
        assert!(doc.contains("```toml\n[s.t]\nf = 1\n```"), "{doc}");
    }
}
