//! Repository policy that a tool can check, run as an ordinary test so
//! `cargo test --workspace` enforces it and nobody has to remember it.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn sources() -> Vec<(PathBuf, String)> {
        let root = super::super::root();
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 10, "tidy found only {} files: wrong root?", files.len());
        files
            .into_iter()
            .map(|path| {
                let text = fs::read_to_string(&path).unwrap_or_default();
                (path, text)
            })
            .collect()
    }

    #[test]
    fn every_module_starts_with_a_doc_line() {
        let missing: Vec<_> = sources()
            .into_iter()
            .filter(|(_, text)| !text.trim_start().starts_with("//!"))
            .map(|(path, _)| path.display().to_string())
            .collect();
        assert!(missing.is_empty(), "modules without a leading `//!` doc line: {missing:#?}");
    }

    #[test]
    fn no_ignored_tests_or_placeholders() {
        // Built from parts so this file does not trip its own check.
        let banned = [
            ["#[", "ignore"].concat(),
            ["todo", "!("].concat(),
            ["unimplemented", "!("].concat(),
            ["dbg", "!("].concat(),
            ["should", "_panic"].concat(),
        ];
        let mut found = Vec::new();
        for (path, text) in sources() {
            for (n, line) in text.lines().enumerate() {
                for pattern in &banned {
                    if line.contains(pattern.as_str()) {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(found.is_empty(), "banned patterns: {found:#?}");
    }

    /// The types whose `Debug` is written by hand in `sources`, plus
    /// secrecy's: a secret held in one of them is redacted when printed.
    fn redacting_types<'a>(sources: impl Iterator<Item = &'a str>) -> Vec<String> {
        let mut types = vec!["SecretString".to_owned(), "SecretBox".to_owned()];
        for text in sources {
            for line in text.lines().map(str::trim) {
                if line.starts_with("impl") && line.contains("Debug for ") {
                    let name = line.rsplit("Debug for ").next().unwrap_or("");
                    let name: String =
                        name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() {
                        types.push(name);
                    }
                }
            }
        }
        types
    }

    /// Line numbers (1-based) of `#[derive(..Debug..)]` attributes on
    /// structs with a field whose name says it holds a secret, and whose
    /// type does not redact itself.
    fn derived_debug_on_secrets(text: &str, redacting: &[String]) -> Vec<usize> {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let mut found = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            if !(line.starts_with("#[derive(") && line.contains("Debug")) {
                continue;
            }
            let mut rest =
                lines[n + 1..].iter().skip_while(|l| l.starts_with("#[") || l.starts_with("//"));
            let Some(item) = rest.next() else { continue };
            if !(item.contains("struct ") && item.ends_with('{')) {
                continue;
            }
            let holds_secret = rest.take_while(|l| **l != "}").any(|field| {
                let Some((name, ty)) = field.trim_start_matches("pub ").split_once(':') else {
                    return false;
                };
                let name = name.to_lowercase();
                let named_secret = name.contains("secret") || name.contains("password");
                // `secrets: Vec<SecretSpec>` describes secrets; it holds none.
                let redacted =
                    ty.contains("Spec") || redacting.iter().any(|t| ty.contains(t.as_str()));
                named_secret && !redacted
            });
            if holds_secret {
                found.push(n + 1);
            }
        }
        found
    }

    #[test]
    fn the_secret_debug_check_catches_a_derived_debug() {
        let redacting = redacting_types(["impl fmt::Debug for Sealed {"].into_iter());
        let bad = "#[derive(Debug, Clone)]\npub struct Creds {\n    pub token_secret: String,\n}\n";
        assert_eq!(derived_debug_on_secrets(bad, &redacting), [1]);
        let spec = "#[derive(Debug)]\npub struct D {\n    pub secrets: Vec<SecretSpec>,\n}\n";
        assert!(derived_debug_on_secrets(spec, &redacting).is_empty());
        let sealed = "#[derive(Debug)]\npub struct D {\n    pub secrets: Sealed,\n    token_secret: SecretString,\n}\n";
        assert!(
            derived_debug_on_secrets(sealed, &redacting).is_empty(),
            "self-redacting types are fine"
        );
        let enum_ = "#[derive(Debug)]\nenum E {\n    secret: u8,\n}\n";
        assert!(
            derived_debug_on_secrets(enum_, &redacting).is_empty(),
            "only structs have fields here"
        );
    }

    #[test]
    fn secret_holding_types_do_not_derive_debug() {
        // A type with a field whose name says it holds a secret must write
        // its own redacting `Debug`.
        let sources = sources();
        let redacting = redacting_types(sources.iter().map(|(_, text)| text.as_str()));
        let found: Vec<String> = sources
            .iter()
            .flat_map(|(path, text)| {
                derived_debug_on_secrets(text, &redacting)
                    .into_iter()
                    .map(move |n| format!("{}:{n}", path.display()))
            })
            .collect();
        assert!(found.is_empty(), "derived Debug on secret-holding types: {found:#?}");
    }
}
