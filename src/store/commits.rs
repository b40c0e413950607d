//! Commits as the rest of the crate sees them: a [`CommitView`] (id, tree, parents, author,
//! message) over the commit libgit2 read, found by revision or by id, and the history walk.
//!
//! The views wrap libgit2's objects instead of copying them: a history walk reads thousands of
//! commits, and a copy of each message and signature would cost more than reading the commit.

use chrono::{DateTime, FixedOffset};
use git2::{ErrorCode, Sort};

use super::identity::{from_git_time, Identity};
use super::trees::TreeView;
use super::{short_branch, GitError, ObjectId, Store};
use crate::{Error, Result};

/// A commit read from the repository.
#[derive(Clone)]
pub struct CommitView<'r> {
    commit: git2::Commit<'r>,
}

/// Who made or committed a commit, as its author or committer line says (lossily decoded).
pub struct Person<'c> {
    signature: git2::Signature<'c>,
}

impl<'r> CommitView<'r> {
    pub(super) fn new(commit: git2::Commit<'r>) -> Self {
        CommitView { commit }
    }

    pub fn id(&self) -> ObjectId {
        self.commit.id()
    }

    /// The id of the commit's root tree (nothing more is read).
    pub fn tree_id(&self) -> ObjectId {
        self.commit.tree_id()
    }

    /// The commit's root tree.
    pub fn tree(&self) -> std::result::Result<TreeView<'r>, GitError> {
        self.commit.tree().map(TreeView::new)
    }

    pub fn parent_count(&self) -> usize {
        self.commit.parent_count()
    }

    /// Parent `n` (0: the first parent), read; an error when there is none or it cannot be
    /// read.
    pub fn parent(&self, n: usize) -> std::result::Result<CommitView<'r>, GitError> {
        self.commit.parent(n).map(CommitView::new)
    }

    /// The parents, in order, each read (a parent that cannot be read is left out).
    pub fn parents(&self) -> impl Iterator<Item = CommitView<'r>> + '_ {
        self.commit.parents().map(CommitView::new)
    }

    /// The ids of the parents, in order, without reading them.
    pub fn parent_ids(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.commit.parent_ids()
    }

    /// The message, leading blank lines dropped (as `git log` shows it).
    pub fn message_bytes(&self) -> &[u8] {
        self.commit.message_bytes()
    }

    /// The message exactly as stored.
    pub fn raw_message_bytes(&self) -> &[u8] {
        self.commit.message_raw_bytes()
    }

    /// The first paragraph of the message, on one line.
    pub fn summary_bytes(&self) -> Option<&[u8]> {
        self.commit.summary_bytes()
    }

    pub fn author(&self) -> Person<'_> {
        Person {
            signature: self.commit.author(),
        }
    }

    pub fn committer(&self) -> Person<'_> {
        Person {
            signature: self.commit.committer(),
        }
    }

    /// Whether promptreg made this commit (its message carries a `Prompt:` trailer).
    pub fn is_promptreg_commit(&self) -> bool {
        made_by_promptreg(self.raw_message_bytes())
    }
}

/// Whether a raw commit message carries promptreg's `Prompt:` trailer.
pub(super) fn made_by_promptreg(raw_message: &[u8]) -> bool {
    String::from_utf8_lossy(raw_message)
        .lines()
        .any(|line| line.starts_with("Prompt: "))
}

impl Person<'_> {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.signature.name_bytes()).into_owned()
    }

    pub fn email(&self) -> String {
        String::from_utf8_lossy(self.signature.email_bytes()).into_owned()
    }

    /// When, with the author's own offset.
    pub fn when(&self) -> DateTime<FixedOffset> {
        from_git_time(self.signature.when())
    }

    /// As an identity to sign a tag or commit with.
    pub fn identity(&self) -> Identity {
        Identity {
            name: self.name(),
            email: self.email(),
            when: self.when(),
        }
    }
}

impl Store {
    /// The commit that `revision` names (`None`: HEAD).
    pub fn commit(&self, revision: Option<&str>) -> Result<CommitView<'_>> {
        let Some(revision) = revision else {
            let head = match self.repo.head() {
                Ok(head) => head,
                Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
                    let (branch, _) = self.head_branch()?;
                    return Err(Error::UnbornBranch {
                        branch: short_branch(&branch).to_owned(),
                    });
                }
                Err(e) => return Err(Error::git("cannot read HEAD")(e)),
            };
            return head
                .peel_to_commit()
                .map(CommitView::new)
                .map_err(Error::git("cannot read the HEAD commit"));
        };
        let not_found = |_| Error::RevisionNotFound {
            revision: revision.to_owned(),
        };
        let object = self.repo.revparse_single(revision).map_err(not_found)?;
        object
            .peel_to_commit()
            .map(CommitView::new)
            .map_err(not_found)
    }

    /// The commit `id`.
    pub fn find_commit(&self, id: ObjectId) -> std::result::Result<CommitView<'_>, GitError> {
        self.repo.find_commit(id).map(CommitView::new)
    }

    /// The commit HEAD points at, `None` when HEAD cannot be read or is unborn.
    pub fn head_commit(&self) -> Option<CommitView<'_>> {
        let head = self.repo.head().ok()?;
        head.peel_to_commit().ok().map(CommitView::new)
    }

    /// The commits reachable from `from` but not from `hide`, children before parents (newest
    /// first), or the reverse with `oldest_first`.
    pub fn walk(
        &self,
        from: ObjectId,
        hide: Option<ObjectId>,
        oldest_first: bool,
    ) -> Result<Vec<ObjectId>> {
        let failed = |e| Error::git("cannot walk the history")(e);
        let mut walk = self.repo.revwalk().map_err(failed)?;
        walk.push(from).map_err(failed)?;
        if let Some(hide) = hide {
            walk.hide(hide).map_err(failed)?;
        }
        let order = if oldest_first {
            Sort::TOPOLOGICAL | Sort::REVERSE
        } else {
            Sort::TOPOLOGICAL | Sort::TIME
        };
        walk.set_sorting(order).map_err(failed)?;
        walk.collect::<std::result::Result<_, _>>().map_err(failed)
    }
}
