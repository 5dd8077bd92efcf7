use resilience_runtime::stale_cache;

struct Connection;

#[stale_cache]
fn connect(host: String) -> Result<Connection, String> {
    let _ = host;
    Ok(Connection)
}

fn main() {}
