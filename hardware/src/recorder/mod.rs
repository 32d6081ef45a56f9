//! The recorder: camera and microphone into an encoded, browser-playable file in the RAM
//! directory, with a live preview for the kiosk window, a hard length limit enforced on the
//! media timeline, and level and speech-presence figures.
//!
//! ```text
//!   kiosk                      RecordingHandle                 controller thread
//!   ─────                      ───────────────                 ─────────────────
//!   Recorder::start(settings, events) ─► builds + starts the pipeline, opens the microphone
//!   handle.preview().latest()  ◄── appsink (latest frame wins)
//!   events: Started, Elapsed, Warning (2:30), Level, LimitReached (3:00), Stopped | Failed
//!   handle.finish() ─► EOS into the encode branch ─► muxer finalises ─► pipeline to Null ─► Take
//!   handle.cancel() ─► pipeline to Null, partial file deleted
//! ```
//!
//! Every wait is bounded ([`FINISH_TIMEOUT`], [`STALL_TIMEOUT`]); every exit path sets the
//! pipeline to `Null`; on any error the partial file is deleted.

pub mod encoder;
mod pipeline;
pub mod preview;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use booth_core::config::Config;
use gstreamer as gst;
use serde::Serialize;
use uuid::Uuid;

pub use encoder::{
    Container, EncoderChoice, EncoderPreference, LADDER, VideoEncoder, choose_encoder,
};
pub use preview::{Frame, PreviewSlot};

use crate::camera::Camera;
use crate::microphone::{Level, Microphone};

/// Longest wait for the muxer to finalise the file after "Finish" or the limit.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(10);
/// A source that delivers nothing for this long while recording has failed (unplugged).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for the pipeline to start.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Recorder failures. Each names the element or file involved; the recorder has already set
/// the pipeline to `Null` and deleted the partial file when one of these is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecorderError {
    /// GStreamer could not be initialised.
    #[error("GStreamer could not be initialised: {0}")]
    Init(String),
    /// A configuration value the recorder cannot use.
    #[error("config {key}: {message}")]
    Config {
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A GStreamer element is not installed.
    #[error("GStreamer element {element} is missing: install {package}")]
    ElementMissing {
        /// Factory name.
        element: String,
        /// Debian package providing it.
        package: String,
    },
    /// No usable video encoder (or the configured one is missing).
    #[error("video encoder {element} is missing: install {package}")]
    EncoderMissing {
        /// Factory name.
        element: String,
        /// Debian package providing it.
        package: String,
    },
    /// The camera failed: unplugged, busy, or stopped delivering frames.
    #[error("camera element {element} failed: {detail}")]
    CameraFailed {
        /// Element name, e.g. `camera-src`.
        element: String,
        /// Cause.
        detail: String,
    },
    /// The microphone failed: unplugged, busy, or stopped delivering samples.
    #[error("microphone element {element} failed: {detail}")]
    MicrophoneFailed {
        /// Element name (`microphone`).
        element: String,
        /// Cause.
        detail: String,
    },
    /// The RAM directory is full.
    #[error("no space left writing {path} (element {element})")]
    DiskFull {
        /// Element that failed to write.
        element: String,
        /// File.
        path: PathBuf,
    },
    /// Another element failed.
    #[error("pipeline element {element} failed: {detail}")]
    Pipeline {
        /// Element name.
        element: String,
        /// GStreamer's message and debug text.
        detail: String,
    },
    /// A bounded wait ran out.
    #[error("{what} did not complete within {seconds} s")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        seconds: u64,
    },
    /// A file-system error outside GStreamer.
    #[error("file error on {path}: {detail}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
    /// The recording was cancelled.
    #[error("recording cancelled")]
    Cancelled,
}

/// The Debian package of a GStreamer element, for error messages and `booth-diag`.
pub fn package_of(factory: &str) -> &'static str {
    match factory {
        "clockoverlay" | "timeoverlay" | "textoverlay" => "gstreamer1.0-x",
        "v4l2src" | "jpegdec" | "mp4mux" | "webmmux" | "matroskamux" | "vp8enc" | "vp8dec"
        | "qtdemux" | "matroskademux" | "autoaudiosink" => "gstreamer1.0-plugins-good",
        "h264parse" | "openh264enc" => "gstreamer1.0-plugins-bad",
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "vaapih264enc" => "gstreamer1.0-vaapi",
        "avdec_h264" => "gstreamer1.0-libav",
        _ => "gstreamer1.0-plugins-base",
    }
}

/// Initialises GStreamer (idempotent, cheap after the first call).
pub fn init() -> Result<(), RecorderError> {
    gst::init().map_err(|e| RecorderError::Init(e.to_string()))
}

