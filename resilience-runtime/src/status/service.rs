//! The tower service: routes a request to the page, the JSON or a control,
//! and writes the response.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{Extensions, Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use tower_service::Service;

use super::control::{self, Action, Refusal};
use super::rehearsal;
use super::snapshot::{Snapshot, breaker_row};

/// The page: self-contained (styles and script inline), filled with its
/// prefix when served.
const PAGE: &str = include_str!("page.html");

/// Nothing but this page's own inline code and its JSON: no CDN, no font,
/// no frame, no form posting elsewhere.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The live status page, its JSON and its control routes, as a tower
/// service (feature `tower`). See the [module docs](super) for the routes.
///
/// Cheap to clone: clones share one configuration.
///
/// ```
/// use http::{Request, StatusCode};
/// use resilience_runtime::status::StatusService;
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let status = StatusService::new("/resilience").admin_token("s3cret");
/// let page = status.clone().oneshot(Request::get("/resilience").body(()).unwrap()).await.unwrap();
/// assert_eq!(page.status(), StatusCode::OK);
/// let json = status.oneshot(Request::get("/resilience.json").body(()).unwrap()).await.unwrap();
/// assert!(json.body().starts_with("{\"breakers\":["));
/// # }
/// ```
#[derive(Clone)]
pub struct StatusService {
    config: Arc<Config>,
}

struct Config {
    prefix: String,
    token: Option<Box<[u8]>>,
    caller: fn(&Extensions) -> Option<SocketAddr>,
}

impl std::fmt::Debug for StatusService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusService")
            .field("prefix", &self.config.prefix)
            .field("controls", &self.config.token.is_some())
            .finish_non_exhaustive()
    }
}

impl StatusService {
    /// A status service answering under `prefix` (such as `"/resilience"`;
    /// a trailing `/` is dropped), with its control routes off.
    ///
    /// ```
    /// use resilience_runtime::status::StatusService;
    /// let status = StatusService::new("/ops/resilience/");
    /// assert_eq!(status.prefix(), "/ops/resilience");
    /// ```
    pub fn new(prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        while prefix.ends_with('/') {
            prefix.pop();
        }
        Self {
            config: Arc::new(Config {
                prefix,
                token: None,
                caller: |extensions| extensions.get::<SocketAddr>().copied(),
            }),
        }
    }

    /// Turns the control routes on, for requests that carry
    /// `Authorization: Bearer <token>`. An empty token leaves them off.
    /// Choose a long random token (32 bytes or more) and keep it out of
    /// the source: read it from the environment or a secret store.
    ///
    /// ```
    /// use resilience_runtime::status::StatusService;
    /// let token = std::env::var("RESILIENCE_ADMIN_TOKEN").unwrap_or_default();
    /// let status = StatusService::new("/resilience").admin_token(token);
    /// ```
    #[must_use]
    pub fn admin_token(self, token: impl Into<String>) -> Self {
        let token = token.into().into_bytes().into_boxed_slice();
        self.with(|config| config.token = (!token.is_empty()).then_some(token))
    }

    /// How to find the caller's address, for the event each manual change
    /// emits: by default a [`SocketAddr`] in the request's extensions. With
    /// axum, read its `ConnectInfo`:
    ///
    /// ```text
    /// StatusService::new("/resilience").caller_address(|extensions| {
    ///     extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|info| info.0)
    /// })
    /// ```
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use resilience_runtime::status::StatusService;
    /// let status = StatusService::new("/resilience")
    ///     .caller_address(|extensions| extensions.get::<SocketAddr>().copied());
    /// ```
    #[must_use]
    pub fn caller_address(self, caller: fn(&Extensions) -> Option<SocketAddr>) -> Self {
        self.with(|config| config.caller = caller)
    }

    /// The prefix it answers under.
    ///
    /// ```
    /// use resilience_runtime::status::StatusService;
    /// assert_eq!(StatusService::new("/resilience").prefix(), "/resilience");
    /// ```
    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    fn with(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            prefix: self.config.prefix.clone(),
            token: self.config.token.clone(),
            caller: self.config.caller,
        };
        change(&mut config);
        Self {
            config: Arc::new(config),
        }
    }

    /// The response to `request`.
    fn answer<B>(&self, request: &Request<B>) -> Response<String> {
        let path = request.uri().path();
        let Some(rest) = path.strip_prefix(self.config.prefix.as_str()) else {
            return not_found();
        };
        match rest {
            "" | "/" => read_only(request, || page(&self.config.prefix)),
            ".json" => read_only(request, || self.json()),
            // Without a token there are no control routes at all.
            _ if self.config.token.is_none() => not_found(),
            "/chaos" => self.guarded(request, &[Method::DELETE], |caller| {
                rehearsal::stop_all();
                changed_by_hand("chaos", "stop_all", caller);
                json(StatusCode::OK, &rehearsal::rows())
            }),
            _ => {
                if let Some(route) = rest.strip_prefix("/breakers/") {
                    self.guarded(request, &[Method::POST], |caller| {
                        breaker_control(request, route, caller)
                    })
                } else if let Some(target) = rest.strip_prefix("/chaos/") {
                    self.guarded(request, &[Method::POST, Method::DELETE], |caller| {
                        chaos_control(request, target, caller)
                    })
                } else {
                    not_found()
                }
            }
        }
    }

    fn json(&self) -> Response<String> {
        let mut snapshot = Snapshot::now();
        snapshot.controls = self.config.token.is_some();
        json(StatusCode::OK, &snapshot)
    }

    /// A control route's gate: one of `methods`, and the admin token. Runs
    /// `control` with the caller's address once both are right.
    fn guarded<B>(
        &self,
        request: &Request<B>,
        methods: &[Method],
        control: impl FnOnce(Option<SocketAddr>) -> Response<String>,
    ) -> Response<String> {
        if !methods.contains(request.method()) {
            let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
            let mut response = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                format!("this route takes {}", allowed.join(" or ")),
            );
            if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(ALLOW, allow);
            }
            return response;
        }
        let token = self.config.token.as_deref().unwrap_or_default();
        if !control::authorised(request.headers(), token) {
            let mut response = plain(
                StatusCode::UNAUTHORIZED,
                "send the admin token as `Authorization: Bearer <token>`",
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
        control((self.config.caller)(request.extensions()))
    }
}

