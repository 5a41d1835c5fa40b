//! Clients, products and line configuration: TOML files under `config/`, validated with errors that name file, line and field.
