//! Clients and products (the product master) in the store: loading a validated
//! configuration (audited, with before/after) and reading it back, with each
//! product's packaging hierarchy and each client's SSCC settings.
//!
//! Loading never deletes: a product that disappears from a file stays in the store
//! (batches and serials refer to it). A GTIN belongs to one client; moving it to
//! another client is refused.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::config::{Client, ClientConfig, Product};
use crate::gs1::Gtin;
use crate::store::audit::{self, AuditRecord};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::{Actor, Store, clock};

/// What loading did to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

/// What loading a configuration did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadReport {
    pub client_id: String,
    pub client: Change,
    /// Per product GTIN, in file order.
    pub products: Vec<(String, Change)>,
}

/// Migration 9: a product's packaging hierarchy and a
/// client's SSCC settings, each JSON, NULL when the client file gives none.
pub(crate) const V9_SQL: &str = r#"
ALTER TABLE products ADD COLUMN aggregation TEXT;  -- JSON array of container levels above the pack, lowest first
ALTER TABLE clients ADD COLUMN sscc TEXT;          -- JSON {company_prefix, extension_digit}
"#;

const PRODUCT_COLUMNS: &str = "gtin, client_id, name, company_prefix_length, markets, code_template, nhrn, \
                               min_grade, low_water_mark, consecutive_reject_limit, aggregation";

fn to_json<T: serde::Serialize>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("cannot serialise {what}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn read_client(conn: &Connection, id: &str) -> StoreResult<Option<Client>> {
    let what = "reading a client";
    type ClientRow = (String, String, String, String, Option<String>);
    let row: Option<ClientRow> = conn
        .query_row(
            "SELECT id, name, serial_source, upload, sscc FROM clients WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .context(what)?;
    row.map(|(id, name, source, upload, sscc)| {
        Ok(Client {
            serial_source: from_json(&source, &format!("serial source of client {id}"))?,
            upload: from_json(&upload, &format!("upload target of client {id}"))?,
            sscc: sscc
                .map(|text| from_json(&text, &format!("SSCC settings of client {id}")))
                .transpose()?,
            id,
            name,
        })
    })
    .transpose()
}

type ProductRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    f64,
    i64,
    i64,
    Option<String>,
);

fn product_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProductRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn product_from_row(row: ProductRow) -> StoreResult<Product> {
    let (
        gtin,
        client_id,
        name,
        gcp_len,
        markets,
        template,
        nhrn,
        min_grade,
        low_water,
        reject_limit,
        aggregation,
    ) = row;
    let bad = |field: &str| StoreError::Corrupt(format!("product {gtin}: {field} is out of range"));
    Ok(Product {
        gtin: Gtin::parse(&gtin)
            .map_err(|e| StoreError::Corrupt(format!("product GTIN {gtin}: {e}")))?,
        company_prefix_length: u8::try_from(gcp_len).map_err(|_| bad("company_prefix_length"))?,
        markets: from_json(&markets, &format!("markets of product {gtin}"))?,
        code_template: from_json(&template, &format!("code template of product {gtin}"))?,
        nhrn: from_json(&nhrn, &format!("NHRN values of product {gtin}"))?,
        min_grade,
        low_water_mark: u64::try_from(low_water).map_err(|_| bad("low_water_mark"))?,
        consecutive_reject_limit: u32::try_from(reject_limit)
            .map_err(|_| bad("consecutive_reject_limit"))?,
        aggregation: match aggregation {
            Some(text) => from_json(&text, &format!("packaging hierarchy of product {gtin}"))?,
            None => Vec::new(),
        },
        client_id,
        name,
    })
}

pub(crate) fn read_product(conn: &Connection, gtin: &str) -> StoreResult<Option<Product>> {
    let what = "reading a product";
    let row = conn
        .query_row(
            &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE gtin = ?1"),
            [gtin],
            product_row,
        )
        .optional()
        .context(what)?;
    row.map(product_from_row).transpose()
}

fn upsert_client(conn: &Connection, client: &Client, actor: &Actor) -> StoreResult<Change> {
    let what = format!("saving client {}", client.id);
    let before = read_client(conn, &client.id)?;
    if before.as_ref() == Some(client) {
        return Ok(Change::Unchanged);
    }
    conn.execute(
        "INSERT INTO clients (id, name, serial_source, upload, sscc, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, serial_source = excluded.serial_source,
             upload = excluded.upload, sscc = excluded.sscc, updated_at = excluded.updated_at",
        params![
            client.id,
            client.name,
            to_json(&client.serial_source, "a serial source")?,
            to_json(&client.upload, "an upload target")?,
            client
                .sscc
                .as_ref()
                .map(|s| to_json(s, "SSCC settings"))
                .transpose()?,
            clock::now()
        ],
    )
    .context(&what)?;
    let change = if before.is_some() {
        Change::Updated
    } else {
        Change::Added
    };
    audit::append(
        conn,
        actor,
        AuditRecord {
            action: if before.is_some() {
                "client.update"
            } else {
                "client.add"
            },
            subject: format!("client {}", client.id),
            before: before.map(|c| json!(c)),
            after: Some(json!(client)),
        },
    )?;
    Ok(change)
}

