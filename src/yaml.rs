//! YAML in and out through serde-saphyr, with errors that name the file, line and column.
//!
//! serde-saphyr rejects duplicate keys, bounds alias expansion and nesting depth, and reports
//! positions; this module only adds the file name, a size limit and UTF-8 checking.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Largest YAML document promptreg reads (the index of a 10,000-prompt registry is ~1 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;

/// Parses `bytes` (the content of `file`) into `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], file: &Path) -> Result<T> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::Invalid {
            file: file.to_owned(),
            message: format!(
                "{} bytes is larger than the {MAX_DOCUMENT_BYTES}-byte limit",
                bytes.len()
            ),
        });
    }
    let text = utf8(bytes, file)?;
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
        Error::Yaml {
            file: file.to_owned(),
            line,
            column,
            message: message_of(&e),
        }
    })
}

/// Checks that `bytes` are UTF-8, naming the position of the first bad byte.
pub fn utf8<'a>(bytes: &'a [u8], file: &Path) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let column = good.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
        Error::Yaml {
            file: file.to_owned(),
            line,
            column,
            message: "invalid UTF-8".into(),
        }
    })
}

/// The message without serde-saphyr's own "at line X, column Y" suffix and snippet.
fn message_of(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let text = text.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    // The deserializer's Rust-isms, in words a person writing YAML uses.
    match text.as_str() {
        "invalid u64" | "invalid u32" => "expected a whole number of at least 0".into(),
        "invalid floating point" => "expected a number".into(),
        "invalid boolean" => "expected true or false".into(),
        "expected mapping start" => "expected a mapping (`key: value` lines) here".into(),
        "expected sequence start" => "expected a list here".into(),
        _ => text,
    }
}

/// Serialises `value` as YAML (multi-line strings become block scalars).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Invalid {
        file: "<output>".into(),
        message: format!("cannot write YAML: {e}"),
    })
}
