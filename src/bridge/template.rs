//! Template converters: Mustache-style `{{var}}` (Langfuse, MLflow), Python f-strings (LangSmith,
//! PromptLayer), Handlebars (dotprompt) and Jinja2 (`.prompty`, PromptLayer) into promptreg's
//! MiniJinja — only where the converted template renders the same text. Anything without an
//! equivalent is refused with its line and column; conversions that keep the meaning but change
//! the spelling are reported as notes.
//!
//! Literal text is written so MiniJinja prints it as it is: a `{` that would open a tag (`{{`,
//! `{%`, `{#`, or one just before a converted tag) becomes `{{ "{" }}`.

use std::collections::BTreeSet;

/// A template syntax of another system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `{{var}}` substitution and nothing else (Langfuse, MLflow): every other `{{` is text.
    Mustache,
    /// Python's `str.format`: `{var}`, with `{{` and `}}` for literal braces.
    FString,
    /// Handlebars as dotprompt runs it (no HTML escaping).
    Handlebars,
    /// Jinja2: kept as it is when MiniJinja compiles it.
    Jinja2,
    /// Plain text, no template at all (LangChain's `SystemMessage`): every brace is text.
    Literal,
}

impl Syntax {
    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::Mustache => "mustache",
            Syntax::FString => "f-string",
            Syntax::Handlebars => "handlebars",
            Syntax::Jinja2 => "jinja2",
            Syntax::Literal => "literal",
        }
    }
}

/// A converted template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The MiniJinja template.
    pub text: String,
    /// The top-level variables it reads.
    pub variables: BTreeSet<String>,
    /// What changed in spelling but not in meaning, with the place.
    pub notes: Vec<String>,
}

/// Why a template cannot be converted: where (1-based line and column) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Names MiniJinja reads as something other than a variable (constants, operators, the loop).
const RESERVED: [&str; 17] = [
    "true", "false", "none", "True", "False", "None", "loop", "self", "and", "or", "not", "in",
    "is", "if", "else", "super", "varargs",
];

/// Converts `source` from `syntax` to MiniJinja.
pub fn convert(source: &str, syntax: Syntax) -> Result<Converted, Refusal> {
    let mut out = Writer::new(source);
    match syntax {
        Syntax::Mustache => mustache(source, &mut out)?,
        Syntax::FString => fstring(source, &mut out)?,
        Syntax::Handlebars => handlebars(source, &mut out)?,
        Syntax::Jinja2 => return jinja2(source),
        Syntax::Literal => out.literal(source),
    }
    out.finish()
}

/// Where byte `at` of `source` is, 1-based.
pub fn position(source: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn refuse(source: &str, at: usize, message: impl Into<String>) -> Refusal {
    let (line, column) = position(source, at);
    Refusal {
        line,
        column,
        message: message.into(),
    }
}

/// Whether `name` is a variable name promptreg accepts (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The output being built: literal text (escaped as it goes) and tags.
struct Writer<'s> {
    source: &'s str,
    text: String,
    /// Literal text not yet written (escaping needs to know what follows it).
    pending: String,
    variables: BTreeSet<String>,
    notes: Vec<String>,
}

impl<'s> Writer<'s> {
    fn new(source: &'s str) -> Self {
        Writer {
            source,
            text: String::new(),
            pending: String::new(),
            variables: BTreeSet::new(),
            notes: Vec::new(),
        }
    }

    fn literal(&mut self, text: &str) {
        self.pending.push_str(text);
    }

    fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut chars = pending.chars().peekable();
        while let Some(c) = chars.next() {
            // A `{` opening a tag, or last before one of ours, is printed by an expression.
            if c == '{' && matches!(chars.peek(), Some('{' | '%' | '#') | None) {
                self.text.push_str("{{ \"{\" }}");
            } else {
                self.text.push(c);
            }
        }
    }

    /// A tag written as it is (`{{ name }}`, `{% if x %}`).
    fn tag(&mut self, tag: &str) {
        self.flush();
        self.text.push_str(tag);
    }

    /// `{{ name }}` for a variable read at byte `at`.
    fn variable(&mut self, name: &str, at: usize) -> Result<(), Refusal> {
        self.check_name(name, at)?;
        self.variables.insert(name.to_owned());
        self.tag(&format!("{{{{ {name} }}}}"));
        Ok(())
    }

    fn check_name(&self, name: &str, at: usize) -> Result<(), Refusal> {
        if !is_variable_name(name) {
            return Err(refuse(
                self.source,
                at,
                format!("`{name}` is not a variable name promptreg accepts (letters, digits and `_`, not starting with a digit)"),
            ));
        }
        if RESERVED.contains(&name) {
            return Err(refuse(
                self.source,
                at,
                format!("the variable `{name}` is a reserved word in Jinja templates; rename it before importing"),
            ));
        }
        Ok(())
    }

    fn note(&mut self, at: usize, message: impl std::fmt::Display) {
        let (line, column) = position(self.source, at);
        self.notes
            .push(format!("line {line}, column {column}: {message}"));
    }

    fn finish(mut self) -> Result<Converted, Refusal> {
        self.flush();
        // What was built must compile, and read exactly the variables counted.
        match crate::model::template::variables(&self.text) {
            Ok(_) => {}
            Err(e) => {
                return Err(Refusal {
                    line: 1,
                    column: 1,
                    message: format!("the converted template does not compile: {e}"),
                })
            }
        }
        Ok(Converted {
            text: self.text,
            variables: self.variables,
            notes: self.notes,
        })
    }
}

/// `{{ name }}` is a variable; any other `{{` is text, as Langfuse's and MLflow's substitution
/// leave it.
fn mustache(source: &str, out: &mut Writer<'_>) -> Result<(), Refusal> {
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = source[search..].find("{{") {
        let open = search + found;
        let inner_start = open + 2;
        let Some(close) = source[inner_start..].find("}}") else {
            out.note(open, "`{{` without a closing `}}` is text");
            break;
        };
        let inner = &source[inner_start..inner_start + close];
        let name = inner.trim();
        let simple = !name.is_empty()
            && !inner.contains('\n')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !simple {
            out.note(
                open,
                format!("`{{{{{inner}}}}}` is not a variable here; kept as text"),
            );
            search = inner_start;
            continue;
        }
        out.literal(&source[rest..open]);
        out.variable(name, open)?;
        rest = inner_start + close + 2;
        search = rest;
    }
    out.literal(&source[rest..]);
    Ok(())
}

/// Python's `str.format` with named fields only.
fn fstring(source: &str, out: &mut Writer<'_>) -> Result<(), Refusal> {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut rest = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                out.literal(&source[rest..i]);
                out.literal("{");
                i += 2;
                rest = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                out.literal(&source[rest..i]);
                out.literal("}");
                i += 2;
                rest = i;
            }
            b'{' => {
                let Some(close) = source[i + 1..].find('}') else {
                    return Err(refuse(
                        source,
                        i,
                        "a `{` without its `}` (write `{{` for a literal brace)",
                    ));
                };
                let field = &source[i + 1..i + 1 + close];
                if field.is_empty() || field.chars().all(|c| c.is_ascii_digit()) {
                    return Err(refuse(
                        source,
                        i,
                        format!(
                            "the positional field `{{{field}}}` has no name to become a variable"
                        ),
                    ));
                }
                if let Some(at) = field.find([':', '!']) {
                    return Err(refuse(
                        source,
                        i,
                        format!("`{{{field}}}` has a conversion or format spec (`{}`), which MiniJinja has no exact equivalent of", &field[at..]),
                    ));
                }
                if field.contains(['.', '[', '{']) {
                    return Err(refuse(
                        source,
                        i,
                        format!("`{{{field}}}` reads an attribute or an index, which f-strings and MiniJinja resolve differently"),
                    ));
                }
                if field != field.trim_matches(' ') {
                    return Err(refuse(
                        source,
                        i,
                        format!(
                            "`{{{field}}}` has spaces, which str.format reads as part of the name"
                        ),
                    ));
                }
                out.literal(&source[rest..i]);
                out.variable(field, i)?;
                i += close + 2;
                rest = i;
            }
            b'}' => {
                return Err(refuse(
                    source,
                    i,
                    "a single `}` (str.format refuses it; write `}}` for a literal brace)",
                ));
            }
            _ => i += 1,
        }
    }
    out.literal(&source[rest..]);
    Ok(())
}

