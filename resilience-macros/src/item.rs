//! The decorated function: its shape, as the expansion needs it.
//!
//! Everything the caller can see is kept as written. The one change is to
//! argument patterns: each argument gets a plain name in the signature (a
//! destructuring pattern or `mut` moves inside, where each attempt binds its
//! own copy), so the wrapper can clone or pass on the argument.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{
    AttrStyle, Attribute, Block, Expr, FnArg, Ident, ItemFn, Pat, PatIdent, PatType, ReturnType,
    Signature, TraitItemFn, Type, Visibility,
};

use crate::args::{as_written, error};

/// How the function takes `self`.
#[derive(Clone, Copy)]
pub(crate) enum Receiver {
    /// `&self`, `self: &Self`
    Shared,
    /// `&mut self`, `self: &mut Self`
    Unique,
    /// `self`, `mut self`, `self: Box<Self>`, ...
    Owned(Span),
}

/// How an argument is passed.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Passing {
    /// By value: each attempt needs its own.
    Owned,
    /// `&T`: copied into each attempt.
    Shared,
    /// `&mut T`: reborrowed for each attempt.
    Unique,
}

/// One argument besides `self`.
pub(crate) struct Input {
    /// Its name in the emitted signature.
    pub(crate) name: Ident,
    /// The pattern the body expects it under (`mut count`, `(a, b)`), or
    /// `None` when the body cannot refer to it (`_`).
    pub(crate) pattern: Option<Pat>,
    pub(crate) passing: Passing,
    pub(crate) ty: Type,
    /// The argument as written, for diagnostics about it.
    pub(crate) span: Span,
}

pub(crate) struct Function {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Block,
    pub(crate) receiver: Option<Receiver>,
    pub(crate) inputs: Vec<Input>,
    /// The declared return type.
    pub(crate) output: Type,
    /// The return type as a `let` can state it: each `impl Trait` (which a
    /// `let` cannot name) left to inference as `_`.
    pub(crate) output_in_body: Type,
}

impl Function {
    /// The `self` token of the signature, to pass the receiver on.
    pub(crate) fn receiver_token(&self) -> TokenStream {
        match self.sig.inputs.first() {
            Some(FnArg::Receiver(receiver)) => {
                quote::ToTokens::to_token_stream(&receiver.self_token)
            }
            _ => quote::quote!(self),
        }
    }

    pub(crate) fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }

    /// Parses the item an attribute is on; `attribute` names it in errors.
    pub(crate) fn parse(item: TokenStream, attribute: &str) -> syn::Result<Self> {
        let ItemFn {
            attrs,
            vis,
            sig,
            block,
        } = match syn::parse2::<ItemFn>(item.clone()) {
            Ok(function) => function,
            Err(_) => return Err(not_a_function(item, attribute)),
        };
        if let Some(constness) = &sig.constness {
            return Err(error(
                constness.span(),
                format!("`#[{attribute}]` cannot be applied to a `const fn`"),
                "a `const fn` cannot wait or keep state; remove `const`",
            ));
        }
        if let Some(variadic) = &sig.variadic {
            return Err(error(
                variadic.span(),
                format!("`#[{attribute}]` cannot be applied to a variadic function"),
                "wrap the variadic function in one with a fixed argument list",
            ));
        }
        reject_async_trait(&sig, &block, attribute)?;
        let output = match &sig.output {
            ReturnType::Type(_, ty) => check_result_shape(ty, attribute, &sig)?,
            ReturnType::Default => {
                return Err(error(
                    sig.ident.span(),
                    format!(
                        "`#[{attribute}]` needs a function returning `Result<T, E>`, and `{}` returns `()`",
                        sig.ident
                    ),
                    "return `Result<T, E>` so that a failure can be told from a success",
                ));
            }
        };
        let output_in_body = infer_impl_trait(output.clone());
        let (outer_attrs, inner_attrs) = attrs
            .into_iter()
            .partition(|a| matches!(a.style, AttrStyle::Outer));
        let mut function = Function {
            outer_attrs,
            inner_attrs,
            vis,
            sig,
            body: *block,
            receiver: None,
            inputs: Vec::new(),
            output,
            output_in_body,
        };
        function.analyse_inputs();
        Ok(function)
    }

    fn analyse_inputs(&mut self) {
        for (index, argument) in self.sig.inputs.iter_mut().enumerate() {
            match argument {
                FnArg::Receiver(receiver) => {
                    // syn spells `&self` as `self: &Self`, so the type alone decides.
                    self.receiver = Some(match peel(&receiver.ty) {
                        Type::Reference(reference) if reference.mutability.is_some() => {
                            Receiver::Unique
                        }
                        Type::Reference(_) => Receiver::Shared,
                        _ => Receiver::Owned(receiver.span()),
                    });
                }
                FnArg::Typed(typed) => self.inputs.push(name_input(typed, index)),
            }
        }
    }
}

