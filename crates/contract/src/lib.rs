//! Wire and app-schema types shared by every elma-import crate.
//!
//! This crate does no I/O. It holds:
//! - [`schema`]: an ELMA365 app's fields as returned by
//!   `GET /scheme/namespaces/{namespace}/apps/{code}` (docs/platform.md §5) and as stored in
//!   `templates/*.schema.json`;
//! - [`wire`]: every path, header and JSON body of the Web API (docs/platform.md), in one place, so
//!   that correcting an assumption about the platform is a one-file change;
//! - [`values`]: item values as the platform stores them (docs/platform.md §7), their exact
//!   comparison, and the §6 `tf` conditions of a look-up;
//! - [`keys`]: key values (a key column's cells and items' values) in one comparable form;
//! - [`zone`]: the time zone date-time cells are read in;
//! - [`env`]: the environment variable names the binary reads.
//!
//! ```
//! use elma_import_contract::schema::{AppSchema, FieldType};
//! let json = r#"{"namespace":"crm","code":"contacts","name":"Contacts","fields":[
//!   {"code":"email","name":"Email","type":"EMAIL","required":false,"single":true}]}"#;
//! let app = AppSchema::from_json(json).unwrap();
//! assert_eq!(app.id(), "crm.contacts");
//! assert_eq!(app.fields[0].kind, FieldType::Email);
//! ```

pub mod keys;
pub mod locale;
pub mod schema;
pub mod values;
pub mod wire;
pub mod zone;

pub use locale::{Locale, UnknownLocale};

/// Environment variable names read by the binary.
pub mod env {
    /// Base URL of the platform, e.g. `https://acme.elma365.ru/pub/v1`.
    pub const URL: &str = "ELMA365_URL";
    /// API token. A secret: never printed, logged or written anywhere.
    pub const TOKEN: &str = "ELMA365_TOKEN";
    /// Name of the profile to use from the config file.
    pub const PROFILE: &str = "ELMA365_PROFILE";
}
