//! Access rules: who may release, promote, roll back and record results, for which prompts, and
//! which environments take moves only through a merge.
//!
//! ```yaml
//! access:
//!   groups:
//!     support: ["*@support.example.com"]
//!     release-managers: [alice@example.com]
//!   prompts:                       # scope → action → members
//!     "*":                         # every prompt
//!       promote: {production: [release-managers]}
//!     "support/*":                 # every prompt of the domain `support`
//!       release: [support]
//!       promote: {dev: [support], staging: [support]}
//!       record: [support]
//!     support/refund-agent:        # one prompt
//!       rollback: {production: [release-managers, oncall@example.com]}
//!   protected: [production]        # moves arrive only through a merge
//!   environments:                  # (format 1's first rules) = "*": promote
//!     production: [release-managers]
//!   domains:                       # (format 1's first rules) = "DOMAIN/*": promote
//!     support:
//!       production: [support-leads@example.com]
//! ```
//! For an action on a prompt, the most specific scope with a rule for it applies: the prompt's
//! own, then its domain's, then `*`. No rule at any level: everyone may. `rollback` with no
//! rollback rule at any level follows the `promote` rule of the environment. Members are e-mail
//! addresses, `*@domain` patterns, or group names; group members are addresses and patterns.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The `access:` section of `registry.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Group name → members: e-mail addresses and `*@domain` patterns.
    #[serde(default)]
    #[schemars(extend(
        "propertyNames" = {"pattern": "^[^@]+$"},
        "additionalProperties" = {"type": "array", "items": {"type": "string", "pattern": "@"}}
    ))]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Environment → members allowed to move its pointers (addresses, `*@domain` patterns or
    /// group names): the same as `prompts: {"*": {promote: …}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, Vec<String>>,
    /// Domain → environment → members: the same as `prompts: {"DOMAIN/*": {promote: …}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub domains: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Scope → who may do what: `*` (every prompt), `DOMAIN/*` (the prompts of a domain) or a
    /// prompt name. The most specific scope with a rule for an action applies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": "^(\\*|[a-z0-9][a-z0-9-]*/\\*|[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*)$"}))]
    pub prompts: BTreeMap<String, Actions>,
    /// Environments whose pointer moves must arrive through a merge on the registry branch
    /// (`promote --branch NAME`, then a reviewed pull request), never as a direct commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
}

/// Who may do each action in one scope; an action left out has no rule at this scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// Who may release versions (`create`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Vec<String>>,
    /// Environment → who may move its pointer forward (`promote`, `split`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub promote: BTreeMap<String, Vec<String>>,
    /// Environment → who may roll it back; with no rollback rule, the promote rule applies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollback: BTreeMap<String, Vec<String>>,
    /// Who may record test results (`results record`, `results import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Vec<String>>,
}

/// Something an identity does to a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Release,
    Promote,
    Rollback,
    Record,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Release,
        Action::Promote,
        Action::Rollback,
        Action::Record,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Release => "release",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::Record => "record",
        }
    }

    /// Whether the action is per environment.
    pub fn per_environment(self) -> bool {
        matches!(self, Action::Promote | Action::Rollback)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule that decides an action: where it is written and who it lets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule<'a> {
    /// Where in `registry.yaml`, e.g. `access.prompts."support/*".promote.staging`.
    pub place: String,
    pub members: &'a [String],
}

/// The scopes a prompt's rules are looked up in, most specific first.
pub fn scopes_of(name: &str) -> Vec<String> {
    let mut scopes = vec![name.to_owned()];
    if let Some((domain, _)) = name.split_once('/') {
        scopes.push(format!("{domain}/*"));
    }
    scopes.push("*".to_owned());
    scopes
}

