//! Prompt templates: Jinja2 syntax through MiniJinja, strict about variables — a template may
//! only read variables the prompt declares, and rendering fails on any that is missing.
//!
//! Templates come from whoever can push to the registry, and they run inside `validate`,
//! `create` (under the write lock) and `render`. Every render is therefore bounded: a step
//! budget (MiniJinja's fuel), a cap on the bytes it writes, and a cap on how deep calls nest.
//! The limits are defined here, once, for every caller. Memory is the one bound MiniJinja
//! cannot enforce: the binary makes renders run in a worker process with a memory cap
//! ([`isolation`]).

mod isolation;

use std::collections::BTreeSet;
use std::io;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};

pub use isolation::{
    isolate_in, serve_worker, Isolation, WorkerCommand, MAX_MEMORY_BYTES, MAX_RENDER_TIME,
};

/// Steps (MiniJinja instructions) one render may take. A loop over 1,000 items printing three
/// fields each takes about 19,000 steps, so a million leaves room for ~50,000 such items, and
/// runs out in about 40 ms (release build): a hostile `range(100000)` inside `range(100000)`
/// stops there instead of running for hours.
pub const MAX_STEPS: u64 = 1_000_000;

/// Bytes one render may write: four times the largest component file (1 MiB), and a thousand
/// times the default token budget, so no legitimate prompt comes near it.
pub const MAX_OUTPUT_BYTES: usize = 4 << 20;

/// How deep calls may nest (MiniJinja counts a macro call as several levels). Below MiniJinja's
/// own default of 500 so that a macro calling itself cannot exhaust the 2 MiB stack of the
/// server's worker threads.
pub const MAX_DEPTH: usize = 200;

/// Which bound a render ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Limit {
    /// More than [`MAX_STEPS`] steps.
    Steps,
    /// More than [`MAX_OUTPUT_BYTES`] of output.
    Output,
    /// Calls nested deeper than [`MAX_DEPTH`].
    Depth,
    /// More than [`MAX_MEMORY_BYTES`] of memory (only in a worker process, see [`isolate_in`]).
    Memory,
    /// More than [`MAX_RENDER_TIME`] (only in a worker process).
    Time,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Steps => write!(
                f,
                "it ran for more than {MAX_STEPS} steps (a loop that runs too long, or recursion that fans out)"
            ),
            Limit::Output => write!(
                f,
                "its output grew past {MAX_OUTPUT_BYTES} bytes ({} MiB)",
                MAX_OUTPUT_BYTES >> 20
            ),
            Limit::Depth => write!(
                f,
                "its calls nest more than {MAX_DEPTH} levels deep (a macro that calls itself without end)"
            ),
            Limit::Memory => write!(
                f,
                "it needed more than {} MiB of memory (a value that keeps doubling, in a loop or a recursion)",
                MAX_MEMORY_BYTES >> 20
            ),
            Limit::Time => write!(
                f,
                "it ran for more than {} seconds",
                MAX_RENDER_TIME.as_secs()
            ),
        }
    }
}

/// A template that does not compile or render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// 1-based line inside the template, when MiniJinja knows it.
    pub line: Option<usize>,
    pub message: String,
    /// Set when the render was stopped by one of the limits above.
    pub limit: Option<Limit>,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(MAX_STEPS));
    env.set_recursion_limit(MAX_DEPTH);
    env
}

fn error(e: minijinja::Error, output_full: bool) -> TemplateError {
    // MiniJinja reports the depth limit as an invalid operation; its wording is pinned by the
    // `limits` test below, so an upgrade that changes it fails there rather than here.
    let limit = match e.kind() {
        ErrorKind::OutOfFuel => Some(Limit::Steps),
        ErrorKind::WriteFailure if output_full => Some(Limit::Output),
        ErrorKind::InvalidOperation if e.detail() == Some("recursion limit exceeded") => {
            Some(Limit::Depth)
        }
        _ => None,
    };
    let message = match (limit, e.detail()) {
        (Some(limit), _) => limit.to_string(),
        (None, Some(detail)) => format!("{}: {detail}", e.kind()),
        (None, None) => e.kind().to_string(),
    };
    TemplateError {
        line: e.line(),
        message,
        limit,
    }
}

/// The top-level variables `source` reads (not those it sets itself, nor MiniJinja's global
/// functions such as `range` or `namespace`), or why it does not compile.
pub fn variables(source: &str) -> Result<BTreeSet<String>, TemplateError> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| error(e, false))?;
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    Ok(template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !globals.contains(name.as_str()))
        .collect())
}

