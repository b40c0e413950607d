//! Access rules: which identities may move each environment's pointers, optionally per domain.
//!
//! ```yaml
//! access:
//!   groups:
//!     release-managers: [alice@example.com, "*@ops.example.com"]
//!   environments:
//!     production: [release-managers]
//!   domains:
//!     support:
//!       production: [support-leads@example.com, release-managers]
//! ```
//! A domain rule replaces the environment rule for prompts of that domain; an environment with
//! no rule is open to everyone. Members are e-mail addresses, `*@domain` patterns, or group
//! names; group members are addresses and patterns.

use std::collections::BTreeMap;

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
    /// group names). An environment with no rule is open to everyone.
    #[serde(default)]
    pub environments: BTreeMap<String, Vec<String>>,
    /// Domain → environment → members; replaces the `environments` rule for prompts of that
    /// domain.
    #[serde(default)]
    pub domains: BTreeMap<String, BTreeMap<String, Vec<String>>>,
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
        let rules = self
            .environments
            .iter()
            .map(|(env, members)| (None, env, members))
            .chain(self.domains.iter().flat_map(|(domain, rules)| {
                rules
                    .iter()
                    .map(move |(env, members)| (Some(domain), env, members))
            }));
        for (domain, env, members) in rules {
            let place = domain.map_or(String::new(), |d| format!(" (domain `{d}`)"));
            if !environments.contains(env) {
                return Err(format!(
                    "access rule for `{env}`{place}: not in environments [{}]",
                    environments.join(", ")
                ));
            }
            if let Some(bad) = members
                .iter()
                .find(|m| !m.contains('@') && !self.groups.contains_key(*m))
            {
                return Err(format!(
                    "access rule for `{env}`{place} names `{bad}`, which is neither an e-mail address nor a group"
                ));
            }
        }
        Ok(())
    }

    /// The members allowed to move `environment` for prompts of `domain`; `None`: everyone.
    pub fn rule(&self, domain: Option<&str>, environment: &str) -> Option<&[String]> {
        domain
            .and_then(|d| self.domains.get(d))
            .and_then(|rules| rules.get(environment))
            .or_else(|| self.environments.get(environment))
            .map(Vec::as_slice)
    }

    /// Whether `email` may move `environment`'s pointer of a prompt in `domain`.
    pub fn allows(&self, email: &str, domain: Option<&str>, environment: &str) -> bool {
        let Some(members) = self.rule(domain, environment) else {
            return true;
        };
        members.iter().any(|member| match self.groups.get(member) {
            Some(group) => group.iter().any(|m| matches(m, email)),
            None => matches(member, email),
        })
    }
}

/// `alice@example.com` matches itself (case-insensitively); `*@example.com` any address there.
fn matches(pattern: &str, email: &str) -> bool {
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
}
