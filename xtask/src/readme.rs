//! README.md's commands keep working (issue 25): a step of `cargo xtask test`, also
//! `cargo xtask check-readme`.
//!
//! Every `cargo xtask …` command README.md shows, in a fenced code block or inline code, must
//! parse with xtask's own command line (placeholders such as `N` are filled in, `[…]` brackets
//! dropped), every subcommand must be shown, and each is then exercised in a cheap form:
//!
//! - `demo` (any form but `--headless`): `cargo xtask demo --seconds 20` is run as a user runs
//!   it, with no display. It must reach "the booth is running", rebuild nothing (the build of
//!   `test` and `demo` is one, [`crate::util::BUILD_WORKSPACE`]), serve its screen over VNC, run
//!   the README's block marked [`RUN_WHILE_DEMO`] (driving the kiosk with xdotool) and stop
//!   cleanly with exit 0.
//! - `demo --headless`: the journey test, which the `cargo test --workspace` step runs; checked
//!   to be the same test ([`crate::demo::HEADLESS_TEST`]), not run twice.
//! - `image`, `image-test`: `apt-get install --simulate` of their packages (the build and
//!   boot take an hour).
//! - `test`, `install`, `check-arch`, `spec-check`: steps of `cargo xtask test` itself.
//! - `bench`, `chaos`: parsed only (long; the bounded chaos run is `tests/tests/chaos.rs`).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser};

use crate::{Cli, Cmd, demo, packages};

/// The marker (an HTML comment, invisible on GitHub) before the README code block that the check
/// runs with `sh -e` while the demo runs.
pub const RUN_WHILE_DEMO: &str = "<!-- check-readme: runs while the demo runs -->";

/// How long the check lets the demo run.
const DEMO_SECONDS: u64 = 20;

/// A `cargo xtask …` command shown in README.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// 1-based line in README.md.
    pub line: usize,
    /// As written (comment and prompt removed).
    pub text: String,
    /// The arguments after `cargo xtask`, placeholders filled in.
    pub args: Vec<String>,
}

/// Every `cargo xtask …` command in `readme`: lines of fenced code blocks (a `$ ` prompt, a
/// trailing `# comment` and leading `VAR=value` are dropped) and inline code spans. A bare
/// `cargo xtask` or `cargo xtask …` (the tool named in prose) is not a command.
pub fn commands(readme: &str) -> Vec<Shown> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, raw) in readme.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let candidates: Vec<&str> = if fenced {
            let l = line.strip_prefix("$ ").unwrap_or(line);
            let l = match l.find(" #") {
                Some(at) => &l[..at],
                None if l.starts_with('#') => "",
                None => l,
            };
            vec![l]
        } else {
            // Odd pieces between backticks are code spans.
            raw.split('`').skip(1).step_by(2).collect()
        };
        for c in candidates {
            let words: Vec<&str> = c
                .split_whitespace()
                .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                .collect();
            if words.len() < 2 || words[0] != "cargo" || words[1] != "xtask" {
                continue;
            }
            let args: Vec<String> = words[2..].iter().filter_map(|w| fill(w)).collect();
            if !args.is_empty() {
                out.push(Shown {
                    line: i + 1,
                    text: words.join(" "),
                    args,
                });
            }
        }
    }
    out
}

