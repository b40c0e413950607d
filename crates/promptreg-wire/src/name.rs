//! The prompt-name grammar: 1–4 `/`-separated segments of `[a-z0-9][a-z0-9_-]*`, each at most
//! 64 bytes. It is part of the wire format because names are path segments of the HTTP API: a
//! client checks a name before putting it in a URL, the registry before accepting it, with the
//! same rule.

/// Most segments a name may have.
pub const MAX_SEGMENTS: usize = 4;
/// Longest segment, in bytes.
pub const MAX_SEGMENT_LEN: usize = 64;

/// Checks `input` against the grammar; the error says why it is not a name, in a phrase.
pub fn check(input: &str) -> Result<(), String> {
    if input.is_empty() {
        return Err("the name is empty".into());
    }
    let segments = input.split('/').count();
    if segments > MAX_SEGMENTS {
        return Err(format!(
            "{segments} segments; at most {MAX_SEGMENTS} are allowed"
        ));
    }
    input.split('/').try_for_each(check_segment)
}

fn check_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err("empty segment (leading, trailing or doubled `/`)".into());
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(format!(
            "segment `{segment}` is longer than {MAX_SEGMENT_LEN} characters"
        ));
    }
    let mut chars = segment.chars();
    let first = chars.next().unwrap_or('-');
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(format!(
            "segment `{segment}` must start with a lower-case letter or digit"
        ));
    }
    if let Some(bad) =
        chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "`{bad}` is not allowed in `{segment}` (use a-z, 0-9, `_` and `-`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        let long = "a".repeat(MAX_SEGMENT_LEN);
        for ok in [
            "a",
            "support/refund-agent",
            "a/b/c/d",
            "x_1-2",
            "0abc",
            &long,
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_invalid_names() {
        let long = "a".repeat(MAX_SEGMENT_LEN + 1);
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "A",
            "-a",
            "_a",
            "a b",
            "a/b/c/d/e",
            "é",
            "a/../b",
            "..",
            &long,
        ] {
            assert!(check(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
