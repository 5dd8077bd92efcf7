//! The status page as an operator meets it: the HTTP service on a loopback
//! port, its page rendered by a real headless Chromium, before and after
//! the breaker is opened by hand; a screenshot is left under `target/` for
//! a person to look at.
//!
//! Needs `chromium` on the PATH (`.ci/run` installs Debian's): run with
//! `cargo test -p resilience-examples --features browser --test browser`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use resilience_examples::http_service::{
    BREAKER, LIVE_FUNCTION, Upstream, app, install_metrics, serve,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const TOKEN: &str = "browser-test-token-5f0c2a9e41d7b3";

/// `method path` over a connection of its own; the status line and body.
async fn request(addr: std::net::SocketAddr, method: &str, path: &str, token: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// Chromium, headless, with a profile of its own; `args` after the usual.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox", // CI runs as root
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium on the PATH: `apt-get install chromium` (Debian), as .ci/run does");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The page's DOM once its script has rendered the JSON.
fn rendered(profile: &Path, url: &str) -> String {
    // Virtual time: the page's first polls run at once, then the dump.
    let output = chromium(profile, &["--virtual-time-budget=3000", "--dump-dom", url]);
    let dom = String::from_utf8(output.stdout).unwrap();
    assert!(
        dom.contains("data-loaded=\"true\""),
        "the page never rendered its JSON:\n{dom}"
    );
    dom
}

/// The `<tr>` of the breaker `name`, as Chromium serialised it.
fn breaker_row<'a>(dom: &'a str, name: &str) -> &'a str {
    let start = dom
        .find(&format!("<tr data-breaker=\"{name}\""))
        .unwrap_or_else(|| panic!("no row for {name}:\n{dom}"));
    let end = dom[start..].find("</tr>").unwrap() + start;
    &dom[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_a_breaker_opened_by_hand() {
    let metrics = install_metrics().unwrap();
    let upstream = Arc::new(Upstream::new(0.0, 1));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        app(Arc::clone(&upstream), metrics, Some(TOKEN)),
    ));
    for id in [1, 2, 3, 1] {
        let answer = request(addr, "GET", &format!("/profile/{id}"), "").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let url = format!("http://{addr}/resilience");
    let profile = tempdir("chromium-profile");

    let page = tokio::task::spawn_blocking({
        let (profile, url) = (profile.clone(), url.clone());
        move || rendered(&profile, &url)
    })
    .await
    .unwrap();
    let row = breaker_row(&page, BREAKER);
    assert!(row.contains("data-state=\"closed\""), "{row}");
    assert!(
        page.contains("controls on"),
        "the page says whether its controls are on"
    );
    assert!(
        page.contains(resilience_examples::http_service::FUNCTION),
        "the cache is listed"
    );

    let opened = request(
        addr,
        "POST",
        &format!("/resilience/breakers/{BREAKER}/open"),
        TOKEN,
    )
    .await;
    assert!(opened.starts_with("HTTP/1.1 200"), "{opened}");
    // A rehearsal in progress, started by hand too.
    let rehearsal = format!("/resilience/chaos/{LIVE_FUNCTION}?errors=0.5&latency_ms=200&seed=3");
    let injected = request(addr, "POST", &rehearsal, TOKEN).await;
    assert!(injected.starts_with("HTTP/1.1 200"), "{injected}");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    let page = tokio::task::spawn_blocking({
        let (profile, url, shot) = (profile.clone(), url.clone(), shot.clone());
        move || {
            let page = rendered(&profile, &url);
            chromium(
                &profile,
                &[
                    "--window-size=1280,1000",
                    // Runs the page's first polls before the shot.
                    "--virtual-time-budget=3000",
                    &format!("--screenshot={}", shot.display()),
                    &url,
                ],
            );
            page
        }
    })
    .await
    .unwrap();
    let row = breaker_row(&page, BREAKER);
    assert!(row.contains("data-state=\"open\""), "{row}");
    assert!(
        row.contains(">open</span>"),
        "the state is written out: {row}"
    );
    assert!(
        page.contains(&format!("<tr data-chaos=\"{LIVE_FUNCTION}\">")),
        "the injection is listed:\n{page}"
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    println!("screenshot: {}", shot.display());

    let stopped = request(
        addr,
        "DELETE",
        &format!("/resilience/chaos/{LIVE_FUNCTION}"),
        TOKEN,
    )
    .await;
    assert!(stopped.starts_with("HTTP/1.1 200"), "{stopped}");
    let closed = request(
        addr,
        "POST",
        &format!("/resilience/breakers/{BREAKER}/close"),
        TOKEN,
    )
    .await;
    assert!(closed.starts_with("HTTP/1.1 200"), "{closed}");
    let _ = std::fs::remove_dir_all(&profile);
}

/// A fresh directory under the test's own temporary folder.
fn tempdir(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
