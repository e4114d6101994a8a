//! `elma-import template`: write an import template for an app.

use std::path::PathBuf;

use clap::Args;
use elma_import_template::{write_template, TemplateOptions};
use serde_json::json;

use crate::exit::{self, usage};
use crate::opts::{ConnArgs, Global, SchemaSource};
use crate::settings::{load_schema, runtime};
use crate::ui;

/// Arguments of `template`.
#[derive(Debug, Args)]
#[command(after_help = "Headers are the app's field names; notes and example texts are written in \
their language (--language to choose), dates and numbers in the --locale's formats.

Examples:
  elma-import template --schema templates/crm.contacts.schema.json \\
      -o contacts.xlsx
  elma-import template --schema templates/crm.contacts.schema.json \\
      -o contacts.csv --locale en
  elma-import template --app crm.contacts -o contacts.xlsx --url URL \\
      --token TOKEN
  elma-import template --schema S.json -o contacts.xlsx --language ru")]
pub struct TemplateArgs {
    /// Where the app's fields come from.
    #[command(flatten)]
    pub source: SchemaSource,
    /// Output file: .xlsx (header, example row, notes, drop-downs) or .csv.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Date and number formats of the example row and the notes: `ru` (dd.MM.yyyy HH:mm)
    /// or `en` (M/d/yyyy h:mm AM/PM).
    #[arg(long, default_value = "ru", value_parser = crate::opts::locale_parser())]
    pub locale: elma_import_contract::Locale,
    /// Language of the notes and example texts: `ru` or `en` (default: the language of
    /// the app's field names, so headers and notes read in one language).
    #[arg(long, value_parser = ["ru", "en"])]
    pub language: Option<String>,
    /// Leave out the example row.
    #[arg(long)]
    pub no_example: bool,
    /// Connection, for --app.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `template`.
pub fn run(args: TemplateArgs, global: &Global) -> anyhow::Result<u8> {
    let schema = runtime()?.block_on(load_schema(&args.source, &args.conn))?;
    let options = TemplateOptions {
        locale: args.locale,
        example_rows: !args.no_example,
        language: args.language.as_deref().map(str::parse).transpose().map_err(|e| usage(format!("{e}")))?,
    };
    let info = write_template(&schema, &args.output, &options).map_err(|e| exit::coded(exit::USAGE, e))?;
    if global.json {
        ui::print_json(&json!({
            "app": schema.id(),
            "output": info.path,
            "columns": info.headers,
            "example_rows": info.example_rows,
            "skipped": info.skipped.iter().map(|s| format!("{} ({})", s.name, s.reason)).collect::<Vec<_>>(),
            "drop_downs": info.drop_downs,
        }))?;
    } else {
        ui::say(format!(
            "wrote {} for {}: {} columns, {} drop-down list(s){}",
            info.path.display(),
            schema.id(),
            info.headers.len(),
            info.drop_downs,
            if info.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    "; left out: {}",
                    info.skipped
                        .iter()
                        .map(|s| format!("{} ({})", s.name, s.reason))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
    }
    Ok(exit::OK)
}
