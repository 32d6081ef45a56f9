//! The appliance recipes: checks of the systemd units and lockdown files in `systemd/`
//! (`check_units`, run by `cargo xtask test`), the real kiosk under headless `cage` with its
//! systemd liveness messages (`cage_kiosk_check`), the OS image build (`image`) and its QEMU
//! boot test (`image_test`).
//!
//! The checks use the host's systemd 252 tools against a scratch root, because PID 1 of a CI
//! machine is not systemd (see `docs/appliance.md`): `systemd-analyze verify` fails on any
//! output (unknown keys are only warnings there), `systemd-analyze security --offline=yes` has a
//! budget per unit, and `systemd-sysusers` / `systemd-tmpfiles` are applied to the scratch root
//! and their result inspected.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// Where the project's systemd files live, relative to the workspace root.
const SYSTEMD_DIR: &str = "systemd";

/// A unit we ship and the most `systemd-analyze security` exposure it may have.
struct Budget {
    unit: &'static str,
    max_exposure: f64,
}

/// Security budgets from issue 12: daemons ≤ 1.5, reception ≤ 1.0, kiosk session ≤ 3.0.
const BUDGETS: &[Budget] = &[
    Budget {
        unit: "sync-agent.service",
        max_exposure: 1.5,
    },
    Budget {
        unit: "reception.service",
        max_exposure: 1.0,
    },
    Budget {
        unit: "kiosk-session.service",
        max_exposure: 3.0,
    },
];

/// Runs every check of the appliance files; the first failing check is the error, naming the
/// file and what the tool said. Prints the security score of every unit. Needs root (tmpfiles
/// must chown in the scratch root) and the host's `systemd` package.
pub fn check_units() -> Result<()> {
    check_units_in(Path::new(SYSTEMD_DIR))
}

/// `check_units` on another copy of the `systemd/` directory (used by the tests).
fn check_units_in(src: &Path) -> Result<()> {
    ensure!(
        src.is_dir(),
        "{} not found: run from the workspace root",
        src.display()
    );
    let scratch = ScratchRoot::create(src)?;
    verify_units(&scratch)?;
    security_budgets(&scratch)?;
    sysusers_and_tmpfiles(&scratch)?;
    lint_lockdown(src)?;
    println!(
        "appliance: unit checks passed (scratch root {})",
        scratch.root.display()
    );
    Ok(())
}

/// A scratch root: a copy of the host's `/lib/systemd/system` and sysusers config, our units
/// under `etc/systemd/system`, and stub executables for every `ExecStart=` program the host
/// lacks. Removed on drop.
struct ScratchRoot {
    root: PathBuf,
    units: Vec<String>,
}

impl ScratchRoot {
    fn create(src: &Path) -> Result<ScratchRoot> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("booth-units-{}-{n}", std::process::id()));
        if root.exists() {
            fs::remove_dir_all(&root)
                .with_context(|| format!("removing old {}", root.display()))?;
        }
        for dir in [
            "usr/lib/systemd",
            "usr/lib/sysusers.d",
            "usr/lib/tmpfiles.d",
            "etc/systemd/system",
            "usr/bin",
            "usr/sbin",
            "etc/pam.d",
        ] {
            fs::create_dir_all(root.join(dir))
                .with_context(|| format!("creating {}", root.join(dir).display()))?;
        }
        let scratch = ScratchRoot {
            root,
            units: Vec::new(),
        };
        // `cp -a` keeps the symlinks (aliases, masks) of the unit tree exactly.
        crate::util::run(
            Command::new("cp")
                .arg("-a")
                .arg("/lib/systemd/system")
                .arg(scratch.root.join("usr/lib/systemd/")),
        )
        .context(
            "copying /lib/systemd/system into the scratch root (is the systemd package installed?)",
        )?;
        for entry in fs::read_dir("/usr/lib/sysusers.d").context("reading /usr/lib/sysusers.d")? {
            let entry = entry?;
            fs::copy(
                entry.path(),
                scratch
                    .root
                    .join("usr/lib/sysusers.d")
                    .join(entry.file_name()),
            )?;
        }
        let mut scratch = scratch;
        for entry in fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            if !(name.ends_with(".service")
                || name.ends_with(".socket")
                || name.ends_with(".timer"))
            {
                continue;
            }
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            for program in exec_programs(&text) {
                scratch.stub(&program)?;
            }
            fs::write(scratch.root.join("etc/systemd/system").join(&name), text)?;
            scratch.units.push(name);
        }
        scratch.units.sort();
        ensure!(
            !scratch.units.is_empty(),
            "no units found in {}",
            src.display()
        );
        fs::copy(
            src.join("sysusers.d/booth.conf"),
            scratch.root.join("usr/lib/sysusers.d/booth.conf"),
        )
        .context("copying systemd/sysusers.d/booth.conf")?;
        fs::copy(
            src.join("tmpfiles.d/booth.conf"),
            scratch.root.join("usr/lib/tmpfiles.d/booth.conf"),
        )
        .context("copying systemd/tmpfiles.d/booth.conf")?;
        fs::copy(src.join("pam.d/cage"), scratch.root.join("etc/pam.d/cage"))
            .context("copying systemd/pam.d/cage")?;
        for (unit, exec) in IMAGE_PACKAGE_UNITS {
            let dest = scratch.root.join("usr/lib/systemd/system").join(unit);
            if !dest.exists() {
                fs::write(
                    &dest,
                    format!(
                        "[Unit]\nDescription=Stand-in for the image package's {unit}\n\n\
                         [Service]\nExecStart={exec}\n"
                    ),
                )?;
                scratch.stub(exec)?;
            }
        }
        Ok(scratch)
    }

    /// Puts an executable stub at `program` inside the root, unless the host has the real one
    /// (then the real one is copied, so `verify` also sees its true path).
    fn stub(&self, program: &str) -> Result<()> {
        let rel = program.trim_start_matches('/');
        let dest = self.root.join(rel);
        if dest.exists() {
            return Ok(());
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&dest, "#!/bin/sh\nexit 0\n")
            .with_context(|| format!("writing stub {}", dest.display()))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))?;
        Ok(())
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Units our units depend on that come from packages of the image, not of the host (whose
/// systemd tree the scratch root copies), with their program: a stand-in is written when the
/// host lacks them, so `verify` can resolve the dependency.
const IMAGE_PACKAGE_UNITS: &[(&str, &str)] = &[("seatd.service", "/usr/sbin/seatd")];

/// The absolute program paths of every `Exec*=` line of a unit (prefixes `-@:+!` stripped).
fn exec_programs(unit: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("Exec")
                .and_then(|rest| rest.split_once('='))
        })
        .filter_map(|(_, cmd)| {
            cmd.trim()
                .trim_start_matches(['-', '@', ':', '+', '!'])
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .filter(|p| p.starts_with('/'))
        .collect()
}

/// Output of a tool run, both streams together.
fn output_of(cmd: &mut Command) -> Result<(bool, String)> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("starting {shown}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

/// `systemd-analyze verify --man=no` on every unit; any output at all is a failure.
fn verify_units(scratch: &ScratchRoot) -> Result<()> {
    let (ok, text) = output_of(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", scratch.root.display()))
            .args(&scratch.units),
    )?;
    if !ok || !text.trim().is_empty() {
        bail!(
            "systemd-analyze verify of {} is not clean:\n{}",
            scratch.units.join(" "),
            text.trim()
        );
    }
    println!(
        "appliance: systemd-analyze verify clean for {}",
        scratch.units.join(", ")
    );
    Ok(())
}

/// Parses "→ Overall exposure level for X.service: 1.2 OK" from `systemd-analyze security`.
fn parse_exposure(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))?;
    let after = line.rsplit_once(": ")?.1;
    after.split_whitespace().next()?.parse().ok()
}

/// `systemd-analyze security --offline=yes` per unit, against its budget; prints every score.
fn security_budgets(scratch: &ScratchRoot) -> Result<()> {
    let mut report = String::new();
    let mut over = Vec::new();
    for b in BUDGETS {
        ensure!(
            scratch.units.iter().any(|u| u == b.unit),
            "unit {} has a security budget but is not in systemd/",
            b.unit
        );
        let (_, text) = output_of(
            Command::new("systemd-analyze")
                .args(["security", "--offline=yes", "--no-pager"])
                .arg(format!("--root={}", scratch.root.display()))
                .arg(b.unit),
        )?;
        let score = parse_exposure(&text)
            .with_context(|| format!("no exposure level for {} in:\n{text}", b.unit))?;
        let verdict = if score <= b.max_exposure {
            "ok"
        } else {
            "OVER BUDGET"
        };
        let _ = writeln!(
            report,
            "  {:<24} exposure {:>4.1}  budget {:>4.1}  {verdict}",
            b.unit, score, b.max_exposure
        );
        if score > b.max_exposure {
            over.push(format!(
                "{} scores {score:.1} > {:.1}",
                b.unit, b.max_exposure
            ));
        }
    }
    println!("appliance: systemd-analyze security --offline=yes\n{report}");
    ensure!(
        over.is_empty(),
        "security budget exceeded: {}",
        over.join("; ")
    );
    Ok(())
}

/// Looks up a user's uid in the scratch root's `/etc/passwd`.
fn uid_in(root: &Path, user: &str) -> Result<u32> {
    let passwd =
        fs::read_to_string(root.join("etc/passwd")).context("reading scratch etc/passwd")?;
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&user))
                .then(|| f.get(2).and_then(|u| u.parse().ok()))
                .flatten()
        })
        .with_context(|| format!("user {user} missing from /etc/passwd after systemd-sysusers"))
}

/// Whether `user` is a member of `group` in the scratch root's `/etc/group`.
fn in_group(root: &Path, user: &str, group: &str) -> Result<bool> {
    let groups = fs::read_to_string(root.join("etc/group")).context("reading scratch etc/group")?;
    Ok(groups.lines().any(|l| {
        let f: Vec<&str> = l.split(':').collect();
        f.first() == Some(&group) && f.get(3).is_some_and(|m| m.split(',').any(|x| x == user))
    }))
}

