//! HTTP/1.1 routing and answers of the simulated site server (hyper): authentication,
//! limits, faults, and the endpoints described in the module above.

// Refusals travel as the finished HTTP answer (built once per request, never hot).
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::faults::{FaultTarget, SiteFault};
use super::parse::{self, CapturedEvent, ParseRefusal};
use super::records::{ALREADY_EXISTS, CaptureOutcome};
use super::{Shared, SiteAuth, lock};

type Answer = Response<Full<Bytes>>;

/// Returned by a handler to make hyper close the connection without an answer.
#[derive(Debug)]
pub struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose (fault injection)")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Accepts connections until the server is told to stop; with an acceptor, each
/// connection does its TLS handshake first (a failed handshake only ends that
/// connection).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let mut stopping = shared.stopping.clone();
    loop {
        tokio::select! {
            _ = stopping.changed() => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("site server: accepting a connection failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let shared = shared.clone();
                let acceptor = acceptor.clone();
                let mut stop = shared.stopping.clone();
                tokio::spawn(async move {
                    let connection = async move {
                        match acceptor {
                            None => serve_connection(stream, shared).await,
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(tls) => serve_connection(tls, shared).await,
                                Err(e) => tracing::info!("site server: TLS handshake failed: {e}"),
                            },
                        }
                    };
                    tokio::select! {
                        _ = connection => {}
                        _ = stop.changed() => {}
                    }
                });
            }
        }
    }
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it ends.
async fn serve_connection<S>(stream: S, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(shared.clone(), req));
    if let Err(e) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!("site server: connection ended: {e}");
    }
}

fn answer(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

fn problem(status: StatusCode, kind: &str, title: &str) -> Answer {
    let body = serde_json::json!({ "type": kind, "title": title, "status": status.as_u16() });
    answer(status, "application/problem+json", body.to_string())
}

fn route_of(method: &Method, path: &str) -> Option<FaultTarget> {
    match (method, path) {
        (&Method::POST, "/capture") => Some(FaultTarget::Capture),
        (&Method::GET, p) if p.starts_with("/capture/") => Some(FaultTarget::CaptureJob),
        (&Method::POST, "/epcis12/capture") => Some(FaultTarget::Epcis12Capture),
        (&Method::POST, "/serials/request") => Some(FaultTarget::SerialRequest),
        (&Method::POST, "/serials/sscc/request") => Some(FaultTarget::SsccRequest),
        _ => None,
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Answer, ConnectionDropped> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if !authorised(&shared.config.auth, &req) {
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            "epcisException:SecurityException",
            "missing or wrong credentials",
        );
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer"),
        );
        return Ok(response);
    }
    if method == Method::OPTIONS && path == "/capture" {
        let mut response = answer(StatusCode::NO_CONTENT, "text/plain", Bytes::new());
        let headers = response.headers_mut();
        for (name, value) in [
            ("GS1-EPCIS-Capture-Limit", shared.config.capture_limit),
            (
                "GS1-EPCIS-Capture-File-Size-Limit",
                shared.config.file_size_limit,
            ),
        ] {
            if let Ok(value) = value.to_string().parse() {
                headers.insert(name, value);
            }
        }
        headers.insert(
            "Allow",
            hyper::header::HeaderValue::from_static("OPTIONS, POST, GET"),
        );
        return Ok(response);
    }
    let Some(route) = route_of(&method, &path) else {
        return Ok(problem(
            StatusCode::NOT_FOUND,
            "epcisException:NoSuchResourceException",
            &format!("no endpoint {method} {path}"),
        ));
    };
    let fault = lock(&shared.faults).take(route);
    match fault {
        Some(SiteFault::ServerError(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(problem(
                status,
                "epcisException:ImplementationException",
                "simulated server error",
            ));
        }
        Some(SiteFault::Garbage) => {
            return Ok(answer(
                StatusCode::OK,
                "text/html",
                "<html>%%% not an EPCIS answer %%%",
            ));
        }
        Some(SiteFault::NoAnswer) => {
            let _ = read_body(req, shared.config.file_size_limit).await;
            let mut stopping = shared.stopping.clone();
            let _ = stopping.wait_for(|stop| *stop).await;
            return Err(ConnectionDropped);
        }
        _ => {}
    }
    let response = match route {
        FaultTarget::Capture => capture(&shared, req).await,
        FaultTarget::CaptureJob => Ok(capture_job(&shared, &path)),
        FaultTarget::Epcis12Capture => epcis12_capture(&shared, req).await,
        FaultTarget::SerialRequest => serial_request(&shared, req).await,
        FaultTarget::SsccRequest => sscc_request(&shared, req).await,
        FaultTarget::Any => Ok(problem(
            StatusCode::NOT_FOUND,
            "epcisException:NoSuchResourceException",
            "no endpoint",
        )),
    };
    let response = response.unwrap_or_else(|refusal| refusal);
    match fault {
        Some(SiteFault::DropAfterBody) => Err(ConnectionDropped),
        Some(SiteFault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(response)
        }
        _ => Ok(response),
    }
}

fn authorised(auth: &SiteAuth, req: &Request<Incoming>) -> bool {
    let expected = match auth {
        SiteAuth::Open => return true,
        SiteAuth::Bearer(token) => format!("Bearer {token}"),
        SiteAuth::Basic { user, password } => basic_authorization(user, password),
    };
    req.headers()
        .get(AUTHORIZATION)
        .is_some_and(|given| given.as_bytes() == expected.as_bytes())
}

/// The `Authorization` value of HTTP Basic authentication (RFC 7617).
fn basic_authorization(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

/// The request body, or the answer that refuses it (413 above the size limit).
async fn read_body(req: Request<Incoming>, limit: u64) -> Result<(String, Bytes), Answer> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "epcisException:CaptureLimitExceededException",
            &format!("the body is larger than the capture file size limit of {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok((content_type, collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            &format!("the body could not be read: {e}"),
        )),
    }
}

