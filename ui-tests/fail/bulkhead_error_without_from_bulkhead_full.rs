use resilience_runtime::bulkhead;

#[derive(Debug)]
enum SearchError {
    Down,
}

#[bulkhead(max_concurrent = 10)]
async fn search(query: String) -> Result<Vec<String>, SearchError> {
    if query.is_empty() {
        return Err(SearchError::Down);
    }
    Ok(vec![query])
}

fn main() {}
