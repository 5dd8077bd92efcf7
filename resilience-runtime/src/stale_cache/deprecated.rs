//! The methods of the first release, one per combination of sync or async,
//! load or revalidate, local, process fleet or given fleet: kept for one
//! release as `#[deprecated]` forwarders to the [request API](super::request),
//! which says each combination with one builder.

use std::fmt;
use std::future::Future;
use std::hash::Hash;

#[cfg(feature = "redis")]
use serde::{Serialize, de::DeserializeOwned};

use super::cache::StaleCache;
#[cfg(feature = "redis")]
use crate::fleet::Fleet;

/// Writes forwarders: the signature of each kind (`load`, `revalidate`,
/// each async or `blocking`), with a `&Fleet` before the key if a step
/// names one; one body, the request with `describe`, the steps given, then
/// the load; and a doc that names that call and runs an example of it.
macro_rules! forwarders {
    ($($kind:ident $name:ident $(.$step:tt($($fleet:ident)?))*;)*) => {
        $(forwarders!(@$kind $name [$(.$step($($fleet)?))*] [$($($fleet)?)*]);)*
    };
    (@load $name:ident [$($steps:tt)*] [$($fleet:ident)?]) => {
        #[doc = forwarders!(@doc async [$($fleet)?] [.describe(describe)$($steps)*.load(load).await])]
        #[deprecated = forwarders!(@note [.describe(describe)$($steps)*.load(load).await])]
        pub async fn $name<E, F, D>(&self, $($fleet: &Fleet,)? key: K, function: &'static str, load: F, describe: D) -> Result<V, E>
        where
            F: Future<Output = Result<V, E>>,
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
        {
            self.request(key, function).describe(describe)$($steps)*.load(load).await
        }
    };
    (@revalidate $name:ident [$($steps:tt)*] []) => {
        #[doc = forwarders!(@doc async [] [.describe(describe).revalidate()$($steps)*.load(load).await])]
        #[deprecated = forwarders!(@note [.describe(describe).revalidate()$($steps)*.load(load).await])]
        pub async fn $name<E, F, D>(&self, key: K, function: &'static str, load: F, describe: D) -> Result<V, E>
        where
            E: 'static,
            F: Future<Output = Result<V, E>> + Send + 'static,
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
        {
            self.request(key, function).describe(describe).revalidate()$($steps)*.load(load).await
        }
    };
    (@blocking $name:ident [$($steps:tt)*] [$($fleet:ident)?]) => {
        #[doc = forwarders!(@doc blocking [$($fleet)?] [.describe(describe)$($steps)*.load_blocking(load)])]
        #[deprecated = forwarders!(@note [.describe(describe)$($steps)*.load_blocking(load)])]
        pub fn $name<E, D>(&self, $($fleet: &Fleet,)? key: K, function: &'static str, load: impl FnOnce() -> Result<V, E>, describe: D) -> Result<V, E>
        where
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
        {
            self.request(key, function).describe(describe)$($steps)*.load_blocking(load)
        }
    };
    (@revalidate_blocking $name:ident [$($steps:tt)*] []) => {
        #[doc = forwarders!(@doc blocking [] [.describe(describe).revalidate()$($steps)*.load_blocking(load)])]
        #[deprecated = forwarders!(@note [.describe(describe).revalidate()$($steps)*.load_blocking(load)])]
        pub fn $name<E, L, D>(&self, key: K, function: &'static str, load: L, describe: D) -> Result<V, E>
        where
            E: 'static,
            L: FnOnce() -> Result<V, E> + Send + 'static,
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
        {
            self.request(key, function).describe(describe).revalidate()$($steps)*.load_blocking(load)
        }
    };
    (@note [$($call:tt)*]) => {
        concat!("use `cache.request(key, function)", stringify!($($call)*), "`")
    };
    (@doc $mode:ident [$($fleet:ident)?] [$($call:tt)*]) => {
        concat!(
            "Deprecated: ", forwarders!(@note [$($call)*]), ".\n\n",
            request_example!($mode [$($fleet)?] $($call)*),
        )
    };
}

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    forwarders! {
        load get_or_load;
        revalidate get_or_revalidate;
        blocking get_or_load_blocking;
        revalidate_blocking get_or_revalidate_blocking;
    }
}

#[cfg(feature = "redis")]
impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    forwarders! {
        load get_or_load_shared.shared();
        load get_or_load_on.on(fleet);
        blocking get_or_load_shared_blocking.shared();
        blocking get_or_load_on_blocking.on(fleet);
        revalidate get_or_revalidate_shared.shared();
        revalidate_blocking get_or_revalidate_shared_blocking.shared();
    }
}
