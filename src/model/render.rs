//! Rendering a prompt, strictly: the values its variables get, its templates filled with them,
//! and the messages of a chat-completion call laid out as JSON or text.
//!
//! Every variable the prompt declares gets a value: the one given, else its default, else (for an
//! optional variable without a default) the empty string; a required variable without either is
//! an error. A value for a variable the prompt does not declare is an error too, so a typo in a
//! variable name never passes silently.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::prompt::{Message, Prompt, Role};
use crate::model::{template, yaml};
use crate::{Error, PromptName, Result, Version};

/// Where a value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A `NAME=VALUE` given on the command line.
    Flag,
    /// A key of a variables file.
    File(PathBuf),
}

/// One value for a template variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub name: String,
    pub value: Value,
    pub origin: Origin,
}

/// One rendered chat message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RenderedMessage {
    pub role: Role,
    pub content: String,
}

/// A rendered prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `name@version`, or `name@worktree`.
    pub id: String,
    pub name: PromptName,
    /// `None` for the working tree.
    pub version: Option<Version>,
    pub model: Option<String>,
    pub temperature: f64,
    pub token_budget: u64,
    /// The rendered system prompt (empty when the prompt has none).
    pub system_prompt: String,
    /// The rendered messages, in order.
    pub messages: Vec<RenderedMessage>,
}

/// The request body of a chat-completion call: what `render --format json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChatRecord {
    pub id: String,
    pub model: Option<String>,
    pub temperature: f64,
    /// The system prompt first (left out when empty), then the prompt's messages.
    pub messages: Vec<RenderedMessage>,
}

impl Rendered {
    /// Renders `prompt` (the content of `name`, released as `version` or `None` for the working
    /// tree) with `inputs`; later inputs override earlier ones with the same name.
    pub fn new(
        name: PromptName,
        version: Option<Version>,
        prompt: Prompt,
        inputs: &[Input],
    ) -> Result<Self> {
        let id = match &version {
            Some(v) => format!("{name}@{v}"),
            None => format!("{name}@worktree"),
        };
        let file = PathBuf::from(name.file());
        let (system_prompt, messages) = render_prompt(&prompt, &file, &id, inputs)?;
        Ok(Rendered {
            id,
            name,
            version,
            model: prompt.model,
            temperature: prompt.temperature,
            token_budget: prompt.token_budget,
            system_prompt,
            messages,
        })
    }

    /// The chat-completion shape.
    pub fn chat(&self) -> ChatRecord {
        let system = (!self.system_prompt.is_empty()).then(|| RenderedMessage {
            role: Role::System,
            content: self.system_prompt.clone(),
        });
        ChatRecord {
            id: self.id.clone(),
            model: self.model.clone(),
            temperature: self.temperature,
            messages: system.into_iter().chain(self.messages.clone()).collect(),
        }
    }

    /// The system prompt, then each message as a `[role]` block, separated by blank lines.
    pub fn text(&self) -> String {
        layout(
            &self.system_prompt,
            self.messages.iter().map(|m| (m.role, m.content.as_str())),
        )
    }
}

/// Lays out a prompt as text: the system prompt (when not empty), then `[role]\ncontent` blocks,
/// separated by blank lines, ending with a newline (empty when there is nothing at all).
pub fn layout<'a>(system: &str, messages: impl IntoIterator<Item = (Role, &'a str)>) -> String {
    let mut blocks = Vec::new();
    if !system.is_empty() {
        blocks.push(system.trim_end_matches('\n').to_owned());
    }
    for (role, content) in messages {
        blocks.push(format!(
            "[{}]\n{}",
            role_name(role),
            content.trim_end_matches('\n')
        ));
    }
    if blocks.is_empty() {
        return String::new();
    }
    blocks.join("\n\n") + "\n"
}

