//! Recorder tests with the simulated camera and microphone and real GStreamer pipelines: what
//! a citizen would see go wrong is in each assertion message.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use booth_core::config::Config;
use booth_hardware::camera::SimulatedCamera;
use booth_hardware::microphone::{SimulatedMicrophone, SimulatedSignal};
use booth_hardware::recorder::{
    Container, EncoderPreference, LADDER, Recorder, RecorderError, RecorderEvent, RecorderSettings,
    StopReason, VideoEncoder, choose_encoder,
};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_pbutils as pbutils;

/// Recordings share two CPU cores; running them one at a time keeps frame timing honest.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn settings(ram: &Path, limit_s: u32, warn_s: u32) -> RecorderSettings {
    let mut cfg = Config::default();
    cfg.kiosk.max_recording_s = limit_s;
    cfg.kiosk.warn_before_end_s = warn_s;
    cfg.recorder.width = 320;
    cfg.recorder.height = 240;
    cfg.recorder.fps = 30;
    cfg.paths.ram_dir = ram.to_owned();
    RecorderSettings::from_config(&cfg).expect("settings from config")
}

fn drain(rx: &Receiver<RecorderEvent>) -> Vec<RecorderEvent> {
    rx.try_iter().collect()
}

struct Decoded {
    duration: Duration,
    video: Vec<(u32, u32)>,
    audio_streams: usize,
    audio_rms_db: f64,
}

fn decode(path: &Path) -> Decoded {
    gst::init().expect("gst init");
    let uri = gst::glib::filename_to_uri(path, None).expect("uri");
    let disc = pbutils::Discoverer::new(gst::ClockTime::from_seconds(20)).expect("discoverer");
    let info = disc
        .discover_uri(&uri)
        .expect("file is readable by gst-discoverer");
    let video = info
        .video_streams()
        .iter()
        .map(|v| (v.width(), v.height()))
        .collect();
    let audio_streams = info.audio_streams().len();
    let duration = Duration::from_nanos(info.duration().map(|d| d.nseconds()).unwrap_or(0));
    // Decode the whole audio track and measure its loudness.
    let pipeline = gst::parse::launch(&format!(
        "uridecodebin uri={uri} name=d d. ! audioconvert ! audio/x-raw,format=S16LE,channels=1 ! appsink name=a sync=false d. ! fakesink sync=false"
    ))
    .expect("decode pipeline")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    let sink = pipeline
        .by_name("a")
        .expect("appsink")
        .downcast::<gstreamer_app::AppSink>()
        .expect("appsink type");
    pipeline
        .set_state(gst::State::Playing)
        .expect("decoding starts");
    let (mut sq, mut n) = (0f64, 0u64);
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        let buf = sample.buffer().expect("buffer");
        let map = buf.map_readable().expect("map");
        for c in map.as_slice().chunks_exact(2) {
            let v = f64::from(i16::from_le_bytes([c[0], c[1]]));
            sq += v * v;
            n += 1;
        }
    }
    pipeline.set_state(gst::State::Null).expect("null");
    let rms = if n == 0 {
        0.0
    } else {
        (sq / n as f64).sqrt() / 32768.0
    };
    Decoded {
        duration,
        video,
        audio_streams,
        audio_rms_db: if rms > 0.0 {
            20.0 * rms.log10()
        } else {
            -120.0
        },
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Records until the media timeline reaches `secs` (by the recorder's own elapsed events, so a
/// slow start on a loaded machine does not shorten the take), then presses Finish.
fn record_for(
    settings: &RecorderSettings,
    secs: u64,
) -> (
    Result<booth_hardware::recorder::Take, RecorderError>,
    Vec<RecorderEvent>,
) {
    let (tx, rx) = channel();
    let handle = Recorder::start(settings, tx).expect("recording starts");
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs + 30);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => {
                let done = matches!(&e, RecorderEvent::Elapsed { elapsed, .. } if elapsed.as_secs() >= secs)
                    || matches!(&e, RecorderEvent::Failed(_));
                events.push(e);
                if done {
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    let take = handle.finish();
    events.extend(drain(&rx));
    (take, events)
}

#[test]
fn a_short_recording_decodes_with_one_video_and_one_audio_stream_for_every_installed_encoder() {
    let _g = serial();
    gst::init().expect("gst init");
    let ram = tempfile::tempdir().expect("ram dir");
    let mut tried = 0;
    for enc in LADDER {
        if !enc.available() {
            continue;
        }
        tried += 1;
        let mut s = settings(ram.path(), 10, 2);
        s.encoder = EncoderPreference::Only(enc);
        let (take, events) = record_for(&s, 2);
        let take = take.unwrap_or_else(|e| panic!("{enc:?}: the citizen's take was lost: {e}"));
        assert_eq!(take.encoder, enc);
        assert_eq!(take.stopped_by, StopReason::Finished);
        assert!(
            take.path.starts_with(ram.path()),
            "plaintext must be in the RAM dir: {}",
            take.path.display()
        );
        assert!(
            take.duration >= Duration::from_millis(1950) && take.duration < Duration::from_secs(10),
            "{enc:?}: take length {:?} after Finish at 2 s of media",
            take.duration
        );
        assert!(
            take.video_frames > 30,
            "{enc:?}: only {} frames",
            take.video_frames
        );
        let d = decode(&take.path);
        assert_eq!(
            d.video,
            vec![(320, 240)],
            "{enc:?}: one video stream of the configured size"
        );
        assert_eq!(d.audio_streams, 1, "{enc:?}: one audio stream");
        let diff = d.duration.as_secs_f64() - take.duration.as_secs_f64();
        assert!(
            diff.abs() < 0.15,
            "{enc:?}: file says {:?}, recorder said {:?}",
            d.duration,
            take.duration
        );
        assert!(
            d.audio_rms_db > -40.0,
            "{enc:?}: the recorded voice is silent ({:.1} dBFS)",
            d.audio_rms_db
        );
        match enc.container() {
            Container::FragmentedMp4 => assert!(take.path.extension().is_some_and(|e| e == "mp4")),
            Container::WebM => assert!(take.path.extension().is_some_and(|e| e == "webm")),
        }
        assert!(
            matches!(events.first(), Some(RecorderEvent::Started { encoder: Some(e), .. }) if *e == enc),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RecorderEvent::Level(l) if l.rms_db > -40.0)),
            "level meter shows no voice"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RecorderEvent::Stopped { .. }))
        );
        take.discard().expect("discard");
    }
    assert!(
        tried >= 2,
        "x264 and vp8 are expected on CI (gstreamer1.0-plugins-ugly/good)"
    );
    assert!(
        files_in(ram.path()).is_empty(),
        "discarded takes leave nothing in RAM"
    );
}

