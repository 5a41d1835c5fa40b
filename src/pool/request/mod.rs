//! Serial numbers from the client's site server: how many to ask for (pure), asking
//! (a simulated / OPEN-SCS style site server's `POST <url>/request`, or QU4RTET
//! SerialBox's `GET <url>/serialbox/allocate/<pool>/<size>/?format=json`), and
//! importing each answer into the pool through the store's import, all or nothing.
//!
//! An answer that is not what was asked for (not JSON, another GTIN, more serials
//! than requested, a serial the line cannot print, a serial already in the pool)
//! imports nothing and says what was wrong.
//!
//! - [`answer`]: reading each server's answer (pure);
//! - [`http`]: endpoints, credentials, the HTTP call.

pub mod answer;
pub mod http;
pub mod sscc;

use super::{LineProblem, SerialLine};
use crate::config::{Client, Product, SerialSource};
use crate::gs1::Gtin;
use crate::store::{Actor, ImportOutcome, PoolStatus, SerialState, Store};

/// How many serials to request for this pool now (None = enough), pure: nothing for
/// a local source or a pool at or above the product's low-water mark; otherwise
/// enough whole requests of the source's `replenish_count` to reach the mark again.
pub fn replenishment_needed(
    pool: &PoolStatus,
    product: &Product,
    source: &SerialSource,
) -> Option<u64> {
    let per_request = source.replenish_count()?.max(1);
    let unallocated = pool.count(SerialState::Unallocated);
    let missing = product.low_water_mark.checked_sub(unallocated)?;
    if missing == 0 {
        return None;
    }
    Some(missing.div_ceil(per_request).saturating_mul(per_request))
}

/// What a request did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestOutcome {
    pub gtin: String,
    /// Serials asked for.
    pub requested: u64,
    /// Serials imported into the pool.
    pub imported: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// False when the server granted fewer than asked (its pool is running out).
    pub fulfilled: bool,
    /// The source, for messages: e.g. `SerialBox pool p1 at https://…`.
    pub source: String,
}

/// Why a request imported nothing (or, for [`RequestError::AfterPartial`], not all).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(
        "the serials of client {client} are local: use serialstation pool import or pool generate"
    )]
    LocalSource { client: String },
    #[error(
        "GTIN {gtin} is not in the product master: load its client configuration first (serialstation config load FILE)"
    )]
    UnknownProduct { gtin: String },
    #[error("GTIN {gtin} is a product of client {owner}, not of client {client}")]
    OtherClient {
        gtin: String,
        owner: String,
        client: String,
    },
    #[error("serial source of client {client}: {message}")]
    Config { client: String, message: String },
    #[error("{server}: {message}; nothing was imported, try again when it is reachable")]
    Unreachable { server: String, message: String },
    #[error("{server} refused the request ({status}): {message}; nothing was imported")]
    Refused {
        server: String,
        status: u16,
        message: String,
    },
    #[error("{server} answered something unusable: {message}; nothing was imported")]
    BadAnswer { server: String, message: String },
    #[error("{server} sent serials the pool cannot take ({total} problem(s)): {}; nothing was imported", summary(.problems, *.total))]
    Rejected {
        server: String,
        problems: Vec<LineProblem>,
        total: u64,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(
        "{failure} (the {imported} serials of the earlier requests of this call were imported)"
    )]
    AfterPartial {
        imported: u64,
        failure: Box<RequestError>,
    },
}

impl RequestError {
    /// Serials imported before the failure.
    pub fn imported(&self) -> u64 {
        match self {
            RequestError::AfterPartial { imported, .. } => *imported,
            _ => 0,
        }
    }
}

