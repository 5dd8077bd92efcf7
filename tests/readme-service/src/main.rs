//! `#[tokio::main]` with the README's `[dependencies]` features only.

use readme_service::{
    Client, Upstream, fetch_user_profile, first_word, load_config, notify, parse,
};

#[tokio::main]
async fn main() {
    let profile = fetch_user_profile("42".to_string()).await;
    println!("profile: {profile:?}");
    assert_eq!(profile.unwrap().name, "user 42");

    assert_eq!(load_config("prod").unwrap(), "config of prod");
    assert_eq!(parse::<u16>(" 8080 ").unwrap(), 8080);
    assert_eq!(notify("ops", "deployed").await.unwrap(), "#ops: deployed");
    assert_eq!(first_word("hello world").unwrap(), "hello");

    let mut client = Client {
        upstream: Upstream::failing(1),
        requests: 0,
    };
    assert_eq!(client.order(7).await.unwrap(), "order 7 (call 2)");
    assert_eq!(client.next_request().unwrap(), 3);
    println!("every shape answered");
}
