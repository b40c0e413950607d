//! Redactions for whole-output snapshots (insta): the test's temporary paths, commit ids and
//! dates are replaced by placeholders, ids and dates by ones of the same width so that tables
//! stay aligned. Outputs are already deterministic in the hermetic environment (fixed dates and
//! identities, NO_COLOR, no terminal); the redactions keep a snapshot from depending on
//! exactly which commit or date a fixture produced.

use super::TestRepo;

/// `text` with every regex metacharacter escaped.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// insta settings that redact `repo`'s temporary directory, commit ids and dates; run the
/// snapshot assertion inside `.bind(|| …)`.
pub fn redactions(repo: &TestRepo) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    let tmp = repo.tmp().to_string_lossy().into_owned();
    settings.add_filter(&escape(&tmp), "[TMP]");
    // RFC 3339 first, then a date and minute (the tables' form), then a bare date.
    settings.add_filter(
        r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})",
        "YYYY-MM-DDTHH:MM:SS+ZZ:ZZ",
    );
    settings.add_filter(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b", "YYYY-MM-DD HH:MM");
    settings.add_filter(r"\b\d{4}-\d{2}-\d{2}\b", "YYYY-MM-DD");
    // Commit ids: the 10-digit short form the tables print keeps its width.
    settings.add_filter(r"\b[0-9a-f]{10}\b", "[SHORT-ID]");
    settings.add_filter(r"\b[0-9a-f]{7,40}\b", "[COMMIT]");
    settings
}
