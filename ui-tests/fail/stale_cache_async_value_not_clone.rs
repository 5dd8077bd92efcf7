use resilience_runtime::stale_cache;

struct Connection;

#[stale_cache(key = host.clone())]
async fn connect(host: String) -> Result<Connection, String> {
    let _ = host;
    Ok(Connection)
}

fn main() {}