/// What a template uses that promptreg's renderer does not provide: it compiles, but the
/// render reaching it can only fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    pub kind: UnknownKind,
    /// The filter, test or function name; the tag (`include`, `import`, `from`, `extends`).
    pub name: String,
    /// Byte offset in the template where it is used.
    pub offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownKind {
    /// `x | name`, `{% filter name %}`: no such filter.
    Filter,
    /// `x is name`: no such test.
    Test,
    /// `name()`: neither a function of the renderer nor anything the template defines (a macro,
    /// a `set`), nor a variable.
    Function,
    /// `{% include %}`, `{% import %}`, `{% from … import %}`, `{% extends %}`: the renderer
    /// holds no other template, so there is nothing to load (even `ignore missing` loads nothing).
    Load,
    /// `x.name()`: the values a prompt is rendered with (strings, numbers, lists, maps) have no
    /// methods in MiniJinja — `"a,b".split(",")` or `d.items()` fail when rendered (jinja2 and
    /// MiniJinja's Python-compatibility mode have them; promptreg's renderer does not). Only
    /// the loop's `cycle` and `changed` are methods here.
    Method,
}

/// The methods a template may call: the `loop` object's.
const LOOP_METHODS: [&str; 2] = ["cycle", "changed"];

/// Every filter, test and function `source` uses that the renderer lacks, and every
/// include/import/extends, in source order; or why it does not compile. A function counts only
/// when the template neither defines it nor reads it as a variable: calls of names in
/// `variables(source)` are returned too, for the caller (who knows the declared variables) to
/// judge. Read from MiniJinja's compiled instructions, so only what the engine will really look
/// up is checked. A method call is reported unless its name is one of the loop's, or the
/// template builds a macro or has a block (a macro stored in a map or a block called through
/// `self` can be called as a method: those templates are left to the render).
pub fn unknowns(source: &str) -> Result<Vec<Unknown>, TemplateError> {
    use minijinja::machinery::{get_compiled_template, Instruction, Instructions};

    let env = environment();
    let template = env.template_from_str(source).map_err(|e| error(e, false))?;
    let free: BTreeSet<String> = template.undeclared_variables(false).into_iter().collect();
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    let compiled = get_compiled_template(&template);
    let builds_callables = !compiled.blocks.is_empty()
        || (0..compiled.instructions.len() as u32).any(|idx| {
            matches!(
                compiled.instructions.get(idx),
                Some(Instruction::BuildMacro(..))
            )
        });
    let mut found = Vec::new();
    let mut scan = |instructions: &Instructions<'_>| {
        for idx in 0..instructions.len() as u32 {
            let Some(instruction) = instructions.get(idx) else {
                break;
            };
            let span = instructions.get_span(idx);
            let (start, end) =
                span.map_or((0, 0), |s| (s.start_offset as usize, s.end_offset as usize));
            let (kind, name) = match instruction {
                Instruction::ApplyFilter(name, ..) if !provides(&env, "{{ none | ", name) => {
                    (UnknownKind::Filter, name.to_string())
                }
                Instruction::PerformTest(name, ..) if !provides(&env, "{{ none is ", name) => {
                    (UnknownKind::Test, name.to_string())
                }
                Instruction::CallFunction(name, _)
                    if free.contains(*name) && !globals.contains(name) =>
                {
                    (UnknownKind::Function, name.to_string())
                }
                Instruction::CallMethod(name, _)
                    if !builds_callables && !LOOP_METHODS.contains(name) =>
                {
                    (UnknownKind::Method, name.to_string())
                }
                Instruction::Include(_) | Instruction::LoadBlocks => {
                    let tag = first_word(source.get(start..end).unwrap_or(""));
                    let tag = match (instruction, tag) {
                        (Instruction::LoadBlocks, _) => "extends",
                        (_, "import" | "from") => tag,
                        _ => "include",
                    };
                    found.push(Unknown {
                        kind: UnknownKind::Load,
                        name: tag.to_owned(),
                        offset: source
                            .get(start..end)
                            .map_or(start, |text| text.find(tag).map_or(start, |i| start + i)),
                    });
                    continue;
                }
                _ => continue,
            };
            let offset = source
                .get(start..end)
                .and_then(|text| last_word(text, &name))
                .map_or(start, |i| start + i);
            found.push(Unknown { kind, name, offset });
        }
    };
    scan(&compiled.instructions);
    for block in compiled.blocks.values() {
        scan(block);
    }
    found.sort_by_key(|u| u.offset);
    found.dedup();
    Ok(found)
}

