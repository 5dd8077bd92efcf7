//! One Python file, as the mapping needs it: what its names are bound to,
//! and its decorated functions.

use std::collections::HashMap;
use std::path::PathBuf;

use tree_sitter::{Node, Parser};

use super::expr::{self, Expr, named_children, raw};

/// What `import` bound a name to.
#[derive(Clone, Debug)]
pub enum Import {
    /// `import a.b` (binds `a` to `a`) or `import a.b as c` (binds `c` to `a.b`).
    Module(String),
    /// `from module import name`, with the number of leading dots.
    From {
        /// The module named, dots removed (may be empty for `from . import x`).
        module: String,
        /// Leading dots of a relative import.
        level: usize,
        /// The name imported from it.
        name: String,
    },
}

/// A module-level `def`: its parameters and their defaults, and what it
/// returns (a decorator factory returns `retry(...)`).
#[derive(Clone, Debug, Default)]
pub struct Def {
    /// Parameter names, `*args`/`**kwargs` included as written.
    pub params: Vec<String>,
    /// Defaults, by parameter name.
    pub defaults: HashMap<String, Expr>,
    /// The values of its `return` statements.
    pub returns: Vec<Expr>,
    /// `name = value` in its body (the last one wins).
    pub locals: HashMap<String, Expr>,
}

/// A decorator, as written.
#[derive(Clone, Debug)]
pub struct Decorator {
    /// The expression after `@`.
    pub expr: Expr,
}

/// A function with at least one decorator.
#[derive(Clone, Debug)]
pub struct Function {
    /// `name`, or `Class.name` for a method (`Outer.Inner.name` when nested).
    pub name: String,
    /// The line of `def`, 1-based.
    pub line: usize,
    /// Defined in a class body.
    pub is_method: bool,
    /// Parameters, the receiver of a method left out.
    pub params: Vec<String>,
    /// Decorators, top first (the outermost in Python).
    pub decorators: Vec<Decorator>,
    /// Names assigned before it in the functions it is nested in
    /// (`retry_decorator = make_retry(llm)`).
    pub locals: HashMap<String, Expr>,
}

/// Where the parser gave up on a part of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
}

/// One parsed file.
#[derive(Debug, Default)]
pub struct Module {
    /// The file, as given or found.
    pub path: PathBuf,
    /// Names bound by `import`.
    pub imports: HashMap<String, Import>,
    /// Modules whose names `from m import *` brings in.
    pub star_imports: Vec<(String, usize)>,
    /// Module-level `name = value` (the last one wins).
    pub assignments: HashMap<String, Expr>,
    /// Module-level functions.
    pub defs: HashMap<String, Def>,
    /// Every decorated function, classes and nested functions included.
    pub functions: Vec<Function>,
    /// The first place the parser could not read, if any.
    pub syntax_error: Option<SyntaxError>,
}

/// Parses `source`. Never fails: the parts of a file with a syntax error
/// that the parser recovers are read, and the error is recorded.
pub fn parse(path: PathBuf, source: &str, parser: &mut Parser) -> Module {
    let mut module = Module {
        path,
        ..Module::default()
    };
    let Some(tree) = parser.parse(source, None) else {
        module.syntax_error = Some(SyntaxError { line: 1, column: 1 });
        return module;
    };
    let root = tree.root_node();
    if root.has_error() {
        module.syntax_error = first_error(root);
    }
    let mut reader = Reader {
        source,
        module: &mut module,
        frames: Vec::new(),
    };
    reader.block(root, &[], Scope::Module);
    module
}

/// A Python parser for the tool's lifetime.
pub fn parser() -> Parser {
    let mut parser = Parser::new();
    // The grammar is compiled in with the tree-sitter version it was built
    // for; a mismatch is a build problem, found by every test.
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled Python grammar matches the tree-sitter runtime");
    parser
}

