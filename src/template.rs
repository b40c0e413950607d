//! Prompt templates: Jinja2 syntax through MiniJinja, strict about variables — a template may
//! only read variables the prompt declares, and rendering fails on any that is missing.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior};

/// A template that does not compile or render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// 1-based line inside the template, when MiniJinja knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

fn error(e: minijinja::Error) -> TemplateError {
    let message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    TemplateError {
        line: e.line(),
        message,
    }
}

/// The top-level variables `source` reads (not those it sets itself, nor MiniJinja's global
/// functions such as `range` or `namespace`), or why it does not compile.
pub fn variables(source: &str) -> Result<BTreeSet<String>, TemplateError> {
    let env = environment();
    let template = env.template_from_str(source).map_err(error)?;
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    Ok(template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !globals.contains(name.as_str()))
        .collect())
}

/// Renders `source` with `values`; a variable it reads that `values` lacks is an error.
pub fn render(
    source: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, TemplateError> {
    let env = environment();
    let template = env.template_from_str(source).map_err(error)?;
    template.render(values).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_variables_read() {
        let vars =
            variables("Hello {{ name }}, {% for x in items %}{{ x }}{% endfor %} {{ user.id }}")
                .unwrap();
        assert_eq!(
            vars.into_iter().collect::<Vec<_>>(),
            ["items", "name", "user"]
        );
        assert!(variables("{% set a = 1 %}{{ a }}").unwrap().is_empty());
        let globals = "{% for i in range(3) %}{{ i }}{% endfor %}{% set ns = namespace(a=1) %}{{ dict(a=1) }}";
        assert!(variables(globals).unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = variables("line one\n{{ broken ").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("syntax"), "{}", err.message);
    }

    #[test]
    fn strict_rendering() {
        let mut values = serde_json::Map::new();
        values.insert("name".into(), "Ada".into());
        assert_eq!(render("Hi {{ name }}", &values).unwrap(), "Hi Ada");
        let err = render("Hi {{ nobody }}", &values).unwrap_err();
        assert!(err.message.contains("undefined"), "{}", err.message);
    }
}