#[test]
fn a_recording_asked_to_run_past_the_limit_stops_exactly_at_the_limit_after_a_warning() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let s = settings(ram.path(), 3, 1);
    let (tx, rx) = channel();
    let handle = Recorder::start(&s, tx).expect("recording starts");
    // Nobody presses Finish: the pipeline itself must stop at 3 s.
    let take = handle
        .wait(Duration::from_secs(20))
        .expect("take ends at the limit");
    let events = drain(&rx);
    assert_eq!(take.stopped_by, StopReason::Limit);
    let limit = Duration::from_secs(3);
    assert!(
        take.duration <= limit,
        "take is {:?}, longer than the 3 s limit",
        take.duration
    );
    assert!(
        limit - take.duration <= Duration::from_millis(40),
        "take stopped early at {:?}",
        take.duration
    );
    let d = decode(&take.path);
    assert!(
        (d.duration.as_secs_f64() - 3.0).abs() < 0.1,
        "file length {:?} is not the 3 s limit",
        d.duration
    );
    let warn = events
        .iter()
        .position(|e| matches!(e, RecorderEvent::Warning { .. }))
        .expect("warning event at limit - 1 s");
    let RecorderEvent::Warning { remaining } = &events[warn] else {
        unreachable!()
    };
    assert!(
        *remaining <= Duration::from_secs(1) && *remaining > Duration::from_millis(900),
        "warning at {remaining:?} before the end"
    );
    let limit_at = events
        .iter()
        .position(|e| *e == RecorderEvent::LimitReached)
        .expect("limit event");
    assert!(warn < limit_at, "the warning comes before the limit");
    let elapsed: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            RecorderEvent::Elapsed { elapsed, .. } => Some(elapsed.as_secs()),
            _ => None,
        })
        .collect();
    assert_eq!(elapsed, vec![1, 2, 3], "one elapsed event per second");
    take.discard().expect("discard");
}

fn espeak_wav(dir: &Path) -> PathBuf {
    let wav = dir.join("voice.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-w"])
        .arg(&wav)
        .arg("Good afternoon. I am writing about the bus stop near my house. It has no roof and no bench, and the elderly wait in the rain.")
        .status()
        .expect("espeak-ng is installed (xtask installs it)");
    assert!(status.success(), "espeak-ng failed");
    wav
}

