//! `elma-import check`: a read-only doctor of the connection, step by step.
//!
//! 1. **address**: something answers at the base URL, and it is the Web API: the schema
//!    call (docs/platform.md §5) comes back with the API's JSON wrapper (`{"success": …}`), or 403.
//!    A 404 without the wrapper is a web server's "no such page": a wrong base URL.
//! 2. **token**: that call is not refused with 403.
//! 3. **schema** (`--app`): the app's fields are readable; they are listed with their types.
//!    A 404 with the wrapper is an unknown app.
//! 4. **listing** (`--app`): a list call of one item (§6) answers; its `total` is the count.
//! 5. **directory** (`--directory` or the profile's): **not checked**. docs/platform.md has no
//!    read-only call for a directory (its one directory call uploads a file), and the
//!    doctor writes nothing.
//!
//! Without `--app` the first two steps ask for the schema of an app that does not exist
//! (`elma_import_check.probe`): an API that knows the token answers 404 with its wrapper.

use clap::Args;
use elma_import_client::{AppRef, ClientError, Probe};
use serde::Serialize;
use serde_json::json;

use crate::exit;
use crate::opts::{ConnArgs, Global};
use crate::settings::{app_ref, runtime, Connection};
use crate::ui;

/// Arguments of `check`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  elma-import check --url https://acme.elma365.ru --token TOKEN --app crm.contacts
  elma-import check --profile prod --app crm.contacts --directory 5a1b… --json
  elma-import check --url http://127.0.0.1:8365 --token T --trace check.jsonl

Steps: the address answers and is the /pub/v1 Web API; the token is accepted; the app's \
schema is readable (its fields and types); listing works (item count); the directory \
exists (not checked: the API has no read-only call for it). Writes nothing to the platform.

Exit 0 when every step checked passes; 2 for a refused token, an unknown app or an address \
that is not the Web API; 3 when nothing answers.")]
pub struct CheckArgs {
    /// App to check, `namespace.code`: its schema is read and its items counted.
    #[arg(long, value_name = "NS.CODE")]
    pub app: Option<String>,
    /// Directory id for directory uploads (default: the profile's).
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It works.
    Ok,
    /// It does not; see the hint.
    Failed,
    /// Not tried: an earlier step failed, or nothing asked for it.
    Skipped,
    /// Cannot be checked without writing to the platform.
    NotChecked,
}

/// One step of the check.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `address`, `token`, `schema`, `listing` or `directory`.
    pub step: &'static str,
    /// How it went.
    pub outcome: Outcome,
    /// What was seen.
    pub detail: String,
    /// What to do about a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn step(step: &'static str, outcome: Outcome, detail: impl Into<String>, hint: Option<String>) -> Step {
    Step { step, outcome, detail: detail.into(), hint }
}

/// The app probed when `--app` is not given: it does not exist.
const PROBE_APP: (&str, &str) = ("elma_import_check", "probe");

/// Runs `check`.
pub fn run(args: CheckArgs, global: &Global) -> anyhow::Result<u8> {
    let conn = Connection::resolve(&args.conn)?;
    let client = conn.client()?;
    let app = args.app.as_deref().map(app_ref).transpose()?;
    let directory = args.directory.clone().or(conn.directory.clone());
    let (steps, code, fields) = runtime()?.block_on(diagnose(&client, app.as_ref(), directory.as_deref()));
    // The first failed step says what is wrong.
    let error =
        steps.iter().find(|s| s.outcome == Outcome::Failed).map(|s| format!("{}: {}", s.step, s.detail));
    if global.json {
        ui::print_json(&json!({
            "url": client.base_url(),
            "app": app.as_ref().map(ToString::to_string),
            "ok": code == exit::OK,
            "error": if code == exit::OK { None } else { error },
            "steps": steps,
            "fields": fields,
        }))?;
    } else {
        ui::out(format!("checking {}", client.base_url()))?;
        for s in &steps {
            let mark = match s.outcome {
                Outcome::Ok => "ok         ",
                Outcome::Failed => "FAILED     ",
                Outcome::Skipped => "skipped    ",
                Outcome::NotChecked => "not checked",
            };
            ui::out(format!("  {mark}  {:<9}  {}", s.step, s.detail))?;
            if let Some(hint) = &s.hint {
                ui::out(format!("                          hint: {hint}"))?;
            }
        }
    }
    Ok(code)
}

/// A field of the app, as listed by the schema step.
#[derive(Debug, Clone, Serialize)]
pub struct FieldLine {
    /// Field code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Platform type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether a row must fill it.
    pub required: bool,
}