/// Everything the recorder needs, usually from [`RecorderSettings::from_config`].
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// Video source.
    pub camera: Arc<dyn Camera>,
    /// Audio source (the single owner of the capture device).
    pub microphone: Arc<dyn Microphone>,
    /// Recorded frame width.
    pub width: u32,
    /// Recorded frame height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Which encoder.
    pub encoder: EncoderPreference,
    /// Hard limit on the media timeline (3:00 by law).
    pub max_duration: Duration,
    /// The warning event comes this long before the limit.
    pub warn_before_end: Duration,
    /// Where plaintext takes are written (RAM).
    pub ram_dir: PathBuf,
    /// Size of preview frames.
    pub preview_width: u32,
    /// Size of preview frames.
    pub preview_height: u32,
    /// Below this fraction of voiced frames a take is flagged as probably silent (003 p.26).
    pub min_speech_fraction: f32,
}

impl RecorderSettings {
    /// Settings from the booth configuration (`[recorder]`, `[kiosk]`, `[paths]`).
    pub fn from_config(cfg: &Config) -> Result<RecorderSettings, RecorderError> {
        let r = &cfg.recorder;
        let encoder =
            EncoderPreference::parse(&r.encoder).ok_or_else(|| RecorderError::Config {
                key: "recorder.encoder".into(),
                message: format!(
                    "unknown encoder {:?}: use auto, vaapi, x264, openh264 or vp8",
                    r.encoder
                ),
            })?;
        if r.width < 16 || r.height < 16 || r.fps == 0 || r.fps > 60 {
            return Err(RecorderError::Config {
                key: "recorder.width/height/fps".into(),
                message: "need at least 16×16 pixels and 1–60 frames per second".into(),
            });
        }
        // Preview: about 640 px wide, same aspect, even sizes.
        let pw = r.width.min(640) & !1;
        let ph = ((u64::from(r.height) * u64::from(pw) / u64::from(r.width)) as u32).max(2) & !1;
        Ok(RecorderSettings {
            camera: crate::camera::camera_from_config(r)?,
            microphone: crate::microphone::microphone_from_config(r),
            width: r.width,
            height: r.height,
            fps: r.fps,
            encoder,
            max_duration: Duration::from_secs(u64::from(cfg.kiosk.max_recording_s)),
            warn_before_end: Duration::from_secs(u64::from(cfg.kiosk.warn_before_end_s)),
            ram_dir: cfg.paths.ram_dir.clone(),
            preview_width: pw,
            preview_height: ph,
            min_speech_fraction: cfg.kiosk.min_speech_fraction,
        })
    }
}

/// What the recorder tells the kiosk, in order, on the channel given to [`Recorder::start`].
#[derive(Debug, Clone, PartialEq)]
pub enum RecorderEvent {
    /// The pipeline runs; `reason` says why this encoder was chosen (empty in check mode).
    Started {
        /// Encoder in use (`None` in check mode).
        encoder: Option<VideoEncoder>,
        /// Why.
        reason: String,
    },
    /// Once per second of recorded media.
    Elapsed {
        /// Recorded so far.
        elapsed: Duration,
        /// Left until the limit.
        remaining: Duration,
    },
    /// The limit is near (at 2:30 by default). Sent once.
    Warning {
        /// Left until the limit.
        remaining: Duration,
    },
    /// Audio level, about ten times a second.
    Level(Level),
    /// The media reached the limit; the file is being finalised.
    LimitReached,
    /// The take is complete in the RAM directory.
    Stopped {
        /// Length of the take.
        duration: Duration,
        /// Fraction of voiced 20 ms frames.
        speech_fraction: f32,
        /// Below `min_speech_fraction`: warn the citizen (003 p.26).
        probably_silent: bool,
    },
    /// The recording failed; the partial file is gone.
    Failed(RecorderError),
}

/// Why a take ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StopReason {
    /// The citizen pressed "Finish" (or the caller called [`RecordingHandle::finish`]).
    Finished,
    /// The hard limit.
    Limit,
}

/// A finished take: a complete, playable plaintext file in the RAM directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Take {
    /// Take id (also in the file name).
    pub id: Uuid,
    /// The plaintext file (RAM directory only).
    pub path: PathBuf,
    /// File format.
    pub container: Container,
    /// Encoder used.
    pub encoder: VideoEncoder,
    /// Length on the media timeline (never more than the limit).
    pub duration: Duration,
    /// Fraction of voiced 20 ms audio frames.
    pub speech_fraction: f32,
    /// Below the configured minimum speech fraction.
    pub probably_silent: bool,
    /// Video frames written.
    pub video_frames: u64,
    /// Frames missing from the camera's timeline (gaps in timestamps).
    pub dropped_frames: u64,
    /// Why it ended.
    pub stopped_by: StopReason,
    /// File size in bytes.
    pub size: u64,
}

impl Take {
    /// MIME type with codecs.
    pub fn content_type(&self) -> &'static str {
        self.container.content_type()
    }

    /// Deletes the plaintext (re-record or abandon).
    pub fn discard(self) -> std::io::Result<()> {
        remove_if_exists(&self.path)
    }
}

