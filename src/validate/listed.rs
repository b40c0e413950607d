//! Each prompt's versions as the cached tag pass holds them (see [`super::tag_pass`]): one
//! line per prompt, read only for the prompts asked about.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::Version;

/// Each prompt's versions as cached: one line per prompt, `<name> <version>=<1|0>…` (1: a
/// release, an annotated tag), sorted by name; a line is parsed only when its prompt is asked
/// for.
#[derive(Debug)]
pub(crate) struct Listed {
    text: String,
    /// Each line's range in `text`, without its newline.
    lines: Vec<Range<usize>>,
}

impl Listed {
    /// The lines in `text[range]`; `None` when they are not sorted by name.
    pub fn new(text: String, range: Range<usize>) -> Option<Listed> {
        let mut lines = Vec::new();
        let mut at = range.start;
        for line in text[range].split_terminator('\n') {
            lines.push(at..at + line.len());
            at += line.len() + 1;
        }
        let listed = Listed { text, lines };
        let sorted = listed
            .lines
            .windows(2)
            .all(|pair| listed.name_at(&pair[0]) < listed.name_at(&pair[1]));
        sorted.then_some(listed)
    }

    /// Appends the line of `name` with `versions` to `text`.
    pub fn write_line(text: &mut String, name: &str, versions: &BTreeMap<Version, bool>) {
        use std::fmt::Write;
        text.push_str(name);
        for (version, annotated) in versions {
            let _ = write!(text, " {version}={}", u8::from(*annotated));
        }
        text.push('\n');
    }

    fn name_at(&self, line: &Range<usize>) -> &str {
        let line = &self.text[line.clone()];
        line.split_once(' ').map_or(line, |(name, _)| name)
    }

    /// The versions of `name`, `None` when it has none (or its line does not read).
    pub fn get(&self, name: &str) -> Option<BTreeMap<Version, bool>> {
        let at = self
            .lines
            .binary_search_by(|line| self.name_at(line).cmp(name))
            .ok()?;
        let line = &self.text[self.lines[at].clone()];
        line.split(' ')
            .skip(1)
            .map(|item| {
                let (version, annotated) = item.rsplit_once('=')?;
                let annotated = match annotated {
                    "1" => true,
                    "0" => false,
                    _ => return None,
                };
                Some((Version::parse(version).ok()?, annotated))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back() {
        let mut versions = BTreeMap::new();
        versions.insert(Version::parse("1.0.0").unwrap(), true);
        versions.insert(Version::parse("2.0.0-rc.1").unwrap(), false);
        let mut text = String::from("head\n");
        Listed::write_line(&mut text, "a/b", &versions);
        let len = text.len();
        let listed = Listed::new(text, 5..len).unwrap();
        assert_eq!(listed.get("a/b"), Some(versions));
    }

    fn listed(lines: &str) -> Option<Listed> {
        let text = format!("head\n{lines}end\n");
        let range = 5..5 + lines.len();
        Listed::new(text, range)
    }

    #[test]
    fn versions_are_found_by_name_and_read_back() {
        let listed = listed("a 1.0.0=1 1.1.0-rc.1=0\na/b 2.0.0=1\nz 0.1.0=1\n").unwrap();
        let v = |s: &str| Version::parse(s).unwrap();
        let a = listed.get("a").unwrap();
        assert_eq!(a.get(&v("1.0.0")), Some(&true));
        assert_eq!(a.get(&v("1.1.0-rc.1")), Some(&false));
        assert_eq!(a.len(), 2);
        assert_eq!(listed.get("a/b").unwrap().len(), 1);
        assert_eq!(listed.get("z").unwrap().get(&v("0.1.0")), Some(&true));
        assert!(listed.get("b").is_none());
        assert!(listed.get("").is_none());
    }

    #[test]
    fn an_unsorted_or_damaged_list_is_a_miss() {
        assert!(listed("b 1.0.0=1\na 1.0.0=1\n").is_none());
        assert!(listed("a 1.0.0=1\na 1.1.0=1\n").is_none());
        let damaged = listed("a 1.0.0=2\nb nonsense=1\n").unwrap();
        assert!(damaged.get("a").is_none());
        assert!(damaged.get("b").is_none());
    }
}
