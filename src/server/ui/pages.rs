//! The page handlers: each reads what it shows through [`super::data`] and renders one template.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Environment, Value};
use serde::Deserialize;

use super::super::query::{Kind, Params};
use super::super::ApiError;
use super::data::{self, blocking};
use super::{diff, html, text, Ui};
use crate::{PromptName, Version};

/// Rows of the index per page, and events of a history page.
const PAGE_SIZE: usize = 50;
const EVENTS_PER_PAGE: usize = 100;

/// The templates, embedded; `*.html` are auto-escaped.
pub(super) fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("index.html", include_str!("templates/index.html")),
        ("prompt.html", include_str!("templates/prompt.html")),
        ("version.html", include_str!("templates/version.html")),
        ("compare.html", include_str!("templates/compare.html")),
        ("history.html", include_str!("templates/history.html")),
        ("events.html", include_str!("templates/events.html")),
        ("error.html", include_str!("templates/error.html")),
    ] {
        env.add_template(name, source)
            .expect("the embedded templates parse");
    }
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.add_filter("urlencode", urlencode);
    env.add_filter("json", |value: Value| {
        serde_json::to_string_pretty(&value).unwrap_or_default()
    });
    env
}

/// A query-string value, percent-encoded (everything but unreserved characters).
fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Renders `template` with `ctx`, or the error page.
fn render(ui: &Ui, template: &str, ctx: Value) -> Response {
    match ui
        .templates
        .get_template(template)
        .and_then(|t| t.render(ctx))
    {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => error_page(
            ui,
            &ApiError::internal(format!("template {template}: {e:#}")),
        ),
    }
}

/// The error page for `error`, with its status (404 for an unknown prompt or version).
fn error_page(ui: &Ui, error: &ApiError) -> Response {
    if error.status.is_server_error() {
        (ui.shared.notify)(&format!("ui: {}: {}", error.code, error.message));
    }
    let message = if error.status.is_server_error() {
        "the server could not make this page; its log (stderr) has the details".to_owned()
    } else {
        error.message.clone()
    };
    let body = ui
        .templates
        .get_template("error.html")
        .and_then(|t| {
            t.render(context! {
                title => error.status.canonical_reason().unwrap_or("Error"),
                status => error.status.as_u16(),
                code => error.code,
                message => message,
            })
        })
        .unwrap_or_else(|_| format!("{} {}", error.status.as_u16(), error.code));
    html(error.status, body)
}

fn page_or_error(ui: &Ui, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| error_page(ui, &e))
}

/// An optional query value: empty is none.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Deserialize, Default)]
pub(super) struct IndexQuery {
    q: Option<String>,
    domain: Option<String>,
    environment: Option<String>,
    tag: Option<String>,
    page: Option<String>,
}

/// `/`: every prompt, filtered by `q` (name, summary, tags), `domain`, `environment` (prompts
/// it serves) and `tag`, a page at a time.
pub(super) async fn index(
    State(ui): State<Arc<Ui>>,
    query: Result<Query<IndexQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let loaded = {
        let ui = ui.clone();
        blocking(&ui.shared.clone(), move |shared, store| {
            data::index(shared, store, &ui.derived)
        })
        .await
    };
    let index = match loaded {
        Ok(index) => index,
        Err(e) => return error_page(&ui, &e),
    };
    let q = given(&query.q).map(str::to_ascii_lowercase);
    let words: Vec<&str> = q
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let (domain, environment, tag) = (
        given(&query.domain),
        given(&query.environment),
        given(&query.tag),
    );
    let matching: Vec<&data::Row> = index
        .rows
        .iter()
        .filter(|row| words.iter().all(|w| row.search.contains(w)))
        .filter(|row| domain.is_none_or(|d| row.record.domain.as_deref() == Some(d)))
        .filter(|row| {
            environment.is_none_or(|e| row.record.environments.get(e).is_some_and(|v| !v.is_null()))
        })
        .filter(|row| tag.is_none_or(|t| row.tags.iter().any(|have| have == t)))
        .collect();
    let (page, pages, on_page) = paginate(&matching, query.page.as_deref(), PAGE_SIZE);
    let shown: Vec<Value> = on_page
        .iter()
        .map(|row| {
            let r = &row.record;
            let serves: Vec<Value> = index
                .environments
                .iter()
                .map(|env| {
                    context! {
                        environment => env,
                        version => r.environments.get(env).and_then(|v| v.as_str()),
                        split => r.splits.get(env).map(|split| split
                            .iter()
                            .map(|e| context! { version => e.version, percent => e.percent.as_number() })
                            .collect::<Vec<_>>()),
                    }
                })
                .collect();
            context! {
                name => r.name,
                domain => r.domain,
                latest => r.latest,
                versions => r.versions,
                summary => r.summary,
                status => r.status,
                tags => row.tags,
                serves => serves,
            }
        })
        .collect();
    let mut filters = BTreeMap::new();
    for (key, value) in [
        ("q", given(&query.q)),
        ("domain", domain),
        ("environment", environment),
        ("tag", tag),
    ] {
        if let Some(value) = value {
            filters.insert(key, value.to_owned());
        }
    }
    render(
        &ui,
        "index.html",
        context! {
            title => "Prompts",
            api => "/api/prompts",
            environments => index.environments,
            domains => index.domains,
            all_tags => index.tags,
            filters => filters,
            q => given(&query.q).unwrap_or_default(),
            rows => shown,
            total => index.rows.len(),
            matching => matching.len(),
            page => page,
            pages => pages,
        },
    )
}

