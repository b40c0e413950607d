//! Follows one environment of one prompt in watch mode and prints a line each time the version
//! the client holds changes: `<unix time in ns> <version> <origin>`.
//!
//! ```sh
//! cargo run -p promptreg-client --example watch -- http://127.0.0.1:8000 support/refund-agent production
//! ```
//!
//! `bench/push_latency.py` runs it to time how long a rollback takes to reach a running client.
//! It reads the client's cache every millisecond (a cached get makes no request), so a line is
//! printed within a millisecond of the watch's update.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promptreg_client::{Client, Target};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, name, environment] = args.as_slice() else {
        eprintln!("usage: watch URL NAME ENVIRONMENT");
        std::process::exit(2);
    };
    let client = Client::builder(url)
        .ttl(Duration::from_secs(300))
        .watch(true)
        .build();
    let mut held = String::new();
    let mut out = std::io::stdout().lock();
    loop {
        match client.get(name, Target::Environment(environment)) {
            Ok(prompt) if prompt.version() != held => {
                held = prompt.version().to_owned();
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos();
                // The reader went away: nothing left to do.
                if writeln!(out, "{now} {held} {:?}", prompt.origin())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => eprintln!("watch: {e}"),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
