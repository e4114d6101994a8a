//! `elma-import status`: show or wait for an import's status.

use clap::Args;
use elma_import_client::{AppRef, Client, PollPolicy};
use elma_import_contract::wire::{ImportResult, ImportStatus};

use crate::exit;
use crate::opts::{ConnArgs, Global};
use crate::settings::{app_ref, runtime, Connection};
use crate::ui;

/// Arguments of `status`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  elma-import status --app crm.contacts --id 7d1e…
  elma-import status --app crm.contacts --id 7d1e… --wait --json")]
pub struct StatusArgs {
    /// App as `namespace.code`.
    #[arg(long, value_name = "NS.CODE")]
    pub app: String,
    /// Import id (from `start`).
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// Wait for the import to end, polling at most once a second.
    #[arg(long)]
    pub wait: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Where the time of the last status request of each import is kept, so that separate
/// invocations of `status` and `start --wait` also ask at most once a second.
fn poll_stamp(id: &str) -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    let name: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    Some(base.join("elma-import").join("polls").join(name))
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// Sleeps until a second has passed since the last recorded status request of `id`.
fn keep_spacing(id: &str) {
    let Some(path) = poll_stamp(id) else { return };
    let Some(last) = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<u128>().ok()) else {
        return;
    };
    let since = now_ms().saturating_sub(last);
    let min = elma_import_client::poll::MIN_POLL_INTERVAL.as_millis();
    if since < min {
        std::thread::sleep(std::time::Duration::from_millis((min - since) as u64));
    }
}

/// Records that a status request of `id` was just answered (best effort).
fn record_poll(id: &str) {
    if let Some(path) = poll_stamp(id) {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&path, now_ms().to_string());
    }
}

/// Waits for an import with a progress bar.
pub fn wait(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    app: &AppRef,
    id: &str,
    policy: PollPolicy,
) -> anyhow::Result<ImportResult> {
    keep_spacing(id);
    let bar = ui::bar(0, "importing", false);
    let result = rt.block_on(client.wait_for_import(app, id, policy, |r: &ImportResult| {
        record_poll(id);
        bar.set_length(r.total);
        bar.set_position(r.processed);
        bar.set_message(r.status.to_string());
    }));
    bar.finish_and_clear();
    result.map_err(|e| exit::coded(exit::client_code(&e), e))
}

/// Prints an import result; exit 0 when done with no failed rows, 1 otherwise.
pub fn render_result(r: &ImportResult, global: &Global) -> anyhow::Result<u8> {
    let code = match r.status {
        ImportStatus::Done if r.failed == 0 => exit::OK,
        ImportStatus::Blocked => exit::BLOCKED,
        ImportStatus::Done | ImportStatus::Failed => exit::DATA,
        _ => exit::OK,
    };
    if global.json {
        let mut v = serde_json::to_value(r)?;
        if code != exit::OK {
            v["error"] = serde_json::json!(match r.status {
                ImportStatus::Blocked =>
                    "the app is blocked by another import: start again later".to_string(),
                _ => format!(
                    "import {}: {}, {} of {} rows failed",
                    r.id.as_deref().unwrap_or("-"),
                    r.status,
                    ui::count(r.failed),
                    ui::count(r.total)
                ),
            });
        }
        ui::print_json(&v)?;
    } else {
        ui::out(format!(
            "import {}: {} — {} of {} rows processed, {} imported, {} failed",
            r.id.as_deref().unwrap_or("-"),
            r.status,
            ui::count(r.processed),
            ui::count(r.total),
            ui::count(r.imported),
            ui::count(r.failed)
        ))?;
        for e in r.errors.iter().take(20) {
            ui::out(format!("  row {} `{}`: {}", e.row, e.column, e.message))?;
        }
        if r.errors.len() > 20 {
            ui::out(format!("  … and {} more", r.errors.len() - 20))?;
        }
    }
    Ok(code)
}

/// Runs `status`.
pub fn run(args: StatusArgs, global: &Global) -> anyhow::Result<u8> {
    let app = app_ref(&args.app)?;
    let client = Connection::resolve(&args.conn)?.client()?;
    let rt = runtime()?;
    let result = if args.wait {
        wait(&rt, &client, &app, &args.id, PollPolicy::default())?
    } else {
        keep_spacing(&args.id);
        let answer = rt.block_on(client.import_status(&app, &args.id));
        record_poll(&args.id);
        answer.map_err(|e| exit::coded(exit::client_code(&e), e))?
    };
    render_result(&result, global)
}
