//! The few shapes of Python expression a decorator's arguments take, read
//! from tree-sitter nodes; anything else is kept as written.

use tree_sitter::Node;

/// An expression, with its source text (comments removed, white space folded).
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it is.
    pub kind: Kind,
    /// The expression as written, on one line.
    pub text: String,
}

/// The shapes the mapping looks at.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `name`
    Name(String),
    /// `object.attribute`
    Attribute(Box<Expr>, String),
    /// `function(args, key=value)`
    Call(Call),
    /// An integer or float literal.
    Number(f64),
    /// A string literal without interpolation.
    Str(String),
    /// `True` / `False`
    Bool(bool),
    /// `None`
    None,
    /// `left op right`, with the operator as written (`|`, `+`, `*`...).
    Binary(Box<Expr>, String, Box<Expr>),
    /// `-value`
    Negative(Box<Expr>),
    /// A tuple, list or set display.
    Sequence(Vec<Expr>),
    /// `lambda params: body`
    Lambda(Vec<String>, Box<Expr>),
    /// Anything else (a subscript, a comprehension, an f-string...).
    Other,
}

/// A call's arguments.
#[derive(Clone, Debug)]
pub struct Call {
    /// What is called.
    pub function: Box<Expr>,
    /// Positional arguments.
    pub args: Vec<Expr>,
    /// Keyword arguments, in order.
    pub kwargs: Vec<(String, Expr)>,
    /// `*args` or `**kwargs` was passed: the arguments cannot all be read.
    pub splat: bool,
}

impl Call {
    /// The argument named `name`, or the positional one at `position`.
    pub fn arg(&self, name: &str, position: Option<usize>) -> Option<&Expr> {
        self.kwargs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
            .or_else(|| position.and_then(|p| self.args.get(p)))
    }
}

impl Expr {
    /// `a.b.c` as `["a", "b", "c"]`; `None` for anything but names and attributes.
    pub fn dotted(&self) -> Option<Vec<&str>> {
        match &self.kind {
            Kind::Name(name) => Some(vec![name]),
            Kind::Attribute(object, attribute) => {
                let mut path = object.dotted()?;
                path.push(attribute);
                Some(path)
            }
            _ => None,
        }
    }

    /// The call's arguments, when this is a call.
    pub fn as_call(&self) -> Option<&Call> {
        match &self.kind {
            Kind::Call(call) => Some(call),
            _ => None,
        }
    }

    /// What a decorator names: the function of a call, or the expression itself.
    pub fn callee(&self) -> &Expr {
        match &self.kind {
            Kind::Call(call) => &call.function,
            _ => self,
        }
    }
}

/// Reads an expression node.
pub fn read(node: Node<'_>, source: &str) -> Expr {
    let text = text_of(node, source);
    let kind = kind_of(node, source);
    Expr { kind, text }
}

fn kind_of(node: Node<'_>, source: &str) -> Kind {
    let field = |name: &str| node.child_by_field_name(name);
    match node.kind() {
        "identifier" => Kind::Name(raw(node, source).to_owned()),
        "attribute" => match (field("object"), field("attribute")) {
            (Some(object), Some(attribute)) => Kind::Attribute(
                Box::new(read(object, source)),
                raw(attribute, source).to_owned(),
            ),
            _ => Kind::Other,
        },
        "call" => match (field("function"), field("arguments")) {
            (Some(function), Some(arguments)) if arguments.kind() == "argument_list" => {
                Kind::Call(call(function, arguments, source))
            }
            _ => Kind::Other,
        },
        "integer" => integer(raw(node, source)).map_or(Kind::Other, Kind::Number),
        "float" => raw(node, source)
            .replace('_', "")
            .parse()
            .map_or(Kind::Other, Kind::Number),
        "true" => Kind::Bool(true),
        "false" => Kind::Bool(false),
        "none" => Kind::None,
        "string" => string(node, source).map_or(Kind::Other, Kind::Str),
        "binary_operator" | "boolean_operator" => {
            match (field("left"), field("operator"), field("right")) {
                (Some(left), Some(operator), Some(right)) => Kind::Binary(
                    Box::new(read(left, source)),
                    raw(operator, source).to_owned(),
                    Box::new(read(right, source)),
                ),
                _ => Kind::Other,
            }
        }
        "unary_operator" => match (field("operator"), field("argument")) {
            (Some(operator), Some(argument)) if raw(operator, source) == "-" => {
                Kind::Negative(Box::new(read(argument, source)))
            }
            (Some(operator), Some(argument)) if raw(operator, source) == "+" => {
                kind_of(argument, source)
            }
            _ => Kind::Other,
        },
        "parenthesized_expression" => named_children(node)
            .next()
            .map_or(Kind::Other, |inner| kind_of(inner, source)),
        "tuple" | "list" | "set" | "expression_list" => {
            Kind::Sequence(named_children(node).map(|n| read(n, source)).collect())
        }
        "lambda" => {
            let params = field("parameters")
                .map(|p| {
                    named_children(p)
                        .map(|n| raw(n, source).to_owned())
                        .collect()
                })
                .unwrap_or_default();
            field("body").map_or(Kind::Other, |body| {
                Kind::Lambda(params, Box::new(read(body, source)))
            })
        }
        _ => Kind::Other,
    }
}

