use resilience_runtime::retry;

struct Connection;

#[retry]
fn send(connection: Connection, payload: Vec<u8>) -> Result<usize, String> {
    let _ = connection;
    Ok(payload.len())
}

fn main() {}
