//! Describing an error for an event without requiring any trait of it.
//!
//! Generated code calls `(&&&ErrorRef(&error)).describe()`; method
//! resolution picks `Display` when the error has it, else `Debug`, else the
//! type name (autoref specialisation), so `E` needs no bound at all.

use std::fmt;

/// A borrowed error to describe.
pub struct ErrorRef<'a, E: ?Sized>(pub &'a E);

/// The description an event shows in its `error` field.
pub struct ErrorText<'a>(Inner<'a>);

enum Inner<'a> {
    Display(&'a dyn fmt::Display),
    Debug(&'a dyn fmt::Debug),
    Opaque(&'static str),
}

impl fmt::Display for ErrorText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Inner::Display(error) => error.fmt(f),
            Inner::Debug(error) => error.fmt(f),
            Inner::Opaque(type_name) => write!(f, "an error of type `{type_name}`"),
        }
    }
}

/// First choice: the error's `Display`.
pub trait DescribeDisplay<'a> {
    /// The description.
    fn describe(&self) -> ErrorText<'a>;
}

impl<'a, E: fmt::Display> DescribeDisplay<'a> for &&ErrorRef<'a, E> {
    fn describe(&self) -> ErrorText<'a> {
        ErrorText(Inner::Display(self.0))
    }
}

/// Second choice: the error's `Debug`.
pub trait DescribeDebug<'a> {
    /// The description.
    fn describe(&self) -> ErrorText<'a>;
}

impl<'a, E: fmt::Debug> DescribeDebug<'a> for &ErrorRef<'a, E> {
    fn describe(&self) -> ErrorText<'a> {
        ErrorText(Inner::Debug(self.0))
    }
}

/// Last resort: the error's type name.
pub trait DescribeOpaque<'a> {
    /// The description.
    fn describe(&self) -> ErrorText<'a>;
}

impl<'a, E> DescribeOpaque<'a> for ErrorRef<'a, E> {
    fn describe(&self) -> ErrorText<'a> {
        ErrorText(Inner::Opaque(std::any::type_name::<E>()))
    }
}

#[cfg(test)]
// The extra borrows are the mechanism under test, not noise.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct DebugOnly;
    struct Nothing;

    #[test]
    fn prefers_display_then_debug_then_the_type_name() {
        let io = std::io::Error::other("disk on fire");
        assert_eq!((&&&ErrorRef(&io)).describe().to_string(), "disk on fire");
        assert_eq!(
            (&&&ErrorRef(&DebugOnly)).describe().to_string(),
            "DebugOnly"
        );
        let opaque = (&&&ErrorRef(&Nothing)).describe().to_string();
        assert!(opaque.contains("Nothing"), "{opaque}");
    }

    fn describe_generic<E>(error: &E) -> String {
        (&&&ErrorRef(error)).describe().to_string()
    }

    #[test]
    fn an_unbounded_generic_error_still_describes() {
        assert!(describe_generic(&"text").contains("&str"));
    }
}
