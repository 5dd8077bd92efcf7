use resilience_runtime::retry;

trait Fetch {
    #[retry]
    fn fetch(&self) -> Result<(), String>;
}

fn main() {}
