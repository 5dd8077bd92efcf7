use resilience_runtime::stale_cache;

struct Profiles;

impl Profiles {
    #[stale_cache]
    fn profile(&self, id: u64) -> Result<String, String> {
        Ok(id.to_string())
    }
}

fn main() {}