async fn diagnose(
    client: &elma_import_client::Client,
    app: Option<&AppRef>,
    directory: Option<&str>,
) -> (Vec<Step>, u8, Vec<FieldLine>) {
    let mut steps = Vec::new();
    let skip_rest = |steps: &mut Vec<Step>, from: usize, why: &str| {
        for name in ["address", "token", "schema", "listing", "directory"].into_iter().skip(from) {
            steps.push(step(name, Outcome::Skipped, why, None));
        }
    };
    let probe_app = match app {
        Some(app) => app.clone(),
        None => AppRef { namespace: PROBE_APP.0.into(), code: PROBE_APP.1.into() },
    };
    let base = client.base_url().trim_end_matches('/').to_string();

    // 1. address, 2. token
    let probe: Probe = match client.probe_schema(&probe_app).await {
        Ok(p) => p,
        Err(e) => {
            let code = if matches!(e, ClientError::Transport { .. }) {
                exit::NETWORK
            } else {
                exit::client_code(&e)
            };
            steps.push(step(
                "address",
                Outcome::Failed,
                format!("nothing answers at `{base}`: {e}"),
                Some("check the address (https://COMPANY.elma365.ru), the network, a proxy or VPN".into()),
            ));
            skip_rest(&mut steps, 1, "the address does not answer");
            return (steps, code, Vec::new());
        }
    };
    if probe.status == 403 {
        steps.push(step(
            "address",
            Outcome::Ok,
            format!("`{base}` answers (HTTP 403 to `{}`)", probe.request),
            None,
        ));
        steps.push(step(
            "token",
            Outcome::Failed,
            "the token was refused (HTTP 403)".to_string(),
            Some(
                "create a token in ELMA365 (Administration → Tokens), pass it with --token or \
                 ELMA365_TOKEN, and check that its user may read the app"
                    .into(),
            ),
        ));
        skip_rest(&mut steps, 2, "the token was refused");
        return (steps, exit::USAGE, Vec::new());
    }
    if probe.status >= 500 {
        steps.push(step(
            "address",
            Outcome::Failed,
            format!(
                "`{base}` answers HTTP {} to `{}` after {} tries: `{}`",
                probe.status, probe.request, probe.tries, probe.excerpt
            ),
            Some("the platform (or a proxy before it) is failing; try again later".into()),
        ));
        skip_rest(&mut steps, 1, "the address fails");
        return (steps, exit::NETWORK, Vec::new());
    }
    if !probe.wrapper {
        steps.push(step(
            "address",
            Outcome::Failed,
            format!(
                "`{base}` answers HTTP {} to `{}`, but not as the ELMA365 Web API (no `success` in \
                 the answer: `{}`)",
                probe.status, probe.request, probe.excerpt
            ),
            Some(format!(
                "the base URL is the company address followed by /pub/v1, e.g. \
                 https://acme.elma365.ru/pub/v1; `{base}` is not it"
            )),
        ));
        skip_rest(&mut steps, 1, "the address is not the Web API");
        return (steps, exit::USAGE, Vec::new());
    }
    steps.push(step("address", Outcome::Ok, format!("`{base}` answers as the Web API"), None));
    steps.push(step("token", Outcome::Ok, "the token is accepted", None));

    // 3. schema, 4. listing
    let mut code = exit::OK;
    let mut fields = Vec::new();
    match app {
        None => {
            steps.push(step("schema", Outcome::Skipped, "no --app given", None));
            steps.push(step("listing", Outcome::Skipped, "no --app given", None));
        }
        Some(app) if probe.status == 404 => {
            steps.push(step(
                "schema",
                Outcome::Failed,
                format!("the platform has no app `{app}` (HTTP 404: {})", probe.error),
                Some(format!(
                    "write the app as namespace.code, as in its address …/{}/{}; the token's user \
                     must see the app",
                    app.namespace, app.code
                )),
            ));
            steps.push(step("listing", Outcome::Skipped, "the app is unknown", None));
            code = exit::USAGE;
        }
        Some(app) => {
            match client.app_schema(app).await {
                Ok(schema) => {
                    fields = schema
                        .fields
                        .iter()
                        .map(|f| FieldLine {
                            code: f.code.clone(),
                            name: f.name.clone(),
                            kind: f.kind.as_str().to_string(),
                            required: f.required,
                        })
                        .collect();
                    let list: Vec<String> =
                        fields.iter().map(|f| format!("{} `{}` ({})", f.name, f.code, f.kind)).collect();
                    steps.push(step(
                        "schema",
                        Outcome::Ok,
                        format!("{} field(s): {}", fields.len(), list.join(", ")),
                        None,
                    ));
                }
                Err(e) => {
                    code = code.max(exit::client_code(&e));
                    steps.push(step(
                        "schema",
                        Outcome::Failed,
                        e.to_string(),
                        Some("the schema answer could not be read; `--trace FILE` records it".into()),
                    ));
                }
            }
            let request = elma_import_client::ListRequest { active: true, from: 0, size: 1, filter: None };
            match client.list_items(app, &request).await {
                Ok(page) => steps.push(step(
                    "listing",
                    Outcome::Ok,
                    format!("{} item(s) in `{app}`", page.total),
                    None,
                )),
                Err(e) => {
                    code = code.max(exit::client_code(&e));
                    steps.push(step(
                        "listing",
                        Outcome::Failed,
                        e.to_string(),
                        Some("the token's user may lack the right to read the app's items".into()),
                    ));
                }
            }
        }
    }

    // 5. directory
    steps.push(match directory {
        Some(id) => step(
            "directory",
            Outcome::NotChecked,
            format!(
                "directory `{id}`: the Web API has no read-only call for a directory (its only \
                 directory call uploads a file), so it is not checked"
            ),
            Some(format!("`elma-import upload FILE --directory {id}` tests it by storing one file")),
        ),
        None => step("directory", Outcome::Skipped, "no --directory given (and none in the profile)", None),
    });
    (steps, code, fields)
}
