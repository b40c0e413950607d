//! The templates of a prompt that parsed: each compiles, reads only declared variables, uses
//! every required one, and renders with defaults within the render limits; where each finding
//! lands in `prompt.yaml` or the system prompt file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::parse_error;
use crate::model::prompt::PromptFile;
use crate::model::template::{Unknown, UnknownKind};
use crate::model::{template, yaml};
use crate::validate::files::{Entry, Files};
use crate::validate::finding::{Finding, Severity};
use crate::validate::positions::{first_use, line_column, Position, Scalar, Spans};
use crate::Result;

/// Where a template comes from.
pub(super) enum Origin {
    /// `system_prompt` in prompt.yaml.
    Inline,
    /// `system_prompt_file`: the file (repository-relative).
    File(String),
    /// `messages[i].content`.
    Message(usize),
}

pub(super) struct Template {
    pub source: String,
    pub origin: Origin,
}

/// The checks of a prompt that parsed.
pub(super) struct Contents<'a, 'f> {
    pub files: &'a Files<'f>,
    pub dir: &'a str,
    pub file: &'a str,
    pub text: &'a str,
    pub entries: &'a [(String, Entry)],
    pub prompt: &'a PromptFile,
    /// False when a rule is broken (already reported): the budget is then not checked.
    pub rules_ok: bool,
    pub spans: Option<Spans>,
}

impl Contents<'_, '_> {
    /// Positions, computed on first need.
    pub(super) fn spans(&mut self) -> &Spans {
        let text = self.text;
        self.spans.get_or_insert_with(|| Spans::of(text))
    }

    pub(super) fn check(mut self, out: &mut Vec<Finding>) -> Result<()> {
        let mut templates = Vec::new();
        if let Some(source) = &self.prompt.system_prompt {
            templates.push(Template {
                source: source.clone(),
                origin: Origin::Inline,
            });
        }
        let mut complete = true;
        if let Some(path) = self.prompt.system_prompt_file.clone() {
            match self.component("system_prompt_file", &path, out)? {
                Some((shown, bytes)) => match yaml::utf8(&bytes, Path::new(&shown)) {
                    Ok(source) => templates.push(Template {
                        source: source.to_owned(),
                        origin: Origin::File(shown),
                    }),
                    Err(e) => {
                        out.push(parse_error(e, &shown));
                        complete = false;
                    }
                },
                None => complete = false,
            }
        }
        if let Some(path) = self.prompt.examples_file.clone() {
            if let Some((shown, bytes)) = self.component("examples_file", &path, out)? {
                if let Err(e) = yaml::parse::<Vec<Value>>(&bytes, Path::new(&shown)) {
                    out.push(parse_error(e, &shown));
                }
            }
        }
        for (i, message) in self.prompt.messages.iter().enumerate() {
            templates.push(Template {
                source: message.content.clone(),
                origin: Origin::Message(i),
            });
        }

        let declared = &self.prompt.variables;
        let mut used = BTreeSet::new();
        let mut compiled = complete;
        let mut undeclared = false;
        let mut unusable = false;
        for template in &templates {
            match template::variables(&template.source) {
                Err(e) => {
                    compiled = false;
                    let (file, at) = self.place(template, (e.line.unwrap_or(1) as u64, 1));
                    out.push(Finding::error(
                        file,
                        Some(at),
                        "template-syntax",
                        format!(
                            "{} does not compile: {}",
                            describe(&template.origin),
                            e.message
                        ),
                    ));
                }
                Ok(variables) => {
                    // Calls of names neither the renderer nor the template defines: reported as
                    // unknown functions (a declared variable called is a value's business).
                    let mut functions = BTreeSet::new();
                    for unknown in template::unknowns(&template.source).unwrap_or_default() {
                        if unknown.kind == UnknownKind::Function
                            && (declared.contains_key(&unknown.name)
                                || !functions.insert(unknown.name.clone()))
                        {
                            continue;
                        }
                        unusable = true;
                        let (file, at) =
                            self.place(template, line_column(&template.source, unknown.offset));
                        let (code, message) = unusable_message(&unknown);
                        out.push(Finding::error(
                            file,
                            Some(at),
                            code,
                            format!("{} {message}", describe(&template.origin)),
                        ));
                    }
                    for name in variables {
                        if functions.contains(&name) {
                            continue;
                        }
                        if !declared.contains_key(&name) {
                            undeclared = true;
                            let offset = first_use(&template.source, &name).unwrap_or(0);
                            let (file, at) =
                                self.place(template, line_column(&template.source, offset));
                            out.push(Finding::error(
                                file,
                                Some(at),
                                "undeclared-variable",
                                format!(
                                    "{} uses `{name}`, which is not declared under `variables`",
                                    describe(&template.origin)
                                ),
                            ));
                        }
                        used.insert(name);
                    }
                }
            }
        }
        // Every template compiled: a required variable none of them reads is dead weight.
        if compiled {
            for (name, variable) in declared {
                if variable.required
                    && !used.contains(name)
                    && crate::model::prompt::is_identifier(name)
                {
                    let at = self.spans().variable(name);
                    out.push(Finding::new(
                        self.file,
                        at,
                        Severity::Warning,
                        "unused-variable",
                        format!("required variable `{name}` is declared but no template uses it"),
                    ));
                }
            }
        }
        // Rendered with defaults: a template that runs into a render limit is an error here,
        // before any release (and `create` runs these checks under its lock, so they are
        // bounded too).
        if compiled && !undeclared && !unusable {
            if let Some(rendered) = self.render_all(&templates, out) {
                if self.rules_ok {
                    self.budget(&rendered, out);
                }
            }
        }
        Ok(())
    }

