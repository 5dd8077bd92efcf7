use resilience_runtime::retry;

#[derive(Clone)]
struct Request;

impl Request {
    #[retry]
    fn send(self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
