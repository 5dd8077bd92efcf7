//! Reading argument values: numbers (module constants and `timedelta`
//! included), exception classes and predicates.

use std::collections::HashMap;

use crate::python::expr::{Call, Expr, Kind};
use crate::python::resolve::{Symbol, Tree};
use crate::rust;

/// How deep a constant may refer to another before we stop following it.
const MAX_DEPTH: usize = 8;

/// Where an expression is read: the tree and the module it is written in.
#[derive(Clone, Copy)]
pub(crate) struct Context<'t> {
    pub(crate) tree: &'t Tree,
    pub(crate) module: usize,
    /// Names assigned in the enclosing function, read before module names.
    pub(crate) locals: Option<&'t HashMap<String, Expr>>,
}

/// What a `retry=`, `on=` or `exclude=` argument selects.
#[derive(Debug, PartialEq)]
pub(crate) enum Selector {
    /// Exception classes, by their last name.
    Classes(Vec<String>),
    /// A function taking the exception: its Rust path.
    Predicate(String),
}

impl<'t> Context<'t> {
    /// The same place at module level (no locals).
    pub(crate) fn at(tree: &'t Tree, module: usize) -> Self {
        Context {
            tree,
            module,
            locals: None,
        }
    }

    /// The value of a local name (`stop=stop_strategy`), else `expr` itself.
    pub(crate) fn deref<'e>(&self, expr: &'e Expr) -> &'e Expr
    where
        't: 'e,
    {
        let mut current = expr;
        for _ in 0..MAX_DEPTH {
            match (&current.kind, self.locals) {
                (Kind::Name(name), Some(locals)) => match locals.get(name) {
                    Some(value) => current = value,
                    None => break,
                },
                _ => break,
            }
        }
        current
    }

    /// The `(package, name)` of an external function or class, when `expr`
    /// names one (`t.stop_after_attempt` with `import tenacity as t`).
    pub(crate) fn external(&self, expr: &Expr) -> Option<(String, String)> {
        self.tree
            .external(self.module, expr)
            .map(|name| (name.package, name.name))
    }

    /// Whether `expr` names `package.name` (under any alias).
    pub(crate) fn is(&self, expr: &Expr, package: &str, name: &str) -> bool {
        self.external(expr)
            .is_some_and(|(p, n)| p == package && n == name)
    }

    /// The name of a tenacity strategy `expr` calls or names.
    pub(crate) fn tenacity(&self, expr: &Expr) -> Option<String> {
        match self.external(expr.callee()) {
            Some((package, name)) if package == "tenacity" => Some(name),
            _ => None,
        }
    }

    /// The value of a number: a literal, arithmetic on literals, a module
    /// constant, or `timedelta(seconds=..)`. `None` when it is computed at
    /// run time.
    pub(crate) fn number(&self, expr: &Expr) -> Option<f64> {
        self.number_at(expr, 0)
    }

    fn number_at(&self, expr: &Expr, depth: usize) -> Option<f64> {
        if depth > MAX_DEPTH {
            return None;
        }
        match &expr.kind {
            Kind::Number(n) => Some(*n),
            Kind::Negative(inner) => self.number_at(inner, depth + 1).map(|n| -n),
            Kind::Binary(left, op, right) => {
                let (l, r) = (
                    self.number_at(left, depth + 1)?,
                    self.number_at(right, depth + 1)?,
                );
                let value = match op.as_str() {
                    "+" => l + r,
                    "-" => l - r,
                    "*" => l * r,
                    "/" if r != 0.0 => l / r,
                    "**" => l.powf(r),
                    _ => return None,
                };
                value.is_finite().then_some(value)
            }
            Kind::Name(name) if self.locals.is_some_and(|l| l.contains_key(name)) => {
                self.number_at(self.deref(expr), depth + 1)
            }
            Kind::Name(_) | Kind::Attribute(..) => match self.tree.resolve(self.module, expr) {
                Symbol::Value(module, _, value) => {
                    Context::at(self.tree, module).number_at(value, depth + 1)
                }
                _ => None,
            },
            Kind::Call(call) if self.is(&call.function, "datetime", "timedelta") => {
                self.timedelta(call, depth)
            }
            _ => None,
        }
    }

    fn timedelta(&self, call: &Call, depth: usize) -> Option<f64> {
        const UNITS: [(&str, f64); 7] = [
            ("days", 86_400.0),
            ("seconds", 1.0),
            ("microseconds", 1e-6),
            ("milliseconds", 1e-3),
            ("minutes", 60.0),
            ("hours", 3600.0),
            ("weeks", 604_800.0),
        ];
        if call.splat {
            return None;
        }
        let mut total = 0.0;
        for (position, (unit, scale)) in UNITS.iter().enumerate() {
            if let Some(value) = call.arg(unit, Some(position)) {
                total += self.number_at(value, depth + 1)? * scale;
            }
        }
        Some(total)
    }

    /// A `True`/`False` argument.
    pub(crate) fn boolean(&self, expr: &Expr) -> Option<bool> {
        match &expr.kind {
            Kind::Bool(b) => Some(*b),
            Kind::Number(n) => Some(*n != 0.0),
            _ => None,
        }
    }

    /// Exception classes (`A`, `(A, B)`, `[A]`, a module-level tuple of
    /// them, `lambda e: isinstance(e, A)`), or a predicate function's name.
    pub(crate) fn selector(&self, expr: &Expr) -> Option<Selector> {
        self.selector_at(expr, 0)
    }

    fn selector_at(&self, expr: &Expr, depth: usize) -> Option<Selector> {
        if depth > MAX_DEPTH {
            return None;
        }
        match &expr.kind {
            Kind::Sequence(items) => {
                let mut classes = Vec::new();
                for item in items {
                    match self.selector_at(item, depth + 1)? {
                        Selector::Classes(found) => classes.extend(found),
                        Selector::Predicate(_) => return None,
                    }
                }
                Some(Selector::Classes(classes))
            }
            Kind::Lambda(params, body) => isinstance(params, body)
                .and_then(|types| self.selector_at(types, depth + 1))
                .filter(|s| matches!(s, Selector::Classes(_))),
            Kind::Name(name) if self.locals.is_some_and(|l| l.contains_key(name)) => {
                self.selector_at(self.deref(expr), depth + 1)
            }
            Kind::Name(_) | Kind::Attribute(..) => {
                if let Symbol::Value(module, _, value) = self.tree.resolve(self.module, expr)
                    && matches!(value.kind, Kind::Sequence(_))
                {
                    return Context::at(self.tree, module).selector_at(value, depth + 1);
                }
                let path = expr.dotted()?;
                let last = *path.last()?;
                if last.starts_with(|c: char| c.is_uppercase()) {
                    Some(Selector::Classes(vec![last.to_owned()]))
                } else {
                    Some(Selector::Predicate(path.join("::")))
                }
            }
            _ => None,
        }
    }
}

/// `lambda e: isinstance(e, T)` → `T`.
fn isinstance<'e>(params: &[String], body: &'e Expr) -> Option<&'e Expr> {
    let call = body.as_call()?;
    let [first] = params else { return None };
    match (&call.function.kind, call.args.as_slice()) {
        (Kind::Name(f), [subject, types]) if f == "isinstance" && subject.text == *first => {
            Some(types)
        }
        _ => None,
    }
}

/// `is_connection_error_or_timeout` for `[ConnectionError, Timeout]`;
/// `is_retryable` (or `is_not_retryable`) past three classes, where the
/// joined name would be longer than the function it guards.
pub(crate) fn predicate_name(prefix: &str, classes: &[String]) -> String {
    if classes.len() > 3 {
        return format!("{prefix}retryable");
    }
    let parts: Vec<String> = classes.iter().map(|c| rust::snake_case(c)).collect();
    format!("{prefix}{}", parts.join("_or_"))
}

/// `A`, `A and B`, `A, B and C`.
pub(crate) fn listed(classes: &[String]) -> String {
    match classes {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
