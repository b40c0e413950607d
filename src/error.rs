//! The library's error type: one variant per thing that can go wrong in the domain, each carrying
//! what a person needs to act on it (the file, the name, what exists instead).

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a registry operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Git repository at or above the given path.
    #[error("not a git repository (or any parent up to the root): `{}`", path.display())]
    NotARepository { path: PathBuf },

    /// The repository uses the reftable ref storage, which libgit2 cannot read.
    #[error("`{}` uses the reftable ref format, which promptreg cannot read yet", path.display())]
    ReftableUnsupported { path: PathBuf },

    /// The operation needs a working tree but the repository is bare.
    #[error("the repository is bare; `{operation}` needs a working tree")]
    BareRepository { operation: &'static str },

    /// `HEAD` does not point at a branch.
    #[error("HEAD is detached; promptreg commits to a branch")]
    DetachedHead,

    /// The current branch has no commit yet.
    #[error("branch `{branch}` has no commits yet")]
    UnbornBranch { branch: String },

    /// A merge, rebase, cherry-pick or similar is in progress.
    #[error("a {state} is in progress")]
    OperationInProgress { state: String },

    /// There is no `registry.yaml` at the given revision.
    #[error("no registry.yaml at `{revision}`")]
    RegistryMissing { revision: String },

    /// `init` found a registry already there.
    #[error("a registry already exists here (`{}`)", path.display())]
    RegistryExists { path: PathBuf },

    /// A revision given with `--ref` does not resolve.
    #[error("revision `{revision}` not found")]
    RevisionNotFound { revision: String },

    /// A prompt name breaks the naming rules.
    #[error("invalid prompt name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },

    /// A version string is not acceptable semver.
    #[error("invalid version `{input}`: {reason}")]
    InvalidVersion { input: String, reason: String },

    /// A selector (`name@version`, `name@env`) could not be understood.
    #[error("invalid selector `{input}`: {reason}")]
    InvalidSelector { input: String, reason: String },

    /// A YAML document does not parse or does not fit the schema (or, for `registry.yaml`,
    /// breaks one of its rules at a known place).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Yaml {
        file: PathBuf,
        line: u64,
        column: u64,
        message: String,
        /// What kind of problem it is: `validate`'s finding code.
        problem: YamlProblem,
    },

    /// A file parsed but its content breaks a rule.
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },

    /// The values given to a render do not fit the variables the prompt declares (a required
    /// one without a value, or one it does not declare). `id` is what was rendered (`NAME@1.0.0`).
    #[error("{}: {message}", file.display())]
    Variables {
        file: PathBuf,
        id: String,
        message: String,
    },

    /// A file is larger than promptreg reads (a YAML document, a component file).
    #[error("{}: {}", file.display(), too_large(*size, *limit))]
    TooLarge {
        file: PathBuf,
        size: u64,
        limit: usize,
    },

    /// A key of `registry.yaml`'s `prompts:` is not a prompt name.
    #[error("{}: invalid prompt name `{name}`: {reason}", file.display())]
    RegistryName {
        file: PathBuf,
        name: String,
        reason: String,
    },

    /// A path promptreg must read is a symbolic link, a submodule or a special file (a FIFO, a
    /// socket, a device), in the working tree or in a committed tree: never followed or opened.
    #[error("`{}` is {reason}{}; promptreg reads only regular files and real directories", path.display(), if *committed { " in the committed tree" } else { "" })]
    NotRegular {
        /// Repository-relative.
        path: PathBuf,
        reason: crate::fsread::Refusal,
        /// In a commit (a release) rather than in the working tree.
        committed: bool,
    },

    /// The prompt has no released version and no directory.
    #[error("prompt `{name}` not found")]
    PromptNotFound { name: String, nearby: Vec<String> },

    /// The prompt directory or its `prompt.yaml` is missing from the working tree.
    #[error("`{}` not found", path.display())]
    PromptFileMissing { path: PathBuf },

    /// The requested version was never released.
    #[error("version {version} of `{name}` not found")]
    VersionNotFound {
        name: String,
        version: String,
        existing: Vec<String>,
    },

    /// The prompt exists but has no version at all.
    #[error("`{name}` has no released version")]
    NoVersions { name: String },

    /// Releasing a version that is already a tag.
    #[error("version {version} of `{name}` already exists")]
    VersionExists {
        name: String,
        version: String,
        highest: Option<String>,
    },

    /// A version tag exists but is not a well-formed release.
    #[error("tag `{tag}` is not a valid release: {reason}")]
    BadTag { tag: String, reason: String },

    /// A pointer move to a release that cannot be read (its commit has no valid
    /// `prompt.yaml`): the environment would stop serving the prompt.
    #[error("cannot move {environment} of `{name}` to {version}: that release cannot be served")]
    UnservableRelease {
        name: String,
        version: String,
        environment: String,
        #[source]
        source: Box<Error>,
    },

    /// A template ran into one of the render limits of `template`.
    #[error("{}: {part}: the template was stopped because {limit}", file.display())]
    TemplateLimit {
        file: PathBuf,
        /// `system_prompt`, `messages[2]`, with the line when known.
        part: String,
        limit: crate::model::template::Limit,
    },

    /// An environment not in the registry's pipeline.
    #[error("unknown environment `{environment}`")]
    UnknownEnvironment {
        environment: String,
        known: Vec<String>,
    },

    /// A `--domain` no prompt has.
    #[error("unknown domain `{domain}`")]
    UnknownDomain { domain: String, known: Vec<String> },

    /// The index points at a version whose tag is not in this repository: a clone made
    /// without tags (`git clone --no-tags`, a shallow CI checkout).
    #[error(
        "{environment} of `{name}` points at {version}, but its tag `{tag}` is not in this clone"
    )]
    TagMissing {
        name: String,
        version: String,
        environment: String,
        tag: String,
        /// The clone is shallow too.
        shallow: bool,
    },

    /// The environment holds no version of the prompt.
    #[error("`{name}` has no version in {environment}")]
    NotInEnvironment {
        name: String,
        environment: String,
        elsewhere: Vec<(String, String)>,
    },

    /// A traffic split given on the command line or over HTTP breaks the split rules.
    #[error("invalid split: {message}")]
    InvalidSplit { message: String },

    /// A split key that cannot be hashed by the rule (empty, or with a line break).
    #[error("invalid split key: {reason}")]
    InvalidKey { reason: String },

    /// A canary needs a stable version in the environment to split traffic with.
    #[error("cannot start a canary of `{name}` {version} in {environment}: it holds no version to keep as the stable one")]
    NoStableVersion {
        name: String,
        version: String,
        environment: String,
    },

    /// The canary version is the one the environment already serves as stable.
    #[error("{version} is the stable version of `{name}` in {environment}; a canary is a different version")]
    CanaryOfStable {
        name: String,
        version: String,
        environment: String,
    },

    /// A promotion that skips a stage of the pipeline.
    #[error("cannot promote `{name}` {version} to {environment}: {previous} holds {held}, not {version}")]
    PipelineSkipped {
        name: String,
        version: String,
        environment: String,
        previous: String,
        held: String,
    },

    /// The identity may not move this environment's pointer.
    #[error("{email} may not move {environment} of `{name}`")]
    AccessDenied {
        email: String,
        name: String,
        environment: String,
        allowed: Vec<String>,
        /// Where the rule is written, e.g. `access.environments.production`.
        rule: Box<str>,
    },

    /// `rollback` found no earlier version in the environment's history.
    #[error(
        "{environment} of `{name}` held no other version before {current}; there is nothing to roll back to"
    )]
    NothingToRollBack {
        name: String,
        environment: String,
        current: String,
    },

    /// `rollback --to` named a version the environment never held.
    #[error("{environment} of `{name}` never held {version}")]
    NeverInEnvironment {
        name: String,
        environment: String,
        version: String,
        held: Vec<String>,
    },

    /// A version does not meet its target environment's promotion gate (`policy:`).
    #[error("cannot promote `{name}` {version} to {environment}: its gate is not met\n  - {}", unmet.join("\n  - "))]
    GateNotMet {
        name: String,
        version: String,
        environment: String,
        /// Each unmet condition, with the numbers.
        unmet: Vec<String>,
    },

    /// A test result to record breaks a rule (counts, score, name, link).
    #[error("invalid test result: {message}")]
    InvalidResult { message: String },

    /// A results file to import is not what its format claims.
    #[error("{}: not a {format} report: {message}", file.display())]
    Import {
        file: PathBuf,
        format: &'static str,
        message: String,
    },

    /// `registry.yaml` has uncommitted changes that a write would overwrite.
    #[error("registry.yaml has uncommitted changes")]
    RegistryDirty,

    /// A file a write owns has uncommitted changes (staged or not) it would overwrite.
    #[error("`{path}` has uncommitted changes")]
    Dirty { path: String },

    /// The content to release is identical to an existing version.
    #[error("`{name}` is unchanged since version {version}")]
    Unchanged { name: String, version: String },

    /// No author identity is configured.
    #[error("no Git identity: {missing}")]
    NoIdentity { missing: &'static str },

    /// An identity or date from the environment is malformed.
    #[error("invalid {variable}: `{value}`")]
    BadIdentity {
        variable: &'static str,
        value: String,
    },

    /// Another process holds the registry's write lock (or a killed one left it behind).
    #[error("the registry is locked by `{}`", path.display())]
    Locked { path: PathBuf, holder: String },

    /// A ref's lock file stayed in place through every retry (a killed writer may have left it).
    #[error("the branch is locked by `{}`", path.display())]
    RefLocked { path: PathBuf },

    /// `index.lock` stayed in place while waiting: a Git command is running (`git commit`
    /// with its editor open), or one was killed and left it.
    #[error("the index is locked by `{}` (a Git command is running, or a killed one left it)", path.display())]
    IndexLocked { path: PathBuf },

    /// A version tag's ref lock file is held by another process (or a killed one left it).
    #[error("the tag ref is locked by `{}`", path.display())]
    TagLocked { path: PathBuf },

    /// A version tag cannot be written because another ref is in the way.
    #[error("cannot create tag `{tag}`: the ref `{conflict}` is in the way")]
    TagConflict { tag: String, conflict: String },

    /// The branch kept moving under us.
    #[error("branch `{branch}` kept changing while committing; gave up after {attempts} attempts")]
    Contended { branch: String, attempts: u32 },

    /// A file could not be read or written.
    #[error("cannot access `{}`", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A Git operation failed.
    #[error("git: {context}")]
    Git {
        context: String,
        source: git2::Error,
    },

    /// Another system's export (`import`) holds something promptreg cannot carry as it is: a
    /// malformed field, or a template without an equivalent.
    #[error("{}: {field}: {message}", file.display())]
    Bridge {
        file: PathBuf,
        /// Where in the file (`[2].prompt[1].content`, `front matter`, `body, line 4`).
        field: String,
        message: String,
    },

    /// A version to import exists already with other content.
    #[error("{}: {field}: `{name}` {version} is already released with different content", file.display())]
    ImportConflict {
        file: PathBuf,
        field: String,
        name: String,
        version: String,
    },
    /// The identity may not release versions of, or record results for, this prompt.
    #[error("{email} may not {action} `{name}`")]
    ActionDenied {
        email: String,
        /// `release versions of`, `record results for`.
        action: &'static str,
        name: String,
        allowed: Vec<String>,
        rule: Box<str>,
    },

    /// A direct move into a protected environment on the checked-out branch.
    #[error("{environment} is protected: a move of `{name}` into it must arrive through a merge, not a direct commit on `{branch}`")]
    ProtectedEnvironment {
        name: String,
        environment: String,
        branch: String,
        /// `promote`, `rollback`, `split`.
        operation: &'static str,
    },

    /// `--branch NAME` names a branch that exists already, or is not a valid branch name.
    #[error("cannot create branch `{branch}`: {}", if *exists { "it exists already" } else { "not a valid Git branch name" })]
    BadBranch { branch: String, exists: bool },
    /// `archive --before DATE` found no release tagged before DATE.
    #[error("no release was tagged before {before}")]
    NothingToArchive { before: String },

    /// A file is not a promptreg archive, or it fails the checks of `archive verify`.
    #[error("`{}` is not a complete promptreg archive: {reason}", path.display())]
    ArchiveInvalid { path: PathBuf, reason: String },

    /// `archive restore` found tags that exist here naming other objects than the archive's.
    #[error("{} tag(s) of the archive exist here with other contents: {}", tags.len(), tags.join(", "))]
    ArchiveConflict { tags: Vec<String> },

    /// A `git` command promptreg ran (for bundles) failed.
    #[error("`git {command}` failed: {stderr}")]
    GitCommand { command: String, stderr: String },

    /// `archive prune` refused: environments hold some of the archived versions.
    #[error("{} archived version(s) are held by an environment: {}", held.len(), held.join(", "))]
    ArchiveHeld { held: Vec<String> },
}

