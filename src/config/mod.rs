//! Clients, products and line configuration: TOML files under `config/`, validated
//! with errors that name the file, line and field.
//!
//! - [`model`]: the validated client and product master types;
//! - [`file`]: reading a client file (TOML with spans) into the model, with every
//!   problem located: it parses the text into the file as written (`raw`), and
//!   `validate` (one file per part of the client file) turns that into the model;
//! - [`located`]: a located problem ([`ConfigIssue`]) and the locator that makes one
//!   from a span, used by both reading and validation;
//! - [`markets`]: known markets and what their regulations require;
//! - [`text`]: what text an operator reads back may contain, and how to show it;
//! - [`across`]: the checks across client files loaded together;
//! - [`line`]: the station's line configuration (`config/line.toml`): device
//!   addresses and line geometry.
//!
//! Dependencies inside: `file` → `validate` → `raw`, `located`, `model`, `markets`,
//! `text`; nothing points back at `file`. Outside: `gs1`, and `aggregation` for the
//! packaging levels (pure vocabulary).

pub mod across;
pub mod file;
pub mod line;
pub mod located;
pub mod markets;
pub mod model;
mod raw;
pub mod text;
mod validate;

pub use across::AcrossFiles;
pub use file::{ConfigReport, DefinedAt, check_client_file, parse_client_config};
pub use line::{StationConfig, StationConfigError};
pub use located::{ConfigIssue, Severity};
pub use model::{
    AggregationLevel, Client, ClientConfig, EpcisFormat, LabelLayout, Product, SecretSource,
    SerialSource, SsccSettings, TemplateAi, UploadTarget,
};