/// A README word as an argument: `[`/`]` dropped, `…` dropped, `N`/`PATH`/`<x>` → `1`.
fn fill(word: &str) -> Option<String> {
    let w = word.trim_matches(|c| c == '[' || c == ']');
    if w.is_empty() || w == "…" || w == "..." {
        return None;
    }
    let placeholder = (w.starts_with('<') && w.ends_with('>'))
        || (w.chars().any(|c| c.is_ascii_uppercase())
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
    Some(if placeholder { "1".into() } else { w.into() })
}

/// The lines of the fenced code block after [`RUN_WHILE_DEMO`], with the line number of the
/// block's first line.
pub fn run_while_demo_block(readme: &str) -> Option<(usize, String)> {
    let lines: Vec<&str> = readme.lines().collect();
    let marker = lines.iter().position(|l| l.trim() == RUN_WHILE_DEMO)?;
    let open = marker
        + 1
        + lines[marker + 1..]
            .iter()
            .position(|l| l.trim().starts_with("```"))?;
    let len = lines[open + 1..]
        .iter()
        .position(|l| l.trim().starts_with("```"))?;
    Some((open + 2, lines[open + 1..open + 1 + len].join("\n")))
}

/// How `cargo xtask test` exercises a parsed README command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cheap {
    /// Run `cargo xtask demo --seconds 20`.
    Demo,
    /// `apt-get install --simulate` of the image packages.
    ImagePackages,
    /// Covered by another step of `cargo xtask test` (named).
    Step(&'static str),
    /// Only parsed (named why).
    ParseOnly(&'static str),
}

fn cheap_form(cmd: &Cmd) -> Cheap {
    match cmd {
        Cmd::Demo(a) if a.headless => Cheap::Step(
            "the journey test (tests/tests/journey.rs), run by the `cargo test --workspace` step",
        ),
        Cmd::Demo(_) => Cheap::Demo,
        Cmd::Image(_) | Cmd::ImageTest(_) => Cheap::ImagePackages,
        Cmd::Test => Cheap::Step("CI's own command (.ci/run)"),
        Cmd::Install => Cheap::Step("the package install at the start of `cargo xtask test`"),
        Cmd::CheckArch => Cheap::Step("the 'architecture invariants' step"),
        Cmd::SpecCheck => Cheap::Step("the 'protocol spec vs authority-sim' step"),
        Cmd::CheckReadme => Cheap::Step("this step"),
        Cmd::Bench => Cheap::ParseOnly("benchmarks take minutes and assert no times"),
        Cmd::Chaos(_) => Cheap::ParseOnly(
            "the long run; its bounded form (tests/tests/chaos.rs) runs in `cargo test`",
        ),
    }
}

/// Parses every README command; errors name the README line. Also fails when a subcommand of
/// xtask is not shown in the README.
fn plan(readme: &str) -> Result<Vec<(Shown, Cheap)>> {
    let shown = commands(readme);
    let mut errors = Vec::new();
    let mut planned = Vec::new();
    for s in shown {
        let argv = std::iter::once("cargo xtask").chain(s.args.iter().map(String::as_str));
        match Cli::try_parse_from(argv) {
            Ok(cli) => {
                let cheap = cheap_form(&cli.command);
                planned.push((s, cheap));
            }
            Err(e) => {
                let why = e.to_string();
                let why = why.lines().next().unwrap_or_default().to_owned();
                errors.push(format!(
                    "README.md:{}: `{}` does not parse: {why}",
                    s.line, s.text
                ));
            }
        }
    }
    let shown_subcommands: Vec<&str> = planned
        .iter()
        .filter_map(|(s, _)| s.args.first().map(String::as_str))
        .collect();
    for sub in Cli::command().get_subcommands() {
        let name = sub.get_name();
        if !sub.is_hide_set() && !shown_subcommands.contains(&name) {
            errors.push(format!(
                "README.md does not show `cargo xtask {name}` ({})",
                sub.get_about().map(ToString::to_string).unwrap_or_default()
            ));
        }
    }
    if !errors.is_empty() {
        bail!("README.md and xtask disagree:\n  {}", errors.join("\n  "));
    }
    Ok(planned)
}

/// The step: parse every README command, then run each in its cheap form.
pub fn check() -> Result<()> {
    let readme = std::fs::read_to_string("README.md").context("reading README.md")?;
    let planned = plan(&readme)?;
    for (s, cheap) in &planned {
        let how = match cheap {
            Cheap::Demo => format!("parses; runs as `cargo xtask demo --seconds {DEMO_SECONDS}`"),
            Cheap::ImagePackages => "parses; install dry run of the image packages".to_owned(),
            Cheap::Step(what) => format!("parses; {what}"),
            Cheap::ParseOnly(why) => format!("parses only: {why}"),
        };
        println!("  README.md:{:<4} {:<44} {how}", s.line, s.text);
    }
    let wants = |c: Cheap| planned.iter().any(|(_, x)| *x == c);
    if planned.iter().any(|(s, _)| {
        s.args.first().is_some_and(|a| a == "demo") && s.args.iter().any(|a| a == "--headless")
    }) {
        headless_is_the_journey_test(Path::new("."))?;
    }
    if wants(Cheap::ImagePackages) {
        packages::check_image_installable()?;
    }
    if wants(Cheap::Demo) {
        run_demo(run_while_demo_block(&readme))?;
    }
    Ok(())
}

/// `demo --headless` runs the journey test with `cargo test --workspace`'s feature set, the test
/// the `cargo test --workspace` step already ran.
fn headless_is_the_journey_test(root: &Path) -> Result<()> {
    let t = demo::HEADLESS_TEST;
    let journey = root.join("tests/tests/journey.rs");
    if !(t.first() == Some(&"test")
        && t.contains(&"--workspace")
        && t.windows(2).any(|w| w == ["--test", "journey"])
        && !t.contains(&"--features")
        && !t.contains(&"-p")
        && journey.exists())
    {
        bail!(
            "`cargo xtask demo --headless` runs `cargo {}`, which is not the journey test ({}) of `cargo test --workspace`",
            t.join(" "),
            journey.display()
        );
    }
    println!(
        "  demo --headless = `cargo {}`: the journey test the `cargo test --workspace` step ran",
        t.join(" ")
    );
    Ok(())
}

/// Sends `sig` to a process this check started.
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

/// Runs `cargo xtask demo --seconds 20` with no display, as a user runs it, and checks it:
/// banner, no rebuild, VNC greeting, the README's [`RUN_WHILE_DEMO`] block, clean stop, exit 0.
fn run_demo(while_running: Option<(usize, String)>) -> Result<()> {
    let dir = Path::new("target/check-readme-demo");
    let started = Instant::now();
    let mut child: Child = crate::util::cargo_command()
        .args([
            "xtask",
            "demo",
            "--seconds",
            &DEMO_SECONDS.to_string(),
            "--dir",
        ])
        .arg(dir)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting cargo xtask demo")?;
    // `cargo run` execs xtask: this pid is the demo's, which stops cleanly on SIGINT.
    let pid = child.id();
    let (tx, rx) = mpsc::channel::<String>();
    let pipe = |r: Box<dyn Read + Send>, tx: mpsc::Sender<String>| {
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                println!("  demo| {line}");
                let _ = tx.send(line);
            }
        })
    };
    let out = pipe(
        Box::new(child.stdout.take().context("demo stdout")?),
        tx.clone(),
    );
    let err = pipe(Box::new(child.stderr.take().context("demo stderr")?), tx);

    let mut problems: Vec<String> = Vec::new();
    let mut compiled: Vec<String> = Vec::new();
    let (mut running_after, mut stopped) = (None, false);
    // The build is a no-op but may wait for another cargo's lock on a shared machine; after
    // it, start-up takes seconds: generous limits for a loaded CI machine.
    let mut deadline = started + Duration::from_secs(900);
    let mut interrupted = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => {
                if line.trim_start().starts_with("Compiling ") {
                    compiled.push(line.trim().to_owned());
                }
                if line.trim_start().starts_with("Finished `") && !interrupted {
                    deadline = Instant::now() + Duration::from_secs(DEMO_SECONDS + 120);
                }
                if line.contains(demo::STOPPED) {
                    stopped = true;
                }
                if line.contains(demo::RUNNING_BANNER) && running_after.is_none() {
                    running_after = Some(started.elapsed());
                    // The kiosk window needs a moment after the banner.
                    std::thread::sleep(Duration::from_secs(3));
                    match demo::vnc_greeting() {
                        Ok(g) if g.starts_with("RFB ") => {
                            println!("  check: VNC on 127.0.0.1:{} answers {g}", demo::VNC_PORT);
                        }
                        Ok(g) => problems.push(format!("VNC view: unexpected greeting {g:?}")),
                        Err(e) => problems.push(format!("VNC view: {e:#}")),
                    }
                    if let Some((line, script)) = &while_running {
                        println!(
                            "  check: running README.md:{line} block (sh -e) in {}",
                            dir.display()
                        );
                        let out = Command::new("timeout")
                            .args(["30", "sh", "-e", "-c", script])
                            .current_dir(dir)
                            .env_remove("DISPLAY")
                            .output();
                        match out {
                            Ok(o) if o.status.success() => {
                                println!("  check: README.md:{line} block: ok");
                            }
                            Ok(o) => problems.push(format!(
                                "README.md:{line}: the block run while the demo runs failed ({}): {}{}",
                                o.status,
                                String::from_utf8_lossy(&o.stdout),
                                String::from_utf8_lossy(&o.stderr)
                            )),
                            Err(e) => problems.push(format!("README.md:{line}: sh: {e}")),
                        }
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() > deadline {
                    if interrupted {
                        signal(pid, "-KILL");
                        break;
                    }
                    problems.push(format!(
                        "the demo did not stop in time (stopped with SIGINT after {:.0} s)",
                        started.elapsed().as_secs_f64()
                    ));
                    signal(pid, "-INT");
                    interrupted = true;
                    deadline = Instant::now() + Duration::from_secs(20);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().context("waiting for the demo")?;
    let _ = out.join();
    let _ = err.join();
    let took = started.elapsed();
    match running_after {
        Some(t) => println!(
            "  check: \"{}\" after {:.1} s; demo exited {status} after {:.1} s",
            demo::RUNNING_BANNER,
            t.as_secs_f64(),
            took.as_secs_f64()
        ),
        None => problems.push(format!(
            "the demo never printed \"{}\"",
            demo::RUNNING_BANNER
        )),
    }
    if !compiled.is_empty() {
        problems.insert(0, format!(
            "the demo rebuilt {} crates after the workspace build (first: {}): `test` and `demo` must build with util::BUILD_WORKSPACE",
            compiled.len(),
            compiled[0]
        ));
    }
    if !status.success() {
        problems.push(format!("`cargo xtask demo` exited with {status}"));
    } else if !stopped {
        problems.push(format!("the demo never printed \"{}\"", demo::STOPPED));
    }
    if !problems.is_empty() {
        bail!(
            "`cargo xtask demo --seconds {DEMO_SECONDS}`:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_readme() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn every_readme_command_parses_and_every_subcommand_is_shown() {
        let planned = plan(&real_readme()).unwrap_or_else(|e| panic!("{e:#}"));
        let has = |args: &[&str]| planned.iter().any(|(s, _)| s.args == args);
        assert!(has(&["demo"]) && has(&["test"]) && has(&["demo", "--headless"]));
        assert!(planned.iter().any(|(_, c)| *c == Cheap::Demo));
    }

    #[test]
    fn the_readme_has_a_block_to_run_while_the_demo_runs() {
        let (_, block) = run_while_demo_block(&real_readme()).expect("marked block");
        assert!(block.contains("xdotool"), "{block}");
    }

    #[test]
    fn commands_come_from_code_blocks_and_inline_code() {
        let md = "intro `cargo xtask`, `cargo xtask …` and `cargo xtask bench`.\n\
                  ```sh\n\
                  cargo xtask demo    # starts it\n\
                  $ cargo xtask chaos [--appeals N]\n\
                  # cargo xtask nothing\n\
                  RUST_LOG=debug cargo xtask test\n\
                  ```\n\
                  Run `cargo xtask image --ca-cert PATH …` or `ls`.\n";
        let got: Vec<(usize, Vec<String>)> =
            commands(md).into_iter().map(|s| (s.line, s.args)).collect();
        let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (1, v(&["bench"])),
                (3, v(&["demo"])),
                (4, v(&["chaos", "--appeals", "1"])),
                (6, v(&["test"])),
                (8, v(&["image", "--ca-cert", "1"])),
            ]
        );
    }

    #[test]
    fn a_bogus_command_fails_naming_its_line() {
        let md = format!("{}\n`cargo xtask demo --secnds 20`\n", real_readme());
        let line = md.lines().count();
        let e = format!("{:#}", plan(&md).expect_err("bogus command"));
        assert!(
            e.contains(&format!(
                "README.md:{line}: `cargo xtask demo --secnds 20` does not parse"
            )),
            "{e}"
        );
    }

    #[test]
    fn a_subcommand_missing_from_the_readme_fails() {
        let e = format!(
            "{:#}",
            plan("```sh\ncargo xtask test\n```\n").expect_err("missing")
        );
        assert!(e.contains("does not show `cargo xtask demo`"), "{e}");
    }

    #[test]
    fn headless_demo_is_the_workspace_journey_test() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        headless_is_the_journey_test(&root).unwrap_or_else(|e| panic!("{e:#}"));
    }
}
