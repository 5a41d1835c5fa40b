//! `serialstation-fuzz`: fuzzes the parsers of outside input for a while, or
//! replays one saved input. See `fuzz/README.md`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serialstation_fuzz::runner::{Budget, Outcome, Stuck, Watch, run_target_watched};
use serialstation_fuzz::{Target, fnv1a64, show_bytes, targets};

const USAGE: &str =
    "usage: serialstation-fuzz [--seconds N] [--target NAME]... [--seed S] [--crashes DIR]
       serialstation-fuzz --list
       serialstation-fuzz --replay FILE [--target NAME]

  --seconds N     total fuzzing time, split evenly over the targets (default 60)
  --target NAME   fuzz only this target (repeat it, or give a comma-separated list)
  --seed S        seed of the mutations (default: from the clock; printed, to rerun)
  --crashes DIR   where crashing inputs are written (default fuzz/crashes)
  --list          list the targets and what each one calls
  --replay FILE   run the target once on FILE, with the normal panic output
                  (the target defaults to the one the file name starts with)

Exit status: 0 nothing found, 1 a crash or a hang, 2 bad arguments.";

/// An input running longer than this is reported as a hang.
const HANG_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Args {
    seconds: u64,
    names: Vec<String>,
    seed: Option<u64>,
    crashes: PathBuf,
    list: bool,
    replay: Option<PathBuf>,
    help: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            seconds: 60,
            names: Vec::new(),
            seed: None,
            crashes: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/crashes")),
            list: false,
            replay: None,
            help: false,
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("serialstation-fuzz: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let all = targets();
    if args.list {
        for target in &all {
            let name = target.name;
            let slow = if target.slow { " (slow)" } else { "" };
            println!("{name}{slow}\n    {}", target.what);
        }
        return ExitCode::SUCCESS;
    }
    let selected = match select(&all, &args.names) {
        Ok(selected) => selected,
        Err(message) => {
            eprintln!("serialstation-fuzz: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(file) = &args.replay {
        return replay(file, &args.names, &selected, &all);
    }
    fuzz(&args, &selected)
}

fn take_value(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = Result<String, String>>,
) -> Result<String, String> {
    match inline {
        Some(value) => Ok(value),
        None => rest
            .next()
            .unwrap_or_else(|| Err(format!("{flag} needs a value"))),
    }
}

fn parse_number(flag: &str, text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    parsed.map_err(|_| format!("{flag} takes a whole number, not {text:?}"))
}

fn parse_args(raw: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let mut args = Args::default();
    let mut rest = raw.map(|arg| {
        arg.into_string()
            .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))
    });
    while let Some(arg) = rest.next() {
        let arg = arg?;
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => args.help = true,
            "--list" => args.list = true,
            "--seconds" => {
                let value = take_value(&flag, inline, &mut rest)?;
                args.seconds = parse_number(&flag, &value)?;
            }
            "--seed" => {
                let value = take_value(&flag, inline, &mut rest)?;
                args.seed = Some(parse_number(&flag, &value)?);
            }
            "--target" => {
                let value = take_value(&flag, inline, &mut rest)?;
                args.names.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .map(str::to_string),
                );
            }
            "--crashes" => args.crashes = PathBuf::from(take_value(&flag, inline, &mut rest)?),
            "--replay" => args.replay = Some(PathBuf::from(take_value(&flag, inline, &mut rest)?)),
            other if other.starts_with('-') => return Err(format!("unknown option {other:?}")),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(args)
}

/// The targets named (all when none is), in the order given, without repeats.
fn select(all: &[Target], names: &[String]) -> Result<Vec<Target>, String> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut selected: Vec<Target> = Vec::new();
    for name in names {
        let Some(target) = all.iter().find(|t| t.name == name.as_str()) else {
            let known: Vec<&str> = all.iter().map(|t| t.name).collect();
            return Err(format!(
                "there is no target {name:?}; the targets are: {}",
                known.join(", ")
            ));
        };
        if !selected.iter().any(|t| t.name == target.name) {
            selected.push(*target);
        }
    }
    Ok(selected)
}

fn replay(file: &Path, names: &[String], selected: &[Target], all: &[Target]) -> ExitCode {
    let input = match std::fs::read(file) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("serialstation-fuzz: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let target = if names.is_empty() {
        // Crash files are named <target>-<hash>.bin: take the longest matching name.
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        all.iter()
            .filter(|t| file_name.starts_with(&format!("{}-", t.name)))
            .max_by_key(|t| t.name.len())
            .copied()
    } else if selected.len() == 1 {
        selected.first().copied()
    } else {
        eprintln!("serialstation-fuzz: --replay takes one --target");
        return ExitCode::from(2);
    };
    let Some(target) = target else {
        eprintln!(
            "serialstation-fuzz: cannot tell the target of {} from its name: give --target NAME",
            file.display()
        );
        return ExitCode::from(2);
    };
    let name = target.name;
    eprintln!(
        "replaying {} bytes on {name}: {}",
        input.len(),
        show_bytes(&input, 400)
    );
    // No catch_unwind here: a panic prints as usual (RUST_BACKTRACE=1 for a backtrace).
    (target.run)(&input);
    eprintln!("no panic: {name} accepts this input");
    ExitCode::SUCCESS
}