/// Applies sysusers and tmpfiles to the scratch root and checks the result: accounts, groups,
/// and the RAM media directory owned by `kiosk` with mode 0700.
fn sysusers_and_tmpfiles(scratch: &ScratchRoot) -> Result<()> {
    let root = &scratch.root;
    let (ok, text) =
        output_of(Command::new("systemd-sysusers").arg(format!("--root={}", root.display())))?;
    ensure!(ok, "systemd-sysusers --root failed:\n{text}");
    for user in ["kiosk", "booth-sync", "booth-reception"] {
        let uid = uid_in(root, user)?;
        ensure!(
            uid != 0 && uid < 1000,
            "{user} got uid {uid}: expected a system uid"
        );
    }
    for group in ["booth", "video", "render", "input", "audio", "lp"] {
        ensure!(
            in_group(root, "kiosk", group)?,
            "kiosk is not in group {group} after systemd-sysusers"
        );
    }
    let (ok, text) = output_of(
        Command::new("systemd-tmpfiles")
            .arg(format!("--root={}", root.display()))
            .args(["--create", "booth.conf"]),
    )?;
    ensure!(
        ok && text.trim().is_empty(),
        "systemd-tmpfiles --root --create failed or complained:\n{text}"
    );
    let media = root.join("run/booth/media");
    let meta = fs::metadata(&media)
        .with_context(|| format!("{} was not created by tmpfiles", media.display()))?;
    ensure!(
        meta.mode() & 0o7777 == 0o700,
        "run/booth/media has mode {:o}, must be 0700",
        meta.mode() & 0o7777
    );
    let kiosk = uid_in(root, "kiosk")?;
    ensure!(
        meta.uid() == kiosk,
        "run/booth/media is owned by uid {}, must be kiosk ({kiosk})",
        meta.uid()
    );
    let state = fs::metadata(root.join("var/lib/booth"))
        .context("var/lib/booth was not created by tmpfiles")?;
    ensure!(
        state.mode() & 0o7777 == 0o2770,
        "var/lib/booth has mode {:o}, must be 2770",
        state.mode() & 0o7777
    );
    println!(
        "appliance: sysusers and tmpfiles applied to the scratch root: users, groups, /run/booth/media 0700 kiosk"
    );
    Ok(())
}

/// Keys that udev accepts on a rule line (the subset we use plus common ones).
const UDEV_KEYS: &[&str] = &[
    "ACTION",
    "SUBSYSTEM",
    "SUBSYSTEMS",
    "KERNEL",
    "KERNELS",
    "DRIVER",
    "DRIVERS",
    "ATTR",
    "ATTRS",
    "ENV",
    "TAG",
    "TAGS",
    "DEVPATH",
    "NAME",
    "SYMLINK",
    "GROUP",
    "OWNER",
    "MODE",
    "RUN",
    "IMPORT",
    "PROGRAM",
    "RESULT",
    "GOTO",
    "LABEL",
    "TEST",
    "OPTIONS",
    "SYSCTL",
    "CONST",
];

/// Checks one udev rule line: comma-separated `KEY[{attr}]OP"value"` items with known keys and
/// operators, and at least one assignment. Returns what is wrong.
fn lint_udev_line(line: &str) -> Result<(), String> {
    let mut rest = line.trim();
    let mut assigns = 0;
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or("item without operator")?;
        let key = &rest[..key_end];
        if !UDEV_KEYS.contains(&key) {
            return Err(format!("unknown key {key:?}"));
        }
        rest = &rest[key_end..];
        if let Some(after) = rest.strip_prefix('{') {
            let close = after.find('}').ok_or(format!("{key}{{ not closed"))?;
            rest = &after[close + 1..];
        }
        let op = ["==", "!=", "+=", "-=", ":=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or(format!("{key}: no operator"))?;
        if !op.ends_with("==") && op != "!=" {
            assigns += 1;
        }
        rest = rest[op.len()..]
            .strip_prefix('"')
            .ok_or(format!("{key}: value not quoted"))?;
        let close = rest
            .find('"')
            .ok_or(format!("{key}: value quote not closed"))?;
        rest = rest[close + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("expected ',' after {key}"));
        }
    }
    if assigns == 0 {
        return Err("rule has no assignment".into());
    }
    Ok(())
}

/// Lints the lockdown and device files that no host tool can verify offline (udevadm is not on
/// the host and `udevadm verify` needs systemd 254), and checks that the lockdown covers both
/// drivers in both layers.
fn lint_lockdown(src: &Path) -> Result<()> {
    let udev = src.join("udev");
    let mut rules = 0;
    for entry in fs::read_dir(&udev).with_context(|| format!("reading {}", udev.display()))? {
        let path = entry?.path();
        let text = fs::read_to_string(&path)?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            lint_udev_line(line)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?;
            rules += 1;
        }
    }
    let storage = fs::read_to_string(udev.join("60-booth-usb-storage.rules"))?;
    ensure!(
        storage.lines().any(|l| !l.starts_with('#')
            && l.contains("ATTR{bInterfaceClass}==\"08\"")
            && l.contains("ATTR{authorized}=\"0\"")),
        "60-booth-usb-storage.rules no longer de-authorises class 08 interfaces"
    );
    let modprobe = fs::read_to_string(src.join("modprobe.d/booth-usb-storage.conf"))?;
    for needed in [
        "blacklist usb-storage",
        "blacklist uas",
        "install usb-storage /bin/false",
        "install uas /bin/false",
    ] {
        ensure!(
            modprobe.lines().any(|l| l.trim() == needed),
            "modprobe.d/booth-usb-storage.conf lacks `{needed}`"
        );
    }
    let hook = src.join("initramfs-tools/hooks/booth-usb-lockdown");
    let (ok, text) = output_of(Command::new("sh").arg("-n").arg(&hook))?;
    ensure!(ok, "{} is not valid sh:\n{text}", hook.display());
    ensure!(
        fs::metadata(&hook)?.mode() & 0o111 != 0,
        "{} must be executable",
        hook.display()
    );
    println!("appliance: {rules} udev rules, modprobe lockdown and initramfs hook lint clean");
    Ok(())
}

/// Options of `cargo xtask image`.
#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// Output directory for the disk image, its bmap and the build log.
    #[arg(long, default_value = "target/image")]
    pub out: PathBuf,
    /// Where the mkosi tools chroot (bookworm + backports mkosi 24.3) is kept between builds.
    #[arg(long, default_value = "target/image-tools")]
    pub tools: PathBuf,
    /// The central authority's CA certificate (PEM), built in at /var/lib/booth/sync/ca.crt so
    /// provisioning needs no file from removable media (USB storage is blocked on the booth).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// After building, boot a copy of the image under QEMU TCG with OVMF (UEFI) and check that
    /// the kiosk session and sync-agent start, the screen is not blank and the USB stick gets no
    /// driver. Needs qemu-system-x86 and ovmf.
    #[arg(long)]
    pub boot: bool,
    /// Only boot the image already in the output directory (implies --boot; no build).
    #[arg(long)]
    pub boot_only: bool,
}

/// Options of `cargo xtask image-test`.
#[derive(Debug, clap::Args)]
pub struct ImageTestArgs {
    /// Work directory for the test root tree, its ext4 image, logs and the screendump.
    #[arg(long, default_value = "target/image-test")]
    pub work: PathBuf,
    /// Longest the boot may take before it is declared hung (TCG on 2 busy cores: 2–5 min).
    #[arg(long, default_value_t = 600)]
    pub timeout_s: u64,
    /// Reuse an existing root tree in the work directory instead of running mmdebstrap again.
    #[arg(long)]
    pub reuse_tree: bool,
    /// Use the binaries already in target/debug instead of building them (when a crate is
    /// mid-edit on a shared machine).
    #[arg(long)]
    pub no_build: bool,
    /// Write the result, timings and screendump into docs/ (appliance-image-test.md,
    /// image-test-screendump.png).
    #[arg(long)]
    pub record: bool,
}

/// Timings of a recipe, printed at the end and recorded in docs.
#[derive(Debug, Default)]
struct Timings(Vec<(String, Duration)>);

impl Timings {
    fn time<T>(&mut self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("appliance: {what} …");
        let t = Instant::now();
        let r = f();
        let took = t.elapsed();
        println!(
            "appliance: {what}: {:.1} s{}",
            took.as_secs_f64(),
            if r.is_err() { " (failed)" } else { "" }
        );
        self.0.push((what.to_owned(), took));
        r
    }
}

/// The Debian mirror (the only package source CI can reach).
const DEBIAN_MIRROR: &str = "http://deb.debian.org/debian";

/// Packages of the booth OS besides the libraries our binaries link (those are found with
/// `ldd` + `dpkg -S` when staging). Why each: systemd/udev/dbus/logind for the units, seatd
/// because cage gets DRM and input through libseat's seatd backend (a logind session would move
/// the kiosk out of its service's cgroup, see `systemd/kiosk-session.service`), xwayland because cage
/// 0.1.4 aborts without it, GStreamer plugins for capture/encoding, fonts for Kazakh letters.
const IMAGE_PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "systemd-timesyncd",
    "udev",
    "dbus",
    "libpam-systemd",
    "seatd",
    "kmod",
    "initramfs-tools",
    "linux-image-amd64",
    "tzdata",
    "cage",
    "xwayland",
    "fonts-dejavu-core",
    "fontconfig",
    "libxkbcommon0",
    "libwayland-client0",
    "libwayland-cursor0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-libav",
    "gstreamer1.0-alsa",
    "usbutils",
];

/// Our binaries installed into `/usr/bin` of the image.
const BINARIES: &[&str] = &[
    "kiosk",
    "sync-agent",
    "reception",
    "booth-diag",
    "booth-provision",
];

/// Units enabled in the image.
const ENABLED_UNITS: &[&str] = &[
    "seatd.service",
    "kiosk-session.service",
    "sync-agent.service",
    "reception.socket",
    "systemd-timesyncd.service",
];

