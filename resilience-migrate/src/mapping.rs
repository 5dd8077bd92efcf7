//! From a decorated Python function to the Rust attributes `MIGRATING.md`
//! maps it to, and notes for what does not map one to one.
//!
//! Each library's table is its own module; [`handled`] lists every
//! parameter they read, which a test holds against `MIGRATING.md`.

mod pybreaker;
mod stale_cache;
mod stamina;
mod tenacity;
mod values;

use std::path::PathBuf;

use crate::python::expr::{Call, Expr, Kind as ExprKind};
use crate::python::module::{Decorator, Function};
use crate::python::resolve::{Symbol, Tree};
use crate::rust::{Attribute, Kind};
pub(crate) use values::Context;

/// The Python library a decorator comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Library {
    /// `tenacity.retry`
    Tenacity,
    /// `stamina.retry`
    Stamina,
    /// a `pybreaker.CircuitBreaker`
    Pybreaker,
    /// an `aiobreaker.CircuitBreaker` (pybreaker's asyncio fork)
    Aiobreaker,
    /// the "return stale data on error" decorator (`fallback_cache`)
    StaleCache,
    /// `functools.lru_cache` / `functools.cache`
    Functools,
}

impl Library {
    /// Its name, as reported.
    pub fn name(self) -> &'static str {
        match self {
            Library::Tenacity => "tenacity",
            Library::Stamina => "stamina",
            Library::Pybreaker => "pybreaker",
            Library::Aiobreaker => "aiobreaker",
            Library::StaleCache => "stale-cache",
            Library::Functools => "functools",
        }
    }
}

/// How completely a function maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every decorator maps one to one: no notes.
    Mapped,
    /// Attributes printed, and notes to read.
    MappedWithNotes,
    /// Nothing could be printed; the notes say why.
    NotMapped,
    /// Only a memo cache (`lru_cache`): no resilience attribute is needed.
    NoAttributeNeeded,
}

impl Status {
    /// As reported in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Mapped => "mapped",
            Status::MappedWithNotes => "mapped with notes",
            Status::NotMapped => "not mapped",
            Status::NoAttributeNeeded => "no attribute needed",
        }
    }
}

/// One decorated function and what it becomes.
#[derive(Clone, Debug)]
pub struct Migration {
    /// The file it is in.
    pub file: PathBuf,
    /// The line of its `def`.
    pub line: usize,
    /// `name`, or `Class.name` for a method.
    pub function: String,
    /// Its parameters, as named in Python; a method's receiver left out.
    pub params: Vec<String>,
    /// Defined in a class.
    pub is_method: bool,
    /// The libraries of its resilience decorators.
    pub libraries: Vec<Library>,
    /// Those decorators as written, top first.
    pub python: Vec<String>,
    /// The Rust attributes, in the documented order.
    pub rust: Vec<String>,
    /// What does not map one to one.
    pub notes: Vec<String>,
    /// How completely it maps.
    pub status: Status,
}

/// What one Python decorator becomes.
#[derive(Default)]
pub(crate) struct Layer {
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) notes: Vec<String>,
}

