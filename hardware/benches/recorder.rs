//! Recorder benchmark (prints figures, asserts nothing). At 1280x720, 30 fps, simulated
//! devices:
//!
//! 1. CPU of our recorder (in-process, 20 s) vs a `gst-launch-1.0` pipeline with the same
//!    elements (20 s), as a ratio; dropped frames; preview frames per second delivered.
//! 2. A 3-minute take: time from "Finish" (pressed at 2:59) to the appeal committed (file
//!    finalised, sealed with age, fsynced, row committed).
//!
//! Run: `cargo bench -p booth-hardware --bench recorder` (about 4 minutes).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use booth_core::config::Config;
use booth_core::domain::{AppealKind, Applicant, Language, MediaRef};
use booth_core::store::{NewAppeal, Store};
use booth_hardware::recorder::{Recorder, RecorderSettings};
use booth_hardware::seal::{parse_recipients, seal};
use chrono::Utc;

const SECONDS: u32 = 20;

/// CPU seconds (user + system) of this process and of its waited-for children, from /proc.

/// The kiosk's order (kiosk `AgeSealer` + `booth_core::intake::commit`): sealed file durable
/// first, then the row with `synchronous=FULL`, then the plaintext deleted.
fn seal_then_commit(
    store: &mut Store,
    plaintext: &Path,
    recipients: &[age::x25519::Recipient],
    outbox_dir: &Path,
    mut new: booth_core::store::NewAppeal,
    branch: &str,
    booth_number: u16,
) -> booth_core::Appeal {
    new.media = seal(plaintext, recipients, outbox_dir, new.id).expect("sealed");
    let appeal = store
        .write(|tx| booth_core::intake::commit(tx, &new, branch, booth_number))
        .expect("committed");
    std::fs::remove_file(plaintext).expect("plaintext removed");
    appeal
}

fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14, cutime 16 (1-based).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let tick = 100.0; // USER_HZ on Linux
    let get = |i: usize| f.get(i - 3).copied().unwrap_or(0.0) / tick;
    (get(14) + get(15), get(16) + get(17))
}

fn config(dir: &Path, limit: u32) -> Config {
    let mut cfg = Config::default();
    cfg.kiosk.max_recording_s = limit;
    cfg.kiosk.warn_before_end_s = 1;
    cfg.recorder.width = 1280;
    cfg.recorder.height = 720;
    cfg.recorder.fps = 30;
    cfg.paths.ram_dir = dir.join("ram");
    cfg.paths.outbox_dir = dir.join("outbox");
    cfg.paths.state_dir = dir.join("state");
    cfg
}

