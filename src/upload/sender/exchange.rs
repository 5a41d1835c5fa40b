//! One delivery attempt of one chunk over HTTP, and what the site server's answer
//! means: delivered, retry later (timeouts, 5xx, answers that make no sense), or park
//! (the site server refused the chunk; its own message is kept for the operator).
//!
//! [`classify_capture_job`] and [`classify_refusal`] are pure, so every answer shape
//! is unit-tested without a server.

use std::collections::HashSet;

use reqwest::StatusCode;

use super::chunk::ChunkPayload;
use super::target::{CaptureProtocol, SiteTarget};
use crate::upload::{DocumentFormat, EpcisDocument};

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The site server holds every event of the chunk (now or from an earlier attempt).
    Delivered,
    /// Try again later; the reason is shown to the operator.
    Retry(String),
    /// The site server refused the chunk; it waits for the operator.
    Park(String),
}

/// Problem type a site server uses for an event it already holds.
pub const ALREADY_EXISTS: &str = "ResourceAlreadyExistsException";

/// What the sender learned about a capture ID during an attempt (to persist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureIdChange {
    Unchanged,
    Set(String),
    Cleared,
}

/// Maps a capture job (`GET /capture/{id}` body) to an attempt result, or `None`
/// while it is still running.
pub fn classify_capture_job(job: &serde_json::Value, event_ids: &[String]) -> Option<Attempt> {
    let running = job.get("running").and_then(|v| v.as_bool());
    let success = job.get("success").and_then(|v| v.as_bool());
    match (running, success) {
        (Some(true), _) => None,
        (Some(false), Some(true)) => Some(Attempt::Delivered),
        (Some(false), Some(false)) => {
            let errors = job.get("errors").and_then(|e| e.as_array());
            Some(classify_refusal(
                errors.map(Vec::as_slice).unwrap_or(&[]),
                event_ids,
                "capture job failed",
            ))
        }
        _ => Some(Attempt::Retry(format!(
            "the site server's capture job answer has no running/success flags: {}",
            truncate(&job.to_string())
        ))),
    }
}

/// A refusal listing problems: delivered when every problem says "already exists"
/// and together they name every event of the chunk; otherwise parked with the
/// site server's messages.
pub fn classify_refusal(
    problems: &[serde_json::Value],
    event_ids: &[String],
    context: &str,
) -> Attempt {
    let mut existing = HashSet::new();
    let mut other = Vec::new();
    for problem in problems {
        let kind = problem.get("type").and_then(|v| v.as_str()).unwrap_or("");
        let instance = problem.get("instance").and_then(|v| v.as_str());
        match instance {
            Some(id) if kind.ends_with(ALREADY_EXISTS) => {
                existing.insert(id.to_string());
            }
            _ => other.push(problem_text(problem)),
        }
    }
    if other.is_empty() && !event_ids.is_empty() && event_ids.iter().all(|id| existing.contains(id))
    {
        return Attempt::Delivered;
    }
    if other.is_empty() && !existing.is_empty() {
        other.push(format!(
            "{} of {} events already exist at the site server and the others were not stored",
            existing.len(),
            event_ids.len()
        ));
    }
    if other.is_empty() {
        other.push("no reason given".to_string());
    }
    Attempt::Park(format!(
        "site server refused the chunk ({context}): {}",
        other.join("; ")
    ))
}

fn problem_text(problem: &serde_json::Value) -> String {
    let field = |name: &str| problem.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let text = [
        field("type"),
        field("title"),
        field("detail"),
        field("instance"),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(": ");
    if text.is_empty() {
        truncate(&problem.to_string())
    } else {
        text
    }
}

fn truncate(text: &str) -> String {
    const MAX: usize = 500;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The site server's message in a 4xx answer body.
fn refusal_message(status: StatusCode, body: &str) -> String {
    let message = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(problem) if problem.is_object() => problem_text(&problem),
        _ => truncate(body.trim()),
    };
    format!("site server answered {status}: {message}")
}

fn transport_failure(what: &str, e: &reqwest::Error) -> Attempt {
    let why = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        super::run::connect_failure(e)
    } else {
        // Without the URL's query; the URL never carries credentials.
        e.to_string()
    };
    Attempt::Retry(format!("{what}: {why}"))
}

