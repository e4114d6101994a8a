//! `elma-import schema`: fetch an app's fields and save them as a schema file.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::exit;
use crate::opts::{ConnArgs, Global, SchemaSource};
use crate::settings::{load_schema, runtime};
use crate::ui;

/// Arguments of `schema`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  elma-import schema --app crm.contacts -o crm.contacts.schema.json \\
      --url URL --token TOKEN")]
pub struct SchemaArgs {
    /// App as `namespace.code`.
    #[arg(long, value_name = "NS.CODE")]
    pub app: String,
    /// Output file (JSON); stdout when left out.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `schema`.
pub fn run(args: SchemaArgs, global: &Global) -> anyhow::Result<u8> {
    let source = SchemaSource { schema: None, app: Some(args.app.clone()) };
    let schema = runtime()?.block_on(load_schema(&source, &args.conn))?;
    let text = serde_json::to_string_pretty(&schema)?;
    match &args.output {
        Some(path) => {
            elma_import_sheet::write_atomically(path, |f| {
                std::io::Write::write_all(f, format!("{text}\n").as_bytes())
            })
            .map_err(|e| exit::usage(format!("cannot write `{}`: {e}", path.display())))?;
            if global.json {
                ui::print_json(&json!({"app": schema.id(), "output": path, "fields": schema.fields.len()}))?;
            } else {
                ui::say(format!(
                    "wrote {} ({} fields of {})",
                    path.display(),
                    schema.fields.len(),
                    schema.id()
                ));
            }
        }
        // With --json the schema is a field of the one object.
        None if global.json => ui::print_json(
            &json!({"app": schema.id(), "output": null, "fields": schema.fields.len(), "schema": schema}),
        )?,
        None => ui::out(text)?,
    }
    Ok(exit::OK)
}