fn main() {
    let dir = std::env::temp_dir().join(format!("booth-recorder-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");

    // 1. Our recorder for SECONDS.
    let cfg = config(&dir, SECONDS);
    let settings = RecorderSettings::from_config(&cfg).expect("settings");
    let (cpu0, _) = cpu_times();
    let t0 = Instant::now();
    let handle = Recorder::start(&settings, std::sync::mpsc::channel().0).expect("recorder starts");
    let preview = handle.preview();
    let encoder = handle.encoder().map(|c| c.encoder).expect("encoder");
    let take = handle
        .wait(Duration::from_secs(u64::from(SECONDS) + 20))
        .expect("take");
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, _) = cpu_times();
    let ours = cpu1 - cpu0;
    let preview_fps = preview.frames_delivered() as f64 / take.duration.as_secs_f64();
    let ours_size = take.size;
    let dropped = take.dropped_frames;
    let frames = take.video_frames;
    take.discard().expect("discard");

    // Same elements with gst-launch-1.0.
    let kbit = 1280u64 * 720 * 30 * 9 / 100 / 1000;
    let out = dir.join("launch.mp4");
    let n_video = SECONDS * 30;
    let n_audio = SECONDS * 100;
    let launch = format!(
        "videotestsrc is-live=true pattern=ball background-color=0xff304050 foreground-color=0xffe0c090 num-buffers={n_video} \
         ! video/x-raw,width=96,height=54,framerate=30/1 ! videoscale ! video/x-raw,width=1280,height=720,framerate=30/1 \
         ! clockoverlay time-format=\"%Y-%m-%d %H:%M:%S\" font-desc=\"Sans 27\" shaded-background=true ! tee name=t \
         t. ! queue leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! videoscale ! video/x-raw,width=640,height=360 \
            ! videoconvert ! video/x-raw,format=RGBA ! fakesink sync=false \
         t. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=3000000000 ! videoconvert ! video/x-raw,format=I420 \
            ! x264enc speed-preset=veryfast tune=zerolatency bitrate={kbit} key-int-max=60 ! h264parse ! mp4mux name=mux fragment-duration=1000 ! filesink location={out} \
         audiotestsrc is-live=true wave=sine num-buffers={n_audio} samplesperbuffer=480 ! audio/x-raw,format=S16LE,rate=48000,channels=1 \
            ! queue ! audioconvert ! audioresample ! audio/x-raw,rate=48000 ! opusenc bitrate=64000 ! mux.",
        out = out.display()
    );
    let (_, child0) = cpu_times();
    let t1 = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("gst-launch-1.0 -q -e {launch}"))
        .status()
        .expect("gst-launch-1.0");
    let launch_wall = t1.elapsed().as_secs_f64();
    let (_, child1) = cpu_times();
    let theirs = child1 - child0;
    let launch_size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);

    println!(
        "recorder benchmark, 1280x720 @ 30 fps, {SECONDS} s, encoder {encoder:?}, simulated devices"
    );
    println!("{:<44} {:>12} {:>12}", "", "recorder", "gst-launch");
    println!("{:<44} {:>12.2} {:>12.2}", "CPU seconds", ours, theirs);
    println!(
        "{:<44} {:>11.0}% {:>11.0}%",
        "CPU share of one core",
        ours / wall * 100.0,
        theirs / launch_wall * 100.0
    );
    println!("{:<44} {:>12} {:>12}", "file bytes", ours_size, launch_size);
    println!(
        "{:<44} {:>12.2}",
        "CPU ratio recorder / gst-launch",
        if theirs > 0.0 {
            ours / theirs
        } else {
            f64::NAN
        }
    );
    println!("{:<44} {:>12}", "video frames written", frames);
    println!("{:<44} {:>12}", "dropped frames", dropped);
    println!("{:<44} {:>12.1}", "preview fps delivered", preview_fps);
    if !status.success() {
        println!("(gst-launch-1.0 exited with {status})");
    }

    // 2. A 3-minute take, Finish pressed at 2:59, until the appeal is committed.
    let mut cfg = config(&dir, 180);
    let identity = age::x25519::Identity::generate();
    cfg.recorder.recipients = vec![identity.to_public().to_string()];
    let settings = RecorderSettings::from_config(&cfg).expect("settings");
    let handle = Recorder::start(&settings, std::sync::mpsc::channel().0).expect("recorder starts");
    std::thread::sleep(Duration::from_secs(179));
    let pressed = Instant::now();
    let take = handle.finish().expect("3-minute take");
    let finalised = pressed.elapsed();
    let recipients = parse_recipients(&cfg.recorder.recipients).expect("recipients");
    let mut store = Store::open(&cfg.paths.database()).expect("store");
    let id = uuid::Uuid::now_v7();
    let new = NewAppeal {
        id,
        booth_id: "BENCH".into(),
        applicant: Applicant::LegalEntity {
            name: "ТОО Бенч".parse().expect("name"),
            bin: None,
            address: "Алматы, Абая 1".parse().expect("address"),
            email: None,
        },
        addressee_id: "akimat".into(),
        kind: AppealKind::Statement,
        complaint: None,
        language: Language::Ru,
        recorded_at: Utc::now(),
        duration_ms: take.duration.as_millis() as u32,
        media: MediaRef {
            file_name: String::new(),
            sealed_sha256: String::new(),
            sealed_size: 0,
            content_type: String::new(),
        },
        lookup_id: hex_lookup(id),
        expected_answer_date: Some(Utc::now().date_naive()),
        continuation_of: None,
        ticket: None,
        visit_id: None,
    };
    let size = take.size;
    let appeal = seal_then_commit(
        &mut store,
        &take.path,
        &recipients,
        &cfg.paths.outbox_dir,
        new,
        "DEV01",
        1,
    );
    let committed = pressed.elapsed();
    println!();
    println!(
        "3-minute take ({:.1} s, {} bytes plaintext, {} bytes sealed, {} dropped frames)",
        take.duration.as_secs_f64(),
        size,
        appeal.media.sealed_size,
        take.dropped_frames
    );
    println!(
        "{:<44} {:>9.0} ms",
        "Finish -> file finalised",
        finalised.as_secs_f64() * 1000.0
    );
    println!(
        "{:<44} {:>9.0} ms",
        "Finish -> sealed, fsynced, committed",
        committed.as_secs_f64() * 1000.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn hex_lookup(id: uuid::Uuid) -> booth_core::LookupId {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
        .parse()
        .expect("64 hex digits")
}