fn first_error(node: Node<'_>) -> Option<SyntaxError> {
    if node.is_error() || node.is_missing() {
        let at = node.start_position();
        return Some(SyntaxError {
            line: at.row + 1,
            column: at.column + 1,
        });
    }
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .filter(|child| child.has_error())
        .find_map(first_error)
}

#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Module,
    Class,
    Function,
}

struct Reader<'s, 'm> {
    source: &'s str,
    module: &'m mut Module,
    /// The function bodies being read, outermost first.
    frames: Vec<Frame>,
}

/// What a function body assigns and returns.
#[derive(Default)]
struct Frame {
    locals: HashMap<String, Expr>,
    returns: Vec<Expr>,
}

impl Reader<'_, '_> {
    /// The statements of a module, class or function body.
    fn block(&mut self, node: Node<'_>, names: &[String], scope: Scope) {
        let mut cursor = node.walk();
        for statement in node.named_children(&mut cursor) {
            self.statement(statement, names, scope);
        }
    }

    fn statement(&mut self, node: Node<'_>, names: &[String], scope: Scope) {
        match node.kind() {
            "decorated_definition" => {
                let decorators: Vec<Decorator> = named_children(node)
                    .filter(|n| n.kind() == "decorator")
                    .filter_map(|d| named_children(d).next())
                    .map(|e| Decorator {
                        expr: expr::read(e, self.source),
                    })
                    .collect();
                if let Some(definition) = node.child_by_field_name("definition") {
                    self.definition(definition, names, scope, decorators);
                }
            }
            "function_definition" | "class_definition" => {
                self.definition(node, names, scope, Vec::new());
            }
            "import_statement" | "import_from_statement" if scope == Scope::Module => {
                self.import(node);
            }
            "expression_statement" if scope != Scope::Class => {
                for assignment in named_children(node).filter(|n| n.kind() == "assignment") {
                    self.assignment(assignment, scope);
                }
            }
            "return_statement" if scope == Scope::Function => {
                if let (Some(value), Some(frame)) =
                    (named_children(node).next(), self.frames.last_mut())
                {
                    frame.returns.push(expr::read(value, self.source));
                }
            }
            // Definitions inside `if`, `try`, `with`... blocks are still definitions.
            "if_statement" | "try_statement" | "with_statement" | "for_statement"
            | "while_statement" | "else_clause" | "elif_clause" | "except_clause"
            | "finally_clause" | "block" | "ERROR" => {
                self.block(node, names, scope);
            }
            _ => {}
        }
    }