#[test]
fn a_silent_microphone_gives_a_low_speech_estimate_and_a_spoken_sample_a_high_one() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let mut s = settings(ram.path(), 4, 1);
    s.microphone = Arc::new(SimulatedMicrophone::new(SimulatedSignal::Silence));
    let take = Recorder::start(&s, channel().0)
        .expect("starts")
        .wait(Duration::from_secs(20))
        .expect("silent take");
    eprintln!(
        "silent microphone: speech fraction {:.3}",
        take.speech_fraction
    );
    assert!(
        take.speech_fraction < 0.05,
        "silence counted as speech: {}",
        take.speech_fraction
    );
    assert!(
        take.probably_silent,
        "the kiosk must warn that nothing was heard (003 p.26)"
    );
    take.discard().expect("discard");

    let wav = espeak_wav(ram.path());
    s.microphone = Arc::new(SimulatedMicrophone::new(SimulatedSignal::Wav(wav.clone())));
    let (tx, rx) = channel();
    let take = Recorder::start(&s, tx)
        .expect("starts")
        .wait(Duration::from_secs(20))
        .expect("spoken take");
    eprintln!(
        "espeak-ng sample: speech fraction {:.3}",
        take.speech_fraction
    );
    assert!(
        take.speech_fraction > 0.3,
        "speech not detected: {}",
        take.speech_fraction
    );
    assert!(!take.probably_silent);
    let stopped = drain(&rx)
        .into_iter()
        .find(|e| matches!(e, RecorderEvent::Stopped { .. }))
        .expect("stopped event");
    assert!(matches!(
        stopped,
        RecorderEvent::Stopped {
            probably_silent: false,
            ..
        }
    ));
    let d = decode(&take.path);
    assert!(
        d.audio_rms_db > -40.0,
        "the spoken sample is not in the file ({:.1} dBFS)",
        d.audio_rms_db
    );
    take.discard().expect("discard");
    std::fs::remove_file(wav).expect("remove wav");
}

#[test]
fn an_unplugged_camera_gives_a_typed_error_naming_the_element_and_leaves_no_file() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let mut s = settings(ram.path(), 10, 2);
    s.camera = Arc::new(SimulatedCamera {
        fail_after: Some(Duration::from_secs(1)),
    });
    let (tx, rx) = channel();
    let err = Recorder::start(&s, tx)
        .expect("starts")
        .wait(Duration::from_secs(20))
        .expect_err("camera unplugged");
    assert!(
        matches!(&err, RecorderError::CameraFailed { element, .. } if element == "camera-src"),
        "{err:?}"
    );
    assert!(
        drain(&rx)
            .iter()
            .any(|e| matches!(e, RecorderEvent::Failed(RecorderError::CameraFailed { .. })))
    );
    assert!(
        files_in(ram.path()).is_empty(),
        "partial file left: {:?}",
        files_in(ram.path())
    );
}

#[test]
fn an_unplugged_microphone_gives_a_typed_error_and_leaves_no_file() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let mut s = settings(ram.path(), 10, 2);
    s.microphone = Arc::new(SimulatedMicrophone {
        signal: SimulatedSignal::Voice,
        fail_after: Some(Duration::from_secs(1)),
    });
    let err = Recorder::start(&s, channel().0)
        .expect("starts")
        .wait(Duration::from_secs(20))
        .expect_err("mic unplugged");
    assert!(
        matches!(&err, RecorderError::MicrophoneFailed { element, .. } if element == "microphone"),
        "{err:?}"
    );
    assert!(
        files_in(ram.path()).is_empty(),
        "partial file left: {:?}",
        files_in(ram.path())
    );
}

#[test]
fn a_full_ram_disk_gives_disk_full_naming_the_file_sink() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let s = settings(ram.path(), 10, 2);
    let choice = choose_encoder(EncoderPreference::Auto).expect("an encoder");
    let id = uuid::Uuid::now_v7();
    // /dev/full fails every write with ENOSPC, exactly like a full tmpfs.
    let target = ram.path().join(format!(
        "take-{id}.{}",
        choice.encoder.container().extension()
    ));
    std::os::unix::fs::symlink("/dev/full", &target).expect("symlink");
    let err = Recorder::start_with_id(&s, id, channel().0)
        .and_then(|h| h.wait(Duration::from_secs(20)))
        .expect_err("disk full");
    assert!(
        matches!(&err, RecorderError::DiskFull { element, .. } if element == "file"),
        "{err:?}"
    );
    assert!(
        files_in(ram.path()).is_empty(),
        "partial file left: {:?}",
        files_in(ram.path())
    );
}

