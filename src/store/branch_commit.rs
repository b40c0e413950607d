//! A commit on a new branch, made beside the checked-out one: the tree of a given parent with
//! some paths replaced, and a ref created only if no branch of that name exists yet (libgit2
//! takes `<ref>.lock` and refuses an existing ref: a compare-and-swap from "absent"). HEAD, the
//! index and the working tree are not touched.

use git2::build::TreeUpdateBuilder;
use git2::{ErrorCode, Oid};

use super::write::PathUpdate;
use super::Store;
use crate::store::identity::Signatures;
use crate::{Error, Result};

impl Store {
    /// `refs/heads/NAME` for a branch that may be created: a valid name, not taken.
    pub fn new_branch_ref(&self, name: &str) -> Result<String> {
        let refname = format!("refs/heads/{name}");
        if name.starts_with('-') || !git2::Reference::is_valid_name(&refname) {
            return Err(Error::BadBranch {
                branch: name.to_owned(),
                exists: false,
            });
        }
        match self.repo.find_reference(&refname) {
            Ok(_) => Err(Error::BadBranch {
                branch: name.to_owned(),
                exists: true,
            }),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(refname),
            Err(e) => Err(Error::git(format!("cannot read `{refname}`"))(e)),
        }
    }

    /// Commits `parent`'s tree with `updates` applied, its only parent `parent`, and creates
    /// `refname` at the commit; refuses (writing no ref) when the branch exists by then.
    pub fn commit_on_new_branch(
        &self,
        refname: &str,
        parent: Oid,
        message: &str,
        signatures: &Signatures,
        updates: &[PathUpdate],
    ) -> Result<Oid> {
        let author = signatures.author.signature()?;
        let committer = signatures.committer.signature()?;
        let parent = self
            .repo
            .find_commit(parent)
            .map_err(Error::git("cannot read the branch tip"))?;
        let base = parent
            .tree()
            .map_err(Error::git("cannot read the tip's tree"))?;
        let mut builder = TreeUpdateBuilder::new();
        for change in updates {
            builder.upsert(&change.path, change.id, change.mode);
        }
        let tree = builder
            .create_updated(&self.repo, &base)
            .and_then(|id| self.repo.find_tree(id))
            .map_err(Error::git("cannot build the tree"))?;
        let id = self
            .repo
            .commit(None, &author, &committer, message, &tree, &[&parent])
            .map_err(Error::git("cannot write the commit"))?;
        let reflog = format!("branch: {}", message.lines().next().unwrap_or(""));
        match self.repo.reference(refname, id, false, &reflog) {
            Ok(_) => Ok(id),
            Err(e) if e.code() == ErrorCode::Exists => Err(Error::BadBranch {
                branch: super::short_branch(refname).to_owned(),
                exists: true,
            }),
            Err(e) if e.code() == ErrorCode::Locked => Err(Error::RefLocked {
                path: self.common_dir().join(format!("{refname}.lock")),
            }),
            Err(e) => Err(Error::git(format!("cannot create `{refname}`"))(e)),
        }
    }
}