/// `/prompts/NAME` (the prompt page) or `/prompts/NAME@VERSION` (a version's page).
pub(super) async fn prompt(State(ui): State<Arc<Ui>>, Path(id): Path<String>) -> Response {
    let result = match id.rsplit_once('@') {
        Some((name, version)) => version_page(&ui, name, version).await,
        None => prompt_page(&ui, &id).await,
    };
    page_or_error(&ui, result)
}

async fn prompt_page(ui: &Arc<Ui>, name: &str) -> Result<Response, ApiError> {
    let name = PromptName::parse(name)?;
    let (environments, serves, versions, history, latest) = {
        let name = name.clone();
        blocking(&ui.shared, move |shared, store| {
            let versions = data::api_read(shared, store, &name, Kind::Versions, Params::default())?;
            let history = data::api_read(shared, store, &name, Kind::History, Params::default())?;
            let (environments, serves) = data::pipeline(shared, store, Some(&name))?;
            // The summary and tags are the latest version's, as the list shows them.
            let released = versions.as_array().is_some_and(|v| !v.is_empty());
            let latest = if released {
                let params = Params {
                    version: Some("latest".into()),
                    ..Params::default()
                };
                data::api_read(shared, store, &name, Kind::Record, params).ok()
            } else {
                None
            };
            Ok((environments, serves, versions, history, latest))
        })
        .await?
    };
    let field = |key: &str| latest.as_ref().and_then(|r| r.get(key)).cloned();
    let mut versions: Vec<serde_json::Value> = serde_json::from_value(versions).unwrap_or_default();
    versions.reverse();
    let recent: Vec<serde_json::Value> = serde_json::from_value::<Vec<serde_json::Value>>(history)
        .unwrap_or_default()
        .into_iter()
        .take(10)
        .collect();
    Ok(render(
        ui,
        "prompt.html",
        context! {
            title => name.as_str(),
            api => format!("/api/prompts/{name}/versions"),
            name => name.as_str(),
            summary => field("summary").map(|v| Value::from_serialize(&v)),
            tags => field("tags").map(|v| Value::from_serialize(&v)),
            latest => field("version").map(|v| Value::from_serialize(&v)),
            serves => Value::from_serialize(&serves),
            versions => versions,
            environments => environments,
            events => recent,
        },
    ))
}