/// Builds our binaries (debug profile: the shared machines forbid `--release` builds) and
/// stages everything we add to Debian into `stage/` in its final layout. Returns the Debian
/// packages that provide the shared libraries the binaries link.
fn stage_tree(stage: &Path, build: bool) -> Result<Vec<String>> {
    // One package at a time: building them together unifies features differently from the
    // per-crate builds and recompiles most dependencies.
    for pkg in [
        "kiosk",
        "sync-agent",
        "reception",
        "booth-hardware",
        "booth-provision",
    ] {
        if build {
            crate::util::cargo(&["build", "--bins", "-p", pkg])?;
        }
    }
    if stage.exists() {
        fs::remove_dir_all(stage)?;
    }
    let src = Path::new(SYSTEMD_DIR);
    let put = |from: &Path, to: &str, mode: u32| -> Result<()> {
        let dest = stage.join(to.trim_start_matches('/'));
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(from, &dest).with_context(|| format!("staging {} as {to}", from.display()))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    for entry in fs::read_dir(src)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".service") || name.ends_with(".socket") {
            put(&path, &format!("/usr/lib/systemd/system/{name}"), 0o644)?;
        }
    }
    put(&src.join("pam.d/cage"), "/etc/pam.d/cage", 0o644)?;
    put(
        &src.join("sysusers.d/booth.conf"),
        "/usr/lib/sysusers.d/booth.conf",
        0o644,
    )?;
    put(
        &src.join("tmpfiles.d/booth.conf"),
        "/usr/lib/tmpfiles.d/booth.conf",
        0o644,
    )?;
    put(
        &src.join("modprobe.d/booth-usb-storage.conf"),
        "/etc/modprobe.d/booth-usb-storage.conf",
        0o644,
    )?;
    put(
        &src.join("journald.conf.d/booth.conf"),
        "/etc/systemd/journald.conf.d/booth.conf",
        0o644,
    )?;
    put(
        &src.join("timesyncd.conf.d/booth.conf"),
        "/etc/systemd/timesyncd.conf.d/booth.conf",
        0o644,
    )?;
    put(
        &src.join("initramfs-tools/hooks/booth-usb-lockdown"),
        "/etc/initramfs-tools/hooks/booth-usb-lockdown",
        0o755,
    )?;
    for entry in fs::read_dir(src.join("udev"))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        put(&path, &format!("/etc/udev/rules.d/{name}"), 0o644)?;
    }
    if Path::new("docs/operations.md").exists() {
        put(
            Path::new("docs/operations.md"),
            "/usr/share/doc/booth/operations.md",
            0o644,
        )?;
    }
    let cfg = stage.join("etc/booth/booth.toml");
    fs::create_dir_all(stage.join("etc/booth"))?;
    fs::write(
        &cfg,
        "# Booth configuration: defaults until `booth-provision` writes the real one.\n",
    )?;
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o640))?;
    let mut libs = std::collections::BTreeSet::new();
    for bin in BINARIES {
        let built = Path::new("target/debug").join(bin);
        let dest = stage.join("usr/bin").join(bin);
        put(&built, &format!("/usr/bin/{bin}"), 0o755)?;
        // Debug info is not needed on the booth; a stripped binary is a fraction of the size.
        crate::util::run(Command::new("strip").arg("--strip-debug").arg(&dest))?;
        let (ok, text) = output_of(Command::new("ldd").arg(&built))?;
        ensure!(ok, "ldd {} failed: {text}", built.display());
        libs.extend(
            text.lines()
                .filter_map(|l| l.split("=>").nth(1))
                .filter_map(|r| r.split_whitespace().next())
                .filter(|p| p.starts_with('/'))
                .map(str::to_owned),
        );
    }
    let mut packages = std::collections::BTreeSet::new();
    for lib in &libs {
        let real = fs::canonicalize(lib).unwrap_or_else(|_| PathBuf::from(lib));
        for candidate in [PathBuf::from(lib), real] {
            let (ok, text) = output_of(Command::new("dpkg").arg("-S").arg(&candidate))?;
            if ok && let Some(pkg) = text.lines().next().and_then(|l| l.split(':').next()) {
                packages.insert(pkg.trim().to_owned());
                break;
            }
        }
    }
    println!(
        "appliance: staged {} files; binaries link {} libraries from {} packages",
        count_files(stage),
        libs.len(),
        packages.len()
    );
    Ok(packages.into_iter().collect())
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// (program, Debian package) that `cargo xtask image` runs on the host.
const IMAGE_TOOLS: &[(&str, &str)] = &[("mmdebstrap", "mmdebstrap"), ("bmaptool", "bmap-tools")];
/// … that `cargo xtask image --boot` runs (besides OVMF's files, from `ovmf`).
const BOOT_TOOLS: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("convert", "imagemagick"),
    ("journalctl", "systemd"),
];
/// … that `cargo xtask image-test` runs.
const IMAGE_TEST_TOOLS: &[(&str, &str)] = &[
    ("mmdebstrap", "mmdebstrap"),
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("mkfs.ext4", "e2fsprogs"),
    ("convert", "imagemagick"),
];
/// … that the cage check of `cargo xtask test` runs.
const CAGE_TOOLS: &[(&str, &str)] = &[
    ("cage", "cage"),
    ("grim", "grim"),
    ("Xwayland", "xwayland"),
    ("setpriv", "util-linux"),
    ("convert", "imagemagick"),
];

/// Fails naming the missing programs and their packages (installed by `packages::ensure` and
/// `packages::ensure_image` at the start of each command, so this only catches a failed install).
fn require_tools(tools: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<String> = tools
        .iter()
        .filter(|(bin, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {bin}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|(bin, pkg)| format!("{bin} (apt-get install {pkg})"))
        .collect();
    ensure!(missing.is_empty(), "missing tools: {}", missing.join(", "));
    Ok(())
}

/// Packages of the tools chroot that runs mkosi (installed from bookworm-backports where it has
/// them). tzdata: mkosi runs `systemd-firstboot --root=… --timezone=…`, which checks the zone
/// against the chroot's own /usr/share/zoneinfo.
const TOOLS_PACKAGES: &[&str] = &[
    "mkosi",
    "systemd-container",
    "systemd-boot",
    "python3-pefile",
    "dosfstools",
    "mtools",
    "e2fsprogs",
    "cpio",
    "zstd",
    "xz-utils",
    "debian-archive-keyring",
    "kmod",
    "bubblewrap",
    "tzdata",
];

/// `cargo xtask image`: the bootable UEFI disk image (Debian 12, systemd-boot, UKI) with mkosi
/// 24.3 from bookworm-backports, run inside a tools chroot (mkosi 14 of bookworm cannot build a
/// disk on a kernel without vfat, and installing 24.3 on the host would upgrade its systemd),
/// then `bmaptool create`. Needs root; mmdebstrap and bmap-tools (and for `--boot` QEMU and
/// OVMF) are installed by `packages::ensure_image` first.
pub fn image(args: &ImageArgs) -> Result<()> {
    let mut t = Timings::default();
    let root = std::env::current_dir()?;
    let out = root.join(&args.out);
    if args.boot_only {
        return boot_disk_image(&out, &mut t);
    }
    require_tools(IMAGE_TOOLS)?;
    let tools = root.join(&args.tools);
    fs::create_dir_all(&out)?;
    let stage = out.join("extra");
    let lib_packages = t.time("build and stage binaries and units", || {
        stage_tree(&stage, true)
    })?;
    if let Some(ca) = &args.ca_cert {
        fs::create_dir_all(stage.join("var/lib/booth/sync"))?;
        fs::copy(ca, stage.join("var/lib/booth/sync/ca.crt"))
            .with_context(|| format!("copying CA {}", ca.display()))?;
    }
    // The chroot is rebuilt when its package list changed (it is kept between builds).
    let marker = tools.join("etc/booth-tools-packages");
    let wanted = TOOLS_PACKAGES.join(" ");
    if fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        if tools.exists() {
            let mounts = fs::read_to_string("/proc/mounts")?;
            ensure!(
                !mounts.contains(&format!(" {}", tools.display())),
                "something is still mounted under {}: unmount it first",
                tools.display()
            );
            fs::remove_dir_all(&tools)
                .with_context(|| format!("removing the old {}", tools.display()))?;
        }
        t.time("tools chroot with mkosi 24.3 (bookworm-backports)", || {
            crate::util::run(
                Command::new("mmdebstrap")
                    .args(["--variant=apt", "--include=ca-certificates"])
                    .arg(format!(
                        "--customize-hook=chroot \"$1\" apt-get install -y -t bookworm-backports {wanted}"
                    ))
                    .arg("bookworm")
                    .arg(&tools)
                    .arg(format!("deb {DEBIAN_MIRROR} bookworm main"))
                    .arg(format!("deb {DEBIAN_MIRROR} bookworm-backports main")),
            )
        })?;
        fs::write(&marker, &wanted)?;
    }
    // The recipe directory as mkosi sees it inside the chroot (/src).
    let src = tools.join("src");
    if src.exists() {
        fs::remove_dir_all(&src)?;
    }
    crate::util::run(Command::new("cp").arg("-a").arg("images/mkosi").arg(&src))?;
    crate::util::run(
        Command::new("cp")
            .arg("-a")
            .arg(&stage)
            .arg(src.join("mkosi.extra")),
    )?;
    let mut conf = fs::read_to_string(src.join("mkosi.conf"))?;
    let _ = writeln!(
        conf,
        "\n[Content]\n# Libraries our binaries link (ldd + dpkg -S at build time; mkosi splits lists at commas and newlines, not spaces)\nPackages={}",
        lib_packages.join(",")
    );
    fs::write(src.join("mkosi.conf"), conf)?;
    let mounts = ChrootMounts::mount(&tools)?;
    let built = t.time("mkosi build (bootable UEFI disk image)", || {
        crate::util::run(Command::new("chroot").arg(&tools).args([
            "sh",
            "-c",
            "cd /src && mkosi --force build",
        ]))
    });
    drop(mounts);
    built?;
    let raw = src.join("booth.raw");
    let image = out.join("booth.raw");
    fs::rename(&raw, &image)
        .or_else(|_| crate::util::run(Command::new("cp").arg(&raw).arg(&image)))?;
    t.time("bmaptool create", || {
        crate::util::run(
            Command::new("bmaptool")
                .args(["create", "-o"])
                .arg(out.join("booth.bmap"))
                .arg(&image),
        )
    })?;
    let size = fs::metadata(&image)?.len();
    let allocated = fs::metadata(&image)?.blocks() * 512;
    println!(
        "appliance: image {} : {:.2} GiB, {:.0} MB allocated",
        image.display(),
        size as f64 / (1u64 << 30) as f64,
        allocated as f64 / 1e6
    );
    if args.boot {
        return boot_disk_image(&out, &mut t);
    }
    for (what, took) in &t.0 {
        println!("  {what:<52} {:>7.1} s", took.as_secs_f64());
    }
    Ok(())
}