impl Layer {
    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// What a decorator is, once its name is resolved.
enum Recognised<'t> {
    /// `@retry` or `@retry(...)` of tenacity, or an object made by `retry(...)`.
    Tenacity(Option<&'t Call>, Context<'t>),
    /// `@stamina.retry(...)`.
    Stamina(Option<&'t Call>),
    /// A `CircuitBreaker` object: its name, its constructor call, where
    /// that is, and which library made it.
    Breaker(String, Option<&'t Call>, Context<'t>, pybreaker::Flavour),
    /// The stale-cache decorator, with the defaults of its definition.
    StaleCache(
        Option<&'t Call>,
        Option<(Context<'t>, &'t crate::python::module::Def)>,
    ),
    /// `lru_cache` / `cache`.
    Memo,
}

/// Maps one decorated function; `None` when none of its decorators is one
/// the tool knows.
pub(crate) fn function(tree: &Tree, module: usize, function: &Function) -> Option<Migration> {
    let cx = Context::at(tree, module);
    let mut found: Vec<(&Decorator, Library, Layer)> = Vec::new();
    for decorator in &function.decorators {
        if let Some((library, layer)) = decorator_layer(cx, decorator, function) {
            found.push((decorator, library, layer));
        }
    }
    if found.is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    let mut attributes: Vec<Attribute> = Vec::new();
    // Notes name their decorator only where there are several.
    let several = found.len() > 1;
    for (decorator, _, layer) in &found {
        for note in &layer.notes {
            if several {
                notes.push(format!("{}: {note}", short(&decorator.expr.text)));
            } else {
                notes.push(note.clone());
            }
        }
        for attribute in &layer.attributes {
            if attributes.iter().any(|a| a.kind == attribute.kind) {
                notes.push(format!(
                    "{}: a second `#[{}]` on one function is not printed; merge the two",
                    short(&decorator.expr.text),
                    attribute.kind.name()
                ));
            } else {
                attributes.push(attribute.clone());
            }
        }
    }
    notes.extend(order_note(&found));
    attributes.sort_by_key(|a| a.kind);
    let mut libraries: Vec<Library> = found.iter().map(|(_, library, _)| *library).collect();
    libraries.dedup();
    let status = if found.iter().all(|(_, l, _)| *l == Library::Functools) {
        Status::NoAttributeNeeded
    } else if attributes.is_empty() {
        Status::NotMapped
    } else if notes.is_empty() {
        Status::Mapped
    } else {
        Status::MappedWithNotes
    };
    Some(Migration {
        file: tree.modules[module].path.clone(),
        line: function.line,
        function: function.name.clone(),
        params: function.params.clone(),
        is_method: function.is_method,
        libraries,
        python: found
            .iter()
            .map(|(d, _, _)| format!("@{}", d.expr.text))
            .collect(),
        rust: attributes.iter().map(ToString::to_string).collect(),
        notes,
        status,
    })
}

/// A decorator as named in a note: cut when long.
fn short(text: &str) -> String {
    let head: String = text.chars().take(60).collect();
    let callee = text.split('(').next().unwrap_or(text);
    if head.len() < text.len() {
        format!("`@{callee}(...)`")
    } else {
        format!("`@{text}`")
    }
}

fn decorator_layer(
    cx: Context<'_>,
    decorator: &Decorator,
    function: &Function,
) -> Option<(Library, Layer)> {
    let (recognised, built) = recognise(cx, &decorator.expr, function)?;
    let (library, mut layer) = match recognised {
        Recognised::Tenacity(call, at) => (
            Library::Tenacity,
            tenacity::layer(at, call, function.is_method),
        ),
        Recognised::Stamina(call) => (Library::Stamina, stamina::layer(cx, call)),
        Recognised::Breaker(name, call, at, flavour) => {
            let mut layer = pybreaker::layer(at, &name, call, flavour);
            if decorator.expr.as_call().is_some() {
                layer.note("arguments passed to the breaker object itself are not read");
            }
            let library = match flavour {
                pybreaker::Flavour::Pybreaker => Library::Pybreaker,
                pybreaker::Flavour::Aiobreaker => Library::Aiobreaker,
            };
            (library, layer)
        }
        Recognised::StaleCache(call, def) => (
            Library::StaleCache,
            stale_cache::layer(cx, call, def, function),
        ),
        Recognised::Memo => {
            let mut layer = Layer::default();
            layer.note(
                "a plain memo cache: no resilience attribute is needed (keep a memo, for example with the `cached` crate, if the function is pure)",
            );
            (Library::Functools, layer)
        }
    };
    if let Some(built) = built {
        layer.notes.insert(0, built);
    }
    Some((library, layer))
}

fn recognise<'t>(
    cx: Context<'t>,
    expr: &'t Expr,
    function: &'t Function,
) -> Option<(Recognised<'t>, Option<String>)> {
    let call = expr.as_call();
    let callee = expr.callee();
    // A decorator made in the enclosing function:
    // `retry_decorator = make_retry(llm)` then `@retry_decorator`.
    if let ExprKind::Name(name) = &callee.kind
        && let Some(value) = function.locals.get(name)
    {
        let made = value.as_call().filter(|_| call.is_none())?;
        let at = Context {
            locals: Some(&function.locals),
            ..cx
        };
        return made_by(at, name, made, 0);
    }
    if let Some((package, name)) = cx.external(callee) {
        let recognised = match (package.as_str(), name.as_str()) {
            ("tenacity", "retry") => Recognised::Tenacity(call, cx),
            ("stamina", "retry") => Recognised::Stamina(call),
            ("functools", "lru_cache" | "cache") => Recognised::Memo,
            // `@pybreaker.CircuitBreaker(...)`: a breaker of its own.
            (package, "CircuitBreaker") if let Some(flavour) = pybreaker::Flavour::of(package) => {
                Recognised::Breaker(String::new(), call, cx, flavour)
            }
            (_, "fallback_cache") => Recognised::StaleCache(call, None),
            _ => return None,
        };
        return Some((recognised, None));
    }
    match cx.tree.resolve(cx.module, callee) {
        // A decorator object made elsewhere: `db = CircuitBreaker(...)`,
        // `patient = retry(stop=...)`, `patient = make_retry()`.
        Symbol::Value(module, name, value) => {
            let made = value.as_call()?;
            let at = Context::at(cx.tree, module);
            if call.is_some()
                && !at.is(&made.function, "pybreaker", "CircuitBreaker")
                && !at.is(&made.function, "aiobreaker", "CircuitBreaker")
            {
                return None;
            }
            made_by(at, name, made, 0)
        }
        Symbol::Def(module, name, def) if stale_cache::is_definition(name, def) => {
            let at = Context::at(cx.tree, module);
            Some((Recognised::StaleCache(call, Some((at, def))), None))
        }
        // `@make_retry(...)`: a factory of the tree that returns `retry(...)`.
        Symbol::Def(..) if call.is_some() => made_by(cx, "", call?, 0),
        _ if matches!(&callee.kind, ExprKind::Name(n) if n == "fallback_cache") => {
            Some((Recognised::StaleCache(call, None), None))
        }
        _ => None,
    }
}