/// One open Handlebars block.
enum Block {
    If,
    Unless,
    /// `each` with the loop variable it became.
    Each(String),
}

/// Handlebars: paths, `{{{raw}}}`, comments, `#if`/`#unless`/`#each` with `else`, `this`,
/// `@index`/`@first`/`@last`, `../`. Helpers, partials and whitespace control are refused.
fn handlebars(source: &str, out: &mut Writer<'_>) -> Result<(), Refusal> {
    let mut blocks: Vec<(Block, usize)> = Vec::new();
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = source[search..].find("{{") {
        let open = search + found;
        // `\{{` is a literal `{{` in Handlebars.
        if open > 0 && source.as_bytes()[open - 1] == b'\\' {
            out.literal(&source[rest..open - 1]);
            let close = source[open..]
                .find("}}")
                .map_or(source.len(), |c| open + c + 2);
            out.literal(&source[open..close]);
            rest = close;
            search = close;
            continue;
        }
        let comment = source[open..].starts_with("{{!--");
        let triple = !comment && source[open..].starts_with("{{{");
        let (inner_start, closing) = if comment {
            (open + 5, "--}}")
        } else if triple {
            (open + 3, "}}}")
        } else {
            (open + 2, "}}")
        };
        let close = source[inner_start..]
            .find(closing)
            .ok_or_else(|| refuse(source, open, format!("a tag without its `{closing}`")))?;
        let inner = if comment {
            "!"
        } else {
            &source[inner_start..inner_start + close]
        };
        let end = inner_start + close + closing.len();
        // A block tag, `else` or a comment alone on its line: Handlebars drops the whole line
        // (its indentation and its newline), so the conversion leaves them out too.
        let trimmed = inner.trim();
        let blockish = !triple && (trimmed.starts_with(['#', '/', '!', '^']) || trimmed == "else");
        let line_start = source[..open].rfind('\n').map_or(0, |n| n + 1);
        let line_end = source[end..]
            .find('\n')
            .map_or(source.len(), |n| end + n + 1);
        let standalone = blockish
            && line_start >= rest
            && source[line_start..open]
                .trim_matches([' ', '\t'])
                .is_empty()
            && source[end..line_end]
                .trim_matches([' ', '\t', '\r', '\n'])
                .is_empty();
        if standalone {
            out.literal(&source[rest..line_start]);
            rest = line_end;
        } else {
            out.literal(&source[rest..open]);
            rest = end;
        }
        search = end;
        if inner.starts_with('~') || inner.ends_with('~') {
            return Err(refuse(
                source,
                open,
                "whitespace control (`~`) has no exact equivalent",
            ));
        }
        if inner.starts_with('!') {
            continue;
        }
        let inner = inner.trim();
        let words: Vec<&str> = inner.split_whitespace().collect();
        let Some(&head) = words.first() else {
            return Err(refuse(source, open, "an empty tag"));
        };
        if let Some(helper) = head.strip_prefix('#') {
            let scope_var = match (helper, words.len()) {
                ("if" | "unless" | "each", 2) => words[1],
                ("if" | "unless" | "each", _) => {
                    return Err(refuse(
                        source,
                        open,
                        format!("`{{{{#{helper}}}}}` takes exactly one path here"),
                    ))
                }
                _ => {
                    return Err(refuse(
                        source,
                        open,
                        format!("the block helper `#{helper}` has no MiniJinja equivalent"),
                    ))
                }
            };
            let path = resolve_path(source, open, scope_var, &blocks, out)?;
            match helper {
                "if" => {
                    out.tag(&format!("{{% if {path} %}}"));
                    out.note(open, "`#if` became `{% if %}`: the same for text, numbers, lists and null (an empty object is true in Handlebars, false in MiniJinja)");
                    blocks.push((Block::If, open));
                }
                "unless" => {
                    out.tag(&format!("{{% if not {path} %}}"));
                    blocks.push((Block::Unless, open));
                }
                _ => {
                    let depth = blocks
                        .iter()
                        .filter(|(b, _)| matches!(b, Block::Each(_)))
                        .count();
                    let item = if depth == 0 {
                        "item".to_owned()
                    } else {
                        format!("item{}", depth + 1)
                    };
                    out.tag(&format!("{{% for {item} in {path} %}}"));
                    blocks.push((Block::Each(item), open));
                }
            }
            continue;
        }
        if let Some(helper) = head.strip_prefix('/') {
            let Some((block, _)) = blocks.pop() else {
                return Err(refuse(
                    source,
                    open,
                    format!("`{{{{/{helper}}}}}` closes nothing"),
                ));
            };
            let (expected, end) = match block {
                Block::If => ("if", "{% endif %}"),
                Block::Unless => ("unless", "{% endif %}"),
                Block::Each(_) => ("each", "{% endfor %}"),
            };
            if helper != expected {
                return Err(refuse(
                    source,
                    open,
                    format!("`{{{{/{helper}}}}}` closes `#{expected}`"),
                ));
            }
            out.tag(end);
            continue;
        }
        if inner == "else" || inner == "^" {
            if blocks.is_empty() {
                return Err(refuse(source, open, "`{{else}}` outside a block"));
            }
            out.tag("{% else %}");
            continue;
        }
        if head.starts_with('>') || head.starts_with('^') || head.starts_with('&') {
            return Err(refuse(source, open, format!("`{{{{{inner}}}}}` (a partial or an inverse section) has no MiniJinja equivalent")));
        }
        if words.len() > 1 || head.contains(['(', '"', '=']) {
            return Err(refuse(
                source,
                open,
                format!("the helper `{head}` has no MiniJinja equivalent"),
            ));
        }
        let path = resolve_path(source, open, head, &blocks, out)?;
        out.tag(&format!("{{{{ {path} }}}}"));
    }
    if let Some((_, at)) = blocks.last() {
        return Err(refuse(source, *at, "a block that is never closed"));
    }
    out.literal(&source[rest..]);
    Ok(())
}