/// One attempt for one chunk. `capture_id` is the persisted ID of an earlier
/// capture of this chunk; `persist` is called with every change before the attempt
/// goes on, so that a crash right after never resends blindly.
pub async fn attempt(
    http: &reqwest::Client,
    target: &SiteTarget,
    chunk: &ChunkPayload,
    capture_id: Option<String>,
    persist: &mut dyn FnMut(CaptureIdChange) -> Result<(), String>,
) -> Attempt {
    let document = match chunk.render() {
        Ok(document) => document,
        Err(e) => return Attempt::Park(format!("the chunk cannot be rendered: {e}")),
    };
    let event_ids: Vec<String> = document.events.iter().map(|e| e.event_id.clone()).collect();
    match target.protocol {
        CaptureProtocol::Epcis12 => {
            if document.format != DocumentFormat::Epcis12Xml {
                return Attempt::Park(
                    "the chunk is EPCIS 2.0 JSON-LD but the client's site server takes EPCIS 1.2 XML; change the client's format back or export and send it by hand".to_string(),
                );
            }
            post_epcis12(http, target, document, &event_ids).await
        }
        CaptureProtocol::Epcis2Capture => {
            let capture_id = match capture_id {
                Some(id) => id,
                None => match post_capture(http, target, document).await {
                    Ok(id) => {
                        if let Err(e) = persist(CaptureIdChange::Set(id.clone())) {
                            return Attempt::Retry(e);
                        }
                        id
                    }
                    Err(attempt) => return attempt,
                },
            };
            let outcome = poll_capture_job(http, target, &capture_id, &event_ids).await;
            if let PollOutcome::UnknownJob = outcome {
                if let Err(e) = persist(CaptureIdChange::Cleared) {
                    return Attempt::Retry(e);
                }
                return Attempt::Retry(format!(
                    "the site server does not know capture {capture_id}; the chunk will be sent again (already stored events are recognised by their event IDs)"
                ));
            }
            match outcome {
                PollOutcome::Done(attempt) => attempt,
                PollOutcome::UnknownJob => Attempt::Retry(String::new()),
            }
        }
    }
}

fn request(
    http: &reqwest::Client,
    target: &SiteTarget,
    method: reqwest::Method,
    url: reqwest::Url,
) -> reqwest::RequestBuilder {
    let request = http.request(method, url).timeout(target.request_timeout);
    match &target.credentials {
        Some(credentials) => credentials.apply(request),
        None => request,
    }
}

async fn post_capture(
    http: &reqwest::Client,
    target: &SiteTarget,
    document: EpcisDocument,
) -> Result<String, Attempt> {
    let response = request(
        http,
        target,
        reqwest::Method::POST,
        target.capture_url.clone(),
    )
    .header(
        reqwest::header::CONTENT_TYPE,
        document.format.content_type(),
    )
    .header("GS1-EPCIS-Version", "2.0.0")
    .header("GS1-Capture-Error-Behaviour", "rollback")
    .body(document.bytes)
    .send()
    .await
    .map_err(|e| transport_failure("sending the capture", &e))?;
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().await.unwrap_or_default();
    if status == StatusCode::ACCEPTED {
        let Some(location) = location else {
            return Err(Attempt::Retry(
                "the site server accepted the capture without a Location; it will be sent again"
                    .to_string(),
            ));
        };
        let id = location
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        if id.is_empty() {
            return Err(Attempt::Retry(format!(
                "the capture Location {location:?} names no capture ID"
            )));
        }
        return Ok(id);
    }
    Err(classify_status(status, &body))
}

