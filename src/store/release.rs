//! Version tags: reading a release's metadata and creating new annotated tags, whose ref is
//! reserved (locked and checked writable) before the release commit and landed after it.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use git2::{ErrorCode, ObjectType, Oid};

use super::guard::WriteGuard;
use super::lock::GitLock;
use super::{refs, Store};
use crate::store::identity::{from_git_time, Identity};
use crate::{Error, PromptName, Result, Version};

/// What a version tag records.
#[derive(Clone, Debug)]
pub struct Release {
    pub name: PromptName,
    pub version: Version,
    /// The tag's name, `<name>/v<version>`.
    pub tag: String,
    /// The tag object.
    pub tag_id: Oid,
    /// The commit holding the version's content.
    pub commit: Oid,
    pub created_by_name: String,
    pub created_by: String,
    pub created_at: DateTime<FixedOffset>,
    /// The changelog: the tag message.
    pub description: String,
}

impl Store {
    /// Reads the release of `version` of `name` from its tag (`None` when there is no such tag).
    pub fn release(&self, name: &PromptName, version: &Version) -> Result<Option<Release>> {
        let refname = version.tag_ref(name);
        if let Some(found) = refs::tag_lookup(self.common_dir(), &refname) {
            return match found {
                Some(oid) => self.release_from(name, version, oid).map(Some),
                None => Ok(None),
            };
        }
        match self.repo.refname_to_id(&refname) {
            Ok(oid) => self.release_from(name, version, oid).map(Some),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::git(format!(
                "cannot read tag `{}`",
                version.tag_name(name)
            ))(e)),
        }
    }

    /// Reads a release from the object its tag ref points at.
    pub fn release_from(
        &self,
        name: &PromptName,
        version: &Version,
        target: Oid,
    ) -> Result<Release> {
        let tag_name = version.tag_name(name);
        let bad = |reason: &str| Error::BadTag {
            tag: tag_name.clone(),
            reason: reason.to_owned(),
        };
        let object = self
            .repo
            .find_object(target, None)
            .map_err(|_| bad("its object is missing"))?;
        let tag = object
            .as_tag()
            .ok_or_else(|| bad("it is a lightweight tag; versions are annotated tags"))?;
        if tag.target_type() != Some(ObjectType::Commit) {
            return Err(bad("it does not point at a commit"));
        }
        let tagger = tag.tagger().ok_or_else(|| bad("it has no tagger"))?;
        Ok(Release {
            name: name.clone(),
            version: version.clone(),
            tag: tag_name.clone(),
            tag_id: target,
            commit: tag.target_id(),
            created_by_name: String::from_utf8_lossy(tagger.name_bytes()).into_owned(),
            created_by: String::from_utf8_lossy(tagger.email_bytes()).into_owned(),
            created_at: from_git_time(tagger.when()),
            description: tag
                .message()
                .ok()
                .flatten()
                .unwrap_or_default()
                .trim_end()
                .to_owned(),
        })
    }

    /// Makes sure the tag of a new version can be written, before anything is committed: takes
    /// the tag ref's lock file (so nobody else writes it meanwhile), then refuses a tag that
    /// exists, a lock held by someone else, and a name conflict with another ref (`x` exists as a
    /// tag, loose or packed, when writing `x/v1.1.0`, or refs exist below `x/v1.1.0/`). Dropping
    /// the reservation removes the lock file and the directories it created.
    pub fn reserve_tag(
        &self,
        guard: &WriteGuard,
        name: &PromptName,
        version: &Version,
    ) -> Result<TagReservation> {
        let refname = version.tag_ref(name);
        let tag = version.tag_name(name);
        let common = self.common_dir();
        let conflict = |with: String| Error::TagConflict {
            tag: tag.clone(),
            conflict: with,
        };
        let exists = || Error::VersionExists {
            name: name.to_string(),
            version: version.to_string(),
            highest: None,
        };
        // A ref on the way (`refs/tags/x` for `refs/tags/x/v1.1.0`) blocks the directory.
        let parts: Vec<&str> = refname.split('/').collect();
        for depth in 3..parts.len() {
            let above = parts[..depth].join("/");
            let on_disk = common.join(&above);
            let file = std::fs::symlink_metadata(&on_disk).is_ok_and(|m| !m.is_dir());
            if file || refs::packed_lookup(common, &above)?.is_some() {
                return Err(conflict(above));
            }
        }
        let path = common.join(&refname);
        let parent = path.parent().unwrap_or(common).to_owned();
        let mut created = Vec::new();
        let mut dir = parent.clone();
        while !dir.exists() && dir.starts_with(common) {
            created.push(dir.clone());
            if !dir.pop() {
                break;
            }
        }
        std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
        let lock_file = super::branch::lock_path(&path);
        let reservation = guard
            .lock()
            .create_git_lock(&lock_file)?
            .map(|held| TagReservation {
                held: Some(held),
                path: path.clone(),
                created: created.clone(),
            });
        let Some(reservation) = reservation else {
            remove_dirs(&created);
            return Err(Error::TagLocked { path: lock_file });
        };
        // Under the lock: nobody can create the ref itself now.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
            || !refs::list_prefix(common, &format!("{refname}/"))?.is_empty()
        {
            return Err(conflict(format!("{refname}/…")));
        }
        if path.exists() || refs::packed_lookup(common, &refname)?.is_some() {
            return Err(exists());
        }
        Ok(reservation)
    }

    /// Creates the annotated tag for a new version and lands its ref through `reservation`
    /// (taken with [`Store::reserve_tag`] before the commit).
    pub fn create_release_tag(
        &self,
        reservation: TagReservation,
        name: &PromptName,
        version: &Version,
        commit: Oid,
        tagger: &Identity,
        description: &str,
    ) -> Result<Oid> {
        let object = self
            .repo
            .find_object(commit, Some(ObjectType::Commit))
            .map_err(Error::git("cannot find the release commit"))?;
        let message = if description.ends_with('\n') {
            description.to_owned()
        } else {
            format!("{description}\n")
        };
        let tag = self
            .repo
            .tag_annotation_create(
                &version.tag_name(name),
                &object,
                &tagger.signature()?,
                &message,
            )
            .map_err(Error::git(format!(
                "cannot create tag `{}`",
                version.tag_name(name)
            )))?;
        reservation.land(tag)?;
        Ok(tag)
    }
}

/// A version tag's ref, locked and checked writable; see [`Store::reserve_tag`].
pub struct TagReservation {
    held: Option<GitLock>,
    path: PathBuf,
    /// Directories created for the lock file, deepest first.
    created: Vec<PathBuf>,
}

impl TagReservation {
    fn land(mut self, tag: Oid) -> Result<()> {
        let held = self.held.take().ok_or_else(|| Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other("the reservation was used already"),
        })?;
        self.created.clear();
        held.commit(format!("{tag}\n").as_bytes(), &self.path)
    }
}

impl Drop for TagReservation {
    fn drop(&mut self) {
        // The lock file first (it is in the deepest directory), then the directories.
        drop(self.held.take());
        remove_dirs(&self.created);
    }
}

fn remove_dirs(dirs: &[PathBuf]) {
    for dir in dirs {
        let _ = std::fs::remove_dir(dir);
    }
}
