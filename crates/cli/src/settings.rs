//! Settings resolved once per command: flags > environment > config file.
//!
//! The config file (TOML) holds named profiles:
//!
//! ```toml
//! default_profile = "prod"
//! [profiles.prod]
//! url = "https://acme.elma365.ru/pub/v1"
//! token_env = "ACME_ELMA_TOKEN"   # the variable holding the token (preferred)
//! # token = "..."                 # or the token itself (keep the file private)
//! directory = "5a1b…"             # directory id for directory uploads
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use elma_import_client::{AppRef, Client, ClientConfig, RetryObserver, RetryPolicy, Secret, Trace};
use elma_import_contract::schema::AppSchema;
use serde::Deserialize;

use crate::exit::{self, usage};
use crate::opts::{ConnArgs, SchemaSource};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    url: Option<String>,
    token: Option<String>,
    token_env: Option<String>,
    directory: Option<String>,
}

/// Everything needed to talk to the platform.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Base URL.
    pub url: String,
    /// Token.
    pub token: Secret,
    /// Directory id for directory uploads, from the profile.
    pub directory: Option<String>,
    /// The profile in force, if any.
    pub profile: Option<String>,
    /// Request timeout.
    pub timeout: std::time::Duration,
    /// Retries.
    pub retries: u32,
    /// Transcript file of every exchange (`--trace`).
    pub trace: Option<PathBuf>,
}

fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("elma-import").join("config.toml"))
}

fn load_config(path: Option<&Path>, explicit: bool) -> anyhow::Result<ConfigFile> {
    let Some(path) = path else { return Ok(ConfigFile::default()) };
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| usage(format!("the config file `{}` is not valid: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(ConfigFile::default()),
        Err(e) => Err(usage(format!("cannot read the config file `{}`: {e}", path.display()))),
    }
}

impl Connection {
    /// Resolves the connection from flags, environment and the config file.
    pub fn resolve(args: &ConnArgs) -> anyhow::Result<Connection> {
        let path = config_path(args.config.as_deref());
        let config = load_config(path.as_deref(), args.config.is_some())?;
        let profile_name = args.profile.clone().or(config.default_profile.clone());
        let profile = match &profile_name {
            Some(name) => config.profiles.get(name).cloned().ok_or_else(|| {
                let known: Vec<_> = config.profiles.keys().cloned().collect();
                usage(format!(
                    "no profile `{name}` in the config file `{}` (profiles: {})",
                    path.as_deref().map_or_else(|| "-".into(), |p| p.display().to_string()),
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ))
            })?,
            None => Profile::default(),
        };
        let url = args.url.clone().or(profile.url.clone()).ok_or_else(|| {
            usage("no server given: pass --url URL, set ELMA365_URL, or name a --profile with a url")
        })?;
        let token = match (&args.token, &profile.token_env, &profile.token) {
            (Some(t), _, _) => t.clone(),
            (None, Some(var), _) => std::env::var(var)
                .map_err(|_| usage(format!("the profile's token_env names `{var}`, which is not set")))?,
            (None, None, Some(t)) => t.clone(),
            _ => {
                return Err(usage(
                    "no token given: pass --token, set ELMA365_TOKEN, or use a profile with token_env",
                ))
            }
        };
        if token.trim().is_empty() {
            return Err(usage("the token is empty"));
        }
        Ok(Connection {
            url: complete_base_url(&url),
            token: Secret::new(token),
            directory: profile.directory,
            profile: profile_name,
            timeout: args.timeout,
            retries: args.retries,
            trace: args.trace.clone(),
        })
    }

    /// The connection of an existing run: flags and environment first, then the
    /// profile or base URL kept in its `run.json` (the token comes from a flag, the
    /// environment or the profile, never from the run).
    pub fn resolve_for_run(
        args: &ConnArgs,
        spec: &elma_import_runner::RunSpec,
    ) -> anyhow::Result<Connection> {
        let mut args = args.clone();
        if args.url.is_none() && args.profile.is_none() {
            args.profile.clone_from(&spec.profile);
            args.url.clone_from(&spec.url);
        }
        Connection::resolve(&args)
    }

    /// A client for this connection.
    pub fn client(&self) -> anyhow::Result<Client> {
        let trace = match &self.trace {
            Some(path) => Some(Arc::new(
                Trace::create(path)
                    .map_err(|e| usage(format!("cannot open the trace file `{}`: {e}", path.display())))?,
            )),
            None => None,
        };
        let config = ClientConfig {
            trace,
            timeout: self.timeout,
            retry: RetryPolicy { max_retries: self.retries, ..RetryPolicy::default() },
            // Retries are shown as they happen (`retrying in 2 s (3/6): could not connect`).
            on_retry: Some(RetryObserver::new(|notice| crate::ui::say(notice.to_string()))),
            ..ClientConfig::new(self.url.clone(), self.token.clone())
        };
        Client::new(config).map_err(usage)
    }
}

/// The Web API's base URL from what a user gives: a company address without a path
/// (`https://acme.elma365.ru`, with or without a trailing slash) or with an on-premises
/// prefix (`https://host/elma`) gets `/pub/v1` added; a URL whose path already names the
/// API (`…/pub/v1`, `…/pub/v1/`, any `…/pub/…`) is kept, less a trailing slash.
pub fn complete_base_url(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    let Some(scheme_end) = trimmed.find("://") else { return trimmed.to_string() };
    let after_host = &trimmed[scheme_end + 3..];
    let path = after_host.find('/').map_or("", |i| &after_host[i..]);
    if after_host.contains(['?', '#']) || path.split('/').any(|segment| segment == "pub") {
        return trimmed.to_string();
    }
    format!("{trimmed}/pub/v1")
}

/// Parses `namespace.code`.
pub fn app_ref(app: &str) -> anyhow::Result<AppRef> {
    app.parse().map_err(|_| {
        usage(format!("`{app}` is not an app name: write it as namespace.code, e.g. crm.contacts"))
    })
}

/// Reads a schema file.
pub fn read_schema_file(path: &Path) -> anyhow::Result<AppSchema> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read the schema file `{}`: {e}", path.display())))?;
    AppSchema::from_json(&text).map_err(|e| usage(format!("`{}`: {e}", path.display())))
}