/// How deep a chain of factories (`make_retry` calling `base_retry`) is followed.
const MAX_FACTORIES: usize = 4;

/// The decorator `made` (a call) builds, named `name` where it is bound: a
/// call to `retry`, `stamina.retry` or `CircuitBreaker`, or to a function of
/// the tree that returns one (then noted: it is built at run time).
fn made_by<'t>(
    at: Context<'t>,
    name: &'t str,
    made: &'t Call,
    depth: usize,
) -> Option<(Recognised<'t>, Option<String>)> {
    if let Some((package, function)) = at.external(&made.function) {
        let recognised = match (package.as_str(), function.as_str()) {
            (package, "CircuitBreaker") if let Some(flavour) = pybreaker::Flavour::of(package) => {
                Recognised::Breaker(name.to_owned(), Some(made), at, flavour)
            }
            ("tenacity", "retry") => Recognised::Tenacity(Some(made), at),
            ("stamina", "retry") => Recognised::Stamina(Some(made)),
            _ => return None,
        };
        return Some((recognised, None));
    }
    if depth >= MAX_FACTORIES {
        return None;
    }
    let Symbol::Def(module, factory, def) = at.tree.resolve(at.module, &made.function) else {
        return None;
    };
    let inside = Context {
        tree: at.tree,
        module,
        locals: Some(&def.locals),
    };
    def.returns.iter().find_map(|value| {
        let returned = inside.deref(value).as_call()?;
        let (recognised, _) = made_by(inside, name, returned, depth + 1)?;
        let note = format!(
            "built at run time by `{factory}(...)`: the keys are read from what it returns, and what depends on its arguments is flagged"
        );
        Some((recognised, Some(note)))
    })
}

/// A note when Python stacks the decorators in another order than the
/// documented Rust one (`#[fallback] #[stale_cache] #[breaker] #[retry]`).
fn order_note(found: &[(&Decorator, Library, Layer)]) -> Option<String> {
    let ranked: Vec<(Kind, &str)> = found
        .iter()
        .filter_map(|(d, _, layer)| {
            let kind = layer.attributes.iter().map(|a| a.kind).max()?;
            Some((kind, d.expr.text.split('(').next().unwrap_or_default()))
        })
        .collect();
    let (outer, inner) = ranked
        .windows(2)
        .find(|pair| pair[0].0 > pair[1].0)
        .map(|pair| (pair[0], pair[1]))?;
    let why = match (outer.0, inner.0) {
        (Kind::Retry, Kind::Breaker) => {
            "each attempt was one breaker call in Python; with `#[breaker]` outside `#[retry]`, one call and all its retries are one breaker outcome, and an open breaker is never retried"
        }
        (Kind::Retry, Kind::StaleCache) => {
            "Python retried around the cache; `#[stale_cache]` outside `#[retry]` retries only the refresh, and a fresh or stale answer is never retried"
        }
        _ => {
            "the Rust attributes are printed in the documented order; check that it is what you want"
        }
    };
    Some(format!(
        "Python stacks `@{}` outside `@{}`: {why}",
        outer.1, inner.1
    ))
}

/// Every parameter the tool reads, by library: the names a test finds in
/// `MIGRATING.md`'s tables must all be here.
pub fn handled(library: Library) -> Vec<&'static str> {
    match library {
        Library::Tenacity => tenacity::handled(),
        Library::Stamina => stamina::HANDLED.to_vec(),
        Library::Pybreaker | Library::Aiobreaker => pybreaker::handled(),
        Library::StaleCache => stale_cache::HANDLED.to_vec(),
        Library::Functools => vec!["lru_cache", "cache"],
    }
}

/// A note for an argument the tool cannot evaluate.
pub(crate) fn dynamic(written: &str, key: &str) -> String {
    format!("`{written}` is computed at run time: write `{key} = ...` with its value")
}

/// Binds a call's arguments to a signature: (name → value), and the names
/// of keyword arguments the signature does not have.
pub(crate) fn bind<'c>(
    call: &'c Call,
    signature: &[&'static str],
) -> (Vec<(&'static str, &'c Expr)>, Vec<&'c str>) {
    let mut bound = Vec::new();
    let mut unknown = Vec::new();
    for (position, value) in call.args.iter().enumerate() {
        if let Some(name) = signature.get(position) {
            bound.push((*name, value));
        }
    }
    for (key, value) in &call.kwargs {
        match signature.iter().find(|s| **s == key) {
            Some(name) => bound.push((*name, value)),
            None => unknown.push(key.as_str()),
        }
    }
    (bound, unknown)
}

/// The value bound to `name`, if any.
pub(crate) fn get<'c>(bound: &[(&'static str, &'c Expr)], name: &str) -> Option<&'c Expr> {
    bound.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}