fn parse_by_content_type(content_type: &str, body: &[u8]) -> Result<Vec<CapturedEvent>, Answer> {
    let parsed = if content_type.contains("json") {
        parse::parse_json_document(body)
    } else if content_type.contains("xml") {
        parse::parse_xml_document(body)
    } else {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "epcisException:UnsupportedMediaTypeException",
            &format!(
                "content type {content_type:?} is not accepted; send application/ld+json, application/json or application/xml"
            ),
        ));
    };
    parsed.map_err(|ParseRefusal(why)| {
        problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            &why,
        )
    })
}

fn check_capture_limit(shared: &Shared, events: &[CapturedEvent]) -> Result<(), Answer> {
    if events.len() as u64 > shared.config.capture_limit {
        return Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "epcisException:CaptureLimitExceededException",
            &format!(
                "{} events in one capture; at most {} are accepted",
                events.len(),
                shared.config.capture_limit
            ),
        ));
    }
    if events.is_empty() {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            "the document holds no events",
        ));
    }
    Ok(())
}

async fn store(
    shared: &Arc<Shared>,
    capture_id: String,
    events: Vec<CapturedEvent>,
    proceed: bool,
) -> Result<CaptureOutcome, Answer> {
    let shared = shared.clone();
    let stored = tokio::task::spawn_blocking(move || {
        lock(&shared.records).capture(&capture_id, &now_rfc3339(), &events, proceed)
    })
    .await;
    match stored {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(e)) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "epcisException:ImplementationException",
            &e.to_string(),
        )),
        Err(e) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "epcisException:ImplementationException",
            &format!("capture task failed: {e}"),
        )),
    }
}

async fn capture(shared: &Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Answer> {
    let proceed = req
        .headers()
        .get("GS1-Capture-Error-Behaviour")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("proceed"));
    let (content_type, body) = read_body(req, shared.config.file_size_limit).await?;
    let events = parse_by_content_type(&content_type, &body)?;
    check_capture_limit(shared, &events)?;
    let capture_id = format!(
        "{}-{}",
        shared.capture_prefix,
        shared.next_capture.fetch_add(1, Ordering::Relaxed)
    );
    store(shared, capture_id.clone(), events, proceed).await?;
    let mut response = answer(StatusCode::ACCEPTED, "text/plain", Bytes::new());
    if let Ok(location) = format!("/capture/{capture_id}").parse() {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

fn capture_job(shared: &Shared, path: &str) -> Answer {
    let capture_id = path.trim_start_matches("/capture/");
    let job = lock(&shared.records).capture_job(capture_id);
    let job = match job {
        Ok(Some(job)) => job,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "epcisException:NoSuchResourceException",
                &format!("no capture job {capture_id}"),
            );
        }
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "epcisException:ImplementationException",
                &e.to_string(),
            );
        }
    };
    let running = {
        let mut polls = lock(&shared.job_polls);
        let seen = polls.entry(job.capture_id.clone()).or_insert(0);
        *seen += 1;
        *seen <= shared.config.polls_while_running
    };
    let body = serde_json::json!({
        "captureID": job.capture_id,
        "createdAt": job.created_at,
        "finishedAt": if running { serde_json::Value::Null } else { job.finished_at.into() },
        "running": running,
        "success": !running && job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "errors": if running { serde_json::json!([]) } else { serde_json::json!(job.errors) },
    });
    answer(StatusCode::OK, "application/json", body.to_string())
}