fn call(function: Node<'_>, arguments: Node<'_>, source: &str) -> Call {
    let mut call = Call {
        function: Box::new(read(function, source)),
        args: Vec::new(),
        kwargs: Vec::new(),
        splat: false,
    };
    for argument in named_children(arguments) {
        match argument.kind() {
            "keyword_argument" => {
                if let (Some(name), Some(value)) = (
                    argument.child_by_field_name("name"),
                    argument.child_by_field_name("value"),
                ) {
                    call.kwargs
                        .push((raw(name, source).to_owned(), read(value, source)));
                }
            }
            "list_splat" | "dictionary_splat" => call.splat = true,
            _ => call.args.push(read(argument, source)),
        }
    }
    call
}

/// Named children, comments left out.
pub(crate) fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    (0..node.named_child_count())
        .filter_map(move |i| node.named_child(i))
        .filter(|n| n.kind() != "comment")
}

pub(crate) fn raw<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or("")
}

/// The node's text on one line: comments cut, white space folded, no space
/// inside brackets or before a closing one's trailing comma.
pub(crate) fn text_of(node: Node<'_>, source: &str) -> String {
    let text = raw(node, source);
    if !text.contains('#') {
        return fold(text);
    }
    let mut kept = String::new();
    let mut at = node.start_byte();
    collect_comments(node, &mut |comment| {
        kept.push_str(source.get(at..comment.start_byte()).unwrap_or(""));
        at = comment.end_byte();
    });
    kept.push_str(source.get(at..node.end_byte()).unwrap_or(""));
    fold(&kept)
}

fn collect_comments(node: Node<'_>, found: &mut impl FnMut(Node<'_>)) {
    if node.kind() == "comment" {
        found(node);
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_comments(child, found);
    }
}

/// White space folded to single spaces, none just inside brackets, and no
/// trailing comma before a closing bracket: one pass over the text.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        out.push_str(word);
        let Some(next) = words.peek() else { break };
        let opens = word.ends_with(['(', '[']);
        let closes = next.starts_with([')', ']', ',']);
        if closes && !next.starts_with(',') && out.ends_with(',') {
            out.pop();
        }
        if !opens && !closes {
            out.push(' ');
        }
    }
    // `f(a,)` written without spaces keeps its comma; drop it too.
    if out.contains(",)") || out.contains(",]") {
        out = out.replace(",)", ")").replace(",]", "]");
    }
    out
}

fn integer(text: &str) -> Option<f64> {
    let digits = text.replace('_', "").to_ascii_lowercase();
    let parsed = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(octal) = digits.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()
    } else if let Some(binary) = digits.strip_prefix("0b") {
        i64::from_str_radix(binary, 2).ok()
    } else {
        digits.parse().ok()
    };
    parsed.map(|n| n as f64)
}

fn string(node: Node<'_>, source: &str) -> Option<String> {
    let mut content = String::new();
    for child in named_children(node) {
        match child.kind() {
            "string_start" | "string_end" => {}
            "string_content" => content.push_str(raw(child, source)),
            _ => return None,
        }
    }
    Some(content)
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folding_puts_a_call_on_one_line() {
        assert_eq!(
            fold("retry(\n    stop=stop_after_attempt(3),\n    wait=wait_fixed(1),\n)"),
            "retry(stop=stop_after_attempt(3), wait=wait_fixed(1))"
        );
        assert_eq!(fold("f(a,)"), "f(a)");
        assert_eq!(fold("[ A, B ]"), "[A, B]");
        assert_eq!(fold("a  |  b"), "a | b");
        assert_eq!(fold("f(a , b)"), "f(a, b)");
    }
}
