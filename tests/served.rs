//! The example HTTP service served in-process on a free loopback port, and
//! a real HTTP client for it: what the HTTP behaviour tests and the
//! rehearsal test share (each includes this file as a module).

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use resilience_examples::http_service::{Upstream, app, install_metrics, serve};

/// The service on its port, the client, and the upstream it calls.
pub struct Served {
    pub addr: SocketAddr,
    pub upstream: Arc<Upstream>,
    client: Client<HttpConnector, String>,
}

/// A response, its body read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("a text header"))
    }
}

impl Served {
    /// Serves the example app, its upstream failing `failure_rate` of its
    /// calls (seed 7), its control routes answering to `admin_token`.
    pub async fn start(failure_rate: f64, admin_token: &str) -> Self {
        let metrics = install_metrics().expect("no other recorder in this test binary");
        let upstream = Arc::new(Upstream::new(failure_rate, 7));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            app(Arc::clone(&upstream), metrics, Some(admin_token)),
        ));
        // A connection per request: no idle connection outlives a request.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        Self {
            addr,
            upstream,
            client,
        }
    }

    /// `GET path` with `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(Method::GET, path, headers).await
    }

    /// `method path`, with `token` as the bearer token if given: an
    /// operator's control.
    pub async fn control(&self, method: Method, path: &str, token: Option<&str>) -> Answer {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|bearer| ("authorization", bearer.as_str()))
            .collect();
        self.send(method, path, &headers).await
    }

    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(String::new()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }
}