async fn epcis12_capture(shared: &Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Answer> {
    let (content_type, body) = read_body(req, shared.config.file_size_limit).await?;
    if !content_type.contains("xml") {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "epcisException:UnsupportedMediaTypeException",
            "the EPCIS 1.2 endpoint takes application/xml",
        ));
    }
    let events = parse_by_content_type(&content_type, &body)?;
    check_capture_limit(shared, &events)?;
    let capture_id = format!(
        "{}-{}",
        shared.capture_prefix,
        shared.next_capture.fetch_add(1, Ordering::Relaxed)
    );
    let outcome = store(shared, capture_id, events, false).await?;
    if outcome.problems.is_empty() {
        return Ok(answer(StatusCode::CREATED, "text/plain", Bytes::new()));
    }
    let all_duplicates = outcome.problems.iter().all(|p| p.kind == ALREADY_EXISTS);
    let status = if all_duplicates {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = serde_json::json!({
        "type": if all_duplicates { ALREADY_EXISTS } else { super::records::VALIDATION },
        "title": "the document was refused as a whole; nothing was stored",
        "status": status.as_u16(),
        "errors": outcome.problems,
    });
    Err(answer(status, "application/problem+json", body.to_string()))
}

/// Largest count one serial-number request may ask for.
pub const MAX_SERIALS_PER_REQUEST: u32 = 100_000;

async fn serial_request(shared: &Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Answer> {
    #[derive(serde::Deserialize)]
    struct SerialRequest {
        gtin: String,
        count: u32,
    }
    let (_, body) = read_body(req, 64 * 1024).await?;
    let request: SerialRequest = serde_json::from_slice(&body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            &format!("expected {{\"gtin\": \"…\", \"count\": N}}: {e}"),
        )
    })?;
    if request.gtin.len() != 14 || !request.gtin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            "gtin must be 14 digits",
        ));
    }
    if request.count == 0 || request.count > MAX_SERIALS_PER_REQUEST {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            &format!("count must be 1 to {MAX_SERIALS_PER_REQUEST}"),
        ));
    }
    let serials = lock(&shared.records).issue_serials(&request.gtin, request.count);
    match serials {
        Ok(serials) => {
            let body = serde_json::json!({ "gtin": request.gtin, "serials": serials });
            Ok(answer(StatusCode::OK, "application/json", body.to_string()))
        }
        Err(e) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "epcisException:ImplementationException",
            &e.to_string(),
        )),
    }
}

/// `POST /serials/sscc/request`: `{"company_prefix", "extension_digit", "count"}`
/// → `{"company_prefix", "ssccs": [...]}`, SSCCs never issued before by this server.
async fn sscc_request(shared: &Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Answer> {
    #[derive(serde::Deserialize)]
    struct SsccRequest {
        company_prefix: String,
        #[serde(default)]
        extension_digit: u8,
        count: u32,
    }
    let invalid = |title: &str| {
        problem(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            title,
        )
    };
    let (_, body) = read_body(req, 64 * 1024).await?;
    let request: SsccRequest = serde_json::from_slice(&body).map_err(|e| {
        invalid(&format!(
            "expected {{\"company_prefix\": \"…\", \"extension_digit\": N, \"count\": N}}: {e}"
        ))
    })?;
    if request.count == 0 || request.count > MAX_SERIALS_PER_REQUEST {
        return Err(invalid(&format!(
            "count must be 1 to {MAX_SERIALS_PER_REQUEST}"
        )));
    }
    let references = lock(&shared.records)
        .issue_sscc_references(
            &request.company_prefix,
            request.extension_digit,
            request.count,
        )
        .map_err(|e| {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "epcisException:ImplementationException",
                &e.to_string(),
            )
        })?;
    let ssccs = references
        .map(|reference| {
            serialstation_gs1::Sscc::build(
                request.extension_digit,
                &request.company_prefix,
                reference,
            )
            .map(|s| s.as_str().to_string())
        })
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| invalid(&e.message))?;
    let body = serde_json::json!({ "company_prefix": request.company_prefix, "ssccs": ssccs });
    Ok(answer(StatusCode::OK, "application/json", body.to_string()))
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_rfc3339() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_is_standard_padded_base64() {
        assert_eq!(basic_authorization("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(basic_authorization("a", ""), "Basic YTo=");
        assert_eq!(basic_authorization("ab", "c"), "Basic YWI6Yw==");
    }

    #[test]
    fn utc_time_has_the_expected_shape() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z'));
    }
}