fn upsert_product(conn: &Connection, product: &Product, actor: &Actor) -> StoreResult<Change> {
    let gtin = product.gtin.as_str();
    let what = format!("saving product {gtin}");
    let before = read_product(conn, gtin)?;
    if let Some(existing) = &before {
        if existing.client_id != product.client_id {
            return Err(StoreError::Invalid(format!(
                "GTIN {gtin} already belongs to client {}, not {}: a GTIN has one brand owner; \
                 fix the GTIN in the file",
                existing.client_id, product.client_id
            )));
        }
        if existing == product {
            return Ok(Change::Unchanged);
        }
    }
    conn.execute(
        &format!(
            "INSERT INTO products ({PRODUCT_COLUMNS}, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (gtin) DO UPDATE SET name = excluded.name,
                 company_prefix_length = excluded.company_prefix_length, markets = excluded.markets,
                 code_template = excluded.code_template, nhrn = excluded.nhrn, min_grade = excluded.min_grade,
                 low_water_mark = excluded.low_water_mark,
                 consecutive_reject_limit = excluded.consecutive_reject_limit,
                 aggregation = excluded.aggregation, updated_at = excluded.updated_at"
        ),
        params![
            gtin,
            product.client_id,
            product.name,
            i64::from(product.company_prefix_length),
            to_json(&product.markets, "markets")?,
            to_json(&product.code_template, "a code template")?,
            to_json(&product.nhrn, "NHRN values")?,
            product.min_grade,
            i64::try_from(product.low_water_mark)
                .map_err(|_| StoreError::Invalid(format!("product {gtin}: low_water_mark is too large")))?,
            i64::from(product.consecutive_reject_limit),
            if product.aggregation.is_empty() {
                None
            } else {
                Some(to_json(&product.aggregation, "a packaging hierarchy")?)
            },
            clock::now()
        ],
    )
    .context(&what)?;
    let change = if before.is_some() {
        Change::Updated
    } else {
        Change::Added
    };
    audit::append(
        conn,
        actor,
        AuditRecord {
            action: if before.is_some() {
                "product.update"
            } else {
                "product.add"
            },
            subject: format!("product {gtin}"),
            before: before.map(|p| json!(p)),
            after: Some(json!(product)),
        },
    )?;
    Ok(change)
}

impl Store {
    /// Writes a validated client configuration (client and products) in one
    /// transaction; every added or changed record gets an audit row with before/after.
    pub fn load_client_config(
        &mut self,
        config: &ClientConfig,
        actor: &Actor,
    ) -> StoreResult<LoadReport> {
        let what = format!("loading the configuration of client {}", config.client.id);
        let tx = self.write_tx(&what)?;
        let client = upsert_client(&tx, &config.client, actor)?;
        let mut products = Vec::with_capacity(config.products.len());
        for product in &config.products {
            if product.client_id != config.client.id {
                return Err(StoreError::Invalid(format!(
                    "product {} names client {}, but the file defines client {}",
                    product.gtin, product.client_id, config.client.id
                )));
            }
            products.push((
                product.gtin.to_string(),
                upsert_product(&tx, product, actor)?,
            ));
        }
        tx.commit().context(&what)?;
        Ok(LoadReport {
            client_id: config.client.id.clone(),
            client,
            products,
        })
    }

    /// Every client, by id.
    pub fn clients(&self) -> StoreResult<Vec<Client>> {
        let what = "listing clients";
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM clients ORDER BY id")
            .context(what)?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .context(what)?;
        let mut clients = Vec::new();
        for id in ids {
            let id = id.context(what)?;
            if let Some(client) = read_client(&self.conn, &id)? {
                clients.push(client);
            }
        }
        Ok(clients)
    }

    /// One client by id.
    pub fn client(&self, id: &str) -> StoreResult<Option<Client>> {
        read_client(&self.conn, id)
    }

    /// Every product, by client and GTIN.
    pub fn products(&self) -> StoreResult<Vec<Product>> {
        let what = "listing products";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products ORDER BY client_id, gtin"
            ))
            .context(what)?;
        let rows = stmt.query_map([], product_row).context(what)?;
        let mut products = Vec::new();
        for row in rows {
            products.push(product_from_row(row.context(what)?)?);
        }
        Ok(products)
    }

    /// One product by GTIN.
    pub fn product(&self, gtin: &Gtin) -> StoreResult<Option<Product>> {
        read_product(&self.conn, gtin.as_str())
    }
}
