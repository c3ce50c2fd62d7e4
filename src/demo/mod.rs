//! The demo bank: a small HTTP service (`jmx-fixtures/demo/API.md`) that `rmeter demo` starts
//! inside the binary and that the integration tests start in-process, plus the embedded demo plan.
//!
//! The service keeps no per-user state: tokens and session cookies carry their own proof
//! (a prefix), so it needs no locks and behaves the same for any number of users.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

/// The demo plan and its data, embedded so that `rmeter demo` runs from any folder.
pub const DEMO_PLAN: &str = include_str!("../../jmx-fixtures/demo/banking-journey.jmx");
pub const DEMO_CUSTOMERS: &str = include_str!("../../jmx-fixtures/demo/customers.csv");

#[derive(Default)]
struct Bank {
    transfers: AtomicU64,
    payments: AtomicU64,
}

type Shared = Arc<Bank>;

/// Starts the service on `addr` (port 0 picks a free port) and returns the bound address.
pub async fn start(addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    start_slowed(addr, Duration::ZERO).await
}

/// The same service with `extra` latency on every request: the "candidate that got slower" of
/// `rmeter compare` demonstrations and tests.
pub async fn start_slowed(
    addr: SocketAddr,
    extra: Duration,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let mut app = router();
    if !extra.is_zero() {
        app = app.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                tokio::time::sleep(extra).await;
                next.run(request).await
            },
        ));
    }
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((local, handle))
}

pub fn router() -> Router {
    Router::new()
        .route("/", get(login_page))
        .route("/api/login", post(login))
        .route("/api/mfa", post(mfa))
        .route("/api/accounts", get(accounts))
        .route("/api/accounts/{id}/transactions", get(transactions))
        .route("/api/transfers", post(transfer))
        .route("/api/transfers/{id}", get(transfer_status))
        .route("/api/payments", post(payment))
        .route("/api/notifications", get(notifications))
        .route("/api/logout", post(logout))
        .route("/echo", get(echo).post(echo))
        .route("/static", get(static_body))
        .route("/status/{code}", get(status))
        .route("/delay/{ms}", get(delay))
        .route("/redirect/{n}", get(redirect))
        .with_state(Shared::default())
}

/// Writes the embedded plan and its CSV file into `dir` and returns the plan's path.
pub fn write_demo_plan(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let plan = dir.join("banking-journey.jmx");
    std::fs::write(&plan, DEMO_PLAN)?;
    std::fs::write(dir.join("customers.csv"), DEMO_CUSTOMERS)?;
    Ok(plan)
}

/// A small fixed body, for throughput benchmarks (`benches/`).
const STATIC_BODY: &str = "rmeter demo bank: a small static body of one hundred and twenty-eight bytes, for load benchmarks...............................\n";

async fn static_body() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain")],
        STATIC_BODY,
    )
        .into_response()
}

fn hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": "authentication required"}),
    )
}

/// A request is authenticated by a bearer token and the session cookie.
fn authenticated(headers: &HeaderMap) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.starts_with("TOK-"));
    let session = headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| {
            c.trim()
                .strip_prefix("SESSION=")
                .is_some_and(|s| !s.is_empty())
        });
    token && session
}

async fn login_page() -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>Demo Bank</title></head><body>\n<h1>Demo Bank</h1>\n\
         <form method=\"post\" action=\"/api/login\">\n<input type=\"hidden\" name=\"csrf\" value=\"CSRF-{}\">\n\
         <input name=\"username\"><input name=\"password\" type=\"password\">\n</form>\n</body></html>\n",
        hex(16)
    );
    ([("content-type", "text/html; charset=utf-8")], html).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(Form(form): Form<LoginForm>) -> Response {
    tokio::time::sleep(Duration::from_millis(15)).await;
    if form.password != "secret" || !form.csrf.starts_with("CSRF-") || form.username.is_empty() {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid credentials"}),
        );
    }
    json_response(
        StatusCode::OK,
        json!({"mfaRequired": true, "mfaToken": format!("MFA-{}", hex(12))}),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MfaRequest {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    code: String,
}

async fn mfa(body: String) -> Response {
    tokio::time::sleep(Duration::from_millis(10)).await;
    let request: Option<MfaRequest> = serde_json::from_str(&body).ok();
    match request {
        Some(r) if r.code == "123456" && r.mfa_token.starts_with("MFA-") => {
            let mut response = json_response(
                StatusCode::OK,
                json!({"token": format!("TOK-{}", hex(24)), "customerId": format!("C{}", fastrand::u32(100_000..999_999))}),
            );
            if let Ok(cookie) =
                HeaderValue::from_str(&format!("SESSION={}; Path=/; HttpOnly", hex(16)))
            {
                response.headers_mut().append("set-cookie", cookie);
            }
            response
        }
        _ => json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid MFA code"}),
        ),
    }
}

