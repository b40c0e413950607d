//! The `promptreg` binary: parses arguments and hands over to the command modules in `cli/`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
