use resilience_runtime::retry;

#[retry(max = 3)]
async fn notify(channel: impl Into<String>, text: &str) -> Result<usize, String> {
    let channel: String = channel.into();
    Ok(channel.len() + text.len())
}

fn main() {}