/// 5xx, 408, 429 and unexpected successes retry; other 4xx park.
pub fn classify_status(status: StatusCode, body: &str) -> Attempt {
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Attempt::Retry(format!("site server answered {status}; trying again later"))
    } else if status.is_client_error() {
        Attempt::Park(refusal_message(status, body))
    } else {
        Attempt::Retry(format!(
            "site server answered {status}, which a capture interface does not answer: {}",
            truncate(body.trim())
        ))
    }
}

enum PollOutcome {
    Done(Attempt),
    UnknownJob,
}

async fn poll_capture_job(
    http: &reqwest::Client,
    target: &SiteTarget,
    capture_id: &str,
    event_ids: &[String],
) -> PollOutcome {
    let url = match target.capture_url.join(&format!(
        "{}/{capture_id}",
        target.capture_url.path().trim_end_matches('/')
    )) {
        Ok(url) => url,
        Err(e) => {
            return PollOutcome::Done(Attempt::Park(format!(
                "cannot build the capture job URL: {e}"
            )));
        }
    };
    for poll in 0..target.max_polls_per_attempt.max(1) {
        if poll > 0 {
            tokio::time::sleep(target.poll_interval).await;
        }
        let response = match request(http, target, reqwest::Method::GET, url.clone())
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                return PollOutcome::Done(transport_failure("asking for the capture job", &e));
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::NOT_FOUND {
            return PollOutcome::UnknownJob;
        }
        if status != StatusCode::OK {
            return PollOutcome::Done(match classify_status(status, &body) {
                Attempt::Park(message) => {
                    Attempt::Park(format!("asking for capture {capture_id}: {message}"))
                }
                other => other,
            });
        }
        let job: serde_json::Value = match serde_json::from_str(&body) {
            Ok(job) => job,
            Err(_) => {
                return PollOutcome::Done(Attempt::Retry(format!(
                    "the capture job answer is not JSON: {}",
                    truncate(body.trim())
                )));
            }
        };
        if let Some(attempt) = classify_capture_job(&job, event_ids) {
            return PollOutcome::Done(attempt);
        }
    }
    PollOutcome::Done(Attempt::Retry(format!(
        "capture {capture_id} is still running"
    )))
}

async fn post_epcis12(
    http: &reqwest::Client,
    target: &SiteTarget,
    document: EpcisDocument,
    event_ids: &[String],
) -> Attempt {
    let response = match request(
        http,
        target,
        reqwest::Method::POST,
        target.capture_url.clone(),
    )
    .header(
        reqwest::header::CONTENT_TYPE,
        document.format.content_type(),
    )
    .body(document.bytes)
    .send()
    .await
    {
        Ok(response) => response,
        Err(e) => return transport_failure("sending the EPCIS 1.2 document", &e),
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if matches!(
        status,
        StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT
    ) {
        return Attempt::Delivered;
    }
    if status == StatusCode::CONFLICT {
        let problems = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
            .unwrap_or_default();
        return match classify_refusal(&problems, event_ids, "409 Conflict") {
            Attempt::Park(message) if problems.is_empty() => {
                Attempt::Park(format!("{message}; {}", refusal_message(status, &body)))
            }
            other => other,
        };
    }
    if status.is_server_error() && body.contains("already been commissioned") {
        // QU4RTET answers a document with an EPC it already holds with a 500 and its
        // parser's message: sending it again can never succeed, so it is parked for
        // the operator instead of retried for ever.
        return Attempt::Park(format!(
            "the site server refuses the document because it already holds some of its EPCs ({}); if an earlier attempt of this chunk was stored (its answer was lost), check that the site server holds every EPC of the chunk before retrying",
            truncate(body.trim())
        ));
    }
    classify_status(status, &body)
}

/// What an EPCIS 2.0 site server announces in `OPTIONS /capture`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnnouncedLimits {
    /// `GS1-EPCIS-Capture-Limit`: most events in one capture.
    pub events_per_capture: Option<u64>,
    /// `GS1-EPCIS-Capture-File-Size-Limit`: most bytes in one capture.
    pub bytes_per_capture: Option<u64>,
}

