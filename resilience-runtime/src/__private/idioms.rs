//! The long idioms generated code repeats, as macros, so that the macro
//! crate expands to one short call (as `tracing` expands to
//! `::tracing::span!`) and their shape is fixed here, in one place.

/// `describe_error!(&error)`: the error's `Display`, else its `Debug`, else
/// its type name, by autoref specialisation, so that `E` needs no bound.
#[doc(hidden)]
#[macro_export]
macro_rules! __resilience_describe_error {
    ($error:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{DescribeDebug as _, DescribeDisplay as _, DescribeOpaque as _};
        (&&&$crate::__private::ErrorRef($error)).describe()
    }};
}

/// `load_errors!(E)`: how a cache load's error `E` reaches the callers
/// waiting on it — a clone each when `E: Clone + Send + Sync + 'static`,
/// else only its description — chosen by autoref, so that `E` needs no
/// bound.
#[doc(hidden)]
#[macro_export]
macro_rules! __resilience_load_errors {
    ($error:ty) => {{
        #[allow(unused_imports)]
        use $crate::__private::{DescribeErrors as _, ShareClonedErrors as _};
        (&&$crate::__private::ErrorsOf::<$error>::new()).errors(|error, formatter| {
            ::core::fmt::Display::fmt(&$crate::__private::describe_error!(error), formatter)
        })
    }};
}

/// `return_type!(T);`: states the declared return type inside an attempt,
/// so that `?` and `Ok(..)` in the body infer exactly as they did in the
/// function. It never runs; the lints it allows are those an unreachable
/// `return` of a diverging value trips.
#[doc(hidden)]
#[macro_export]
macro_rules! __resilience_return_type {
    ($output:ty) => {
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let unreachable: $output = loop {};
            return unreachable;
        }
    };
}

pub use __resilience_describe_error as describe_error;
pub use __resilience_load_errors as load_errors;
pub use __resilience_return_type as return_type;
