//! The access rules applied: refusing an identity an action, what an identity may do
//! (`access check`), and the CODEOWNERS file that has the forge ask the same reviewers
//! (`access codeowners`).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::access::{Access, Action};
use crate::model::registry::Registry;
use crate::store::{Store, TreeView};
use crate::{Error, PromptName, Result, REGISTRY_FILE};

/// Refuses `email` doing `action` to `name` (in `environment`, for promote and rollback) when
/// a rule applies and does not admit it; the refusal names the rule and who it admits.
pub fn check_action(
    registry: &Registry,
    email: &str,
    action: Action,
    name: &PromptName,
    environment: Option<&str>,
) -> Result<()> {
    let Some(access) = &registry.access else {
        return Ok(());
    };
    let Some(rule) = access.rule_for(action, name.as_str(), environment) else {
        return Ok(());
    };
    if access.admits(rule.members, email) {
        return Ok(());
    }
    let (email, allowed) = (email.to_owned(), rule.members.to_vec());
    Err(match (action, environment) {
        (Action::Promote | Action::Rollback, Some(env)) => Error::AccessDenied {
            email,
            name: name.to_string(),
            environment: env.to_owned(),
            allowed,
            rule: rule.place.into(),
        },
        (action, _) => Error::ActionDenied {
            email,
            action: match action {
                Action::Record => "record results for",
                _ => "release versions of",
            },
            name: name.to_string(),
            allowed,
            rule: rule.place.into(),
        },
    })
}

/// The same check against the `registry.yaml` of `tree` (a branch tip): no index, no rules.
pub fn check_action_at(
    store: &Store,
    tree: &TreeView<'_>,
    email: &str,
    action: Action,
    name: &PromptName,
) -> Result<()> {
    let Some(id) = store.entry_id(tree, REGISTRY_FILE) else {
        return Ok(());
    };
    let registry = crate::read::registry_of_blob(store, id)?;
    check_action(&registry, email, action, name, None)
}

/// The whole index committed at `revision` (HEAD).
fn registry_of(store: &Store, revision: Option<&str>) -> Result<Registry> {
    let commit = store.commit(revision)?;
    let label = crate::read::revision_label(revision);
    crate::read::registry_at(store, &commit, label, None)
}

/// One action an identity may or may not do (a row of `access check`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Permission {
    pub prompt: String,
    pub action: Action,
    /// For promote and rollback.
    pub environment: Option<String>,
    pub allowed: bool,
    /// The rule that decides it (`None`: no rule, everyone may).
    pub rule: Option<String>,
    /// Who the rule admits (empty with no rule).
    pub members: Vec<String>,
    /// Whether the move must arrive through a merge (`access.protected`).
    pub protected: bool,
}

/// What `email` may do to `name`, or to every prompt the registry at `revision` knows (those
/// with a pointer or a release), action by action and environment by environment.
pub fn permissions(
    store: &Store,
    email: &str,
    name: Option<&PromptName>,
    revision: Option<&str>,
) -> Result<Vec<Permission>> {
    let registry = registry_of(store, revision)?;
    let names: Vec<PromptName> = match name {
        Some(name) => vec![name.clone()],
        None => {
            let mut all: BTreeSet<PromptName> = registry.prompts.keys().cloned().collect();
            all.extend(store.all_versions()?.into_keys());
            all.into_iter().collect()
        }
    };
    let empty = Access::default();
    let access = registry.access.as_ref().unwrap_or(&empty);
    let mut out = Vec::new();
    for name in &names {
        for action in Action::ALL {
            let envs: Vec<Option<&str>> = if action.per_environment() {
                registry
                    .environments
                    .iter()
                    .map(|e| Some(e.as_str()))
                    .collect()
            } else {
                vec![None]
            };
            for env in envs {
                let rule = access.rule_for(action, name.as_str(), env);
                out.push(Permission {
                    prompt: name.to_string(),
                    action,
                    environment: env.map(str::to_owned),
                    allowed: rule
                        .as_ref()
                        .is_none_or(|r| access.admits(r.members, email)),
                    members: rule
                        .as_ref()
                        .map(|r| r.members.to_vec())
                        .unwrap_or_default(),
                    rule: rule.map(|r| r.place),
                    protected: env.is_some_and(|e| access.is_protected(e)),
                });
            }
        }
    }
    Ok(out)
}

/// A CODEOWNERS file and what it could not say.
#[derive(Clone, Debug, Serialize)]
pub struct CodeOwners {
    pub text: String,
    /// Rules the forge cannot enforce as written, one sentence each.
    pub unexpressed: Vec<String>,
}