/// Reads the capture limits from the headers of an `OPTIONS /capture` answer (pure).
pub fn limits_from_headers(headers: &reqwest::header::HeaderMap) -> AnnouncedLimits {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    };
    AnnouncedLimits {
        events_per_capture: number("GS1-EPCIS-Capture-Limit"),
        bytes_per_capture: number("GS1-EPCIS-Capture-File-Size-Limit"),
    }
}

/// Asks an EPCIS 2.0 site server for its capture limits. A site server that does
/// not answer `OPTIONS` (or refuses it) announces none; `Err` means "ask again
/// later" (no connection, no answer in time, 5xx).
pub async fn announced_limits(
    http: &reqwest::Client,
    target: &SiteTarget,
) -> Result<AnnouncedLimits, String> {
    let response = request(
        http,
        target,
        reqwest::Method::OPTIONS,
        target.capture_url.clone(),
    )
    .send()
    .await
    .map_err(
        |e| match transport_failure("asking for the capture limits", &e) {
            Attempt::Retry(why) | Attempt::Park(why) => why,
            Attempt::Delivered => "asking for the capture limits failed".to_string(),
        },
    )?;
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(format!(
            "asking for the capture limits: site server answered {status}"
        ));
    }
    if status.is_success() {
        return Ok(limits_from_headers(response.headers()));
    }
    Ok(AnnouncedLimits::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capture_limits_are_read_from_headers() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("GS1-EPCIS-Capture-Limit", "500".parse().unwrap());
        headers.insert("GS1-EPCIS-Capture-File-Size-Limit", "x".parse().unwrap());
        assert_eq!(
            limits_from_headers(&headers),
            AnnouncedLimits {
                events_per_capture: Some(500),
                bytes_per_capture: None
            }
        );
    }

    fn ids() -> Vec<String> {
        vec!["e1".into(), "e2".into()]
    }

    #[test]
    fn capture_job_answers_are_classified() {
        assert_eq!(
            classify_capture_job(&json!({"running": true, "success": false}), &ids()),
            None
        );
        assert_eq!(
            classify_capture_job(&json!({"running": false, "success": true}), &ids()),
            Some(Attempt::Delivered)
        );
        let dupes = json!({"running": false, "success": false, "errors": [
            {"type": "epcisException:ResourceAlreadyExistsException", "instance": "e1"},
            {"type": "epcisException:ResourceAlreadyExistsException", "instance": "e2"}]});
        assert_eq!(
            classify_capture_job(&dupes, &ids()),
            Some(Attempt::Delivered)
        );
        let partial = json!({"running": false, "success": false, "errors": [
            {"type": "epcisException:ResourceAlreadyExistsException", "instance": "e1"}]});
        assert!(matches!(
            classify_capture_job(&partial, &ids()),
            Some(Attempt::Park(_))
        ));
        let refused = json!({"running": false, "success": false, "errors": [
            {"type": "epcisException:ValidationException", "title": "bad epc"}]});
        match classify_capture_job(&refused, &ids()) {
            Some(Attempt::Park(m)) => assert!(m.contains("bad epc"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_capture_job(&json!({"x": 1}), &ids()),
            Some(Attempt::Retry(_))
        ));
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(
            classify_status(StatusCode::SERVICE_UNAVAILABLE, ""),
            Attempt::Retry(_)
        ));
        assert!(matches!(
            classify_status(StatusCode::OK, "x"),
            Attempt::Retry(_)
        ));
        match classify_status(
            StatusCode::BAD_REQUEST,
            r#"{"type":"epcisException:ValidationException","title":"no"}"#,
        ) {
            Attempt::Park(m) => assert!(m.contains("ValidationException: no"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