/// A Handlebars path (`name`, `a.b`, `this`, `this.x`, `../x`, `@index`, `@root.x`) as a
/// MiniJinja expression, given the `each` blocks it is inside.
fn resolve_path(
    source: &str,
    at: usize,
    path: &str,
    blocks: &[(Block, usize)],
    out: &mut Writer<'_>,
) -> Result<String, Refusal> {
    let scopes: Vec<&str> = blocks
        .iter()
        .filter_map(|(b, _)| match b {
            Block::Each(item) => Some(item.as_str()),
            _ => None,
        })
        .collect();
    let innermost = scopes.last().copied();
    match path {
        "@index" | "@first" | "@last" => {
            let Some(_) = innermost else {
                return Err(refuse(source, at, format!("`{path}` outside `#each`")));
            };
            return Ok(match path {
                "@index" => "loop.index0".into(),
                "@first" => "loop.first".into(),
                _ => "loop.last".into(),
            });
        }
        _ => {}
    }
    if path.starts_with('@') && !path.starts_with("@root.") {
        return Err(refuse(
            source,
            at,
            format!("the data variable `{path}` has no MiniJinja equivalent"),
        ));
    }
    let mut rest = path;
    let mut up = 0;
    while let Some(r) = rest.strip_prefix("../") {
        up += 1;
        rest = r;
    }
    let root = if let Some(r) = rest.strip_prefix("@root.") {
        rest = r;
        true
    } else {
        false
    };
    let scope = if root || up >= scopes.len() {
        if up > scopes.len() {
            return Err(refuse(
                source,
                at,
                format!("`{path}` climbs above the template's data"),
            ));
        }
        None
    } else {
        Some(scopes[scopes.len() - 1 - up])
    };
    let parts: Vec<&str> = if rest == "this" {
        Vec::new()
    } else {
        rest.strip_prefix("this.")
            .unwrap_or(rest)
            .split('.')
            .collect()
    };
    for part in &parts {
        if !is_variable_name(part) || RESERVED.contains(part) {
            return Err(refuse(
                source,
                at,
                format!("`{path}` is not a path MiniJinja can read the same way"),
            ));
        }
    }
    match scope {
        Some(item) if parts.is_empty() => Ok(item.to_owned()),
        Some(item) => Ok(format!("{item}.{}", parts.join("."))),
        None if parts.is_empty() => Err(refuse(
            source,
            at,
            "`this` at the top level has no MiniJinja equivalent",
        )),
        None => {
            out.check_name(parts[0], at)?;
            out.variables.insert(parts[0].to_owned());
            Ok(parts.join("."))
        }
    }
}

