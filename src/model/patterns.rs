//! The syntax rules of names and paths as regular expressions (ECMA-262, as JSON Schema uses
//! them), for the schemas editors check files with. The parsers enforce the same rules in code;
//! `tests/cli/schema.rs` checks that the two agree.

use schemars::Schema;
use serde_json::json;

/// A template variable's name.
pub const VARIABLE_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
/// A relative path of `/`-separated parts, none of them empty, `.` or `..`.
pub const COMPONENT_PATH: &str = r"^(?:[^/\\.][^/\\]*|\.[^/\\.][^/\\]*|\.\.[^/\\]+)(?:/(?:[^/\\.][^/\\]*|\.[^/\\.][^/\\]*|\.\.[^/\\]+))*$";
/// A path whose last part is `prompt.yaml` (a component path must not be one).
const PROMPT_FILE_PATH: &str = r"(?:^|/)prompt\.yaml$";
/// A prompt name (docs/FORMAT.md §2): 1 to 4 segments of at most 64 bytes.
pub const PROMPT_NAME: &str = "^[a-z0-9][a-z0-9_-]{0,63}(?:/[a-z0-9][a-z0-9_-]{0,63}){0,3}$";
/// An environment name.
pub const ENVIRONMENT: &str = "^[a-z][a-z0-9_-]*$";
/// A version (docs/FORMAT.md §5): semver without build metadata, an optional leading `v`.
pub const VERSION: &str = r"^v?(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)(?:-(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?$";

/// The field schema of a component path (`system_prompt_file`, `examples_file`).
pub fn component_path(schema: &mut Schema) {
    schema.insert("pattern".into(), COMPONENT_PATH.into());
    schema.insert(
        "not".into(),
        json!({"type": "string", "pattern": PROMPT_FILE_PATH}),
    );
}
