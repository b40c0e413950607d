//! JSON Schemas (draft 2020-12) of `prompt.yaml` and `registry.yaml`, for editors: a YAML
//! language server given one of them checks keys, types and ranges while the file is typed.
//!
//! The `prompt.yaml` schema is generated from [`PromptFile`] itself, so it cannot drift from what
//! promptreg parses; the rules between keys come from [`Rule::schema`]. `registry.yaml` is read through
//! private types carrying source positions, so its schema is written out here, following
//! docs/FORMAT.md §3, with the `access:` and `policy:` parts generated from [`Access`] and
//! [`Gate`].
//!
//! Only keywords that draft-07 tools also understand are used, and every sub-schema is inlined
//! (no `$ref`), so older YAML language servers read the schemas too. A schema cannot see the rest
//! of the repository, so some rules stay with promptreg's own checks: that component files exist
//! and are small enough, and that pointers and access rules name environments of the pipeline.

use schemars::generate::SchemaSettings;
use schemars::{json_schema, Schema};
use serde_json::{json, Value};

use crate::model::access::Access;
use crate::model::patterns::{ENVIRONMENT, PROMPT_NAME, VERSION};
use crate::model::policy::Gate;
use crate::model::prompt::rules::Rule;
use crate::model::prompt::PromptFile;
use crate::model::registry::{DEFAULT_ENVIRONMENTS, FORMAT};
use crate::model::results::TestRun;

/// The `$id` of the `prompt.yaml` schema.
pub const PROMPT_ID: &str = "urn:promptreg:schema:prompt.yaml:1";
/// The `$id` of the `registry.yaml` schema.
pub const REGISTRY_ID: &str = "urn:promptreg:schema:registry.yaml:1";
/// The `$id` of the schema of results files (`results/<name>.yaml`).
pub const RESULTS_ID: &str = "urn:promptreg:schema:results.yaml:1";

/// The schema settings: draft 2020-12 with every sub-schema inlined, so that editors never have
/// to resolve a `$ref`.
fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true)
}

/// The schema of `prompt.yaml`.
pub fn prompt() -> Value {
    let mut schema = settings()
        .into_generator()
        .into_root_schema_for::<PromptFile>();
    schema.insert("$id".into(), PROMPT_ID.into());
    let rules: Vec<Value> = Rule::ALL.into_iter().filter_map(Rule::schema).collect();
    schema.insert("allOf".into(), rules.into());
    order(schema)
}

/// The schema of `registry.yaml`.
pub fn registry() -> Value {
    let mut generator = settings().into_generator();
    let mut access = generator.subschema_for::<Access>();
    access.insert(
        "description".into(),
        "Who may move which environment's pointers (the identity checked is the commit author's \
         e-mail). Environments named must be in the pipeline."
            .into(),
    );
    allow_null(&mut access);
    let mut gate = generator.subschema_for::<Gate>();
    gate.insert(
        "description".into(),
        "What a version needs before it may enter this environment (docs/FORMAT.md §3.2).".into(),
    );
    let schema: Schema = json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": REGISTRY_ID,
        "title": "promptreg registry.yaml",
        "description": "The registry index: the promotion pipeline and, per prompt, which version \
                        each environment serves. Unknown keys are errors.",
        "type": "object",
        "additionalProperties": false,
        "required": ["format"],
        "properties": {
            "format": {
                "description": "The registry format; must be 1.",
                "const": FORMAT,
            },
            "environments": {
                "description": "The ordered promotion pipeline, first to last. Names match \
                                [a-z][a-z0-9_-]* and are not `draft`, `latest` or `worktree`.",
                "type": ["array", "null"],
                "items": {
                    "type": "string",
                    "pattern": ENVIRONMENT,
                    "not": {"enum": ["draft", "latest", "worktree"]},
                },
                "minItems": 1,
                "uniqueItems": true,
                "default": DEFAULT_ENVIRONMENTS,
            },
            "prompts": {
                "description": "Prompt name → environment → version or traffic split. Each \
                                environment must be in the pipeline.",
                "type": ["object", "null"],
                "propertyNames": {"pattern": PROMPT_NAME},
                "additionalProperties": {
                    "description": "Environment → the version it serves, or its traffic split.",
                    "type": ["object", "null"],
                    "propertyNames": {"pattern": ENVIRONMENT},
                    "additionalProperties": pointer(),
                },
            },
            "access": access,
            "policy": {
                "description": "Environment → the gate a version must pass to enter it. \
                                Environments named must be in the pipeline.",
                "type": ["object", "null"],
                "propertyNames": {"pattern": ENVIRONMENT},
                "additionalProperties": gate,
            },
        },
    });
    order(schema)
}

