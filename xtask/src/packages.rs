//! The one list of Debian packages the project needs, with why, and their idempotent install.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// A Debian package and why we need it.
pub struct Package {
    /// Debian package name.
    pub name: &'static str,
    /// Why.
    pub why: &'static str,
}

macro_rules! pkgs {
    ($($name:literal => $why:literal,)*) => { &[$(Package { name: $name, why: $why },)*] };
}

/// Everything needed to build, test and demo the booth on Debian 12.
pub const PACKAGES: &[Package] = pkgs![
    "build-essential" => "C compiler and linker for -sys crates (bundled SQLite, ring)",
    "pkg-config" => "finds GStreamer, ALSA, fontconfig for the -sys crates",
    "libclang-dev" => "bindgen for the v4l crate (camera discovery)",
    "libgstreamer1.0-dev" => "gstreamer-rs links against GStreamer 1.22",
    "libgstreamer-plugins-base1.0-dev" => "gstreamer-app/video/audio/pbutils bindings",
    "gstreamer1.0-plugins-base" => "videotestsrc, audiotestsrc, appsrc/appsink, videoconvert, opus",
    "gstreamer1.0-plugins-good" => "v4l2src, vp8enc, webmmux, matroskademux, level, pulse/alsa",
    "gstreamer1.0-plugins-bad" => "fragmented MP4 muxer, va plugins, openh264 fallbacks",
    "gstreamer1.0-plugins-ugly" => "x264enc (H.264 software encoder)",
    "gstreamer1.0-libav" => "avdec/avenc for decoding checks and AAC",
    "gstreamer1.0-x" => "clockoverlay for the simulated camera's burnt-in clock",
    "gstreamer1.0-tools" => "gst-launch-1.0 and gst-inspect-1.0 for benches and booth-diag",
    "libasound2-dev" => "cpal's ALSA backend (microphone)",
    "libudev-dev" => "serial printer port discovery",
    "libxkbcommon-dev" => "Slint's winit backend keyboard handling",
    "libfontconfig1-dev" => "Slint finds system fonts",
    "libfreetype-dev" => "font rendering for Slint",
    "libwayland-dev" => "Slint/winit under cage (Wayland) on the booth",
    "cage" => "the booth's kiosk compositor; the cage check runs the real kiosk under it, headless",
    "xwayland" => "cage 0.1.4 aborts without /usr/bin/Xwayland, yet does not depend on it",
    "grim" => "screenshot of cage's output in the cage check",
    "fonts-dejavu-core" => "a font with Kazakh letters; Slint panics with no font installed",
    "xvfb" => "a virtual display for the kiosk window in the demo and screenshots",
    "xauth" => "xvfb-run needs it",
    "chromium" => "real browser for reception and operator page tests",
    "chromium-driver" => "WebDriver for the browser tests",
    "espeak-ng" => "spoken test samples for the microphone speech check",
    "sox" => "converts and measures test audio",
    "imagemagick" => "contact sheets of kiosk screens, screenshot checks",
    "systemd" => "systemd-analyze verify/security for the units in systemd/",
    "curl" => "throughput baseline in the sync-agent benchmark",
    "python3-pip" => "installs schemathesis for the protocol check",
    "python3-venv" => "isolated schemathesis install",
    "tmux" => "headless test of the provisioning terminal UI",
    "x11vnc" => "VNC view of the demo's Xvfb screen on 127.0.0.1:5977, to see and drive the kiosk",
    "xdotool" => "drives the demo's kiosk from a script (taps and keys on DISPLAY :77)",
];

/// What `cargo xtask image` and `cargo xtask image-test` need on the build machine, besides
/// [`PACKAGES`] (they build the binaries and use ImageMagick for the screendump).
pub const IMAGE_PACKAGES: &[Package] = pkgs![
    "mmdebstrap" => "builds the mkosi tools chroot (image) and the booth's root tree (image-test)",
    "bmap-tools" => "bmaptool create: the block map that flashes the image quickly",
    "qemu-system-x86" => "boots the image (image --boot) and the root tree (image-test) under TCG",
    "ovmf" => "UEFI firmware for QEMU (/usr/share/OVMF/OVMF_CODE_4M.fd)",
    "e2fsprogs" => "mkfs.ext4 -d: the root tree as the VM's disk (image-test)",
];

