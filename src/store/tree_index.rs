//! One large tree's raw entries, looked up by name without a map.
//!
//! A release commit's `prompts/` tree has one entry per prompt: 10,000 in a large registry.
//! Building a map of them costs an allocation and a hash per entry, which is most of what a
//! `validate` of a few staged files spent. Git stores a tree's entries sorted (by name, a
//! directory's name compared as if it ended in `/`), so keeping the inflated bytes and where
//! each entry starts is enough to find one by binary search. A tree that is not sorted (git
//! would never write one, but an object can be made by hand) is searched from start to end,
//! so the answer is the same for every tree.

use std::cmp::Ordering;

use super::trees::raw_entries;
use super::ObjectId;

const TREE_MODE: u32 = 0o40000;

/// The entries of one tree object: its bytes and the offset of each entry.
pub(super) struct TreeIndex {
    data: Vec<u8>,
    starts: Vec<u32>,
    sorted: bool,
}

impl TreeIndex {
    /// Indexes the raw content of a tree object (entries after the first malformed one are
    /// ignored, as [`raw_entries`] does).
    pub(super) fn new(data: Vec<u8>) -> TreeIndex {
        let mut starts = Vec::new();
        let mut sorted = true;
        let mut previous: Option<(u32, &[u8])> = None;
        let base = data.as_ptr() as usize;
        // Entries follow each other: each starts where the previous one's 20-byte id ends.
        let mut start = 0;
        for (mode, name, _) in raw_entries(&data) {
            let end = name.as_ptr() as usize - base + name.len() + 1 + 20;
            if let Some((previous_mode, previous_name)) = previous {
                if git_order(previous_name, previous_mode, name, mode) != Ordering::Less {
                    sorted = false;
                }
            }
            previous = Some((mode, name));
            starts.push(start as u32);
            start = end;
        }
        TreeIndex {
            data,
            starts,
            sorted,
        }
    }

    /// The mode and id of the entry called `name`, whatever its kind.
    pub(super) fn get(&self, name: &[u8]) -> Option<(u32, ObjectId)> {
        if !self.sorted {
            return raw_entries(&self.data)
                .find(|(_, entry, _)| *entry == name)
                .map(|(mode, _, id)| (mode, id));
        }
        // A directory and a file of the same name sort apart, so look where each would be.
        [TREE_MODE, 0o100644]
            .into_iter()
            .find_map(|mode| self.search(name, mode))
    }

    fn search(&self, name: &[u8], mode: u32) -> Option<(u32, ObjectId)> {
        let at = self
            .starts
            .binary_search_by(|&start| {
                self.entry(start)
                    .map_or(Ordering::Less, |(entry_mode, entry_name, _)| {
                        git_order(entry_name, entry_mode, name, mode)
                    })
            })
            .ok()?;
        let (entry_mode, entry_name, id) = self.entry(self.starts[at])?;
        (entry_name == name).then_some((entry_mode, id))
    }

    fn entry(&self, start: u32) -> Option<(u32, &[u8], ObjectId)> {
        raw_entries(self.data.get(start as usize..)?).next()
    }
}

/// Git's order of tree entries: by name bytes, a directory's name as if followed by `/`.
fn git_order(a: &[u8], a_mode: u32, b: &[u8], b_mode: u32) -> Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        other => return other,
    }
    let next = |name: &[u8], mode: u32| match name.get(common) {
        Some(&byte) => byte,
        None if mode == TREE_MODE => b'/',
        None => 0,
    };
    next(a, a_mode).cmp(&next(b, b_mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw tree of `(mode, name, id byte)` entries, in the order given.
    fn tree(entries: &[(u32, &str, u8)]) -> Vec<u8> {
        let mut data = Vec::new();
        for (mode, name, id) in entries {
            data.extend_from_slice(format!("{mode:o} {name}\0").as_bytes());
            data.extend_from_slice(&[*id; 20]);
        }
        data
    }

    fn id(byte: u8) -> ObjectId {
        ObjectId::from_bytes(&[byte; 20]).unwrap()
    }

    #[test]
    fn finds_every_entry_in_git_order_and_in_an_unsorted_tree() {
        // Git's order: the file `a` before `a-b` before `a.c`; the directory `a` sorts as `a/`,
        // after `a.c` and before `a0`.
        let sorted = [
            (0o100644, "a", 1),
            (0o40000, "a-b", 2),
            (0o100644, "a.c", 3),
            (0o40000, "a", 4),
            (0o40000, "a0", 5),
            (0o120000, "link", 6),
        ];
        let index = TreeIndex::new(tree(&sorted));
        assert!(index.sorted);
        for (mode, name, byte) in sorted {
            if name == "a" {
                continue; // Two entries: the directory is looked for first.
            }
            assert_eq!(index.get(name.as_bytes()), Some((mode, id(byte))), "{name}");
        }
        assert_eq!(index.get(b"a"), Some((TREE_MODE, id(4))));
        assert_eq!(index.get(b"a/"), None);
        assert_eq!(index.get(b"b"), None);
        // The same entries out of order (no writer of git's makes such a tree): found by a walk.
        let mut shuffled = sorted;
        shuffled.reverse();
        let index = TreeIndex::new(tree(&shuffled));
        assert!(!index.sorted);
        assert_eq!(index.get(b"a0"), Some((TREE_MODE, id(5))));
        assert_eq!(index.get(b"a.c"), Some((0o100644, id(3))));
        assert_eq!(index.get(b"a-b"), Some((TREE_MODE, id(2))));
        assert_eq!(index.get(b"b"), None);
    }
}