#[test]
fn a_missing_encoder_is_a_typed_error_naming_it() {
    gst::init().expect("gst init");
    match LADDER.into_iter().find(|e| !e.available()) {
        Some(missing) => {
            let err =
                choose_encoder(EncoderPreference::Only(missing)).expect_err("missing encoder");
            assert_eq!(
                err,
                RecorderError::EncoderMissing {
                    element: missing.element().into(),
                    package: missing.package().into()
                }
            );
            let ram = tempfile::tempdir().expect("ram dir");
            let mut s = settings(ram.path(), 10, 2);
            s.encoder = EncoderPreference::Only(missing);
            let err =
                Recorder::start(&s, channel().0).expect_err("cannot record without the encoder");
            assert!(
                matches!(err, RecorderError::EncoderMissing { .. }),
                "{err:?}"
            );
            assert!(files_in(ram.path()).is_empty());
        }
        None => {
            // Every encoder is installed (a booth with VA-API): auto picks the hardware one.
            let c = choose_encoder(EncoderPreference::Auto).expect("auto");
            assert_eq!(c.encoder, VideoEncoder::Vaapi);
        }
    }
    let auto = choose_encoder(EncoderPreference::Auto).expect("auto finds an encoder on CI");
    assert!(!auto.reason.is_empty());
}

#[test]
fn the_device_check_delivers_preview_frames_and_levels_without_writing_anything() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let s = settings(ram.path(), 10, 2);
    let (tx, rx) = channel();
    let check = Recorder::check(&s, tx).expect("check starts");
    let preview = check.preview();
    // Wait for ten frames and five level updates (bounded), not for a fixed time.
    let mut levels = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && (preview.frames_delivered() < 10 || levels < 5) {
        if let Ok(RecorderEvent::Level(_)) = rx.recv_timeout(Duration::from_millis(100)) {
            levels += 1;
        }
    }
    let frame = preview.latest().expect("a preview frame");
    assert_eq!(
        (frame.width, frame.height),
        (s.preview_width, s.preview_height)
    );
    assert_eq!(frame.rgba.len(), (frame.width * frame.height * 4) as usize);
    assert!(
        preview.frames_delivered() >= 10,
        "only {} preview frames in 20 s",
        preview.frames_delivered()
    );
    // The simulated scene is not a flat colour: the disc and the clock are visible.
    let distinct: std::collections::HashSet<&[u8]> = frame.rgba.chunks_exact(4).collect();
    assert!(distinct.len() > 10, "preview shows a flat image");
    check.cancel();
    assert!(levels >= 5, "level meter got {levels} updates in 20 s");
    assert!(
        files_in(ram.path()).is_empty(),
        "the check wrote {:?}",
        files_in(ram.path())
    );
}

#[test]
fn cancel_stops_quickly_and_deletes_the_partial_take() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let s = settings(ram.path(), 10, 2);
    let handle = Recorder::start(&s, channel().0).expect("starts");
    std::thread::sleep(Duration::from_millis(1500));
    let path = handle.path().expect("recording path").to_owned();
    assert!(
        path.exists(),
        "the take is being written to {}",
        path.display()
    );
    handle.cancel();
    assert!(!path.exists(), "cancel must delete the plaintext");
    assert!(files_in(ram.path()).is_empty());
}

#[test]
fn the_real_backends_report_a_missing_camera_or_microphone_by_name() {
    let _g = serial();
    let ram = tempfile::tempdir().expect("ram dir");
    let mut cfg = Config::default();
    cfg.paths.ram_dir = ram.path().to_owned();
    cfg.recorder.width = 320;
    cfg.recorder.height = 240;
    cfg.recorder.camera = "v4l2".into();
    cfg.recorder.camera_device = "/dev/booth-camera-that-is-not-plugged-in".into();
    let s = RecorderSettings::from_config(&cfg).expect("settings");
    assert!(
        s.camera
            .describe()
            .contains("booth-camera-that-is-not-plugged-in")
    );
    let err = Recorder::start(&s, channel().0).expect_err("no camera");
    assert!(
        matches!(&err, RecorderError::CameraFailed { element, detail } if element == "camera-src" && detail.contains("not-plugged-in")),
        "{err:?}"
    );
    assert!(files_in(ram.path()).is_empty());

    cfg.recorder.camera = "simulated".into();
    cfg.recorder.microphone = "alsa".into();
    cfg.recorder.microphone_device = "booth-microphone-that-is-not-plugged-in".into();
    let s = RecorderSettings::from_config(&cfg).expect("settings");
    let err = Recorder::start(&s, channel().0).expect_err("no microphone");
    assert!(
        matches!(&err, RecorderError::MicrophoneFailed { element, .. } if element == "microphone"),
        "{err:?}"
    );
    assert!(
        files_in(ram.path()).is_empty(),
        "left: {:?}",
        files_in(ram.path())
    );

    cfg.recorder.camera = "webcam".into();
    let err = RecorderSettings::from_config(&cfg).expect_err("unknown camera kind");
    assert!(
        matches!(&err, RecorderError::Config { key, .. } if key == "recorder.camera"),
        "{err:?}"
    );
}