/// Jinja2 is MiniJinja's own syntax: kept as it is when it compiles and uses nothing the
/// renderer lacks (`validate` checks the rest at release).
fn jinja2(source: &str) -> Result<Converted, Refusal> {
    let variables = crate::model::template::variables(source).map_err(|e| Refusal {
        line: e.line.unwrap_or(1),
        column: 1,
        message: format!("MiniJinja cannot compile it: {e}"),
    })?;
    if let Ok(unknowns) = crate::model::template::unknowns(source) {
        if let Some(unknown) = unknowns.iter().find(|u| !variables.contains(&u.name)) {
            return Err(refuse(
                source,
                unknown.offset,
                format!(
                    "`{}` ({:?}) is Jinja2 that promptreg's MiniJinja renderer does not provide",
                    unknown.name, unknown.kind
                ),
            ));
        }
    }
    Ok(Converted {
        text: source.to_owned(),
        variables,
        notes: Vec::new(),
    })
}

/// A MiniJinja template that only prints variables and literal text, written in `syntax`
/// (`{{name}}` for Langfuse's Mustache-style substitution, Handlebars with `\{{` for a literal
/// `{{`): `None` when it does more (tags, filters, expressions), or when the result would not
/// render the same — checked by converting it back and rendering both.
pub fn export_template(text: &str, syntax: Syntax) -> Option<String> {
    let literal = |out: &mut String, piece: &str| match syntax {
        Syntax::Handlebars => out.push_str(&piece.replace("{{", "\\{{")),
        _ => out.push_str(piece),
    };
    let mut out = String::new();
    let mut pending = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        if after.starts_with("{%") || after.starts_with("{#") {
            return None;
        }
        if !after.starts_with("{{") {
            pending.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        }
        pending.push_str(&rest[..open]);
        let close = after.find("}}")?;
        let inner = after[2..close].trim();
        if inner == "\"{\"" || inner == "'{'" {
            pending.push('{');
        } else if is_variable_name(inner) {
            literal(&mut out, &std::mem::take(&mut pending));
            out.push_str("{{");
            out.push_str(inner);
            out.push_str("}}");
        } else {
            return None;
        }
        rest = &after[close + 2..];
    }
    pending.push_str(rest);
    literal(&mut out, &pending);
    let back = convert(&out, syntax).ok()?;
    let names = crate::model::template::variables(text).ok()?;
    if back.variables != names {
        return None;
    }
    let values: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|n| (n.clone(), format!("\u{1}{n}\u{1}").into()))
        .collect();
    let original = crate::model::template::render(text, &values).ok()?;
    let again = crate::model::template::render(&back.text, &values).ok()?;
    (original == again).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, values: &[(&str, serde_json::Value)]) -> String {
        let map = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        crate::model::template::render(template, &map).unwrap()
    }

    fn ok(source: &str, syntax: Syntax) -> Converted {
        convert(source, syntax).unwrap_or_else(|e| panic!("{source:?}: {e}"))
    }

    /// The conversion table: each syntax, what converts (and renders the same) and what is
    /// refused, with `name = "Zoë"`, `xs = ["a", "b"]`, `flag = true`.
    #[test]
    fn the_conversion_table() {
        use Syntax::{FString, Handlebars, Jinja2, Literal, Mustache};
        let converts: [(Syntax, &str, &str); 14] = [
            (Mustache, "Hi {{name}}", "Hi Zoë"),
            (
                Mustache,
                "Hi {{ name }} {{ not a var }}",
                "Hi Zoë {{ not a var }}",
            ),
            (Mustache, "{% raw %}{#x#}", "{% raw %}{#x#}"),
            (FString, "Hi {name}, {{literal}}", "Hi Zoë, {literal}"),
            (FString, "{{{name}}}", "{Zoë}"),
            (Handlebars, "Hi {{name}} {{{name}}}", "Hi Zoë Zoë"),
            (Handlebars, "{{#if flag}}yes{{else}}no{{/if}}", "yes"),
            (Handlebars, "{{#unless flag}}no{{/unless}}.", "."),
            (
                Handlebars,
                "{{#each xs}}{{@index}}{{this}}{{/each}}",
                "0a1b",
            ),
            (Handlebars, "\\{{name}} {{!-- c --}}", "{{name}} "),
            (Jinja2, "{{ name | upper }}", "ZOË"),
            (
                Jinja2,
                "{% for x in xs %}{{ loop.index }}{% endfor %}",
                "12",
            ),
            (Literal, "{{name}} {% x %} {#", "{{name}} {% x %} {#"),
            (Literal, "plain", "plain"),
        ];
        let values = [
            ("name", serde_json::Value::from("Zoë")),
            ("xs", serde_json::json!(["a", "b"])),
            ("flag", true.into()),
        ];
        for (syntax, source, expected) in converts {
            let c = ok(source, syntax);
            let used: Vec<_> = values
                .iter()
                .filter(|(k, _)| c.variables.contains(*k))
                .cloned()
                .collect();
            assert_eq!(
                render(&c.text, &used),
                expected,
                "{syntax:?} {source:?} -> {:?}",
                c.text
            );
        }
        let refused: [(Syntax, &str, &str); 10] = [
            (Mustache, "{{ true }}", "reserved"),
            (FString, "{x:>4}", "format spec"),
            (FString, "{0}", "positional"),
            (FString, "a } b", "single `}`"),
            (Handlebars, "{{lookup a b}}", "helper `lookup`"),
            (Handlebars, "{{#with a}}{{/with}}", "`#with`"),
            (Handlebars, "{{> header}}", "partial"),
            (Handlebars, "{{~name}}", "whitespace control"),
            (Jinja2, "{{ x | tojson }}", "tojson"),
            (Jinja2, "{{ x.split(',') }}", "split"),
        ];
        for (syntax, source, why) in refused {
            let e = convert(source, syntax).expect_err(source);
            assert!(e.message.contains(why), "{syntax:?} {source:?}: {e}");
        }
    }

    #[test]
    fn mustache_variables_and_literal_braces() {
        let c = ok(
            "Hi {{ name }}! {{#if x}} {% raw %} {# no #} {{name}}{",
            Syntax::Mustache,
        );
        assert_eq!(c.variables.iter().collect::<Vec<_>>(), ["name"]);
        assert_eq!(
            render(&c.text, &[("name", "Zoë".into())]),
            "Hi Zoë! {{#if x}} {% raw %} {# no #} Zoë{"
        );
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    }

    #[test]
    fn reserved_and_odd_names_are_refused() {
        let e = convert("a\n  {{loop}}", Syntax::Mustache).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(convert("{{ é }}", Syntax::Mustache).is_err());
    }

    #[test]
    fn fstrings() {
        let c = ok(
            "{greeting}, {name}! {{literal}} {{{name}}}",
            Syntax::FString,
        );
        assert_eq!(
            render(
                &c.text,
                &[("greeting", "Hej".into()), ("name", "Åsa".into())]
            ),
            "Hej, Åsa! {literal} {Åsa}"
        );
        for bad in [
            "{0}", "{}", "{x:>10}", "{x!r}", "{a.b}", "{a[0]}", "x } y", "{open", "{ x }",
        ] {
            assert!(convert(bad, Syntax::FString).is_err(), "{bad}");
        }
    }

    #[test]
    fn handlebars_blocks_and_paths() {
        let c = ok(
            "{{! note }}{{#if vip}}Dear {{name}}{{else}}Hi{{/if}}:\n{{#each items}}{{@index}}={{this}}/{{../name}} {{/each}}{{{raw}}} \\{{kept}}",
            Syntax::Handlebars,
        );
        assert_eq!(
            c.variables.iter().collect::<Vec<_>>(),
            ["items", "name", "raw", "vip"]
        );
        let text = render(
            &c.text,
            &[
                ("vip", true.into()),
                ("name", "Ana".into()),
                ("items", serde_json::json!(["a", "b"])),
                ("raw", "<b>".into()),
            ],
        );
        assert_eq!(text, "Dear Ana:\n0=a/Ana 1=b/Ana <b> {{kept}}");
        let c = ok(
            "{{#each rows}}{{name}}{{/each}}{{#unless x}}no{{/unless}}",
            Syntax::Handlebars,
        );
        let text = render(
            &c.text,
            &[
                ("rows", serde_json::json!([{"name": "r1"}])),
                ("x", false.into()),
            ],
        );
        assert_eq!(text, "r1no");
    }

    #[test]
    fn handlebars_standalone_lines_vanish() {
        let c = ok(
            "List:\n  {{#each xs}}\n- {{this}}\n  {{/each}}\n{{! gone }}\nEnd {{#if a}}x{{/if}}\n",
            Syntax::Handlebars,
        );
        let text = render(
            &c.text,
            &[("xs", serde_json::json!(["a", "b"])), ("a", true.into())],
        );
        assert_eq!(text, "List:\n- a\n- b\nEnd x");
    }

    #[test]
    fn handlebars_refusals_name_the_place() {
        for bad in [
            "{{media url=photo}}",
            "{{json data}}",
            "{{> partial}}",
            "{{~name}}",
            "{{#with person}}{{/with}}",
            "{{#if a}}open",
            "{{/if}}",
            "{{@key}}",
            "{{this}}",
        ] {
            assert!(convert(bad, Syntax::Handlebars).is_err(), "{bad}");
        }
        let e = convert("one\ntwo {{history}} {{json x}}", Syntax::Handlebars).unwrap_err();
        assert_eq!((e.line, e.column), (2, 17), "{e}");
    }

    #[test]
    fn plain_templates_export_and_others_do_not() {
        assert_eq!(
            export_template("Hi {{ name }} {x}", Syntax::Mustache).as_deref(),
            Some("Hi {{name}} {x}")
        );
        assert_eq!(
            export_template("{% if a %}x{% endif %}", Syntax::Mustache),
            None
        );
        assert_eq!(export_template("{{ a | upper }}", Syntax::Mustache), None);
        // A literal `{{name}}`: Handlebars escapes it, Langfuse cannot say it.
        let literal = "Keep {{ \"{\" }}{name}} and {{ name }}";
        assert_eq!(
            export_template(literal, Syntax::Handlebars).as_deref(),
            Some("Keep \\{{name}} and {{name}}")
        );
        assert_eq!(export_template(literal, Syntax::Mustache), None);
        let spaced = "Keep {{ \"{\" }}{ not a var }}";
        assert_eq!(
            export_template(spaced, Syntax::Mustache).as_deref(),
            Some("Keep {{ not a var }}")
        );
    }

    #[test]
    fn jinja2_passes_through_or_is_refused() {
        let c = ok(
            "{% for x in xs %}{{ x | upper }}{% endfor %}",
            Syntax::Jinja2,
        );
        assert_eq!(c.variables.iter().collect::<Vec<_>>(), ["xs"]);
        assert!(convert("{{ x | tojson }}", Syntax::Jinja2).is_err());
        assert!(convert("{% if %}", Syntax::Jinja2).is_err());
    }
}