fn quoted(scope: &str) -> String {
    if scope.contains('*') {
        format!("\"{scope}\"")
    } else {
        scope.to_owned()
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

impl Access {
    /// Checks names and references against the pipeline; the message says what is wrong.
    pub fn check(&self, environments: &[String]) -> Result<(), String> {
        for (group, members) in &self.groups {
            if group.contains('@') || group.is_empty() {
                return Err(format!(
                    "group name `{group}` must not be empty or contain `@`"
                ));
            }
            if let Some(bad) = members.iter().find(|m| !m.contains('@')) {
                return Err(format!(
                    "group `{group}` lists `{bad}`; group members are e-mail addresses or `*@domain` patterns"
                ));
            }
        }
        let members_ok = |place: &str, members: &[String]| -> Result<(), String> {
            match members
                .iter()
                .find(|m| !m.contains('@') && !self.groups.contains_key(*m))
            {
                Some(bad) => Err(format!(
                    "access rule {place} names `{bad}`, which is neither an e-mail address nor a group"
                )),
                None => Ok(()),
            }
        };
        let env_ok = |place: &str, env: &str| -> Result<(), String> {
            if environments.iter().any(|e| e == env) {
                Ok(())
            } else {
                Err(format!(
                    "access rule {place}: not in environments [{}]",
                    environments.join(", ")
                ))
            }
        };
        for (env, members) in &self.environments {
            let place = format!("for `{env}`");
            env_ok(&place, env)?;
            members_ok(&place, members)?;
        }
        for (domain, rules) in &self.domains {
            for (env, members) in rules {
                let place = format!("for `{env}` (domain `{domain}`)");
                env_ok(&place, env)?;
                members_ok(&place, members)?;
            }
        }
        for (scope, actions) in &self.prompts {
            let valid = scope == "*"
                || scope
                    .strip_suffix("/*")
                    .is_some_and(|d| valid_segment(d) && !d.contains('/'))
                || (!scope.contains('*') && scope.split('/').all(valid_segment));
            if !valid {
                return Err(format!(
                    "access.prompts has the scope `{scope}`; a scope is `*` (every prompt), `DOMAIN/*` or a prompt name"
                ));
            }
            let at = |action: &str| format!("access.prompts.{}.{action}", quoted(scope));
            for (action, list) in [("release", &actions.release), ("record", &actions.record)] {
                if let Some(members) = list {
                    members_ok(&at(action), members)?;
                }
            }
            for (action, map) in [
                ("promote", &actions.promote),
                ("rollback", &actions.rollback),
            ] {
                for (env, members) in map {
                    let place = format!("for `{env}` ({})", at(action));
                    env_ok(&place, env)?;
                    members_ok(&place, members)?;
                }
            }
            // The first rules' keys say the same as `promote` at a scope: once, not twice.
            let legacy = match scope.strip_suffix("/*") {
                None if scope == "*" => Some(("access.environments", &self.environments)),
                Some(domain) => self
                    .domains
                    .get(domain)
                    .map(|rules| ("access.domains", rules)),
                None => None,
            };
            if let Some((key, rules)) = legacy {
                if let Some(env) = actions.promote.keys().find(|e| rules.contains_key(*e)) {
                    return Err(format!(
                        "the promote rule for `{env}` at {} is also given in {key}; keep one",
                        quoted(scope)
                    ));
                }
            }
        }
        let mut seen = Vec::new();
        for env in &self.protected {
            env_ok(&format!("access.protected `{env}`"), env)?;
            if seen.contains(&env) {
                return Err(format!("access.protected lists `{env}` twice"));
            }
            seen.push(env);
        }
        Ok(())
    }

    /// The rule for `action` on prompt `name` (in `environment` for promote and rollback);
    /// `None`: no rule, everyone may.
    pub fn rule_for(
        &self,
        action: Action,
        name: &str,
        environment: Option<&str>,
    ) -> Option<Rule<'_>> {
        self.rule_in(action, &scopes_of(name), environment)
    }

    /// The rule for `action` found first in `scopes` (most specific first).
    fn rule_in(
        &self,
        action: Action,
        scopes: &[String],
        environment: Option<&str>,
    ) -> Option<Rule<'_>> {
        let env = environment.unwrap_or("");
        let lookup = |action: Action| -> Option<Rule<'_>> {
            for scope in scopes {
                let place = |a: &str, env: Option<&str>| match env {
                    Some(e) => format!("access.prompts.{}.{a}.{e}", quoted(scope)),
                    None => format!("access.prompts.{}.{a}", quoted(scope)),
                };
                let actions = self.prompts.get(scope);
                let found = match action {
                    Action::Release => actions
                        .and_then(|a| a.release.as_deref())
                        .map(|m| (place("release", None), m)),
                    Action::Record => actions
                        .and_then(|a| a.record.as_deref())
                        .map(|m| (place("record", None), m)),
                    Action::Rollback => actions
                        .and_then(|a| a.rollback.get(env))
                        .map(|m| (place("rollback", Some(env)), m.as_slice())),
                    Action::Promote => {
                        let legacy = if scope == "*" {
                            self.environments
                                .get(env)
                                .map(|m| (format!("access.environments.{env}"), m))
                        } else {
                            scope.strip_suffix("/*").and_then(|d| {
                                self.domains
                                    .get(d)
                                    .and_then(|r| r.get(env))
                                    .map(|m| (format!("access.domains.{d}.{env}"), m))
                            })
                        };
                        actions
                            .and_then(|a| a.promote.get(env))
                            .map(|m| (place("promote", Some(env)), m))
                            .or(legacy)
                            .map(|(p, m)| (p, m.as_slice()))
                    }
                };
                if let Some((place, members)) = found {
                    return Some(Rule { place, members });
                }
            }
            None
        };
        match action {
            Action::Rollback => lookup(Action::Rollback).or_else(|| lookup(Action::Promote)),
            other => lookup(other),
        }
    }

    /// Whether `email` is one of `members` (directly, by pattern, or through a group).
    pub fn admits(&self, members: &[String], email: &str) -> bool {
        members.iter().any(|member| match self.groups.get(member) {
            Some(group) => group.iter().any(|m| matches(m, email)),
            None => matches(member, email),
        })
    }

    /// Whether `email` may do `action` to `name` (in `environment`).
    pub fn permits(
        &self,
        email: &str,
        action: Action,
        name: &str,
        environment: Option<&str>,
    ) -> bool {
        self.rule_for(action, name, environment)
            .is_none_or(|rule| self.admits(rule.members, email))
    }

    /// The members allowed to move `environment` for prompts of `domain`; `None`: everyone.
    /// (The promote rule of the domain or of every prompt; see [`Access::rule_for`].)
    pub fn rule(&self, domain: Option<&str>, environment: &str) -> Option<&[String]> {
        let mut scopes: Vec<String> = domain.map(|d| format!("{d}/*")).into_iter().collect();
        scopes.push("*".to_owned());
        self.rule_in(Action::Promote, &scopes, Some(environment))
            .map(|r| r.members)
    }

    /// Whether `email` may move `environment`'s pointer of a prompt in `domain`.
    pub fn allows(&self, email: &str, domain: Option<&str>, environment: &str) -> bool {
        self.rule(domain, environment)
            .is_none_or(|members| self.admits(members, email))
    }

    /// Whether moves into `environment` must arrive through a merge.
    pub fn is_protected(&self, environment: &str) -> bool {
        self.protected.iter().any(|e| e == environment)
    }
}

