//! The examples' command line: `--help`, and bad arguments answered with the usage and exit
//! code 2, never a panic.

use std::process::ExitCode;

/// The options `parse` reads from the command line, or the exit code to end with: 0 after
/// printing `usage` for `--help`, 2 after printing the problem and `usage`.
pub fn options<T>(
    program: &str,
    usage: &str,
    parse: impl FnOnce(std::vec::IntoIter<String>) -> Result<T, String>,
) -> Result<T, ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{usage}");
        return Err(ExitCode::SUCCESS);
    }
    parse(args.into_iter()).map_err(|message| {
        eprintln!("{program}: {message}\n{usage}");
        ExitCode::from(2)
    })
}
