//! The SQLite store: schema, migrations, and every read and write of state.