async fn version_page(ui: &Arc<Ui>, name: &str, version: &str) -> Result<Response, ApiError> {
    let name = PromptName::parse(name)?;
    let version = Version::parse(version)?.to_string();
    let (record, runs, components) = {
        let (name, version) = (name.clone(), version.clone());
        blocking(&ui.shared, move |shared, store| {
            let params = Params {
                version: Some(version.clone()),
                ..Params::default()
            };
            let record = data::api_read(shared, store, &name, Kind::Record, params.clone())?;
            let runs = data::api_read(shared, store, &name, Kind::Tests, params)?;
            let components = data::components(store, &name, &version)?;
            Ok((record, runs, components))
        })
        .await?
    };
    let str_of = |field: &str| {
        record
            .get(field)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    };
    let system = text::segments(str_of("system_prompt"));
    let messages: Vec<Value> = record
        .get("messages")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .map(|m| {
            let content = m
                .get("content")
                .and_then(|c| c.as_str())
                .unwrap_or_default();
            context! {
                role => m.get("role").and_then(|r| r.as_str()).unwrap_or_default(),
                segments => text::segments(content),
            }
        })
        .collect();
    let mut texts = vec![str_of("system_prompt")];
    for m in record
        .get("messages")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
    {
        texts.push(
            m.get("content")
                .and_then(|c| c.as_str())
                .unwrap_or_default(),
        );
    }
    let tokenizer =
        crate::model::tokens::tokenizer_for(record.get("model").and_then(|m| m.as_str()));
    let tokens = crate::model::tokens::count(tokenizer.encoding, &texts);
    let runs = runs.get("runs").cloned().unwrap_or(runs);
    Ok(render(
        ui,
        "version.html",
        context! {
            title => format!("{name}@{version}"),
            api => format!("/api/prompts/{name}?version={version}"),
            name => name.as_str(),
            version => version,
            record => Value::from_serialize(&record),
            system => system,
            messages => messages,
            tokens => tokens,
            tokens_exact => tokenizer.exact,
            encoding => tokenizer.encoding.name(),
            runs => Value::from_serialize(&runs),
            components => components,
        },
    ))
}

#[derive(Deserialize, Default)]
pub(super) struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
    view: Option<String>,
}

/// `/compare/NAME?a=A&b=B[&view=split]`: `promptreg diff NAME A B`, A and B versions,
/// environments or `latest`.
pub(super) async fn compare(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    query: Result<Query<CompareQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let result = async {
        let name = PromptName::parse(&name)?;
        let (a, b) = (
            given(&query.a).map(str::to_owned),
            given(&query.b).map(str::to_owned),
        );
        let (versions, compared) = {
            let (name, a, b) = (name.clone(), a.clone(), b.clone());
            blocking(&ui.shared, move |shared, store| {
                let versions =
                    data::api_read(shared, store, &name, Kind::Versions, Params::default())?;
                let compared = match (a, b) {
                    (Some(a), Some(b)) => Some(data::compare(shared, store, &name, &a, &b)?),
                    _ => None,
                };
                Ok((versions, compared))
            })
            .await?
        };
        let versions: Vec<String> = versions
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        let (lines, rows) = compared
            .as_ref()
            .map(|d| diff::layout(&d.text_diff))
            .unwrap_or_default();
        let split_view = query.view.as_deref() == Some("split");
        let environments = {
            let name = name.clone();
            blocking(&ui.shared, move |shared, store| {
                Ok(data::pipeline(shared, store, Some(&name))?.0)
            })
            .await?
        };
        let (default_a, default_b) = match versions.len() {
            0 => (String::new(), String::new()),
            1 => (versions[0].clone(), versions[0].clone()),
            n => (versions[n - 2].clone(), versions[n - 1].clone()),
        };
        Ok(render(
            &ui,
            "compare.html",
            context! {
                title => format!("Compare {name}"),
                api => Value::from(()),
                api_a => a.as_ref().filter(|_| compared.is_some()).map(|a| side_api(&name, a)),
                api_b => b.as_ref().filter(|_| compared.is_some()).map(|b| side_api(&name, b)),
                name => name.as_str(),
                a => a.clone().unwrap_or(default_a),
                b => b.clone().unwrap_or(default_b),
                versions => versions,
                environments => environments,
                diff => compared.as_ref().map(Value::from_serialize),
                changed => compared.as_ref().map(|d| d.changed().join(", ")),
                lines => lines,
                rows => rows,
                split_view => split_view,
            },
        ))
    }
    .await;
    page_or_error(&ui, result)
}

/// The API URL of one side of a comparison.
fn side_api(name: &PromptName, side: &str) -> String {
    if Version::parse(side).is_ok() || side == "latest" {
        format!("/api/prompts/{name}?version={side}")
    } else {
        format!("/api/prompts/{name}?environment={side}")
    }
}

#[derive(Deserialize, Default)]
pub(super) struct HistoryQuery {
    environment: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// The events of one commit (its id, or an unambiguous prefix of at least 7 hex digits).
    commit: Option<String>,
    page: Option<String>,
}

