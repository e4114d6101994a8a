//! Helpers shared by the emulator's integration tests: a served emulator and a client.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use elma_import_emulator::{serve, CountersReport, EmulatorConfig, RunningEmulator};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const TOKEN: &str = "t0k3n";

/// A config with one token and unlimited import speed.
pub fn config() -> EmulatorConfig {
    EmulatorConfig { tokens: vec![TOKEN.into()], rows_per_sec: 0.0, ..EmulatorConfig::default() }
}

pub struct Server {
    pub running: RunningEmulator,
    pub http: reqwest::Client,
}

pub async fn start(config: EmulatorConfig) -> Server {
    let running = serve(config, "127.0.0.1:0".parse().unwrap()).await.expect("emulator starts");
    Server { running, http: reqwest::Client::new() }
}

/// `crm.contacts` CSV: header + `rows` rows; every row listed in `bad` has an e-mail
/// that is not one.
pub fn contacts_csv(rows: usize, bad: &[usize]) -> Vec<u8> {
    let mut s = String::from("Name,Email,Amount,Active,Segment,Comment\n");
    for i in 1..=rows {
        let email =
            if bad.contains(&i) { "not-an-email".to_string() } else { format!("user{i}@example.com") };
        s.push_str(&format!("Person {i},{email},{},true,VIP,row {i}\n", i * 10));
    }
    s.into_bytes()
}

pub fn hash() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Server {
    pub fn base(&self) -> String {
        self.running.base_url()
    }

    pub fn root(&self) -> String {
        format!("http://{}", self.running.addr())
    }

    pub async fn upload_temp(&self, hash: &str, body: Vec<u8>, range: Option<String>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}/disk/file/upload?hash={hash}", self.base()))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/octet-stream")
            .body(body);
        if let Some(r) = range {
            req = req.header("Content-Range", r);
        }
        let resp = req.send().await.expect("upload answers");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn upload_dir(
        &self,
        dir: &str,
        hash: &str,
        name: &str,
        body: &[u8],
        range: Option<String>,
    ) -> (StatusCode, Value) {
        let boundary = "XyZBoundary123";
        let mut form = Vec::new();
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        form.extend_from_slice(body);
        form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = self
            .http
            .post(format!("{}/disk/directory/{dir}/upload?hash={hash}", self.base()))
            .header("X-Token", TOKEN)
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(form);
        if let Some(r) = range {
            req = req.header("Content-Range", r);
        }
        let resp = req.send().await.expect("upload answers");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base()))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("request answers");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn start_import(&self, app: &str, hash: &str, handlers: bool) -> (StatusCode, Value) {
        self.post(
            &format!("/app/{app}/import"),
            json!({"fileHash": hash, "format": "csv", "withEventHandlers": handlers}),
        )
        .await
    }

    pub async fn status(&self, app: &str, id: &str) -> Value {
        let (code, body) = self.post(&format!("/app/{app}/import/status"), json!({ "id": id })).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body["result"].clone()
    }

    /// Polls every 100 ms until the import ends; panics after `limit`.
    pub async fn wait_final(&self, app: &str, id: &str, limit: Duration) -> Value {
        let t0 = Instant::now();
        loop {
            let result = self.status(app, id).await;
            let status = result["status"].as_str().unwrap_or("").to_string();
            if status == "done" || status == "failed" {
                return result;
            }
            assert!(t0.elapsed() < limit, "import {id} still `{status}` after {limit:?}: {result}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn list(&self, app: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/app/{app}/list"), body).await
    }

    pub async fn counters(&self) -> CountersReport {
        self.http
            .get(format!("{}/_emulator/counters", self.root()))
            .send()
            .await
            .expect("counters answer")
            .json()
            .await
            .expect("counters JSON")
    }

    /// Uploads `csv` as a temporary file and starts importing it into `app`.
    pub async fn import(&self, app: &str, csv: Vec<u8>, handlers: bool) -> String {
        let hash = hash();
        let (code, body) = self.upload_temp(&hash, csv, None).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let (code, body) = self.start_import(app, &hash, handlers).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body["result"]["id"].as_str().expect("an import id").to_string()
    }
}