/// What one environment holds: a version, or a traffic split (docs/FORMAT.md §3.3). The
/// rules a schema cannot state — distinct versions, shares adding up to exactly 100, at most
/// two decimals (`multipleOf: 0.01` misfires on binary floating point in editors) — are
/// promptreg's own checks.
fn pointer() -> Value {
    let version = json!({
        "description": "A version: MAJOR.MINOR.PATCH with an optional pre-release (2.0.0-rc.1), \
                        no build metadata.",
        "type": "string",
        "pattern": VERSION,
    });
    json!({
        "anyOf": [
            version,
            {
                "description": "A traffic split: each key (a user, a session) is served one \
                                entry, sticky, by the rule in docs/FORMAT.md §3.3; without a key, \
                                the first entry.",
                "type": "object",
                "additionalProperties": false,
                "required": ["split"],
                "properties": {
                    "split": {
                        "description": "Two or more entries of distinct released versions, in \
                                        order (the stable version first), whose percentages add \
                                        up to exactly 100.",
                        "type": "array",
                        "minItems": 2,
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["version", "percent"],
                            "properties": {
                                "version": version,
                                "percent": {
                                    "description": "The share of keys this version serves: \
                                                    above 0, at most 100, with at most two \
                                                    decimals (0.01 is the finest share).",
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                    "maximum": 100,
                                },
                            },
                        },
                    },
                },
            },
        ],
    })
}

/// The schema of a results file, `results/<name>.yaml`, with each run generated from
/// [`TestRun`]. Rules beyond a schema's reach stay with promptreg: `prompt` matches the path,
/// versions were released, times are RFC 3339, and a run counts at least one case.
pub fn results() -> Value {
    let mut generator = settings().into_generator();
    let run = generator.subschema_for::<TestRun>();
    let schema: Schema = json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": RESULTS_ID,
        "title": "promptreg results file",
        "description": "Test runs recorded against the versions of one prompt, oldest first \
                        (docs/FORMAT.md §10). Record runs with `promptreg results record` or \
                        `results import`; recorded runs are never edited.",
        "type": "object",
        "additionalProperties": false,
        "required": ["format", "prompt"],
        "properties": {
            "format": {"description": "The results format; must be 1.", "const": crate::model::results::FORMAT},
            "prompt": {
                "description": "The prompt these runs are of: the file's path under results/.",
                "type": "string",
                "pattern": PROMPT_NAME,
            },
            "versions": {
                "description": "Version → its runs, oldest first.",
                "type": ["object", "null"],
                "propertyNames": {"pattern": VERSION},
                "additionalProperties": {"type": ["array", "null"], "items": run},
            },
        },
    });
    order(schema)
}

/// Adds `null` to the types a schema accepts (YAML `access:` with nothing after it).
fn allow_null(schema: &mut Schema) {
    if let Some(Value::String(t)) = schema.get("type").cloned() {
        schema.insert("type".into(), json!([t, "null"]));
    }
}

/// The schema as JSON, tidied, with `$schema`, `$id` and `title` first, as readers expect.
fn order(schema: Schema) -> Value {
    let mut schema = schema.to_value();
    tidy(&mut schema);
    let Value::Object(mut map) = schema else {
        unreachable!("a generated root schema is an object");
    };
    let mut ordered = serde_json::Map::new();
    for key in ["$schema", "$id", "title", "description"] {
        if let Some(value) = map.remove(key) {
            ordered.insert(key.into(), value);
        }
    }
    ordered.extend(map);
    Value::Object(ordered)
}

/// Joins the lines of doc-comment paragraphs (editors show descriptions as written) and drops
/// `default: null`, which editors would offer to insert.
fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            if let Some(Value::String(text)) = map.get_mut("description") {
                *text = text
                    .split("\n\n")
                    .map(|paragraph| paragraph.replace('\n', " "))
                    .collect::<Vec<_>>()
                    .join("\n\n");
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_schema_has_the_rules_of_the_types() {
        let schema = prompt();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["$id"], PROMPT_ID);
        assert_eq!(schema["additionalProperties"], false);
        let properties = &schema["properties"];
        assert_eq!(properties["temperature"]["minimum"], 0.0);
        assert_eq!(properties["temperature"]["maximum"], 2.0);
        assert_eq!(properties["token_budget"]["minimum"], 1);
        let message = &properties["messages"]["items"];
        assert_eq!(message["additionalProperties"], false);
        assert_eq!(
            message["properties"]["role"]["enum"],
            json!(["system", "user", "assistant"])
        );
        assert!(schema.to_string().find("$ref").is_none(), "{schema:#}");
    }

    #[test]
    fn results_schema_describes_each_run() {
        let schema = results();
        assert_eq!(schema["$id"], RESULTS_ID);
        let run = &schema["properties"]["versions"]["additionalProperties"]["items"];
        assert_eq!(run["additionalProperties"], false);
        let required: Vec<&str> = run["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            required,
            [
                "test",
                "passed",
                "failed",
                "tested_at",
                "tested_by",
                "source"
            ]
        );
        assert_eq!(run["properties"]["passed"]["minimum"], 0);
        assert!(schema.to_string().find("$ref").is_none(), "{schema:#}");
    }

    #[test]
    fn registry_schema_embeds_access() {
        let schema = registry();
        let access = &schema["properties"]["access"];
        assert_eq!(access["additionalProperties"], false);
        assert!(access["properties"]["groups"].is_object(), "{access:#}");
        assert!(schema.to_string().find("$ref").is_none(), "{schema:#}");
    }
}
