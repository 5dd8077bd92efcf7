//! What a name in a module stands for, following imports across the
//! scanned tree: `from .breakers import db_breaker`, `import tenacity as t`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::expr::Expr;
use super::module::{Def, Import, Module};

/// How many imports a name may go through before we give up (a cycle).
const MAX_HOPS: usize = 16;

/// Packages whose names are always the libraries the mapping knows, even
/// when a module of that name is in the tree (scanning the standard library,
/// a vendored copy, or site-packages).
const LIBRARIES: &[&str] = &[
    "tenacity",
    "stamina",
    "pybreaker",
    "aiobreaker",
    "functools",
];

/// Every scanned module, indexed by path and by dotted name.
pub struct Tree {
    /// The modules, in scan order.
    pub modules: Vec<Module>,
    by_path: HashMap<PathBuf, usize>,
    /// Every dotted suffix of every module's name (`a.b.c`, `b.c`, `c`).
    by_suffix: HashMap<String, usize>,
}

/// What a name resolves to.
#[derive(Clone, Copy, Debug)]
pub enum Symbol<'t> {
    /// A name from a module outside the tree: (`tenacity`, `retry`).
    External(&'t str, &'t str),
    /// An external module (`import tenacity as t` for `t`).
    ExternalModule(&'t str),
    /// A module of the tree.
    Module(usize),
    /// A module-level assignment: (module, name, value).
    Value(usize, &'t str, &'t Expr),
    /// A module-level function: (module, name, definition).
    Def(usize, &'t str, &'t Def),
    /// Not something we can follow.
    Unknown,
}

/// An external name, joined (`tenacity.stop.stop_after_attempt`) and split
/// at its root package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalName {
    /// The top-level package: `tenacity`.
    pub package: String,
    /// The last segment: `stop_after_attempt`.
    pub name: String,
}

impl Tree {
    /// Indexes `modules`.
    pub fn new(modules: Vec<Module>) -> Self {
        let mut by_path = HashMap::new();
        let mut by_suffix = HashMap::new();
        for (index, module) in modules.iter().enumerate() {
            by_path.insert(module.path.clone(), index);
            let dotted = dotted_segments(&module.path);
            for start in 0..dotted.len() {
                by_suffix.entry(dotted[start..].join(".")).or_insert(index);
            }
        }
        Tree {
            modules,
            by_path,
            by_suffix,
        }
    }

    /// Resolves a dotted expression (`t.retry`, `breakers.db`) in `module`.
    pub fn resolve<'t>(&'t self, module: usize, expr: &'t Expr) -> Symbol<'t> {
        let Some(path) = expr.dotted() else {
            return Symbol::Unknown;
        };
        let mut symbol = self.name(module, path[0], 0);
        for attribute in &path[1..] {
            symbol = self.member(symbol, attribute, 0);
        }
        symbol
    }

    /// The external name an expression resolves to, if it does.
    pub fn external(&self, module: usize, expr: &Expr) -> Option<ExternalName> {
        // Names reached through attributes of an external module are built
        // from the path as written: `tenacity.stop.stop_after_attempt`.
        let path = expr.dotted()?;
        let mut symbol = self.name(module, path[0], 0);
        let mut trail: Vec<&str> = Vec::new();
        for attribute in &path[1..] {
            match symbol {
                Symbol::ExternalModule(_) | Symbol::External(..) => trail.push(attribute),
                _ => symbol = self.member(symbol, attribute, 0),
            }
        }
        let (package, name) = match symbol {
            Symbol::External(package, name) => (package, trail.last().copied().unwrap_or(name)),
            Symbol::ExternalModule(package) => (package, *trail.last()?),
            _ => return None,
        };
        Some(ExternalName {
            package: package.split('.').next().unwrap_or(package).to_owned(),
            name: name.to_owned(),
        })
    }

    fn name<'t>(&'t self, module: usize, name: &'t str, hops: usize) -> Symbol<'t> {
        if hops > MAX_HOPS {
            return Symbol::Unknown;
        }
        let Some(m) = self.modules.get(module) else {
            return Symbol::Unknown;
        };
        if let Some((name, def)) = m.defs.get_key_value(name) {
            return Symbol::Def(module, name, def);
        }
        if let Some((name, value)) = m.assignments.get_key_value(name) {
            return Symbol::Value(module, name, value);
        }
        match m.imports.get(name) {
            Some(Import::Module(dotted)) => match self.find(module, dotted, 0) {
                Some(found) => Symbol::Module(found),
                None => Symbol::ExternalModule(dotted),
            },
            Some(Import::From {
                module: from,
                level,
                name: imported,
            }) => self.imported(module, from, *level, imported, hops),
            None => m
                .star_imports
                .iter()
                .map(|(from, level)| self.imported(module, from, *level, name, hops))
                .find(|symbol| !matches!(symbol, Symbol::Unknown))
                .unwrap_or(Symbol::Unknown),
        }
    }

    fn imported<'t>(
        &'t self,
        module: usize,
        from: &'t str,
        level: usize,
        name: &'t str,
        hops: usize,
    ) -> Symbol<'t> {
        let submodule = || {
            let dotted = if from.is_empty() {
                name.to_owned()
            } else {
                format!("{from}.{name}")
            };
            self.find(module, &dotted, level).map(Symbol::Module)
        };
        match self.find(module, from, level) {
            Some(found) => match self.name(found, name, hops + 1) {
                // `from pkg import submodule`
                Symbol::Unknown => submodule().unwrap_or(Symbol::Unknown),
                symbol => symbol,
            },
            // A namespace package (no `__init__.py`) holding the submodule.
            None => submodule().unwrap_or(if level == 0 {
                Symbol::External(from, name)
            } else {
                Symbol::Unknown
            }),
        }
    }

    fn member<'t>(&'t self, symbol: Symbol<'t>, attribute: &'t str, hops: usize) -> Symbol<'t> {
        match symbol {
            Symbol::Module(module) => match self.name(module, attribute, hops + 1) {
                Symbol::Unknown => self
                    .find(module, attribute, 1)
                    .map_or(Symbol::Unknown, Symbol::Module),
                found => found,
            },
            Symbol::ExternalModule(package) => Symbol::External(package, attribute),
            _ => Symbol::Unknown,
        }
    }

    /// The tree module `dotted` names from `module`: relative to its package
    /// when `level > 0`, else by its dotted suffix.
    fn find(&self, module: usize, dotted: &str, level: usize) -> Option<usize> {
        if level == 0 {
            let root = dotted.split('.').next().unwrap_or(dotted);
            if LIBRARIES.contains(&root) {
                return None;
            }
            return self.by_suffix.get(dotted).copied();
        }
        let mut dir = self.modules.get(module)?.path.parent()?.to_path_buf();
        for _ in 1..level {
            dir = dir.parent()?.to_path_buf();
        }
        let package = self.by_path.get(&dir.join("__init__.py")).copied();
        if dotted.is_empty() {
            return package;
        }
        for segment in dotted.split('.') {
            dir.push(segment);
        }
        self.by_path
            .get(&dir.with_extension("py"))
            .or_else(|| self.by_path.get(&dir.join("__init__.py")))
            .copied()
    }
}

/// `src/app/db/__init__.py` → `["src", "app", "db"]`.
fn dotted_segments(path: &Path) -> Vec<String> {
    let mut segments: Vec<String> = path
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => part.to_str().map(str::to_owned),
            _ => None,
        })
        .collect();
    if segments.last().is_some_and(|last| last == "__init__") {
        segments.pop();
    }
    segments
}