async fn accounts(headers: HeaderMap) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    tokio::time::sleep(Duration::from_millis(3)).await;
    json_response(
        StatusCode::OK,
        json!({
            "customerId": "C100001",
            "accounts": [
                {"id": "ACC-1001", "type": "checking", "currency": "EUR", "balance": 1520.35},
                {"id": "ACC-1002", "type": "savings", "currency": "EUR", "balance": 10250.00}
            ]
        }),
    )
}

async fn transactions(headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    if id != "ACC-1001" && id != "ACC-1002" {
        return json_response(StatusCode::NOT_FOUND, json!({"error": "unknown account"}));
    }
    json_response(
        StatusCode::OK,
        json!({
            "accountId": id,
            "transactions": [
                {"id": "T1", "amount": -12.5, "description": "Coffee"},
                {"id": "T2", "amount": 2500.0, "description": "Salary"},
                {"id": "T3", "amount": -80.1, "description": "Groceries"}
            ]
        }),
    )
}

async fn transfer(State(bank): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    tokio::time::sleep(Duration::from_millis(8)).await;
    let n = bank.transfers.fetch_add(1, Ordering::Relaxed) + 1;
    if n % 40 == 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain")],
            "service unavailable",
        )
            .into_response();
    }
    let amount = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("amount").and_then(|a| {
                a.as_f64()
                    .or_else(|| a.as_str().and_then(|s| s.parse().ok()))
            })
        });
    match amount {
        Some(a) if a > 10_000.0 => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "insufficient funds"}),
        ),
        Some(_) => json_response(
            StatusCode::CREATED,
            json!({"transferId": format!("TR-{n}"), "status": "PENDING"}),
        ),
        None => json_response(StatusCode::BAD_REQUEST, json!({"error": "amount required"})),
    }
}

async fn transfer_status(headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    json_response(
        StatusCode::OK,
        json!({"transferId": id, "status": "COMPLETED"}),
    )
}

#[derive(Deserialize)]
struct PaymentForm {
    #[serde(default)]
    payee: String,
    #[serde(default)]
    amount: String,
}

async fn payment(
    State(bank): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<PaymentForm>,
) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    if form.payee.is_empty() || form.amount.is_empty() {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "payee and amount required"}),
        );
    }
    let n = bank.payments.fetch_add(1, Ordering::Relaxed) + 1;
    json_response(
        StatusCode::OK,
        json!({"paymentId": format!("PAY-{n}"), "status": "ACCEPTED"}),
    )
}

async fn notifications(headers: HeaderMap) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    json_response(StatusCode::OK, json!({"unread": 0}))
}

async fn logout(headers: HeaderMap) -> Response {
    if !authenticated(&headers) {
        return unauthorized();
    }
    let mut response = json_response(StatusCode::OK, json!({"loggedOut": true}));
    response.headers_mut().append(
        "set-cookie",
        HeaderValue::from_static("SESSION=; Max-Age=0; Path=/"),
    );
    response
}

async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let mut text = format!("{method} {uri}\n");
    for (name, value) in &headers {
        text.push_str(&format!("{}: {}\n", name, value.to_str().unwrap_or("")));
    }
    if !body.is_empty() {
        text.push('\n');
        text.push_str(&body);
    }
    ([("content-type", "text/plain")], text).into_response()
}

async fn status(UrlPath(code): UrlPath<u16>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [("content-type", "text/plain")],
        format!("status {code}"),
    )
        .into_response()
}

async fn delay(UrlPath(ms): UrlPath<u64>) -> Response {
    tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    ([("content-type", "text/plain")], format!("waited {ms} ms")).into_response()
}

async fn redirect(UrlPath(n): UrlPath<u32>) -> Response {
    if n == 0 {
        return ([("content-type", "text/plain")], "arrived").into_response();
    }
    (
        StatusCode::FOUND,
        [("location", format!("/redirect/{}", n - 1))],
        "",
    )
        .into_response()
}