/// What [`Error::TooLarge`] says about the size.
pub fn too_large(size: u64, limit: usize) -> String {
    format!("{size} bytes is larger than the {limit}-byte limit")
}

/// The kinds of [`Error::Yaml`], each with its finding code (docs/VALIDATE.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YamlProblem {
    /// Not YAML, or not one document: a scanner or parser error.
    Syntax,
    /// A key the format does not define.
    UnknownKey,
    /// A key given twice in one mapping.
    DuplicateKey,
    /// A key the format requires is absent.
    MissingKey,
    /// A value of the wrong type (or not one of the allowed values).
    WrongType,
    /// The bytes are not UTF-8.
    BadUtf8,
    /// The document expands beyond the parser's bounds (nesting, alias expansion).
    Limits,
    /// `registry.yaml` breaks one of its own rules (format, environments, access, policy).
    RegistryRule,
    /// `registry.yaml` has a pointer for an environment outside the pipeline.
    UnknownEnvironment,
    /// `registry.yaml` has a pointer to something that is not a version.
    BadVersion,
    /// `registry.yaml` has a split that breaks the split rules (shares, sum, duplicates).
    BadSplit,
}

impl YamlProblem {
    /// The stable finding code of `validate`.
    pub fn code(self) -> &'static str {
        match self {
            YamlProblem::Syntax => "yaml-syntax",
            YamlProblem::UnknownKey => "unknown-key",
            YamlProblem::DuplicateKey => "duplicate-key",
            YamlProblem::MissingKey => "missing-key",
            YamlProblem::WrongType => "bad-type",
            YamlProblem::BadUtf8 => "bad-utf8",
            YamlProblem::Limits => "yaml-limit",
            YamlProblem::RegistryRule => "registry-invalid",
            YamlProblem::UnknownEnvironment => "unknown-environment",
            YamlProblem::BadVersion => "bad-version",
            YamlProblem::BadSplit => "bad-split",
        }
    }
}

