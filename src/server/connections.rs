//! The listener: connections accepted and driven by hyper until SIGINT or SIGTERM, then given
//! [`super::SHUTDOWN_GRACE`] to finish.

use std::time::Duration;

use super::SHUTDOWN_GRACE;

/// How long a client may take to send a request's headers: a slow client cannot hold a
/// connection open by trickling them (`axum::serve` offers no such limit, so connections are
/// driven by hyper directly).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until SIGTERM/SIGINT, then calls `stopping` (long polls answer, event
/// streams end) and lets the open connections finish their requests.
pub(super) async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    stopping: impl FnOnce(),
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service =
            app.clone()
                .map_request(move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(client));
                    request
                });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    stopping();
    // Open connections finish what they are doing, for at most SHUTDOWN_GRACE (the request
    // timeout answers them 408 by then anyway); a second signal stops waiting at once.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {}
        () = shutdown_signal() => {}
    }
}

/// Raises this process's limit of open files to the most it may have: each open connection (a
/// long poll, an event stream) holds one, and the usual default of 1,024 would turn the
/// 1,025th waiting client away. Best effort: an unchanged limit only means fewer connections.
pub(super) fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        // No hard limit: a generous soft one (an unlimited soft limit is refused).
        let most = limit.maximum.unwrap_or(1 << 20);
        if limit.current.is_some_and(|current| current < most) {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(most),
                    maximum: limit.maximum,
                },
            );
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
