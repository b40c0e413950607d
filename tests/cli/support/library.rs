//! The only place `tests/cli` names paths of the `promptreg` library: the few tests that check
//! the binary's output against the library's own types (the export bundle, the schema's
//! agreement with the parsers, the template worker) import them from here, so that a move of a
//! module in `src/` is one edit of this file.

pub use promptreg::model::prompt::PromptFile;
pub use promptreg::model::registry::Registry;
pub use promptreg::model::results::Results;
pub use promptreg::model::template::{render, Isolation, WorkerCommand};
pub use promptreg::model::yaml;
pub use promptreg::PromptName;
pub use promptreg_wire::Bundle;
