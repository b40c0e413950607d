//! Token counting for `token_budget` checks: the tokenizer is chosen from the prompt's `model`.
//!
//! Loading a byte-pair encoding costs tens of milliseconds (about 50 ms for `cl100k_base`, 120 ms
//! for `o200k_base`), so [`within_budget`] first compares the text's byte length with the budget:
//! every token stands for at least one byte, so a text of at most `budget` bytes cannot exceed
//! `budget` tokens, and the encoding is only loaded for texts longer than that.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// The byte-pair encodings promptreg counts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, o1, o3, o4 and GPT-5 models.
    O200kBase,
    /// GPT-4 and GPT-3.5 models, and the estimate for every other model.
    Cl100kBase,
}

impl Encoding {
    /// The encoding's usual name (`o200k_base`).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }
}

/// The encoding for a model, and whether the count is exact for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tokenizer {
    pub encoding: Encoding,
    /// False when the model is not one whose tokenizer is known: the count is an estimate.
    pub exact: bool,
}

/// Picks the tokenizer for `model` (`None`: no model given, an estimate).
///
/// `gpt-4o*`, `gpt-4.1*`, `gpt-5*`, `o1*`, `o3*`, `o4*` count with `o200k_base`; other `gpt-4*`
/// and `gpt-3.5*` with `cl100k_base`; anything else is estimated with `cl100k_base`. A leading
/// `openai/` is ignored.
pub fn tokenizer_for(model: Option<&str>) -> Tokenizer {
    let Some(model) = model else {
        return Tokenizer {
            encoding: Encoding::Cl100kBase,
            exact: false,
        };
    };
    let model = model.trim().to_ascii_lowercase();
    let model = model.strip_prefix("openai/").unwrap_or(&model);
    let o200k = ["gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4"];
    let cl100k = ["gpt-4", "gpt-3.5"];
    if o200k.iter().any(|p| model.starts_with(p)) {
        Tokenizer {
            encoding: Encoding::O200kBase,
            exact: true,
        }
    } else if cl100k.iter().any(|p| model.starts_with(p)) {
        Tokenizer {
            encoding: Encoding::Cl100kBase,
            exact: true,
        }
    } else {
        Tokenizer {
            encoding: Encoding::Cl100kBase,
            exact: false,
        }
    }
}

/// The loaded encoding, once per process; `None` if it could not be built (it is compiled in,
/// so this does not happen in practice).
fn bpe(encoding: Encoding) -> Option<&'static CoreBPE> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    match encoding {
        Encoding::O200kBase => O200K.get_or_init(|| tiktoken_rs::o200k_base().ok()),
        Encoding::Cl100kBase => CL100K.get_or_init(|| tiktoken_rs::cl100k_base().ok()),
    }
    .as_ref()
}

/// The number of tokens of `texts` together (each counted on its own; chat framing tokens are
/// not included). Special-token text such as `<|endoftext|>` counts as ordinary text. `None` if
/// the encoding is unavailable.
pub fn count(encoding: Encoding, texts: &[&str]) -> Option<u64> {
    let bpe = bpe(encoding)?;
    Some(
        texts
            .iter()
            .map(|text| bpe.encode_ordinary(text).len() as u64)
            .sum(),
    )
}

/// The outcome of a budget check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// At most `budget` tokens (possibly proven from the byte length alone, without counting).
    Within,
    /// This many tokens, more than the budget.
    Over(u64),
    /// Longer than the budget in bytes, but the encoding could not be loaded to count.
    Unknown,
}

/// Whether `texts` fit in `budget` tokens, loading the encoding only when the byte length does
/// not already prove it.
pub fn within_budget(encoding: Encoding, texts: &[&str], budget: u64) -> Budget {
    let bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    if bytes <= budget {
        return Budget::Within;
    }
    match count(encoding, texts) {
        Some(tokens) if tokens > budget => Budget::Over(tokens),
        Some(_) => Budget::Within,
        None => Budget::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_encoding_from_the_model() {
        for (model, encoding, exact) in [
            (Some("gpt-4o"), Encoding::O200kBase, true),
            (Some("gpt-4o-mini"), Encoding::O200kBase, true),
            (Some("GPT-4.1-nano"), Encoding::O200kBase, true),
            (Some("o1-preview"), Encoding::O200kBase, true),
            (Some("o3-mini"), Encoding::O200kBase, true),
            (Some("openai/gpt-4o"), Encoding::O200kBase, true),
            (Some("gpt-4"), Encoding::Cl100kBase, true),
            (Some("gpt-4-turbo"), Encoding::Cl100kBase, true),
            (Some("gpt-3.5-turbo"), Encoding::Cl100kBase, true),
            (Some("claude-3-5-sonnet"), Encoding::Cl100kBase, false),
            (Some("llama3"), Encoding::Cl100kBase, false),
            (None, Encoding::Cl100kBase, false),
        ] {
            assert_eq!(
                tokenizer_for(model),
                Tokenizer { encoding, exact },
                "{model:?}"
            );
        }
    }

    #[test]
    fn counts_tokens() {
        assert_eq!(count(Encoding::Cl100kBase, &["hello world"]), Some(2));
        assert_eq!(
            count(Encoding::O200kBase, &["hello world", "hello"]),
            Some(3)
        );
        assert_eq!(
            count(Encoding::O200kBase, &["<|endoftext|>"]).map(|n| n > 1),
            Some(true)
        );
    }

    #[test]
    fn budget_fast_path_and_count() {
        assert_eq!(
            within_budget(Encoding::O200kBase, &["abc"], 3),
            Budget::Within
        );
        // 47 bytes, 8 tokens: counted.
        let repeated = ["hello"; 8].join(" ");
        assert_eq!(
            within_budget(Encoding::O200kBase, &[&repeated], 10),
            Budget::Within
        );
        assert_eq!(
            within_budget(Encoding::O200kBase, &[&repeated], 4),
            Budget::Over(8)
        );
    }
}
