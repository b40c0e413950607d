//! Prompt text cut into plain text and template expressions, so a page can highlight the
//! variables (`{{ name }}`) and tags (`{% if %}`) without writing any of it as HTML.

use serde::Serialize;

/// A piece of prompt text: plain, or one template expression or tag (delimiters included).
#[derive(Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Segment {
    pub text: String,
    /// `var` (`{{ … }}`), `tag` (`{% … %}`), `comment` (`{# … #}`) or empty for plain text.
    pub kind: &'static str,
}

/// `text` cut at the template delimiters; an opening delimiter without its close is plain text.
pub(crate) fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut plain = String::new();
    while let Some(at) = rest.find('{') {
        let (before, from) = rest.split_at(at);
        plain.push_str(before);
        let close = match from.as_bytes().get(1) {
            Some(b'{') => Some(("}}", "var")),
            Some(b'%') => Some(("%}", "tag")),
            Some(b'#') => Some(("#}", "comment")),
            _ => None,
        };
        match close.and_then(|(end, kind)| from[2..].find(end).map(|i| (i + 4, kind))) {
            Some((len, kind)) => {
                if !plain.is_empty() {
                    out.push(Segment {
                        text: std::mem::take(&mut plain),
                        kind: "",
                    });
                }
                out.push(Segment {
                    text: from[..len].to_owned(),
                    kind,
                });
                rest = &from[len..];
            }
            None => {
                plain.push('{');
                rest = &from[1..];
            }
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        out.push(Segment {
            text: plain,
            kind: "",
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_and_tags_are_cut_out_and_a_lone_brace_is_text() {
        let cut = segments("Hi {{ name }}{% if x %}!{% endif %} {a} {{ open");
        let kinds: Vec<_> = cut.iter().map(|s| (s.text.as_str(), s.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("Hi ", ""),
                ("{{ name }}", "var"),
                ("{% if x %}", "tag"),
                ("!", ""),
                ("{% endif %}", "tag"),
                (" {a} {{ open", ""),
            ]
        );
    }
}