/// Whether the renderer has the filter or test `name`: probed by rendering `prefix name }}`,
/// which fails with "unknown filter/test" exactly when it lacks one (any other failure, a
/// missing argument, means it exists). `name` is an identifier MiniJinja parsed.
fn provides(env: &Environment<'_>, prefix: &str, name: &str) -> bool {
    let probe = format!("{prefix}{name} }}}}");
    match env.render_str(&probe, ()) {
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), ErrorKind::UnknownFilter | ErrorKind::UnknownTest),
    }
}

/// The first identifier-like word of `text` (a tag's span may start with `{%`, `-` or spaces).
fn first_word(text: &str) -> &str {
    let text = text.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The byte offset of the last whole-word `name` in `text` (a filter's span starts at the value
/// it filters, which may contain the same word).
fn last_word(text: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.rmatch_indices(name).map(|(i, _)| i).find(|&at| {
        !text[..at].chars().next_back().is_some_and(is_word)
            && !text[at + name.len()..].chars().next().is_some_and(is_word)
    })
}

/// Output that refuses to grow past [`MAX_OUTPUT_BYTES`]: the render stops at the write that
/// would cross it, so memory never holds more.
struct Bounded {
    text: Vec<u8>,
    full: bool,
}

impl io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.text.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.full = true;
            return Err(io::Error::other("template output limit reached"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders `source` with `values`; a variable it reads that `values` lacks is an error, and so
/// is running into one of the limits. In the worker process when [`isolate_in`] installed one
/// and `source` has template syntax at all (plain text runs no code, and stays fast), unless the
/// compiled template is [`straight_line`]: one that only writes text and the values it looks
/// up cannot need more memory than its output and its values, so it renders here, without the
/// round trip to the worker (`validate` renders every prompt of a registry).
pub fn render(
    source: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, TemplateError> {
    let Some(isolation) = isolation::installed().filter(|_| has_syntax(source)) else {
        return render_here(source, values);
    };
    let env = environment();
    match env.template_from_str(source) {
        Ok(template) if straight_line(&template) => render_compiled(&template, values),
        // A template that does not compile fails the same way in the worker.
        Err(e) => Err(error(e, false)),
        Ok(_) => isolation.render(source, values),
    }
}

/// Whether the compiled `template` only writes text and values it looks up (attributes and
/// items of them included), with at most forward jumps (`if`/`else`): no loop, call, filter,
/// test, `set`, macro, block or operator. Each instruction then runs at most once and none
/// builds a value, so a render holds no more than its values and its (bounded) output.
fn straight_line(template: &minijinja::Template<'_, '_>) -> bool {
    use minijinja::machinery::{get_compiled_template, Instruction};
    let compiled = get_compiled_template(template);
    if !compiled.blocks.is_empty() {
        return false;
    }
    let instructions = &compiled.instructions;
    (0..instructions.len() as u32).all(|idx| match instructions.get(idx) {
        Some(
            Instruction::EmitRaw(_)
            | Instruction::Emit
            | Instruction::Lookup(_)
            | Instruction::GetAttr(_)
            | Instruction::GetItem
            | Instruction::LoadConst(_),
        ) => true,
        Some(Instruction::Jump(target) | Instruction::JumpIfFalse(target)) => *target > idx,
        _ => false,
    })
}

/// Whether `source` has any MiniJinja delimiter (`{{`, `{%`, `{#`); without one it is text.
fn has_syntax(source: &str) -> bool {
    let bytes = source.as_bytes();
    memchr::memchr_iter(b'{', bytes).any(|at| matches!(bytes.get(at + 1), Some(b'{' | b'%' | b'#')))
}

/// [`render`] in this process: fuel, output and depth are bounded, memory is not.
fn render_here(
    source: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, TemplateError> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| error(e, false))?;
    render_compiled(&template, values)
}

/// Renders a compiled template with the output bound.
fn render_compiled(
    template: &minijinja::Template<'_, '_>,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, TemplateError> {
    let mut out = Bounded {
        text: Vec::new(),
        full: false,
    };
    let rendered = template.render_captured_to(values, &mut out);
    if let Err(e) = rendered {
        return Err(error(e, out.full));
    }
    // MiniJinja writes whole `str`s, so the bytes are UTF-8; lossy only to avoid a panic path.
    Ok(String::from_utf8(out.text)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_and_lookups_are_straight_line() {
        let env = environment();
        let straight = |source: &str| straight_line(&env.template_from_str(source).unwrap());
        for source in [
            "Hello {{ name }}, about {{ user.id }} and {{ a['b'] }}",
            "{% if vip %}Dear {{ name }}{% else %}Hi{% endif %}",
            "{# a comment #}plain",
        ] {
            assert!(straight(source), "{source}");
        }
        for source in [
            "{% for i in range(3) %}{{ i }}{% endfor %}",
            "{% set x = 'a' ~ 'b' %}{{ x }}",
            "{{ name | upper }}",
            "{{ name * 1000 }}",
            "{{ name ~ name }}",
            "{% macro m() %}x{% endmacro %}{{ m() }}",
            "{{ range(3) }}",
            "{% if name is defined %}x{% endif %}",
            "{% block b %}x{% endblock %}",
        ] {
            assert!(!straight(source), "{source}");
        }
    }

    #[test]
    fn finds_the_variables_read() {
        let vars =
            variables("Hello {{ name }}, {% for x in items %}{{ x }}{% endfor %} {{ user.id }}")
                .unwrap();
        assert_eq!(
            vars.into_iter().collect::<Vec<_>>(),
            ["items", "name", "user"]
        );
        assert!(variables("{% set a = 1 %}{{ a }}").unwrap().is_empty());
        let globals = "{% for i in range(3) %}{{ i }}{% endfor %}{% set ns = namespace(a=1) %}{{ dict(a=1) }}";
        assert!(variables(globals).unwrap().is_empty());
    }

    fn unknown(source: &str) -> Vec<(UnknownKind, String, &str)> {
        unknowns(source)
            .unwrap()
            .into_iter()
            .map(|u| (u.kind, u.name.clone(), &source[u.offset..]))
            .collect()
    }

    #[test]
    fn finds_what_the_renderer_lacks() {
        use UnknownKind::*;
        // Everything here exists: built-in filters, tests, functions, macros, `set`, loops.
        let fine = "{{ a | upper | default('x') | trim }}{% filter lower %}X{% endfilter %}\
            {% if a is defined and a is not none and 3 is divisibleby(3) %}{% endif %}\
            {% for i in range(3) %}{{ loop.index }}{% endfor %}{{ dict(a=1) }}{{ namespace() }}\
            {% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) }}{% set f = m %}{{ f(2) }}\
            {% call m(1) %}c{% endcall %}{{ a.items() }}";
        assert_eq!(unknown(fine), []);
        let source = "{{ v | nosuchfilter }}\n{% if x is nosuchtest %}{% endif %}{{ nosuchfn() }}\
            {% filter nofilter %}x{% endfilter %}{{ v | upper | nosuchfilter }}";
        let found = unknown(source);
        assert_eq!(
            found
                .iter()
                .map(|(k, n, _)| (*k, n.as_str()))
                .collect::<Vec<_>>(),
            [
                (Filter, "nosuchfilter"),
                (Test, "nosuchtest"),
                (Function, "nosuchfn"),
                (Filter, "nofilter"),
                (Filter, "nosuchfilter"),
            ]
        );
        // Each points at the name itself.
        for (_, name, at) in &found {
            assert!(at.starts_with(name.as_str()), "{name} at {at:?}");
        }
        for (source, tag) in [
            ("x {% include \"footer.md\" %}", "include"),
            ("{% include 'a' ignore missing %}", "include"),
            ("{% import 'm.j2' as m %}{{ m.x() }}", "import"),
            ("{% from 'm.j2' import x %}", "from"),
            (
                "{% extends 'base' %}{% block b %}{{ v | nosuch }}{% endblock %}",
                "extends",
            ),
        ] {
            let found = unknown(source);
            assert_eq!((found[0].0, found[0].1.as_str()), (Load, tag), "{source}");
            assert!(found[0].2.starts_with(tag), "{source}: {:?}", found[0].2);
        }
        // Inside a block, too.
        let found = unknown("{% extends 'base' %}{% block b %}{{ v | nosuch }}{% endblock %}");
        assert_eq!(found[1].1, "nosuch");
        assert!(unknowns("{{ broken").is_err());
        // Checked against this renderer, not Jinja2's list: MiniJinja has `tojson` only with its
        // `json` feature, which promptreg does not enable.
        assert_eq!(unknown("{{ a | tojson }}")[0].1, "tojson");
    }

    #[test]
    fn method_calls_are_unknown_but_the_loop_s() {
        use UnknownKind::Method;
        let found = unknown("{{ steps.split(\",\") }} and {{ d.items() }}{{ s.upper() }}");
        assert_eq!(
            found
                .iter()
                .map(|(k, n, _)| (*k, n.as_str()))
                .collect::<Vec<_>>(),
            [(Method, "split"), (Method, "items"), (Method, "upper")]
        );
        for (_, name, at) in &found {
            assert!(at.starts_with(name.as_str()), "{name} at {at:?}");
        }
        // The engine agrees: such a render can only fail.
        let env = environment();
        for source in ["{{ s.split(',') }}", "{{ d.items() }}", "{{ l.append(1) }}"] {
            let context = serde_json::json!({"s": "a,b", "d": {"k": 1}, "l": [1]});
            let e = env.render_str(source, context).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnknownMethod, "{source}");
        }
        let cycling = "{% for x in xs %}{{ loop.cycle('odd', 'even') }}{% if loop.changed(x) %}!{% endif %}{% endfor %}";
        assert_eq!(unknown(cycling), []);
        // A template with macros or blocks can call them as methods: left to the render.
        let stored = "{% macro m() %}hi{% endmacro %}{% set d = {'m': m} %}{{ d.m() }}";
        assert_eq!(unknown(stored), []);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = variables("line one\n{{ broken ").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("syntax"), "{}", err.message);
        assert_eq!(err.limit, None);
    }

    #[test]
    fn strict_rendering() {
        let mut values = serde_json::Map::new();
        values.insert("name".into(), "Ada".into());
        assert_eq!(render("Hi {{ name }}", &values).unwrap(), "Hi Ada");
        let err = render("Hi {{ nobody }}", &values).unwrap_err();
        assert!(err.message.contains("undefined"), "{}", err.message);
        assert_eq!(err.limit, None);
    }

    #[test]
    fn plain_text_has_no_syntax() {
        for plain in [
            "",
            "Hello",
            "a { b } {x}",
            "JSON: {\"a\": 1}",
            "ends with {",
        ] {
            assert!(!has_syntax(plain), "{plain}");
        }
        for code in ["{{ a }}", "x {% if a %}", "{# note #}", "{ {{x}}"] {
            assert!(has_syntax(code), "{code}");
        }
    }

    fn limit_of(source: &str) -> Option<Limit> {
        render(source, &serde_json::Map::new()).unwrap_err().limit
    }

    #[test]
    fn limits() {
        let nested =
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
        let started = std::time::Instant::now();
        assert_eq!(limit_of(nested), Some(Limit::Steps));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Fans out: 2^25 calls, each shallow.
        let fan = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(25) }}";
        assert_eq!(limit_of(fan), Some(Limit::Steps));
        let endless = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}";
        assert_eq!(limit_of(endless), Some(Limit::Depth));
        // Few steps, much output: 100 × 1 MB.
        let wide = "{% for i in range(100) %}{{ 'x' * 1000000 }}{% endfor %}";
        assert_eq!(limit_of(wide), Some(Limit::Output));
        // Just under the output limit is fine.
        let fits = format!("{{{{ 'x' * {MAX_OUTPUT_BYTES} }}}}");
        assert_eq!(
            render(&fits, &serde_json::Map::new()).unwrap().len(),
            MAX_OUTPUT_BYTES
        );
    }

    #[test]
    fn a_realistic_prompt_is_far_from_the_limits() {
        let source = "You help {{ customer }}.\n{% for item in items %}- {{ loop.index }}. {{ item.name | title }}: {{ item.note | default('none') }}\n{% endfor %}{% if vip %}Be generous.{% endif %}";
        let items: Vec<serde_json::Value> = (0..1000)
            .map(|i| serde_json::json!({"name": format!("item {i}"), "note": "n"}))
            .collect();
        let mut values = serde_json::Map::new();
        values.insert("customer".into(), "Ada".into());
        values.insert("items".into(), items.into());
        values.insert("vip".into(), true.into());
        assert!(render(source, &values).is_ok());
    }

    /// The server renders on tokio's blocking threads (2 MiB stacks): the depth limit must stop
    /// a self-calling macro before the stack runs out there.
    #[test]
    fn the_depth_limit_fits_a_small_stack() {
        let endless =
            "{% macro f(a, b, c) %}{{ f(a ~ 'x', b, c) | upper }}{% endmacro %}{{ f('a', 1, 2) }}";
        let limit = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || limit_of(endless))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(limit, Some(Limit::Depth));
    }
}
