//! SSCCs from the client's serial source, as `sscc request` asks for them: the site
//! server's `POST <url>/sscc/request` (`{"company_prefix", "extension_digit",
//! "count"}` → `{"company_prefix", "ssccs": [...]}`) or SerialBox's allocation from
//! the pool `[client.sscc] serialbox_pool`, whose numbers are serial references the
//! station builds SSCCs from (extension digit, company prefix, reference, check
//! digit). Each answer is imported on its own through the store's SSCC import, all
//! or nothing; a wrong SSCC, one already in the store, or one under another prefix
//! imports nothing and says which.

use crate::config::{Client, SerialSource, SsccSettings};
use crate::gs1::Sscc;
use crate::pool::SerialLine;
use crate::store::{Actor, ImportOutcome, Store};

use super::{RequestError, answer, http};

/// What an SSCC request did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SsccRequestOutcome {
    pub client: String,
    pub company_prefix: String,
    /// SSCCs asked for.
    pub requested: u64,
    /// SSCCs imported into the client's pool.
    pub imported: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// False when the server granted fewer than asked.
    pub fulfilled: bool,
    pub source: String,
}

/// Largest count one `sscc request` asks for.
pub const MAX_SSCC_REQUEST: u64 = 1_000_000;

/// Requests `count` SSCCs for `client` in requests of at most its source's
/// `replenish_count`, importing each answer before the next; stops early, without
/// error, when the server grants fewer than asked.
pub async fn request_ssccs(
    store: &mut Store,
    client: &Client,
    count: u64,
    actor: &Actor,
) -> Result<SsccRequestOutcome, RequestError> {
    let config = |message: String| RequestError::Config {
        client: client.id.clone(),
        message,
    };
    let settings = client.sscc.as_ref().ok_or_else(|| {
        config("the client has no [client.sscc] table naming its GS1 Company Prefix: add one with company_prefix = \"...\" and `config load` the file".to_string())
    })?;
    let Some(per_request) = client.serial_source.replenish_count() else {
        return Err(config(
            "the client's serial source is local: use `sscc generate` or `sscc import`".to_string(),
        ));
    };
    if count == 0 {
        return Err(config("ask for at least 1 SSCC".to_string()));
    }
    crate::limits::check_count(
        "--count",
        count,
        MAX_SSCC_REQUEST,
        "request several times for more",
    )
    .map_err(config)?;
    let described = describe(&client.serial_source, settings);
    let http_client = http::http_client().map_err(config)?;
    let mut outcome = SsccRequestOutcome {
        client: client.id.clone(),
        company_prefix: settings.company_prefix.clone(),
        requested: count,
        imported: 0,
        requests: 0,
        fulfilled: true,
        source: described.clone(),
    };
    while outcome.imported < count {
        let ask = (count - outcome.imported).min(per_request.max(1));
        let once = Once {
            client,
            settings,
            described: &described,
            actor,
        };
        let granted = match once.run(store, &http_client, ask).await {
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

/// The source, for messages and the audit trail (never a secret).
fn describe(source: &SerialSource, settings: &SsccSettings) -> String {
    match source {
        SerialSource::Serialbox { url, .. } => match &settings.serialbox_pool {
            Some(pool) => format!("SerialBox pool {pool} at {url}"),
            None => format!("SerialBox at {url}"),
        },
        SerialSource::SiteServer { url, .. } => format!("the site server at {url}"),
        SerialSource::Local => "the local pool".to_string(),
    }
}

/// One request and its import.
struct Once<'a> {
    client: &'a Client,
    settings: &'a SsccSettings,
    described: &'a str,
    actor: &'a Actor,
}

impl Once<'_> {
    async fn run(
        &self,
        store: &mut Store,
        http_client: &reqwest::Client,
        ask: u64,
    ) -> Result<u64, RequestError> {
        let call = http::sscc_call_for(&self.client.serial_source, self.settings, ask).map_err(
            |message| RequestError::Config {
                client: self.client.id.clone(),
                message,
            },
        )?;
        let shown_url = call.url.to_string();
        let answer =
            http::send(http_client, call)
                .await
                .map_err(|message| RequestError::Unreachable {
                    server: format!("{} ({shown_url})", self.described),
                    message,
                })?;
        if !answer.status.is_success() {
            return Err(RequestError::Refused {
                server: self.described.to_string(),
                status: answer.status.as_u16(),
                message: http::refusal_text(&answer.body),
            });
        }
        let bad = |message: String| RequestError::BadAnswer {
            server: self.described.to_string(),
            message,
        };
        let ssccs = match self.client.serial_source {
            SerialSource::Serialbox { .. } => {
                let references = answer::serialbox_serials(&answer.body, ask).map_err(bad)?;
                ssccs_of_references(self.settings, &references).map_err(bad)?
            }
            _ => answer::site_server_ssccs(&answer.body, &self.settings.company_prefix, ask)
                .map_err(bad)?,
        };
        let lines = ssccs.into_iter().enumerate().map(|(i, serial)| {
            Ok(SerialLine {
                line: i as u64 + 1,
                serial,
            })
        });
        match store.import_ssccs(
            &self.client.id,
            &self.settings.company_prefix,
            lines,
            self.described,
            self.actor,
        )? {
            ImportOutcome::Imported { count } => Ok(count),
            ImportOutcome::Rejected { problems, total } => Err(RequestError::Rejected {
                server: self.described.to_string(),
                problems,
                total,
            }),
        }
    }
}

/// The SSCCs of SerialBox serial references under the client's prefix and
/// extension digit (pure): each reference must be decimal and fit the digits the
/// prefix leaves.
pub fn ssccs_of_references(
    settings: &SsccSettings,
    references: &[String],
) -> Result<Vec<String>, String> {
    references
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let reference: u64 = text.parse().map_err(|_| {
                format!(
                    "number {} ({text:?}) is not a decimal serial reference: configure the SSCC pool for decimal numbers",
                    i + 1
                )
            })?;
            Sscc::build(
                settings.extension_digit,
                &settings.company_prefix,
                reference,
            )
            .map(|s| s.as_str().to_string())
            .map_err(|e| format!("number {}: {}", i + 1, e.message))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_references_become_ssccs_under_the_prefix() {
        let settings = SsccSettings {
            company_prefix: "0614141".into(),
            extension_digit: 1,
            serialbox_pool: Some("p".into()),
        };
        let built = ssccs_of_references(&settings, &["123456789".into(), "7".into()]).unwrap();
        assert_eq!(built, ["106141411234567897", "106141410000000071"]);
        let e = ssccs_of_references(&settings, &["1000000000".into()]).unwrap_err();
        assert!(e.contains("does not fit"), "{e}");
        let e = ssccs_of_references(&settings, &["ABC".into()]).unwrap_err();
        assert!(e.contains("not a decimal"), "{e}");
    }
}