pub(crate) fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Deletes every file in the RAM directory: plaintext left over from a crash or power loss
/// (call at start-up) or from an abandoned session. Returns how many files were removed.
pub fn cleanup_ram_dir(ram_dir: &Path) -> std::io::Result<usize> {
    let rd = match std::fs::read_dir(ram_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    for entry in rd {
        let entry = entry?;
        if entry.file_type()?.is_file() || entry.file_type()?.is_symlink() {
            remove_if_exists(&entry.path())?;
            n += 1;
        }
    }
    if n > 0 {
        tracing::info!(files = n, dir = %ram_dir.display(), "removed left-over plaintext media");
    }
    Ok(n)
}

pub(crate) enum Command {
    Finish,
    Cancel,
}

/// Entry points of the recorder.
#[derive(Debug)]
pub struct Recorder;

impl Recorder {
    /// Starts recording a new take into the RAM directory. Returns once the pipeline is
    /// starting; progress and the end arrive as [`RecorderEvent`]s.
    pub fn start(
        settings: &RecorderSettings,
        events: Sender<RecorderEvent>,
    ) -> Result<RecordingHandle, RecorderError> {
        Recorder::start_with_id(settings, Uuid::now_v7(), events)
    }

    /// As [`Recorder::start`] with a chosen take id (file `take-<id>.<ext>` in the RAM dir).
    pub fn start_with_id(
        settings: &RecorderSettings,
        id: Uuid,
        events: Sender<RecorderEvent>,
    ) -> Result<RecordingHandle, RecorderError> {
        pipeline::start(settings, Some(id), events)
    }

    /// Camera and microphone check before recording: preview frames and level events, nothing
    /// written. Stop it before [`Recorder::start`] (one owner per device).
    pub fn check(
        settings: &RecorderSettings,
        events: Sender<RecorderEvent>,
    ) -> Result<RecordingHandle, RecorderError> {
        pipeline::start(settings, None, events)
    }
}

/// A running recording (or device check). Dropping it cancels.
#[derive(Debug)]
pub struct RecordingHandle {
    preview: PreviewSlot,
    commands: Sender<Command>,
    result: Receiver<Result<Option<Take>, RecorderError>>,
    thread: Option<JoinHandle<()>>,
    choice: Option<EncoderChoice>,
    path: Option<PathBuf>,
}

impl RecordingHandle {
    /// The preview slot (RGBA frames, latest wins).
    pub fn preview(&self) -> PreviewSlot {
        self.preview.clone()
    }

    /// The encoder in use and why (`None` in check mode).
    pub fn encoder(&self) -> Option<&EncoderChoice> {
        self.choice.as_ref()
    }

    /// Where the plaintext take is being written (`None` in check mode).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Ends the take (or returns the take that already ended at the limit) and waits, at most
    /// [`FINISH_TIMEOUT`] plus a second, for the file to be complete. Blocking: call it from a
    /// worker thread, not the UI thread. In check mode returns [`RecorderError::Cancelled`].
    pub fn finish(mut self) -> Result<Take, RecorderError> {
        let _ = self.commands.send(Command::Finish);
        let out = match self
            .result
            .recv_timeout(FINISH_TIMEOUT + Duration::from_secs(1))
        {
            Ok(Ok(Some(take))) => Ok(take),
            Ok(Ok(None)) => Err(RecorderError::Cancelled),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let _ = self.commands.send(Command::Cancel);
                Err(RecorderError::Timeout {
                    what: "finishing the recording".into(),
                    seconds: FINISH_TIMEOUT.as_secs() + 1,
                })
            }
        };
        self.release(Command::Finish);
        out
    }

    /// Stops without keeping anything: the pipeline goes to `Null` and the partial file is
    /// deleted. Waits (bounded) for the devices to be released.
    pub fn cancel(mut self) {
        let _ = self.commands.send(Command::Cancel);
        let _ = self.result.recv_timeout(FINISH_TIMEOUT);
        self.release(Command::Cancel);
    }

    /// Waits up to `timeout` for the recording to end by itself (limit or failure).
    pub fn wait(mut self, timeout: Duration) -> Result<Take, RecorderError> {
        let out = match self.result.recv_timeout(timeout) {
            Ok(Ok(Some(take))) => Ok(take),
            Ok(Ok(None)) => Err(RecorderError::Cancelled),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let _ = self.commands.send(Command::Cancel);
                let _ = self.result.recv_timeout(FINISH_TIMEOUT);
                Err(RecorderError::Timeout {
                    what: "the recording".into(),
                    seconds: timeout.as_secs(),
                })
            }
        };
        self.release(Command::Finish);
        out
    }

    /// Tells the controller whether the caller keeps the take (`Finish`) or not (`Cancel`),
    /// then joins it (it exits at once after a result was sent).
    fn release(&mut self, cmd: Command) {
        let _ = self.commands.send(cmd);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("recorder controller thread panicked");
        }
    }
}

impl Drop for RecordingHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // Not joined here: dropping must not block the caller. The controller cleans up.
            let _ = self.commands.send(Command::Cancel);
        }
    }
}