    /// Every template rendered with defaults (a template that fails for another reason counts
    /// as its source: made-up defaults can break a template that real values do not). `None`
    /// when one ran into a render limit, reported as `template-limit`.
    fn render_all(
        &mut self,
        templates: &[Template],
        out: &mut Vec<Finding>,
    ) -> Option<Vec<String>> {
        let values = default_values(&self.prompt.variables);
        let mut rendered = Vec::with_capacity(templates.len());
        let mut stopped = false;
        for template in templates {
            match template::render(&template.source, &values) {
                Ok(text) => rendered.push(text),
                Err(e) if e.limit.is_some() => {
                    stopped = true;
                    let (file, at) = self.place(template, (e.line.unwrap_or(1) as u64, 1));
                    out.push(Finding::error(
                        file,
                        Some(at),
                        "template-limit",
                        format!(
                            "{}, rendered with defaults, was stopped because {}",
                            describe(&template.origin),
                            e.message
                        ),
                    ));
                }
                Err(_) => rendered.push(template.source.clone()),
            }
        }
        (!stopped).then_some(rendered)
    }

    /// The file and position of `at` (line, column inside the template).
    pub(super) fn place(&mut self, template: &Template, at: Position) -> (String, Position) {
        let (line, column) = at;
        match &template.origin {
            Origin::File(shown) => (shown.clone(), (line, column)),
            Origin::Inline => {
                let scalar = self.spans().system_prompt;
                (
                    self.file.to_owned(),
                    locate(scalar, at, self.spans().key("system_prompt")),
                )
            }
            Origin::Message(i) => {
                let scalar = self.spans().messages.get(*i).copied().flatten();
                (
                    self.file.to_owned(),
                    locate(scalar, at, self.spans().key("messages")),
                )
            }
        }
    }
}

/// Where a template position lands in prompt.yaml; the key's position when the value's is unknown.
fn locate(scalar: Option<Scalar>, at: Position, key: Option<Position>) -> Position {
    match scalar {
        Some(scalar) => scalar.at(at.0, at.1),
        None => key.unwrap_or((1, 1)),
    }
}

/// The code and the message (after the template's description) for what the renderer lacks.
fn unusable_message(unknown: &Unknown) -> (&'static str, String) {
    let name = &unknown.name;
    match unknown.kind {
        UnknownKind::Filter => (
            "unknown-filter",
            format!("uses the filter `{name}`, which promptreg's renderer does not have (docs/FORMAT.md §4 says what templates can use)"),
        ),
        UnknownKind::Test => (
            "unknown-test",
            format!("uses the test `is {name}`, which promptreg's renderer does not have (docs/FORMAT.md §4 says what templates can use)"),
        ),
        UnknownKind::Function => (
            "unknown-function",
            format!("calls `{name}()`, which is neither a function of promptreg's renderer nor a macro or variable the template defines"),
        ),
        UnknownKind::Method => (
            "unknown-method",
            format!("calls the method `{name}()`, which no value of promptreg's renderer has (MiniJinja has no string, list or map methods: use a filter, e.g. `| split(\",\")`, `| items`, `| upper`)"),
        ),
        UnknownKind::Load => (
            "template-include",
            format!("uses `{{% {name} %}}`, but promptreg renders each template alone: there is no other template to load (put the text in the template itself)"),
        ),
    }
}

fn describe(origin: &Origin) -> String {
    match origin {
        Origin::Inline => "the system prompt".into(),
        Origin::File(shown) => format!("the system prompt ({shown})"),
        Origin::Message(i) => format!("messages[{i}]"),
    }
}

/// The values a budget check renders with: defaults for optional variables (else ""), the
/// variable's name for required ones.
fn default_values(
    variables: &BTreeMap<String, crate::model::prompt::Variable>,
) -> serde_json::Map<String, Value> {
    variables
        .iter()
        .map(|(name, variable)| {
            let value = match (&variable.default, variable.required) {
                (Some(default), _) => default.clone(),
                (None, true) => Value::String(name.clone()),
                (None, false) => Value::String(String::new()),
            };
            (name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_rendering() {
        let file = PromptFile::parse(
            b"system_prompt: x\nvariables:\n  a: {}\n  b: {required: false}\n  c: {required: false, default: 3}\n",
            Path::new("p"),
        )
        .unwrap();
        let values = default_values(&file.variables);
        assert_eq!(values["a"], "a");
        assert_eq!(values["b"], "");
        assert_eq!(values["c"], 3);
    }
}
