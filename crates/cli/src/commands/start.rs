//! `elma-import start`: start an import of an uploaded file.

use clap::Args;
use elma_import_client::PollPolicy;
use elma_import_contract::wire::{FileFormat, ImportStatus, StartImport};

use crate::commands::status::{render_result, wait};
use crate::exit;
use crate::opts::{ConnArgs, Global};
use crate::settings::{app_ref, runtime, Connection};

/// Arguments of `start`.
#[derive(Debug, Args)]
#[command(after_help = "Only one import may run per app: a second start answers `blocked` (exit 4).
`run` does upload, start and wait for you, with a journal; use these for manual steps.

Examples:
  elma-import start --app crm.contacts --hash 0f8c… --format xlsx --wait
  elma-import start --app crm.contacts --hash 0f8c… \\
      --with-event-handlers --json")]
pub struct StartArgs {
    /// App as `namespace.code`.
    #[arg(long, value_name = "NS.CODE")]
    pub app: String,
    /// The hash the file was uploaded under.
    #[arg(long, value_name = "UUID")]
    pub hash: String,
    /// The file's format.
    #[arg(long, default_value = "xlsx", value_parser = ["xlsx", "csv"])]
    pub format: String,
    /// Run the app's event handlers for each item.
    #[arg(long)]
    pub with_event_handlers: bool,
    /// Wait for the import to end, polling at most once a second.
    #[arg(long)]
    pub wait: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `start`.
pub fn run(args: StartArgs, global: &Global) -> anyhow::Result<u8> {
    let app = app_ref(&args.app)?;
    let client = Connection::resolve(&args.conn)?.client()?;
    let format = if args.format == "csv" { FileFormat::Csv } else { FileFormat::Xlsx };
    let body =
        StartImport { file_hash: args.hash.clone(), format, with_event_handlers: args.with_event_handlers };
    let rt = runtime()?;
    let result =
        rt.block_on(client.start_import(&app, &body)).map_err(|e| exit::coded(exit::client_code(&e), e))?;
    if result.status == ImportStatus::Blocked {
        render_result(&result, global)?;
        return Ok(exit::BLOCKED);
    }
    let result = match (&result.id, args.wait) {
        (Some(id), true) => wait(&rt, &client, &app, id, PollPolicy::default())?,
        _ => result,
    };
    render_result(&result, global)
}