/// The CODEOWNERS file for the rules at `revision`: `registry.yaml` owned by whoever may move
/// a protected environment (or, with none protected, the last environment), and each domain's
/// `prompts/<domain>/` (or a prompt's own directory) by whoever may release there. Groups are
/// written as `@<org>/<group>` when `team_org` is given (a forge team of the same name),
/// otherwise expanded to their addresses; `*@domain` patterns cannot be written at all.
pub fn codeowners(
    store: &Store,
    revision: Option<&str>,
    team_org: Option<&str>,
) -> Result<CodeOwners> {
    let registry = registry_of(store, revision)?;
    let empty = Access::default();
    let access = registry.access.as_ref().unwrap_or(&empty);
    let mut unexpressed = BTreeSet::new();
    let owners = |rule: &str, members: &[String], unexpressed: &mut BTreeSet<String>| {
        owners_of(access, team_org, rule, members, unexpressed)
    };
    let mut lines = vec![
        "# Written by `promptreg access codeowners` from the access rules in registry.yaml;"
            .to_owned(),
        "# regenerate it after changing them.".to_owned(),
    ];
    // registry.yaml: whoever may move what must be reviewed.
    let guarded: Vec<&String> = match access.protected.is_empty() {
        false => access.protected.iter().collect(),
        true => registry.environments.last().into_iter().collect(),
    };
    let mut index_owners = Vec::new();
    for env in &guarded {
        if let Some(members) = access.environments.get(*env) {
            index_owners.extend(owners(
                &format!("access.environments.{env}"),
                members,
                &mut unexpressed,
            ));
        } else if let Some(actions) = access.prompts.get("*") {
            if let Some(members) = actions.promote.get(*env) {
                index_owners.extend(owners(
                    &format!("access.prompts.\"*\".promote.{env}"),
                    members,
                    &mut unexpressed,
                ));
            }
        }
    }
    let mut seen = BTreeSet::new();
    index_owners.retain(|o| seen.insert(o.clone()));
    // Per-domain and per-prompt move rules differ by prompt; one file cannot say that.
    for (domain, rules) in &access.domains {
        for env in rules.keys().filter(|e| guarded.contains(e)) {
            unexpressed.insert(format!(
                "access.domains.{domain}.{env}: registry.yaml is one file for every prompt; its owners are the rule for all prompts"
            ));
        }
    }
    for (scope, actions) in &access.prompts {
        if scope != "*" {
            for env in actions.promote.keys().chain(actions.rollback.keys()) {
                if guarded.contains(&env) {
                    unexpressed.insert(format!(
                        "access.prompts.\"{scope}\" {env}: registry.yaml is one file for every prompt; its owners are the rule for all prompts"
                    ));
                }
            }
        }
    }
    if !index_owners.is_empty() {
        lines.push(format!("/{REGISTRY_FILE} {}", index_owners.join(" ")));
    }
    // Prompt directories: whoever may release there.
    for (scope, actions) in &access.prompts {
        let Some(members) = &actions.release else {
            continue;
        };
        let path = match scope.as_str() {
            "*" => "/prompts/".to_owned(),
            s => match s.strip_suffix("/*") {
                Some(domain) => format!("/prompts/{domain}/"),
                None => format!("/prompts/{s}/"),
            },
        };
        let who = owners(
            &format!("access.prompts.\"{scope}\".release"),
            members,
            &mut unexpressed,
        );
        if who.is_empty() {
            continue;
        }
        lines.push(format!("{path} {}", who.join(" ")));
    }
    // `*` first, so that the more specific lines after it win (the last match applies).
    let (head, mut body): (Vec<String>, Vec<String>) =
        lines.into_iter().partition(|l| l.starts_with('#'));
    body.sort_by_key(|l| {
        let path = l.split(' ').next().unwrap_or("").to_owned();
        (path != "/prompts/", path.matches('/').count(), path)
    });
    let mut text = head.join("\n");
    text.push('\n');
    for line in body {
        text.push_str(&line);
        text.push('\n');
    }
    Ok(CodeOwners {
        text,
        unexpressed: unexpressed.into_iter().collect(),
    })
}

/// The CODEOWNERS owners for `members` of `rule`; patterns are noted in `unexpressed`.
fn owners_of(
    access: &Access,
    team_org: Option<&str>,
    rule: &str,
    members: &[String],
    unexpressed: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |m: &str| {
        if m.starts_with("*@") {
            unexpressed.insert(format!(
                "{rule}: the pattern `{m}` has no CODEOWNERS form; list the addresses or use a forge team (--teams ORG)"
            ));
        } else if !out.iter().any(|o| o == m) {
            out.push(m.to_owned());
        }
    };
    for member in members {
        match (access.groups.get(member), team_org) {
            (Some(_), Some(org)) => add(&format!("@{org}/{member}")),
            (Some(group), None) => group.iter().for_each(|m| add(m)),
            (None, _) => add(member),
        }
    }
    out
}
