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

/// Installs the missing packages (apt-get update once, only when something is missing).
pub fn ensure() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|p| p.name)
        .filter(|n| !installed(n))
        .collect();
    if missing.is_empty() {
        println!(
            "xtask: all {} Debian packages are installed",
            PACKAGES.len()
        );
        return Ok(());
    }
    println!(
        "xtask: installing {} missing Debian packages:",
        missing.len()
    );
    for p in PACKAGES.iter().filter(|p| missing.contains(&p.name)) {
        println!("  {:<34} {}", p.name, p.why);
    }
    let sudo: Vec<&str> = if is_root() {
        println!("xtask: running apt-get as root");
        vec![]
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        println!("xtask: running apt-get through sudo");
        vec!["sudo", "-n"]
    } else {
        bail!(
            "cannot install packages: not root and no password-less sudo. Run as root, or install them yourself:\n  sudo apt-get install {}",
            missing.join(" ")
        );
    };
    let run = |args: &[&str]| -> Result<()> {
        let mut all: Vec<&str> = sudo.clone();
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
    };
    run(&["apt-get", "update", "-q"])?;
    let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    args.extend(missing.iter());
    run(&args)?;
    Ok(())
}