    fn definition(
        &mut self,
        node: Node<'_>,
        names: &[String],
        scope: Scope,
        decorators: Vec<Decorator>,
    ) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let name = raw(name, self.source).to_owned();
        let mut inner = names.to_vec();
        inner.push(name.clone());
        let body = node.child_by_field_name("body");
        if node.kind() == "class_definition" {
            if let Some(body) = body {
                self.block(body, &inner, Scope::Class);
            }
            return;
        }
        let mut def = self.parameters(node);
        if !decorators.is_empty() {
            let is_method = scope == Scope::Class;
            let mut params = def.params.clone();
            let is_static = decorators.iter().any(|d| d.expr.text == "staticmethod");
            if is_method && !is_static && !params.is_empty() {
                params.remove(0);
            }
            self.module.functions.push(Function {
                name: inner.join("."),
                line: node.start_position().row + 1,
                is_method,
                params,
                decorators,
                locals: self
                    .frames
                    .iter()
                    .flat_map(|frame| frame.locals.clone())
                    .collect(),
            });
        }
        self.frames.push(Frame::default());
        if let Some(body) = body {
            self.block(body, &inner, Scope::Function);
        }
        let frame = self.frames.pop().unwrap_or_default();
        if scope == Scope::Module {
            def.locals = frame.locals;
            def.returns = frame.returns;
            self.module.defs.insert(name, def);
        }
    }

    fn parameters(&self, function: Node<'_>) -> Def {
        let mut def = Def::default();
        let Some(parameters) = function.child_by_field_name("parameters") else {
            return def;
        };
        for parameter in named_children(parameters) {
            let name_node = match parameter.kind() {
                "identifier" => Some(parameter),
                "default_parameter" | "typed_default_parameter" => {
                    parameter.child_by_field_name("name")
                }
                "typed_parameter" => named_children(parameter).next(),
                "list_splat_pattern" | "dictionary_splat_pattern" => Some(parameter),
                _ => None,
            };
            let Some(name_node) = name_node else { continue };
            let name = raw(name_node, self.source).to_owned();
            if let Some(value) = parameter.child_by_field_name("value") {
                def.defaults
                    .insert(name.clone(), expr::read(value, self.source));
            }
            def.params.push(name);
        }
        def
    }

    fn import(&mut self, node: Node<'_>) {
        let source = self.source;
        let names = || {
            let mut cursor = node.walk();
            node.children_by_field_name("name", &mut cursor)
                .collect::<Vec<_>>()
        };
        if node.kind() == "import_statement" {
            for name in names() {
                let (dotted, alias) = aliased(name, source);
                let bound =
                    alias.unwrap_or_else(|| dotted.split('.').next().unwrap_or(&dotted).to_owned());
                let target = if name.kind() == "aliased_import" {
                    dotted
                } else {
                    bound.clone()
                };
                self.module.imports.insert(bound, Import::Module(target));
            }
            return;
        }
        let Some(from) = node.child_by_field_name("module_name") else {
            return;
        };
        let (module, level) = if from.kind() == "relative_import" {
            let text = raw(from, source);
            let level = text.chars().take_while(|c| *c == '.').count();
            (text[level..].trim().to_owned(), level)
        } else {
            (raw(from, source).to_owned(), 0)
        };
        if named_children(node).any(|n| n.kind() == "wildcard_import") {
            self.module.star_imports.push((module.clone(), level));
        }
        for name in names() {
            let (imported, alias) = aliased(name, source);
            let bound = alias.unwrap_or_else(|| imported.clone());
            self.module.imports.insert(
                bound,
                Import::From {
                    module: module.clone(),
                    level,
                    name: imported,
                },
            );
        }
    }

    fn assignment(&mut self, node: Node<'_>, scope: Scope) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        // In a function body only what a decorator or its arguments can be
        // built from is kept; strings, dicts and comprehensions are not read.
        const LOCAL_VALUES: &[&str] = &[
            "call",
            "identifier",
            "attribute",
            "integer",
            "float",
            "binary_operator",
            "unary_operator",
            "tuple",
            "list",
            "parenthesized_expression",
            "assignment",
        ];
        if scope == Scope::Function && !LOCAL_VALUES.contains(&right.kind()) {
            return;
        }
        if left.kind() == "identifier" {
            let value = if right.kind() == "assignment" {
                // `a = b = value`: both name the value.
                self.assignment(right, scope);
                right
                    .child_by_field_name("right")
                    .map(|r| expr::read(r, self.source))
            } else {
                Some(expr::read(right, self.source))
            };
            if let Some(value) = value {
                let name = raw(left, self.source).to_owned();
                match (scope, self.frames.last_mut()) {
                    (Scope::Function, Some(frame)) => {
                        frame.locals.insert(name, value);
                    }
                    _ => {
                        self.module.assignments.insert(name, value);
                    }
                }
            }
        }
    }
}

/// `a.b as c` → (`a.b`, `Some(c)`); `a.b` → (`a.b`, `None`).
fn aliased(node: Node<'_>, source: &str) -> (String, Option<String>) {
    if node.kind() == "aliased_import" {
        let name = node
            .child_by_field_name("name")
            .map(|n| raw(n, source).to_owned())
            .unwrap_or_default();
        let alias = node
            .child_by_field_name("alias")
            .map(|n| raw(n, source).to_owned());
        (name, alias)
    } else {
        (raw(node, source).to_owned(), None)
    }
}
