//! Version tags: reading a release's metadata and creating new annotated tags.

use chrono::{DateTime, FixedOffset};
use git2::{ErrorCode, ObjectType, Oid};

use super::Store;
use crate::identity::{from_git_time, Identity};
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
        match self.repo.refname_to_id(&version.tag_ref(name)) {
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

    /// Creates the annotated tag for a new version. Fails with [`Error::VersionExists`] when the
    /// tag appeared meanwhile: libgit2 creates the ref only if it does not exist.
    pub fn create_release_tag(
        &self,
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
        self.repo
            .tag(
                &version.tag_name(name),
                &object,
                &tagger.signature()?,
                &message,
                false,
            )
            .map_err(|e| match e.code() {
                ErrorCode::Exists => Error::VersionExists {
                    name: name.to_string(),
                    version: version.to_string(),
                    highest: None,
                },
                _ => Error::git(format!("cannot create tag `{}`", version.tag_name(name)))(e),
            })
    }
}