impl Error {
    /// The HTTP status and stable error code this error answers with (`serve`, and the access
    /// log lines `fetch` writes).
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Error::InvalidName { .. } => (400, "invalid-name"),
            Error::InvalidVersion { .. } => (400, "invalid-version"),
            Error::InvalidSelector { .. } => (400, "invalid-selector"),
            Error::PromptNotFound { .. } => (404, "prompt-not-found"),
            Error::NoVersions { .. } => (404, "no-versions"),
            Error::VersionNotFound { .. } => (404, "version-not-found"),
            Error::UnknownEnvironment { .. } => (404, "unknown-environment"),
            Error::UnknownDomain { .. } => (404, "unknown-domain"),
            Error::TagMissing { .. } => (503, "tag-missing"),
            Error::NotInEnvironment { .. } => (404, "not-in-environment"),
            Error::NeverInEnvironment { .. } => (404, "never-in-environment"),
            Error::PromptFileMissing { .. } => (404, "prompt-file-missing"),
            Error::AccessDenied { .. } => (403, "access-denied"),
            Error::VersionExists { .. } => (409, "version-exists"),
            Error::PipelineSkipped { .. } => (409, "pipeline-skipped"),
            Error::InvalidSplit { .. } => (400, "invalid-split"),
            Error::InvalidKey { .. } => (400, "invalid-key"),
            Error::NoStableVersion { .. } => (409, "no-stable-version"),
            Error::CanaryOfStable { .. } => (409, "canary-of-stable"),
            Error::GateNotMet { .. } => (409, "gate-not-met"),
            Error::InvalidResult { .. } | Error::Import { .. } => (422, "invalid-result"),
            Error::RegistryDirty => (409, "registry-dirty"),
            Error::Dirty { .. } => (409, "dirty"),
            Error::Unchanged { .. } => (409, "unchanged"),
            Error::NothingToRollBack { .. } => (409, "nothing-to-roll-back"),
            Error::OperationInProgress { .. } => (409, "operation-in-progress"),
            Error::DetachedHead => (409, "detached-head"),
            Error::Locked { .. }
            | Error::RefLocked { .. }
            | Error::IndexLocked { .. }
            | Error::TagLocked { .. } => (409, "locked"),
            Error::TagConflict { .. } => (409, "tag-conflict"),
            Error::Contended { .. } => (409, "contended"),
            Error::Yaml { .. }
            | Error::Invalid { .. }
            | Error::Variables { .. }
            | Error::TooLarge { .. }
            | Error::RegistryName { .. }
            | Error::NotRegular { .. } => (422, "invalid-prompt"),
            Error::UnservableRelease { .. } => (409, "release-unservable"),
            Error::TemplateLimit { .. } => (422, "template-limit"),
            Error::RegistryMissing { .. } | Error::UnbornBranch { .. } => (404, "registry-missing"),
            Error::BareRepository { .. } => (403, "bare-repository"),
            Error::NoIdentity { .. } | Error::BadIdentity { .. } => (500, "no-identity"),
            Error::NotARepository { .. }
            | Error::ReftableUnsupported { .. }
            | Error::RegistryExists { .. }
            | Error::RevisionNotFound { .. }
            | Error::BadTag { .. }
            | Error::Io { .. }
            | Error::Git { .. } => (500, "internal"),
            Error::Bridge { .. } => (422, "import-refused"),
            Error::ImportConflict { .. } => (409, "import-conflict"),
            Error::ActionDenied { .. } => (403, "access-denied"),
            Error::ProtectedEnvironment { .. } => (409, "protected-environment"),
            Error::BadBranch { .. } => (409, "bad-branch"),
            Error::NothingToArchive { .. } => (404, "nothing-to-archive"),
            Error::ArchiveInvalid { .. } => (422, "archive-invalid"),
            Error::ArchiveConflict { .. } => (409, "tag-conflict"),
            Error::GitCommand { .. } => (500, "internal"),
            Error::ArchiveHeld { .. } => (409, "archive-held"),
        }
    }

    /// The stable code `validate` reports this error with, when the error itself decides it
    /// (`None`: the code depends on which file was being checked).
    pub fn finding_code(&self) -> Option<&'static str> {
        match self {
            Error::Yaml { problem, .. } => Some(problem.code()),
            Error::TooLarge { .. } => Some("too-large"),
            Error::RegistryName { .. } => Some("bad-name"),
            Error::NotARepository { .. }
            | Error::ReftableUnsupported { .. }
            | Error::BareRepository { .. }
            | Error::DetachedHead
            | Error::UnbornBranch { .. }
            | Error::OperationInProgress { .. }
            | Error::RegistryMissing { .. }
            | Error::RegistryExists { .. }
            | Error::RevisionNotFound { .. }
            | Error::InvalidName { .. }
            | Error::InvalidVersion { .. }
            | Error::InvalidSelector { .. }
            | Error::Invalid { .. }
            | Error::Variables { .. }
            | Error::NotRegular { .. }
            | Error::PromptNotFound { .. }
            | Error::PromptFileMissing { .. }
            | Error::VersionNotFound { .. }
            | Error::NoVersions { .. }
            | Error::VersionExists { .. }
            | Error::BadTag { .. }
            | Error::UnservableRelease { .. }
            | Error::TemplateLimit { .. }
            | Error::UnknownEnvironment { .. }
            | Error::UnknownDomain { .. }
            | Error::TagMissing { .. }
            | Error::NotInEnvironment { .. }
            | Error::PipelineSkipped { .. }
            | Error::InvalidSplit { .. }
            | Error::InvalidKey { .. }
            | Error::NoStableVersion { .. }
            | Error::CanaryOfStable { .. }
            | Error::AccessDenied { .. }
            | Error::NothingToRollBack { .. }
            | Error::NeverInEnvironment { .. }
            | Error::GateNotMet { .. }
            | Error::InvalidResult { .. }
            | Error::Import { .. }
            | Error::RegistryDirty
            | Error::Dirty { .. }
            | Error::Unchanged { .. }
            | Error::NoIdentity { .. }
            | Error::BadIdentity { .. }
            | Error::Locked { .. }
            | Error::RefLocked { .. }
            | Error::IndexLocked { .. }
            | Error::TagLocked { .. }
            | Error::TagConflict { .. }
            | Error::Contended { .. }
            | Error::Io { .. }
            | Error::Git { .. }
            | Error::Bridge { .. }
            | Error::ImportConflict { .. }
            | Error::ActionDenied { .. }
            | Error::ProtectedEnvironment { .. }
            | Error::BadBranch { .. }
            | Error::NothingToArchive { .. }
            | Error::ArchiveInvalid { .. }
            | Error::ArchiveConflict { .. }
            | Error::GitCommand { .. }
            | Error::ArchiveHeld { .. } => None,
        }
    }

    /// Wraps a `git2::Error` with what promptreg was doing.
    pub fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let context = context.into();
        move |source| Error::Git { context, source }
    }

    /// Wraps an I/O error with the path involved.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
