//! `elma-import upload`: upload one file under a fresh hash.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::exit::{self, usage};
use crate::opts::{ConnArgs, Global};
use crate::settings::{runtime, Connection};
use crate::ui;

/// Arguments of `upload`.
#[derive(Debug, Args)]
#[command(after_help = "The hash is generated here, printed before any byte is sent, and is what \
`start` needs: the platform does not return it. Temporary files are deleted after 60 minutes; \
for more than 50,000 rows upload to a directory.

Examples:
  elma-import upload chunk-00001.xlsx --url URL --token TOKEN
  elma-import upload big.xlsx --directory 5a1b… --json")]
pub struct UploadArgs {
    /// The file.
    pub file: PathBuf,
    /// Upload into this directory (kept) instead of as a temporary file.
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Use this hash instead of a fresh UUID.
    #[arg(long, value_name = "UUID")]
    pub hash: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `upload`.
pub fn run(args: UploadArgs, global: &Global) -> anyhow::Result<u8> {
    let conn = Connection::resolve(&args.conn)?;
    let client = conn.client()?;
    let hash = match &args.hash {
        Some(h) => uuid::Uuid::parse_str(h).map_err(|_| usage(format!("`{h}` is not a UUID")))?.to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    if !args.file.is_file() {
        return Err(usage(format!("`{}` is not a file", args.file.display())));
    }
    let directory = args.directory.clone().or(conn.directory.clone());
    ui::say(format!("hash {hash} (save it: `start` needs it)"));
    let rt = runtime()?;
    let stored = rt.block_on(async {
        match &directory {
            Some(dir) => client.upload_to_directory(dir, &hash, &args.file).await.map(Some),
            None => client.upload_temporary(&hash, &args.file).await.map(|_| None),
        }
    });
    let stored = stored.map_err(|e| exit::coded(exit::client_code(&e), e))?;
    let bytes = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    if global.json {
        ui::print_json(&json!({
            "file": args.file, "hash": hash, "bytes": bytes,
            "target": if directory.is_some() { "directory" } else { "temporary" },
            "stored": stored,
        }))?;
    } else {
        ui::out(&hash)?;
        ui::say(format!(
            "uploaded {} ({} bytes) {}",
            args.file.display(),
            ui::count(bytes),
            if directory.is_some() { "to the directory" } else { "as a temporary file (kept 60 minutes)" }
        ));
    }
    Ok(exit::OK)
}