/// OVMF (UEFI firmware for QEMU) from Debian's `ovmf` package: code and a template of the
/// variable store.
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// (first byte, length in bytes) of the GPT partition named `name` in a disk image.
fn gpt_partition(disk: &Path, name: &str) -> Result<(u64, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = fs::File::open(disk).with_context(|| format!("opening {}", disk.display()))?;
    let mut header = [0u8; 92];
    f.seek(SeekFrom::Start(512))?;
    f.read_exact(&mut header)?;
    ensure!(&header[..8] == b"EFI PART", "{} has no GPT", disk.display());
    let le64 = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    let le32 = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or([0; 4]));
    let (entries_lba, count, size) = (
        le64(&header[72..80]),
        le32(&header[80..84]),
        le32(&header[84..88]) as usize,
    );
    f.seek(SeekFrom::Start(entries_lba * 512))?;
    let mut entry = vec![0u8; size];
    for _ in 0..count {
        f.read_exact(&mut entry)?;
        let utf16: Vec<u16> = entry[56..128.min(size)]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&c| c != 0)
            .collect();
        if String::from_utf16_lossy(&utf16) == name {
            let (first, last) = (le64(&entry[32..40]), le64(&entry[40..48]));
            return Ok((first * 512, (last.saturating_sub(first) + 1) * 512));
        }
    }
    bail!("no GPT partition named {name} in {}", disk.display())
}

/// A loop mount of one partition of a disk image file; unmounted on drop.
struct PartitionMount(PathBuf);

impl PartitionMount {
    fn mount(disk: &Path, (offset, len): (u64, u64), at: &Path, rw: bool) -> Result<Self> {
        fs::create_dir_all(at)?;
        crate::util::run(
            Command::new("mount")
                .arg("-o")
                .arg(format!(
                    "{},loop,offset={offset},sizelimit={len}",
                    if rw { "rw" } else { "ro" }
                ))
                .arg(disk)
                .arg(at),
        )?;
        Ok(PartitionMount(at.to_owned()))
    }
}

