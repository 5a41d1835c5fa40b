//! Clients, products and line configuration: TOML files under `config/`, validated
//! with errors that name the file, line and field.
//!
//! - [`model`]: the validated client and product master types;
//! - [`file`]: reading a client file (TOML with spans) into the model, with every
//!   problem located;
//! - [`markets`]: known markets and what their regulations require;
//! - [`text`]: what text an operator reads back may contain, and how to show it;
//! - [`across`]: the checks across client files loaded together.

pub mod across;
pub mod file;
pub mod markets;
pub mod model;
pub mod text;
mod validate;

pub use across::AcrossFiles;
pub use file::{
    ConfigIssue, ConfigReport, DefinedAt, Severity, check_client_file, parse_client_config,
};
pub use model::{
    Client, ClientConfig, EpcisFormat, Product, SecretSource, SerialSource, TemplateAi,
    UploadTarget,
};