/// The app schema from `--schema FILE` or, with `--app`, from the platform.
pub async fn load_schema(source: &SchemaSource, conn: &ConnArgs) -> anyhow::Result<AppSchema> {
    match (&source.schema, &source.app) {
        (Some(path), _) => read_schema_file(path),
        (None, Some(app)) => {
            let app = app_ref(app)?;
            let client = Connection::resolve(conn)?.client()?;
            client
                .app_schema(&app)
                .await
                .map_err(|e| exit::coded(exit::client_code(&e), e))
                .with_context(|| format!("fetching the fields of `{app}`"))
        }
        (None, None) => Err(usage("say which app: --schema FILE or --app namespace.code")),
    }
}

/// A tokio runtime for commands that talk to the network.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(config: &Path) -> ConnArgs {
        ConnArgs {
            url: None,
            token: None,
            profile: None,
            config: Some(config.to_path_buf()),
            timeout: std::time::Duration::from_secs(5),
            retries: 1,
            trace: None,
        }
    }

    fn write_config(dir: &Path) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            r#"default_profile = "prod"
[profiles.prod]
url = "https://prod.example/pub/v1"
token_env = "ELMA_IMPORT_TEST_PROD_TOKEN"
directory = "dir-1"
[profiles.stage]
url = "https://stage.example/pub/v1"
token = "stage-token"
"#,
        )
        .unwrap();
        path
    }

    #[test]
    fn a_company_url_is_completed_to_the_api_and_an_api_url_is_kept() {
        for (given, wanted) in [
            ("https://acme.elma365.ru", "https://acme.elma365.ru/pub/v1"),
            ("https://acme.elma365.ru/", "https://acme.elma365.ru/pub/v1"),
            (" https://acme.elma365.ru// ", "https://acme.elma365.ru/pub/v1"),
            ("https://acme.elma365.ru/pub/v1", "https://acme.elma365.ru/pub/v1"),
            ("https://acme.elma365.ru/pub/v1/", "https://acme.elma365.ru/pub/v1"),
            ("http://127.0.0.1:8365/pub/v1", "http://127.0.0.1:8365/pub/v1"),
            ("http://127.0.0.1:8365", "http://127.0.0.1:8365/pub/v1"),
            ("https://intranet.local/elma", "https://intranet.local/elma/pub/v1"),
            ("https://intranet.local/elma/pub/v1", "https://intranet.local/elma/pub/v1"),
        ] {
            assert_eq!(complete_base_url(given), wanted, "{given}");
        }
        // Not URLs: left for the client to refuse with its own message.
        assert_eq!(complete_base_url("acme.elma365.ru"), "acme.elma365.ru");
    }

    #[test]
    fn the_default_profile_gives_url_token_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path());
        std::env::set_var("ELMA_IMPORT_TEST_PROD_TOKEN", "prod-secret");
        let c = Connection::resolve(&conn(&config)).unwrap();
        assert_eq!(c.url, "https://prod.example/pub/v1");
        assert_eq!(c.token.expose(), "prod-secret");
        assert_eq!(c.directory.as_deref(), Some("dir-1"));
    }

    #[test]
    fn flags_beat_the_profile_and_a_named_profile_beats_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path());
        let mut args = conn(&config);
        args.profile = Some("stage".into());
        let c = Connection::resolve(&args).unwrap();
        assert_eq!((c.url.as_str(), c.token.expose()), ("https://stage.example/pub/v1", "stage-token"));
        args.url = Some("http://127.0.0.1:1/pub/v1".into());
        args.token = Some("flag-token".into());
        let c = Connection::resolve(&args).unwrap();
        assert_eq!((c.url.as_str(), c.token.expose()), ("http://127.0.0.1:1/pub/v1", "flag-token"));
        args.url = Some("https://acme.elma365.ru/".into());
        assert_eq!(Connection::resolve(&args).unwrap().url, "https://acme.elma365.ru/pub/v1");
    }

    #[test]
    fn a_run_comes_back_to_its_profile_or_url_unless_flags_say_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path());
        let source = dir.path().join("f.csv");
        std::fs::write(&source, "Name\nA\n").unwrap();
        let mut spec = elma_import_runner::RunSpec::new("r1", &source, "crm.contacts").unwrap();
        spec.profile = Some("stage".into());
        let c = Connection::resolve_for_run(&conn(&config), &spec).unwrap();
        assert_eq!((c.url.as_str(), c.profile.as_deref()), ("https://stage.example/pub/v1", Some("stage")));

        spec.profile = None;
        spec.url = Some("http://127.0.0.1:9/pub/v1".into());
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        let mut args = conn(&empty);
        args.token = Some("t".into());
        let c = Connection::resolve_for_run(&args, &spec).unwrap();
        assert_eq!(c.url, "http://127.0.0.1:9/pub/v1");

        args.url = Some("http://127.0.0.1:10/pub/v1".into());
        let c = Connection::resolve_for_run(&args, &spec).unwrap();
        assert_eq!(c.url, "http://127.0.0.1:10/pub/v1");
    }

    #[test]
    fn unknown_profiles_missing_settings_and_bad_files_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path());
        let mut args = conn(&config);
        args.profile = Some("nope".into());
        let err = Connection::resolve(&args).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), crate::exit::USAGE);
        assert!(err.to_string().contains("prod, stage"), "{err}");

        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        let err = Connection::resolve(&conn(&empty)).unwrap_err();
        assert!(err.to_string().contains("--url"), "{err}");

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[profiles.x]\nurll = 1\n").unwrap();
        let err = Connection::resolve(&conn(&bad)).unwrap_err();
        assert!(err.to_string().contains("bad.toml"), "{err}");
    }
}