fn installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs the missing packages of [`PACKAGES`] (apt-get update once, only when something is
/// missing).
pub fn ensure() -> Result<()> {
    ensure_list("", PACKAGES)
}

/// Installs what `cargo xtask image` and `image-test` need: [`PACKAGES`] and [`IMAGE_PACKAGES`].
pub fn ensure_image() -> Result<()> {
    ensure()?;
    ensure_list("image ", IMAGE_PACKAGES)
}

/// The packages of `list` that are not installed.
fn missing(list: &[Package]) -> Vec<&'static str> {
    list.iter()
        .map(|p| p.name)
        .filter(|n| !installed(n))
        .collect()
}

/// Checks, without installing anything, that apt can install the missing packages of
/// [`IMAGE_PACKAGES`] (`apt-get install --simulate`): what `cargo xtask test` runs for the
/// image commands, whose real install and build take too long for every test run.
pub fn check_image_installable() -> Result<()> {
    let missing = missing(IMAGE_PACKAGES);
    if missing.is_empty() {
        println!(
            "xtask: all {} image Debian packages are installed",
            IMAGE_PACKAGES.len()
        );
        return Ok(());
    }
    let simulate = || -> Result<(bool, String)> {
        let out = Command::new("apt-get")
            .args(["install", "--simulate", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .context("starting apt-get install --simulate")?;
        Ok((
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ))
    };
    let (mut ok, mut text) = simulate()?;
    if !ok && text.contains("Unable to locate package") {
        // Package lists never fetched (a fresh container): fetch them, as ensure() would.
        apt(
            &root_prefix("apt-get update")?,
            &["apt-get", "update", "-q"],
        )?;
        (ok, text) = simulate()?;
    }
    if !ok {
        bail!(
            "apt-get cannot install the image packages {}:\n{}",
            missing.join(" "),
            text.trim_end()
        );
    }
    println!(
        "xtask: apt-get can install the {} missing image packages ({}); `cargo xtask image` installs them",
        missing.len(),
        missing.join(" ")
    );
    Ok(())
}

/// Installs the missing packages of `list`; `what` names the list in messages.
fn ensure_list(what: &str, list: &[Package]) -> Result<()> {
    let missing = missing(list);
    if missing.is_empty() {
        println!(
            "xtask: all {} {what}Debian packages are installed",
            list.len()
        );
        return Ok(());
    }
    println!(
        "xtask: installing {} missing {what}Debian packages:",
        missing.len()
    );
    for p in list.iter().filter(|p| missing.contains(&p.name)) {
        println!("  {:<34} {}", p.name, p.why);
    }
    let sudo = root_prefix(&format!("apt-get install {}", missing.join(" ")))?;
    apt(&sudo, &["apt-get", "update", "-q"])?;
    let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    args.extend(missing.iter());
    apt(&sudo, &args)
}

/// How to run a command as root: directly (`[]`) or through password-less sudo; otherwise an
/// error that prints `what` for the user to run with sudo.
fn root_prefix(what: &str) -> Result<Vec<&'static str>> {
    if is_root() {
        println!("xtask: running apt-get as root");
        Ok(vec![])
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        println!("xtask: running apt-get through sudo");
        Ok(vec!["sudo", "-n"])
    } else {
        bail!(
            "cannot install packages: not root and no password-less sudo. Run as root, or install them yourself:\n  sudo {what}"
        )
    }
}

/// Runs an apt-get command after the `sudo` prefix of [`root_prefix`].
fn apt(sudo: &[&str], args: &[&str]) -> Result<()> {
    let mut all: Vec<&str> = sudo.to_vec();
    all.extend_from_slice(args);
    let status = Command::new(all[0])
        .args(&all[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .with_context(|| format!("starting {}", all.join(" ")))?;
    if !status.success() {
        bail!("`{}` failed with {status}", all.join(" "));
    }
    Ok(())
}