impl Drop for PartitionMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Boots a copy of `OUT/booth.raw` under QEMU TCG through OVMF, systemd-boot and the UKI, with
/// virtio-gpu, an emulated USB stick, keyboard and tablet, and checks it from the serial
/// console, a QMP screendump and the copy's journal afterwards. The copy gets one test-only
/// drop-in, `WLR_RENDERER=pixman`: with the image's default GLES2 renderer, Mesa's software
/// driver (kms_swrast) crashes cage on a virtio-gpu without 3D (docs/appliance-disk-image.md).
fn boot_disk_image(out: &Path, t: &mut Timings) -> Result<()> {
    require_tools(BOOT_TOOLS)?;
    ensure!(
        Path::new(OVMF_CODE).exists() && Path::new(OVMF_VARS).exists(),
        "{OVMF_CODE} missing (apt-get install ovmf)"
    );
    let image = out.join("booth.raw");
    ensure!(
        image.exists(),
        "{} missing: build it first",
        image.display()
    );
    let work = out.join("boot");
    if work.join("mnt").exists() {
        let _ = Command::new("umount").arg(work.join("mnt")).status();
    }
    fs::create_dir_all(&work)?;
    let disk = work.join("disk.raw");
    let vars = work.join("vars.fd");
    let stick = work.join("stick.img");
    let serial = work.join("serial.log");
    let qmp_sock = work.join("qmp.sock");
    for f in [&disk, &serial, &qmp_sock, &stick] {
        let _ = fs::remove_file(f);
    }
    crate::util::run(
        Command::new("cp")
            .arg("--sparse=always")
            .arg(&image)
            .arg(&disk),
    )?;
    fs::copy(OVMF_VARS, &vars)?;
    crate::util::run(Command::new("truncate").args(["-s", "64M"]).arg(&stick))?;
    let root_part = gpt_partition(&disk, "root-x86-64")?;
    {
        let mnt = PartitionMount::mount(&disk, root_part, &work.join("mnt"), true)?;
        let dropin = mnt.0.join("etc/systemd/system/kiosk-session.service.d");
        fs::create_dir_all(&dropin)?;
        fs::write(
            dropin.join("test-pixman.conf"),
            "[Service]\nEnvironment=WLR_RENDERER=pixman\n",
        )?;
    }
    println!(
        "appliance: booting the disk image under QEMU TCG + OVMF (serial log {})",
        serial.display()
    );
    let started = Instant::now();
    let mut qemu = qemu_tcg(&disk, &stick)
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", qmp_sock.display()))
        .stdin(std::process::Stdio::null())
        .spawn()
        .context("starting qemu-system-x86_64")?;
    let deadline = started + Duration::from_secs(600);
    loop {
        let text = fs::read_to_string(&serial).unwrap_or_default();
        if text.contains("login:") {
            break;
        }
        if let Some(status) = qemu.try_wait()? {
            bail!(
                "QEMU exited ({status}) before the login prompt; serial log:\n{}",
                tail(&text, 40)
            );
        }
        if Instant::now() > deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            bail!(
                "no login prompt within 600 s; serial log:\n{}",
                tail(&text, 40)
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    t.0.push((
        "UEFI boot to login prompt (QEMU TCG)".into(),
        started.elapsed(),
    ));
    let ppm = work.join("screendump.ppm");
    let mut qmp = Qmp::connect(&qmp_sock)?;
    let mut busy = (0, 0, 0.0);
    let shot_deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < shot_deadline {
        qmp.execute(&format!(
            r#"{{"execute":"screendump","arguments":{{"filename":"{}"}}}}"#,
            ppm.display()
        ))?;
        busy = ppm_busyness(&fs::read(&ppm)?)?;
        if busy.2 > 0.01 {
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    t.0.push(("UEFI boot to screendump".into(), started.elapsed()));
    // The real image has no boot probe: give the boot 45 s more to finish (wait-online gives
    // up after 20 s when offline, then sync-agent starts), which is also longer than the kiosk
    // session's WatchdogSec=30s, so a restart would show in the journal.
    std::thread::sleep(Duration::from_secs(45));
    let _ = qmp.execute(r#"{"execute":"system_powerdown"}"#);
    let off_deadline = Instant::now() + Duration::from_secs(90);
    while qemu.try_wait()?.is_none() {
        if Instant::now() > off_deadline {
            let _ = qmp.execute(r#"{"execute":"quit"}"#);
            let _ = qemu.wait();
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let png = work.join("screendump.png");
    crate::util::run(Command::new("convert").arg(&ppm).arg(&png))?;
    let journal = {
        let mnt = PartitionMount::mount(&disk, root_part, &work.join("mnt"), false)?;
        let (_, text) = output_of(
            Command::new("journalctl")
                .arg("-D")
                .arg(mnt.0.join("var/log/journal"))
                .args(["--no-pager", "-o", "short-monotonic"]),
        )?;
        text
    };
    fs::write(work.join("journal.txt"), &journal)?;
    let has = |s: &str| journal.lines().any(|l| l.contains(s));
    let mut failures = Vec::new();
    for (needle, what) in [
        (
            "Started kiosk-session.service",
            "kiosk-session.service never started (no READY=1)",
        ),
        (
            "Started sync-agent.service",
            "sync-agent.service never started",
        ),
        ("Startup finished", "the boot never finished"),
    ] {
        if !has(needle) {
            failures.push(what.to_owned());
        }
    }
    for (needle, what) in [
        (
            "USB Mass Storage device detected",
            "usb-storage bound the stick",
        ),
        (
            "Attached SCSI removable disk",
            "the stick got a block device",
        ),
        (
            "kiosk-session.service: Scheduled restart job",
            "the kiosk session restarted",
        ),
    ] {
        if has(needle) {
            failures.push(what.to_owned());
        }
    }
    if busy.2 <= 0.01 {
        failures.push(format!("the screendump ({}x{}) is blank", busy.0, busy.1));
    }
    if let Some(line) = journal.lines().find(|l| l.contains("Startup finished")) {
        println!("appliance: guest: {}", line.trim());
    }
    println!("\nappliance: image timings");
    for (what, took) in &t.0 {
        println!("  {what:<52} {:>7.1} s", took.as_secs_f64());
    }
    println!(
        "  screendump {}x{}, {:.1} % of pixels off the background: {}; journal: {}",
        busy.0,
        busy.1,
        busy.2 * 100.0,
        png.display(),
        work.join("journal.txt").display()
    );
    let _ = fs::remove_file(&disk);
    ensure!(
        failures.is_empty(),
        "disk image boot failed: {}",
        failures.join("; ")
    );
    println!("appliance: the disk image booted through UEFI to the attract screen");
    Ok(())
}

/// Bind mounts for running mkosi inside the tools chroot; unmounted (lazily, in reverse) on drop.
struct ChrootMounts(Vec<PathBuf>);

impl ChrootMounts {
    fn mount(root: &Path) -> Result<ChrootMounts> {
        let mut m = ChrootMounts(Vec::new());
        // The self bind-mount makes `findmnt --target /` work inside the chroot.
        crate::util::run(Command::new("mount").arg("--bind").arg(root).arg(root))?;
        m.0.push(root.to_owned());
        for d in ["proc", "sys", "dev"] {
            let target = root.join(d);
            crate::util::run(
                Command::new("mount")
                    .arg("--rbind")
                    .arg(format!("/{d}"))
                    .arg(&target),
            )?;
            crate::util::run(Command::new("mount").arg("--make-rslave").arg(&target))?;
            m.0.push(target);
        }
        Ok(m)
    }
}

impl Drop for ChrootMounts {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            let _ = Command::new("umount").arg("-R").arg("-l").arg(p).status();
        }
    }
}

/// The boot probe: a test-only unit that waits for the boot to finish, prints the system
/// state, our units' states, every USB interface (class, authorized, driver) and the block
/// devices to the serial console, then waits for the harness to take the screendump.
const BOOT_CHECK_UNIT: &str = "[Unit]
Description=Boot probe of cargo xtask image-test
After=multi-user.target graphical.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/boot-check
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
";

const BOOT_CHECK_SCRIPT: &str = r#"#!/bin/sh
# Boot probe of `cargo xtask image-test` (test image only).
state=$(timeout 400 systemctl is-system-running --wait)
echo "BOOT-CHECK: state=$state uptime=$(cut -d' ' -f1 /proc/uptime)"
for u in seatd.service kiosk-session.service sync-agent.service reception.socket systemd-timesyncd.service; do
  echo "BOOT-CHECK: unit $u $(systemctl is-active $u) restarts=$(systemctl show -P NRestarts $u)"
done
systemctl --failed --no-legend --plain | sed 's/^/BOOT-CHECK: failed /'
for i in /sys/bus/usb/devices/*:*; do
  [ -e "$i/bInterfaceClass" ] || continue
  d=$(readlink "$i/driver" 2>/dev/null); a=$(cat "$(dirname "$i")/$(basename "$i" | cut -d: -f1)/authorized" 2>/dev/null)
  echo "BOOT-CHECK: usb $(basename $i) class=$(cat $i/bInterfaceClass) authorized=$(cat $i/authorized 2>/dev/null || echo $a) driver=${d##*/}"
done
echo "BOOT-CHECK: modules usb_storage=$(grep -c '^usb_storage ' /proc/modules) uas=$(grep -c '^uas ' /proc/modules)"
echo "BOOT-CHECK: block $(ls /sys/block | tr '\n' ' ')"
echo "BOOT-CHECK: startup $(systemd-analyze 2>/dev/null | head -1)"
# Longer than WatchdogSec=30s: the kiosk must still be the same process, with no restart, and
# systemd must have taken a WATCHDOG=1 recently (a missed watchdog is SIGABRT and a restart).
pid=$(systemctl show -P MainPID kiosk-session.service)
sleep 45
wd=$(systemctl show -P WatchdogTimestampMonotonic kiosk-session.service)
same=no; [ "$pid" = "$(systemctl show -P MainPID kiosk-session.service)" ] && same=yes
echo "BOOT-CHECK: after-watchdog-window kiosk-session.service $(systemctl is-active kiosk-session.service) restarts=$(systemctl show -P NRestarts kiosk-session.service) samepid=$same watchdog_age_s=$(awk -v w="${wd:-0}" '{printf "%.1f", $1 - w/1e6}' /proc/uptime)"
echo "BOOT-CHECK: done"
"#;

/// A QMP connection to QEMU (JSON lines over a Unix socket): just enough for `screendump`
/// and `quit`.
struct Qmp {
    stream: std::os::unix::net::UnixStream,
}

impl Qmp {
    fn connect(path: &Path) -> Result<Qmp> {
        let stream = std::os::unix::net::UnixStream::connect(path)
            .with_context(|| format!("QMP socket {}", path.display()))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut q = Qmp { stream };
        q.read_reply()?; // greeting
        q.execute(r#"{"execute":"qmp_capabilities"}"#)?;
        Ok(q)
    }

    fn read_reply(&mut self) -> Result<String> {
        use std::io::Read;
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            let n = self.stream.read(&mut byte)?;
            ensure!(n == 1, "QMP connection closed");
            if byte[0] == b'\n' {
                let line = String::from_utf8_lossy(&buf).into_owned();
                // Asynchronous events are interleaved with replies: skip them.
                if line.contains("\"event\"") {
                    buf.clear();
                    continue;
                }
                return Ok(line);
            }
            buf.push(byte[0]);
        }
    }

    fn execute(&mut self, cmd: &str) -> Result<String> {
        use std::io::Write;
        self.stream.write_all(cmd.as_bytes())?;
        self.stream.write_all(b"\n")?;
        let reply = self.read_reply()?;
        ensure!(!reply.contains("\"error\""), "QMP {cmd} failed: {reply}");
        Ok(reply)
    }
}

/// Reads a binary 8-bit PPM (P6): (width, height, the RGB bytes of its pixels).
fn ppm_pixels(data: &[u8]) -> Result<(usize, usize, &[u8])> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 && i < data.len() {
        while i < data.len() && data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data.get(i) == Some(&b'#') {
            while i < data.len() && data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < data.len() && !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    ensure!(
        fields.len() == 4 && fields[0] == "P6" && fields[3] == "255",
        "not an 8-bit P6 PPM: {fields:?}"
    );
    let (w, h): (usize, usize) = (fields[1].parse()?, fields[2].parse()?);
    let pixels = data.get(i + 1..).context("PPM without pixels")?;
    ensure!(pixels.len() >= w * h * 3, "PPM is truncated");
    Ok((w, h, &pixels[..w * h * 3]))
}

/// Reads a binary PPM (P6) and returns (width, height, fraction of pixels that differ from the
/// most common colour). A blank screen (all black, or one flat colour) gives 0.
fn ppm_busyness(data: &[u8]) -> Result<(usize, usize, f64)> {
    let (w, h, pixels) = ppm_pixels(data)?;
    let counts = colour_counts(pixels);
    let top = counts.values().copied().max().unwrap_or(0);
    Ok((
        w,
        h,
        if w * h == 0 {
            0.0
        } else {
            1.0 - top as f64 / (w * h) as f64
        },
    ))
}

/// How many pixels of each colour (RGB triples).
fn colour_counts(pixels: &[u8]) -> std::collections::HashMap<[u8; 3], usize> {
    let mut counts = std::collections::HashMap::new();
    for px in pixels.chunks_exact(3) {
        *counts.entry([px[0], px[1], px[2]]).or_insert(0usize) += 1;
    }
    counts
}

/// `cargo xtask image-test`: builds a root tree with mmdebstrap (the image's packages, our
/// binaries and units, the lockdown, a boot probe), makes it an ext4 disk, boots it under QEMU
/// TCG with direct kernel boot, virtio-gpu, an emulated USB stick and keyboard, and asserts:
/// system running, every booth unit active, the USB stick de-authorised with no block device,
/// and a screendump of the display that is not blank. Needs root, mmdebstrap and qemu.
/// QEMU as both boot tests run it: q35 under TCG (no KVM on these machines), 2 CPUs, 2 GiB,
/// no display window, a virtio GPU for cage (bochs-drm lacks PRIME import), no network; the
/// booth's `disk` on virtio, and on USB a keyboard, a touch tablet and the `stick` image (a
/// mass-storage device the lockdown must refuse).
fn qemu_tcg(disk: &Path, stick: &Path) -> Command {
    let mut c = Command::new("qemu-system-x86_64");
    c.args([
        "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "2048",
    ])
    .args([
        "-display",
        "none",
        "-vga",
        "none",
        "-device",
        "virtio-gpu-pci",
        "-nic",
        "none",
        "-no-reboot",
    ])
    .arg("-drive")
    .arg(format!("file={},if=virtio,format=raw", disk.display()))
    .args(["-device", "qemu-xhci,id=xhci"])
    .arg("-drive")
    .arg(format!(
        "if=none,id=stick,format=raw,file={}",
        stick.display()
    ))
    .args([
        "-device",
        "usb-storage,bus=xhci.0,drive=stick",
        "-device",
        "usb-kbd,bus=xhci.0",
        "-device",
        "usb-tablet,bus=xhci.0",
    ]);
    c
}

pub fn image_test(args: &ImageTestArgs) -> Result<()> {
    require_tools(IMAGE_TEST_TOOLS)?;
    let mut t = Timings::default();
    let work = std::env::current_dir()?.join(&args.work);
    fs::create_dir_all(&work)?;
    let tree = work.join("root");
    let stage = work.join("stage");
    let lib_packages = t.time("build and stage binaries and units", || {
        stage_tree(&stage, !args.no_build)
    })?;
    if !(args.reuse_tree && tree.join("usr/bin/kiosk").exists()) {
        if tree.exists() {
            fs::remove_dir_all(&tree)?;
        }
        let mut include: Vec<String> = IMAGE_PACKAGES.iter().map(|s| (*s).to_owned()).collect();
        include.extend(lib_packages);
        fs::create_dir_all(stage.join("usr/local/sbin"))?;
        fs::write(stage.join("usr/local/sbin/boot-check"), BOOT_CHECK_SCRIPT)?;
        fs::set_permissions(
            stage.join("usr/local/sbin/boot-check"),
            fs::Permissions::from_mode(0o755),
        )?;
        fs::write(
            stage.join("usr/lib/systemd/system/boot-check.service"),
            BOOT_CHECK_UNIT,
        )?;
        // Test only: the VM has no Mesa, so wlroots renders with pixman (a real booth uses GLES).
        fs::create_dir_all(stage.join("etc/systemd/system/kiosk-session.service.d"))?;
        fs::write(
            stage.join("etc/systemd/system/kiosk-session.service.d/test-pixman.conf"),
            "[Service]\nEnvironment=WLR_RENDERER=pixman\n",
        )?;
        let mut enable: Vec<&str> = ENABLED_UNITS.to_vec();
        enable.push("boot-check.service");
        let hook = format!(
            "set -e; R=\"$1\"; \
             ln -sf /usr/share/zoneinfo/Asia/Almaty \"$R/etc/localtime\"; echo Asia/Almaty > \"$R/etc/timezone\"; \
             echo LANG=C.UTF-8 > \"$R/etc/locale.conf\"; echo booth > \"$R/etc/hostname\"; \
             chroot \"$R\" systemd-sysusers; chroot \"$R\" chown root:booth /etc/booth /etc/booth/booth.toml; chmod 2750 \"$R/etc/booth\"; \
             chroot \"$R\" systemctl enable {}; chroot \"$R\" systemctl set-default graphical.target; \
             chroot \"$R\" update-initramfs -u -k all",
            enable.join(" ")
        );
        t.time("mmdebstrap root tree", || {
            crate::util::run(
                Command::new("mmdebstrap")
                    .args([
                        "--variant=minbase",
                        "--aptopt=APT::Install-Recommends \"false\"",
                    ])
                    .arg(format!("--include={}", include.join(",")))
                    .arg(format!("--customize-hook=sync-in {} /", stage.display()))
                    .arg(format!("--customize-hook={hook}"))
                    .arg("bookworm")
                    .arg(&tree)
                    .arg(format!("deb {DEBIAN_MIRROR} bookworm main"))
                    .arg(format!("deb {DEBIAN_MIRROR} bookworm-updates main"))
                    .arg("deb http://deb.debian.org/debian-security bookworm-security main"),
            )
        })?;
    } else {
        // Reused tree: refresh our binaries from this run's stage (the rest stays as installed,
        // with its ownership set inside the tree).
        for bin in BINARIES {
            fs::copy(
                stage.join("usr/bin").join(bin),
                tree.join("usr/bin").join(bin),
            )?;
        }
    }
    let disk = work.join("root.ext4");
    let stick = work.join("stick.img");
    t.time("mkfs.ext4 -d (root disk)", || {
        let _ = fs::remove_file(&disk);
        crate::util::run(Command::new("truncate").args(["-s", "4G"]).arg(&disk))?;
        crate::util::run(
            Command::new("mkfs.ext4")
                .args(["-q", "-F", "-d"])
                .arg(&tree)
                .arg(&disk),
        )?;
        crate::util::run(Command::new("truncate").args(["-s", "64M"]).arg(&stick))
    })?;
    let kernel = find_boot_file(&tree, "vmlinuz-")?;
    let initrd = find_boot_file(&tree, "initrd.img-")?;
    let serial = work.join("serial.log");
    let qmp_sock = work.join("qmp.sock");
    let _ = fs::remove_file(&serial);
    let _ = fs::remove_file(&qmp_sock);
    println!(
        "appliance: booting under QEMU TCG (serial log {})",
        serial.display()
    );
    let boot_started = Instant::now();
    let mut qemu = qemu_tcg(&disk, &stick)
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", qmp_sock.display()))
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args([
            "-append",
            "root=/dev/vda rw console=ttyS0 systemd.firstboot=off",
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .context("starting qemu-system-x86_64")?;
    let deadline = boot_started + Duration::from_secs(args.timeout_s);
    let mut running_seen = None;
    let log = loop {
        let text = fs::read_to_string(&serial).unwrap_or_default();
        if running_seen.is_none() && text.contains("BOOT-CHECK: state=") {
            running_seen = Some(boot_started.elapsed());
        }
        if text.contains("BOOT-CHECK: done") {
            break text;
        }
        if let Some(status) = qemu.try_wait()? {
            bail!(
                "QEMU exited ({status}) before the boot probe finished; serial log:\n{}",
                tail(&text, 40)
            );
        }
        if Instant::now() > deadline {
            let _ = qemu.kill();
            bail!(
                "boot probe did not finish within {} s; serial log:\n{}",
                args.timeout_s,
                tail(&text, 40)
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let probe_done = boot_started.elapsed();
    if let Some(running) = running_seen {
        t.0.push(("boot to probe result (QEMU TCG)".into(), running));
    }
    t.0.push((
        "boot to probe done (+45 s watchdog window)".into(),
        probe_done,
    ));
    // The kiosk may still be drawing its first frame: take the screendump a few times until it
    // shows something, for up to 60 s.
    let ppm = work.join("screendump.ppm");
    let mut qmp = Qmp::connect(&qmp_sock)?;
    let mut busy = (0, 0, 0.0);
    let shot_deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < shot_deadline {
        qmp.execute(&format!(
            r#"{{"execute":"screendump","arguments":{{"filename":"{}"}}}}"#,
            ppm.display()
        ))?;
        busy = ppm_busyness(&fs::read(&ppm)?)?;
        if busy.2 > 0.01 {
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let to_screen = boot_started.elapsed();
    t.0.push(("boot to screendump".into(), to_screen));
    // A clean ACPI power-off, so the guest's journal can be read afterwards from the ext4 disk
    // (`journalctl -D MNT/var/log/journal`); a hard quit leaves it unreadable.
    let _ = qmp.execute(r#"{"execute":"system_powerdown"}"#);
    let off_deadline = Instant::now() + Duration::from_secs(90);
    while qemu.try_wait()?.is_none() {
        if Instant::now() > off_deadline {
            let _ = qmp.execute(r#"{"execute":"quit"}"#);
            let _ = qemu.wait();
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let png = work.join("screendump.png");
    crate::util::run(Command::new("convert").arg(&ppm).arg(&png))?;

    let probe: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("BOOT-CHECK: ").map(|(_, r)| r.trim()))
        .collect();
    println!("appliance: boot probe says:");
    for l in &probe {
        println!("  {l}");
    }
    let mut failures = Vec::new();
    if !probe.iter().any(|l| l.starts_with("state=running")) {
        failures.push("system is not `running`".to_owned());
    }
    for u in ENABLED_UNITS {
        let want = format!("unit {u} active ");
        if !probe.iter().any(|l| l.starts_with(&want)) {
            failures.push(format!("{u} is not active"));
        }
    }
    if let Some(msg) = watchdog_failure(&probe) {
        failures.push(msg);
    }
    let storage: Vec<&&str> = probe
        .iter()
        .filter(|l| l.starts_with("usb ") && l.contains("class=08"))
        .collect();
    if storage.is_empty() {
        failures.push("the emulated USB stick's interface was not seen".into());
    }
    if storage
        .iter()
        .any(|l| !l.contains("authorized=0") || !l.ends_with("driver="))
    {
        failures.push(format!("USB stick interface not locked down: {storage:?}"));
    }
    if probe
        .iter()
        .any(|l| l.starts_with("block ") && l.split_whitespace().any(|d| d.starts_with("sd")))
    {
        failures.push("the USB stick got a block device".into());
    }
    if busy.2 <= 0.01 {
        failures.push(format!("the screendump ({}x{}) is blank", busy.0, busy.1));
    }
    println!("\nappliance: image-test timings");
    for (what, took) in &t.0 {
        println!("  {what:<52} {:>7.1} s", took.as_secs_f64());
    }
    println!(
        "  screendump {}x{}, {:.1} % of pixels differ from the background: {}",
        busy.0,
        busy.1,
        busy.2 * 100.0,
        png.display()
    );
    if args.record {
        record_result(&t, &probe, &failures, busy, &png)?;
    }
    ensure!(
        failures.is_empty(),
        "image-test failed: {}",
        failures.join("; ")
    );
    println!("appliance: image-test passed");
    Ok(())
}

/// Checks the probe's line after the watchdog window (longer than the unit's `WatchdogSec=30s`):
/// the kiosk session still active, never restarted, the same main process, and systemd's last
/// `WATCHDOG=1` less than 30 s old. Returns what is wrong.
fn watchdog_failure(probe: &[&str]) -> Option<String> {
    let Some(line) = probe
        .iter()
        .find_map(|l| l.strip_prefix("after-watchdog-window kiosk-session.service "))
    else {
        return Some("the probe printed no after-watchdog-window line".into());
    };
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    let age: Option<f64> = field("watchdog_age_s").and_then(|v| v.parse().ok());
    let ok = line.starts_with("active ")
        && field("restarts") == Some("0")
        && field("samepid") == Some("yes")
        && age.is_some_and(|a| (0.0..30.0).contains(&a));
    (!ok).then(|| {
        format!(
            "kiosk-session.service did not live through the watchdog window (WatchdogSec=30s): \
             {line}"
        )
    })
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn find_boot_file(tree: &Path, prefix: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(tree.join("boot"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found
        .pop()
        .with_context(|| format!("no /boot/{prefix}* in the tree"))
}

/// Writes `docs/appliance-image-test.md` and `docs/image-test-screendump.png`.
fn record_result(
    t: &Timings,
    probe: &[&str],
    failures: &[String],
    busy: (usize, usize, f64),
    png: &Path,
) -> Result<()> {
    fs::copy(png, "docs/image-test-screendump.png")?;
    let mut md = String::from(
        "# Last `cargo xtask image-test` result\n\nWritten by `cargo xtask image-test --record`.\n\n",
    );
    let _ = writeln!(
        md,
        "Result: **{}**\n",
        if failures.is_empty() {
            "passed".to_owned()
        } else {
            format!("FAILED: {}", failures.join("; "))
        }
    );
    md.push_str("| step | seconds |\n| --- | ---: |\n");
    for (what, took) in &t.0 {
        let _ = writeln!(md, "| {what} | {:.1} |", took.as_secs_f64());
    }
    let _ = writeln!(
        md,
        "\nScreendump {}x{} ({:.1} % non-background pixels): ![screendump](image-test-screendump.png)\n",
        busy.0,
        busy.1,
        busy.2 * 100.0
    );
    md.push_str("Boot probe output:\n\n```\n");
    for l in probe {
        md.push_str(l);
        md.push('\n');
    }
    md.push_str("```\n");
    fs::write("docs/appliance-image-test.md", md)?;
    Ok(())
}

/// The unprivileged uid and gid of the cage check (`nobody`): cage refuses to run as root.
const CAGE_UID: u32 = 65534;
/// The output wlroots 0.15's headless backend creates when `WLR_HEADLESS_OUTPUTS` is unset.
const HEADLESS_OUTPUT: (usize, usize) = (1280, 720);
/// The watchdog interval the check gives the kiosk (`WATCHDOG_USEC`): it pets every second.
const CAGE_WATCHDOG_USEC: u64 = 2_000_000;
/// Fewer distinct colours than this is a blank or nearly blank screen: the attract screen's
/// anti-aliased text alone has hundreds.
const MIN_DISTINCT_COLOURS: usize = 64;

/// `cargo xtask test` step: the real kiosk binary (`target/debug/kiosk`, simulated devices)
/// under the real `cage` on wlroots' headless backend, as uid 65534. Asserts `READY=1` and
/// `WATCHDOG=1` on a fake `NOTIFY_SOCKET`, a `grim` screenshot of the attract screen that fills
/// the output and is not blank (copied to `target/cage-kiosk-attract.png`), and that a stopped
/// (hung) kiosk stops petting the watchdog and resumes when continued. Everything it started
/// is killed on success and on failure. Needs root (to chown the scratch directory and drop to
/// the uid) and the packages cage, grim, xwayland and imagemagick.
pub fn cage_kiosk_check() -> Result<()> {
    ensure!(
        fs::metadata("/proc/self")?.uid() == 0,
        "the cage check needs root: cage refuses to run as root, so the check runs it as uid \
         {CAGE_UID} with setpriv and must chown its scratch directory to that uid"
    );
    require_tools(CAGE_TOOLS)?;
    let root = std::env::current_dir()?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |t| root.join(t));
    let kiosk = target.join("debug").join("kiosk");
    ensure!(
        kiosk.is_file(),
        "{} is missing: build it first (`cargo build -p kiosk`)",
        kiosk.display()
    );
    let scratch = CageScratch::new()?;
    let log_copy = target.join("cage-kiosk.log");
    let result = run_cage_kiosk(&scratch, &kiosk, &target);
    // cage's and the kiosk's stderr, kept for a failed CI run.
    let log = fs::read_to_string(scratch.log()).unwrap_or_default();
    let _ = fs::write(&log_copy, &log);
    result.map_err(|e| {
        // wlroots repeats "Basic output test failed" about 60 times a second; leave it out.
        let quiet: String = log
            .lines()
            .filter(|l| !l.contains("Basic output test failed"))
            .map(|l| format!("{l}\n"))
            .collect();
        anyhow::anyhow!(
            "{e:#}\n--- last lines of the cage + kiosk log (all of it in {}):\n{}",
            log_copy.display(),
            tail(&quiet, 25)
        )
    })
}

fn run_cage_kiosk(scratch: &CageScratch, kiosk: &Path, target: &Path) -> Result<()> {
    use std::os::unix::process::CommandExt;

    let dir = &scratch.dir;
    let (run, home) = (dir.join("run"), dir.join("home"));
    for (d, mode) in [
        (&run, 0o700),
        (&home, 0o700),
        (&home.join("state"), 0o700),
        (&home.join("state/outbox"), 0o700),
        (&home.join("ram"), 0o700),
    ] {
        fs::create_dir(d).with_context(|| format!("creating {}", d.display()))?;
        fs::set_permissions(d, fs::Permissions::from_mode(mode))?;
        std::os::unix::fs::chown(d, Some(CAGE_UID), Some(CAGE_UID))
            .with_context(|| format!("chown {}", d.display()))?;
    }
    let config = dir.join("booth.toml");
    let p = |sub: &str| home.join(sub).display().to_string();
    fs::write(
        &config,
        format!(
            "[paths]\nstate_dir = {:?}\noutbox_dir = {:?}\nram_dir = {:?}\n\n\
             [kiosk]\n# No time sync here.\nclock_sync_marker = \"\"\n",
            p("state"),
            p("state/outbox"),
            p("ram")
        ),
    )?;
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644))?;
    let socket_path = dir.join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&socket_path)
        .with_context(|| format!("binding {}", socket_path.display()))?;
    std::os::unix::fs::chown(&socket_path, Some(CAGE_UID), Some(CAGE_UID))?;

    let log = fs::File::create(scratch.log())?;
    let env: Vec<(&str, String)> = vec![
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME", home.display().to_string()),
        ("LANG", "C.UTF-8".into()),
        ("XDG_RUNTIME_DIR", run.display().to_string()),
        ("WLR_BACKENDS", "headless".into()),
        ("WLR_RENDERER", "pixman".into()),
        ("WLR_LIBINPUT_NO_DEVICES", "1".into()),
    ];
    let as_nobody = |program: &str| {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={CAGE_UID}"))
            .arg(format!("--regid={CAGE_UID}"))
            .arg("--clear-groups")
            .arg(program)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(std::process::Stdio::null());
        c
    };
    let mut cage = as_nobody("cage");
    // Like the unit (no `-d`), except `-r -r`: the output turned 180°, so cage 0.1.4 never
    // scans the kiosk's buffer out directly. A single full-screen surface is otherwise scanned
    // out, and wlroots 0.15's screencopy then reads the renderer's last composited frame, so
    // grim shows a stale picture (the kiosk's first frame, or whatever came before). The
    // kiosk sees the same 1280x720 output either way.
    cage.args(["-r", "-r", "--"])
        .arg(kiosk)
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", CAGE_WATCHDOG_USEC.to_string())
        .env("BOOTH_KIOSK_SIM", "1")
        .env("RUST_LOG", "info")
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group, so the cleanup reaches cage, Xwayland and the kiosk.
        .process_group(0);
    let started = Instant::now();
    let child = cage.spawn().context("starting setpriv … cage")?;
    let mut session = CageSession {
        pgid: child.id(),
        child: Some(child),
    };
    let mut inbox = NotifyInbox { socket: notify };

    // READY=1: the attract screen has been drawn.
    let ready_at = inbox
        .wait_for(&mut session, "READY=1", started + Duration::from_secs(60))?
        .context("no READY=1 from the kiosk within 60 s")?;
    let to_ready = ready_at - started;
    println!(
        "appliance: cage + kiosk sent READY=1 after {:.2} s",
        to_ready.as_secs_f64()
    );

    // Two WATCHDOG=1 while it runs (every WATCHDOG_USEC/2 = 1 s).
    let mut pets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pets.len() < 2 {
        let at = inbox
            .wait_for(&mut session, "WATCHDOG=1", deadline)?
            .with_context(|| {
                format!(
                    "only {} WATCHDOG=1 within 30 s after READY=1 (WATCHDOG_USEC={CAGE_WATCHDOG_USEC})",
                    pets.len()
                )
            })?;
        pets.push(at);
    }
    let gap = pets[1] - pets[0];
    println!(
        "appliance: {} WATCHDOG=1 received, {:.2} s apart (pet interval asked: {:.1} s)",
        pets.len(),
        gap.as_secs_f64(),
        CAGE_WATCHDOG_USEC as f64 / 2e6
    );

    // The screenshot, by grim as the same user on cage's Wayland socket.
    let shot = home.join("attract.png");
    let mut grim = as_nobody("grim");
    grim.arg(&shot).env("WAYLAND_DISPLAY", "wayland-0");
    let grim_out = output_within(&mut grim, Duration::from_secs(60))?;
    ensure!(grim_out.0, "grim failed: {}", grim_out.1);
    let ppm = std::process::Command::new("convert")
        .arg(&shot)
        .args(["-depth", "8", "ppm:-"])
        .output()
        .context("starting convert")?;
    ensure!(
        ppm.status.success(),
        "convert could not decode the screenshot: {}",
        String::from_utf8_lossy(&ppm.stderr)
    );
    let (w, h, pixels) = ppm_pixels(&ppm.stdout)?;
    let colours = colour_counts(pixels);
    let top = colours.values().copied().max().unwrap_or(0);
    let busy = 1.0 - top as f64 / (w * h).max(1) as f64;
    let attract = target.join("cage-kiosk-attract.png");
    fs::copy(&shot, &attract).with_context(|| format!("copying to {}", attract.display()))?;
    println!(
        "appliance: grim screenshot {w}x{h}, {} distinct colours, {:.1}% of pixels off the main \
         colour: {}",
        colours.len(),
        busy * 100.0,
        attract.display()
    );
    ensure!(
        (w, h) == HEADLESS_OUTPUT,
        "screenshot is {w}x{h}, the headless output is {}x{}",
        HEADLESS_OUTPUT.0,
        HEADLESS_OUTPUT.1
    );
    ensure!(
        colours.len() >= MIN_DISTINCT_COLOURS,
        "the screen looks blank: {} distinct colours (want at least {MIN_DISTINCT_COLOURS})",
        colours.len()
    );
    // Full screen: no rows or columns of cage's black background along the bottom or right
    // edge (a maximised window with client-side decorations leaves the title bar's height).
    let px = |x: usize, y: usize| &pixels[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let black_rows = (0..h)
        .rev()
        .take_while(|&y| (0..w).all(|x| px(x, y) == [0, 0, 0]))
        .count();
    let black_cols = (0..w)
        .rev()
        .take_while(|&x| (0..h).all(|y| px(x, y) == [0, 0, 0]))
        .count();
    ensure!(
        black_rows == 0 && black_cols == 0,
        "the kiosk window does not fill the {w}x{h} output: {black_rows} black rows at the \
         bottom, {black_cols} black columns at the right (35 rows: maximised with winit's \
         client-side title bar, which cage draws off-screen; see {})",
        attract.display()
    );

    // A hung UI: SIGSTOP the kiosk (cage's child) and no WATCHDOG=1 may arrive for 3 s.
    let kiosk_pid = session.kiosk_pid()?;
    signal(&kiosk_pid.to_string(), "STOP")?;
    let stop_deadline = Instant::now() + Duration::from_secs(10);
    while proc_stat(kiosk_pid).map(|s| s.0) != Some('T') {
        ensure!(
            Instant::now() < stop_deadline,
            "the kiosk (pid {kiosk_pid}) did not stop on SIGSTOP"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Whatever it sent before it stopped.
    inbox.socket.set_nonblocking(true)?;
    let mut buf = [0u8; 4096];
    while inbox.socket.recv(&mut buf).is_ok() {}
    inbox.socket.set_nonblocking(false)?;
    let stopped_at = Instant::now();
    let quiet_until = stopped_at + Duration::from_secs(3);
    if let Some(at) = inbox.wait_for(&mut session, "WATCHDOG=1", quiet_until)? {
        bail!(
            "WATCHDOG=1 arrived {:.2} s after the kiosk was stopped: the watchdog is not \
             petted by the kiosk's own event loop",
            (at - stopped_at).as_secs_f64()
        );
    }
    println!("appliance: kiosk SIGSTOPped: no WATCHDOG=1 for 3 s");
    signal(&kiosk_pid.to_string(), "CONT")?;
    let resumed = Instant::now();
    let back = inbox
        .wait_for(
            &mut session,
            "WATCHDOG=1",
            resumed + Duration::from_secs(30),
        )?
        .context("the kiosk did not pet the watchdog again within 30 s of SIGCONT")?;
    println!(
        "appliance: kiosk SIGCONTinued: WATCHDOG=1 again after {} ms",
        (back - resumed).as_millis()
    );
    let how = session.stop()?;
    println!("appliance: {how}; no process of the session left");
    Ok(())
}

/// The check's scratch directory `/tmp/booth-cage-PID` (0755, root), removed on drop.
struct CageScratch {
    dir: PathBuf,
}

impl CageScratch {
    fn new() -> Result<CageScratch> {
        let dir = std::env::temp_dir().join(format!("booth-cage-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        Ok(CageScratch { dir })
    }

    fn log(&self) -> PathBuf {
        self.dir.join("cage.log")
    }
}

impl Drop for CageScratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// cage (started through setpriv, which execs it) leading its own process group; dropping it
/// kills the whole group.
struct CageSession {
    pgid: u32,
    child: Option<std::process::Child>,
}

impl CageSession {
    /// Fails with the exit status when cage has exited.
    fn check_running(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            self.child = None;
            bail!("cage exited early with {status}");
        }
        Ok(())
    }

    /// The kiosk: cage's child process named `kiosk`.
    fn kiosk_pid(&self) -> Result<u32> {
        let comm = fs::read_to_string(format!("/proc/{}/comm", self.pgid)).unwrap_or_default();
        ensure!(
            comm.trim() == "cage",
            "pid {} is {:?}, not cage",
            self.pgid,
            comm.trim()
        );
        let kids: Vec<u32> = procs()
            .into_iter()
            .filter(|&p| proc_stat(p).is_some_and(|s| s.1 == self.pgid))
            .filter(|p| {
                fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "kiosk")
            })
            .collect();
        match kids.as_slice() {
            [one] => Ok(*one),
            other => bail!("expected one kiosk child of cage, found {other:?}"),
        }
    }

    /// Members of the process group still alive (zombies do not count).
    fn members(&self) -> Vec<u32> {
        procs()
            .into_iter()
            .filter(|&p| proc_stat(p).is_some_and(|s| s.2 == self.pgid && s.0 != 'Z'))
            .collect()
    }

    /// SIGCONT to the group (a stopped kiosk), SIGTERM to cage, which ends its client; then
    /// SIGTERM and, after 10 s, SIGKILL to whatever is left of the group. Returns how cage
    /// ended; fails if any member is left.
    fn stop(&mut self) -> Result<String> {
        let group = format!("-{}", self.pgid);
        let _ = signal(&group, "CONT");
        let mut how = String::from("cage had already exited");
        if let Some(mut child) = self.child.take() {
            let _ = signal(&self.pgid.to_string(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            how = loop {
                if let Some(status) = child.try_wait()? {
                    break format!("cage ended on SIGTERM with {status}");
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let status = child.wait()?;
                    break format!("cage ignored SIGTERM for 10 s, killed ({status})");
                }
                std::thread::sleep(Duration::from_millis(50));
            };
        }
        // The kiosk and Xwayland exit by themselves once cage's socket closes; a grace period.
        let grace = Instant::now() + Duration::from_secs(3);
        let deadline = grace + Duration::from_secs(10);
        let mut signalled = false;
        while !self.members().is_empty() {
            if !signalled && Instant::now() > grace {
                let _ = signal(&group, "TERM");
                signalled = true;
            }
            if Instant::now() > deadline {
                let _ = signal(&group, "KILL");
                std::thread::sleep(Duration::from_millis(500));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let left = self.members();
        ensure!(
            left.is_empty(),
            "processes of the cage session left: {left:?}"
        );
        if signalled {
            how.push_str("; the kiosk or Xwayland outlived it by 3 s and needed SIGTERM");
        }
        Ok(how)
    }
}

impl Drop for CageSession {
    fn drop(&mut self) {
        if self.child.is_some() || !self.members().is_empty() {
            let _ = self.stop();
        }
    }
}

/// The fake `NOTIFY_SOCKET` (what systemd would read).
struct NotifyInbox {
    socket: std::os::unix::net::UnixDatagram,
}

impl NotifyInbox {
    /// Reads datagrams until one has the line `want` (returns when it arrived) or `deadline`
    /// passes (None). Fails as soon as cage exits.
    fn wait_for(
        &mut self,
        session: &mut CageSession,
        want: &str,
        deadline: Instant,
    ) -> Result<Option<Instant>> {
        let mut buf = [0u8; 4096];
        loop {
            session.check_running()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let wait = (deadline - now).min(Duration::from_millis(250));
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    if text.lines().any(|l| l == want) {
                        return Ok(Some(Instant::now()));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e).context("reading the notify socket"),
            }
        }
    }
}

/// Sends a signal with kill(1); `target` is a pid or `-PGID`.
fn signal(target: &str, sig: &str) -> Result<()> {
    let (ok, out) = output_of(Command::new("kill").args(["-s", sig, "--", target]))?;
    ensure!(ok, "kill -s {sig} {target}: {out}");
    Ok(())
}

/// Runs a command with a time limit: (success, stdout + stderr).
fn output_within(cmd: &mut Command, limit: Duration) -> Result<(bool, String)> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let deadline = Instant::now() + limit;
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{shown} did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// Every pid in /proc.
fn procs() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// (state, parent pid, process group) of a process, from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(char, u32, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut f = stat.get(stat.rfind(')')? + 2..)?.split_whitespace();
    let state = f.next()?.chars().next()?;
    Some((state, f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_the_recipes_run_is_installed_by_a_package_list() {
        use crate::packages::{IMAGE_PACKAGES as HOST_IMAGE, PACKAGES};
        // util-linux is Essential: on every Debian system.
        let listed = |pkg: &str| {
            pkg == "util-linux" || PACKAGES.iter().chain(HOST_IMAGE).any(|p| p.name == pkg)
        };
        for (tool, pkg) in [IMAGE_TOOLS, BOOT_TOOLS, IMAGE_TEST_TOOLS, CAGE_TOOLS].concat() {
            assert!(
                listed(pkg),
                "{tool} comes from {pkg}, in no list of packages.rs"
            );
        }
        assert!(listed("ovmf"), "OVMF's firmware ({OVMF_CODE})");
    }

    #[test]
    fn udev_lint_accepts_our_rule_shapes_and_names_mistakes() {
        assert_eq!(
            lint_udev_line(
                r#"ACTION=="add", SUBSYSTEM=="usb", ATTR{bInterfaceClass}=="08", ATTR{authorized}="0""#
            ),
            Ok(())
        );
        assert_eq!(lint_udev_line(r#"SUBSYSTEMS=="usb", SYMLINK+="x""#), Ok(()));
        assert_eq!(
            lint_udev_line(r#"KERNAL=="lp0", GROUP="lp""#),
            Err("unknown key \"KERNAL\"".into())
        );
        assert_eq!(
            lint_udev_line(r#"KERNEL=="lp0" GROUP="lp""#),
            Err("expected ',' after KERNEL".into())
        );
        assert_eq!(
            lint_udev_line(r#"KERNEL=="lp0""#),
            Err("rule has no assignment".into())
        );
        assert!(lint_udev_line(r#"KERNEL=="lp0, GROUP="lp""#).is_err());
    }

    #[test]
    fn ppm_busyness_tells_blank_from_drawn() {
        let mut blank = b"P6\n4 2\n255\n".to_vec();
        blank.extend([0u8; 24]);
        assert_eq!(ppm_busyness(&blank).expect("ppm"), (4, 2, 0.0));
        let mut drawn = b"P6\n# comment\n4 2\n255\n".to_vec();
        drawn.extend([0u8; 18]);
        drawn.extend([255u8; 6]);
        assert_eq!(ppm_busyness(&drawn).expect("ppm"), (4, 2, 0.25));
        assert!(ppm_busyness(b"P3\n1 1\n255\n0 0 0").is_err());
    }

    #[test]
    fn watchdog_window_line_is_judged() {
        let good = [
            "unit x active",
            "after-watchdog-window kiosk-session.service active restarts=0 samepid=yes watchdog_age_s=7.5",
        ];
        assert_eq!(watchdog_failure(&good), None);
        for bad in [
            "after-watchdog-window kiosk-session.service active restarts=1 samepid=yes watchdog_age_s=7.5",
            "after-watchdog-window kiosk-session.service active restarts=0 samepid=no watchdog_age_s=7.5",
            "after-watchdog-window kiosk-session.service activating restarts=0 samepid=yes watchdog_age_s=7.5",
            "after-watchdog-window kiosk-session.service active restarts=0 samepid=yes watchdog_age_s=75.0",
            "after-watchdog-window kiosk-session.service active restarts=0 samepid=yes watchdog_age_s=",
        ] {
            assert!(watchdog_failure(&[bad]).is_some(), "{bad}");
        }
        assert!(watchdog_failure(&["done"]).is_some());
    }

    #[test]
    fn exposure_is_parsed_from_security_output() {
        assert_eq!(
            parse_exposure("x\n→ Overall exposure level for a.service: 1.2 OK 🙂\n"),
            Some(1.2)
        );
        assert_eq!(parse_exposure("nothing"), None);
    }

    #[test]
    fn exec_programs_strip_prefixes() {
        let unit = "[Service]\nExecStart=/usr/bin/cage -- /usr/bin/kiosk\nExecStartPre=-/bin/true\nExecReload=kill\n";
        assert_eq!(
            exec_programs(unit),
            vec!["/usr/bin/cage".to_owned(), "/bin/true".to_owned()]
        );
    }

    /// A misspelt key is only a warning for systemd-analyze (exit 0); the check must still fail.
    #[test]
    fn misspelt_key_fails_verify() {
        crate::util::cd_workspace_root().expect("workspace root");
        let copy = std::env::temp_dir().join(format!("booth-units-bad-{}", std::process::id()));
        let _ = fs::remove_dir_all(&copy);
        crate::util::run(Command::new("cp").arg("-a").arg(SYSTEMD_DIR).arg(&copy))
            .expect("copy systemd/");
        let unit = copy.join("sync-agent.service");
        let text = fs::read_to_string(&unit)
            .expect("read unit")
            .replace("WatchdogSec=", "WatchdogSecs=");
        fs::write(&unit, text).expect("write unit");
        let err = check_units_in(&copy).expect_err("a misspelt key must fail the check");
        fs::remove_dir_all(&copy).expect("cleanup");
        let msg = format!("{err:#}");
        assert!(msg.contains("Unknown key 'WatchdogSecs'"), "{msg}");
    }

    /// The real checks on the real files, with the host's systemd tools.
    #[test]
    fn shipped_units_pass_every_check() {
        crate::util::cd_workspace_root().expect("workspace root");
        check_units().expect("appliance checks");
    }

    /// The real kiosk under the real cage (needs root, cage, grim, xwayland and a built
    /// `target/debug/kiosk`): `cargo test -p xtask cage -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs root, cage and a built kiosk; run by `cargo xtask test`"]
    fn cage_runs_the_real_kiosk() {
        crate::util::cd_workspace_root().expect("workspace root");
        cage_kiosk_check().expect("cage kiosk check");
    }
}