/// `alice@example.com` matches itself (case-insensitively); `*@example.com` any address there.
pub fn matches(pattern: &str, email: &str) -> bool {
    let email = email.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*@") {
        Some(domain) => email.rsplit_once('@').is_some_and(|(_, d)| d == domain),
        None => pattern == email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        let text = "groups:\n  managers: [alice@example.com, \"*@ops.example.com\"]\nenvironments:\n  production: [managers]\n  staging: [\"*@example.com\"]\ndomains:\n  support:\n    production: [lead@example.com]\n";
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn rules_resolve_groups_patterns_and_domains() {
        let a = access();
        let envs: Vec<String> = ["dev", "staging", "production"].map(String::from).to_vec();
        assert!(a.check(&envs).is_ok());
        assert!(a.allows("Alice@Example.com", None, "production"));
        assert!(a.allows("bob@ops.example.com", Some("billing"), "production"));
        assert!(!a.allows("bob@example.com", None, "production"));
        assert!(!a.allows("alice@example.com", Some("support"), "production"));
        assert!(a.allows("lead@example.com", Some("support"), "production"));
        assert!(a.allows("anyone@else.org", None, "dev"));
        assert!(!a.allows("x@evil.com", None, "staging"));
        assert!(!a.allows("x@notexample.com", None, "staging"));
    }

    #[test]
    fn check_rejects_unknown_names() {
        let envs: Vec<String> = ["dev"].map(String::from).to_vec();
        let mut a = Access::default();
        a.environments.insert("prod".into(), vec!["a@b.c".into()]);
        assert!(a.check(&envs).unwrap_err().contains("not in environments"));
        let mut a = Access::default();
        a.environments.insert("dev".into(), vec!["nobody".into()]);
        assert!(a.check(&envs).unwrap_err().contains("neither"));
        let mut a = Access::default();
        a.groups.insert("g".into(), vec!["g2".into()]);
        assert!(a.check(&envs).is_err());
    }

    fn roles() -> Access {
        let text = r#"
groups:
  support: ["*@support.example.com"]
  rm: [rm@example.com]
environments:
  production: [rm]
prompts:
  "*":
    release: [rm]
  "support/*":
    release: [support]
    promote: {staging: [support]}
    record: [support, qa@example.com]
  support/refund:
    release: [owner@example.com]
    rollback: {production: [oncall@example.com]}
protected: [production]
"#;
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn prompt_beats_domain_beats_default() {
        let a = roles();
        let envs: Vec<String> = ["dev", "staging", "production"].map(String::from).to_vec();
        assert_eq!(a.check(&envs), Ok(()));
        let p = |email, action, name, env| a.permits(email, action, name, env);
        assert!(p(
            "x@support.example.com",
            Action::Release,
            "support/faq",
            None
        ));
        assert!(!p("rm@example.com", Action::Release, "support/faq", None));
        assert!(p("rm@example.com", Action::Release, "billing/x", None));
        assert!(!p(
            "x@support.example.com",
            Action::Release,
            "support/refund",
            None
        ));
        assert!(p(
            "owner@example.com",
            Action::Release,
            "support/refund",
            None
        ));
        assert!(p(
            "anyone@x.org",
            Action::Promote,
            "support/faq",
            Some("dev")
        ));
        assert!(!p(
            "anyone@x.org",
            Action::Promote,
            "support/faq",
            Some("staging")
        ));
        assert!(!p(
            "x@support.example.com",
            Action::Promote,
            "support/faq",
            Some("production")
        ));
        // Rollback without a rollback rule follows promote; a prompt's own rule replaces it.
        assert!(p(
            "rm@example.com",
            Action::Rollback,
            "support/faq",
            Some("production")
        ));
        assert!(!p(
            "rm@example.com",
            Action::Rollback,
            "support/refund",
            Some("production")
        ));
        assert!(p(
            "oncall@example.com",
            Action::Rollback,
            "support/refund",
            Some("production")
        ));
        assert!(p("qa@example.com", Action::Record, "support/faq", None));
        assert!(p("qa@example.com", Action::Record, "billing/x", None));
        let rule = a
            .rule_for(Action::Promote, "support/faq", Some("production"))
            .unwrap();
        assert_eq!(rule.place, "access.environments.production");
        let rule = a.rule_for(Action::Release, "support/faq", None).unwrap();
        assert_eq!(rule.place, "access.prompts.\"support/*\".release");
        assert!(a.is_protected("production") && !a.is_protected("staging"));
    }

    #[test]
    fn check_rejects_bad_scopes_and_doubles() {
        let envs: Vec<String> = ["dev", "production"].map(String::from).to_vec();
        let mut a = Access::default();
        a.prompts.insert("Support/*".into(), Actions::default());
        assert!(a.check(&envs).unwrap_err().contains("scope"));
        let a = Access {
            protected: vec!["prod".into()],
            ..Access::default()
        };
        assert!(a.check(&envs).unwrap_err().contains("not in environments"));
        let mut a = Access::default();
        a.environments.insert("dev".into(), vec!["a@b.c".into()]);
        let mut actions = Actions::default();
        actions.promote.insert("dev".into(), vec!["a@b.c".into()]);
        a.prompts.insert("*".into(), actions);
        assert!(a.check(&envs).unwrap_err().contains("keep one"));
    }
}