/// `POST <prefix>/breakers/{name}/{action}[?key=..]`.
fn breaker_control<B>(
    request: &Request<B>,
    route: &str,
    caller: Option<SocketAddr>,
) -> Response<String> {
    let Some((name, action)) = route.rsplit_once('/') else {
        return not_found();
    };
    let Some(action) = Action::parse(action) else {
        return plain(
            StatusCode::NOT_FOUND,
            "the actions are open, close and reset",
        );
    };
    let name = percent_decode_str(name).decode_utf8_lossy();
    let key = request.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(field, _)| field == "key")
            .map(|(_, key)| key.into_owned())
    });
    match control::apply(&name, key.as_deref(), action) {
        Ok(changed) => {
            for breaker in &changed {
                tracing::warn!(
                    target: "resilience",
                    breaker = breaker.name(),
                    key = breaker.key(),
                    action = action.as_str(),
                    caller = caller.map(tracing::field::display),
                    "circuit breaker changed by hand through the status page"
                );
            }
            let rows: Vec<_> = changed.iter().map(breaker_row).collect();
            json(StatusCode::OK, &rows)
        }
        Err(Refusal::Unknown) => {
            let key = key.map(|key| format!(" and key {key}")).unwrap_or_default();
            plain(
                StatusCode::NOT_FOUND,
                &format!(
                    "no breaker named `{name}`{key}: the status JSON lists every breaker, a keyed one with its key as `?key=` takes it"
                ),
            )
        }
        Err(Refusal::NeedsKey) => plain(
            StatusCode::BAD_REQUEST,
            "this name has keyed breakers: add ?key=<key as the JSON lists it> (reset may omit it to reset every key)",
        ),
    }
}

/// `POST <prefix>/chaos/{target}?errors=..` starts an injection;
/// `DELETE <prefix>/chaos/{target}` stops it.
fn chaos_control<B>(
    request: &Request<B>,
    target: &str,
    caller: Option<SocketAddr>,
) -> Response<String> {
    let target = percent_decode_str(target).decode_utf8_lossy();
    if request.method() == Method::DELETE {
        if !rehearsal::stop(&target) {
            return plain(
                StatusCode::NOT_FOUND,
                &format!(
                    "no chaos injection into `{target}`: the status JSON lists those in force"
                ),
            );
        }
        changed_by_hand(&target, "stop", caller);
        return json(StatusCode::OK, &rehearsal::rows());
    }
    match rehearsal::start(&target, request.uri().query()) {
        Ok(row) => {
            tracing::warn!(
                target: "resilience",
                chaos_target = &*target,
                action = "inject",
                errors = row.errors,
                hangs = row.hangs,
                latency_ms = row.latency_ms,
                seed = row.seed,
                caller = caller.map(tracing::field::display),
                "chaos injection started by hand through the status page"
            );
            json(StatusCode::OK, &row)
        }
        Err(refusal) => plain(StatusCode::BAD_REQUEST, &refusal),
    }
}

/// The event of an injection stopped by hand.
fn changed_by_hand(target: &str, action: &'static str, caller: Option<SocketAddr>) {
    tracing::warn!(
        target: "resilience",
        chaos_target = target,
        action,
        caller = caller.map(tracing::field::display),
        "chaos injection stopped by hand through the status page"
    );
}

impl<B> Service<Request<B>> for StatusService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.answer(&request)))
    }
}

/// `GET` (or `HEAD`) only.
fn read_only<B>(
    request: &Request<B>,
    answer: impl FnOnce() -> Response<String>,
) -> Response<String> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return answer();
    }
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

pub(super) fn page(prefix: &str) -> Response<String> {
    // A JSON string is a JavaScript string; `</` is escaped so the prefix
    // cannot close the script element.
    let prefix = serde_json::to_string(prefix)
        .unwrap_or_else(|_| "\"\"".to_owned())
        .replace("</", "<\\/");
    let mut response = respond(
        StatusCode::OK,
        "text/html; charset=utf-8",
        PAGE.replace("__PREFIX__", &prefix),
    );
    response.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<String> {
    match serde_json::to_string(value) {
        Ok(body) => respond(status, "application/json", body),
        Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

fn not_found() -> Response<String> {
    plain(StatusCode::NOT_FOUND, "not found")
}

fn plain(status: StatusCode, text: &str) -> Response<String> {
    respond(status, "text/plain; charset=utf-8", text.to_owned())
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Live state: never from a cache.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