/// How a role is written in `prompt.yaml`.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The values every declared variable gets: the last input for it, else its default, else the
/// empty string for an optional variable. `file` (the prompt file) and `id` name the prompt in
/// errors.
pub fn values(
    prompt: &Prompt,
    file: &Path,
    id: &str,
    inputs: &[Input],
) -> Result<Map<String, Value>> {
    let invalid = |message: String| Error::Variables {
        file: file.to_owned(),
        id: id.to_owned(),
        message,
    };
    let mut given = Map::new();
    for input in inputs {
        if !prompt.variables.contains_key(&input.name) {
            let from = match &input.origin {
                Origin::Flag => format!("--var {}", input.name),
                Origin::File(path) => format!("key `{}` of {}", input.name, path.display()),
            };
            return Err(invalid(format!(
                "{from}: {id} has no variable `{}` (it declares: {})",
                input.name,
                declared(prompt)
            )));
        }
        given.insert(input.name.clone(), input.value.clone());
    }
    let mut values = Map::new();
    for (name, variable) in &prompt.variables {
        let value = match (given.remove(name), &variable.default) {
            (Some(value), _) => value,
            (None, Some(default)) => default.clone(),
            (None, None) if !variable.required => Value::String(String::new()),
            (None, None) => {
                let about = variable
                    .description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                return Err(invalid(format!(
                    "{id} needs a value for the required variable `{name}`{about}; give it with --var {name}=VALUE or in a --vars-file"
                )));
            }
        };
        values.insert(name.clone(), value);
    }
    Ok(values)
}