fn fuzz(args: &Args, selected: &[Target]) -> ExitCode {
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let count = u32::try_from(selected.len()).unwrap_or(u32::MAX).max(1);
    let per_target = Duration::from_secs(args.seconds) / count;
    println!(
        "fuzzing {} target(s) for {} s ({:.1} s each), seed {seed} (rerun with --seed {seed})",
        selected.len(),
        args.seconds,
        per_target.as_secs_f64()
    );
    let started = Instant::now();
    let watch = Watch::new();
    let (sender, receiver) = mpsc::channel::<(usize, Outcome)>();
    let mut failed = false;
    let mut executions = 0u64;
    std::thread::scope(|scope| {
        let watch = &watch;
        let _worker = scope.spawn(move || {
            for (index, target) in selected.iter().enumerate() {
                let outcome = run_target_watched(target, Budget::Time(per_target), seed, watch);
                if sender.send((index, outcome)).is_err() {
                    return;
                }
            }
        });
        let mut received = 0;
        while received < selected.len() {
            match receiver.recv_timeout(Duration::from_millis(500)) {
                Ok((index, outcome)) => {
                    received += 1;
                    executions += outcome.executions;
                    if report(&selected[index], &outcome, &args.crashes) {
                        failed = true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(stuck) = watch.stuck(HANG_LIMIT) {
                        report_hang(&stuck, &args.crashes);
                        std::process::exit(1);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    if failed {
        println!("{executions} executions in {elapsed:.1} s: crashes found (see above)");
        ExitCode::from(1)
    } else {
        println!("{executions} executions in {elapsed:.1} s: no crashes");
        ExitCode::SUCCESS
    }
}

/// Writes `input` to `dir/<stem>-<hash>.bin`; the path, or why it could not be written.
fn save(dir: &Path, stem: &str, input: &[u8]) -> Result<PathBuf, String> {
    let path = dir.join(format!("{stem}-{:016x}.bin", fnv1a64(input)));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, input))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn replay_command(path: &Path, name: &str) -> String {
    format!(
        "cargo run --release -p serialstation-fuzz -- --replay {} --target {name}",
        path.display()
    )
}

/// Prints one target's line and its crashes; true if it crashed.
fn report(target: &Target, outcome: &Outcome, dir: &Path) -> bool {
    let name = target.name;
    let executions = outcome.executions;
    let crashes = outcome.crashes.len();
    let corpus = outcome.corpus_size;
    let slowest_ms = outcome.slowest.as_secs_f64() * 1000.0;
    println!(
        "{name:<22} {executions:>10} execs  {crashes} crash(es)  corpus {corpus:>3}  slowest {slowest_ms:.1} ms"
    );
    if outcome.slowest > Duration::from_secs(1) {
        println!(
            "  slow input ({slowest_ms:.0} ms): {}",
            show_bytes(&outcome.slowest_input, 200)
        );
    }
    for crash in &outcome.crashes {
        println!("CRASH in target {name}: {}", crash.message);
        println!(
            "  input ({} bytes): {}",
            crash.input.len(),
            show_bytes(&crash.input, 400)
        );
        match save(dir, name, &crash.input) {
            Ok(path) => {
                println!("  saved to {}", path.display());
                println!("  replay: {}", replay_command(&path, name));
            }
            Err(message) => println!("  not saved: {message}"),
        }
    }
    !outcome.crashes.is_empty()
}

fn report_hang(stuck: &Stuck, dir: &Path) {
    let name = stuck.target;
    println!(
        "HANG in target {name}: one input has been running for {:.1} s",
        stuck.running_for.as_secs_f64()
    );
    println!(
        "  input ({} bytes): {}",
        stuck.input.len(),
        show_bytes(&stuck.input, 400)
    );
    match save(dir, &format!("{name}-hang"), &stuck.input) {
        Ok(path) => {
            println!("  saved to {}", path.display());
            println!("  replay: {}", replay_command(&path, name));
        }
        Err(message) => println!("  not saved: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn arguments() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.seconds, 60);
        assert!(args.names.is_empty() && args.seed.is_none() && !args.list);
        let args = parse(&[
            "--seconds",
            "5",
            "--target=gs1_epc_uri,tij_reply",
            "--target",
            "pool_file",
            "--seed",
            "0x10",
        ])
        .unwrap();
        assert_eq!(args.seconds, 5);
        assert_eq!(args.names, ["gs1_epc_uri", "tij_reply", "pool_file"]);
        assert_eq!(args.seed, Some(16));
        assert!(parse(&["--seconds"]).unwrap_err().contains("needs a value"));
        assert!(
            parse(&["--seconds", "ten"])
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            parse(&["--frobnicate"])
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(
            parse(&["stray"])
                .unwrap_err()
                .contains("unexpected argument")
        );
        assert!(parse(&["--list"]).unwrap().list);
    }

    #[test]
    fn selection() {
        let all = targets();
        assert_eq!(select(&all, &[]).unwrap().len(), all.len());
        let names = ["tij_reply".to_string(), "tij_reply".to_string()];
        assert_eq!(select(&all, &names).unwrap().len(), 1);
        let Err(error) = select(&all, &["nope".to_string()]) else {
            panic!("an unknown target is refused");
        };
        assert!(error.contains("gs1_element_string"), "{error}");
    }
}