/// A `commit` filter: 7 to 40 hex digits, lower-cased, or a 400.
fn commit_filter(value: Option<&str>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            if (7..=40).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(v.to_ascii_lowercase())
            } else {
                Err(ApiError::bad_request(format!(
                    "`commit` is a commit id (7 to 40 hex digits), not `{}`",
                    v.chars().take(64).collect::<String>()
                )))
            }
        })
        .transpose()
}

/// `/history`: the whole registry's audit trail.
pub(super) async fn registry_history(
    State(ui): State<Arc<Ui>>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let result = async {
        let ui2 = ui.clone();
        let events = blocking(&ui.shared, move |shared, store| {
            data::registry_history(shared, store, &ui2.derived)
        })
        .await?;
        history_page(&ui, None, &events, &events.pipeline, &query)
    }
    .await;
    page_or_error(&ui, result)
}

/// `/history/NAME`: one prompt's audit trail.
pub(super) async fn prompt_history(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let result = async {
        let name = PromptName::parse(&name)?;
        let (events, environments) = {
            let name = name.clone();
            blocking(&ui.shared, move |shared, store| {
                Ok((
                    data::api_read(shared, store, &name, Kind::History, Params::default())?,
                    data::pipeline(shared, store, Some(&name))?.0,
                ))
            })
            .await?
        };
        let events = data::Events::new(
            serde_json::from_value(events).unwrap_or_default(),
            Vec::new(),
        );
        history_page(&ui, Some(&name), &events, &environments, &query)
    }
    .await;
    page_or_error(&ui, result)
}

/// The page `page` asks for (1 when it is missing or not a number, the last one past the end),
/// how many pages `items` make at `per_page` (at least one), and that page's items.
fn paginate<'a, T>(items: &'a [T], page: Option<&str>, per_page: usize) -> (usize, usize, &'a [T]) {
    let pages = items.len().div_ceil(per_page).max(1);
    let page = page
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let start = ((page - 1) * per_page).min(items.len());
    let end = (start + per_page).min(items.len());
    (page, pages, &items[start..end])
}

/// A day `YYYY-MM-DD` of a filter, or a 400 naming the parameter.
fn day(param: &str, value: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    value
        .map(|v| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_request(format!("`{param}` is a day as YYYY-MM-DD, not `{v}`"))
            })
        })
        .transpose()
}

fn history_page(
    ui: &Ui,
    name: Option<&PromptName>,
    events: &data::Events,
    environments: &[String],
    query: &HistoryQuery,
) -> Result<Response, ApiError> {
    let environment = given(&query.environment);
    let since = day("since", given(&query.since))?;
    let until = day("until", given(&query.until))?;
    let commit = commit_filter(given(&query.commit))?;
    let matching: Vec<&serde_json::Value> = (0..events.events.len())
        .filter(|&i| environment.is_none_or(|env| events.environments[i].as_deref() == Some(env)))
        .filter(|&i| {
            commit.as_deref().is_none_or(|c| {
                events.events[i]["commit"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(c))
            })
        })
        .filter(|&i| {
            let at = events.days[i];
            since.is_none_or(|s| at.is_some_and(|at| at >= s))
                && until.is_none_or(|u| at.is_some_and(|at| at <= u))
        })
        .map(|i| &events.events[i])
        .collect();
    let (page, pages, shown) = paginate(&matching, query.page.as_deref(), EVENTS_PER_PAGE);
    let mut filters = BTreeMap::new();
    for (key, value) in [
        ("environment", environment),
        ("since", given(&query.since)),
        ("until", given(&query.until)),
        ("commit", commit.as_deref()),
    ] {
        if let Some(value) = value {
            filters.insert(key, value.to_owned());
        }
    }
    let api = name.map(|name| match environment {
        Some(env) => format!("/api/prompts/{name}/history?environment={env}"),
        None => format!("/api/prompts/{name}/history"),
    });
    Ok(render(
        ui,
        "history.html",
        context! {
            title => match name {
                Some(name) => format!("History of {name}"),
                None => "History".to_owned(),
            },
            api => api,
            name => name.map(|n| n.as_str()),
            events => Value::from_serialize(shown),
            environments => environments,
            filters => filters,
            matching => matching.len(),
            page => page,
            pages => pages,
        },
    ))
}