fn declared(prompt: &Prompt) -> String {
    if prompt.variables.is_empty() {
        "no variables".into()
    } else {
        prompt
            .variables
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Renders the system prompt and messages of `prompt` with `inputs` (see [`values`]).
pub fn render_prompt(
    prompt: &Prompt,
    file: &Path,
    id: &str,
    inputs: &[Input],
) -> Result<(String, Vec<RenderedMessage>)> {
    let values = values(prompt, file, id, inputs)?;
    let one = |part: String, source: &str| -> Result<String> {
        template::render(source, &values).map_err(|e| {
            let place = match e.line {
                Some(line) => format!("{part}, line {line}"),
                None => part,
            };
            if let Some(limit) = e.limit {
                return Error::TemplateLimit {
                    file: file.to_owned(),
                    part: place,
                    limit,
                };
            }
            let undeclared: Vec<String> = template::variables(source)
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !values.contains_key(v))
                .map(|v| format!("`{v}`"))
                .collect();
            let message = if undeclared.is_empty() {
                format!("{place}: {e}")
            } else {
                format!(
                    "{place}: the template reads {}, which `variables:` does not declare ({e})",
                    undeclared.join(", ")
                )
            };
            Error::Invalid {
                file: file.to_owned(),
                message,
            }
        })
    };
    let system_prompt = one("system_prompt".into(), &prompt.system_prompt)?;
    let messages = prompt
        .messages
        .iter()
        .enumerate()
        .map(|(i, Message { role, content })| {
            Ok(RenderedMessage {
                role: *role,
                content: one(format!("messages[{i}]"), content)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok((system_prompt, messages))
}

/// The values of a variables file's content: a JSON object when `path` ends in `.json`, else a
/// YAML map, in file order; `path` names the file in errors and in each value's [`Origin`].
pub fn parse_vars(bytes: &[u8], path: &Path) -> Result<Vec<Input>> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let value: Value = if is_json {
        let text = yaml::utf8(bytes, path)?;
        serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let message = message
                .rfind(" at line ")
                .map_or(&*message, |at| &message[..at]);
            Error::Yaml {
                file: path.to_owned(),
                line: e.line().max(1) as u64,
                column: e.column().max(1) as u64,
                message: format!("not valid JSON: {message}"),
                problem: crate::YamlProblem::Syntax,
            }
        })?
    } else {
        yaml::parse(bytes, path)?
    };
    let Value::Object(map) = value else {
        return Err(Error::Invalid {
            file: path.to_owned(),
            message: format!(
                "a variables file holds a map of variable names to values, not {}",
                kind(&value)
            ),
        });
    };
    Ok(map
        .into_iter()
        .map(|(name, value)| Input {
            name,
            value,
            origin: Origin::File(path.to_owned()),
        })
        .collect())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::prompt::Variable;

    fn prompt() -> Prompt {
        let mut variables = BTreeMap::new();
        variables.insert(
            "name".to_owned(),
            Variable {
                description: Some("Who".into()),
                required: true,
                default: None,
            },
        );
        variables.insert(
            "days".to_owned(),
            Variable {
                description: None,
                required: false,
                default: Some(30.into()),
            },
        );
        variables.insert(
            "extra".to_owned(),
            Variable {
                description: None,
                required: false,
                default: None,
            },
        );
        Prompt {
            summary: None,
            system_prompt: "Hi {{ name }}, {{ days }} days.{% if extra %} {{ extra }}{% endif %}\n"
                .into(),
            messages: vec![Message {
                role: Role::User,
                content: "{{ name }} asks".into(),
            }],
            examples: Vec::new(),
            model: Some("m".into()),
            temperature: 0.5,
            token_budget: 10,
            variables,
            tags: Vec::new(),
            metadata: Map::new(),
        }
    }

    fn flag(name: &str, value: &str) -> Input {
        Input {
            name: name.into(),
            value: value.into(),
            origin: Origin::Flag,
        }
    }

    #[test]
    fn defaults_fill_and_later_inputs_win() {
        let file = Path::new("p.yaml");
        let (system, messages) = render_prompt(
            &prompt(),
            file,
            "x@1.0.0",
            &[flag("name", "A"), flag("name", "B")],
        )
        .unwrap();
        assert_eq!(system, "Hi B, 30 days.");
        assert_eq!(messages[0].content, "B asks");
        let (system, _) = render_prompt(
            &prompt(),
            file,
            "x@1.0.0",
            &[flag("name", "A"), flag("extra", "More.")],
        )
        .unwrap();
        assert_eq!(system, "Hi A, 30 days. More.");
    }

    #[test]
    fn missing_and_unknown_variables_are_errors() {
        let file = Path::new("p.yaml");
        let err = render_prompt(&prompt(), file, "x@1.0.0", &[]).unwrap_err();
        assert!(
            err.to_string().contains("required variable `name` (Who)"),
            "{err}"
        );
        let err = render_prompt(
            &prompt(),
            file,
            "x@1.0.0",
            &[flag("name", "A"), flag("nmae", "B")],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("--var nmae: x@1.0.0 has no variable `nmae`"),
            "{err}"
        );
    }

    #[test]
    fn undeclared_template_variables_are_named() {
        let mut p = prompt();
        p.system_prompt = "line\n{{ ghost }}".into();
        let err = render_prompt(&p, Path::new("p.yaml"), "x", &[flag("name", "A")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("system_prompt, line 2"), "{text}");
        assert!(text.contains("`ghost`"), "{text}");
    }

    #[test]
    fn variables_files_keep_their_order_and_must_be_maps() {
        let json = parse_vars(br#"{"b": 1, "a": [2]}"#, Path::new("v.json")).unwrap();
        let names: Vec<&str> = json.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(json[1].value, serde_json::json!([2]));
        assert_eq!(json[0].origin, Origin::File("v.json".into()));
        let yaml = parse_vars(b"b: x\na: 2\n", Path::new("v.yaml")).unwrap();
        assert_eq!(yaml[0].value, Value::from("x"));
        let err = parse_vars(b"- 1\n", Path::new("v.yaml")).unwrap_err();
        assert!(err.to_string().contains("not a list"), "{err}");
        let err = parse_vars(b"{", Path::new("v.JSON")).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn layout_and_chat_shape() {
        assert_eq!(
            layout("S\n", [(Role::User, "u\n"), (Role::Assistant, "a")]),
            "S\n\n[user]\nu\n\n[assistant]\na\n"
        );
        assert_eq!(layout("", [(Role::User, "u")]), "[user]\nu\n");
        assert_eq!(layout("", []), "");
        let rendered = Rendered {
            id: "x@worktree".into(),
            name: PromptName::parse("x").unwrap(),
            version: None,
            model: None,
            temperature: 1.0,
            token_budget: 1,
            system_prompt: String::new(),
            messages: vec![RenderedMessage {
                role: Role::User,
                content: "u".into(),
            }],
        };
        assert_eq!(rendered.chat().messages.len(), 1);
    }
}
