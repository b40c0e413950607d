//! Fetch one prompt from `promptreg serve`, the way an application would.
//!
//! ```sh
//! promptreg serve &   # in a registry
//! cargo run --example client -- http://127.0.0.1:8000 support/refund-agent production
//! cargo run --example client -- http://127.0.0.1:8000 support/refund-agent 1.2.0 bundle.json
//! ```
//!
//! Arguments: the server's base URL, a prompt name, an environment, a version (`1.2.0`) or
//! `latest`, and optionally a bundle written by `promptreg export` to fall back on.

use std::process::ExitCode;
use std::time::Duration;

use promptreg_client::{Client, ClientError, Target};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(2..=4).contains(&args.len()) {
        eprintln!("usage: client BASE_URL NAME [ENV|VERSION|latest] [BUNDLE]");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), ClientError> {
    let (base, name) = (&args[0], &args[1]);
    let which = args.get(2).map_or("production", String::as_str);
    let target = if which == "latest" {
        Target::Latest
    } else if which.starts_with(|c: char| c.is_ascii_digit()) {
        Target::Version(which)
    } else {
        Target::Environment(which)
    };
    let mut builder = Client::builder(base).ttl(Duration::from_secs(300));
    if let Some(bundle) = args.get(3) {
        builder = builder.fallback_bundle(bundle)?;
    }
    let client = builder.build();

    let prompt = client.get(name, target)?;
    eprintln!(
        "{}@{} (model {}, from {:?})",
        prompt.name(),
        prompt.version(),
        prompt.model().unwrap_or("-"),
        prompt.origin()
    );
    println!("{}", prompt.system_prompt());

    // A second call within the TTL is answered from memory.
    let again = client.get(name, target)?;
    eprintln!("again: {:?}", again.origin());
    Ok(())
}