/// Gives the argument a plain name in the signature and keeps its pattern
/// for the attempt.
fn name_input(typed: &mut PatType, index: usize) -> Input {
    let span = typed.span();
    let passing = match peel(&typed.ty) {
        Type::Reference(reference) if reference.mutability.is_some() => Passing::Unique,
        Type::Reference(_) => Passing::Shared,
        _ => Passing::Owned,
    };
    let (name, pattern) = match &*typed.pat {
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            ident,
            ..
        }) => (ident.clone(), Some((*typed.pat).clone())),
        Pat::Wild(_) => (
            format_ident!("__resilience_arg{}", index, span = Span::mixed_site()),
            None,
        ),
        pattern => (
            format_ident!("__resilience_arg{}", index, span = Span::mixed_site()),
            Some(pattern.clone()),
        ),
    };
    *typed.pat = Pat::Ident(PatIdent {
        attrs: Vec::new(),
        by_ref: None,
        mutability: None,
        ident: name.clone(),
        subpat: None,
    });
    Input {
        name,
        pattern,
        passing,
        ty: (*typed.ty).clone(),
        span,
    }
}

fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        ty => ty,
    }
}

fn not_a_function(item: TokenStream, attribute: &str) -> syn::Error {
    if let Ok(method) = syn::parse2::<TraitItemFn>(item.clone())
        && method.default.is_none()
    {
        return error(
            method.sig.span(),
            format!(
                "`#[{attribute}]` needs a function body to wrap, and this trait method has none"
            ),
            format!(
                "put `#[{attribute}]` on the method in each `impl` block, or give the trait method a default body"
            ),
        );
    }
    let span = match syn::parse2::<syn::Item>(item) {
        Ok(item) => item.span(),
        Err(_) => Span::call_site(),
    };
    error(
        span,
        format!("`#[{attribute}]` can only be applied to a function"),
        format!("put `#[{attribute}]` on a `fn` or `async fn` that returns `Result<T, E>`"),
    )
}

/// Types users return that are certainly not a `Result`: rejected here with
/// one clear error instead of a type error per layer.
const NOT_RESULTS: &[&str] = &[
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f32", "f64", "String", "Option", "Vec", "Box", "Arc", "Rc", "HashMap",
    "BTreeMap", "HashSet", "BTreeSet", "Cow", "Self",
];

/// Rejects return types that can never be a `Result`. Paths (`Result<..>`,
/// `io::Result<T>`, an alias) are checked by the type system instead, with
/// the runtime's `ResultLike` diagnostic.
fn check_result_shape(ty: &Type, attribute: &str, sig: &Signature) -> syn::Result<Type> {
    match peel(ty) {
        Type::Path(path)
            if !path
                .path
                .segments
                .last()
                .is_some_and(|s| NOT_RESULTS.contains(&&*s.ident.to_string())) =>
        {
            Ok(ty.clone())
        }
        Type::Macro(_) => Ok(ty.clone()),
        Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "Pin") => {
            Err(returns_future(path.span(), None, attribute, sig))
        }
        Type::ImplTrait(opaque) if future_output(opaque).is_some() => Err(returns_future(
            opaque.span(),
            future_output(opaque),
            attribute,
            sig,
        )),
        other => Err(error(
            other.span(),
            format!("`#[{attribute}]` needs a function returning `Result<T, E>`"),
            "return `Result<T, E>` (or an alias of it) so that a failure can be told from a success",
        )),
    }
}

/// `Output` of `impl Future<Output = ..>`, when the type is one.
fn future_output(opaque: &syn::TypeImplTrait) -> Option<&Type> {
    opaque.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// A function that returns a future by hand: the attributes wrap the call,
/// so they need the `async fn` form, whose body they can run per attempt.
fn returns_future(
    span: Span,
    output: Option<&Type>,
    attribute: &str,
    sig: &Signature,
) -> syn::Error {
    let output = output.map_or_else(
        || "Result<T, E>".to_string(),
        |ty| as_written(&quote::ToTokens::to_token_stream(ty)),
    );
    error(
        span,
        format!(
            "`#[{attribute}]` needs a function returning `Result<T, E>`, and this one returns a future of it"
        ),
        format!(
            "write it as `async fn {}(..) -> {output}`; an `async fn` stays `Send` whenever its body is, so a `+ Send` bound is kept without writing it",
            sig.ident
        ),
    )
}

/// `#[async_trait]` has already turned an `async fn` into a plain `fn`
/// returning `Pin<Box<dyn Future>>` around `Box::pin(async move { .. })`.
/// Wrapping that would retry the construction of the future, not the call.
fn reject_async_trait(sig: &Signature, block: &Block, attribute: &str) -> syn::Result<()> {
    let returns_pin = match &sig.output {
        ReturnType::Type(_, ty) => match peel(ty) {
            Type::Path(path) => path.path.segments.last().is_some_and(|s| s.ident == "Pin"),
            _ => false,
        },
        ReturnType::Default => false,
    };
    let boxes_async_block = match block.stmts.last() {
        Some(syn::Stmt::Expr(Expr::Call(call), None)) => {
            call.args.iter().any(|a| matches!(a, Expr::Async(_)))
        }
        _ => false,
    };
    if sig.asyncness.is_none() && returns_pin && boxes_async_block {
        return Err(error(
            sig.ident.span(),
            format!(
                "`#[{attribute}]` cannot wrap a method that `#[async_trait]` has already rewritten"
            ),
            format!(
                "use a native `async fn` in the trait (Rust 1.75+), or move the body into an inherent `async fn` with `#[{attribute}]` and call it from the trait method"
            ),
        ));
    }
    Ok(())
}

/// `ty` as a function body can state it: each `impl Trait` left to inference.
pub(crate) fn infer_impl_trait(mut ty: Type) -> Type {
    struct Infer;
    impl VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(opaque) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](opaque.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    Infer.visit_type_mut(&mut ty);
    ty
}