/// The first few problems, numbered by their place in the answer.
fn summary(problems: &[LineProblem], total: u64) -> String {
    const SHOWN: usize = 5;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .map(|p| {
            if p.line == 0 {
                p.reason.clone()
            } else {
                format!("serial {} of the answer: {}", p.line, p.reason)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let shown = problems.len().min(SHOWN) as u64;
    if total > shown {
        text.push_str(&format!("; and {} more", total - shown));
    }
    text
}

/// Describes a source for messages and the audit trail (never a secret).
pub fn describe_source(source: &SerialSource, gtin: &str) -> String {
    match source {
        SerialSource::Local => "the local pool".to_string(),
        SerialSource::SiteServer { url, .. } => format!("the site server at {url}"),
        SerialSource::Serialbox { url, .. } => match source.serialbox_pool(gtin) {
            Some(pool) => format!("SerialBox pool {pool} at {url}"),
            None => format!("SerialBox at {url}"),
        },
    }
}

/// Requests `count` serials for `gtin` from the client's serial source and imports them.
///
/// Asks in requests of at most the source's `replenish_count`; each answer is imported
/// on its own, all or nothing, before the next request. Stops early, without error,
/// when the server grants fewer than asked (`fulfilled` is then false).
pub async fn request_serials(
    store: &mut Store,
    client: &Client,
    gtin: &Gtin,
    count: u64,
    actor: &Actor,
) -> Result<RequestOutcome, RequestError> {
    let source = &client.serial_source;
    let Some(per_request) = source.replenish_count() else {
        return Err(RequestError::LocalSource {
            client: client.id.clone(),
        });
    };
    let config = |message: String| RequestError::Config {
        client: client.id.clone(),
        message,
    };
    let product = store
        .product(gtin)?
        .ok_or_else(|| RequestError::UnknownProduct {
            gtin: gtin.to_string(),
        })?;
    if product.client_id != client.id {
        return Err(RequestError::OtherClient {
            gtin: gtin.to_string(),
            owner: product.client_id,
            client: client.id.clone(),
        });
    }
    if count == 0 {
        return Err(config("ask for at least 1 serial".to_string()));
    }
    crate::limits::check_count(
        "--count",
        count,
        crate::limits::MAX_REQUEST_COUNT,
        "request several times for more",
    )
    .map_err(config)?;
    let described = describe_source(source, gtin.as_str());
    let http_client = http::http_client().map_err(config)?;
    let mut outcome = RequestOutcome {
        gtin: gtin.to_string(),
        requested: count,
        imported: 0,
        requests: 0,
        fulfilled: true,
        source: described.clone(),
    };
    while outcome.imported < count {
        let ask = (count - outcome.imported).min(per_request.max(1));
        let result = request_once(store, &http_client, client, gtin, ask, &described, actor).await;
        let granted = match result {
            Ok(granted) => granted,
            Err(failure) if outcome.imported == 0 => return Err(failure),
            Err(failure) => {
                return Err(RequestError::AfterPartial {
                    imported: outcome.imported,
                    failure: Box::new(failure),
                });
            }
        };
        outcome.requests += 1;
        outcome.imported += granted;
        if granted < ask {
            outcome.fulfilled = false;
            break;
        }
    }
    Ok(outcome)
}

/// One request and its import; returns how many serials were imported.
async fn request_once(
    store: &mut Store,
    http_client: &reqwest::Client,
    client: &Client,
    gtin: &Gtin,
    ask: u64,
    described: &str,
    actor: &Actor,
) -> Result<u64, RequestError> {
    let call = http::call_for(&client.serial_source, gtin.as_str(), ask).map_err(|message| {
        RequestError::Config {
            client: client.id.clone(),
            message,
        }
    })?;
    let shown_url = call.url.to_string();
    let answer =
        http::send(http_client, call)
            .await
            .map_err(|message| RequestError::Unreachable {
                server: format!("{described} ({shown_url})"),
                message,
            })?;
    if !answer.status.is_success() {
        return Err(RequestError::Refused {
            server: described.to_string(),
            status: answer.status.as_u16(),
            message: http::refusal_text(&answer.body),
        });
    }
    let serials = match client.serial_source {
        SerialSource::Serialbox { .. } => answer::serialbox_serials(&answer.body, ask),
        _ => answer::site_server_serials(&answer.body, gtin.as_str(), ask),
    }
    .map_err(|message| RequestError::BadAnswer {
        server: described.to_string(),
        message,
    })?;
    let lines = serials.into_iter().enumerate().map(|(i, serial)| {
        Ok(SerialLine {
            line: i as u64 + 1,
            serial,
        })
    });
    match store.import_serials(gtin, lines, described, actor)? {
        ImportOutcome::Imported { count } => Ok(count),
        ImportOutcome::Rejected { problems, total } => Err(RequestError::Rejected {
            server: described.to_string(),
            problems,
            total,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn product(low_water_mark: u64) -> Product {
        Product {
            gtin: Gtin::parse("09506000134352").unwrap(),
            client_id: "c".into(),
            name: "p".into(),
            company_prefix_length: 7,
            markets: vec!["DE".into()],
            code_template: Vec::new(),
            nhrn: BTreeMap::new(),
            min_grade: 1.5,
            low_water_mark,
            consecutive_reject_limit: 3,
            aggregation: Vec::new(),
        }
    }

    fn pool(unallocated: u64) -> PoolStatus {
        let mut counts = [0; 12];
        counts[usize::from(SerialState::Unallocated.code())] = unallocated;
        PoolStatus {
            gtin: "09506000134352".into(),
            product_name: "p".into(),
            counts,
            low_water_mark: 0,
        }
    }

    fn site(replenish_count: u64) -> SerialSource {
        SerialSource::SiteServer {
            url: "http://127.0.0.1:1/serials".into(),
            secret: None,
            replenish_count,
            allow_plain_http: false,
        }
    }

    #[test]
    fn replenishment_in_whole_requests() {
        assert_eq!(
            replenishment_needed(&pool(0), &product(100), &SerialSource::Local),
            None
        );
        assert_eq!(
            replenishment_needed(&pool(100), &product(100), &site(30)),
            None
        );
        assert_eq!(
            replenishment_needed(&pool(500), &product(100), &site(30)),
            None
        );
        assert_eq!(
            replenishment_needed(&pool(99), &product(100), &site(30)),
            Some(30)
        );
        assert_eq!(
            replenishment_needed(&pool(0), &product(100), &site(30)),
            Some(120)
        );
        assert_eq!(replenishment_needed(&pool(0), &product(0), &site(30)), None);
    }
}
