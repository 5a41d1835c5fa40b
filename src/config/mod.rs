//! Clients, products and line configuration: TOML files under `config/`, validated
//! with errors that name the file, line and field.
//!
//! - [`model`]: the validated client and product master types;
//! - [`file`]: reading a client file (TOML with spans) into the model, with every
//!   problem located;
//! - [`markets`]: known markets and what their regulations require.

pub mod file;
pub mod markets;
pub mod model;
mod validate;

pub use file::{ConfigIssue, ConfigReport, Severity, check_client_file, parse_client_config};
pub use model::{
    Client, ClientConfig, EpcisFormat, Product, SecretSource, SerialSource, TemplateAi,
    UploadTarget,
};
