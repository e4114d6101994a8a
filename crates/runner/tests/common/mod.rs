//! Set-up shared by the runner's tests against a scripted platform on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use elma_import_client::{Client, ClientConfig, RetryPolicy};
use elma_import_contract::schema::AppSchema;

/// Serves `app` (routes under `/pub/v1`) on a free loopback port; a client for it that
/// does not retry, so every answer the script gives reaches the runner.
pub async fn serve_client(app: Router) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = ClientConfig::new(format!("http://{addr}/pub/v1"), "t0ken-secret");
    config.retry = RetryPolicy { max_retries: 0, ..RetryPolicy::default() };
    config.timeout = Duration::from_secs(10);
    Client::new(config).unwrap()
}

/// Writes `dir/notes.csv` with `rows` rows `row-N,note N` (N = the sheet row) and returns
/// it with the schema of the `crm.notes` app it is for.
pub fn notes(dir: &Path, rows: usize) -> (PathBuf, AppSchema) {
    let source = dir.join("notes.csv");
    let mut text = String::from("Name,Note\n");
    for r in 2..rows + 2 {
        text.push_str(&format!("row-{r},note {r}\n"));
    }
    std::fs::write(&source, text).unwrap();
    let schema = AppSchema::from_json(
        r#"{"namespace":"crm","code":"notes","name":"Notes","fields":[
            {"code":"__name","name":"Name","type":"STRING","required":true,"single":true},
            {"code":"note","name":"Note","type":"STRING","required":false,"single":true}]}"#,
    )
    .unwrap();
    (source, schema)
}
