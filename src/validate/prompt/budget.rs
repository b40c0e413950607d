//! The token budget: the templates, rendered with defaults, fit in `token_budget`.

use super::templates::Contents;
use crate::model::tokens::{self, Budget};
use crate::validate::finding::Finding;

impl Contents<'_, '_> {
    /// Compares the tokens of the templates rendered with defaults with the budget.
    pub(super) fn budget(&mut self, rendered: &[String], out: &mut Vec<Finding>) {
        let budget = self
            .prompt
            .token_budget
            .unwrap_or(crate::model::prompt::DEFAULT_TOKEN_BUDGET);
        let texts: Vec<&str> = rendered.iter().map(String::as_str).collect();
        let tokenizer = tokens::tokenizer_for(self.prompt.model.as_deref());
        if let Budget::Over(count) = tokens::within_budget(tokenizer.encoding, &texts, budget) {
            let how = match (&self.prompt.model, tokenizer.exact) {
                (Some(model), true) => format!(
                    "{} tokens ({} for {model})",
                    count,
                    tokenizer.encoding.name()
                ),
                (Some(model), false) => format!(
                    "about {count} tokens (estimated with {}; `{model}` has no known tokenizer)",
                    tokenizer.encoding.name()
                ),
                (None, _) => format!(
                    "about {count} tokens (estimated with {}; no `model` given)",
                    tokenizer.encoding.name()
                ),
            };
            let at = self.spans().value("token_budget").or(Some((1, 1)));
            let budget_text = if self.prompt.token_budget.is_some() {
                format!("its token_budget of {budget}")
            } else {
                format!("the default token_budget of {budget}")
            };
            out.push(Finding::error(
                self.file,
                at,
                "token-budget",
                format!("rendered with defaults, the prompt is {how}, more than {budget_text}"),
            ));
        }
    }
}
