//! Building and running the recording pipeline (build vs run, as in the gstreamer-rs
//! examples): [`build`] returns the pipeline, [`start`] plays it and hands it to a controller
//! thread that owns it until it is back in `Null`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use uuid::Uuid;

use super::encoder::{Container, EncoderChoice, VideoEncoder, choose_encoder};
use super::preview::{PreviewSlot, preview_appsink};
use super::{
    Command, FINISH_TIMEOUT, RecorderError, RecorderEvent, RecorderSettings, RecordingHandle,
    STALL_TIMEOUT, StopReason, Take, package_of, remove_if_exists,
};
use crate::camera::CAMERA_BIN;
use crate::microphone::{MicSink, MicStream, SpeechAnalyzer};

/// Name of the `appsrc` carrying the microphone's samples.
pub(crate) const MIC_ELEMENT: &str = "microphone";
const FILE_ELEMENT: &str = "file";
const NONE: u64 = u64::MAX;

fn make(factory: &str, name: &str) -> Result<gst::Element, RecorderError> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| RecorderError::ElementMissing {
            element: factory.into(),
            package: package_of(factory).into(),
        })
}

fn link_err(e: impl std::fmt::Display) -> RecorderError {
    RecorderError::Pipeline {
        element: "pipeline".into(),
        detail: e.to_string(),
    }
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// State shared by the pad probes (streaming threads), the microphone thread and the
/// controller. Only atomics and one short-held mutex: nothing here can block a stream.
pub(crate) struct Shared {
    limit_ns: u64,
    warn_ns: u64,
    frame_ns: u64,
    started: Instant,
    finish: AtomicBool,
    video_eos: AtomicBool,
    audio_eos: AtomicBool,
    limit_hit: AtomicBool,
    warned: AtomicBool,
    last_second: AtomicU64,
    video_frames: AtomicU64,
    dropped: AtomicU64,
    last_video_pts: AtomicU64,
    video_end: AtomicU64,
    audio_end: AtomicU64,
    last_video_ms: AtomicU64,
    last_audio_ms: AtomicU64,
    mic_failure: Mutex<Option<String>>,
    analyzer: Mutex<SpeechAnalyzer>,
    events: Sender<RecorderEvent>,
}

impl Shared {
    fn new(settings: &RecorderSettings, events: Sender<RecorderEvent>) -> Shared {
        let limit_ns = ns(settings.max_duration);
        Shared {
            limit_ns,
            warn_ns: limit_ns.saturating_sub(ns(settings.warn_before_end)),
            frame_ns: 1_000_000_000 / u64::from(settings.fps.max(1)),
            started: Instant::now(),
            finish: AtomicBool::new(false),
            video_eos: AtomicBool::new(false),
            audio_eos: AtomicBool::new(false),
            limit_hit: AtomicBool::new(false),
            warned: AtomicBool::new(false),
            last_second: AtomicU64::new(0),
            video_frames: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_video_pts: AtomicU64::new(NONE),
            video_end: AtomicU64::new(0),
            audio_end: AtomicU64::new(0),
            last_video_ms: AtomicU64::new(0),
            last_audio_ms: AtomicU64::new(0),
            mic_failure: Mutex::new(None),
            analyzer: Mutex::new(SpeechAnalyzer::new(48_000)),
            events,
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn send(&self, e: RecorderEvent) {
        // The kiosk may have stopped listening; the recording goes on regardless.
        let _ = self.events.send(e);
    }

    fn remaining(&self, at_ns: u64) -> Duration {
        Duration::from_nanos(self.limit_ns.saturating_sub(at_ns))
    }

    /// Called for each video buffer entering the encode branch. Returns whether to keep it.
    fn on_video(&self, pts: u64, dur: u64) -> bool {
        if self.video_eos.load(Ordering::SeqCst) {
            return false;
        }
        let end = pts.saturating_add(dur);
        if end > self.limit_ns {
            if !self.limit_hit.swap(true, Ordering::SeqCst) {
                // The timer shows the full limit even when the camera's first frame came late.
                let secs = self.limit_ns / 1_000_000_000;
                if secs > self.last_second.fetch_max(secs, Ordering::SeqCst) {
                    self.send(RecorderEvent::Elapsed {
                        elapsed: Duration::from_secs(secs),
                        remaining: Duration::ZERO,
                    });
                }
                self.send(RecorderEvent::LimitReached);
            }
            return false;
        }
        if self.finish.load(Ordering::SeqCst) {
            return false;
        }
        self.last_video_ms.store(self.now_ms(), Ordering::SeqCst);
        self.video_frames.fetch_add(1, Ordering::SeqCst);
        let last = self.last_video_pts.swap(pts, Ordering::SeqCst);
        if last != NONE && pts > last {
            let gap = pts - last;
            if gap * 2 > self.frame_ns * 3 {
                let missing = (gap + self.frame_ns / 2) / self.frame_ns.max(1);
                self.dropped
                    .fetch_add(missing.saturating_sub(1), Ordering::SeqCst);
            }
        }
        self.video_end.fetch_max(end, Ordering::SeqCst);
        // Rounded to the nearest frame: 90 frames at 30 fps end at 2.999999999 s, i.e. at 3 s.
        let secs = (end + self.frame_ns / 2) / 1_000_000_000;
        if secs > self.last_second.fetch_max(secs, Ordering::SeqCst) {
            self.send(RecorderEvent::Elapsed {
                elapsed: Duration::from_secs(secs),
                remaining: self.remaining(secs * 1_000_000_000),
            });
        }
        if end >= self.warn_ns && self.warn_ns > 0 && !self.warned.swap(true, Ordering::SeqCst) {
            self.send(RecorderEvent::Warning {
                remaining: self.remaining(end),
            });
        }
        true
    }

    /// Called for each audio buffer entering the encode branch. Returns whether to keep it.
    fn on_audio(&self, pts: u64, dur: u64) -> bool {
        if self.audio_eos.load(Ordering::SeqCst) {
            return false;
        }
        let end = pts.saturating_add(dur);
        if end > self.limit_ns || self.finish.load(Ordering::SeqCst) {
            return false;
        }
        self.audio_end.fetch_max(end, Ordering::SeqCst);
        true
    }
}

/// Installs the gate on an encode-branch pad: buffers inside the limit pass; the first one past
/// the limit (or after "Finish") is dropped and an EOS goes downstream instead, so the muxer
/// finalises a file that ends exactly at the limit on the media timeline.
fn install_gate(pad: &gst::Pad, shared: Arc<Shared>, video: bool) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buf) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(pts) = buf.pts() else {
            return gst::PadProbeReturn::Ok;
        };
        let dur = buf.duration().map(|d| d.nseconds()).unwrap_or(if video {
            shared.frame_ns
        } else {
            10_000_000
        });
        let keep = if video {
            shared.on_video(pts.nseconds(), dur)
        } else {
            shared.on_audio(pts.nseconds(), dur)
        };
        if keep {
            return gst::PadProbeReturn::Ok;
        }
        let flag = if video {
            &shared.video_eos
        } else {
            &shared.audio_eos
        };
        if !flag.swap(true, Ordering::SeqCst)
            && let Some(peer) = pad.peer()
        {
            peer.send_event(gst::event::Eos::new());
        }
        gst::PadProbeReturn::Drop
    });
}

/// Feeds the microphone's samples to the analyser (level events, speech estimate) and, when
/// recording, into the pipeline's `appsrc` with timestamps counted from the first sample.
struct PipelineMic {
    shared: Arc<Shared>,
    appsrc: Option<gst_app::AppSrc>,
    pipeline: gst::Pipeline,
    rate: u32,
    anchor: Option<u64>,
    pushed: u64,
}

impl MicSink for PipelineMic {
    fn samples(&mut self, rate: u32, samples: &[i16]) {
        let shared = &self.shared;
        shared
            .last_audio_ms
            .store(shared.now_ms(), Ordering::SeqCst);
        if self.rate != rate {
            self.rate = rate;
            if let Some(src) = &self.appsrc {
                src.set_caps(Some(&mic_caps(rate)));
            }
        }
        let anchor = *self.anchor.get_or_insert_with(|| {
            self.pipeline
                .current_running_time()
                .map_or(0, |t| t.nseconds())
        });
        let pts = anchor + self.pushed * 1_000_000_000 / u64::from(rate);
        self.pushed += samples.len() as u64;
        let end = anchor + self.pushed * 1_000_000_000 / u64::from(rate);
        let recording = self.appsrc.is_some();
        if !recording || (end <= shared.limit_ns && !shared.audio_eos.load(Ordering::SeqCst)) {
            let levels = shared
                .analyzer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(rate, samples);
            for l in levels {
                shared.send(RecorderEvent::Level(l));
            }
        }
        let Some(src) = &self.appsrc else { return };
        if shared.audio_eos.load(Ordering::SeqCst) {
            return;
        }
        let mut bytes = Vec::with_capacity(samples.len() * 2);
        for s in samples {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(gst::ClockTime::from_nseconds(end - pts));
        }
        // Flushing/EOS after the end is expected; real failures show up on the bus.
        let _ = src.push_buffer(buffer);
    }

    fn failed(&mut self, detail: String) {
        *self
            .shared
            .mic_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(detail);
    }
}

fn mic_caps(rate: u32) -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", rate as i32)
        .field("channels", 1i32)
        .build()
}

/// What [`build`] makes.
pub(crate) struct Built {
    pub pipeline: gst::Pipeline,
    pub appsrc: Option<gst_app::AppSrc>,
    pub preview: PreviewSlot,
    pub output: Option<(PathBuf, EncoderChoice)>,
}

/// Builds the pipeline; `output` is `None` for the device check (preview only).
///
/// ```text
///  ┌camera bin──────────────────────┐
///  │v4l2src | videotestsrc+clock    ├─► tee ─┬─► queue(leaky, 1) ─► videoscale ─► videoconvert ─► appsink "preview"
///  └────────────────────────────────┘        │                                                  (RGBA, latest wins)
///                                            └─► queue(3 s) ─[gate]─► videoconvert ─► encoder ─► (h264parse) ─┐
///                                                                                                            ├─► mux ─► filesink
///  microphone (cpal | simulated) ─► appsrc "microphone" ─► queue ─[gate]─► audioconvert ─► audioresample ─► opusenc ┘   (RAM dir)
///        └─► SpeechAnalyzer (level events, voiced frames)
/// ```
/// `[gate]` is a pad probe that passes buffers inside the limit and turns the first one past
/// it (or after "Finish") into EOS; mux = `mp4mux` (fragmented) for H.264, `webmmux` for VP8.
pub(crate) fn build(
    settings: &RecorderSettings,
    output: Option<(PathBuf, EncoderChoice)>,
    shared: &Arc<Shared>,
) -> Result<Built, RecorderError> {
    let pipeline = gst::Pipeline::builder().name("recorder").build();
    // Forward the filesink's own EOS: the preview never ends, so the pipeline-wide EOS never
    // comes, but the file is complete when its sink has seen EOS.
    pipeline.set_property("message-forward", true);
    let camera = settings
        .camera
        .source(settings.width, settings.height, settings.fps)?;
    let tee = make("tee", "video-tee")?;
    let pq = make("queue", "preview-queue")?;
    pq.set_property_from_str("leaky", "downstream");
    pq.set_property("max-size-buffers", 1u32);
    pq.set_property("max-size-bytes", 0u32);
    pq.set_property("max-size-time", 0u64);
    let pscale = make("videoscale", "preview-scale")?;
    let pcaps = make("capsfilter", "preview-size")?;
    pcaps.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("width", settings.preview_width as i32)
            .field("height", settings.preview_height as i32)
            .build(),
    );
    let pconv = make("videoconvert", "preview-convert")?;
    let preview = PreviewSlot::new();
    let psink = preview_appsink("preview", preview.clone(), false);
    pipeline.add(&camera).map_err(link_err)?;
    pipeline
        .add_many([&tee, &pq, &pscale, &pcaps, &pconv, psink.upcast_ref()])
        .map_err(link_err)?;
    camera.link(&tee).map_err(link_err)?;
    gst::Element::link_many([&tee, &pq, &pscale, &pcaps, &pconv, psink.upcast_ref()])
        .map_err(link_err)?;

    let Some((path, choice)) = output else {
        return Ok(Built {
            pipeline,
            appsrc: None,
            preview,
            output: None,
        });
    };

    let container = choice.encoder.container();
    let vq = make("queue", "encode-queue")?;
    vq.set_property("max-size-buffers", 0u32);
    vq.set_property("max-size-bytes", 0u32);
    vq.set_property("max-size-time", 3_000_000_000u64);
    let vconv = make("videoconvert", "encode-convert")?;
    let encoder = choice
        .encoder
        .make(settings.width, settings.height, settings.fps)?;
    let mux = make(container.muxer(), "mux")?;
    if container == Container::FragmentedMp4 {
        // A fragment per second: a file cut short by a crash still plays up to the last second.
        mux.set_property("fragment-duration", 1000u32);
    }
    let filesink = make("filesink", FILE_ELEMENT)?;
    filesink.set_property("location", path.to_string_lossy().to_string());
    filesink.set_property("async", false);
    pipeline
        .add_many([&vq, &vconv, &encoder, &mux, &filesink])
        .map_err(link_err)?;
    let mut vchain = vec![vq.clone(), vconv.clone()];
    if choice.encoder != VideoEncoder::Vaapi {
        let i420 = make("capsfilter", "encode-format")?;
        i420.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .build(),
        );
        pipeline.add(&i420).map_err(link_err)?;
        vchain.push(i420);
    }
    vchain.push(encoder.clone());
    if container == Container::FragmentedMp4 {
        let parse = make("h264parse", "h264parse")?;
        pipeline.add(&parse).map_err(link_err)?;
        vchain.push(parse);
    }
    tee.link(&vq).map_err(link_err)?;
    gst::Element::link_many(&vchain).map_err(link_err)?;
    let vlast = vchain.last().ok_or_else(|| link_err("empty video chain"))?;
    vlast.link(&mux).map_err(link_err)?;
    mux.link(&filesink).map_err(link_err)?;
    if let Some(pad) = vq.static_pad("src") {
        install_gate(&pad, shared.clone(), true);
    }

    let appsrc = gst_app::AppSrc::builder()
        .name(MIC_ELEMENT)
        .caps(&mic_caps(48_000))
        .is_live(true)
        .format(gst::Format::Time)
        .max_bytes(2 * 48_000 * 2)
        .build();
    appsrc.set_property("min-latency", 10_000_000i64);
    let aq = make("queue", "audio-queue")?;
    let aconv = make("audioconvert", "audio-convert")?;
    let ares = make("audioresample", "audio-resample")?;
    let acaps = make("capsfilter", "audio-rate")?;
    acaps.set_property(
        "caps",
        gst::Caps::builder("audio/x-raw")
            .field("rate", 48_000i32)
            .build(),
    );
    let opus = make("opusenc", "audio-encoder")?;
    opus.set_property("bitrate", 64_000i32);
    pipeline
        .add_many([appsrc.upcast_ref(), &aq, &aconv, &ares, &acaps, &opus])
        .map_err(link_err)?;
    gst::Element::link_many([appsrc.upcast_ref(), &aq, &aconv, &ares, &acaps, &opus, &mux])
        .map_err(link_err)?;
    if let Some(pad) = aq.static_pad("src") {
        install_gate(&pad, shared.clone(), false);
    }
    Ok(Built {
        pipeline,
        appsrc: Some(appsrc),
        preview,
        output: Some((path, choice)),
    })
}

/// Maps a bus error to the typed error, naming the element.
fn classify(err: &gst::message::Error, path: Option<&PathBuf>) -> RecorderError {
    let src = err.src();
    let element = src
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| "unknown".into());
    let in_camera = src.is_some_and(|s| {
        s.path_string().contains(&format!("/{CAMERA_BIN}/")) || s.name().starts_with(CAMERA_BIN)
    });
    let detail = match err.debug() {
        Some(d) => format!("{} ({d})", err.error()),
        None => err.error().to_string(),
    };
    if err.error().matches(gst::ResourceError::NoSpaceLeft) {
        return RecorderError::DiskFull {
            element,
            path: path.cloned().unwrap_or_default(),
        };
    }
    if in_camera {
        RecorderError::CameraFailed { element, detail }
    } else if element == MIC_ELEMENT {
        RecorderError::MicrophoneFailed { element, detail }
    } else {
        RecorderError::Pipeline { element, detail }
    }
}

/// Starts a recording (`id` given) or a device check (`id` `None`).
pub(crate) fn start(
    settings: &RecorderSettings,
    id: Option<Uuid>,
    events: Sender<RecorderEvent>,
) -> Result<RecordingHandle, RecorderError> {
    super::init()?;
    let output = match id {
        Some(id) => {
            let choice = choose_encoder(settings.encoder)?;
            tracing::info!(encoder = choice.encoder.element(), reason = %choice.reason, "video encoder chosen");
            create_private_dir(&settings.ram_dir)?;
            let path = settings.ram_dir.join(format!(
                "take-{id}.{}",
                choice.encoder.container().extension()
            ));
            Some((id, path, choice))
        }
        None => None,
    };
    let shared = Arc::new(Shared::new(settings, events));
    let built = build(
        settings,
        output.as_ref().map(|(_, p, c)| (p.clone(), c.clone())),
        &shared,
    )?;
    let Built {
        pipeline,
        appsrc,
        preview,
        output: out,
    } = built;
    let choice = out.as_ref().map(|(_, c)| c.clone());
    let path = out.as_ref().map(|(p, _)| p.clone());

    let bus = pipeline
        .bus()
        .ok_or_else(|| link_err("pipeline without bus"))?;
    if pipeline.set_state(gst::State::Playing).is_err() {
        let err = first_error(&bus, path.as_ref())
            .unwrap_or_else(|| link_err("pipeline refused to start"));
        teardown(&pipeline, None, path.as_ref());
        return Err(err);
    }
    let mic = settings.microphone.open(Box::new(PipelineMic {
        shared: shared.clone(),
        appsrc: appsrc.clone(),
        pipeline: pipeline.clone(),
        rate: 48_000,
        anchor: None,
        pushed: 0,
    }));
    let mic = match mic {
        Ok(m) => m,
        Err(e) => {
            teardown(&pipeline, None, path.as_ref());
            return Err(RecorderError::MicrophoneFailed {
                element: MIC_ELEMENT.into(),
                detail: e.to_string(),
            });
        }
    };
    shared.send(RecorderEvent::Started {
        encoder: choice.as_ref().map(|c| c.encoder),
        reason: choice
            .as_ref()
            .map(|c| c.reason.clone())
            .unwrap_or_default(),
    });
    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel();
    let (res_tx, res_rx) = std::sync::mpsc::sync_channel(1);
    let ctl = Controller {
        pipeline,
        bus,
        shared,
        mic: Some(mic),
        appsrc,
        take: output.map(|(id, p, c)| (id, p, c.encoder)),
        min_speech: settings.min_speech_fraction,
    };
    let thread = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || ctl.run(cmd_rx, res_tx))
        .map_err(|e| link_err(format!("cannot start controller thread: {e}")))?;
    Ok(RecordingHandle {
        preview,
        commands: cmd_tx,
        result: res_rx,
        thread: Some(thread),
        choice,
        path,
    })
}

fn create_private_dir(dir: &std::path::Path) -> Result<(), RecorderError> {
    use std::os::unix::fs::DirBuilderExt;
    let io = |e: std::io::Error| RecorderError::Io {
        path: dir.to_owned(),
        detail: e.to_string(),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)
}

fn first_error(bus: &gst::Bus, path: Option<&PathBuf>) -> Option<RecorderError> {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(100),
            &[gst::MessageType::Error],
        )?;
        if let gst::MessageView::Error(e) = msg.view() {
            return Some(classify(e, path));
        }
    }
    None
}

/// Sets the pipeline to `Null`, stops the microphone and deletes the partial file.
fn teardown(pipeline: &gst::Pipeline, mic: Option<MicStream>, path: Option<&PathBuf>) {
    if let Some(m) = mic {
        m.stop();
    }
    if pipeline.set_state(gst::State::Null).is_err() {
        tracing::error!("pipeline refused to go to Null");
    }
    if let Some(p) = path
        && let Err(e) = remove_if_exists(p)
    {
        tracing::error!(error = %e, "cannot delete partial recording");
    }
}

struct Controller {
    pipeline: gst::Pipeline,
    bus: gst::Bus,
    shared: Arc<Shared>,
    mic: Option<MicStream>,
    appsrc: Option<gst_app::AppSrc>,
    take: Option<(Uuid, PathBuf, VideoEncoder)>,
    min_speech: f32,
}

enum Outcome {
    Done,
    Cancelled,
    Failed(RecorderError),
}

impl Controller {
    fn run(
        mut self,
        commands: Receiver<Command>,
        result: std::sync::mpsc::SyncSender<Result<Option<Take>, RecorderError>>,
    ) {
        let outcome = self.drive(&commands);
        let path = self.take.as_ref().map(|(_, p, _)| p.clone());
        match outcome {
            Outcome::Done => {
                // Stop the microphone before Null so no sample is pushed into a dead appsrc.
                if let Some(m) = self.mic.take() {
                    m.stop();
                }
                if self.pipeline.set_state(gst::State::Null).is_err() {
                    tracing::error!("pipeline refused to go to Null");
                }
                let take = self.make_take();
                match take {
                    Ok(take) => {
                        self.shared.send(RecorderEvent::Stopped {
                            duration: take.duration,
                            speech_fraction: take.speech_fraction,
                            probably_silent: take.probably_silent,
                        });
                        tracing::info!(take = %take.id, duration_ms = take.duration.as_millis() as u64,
                            speech = take.speech_fraction, dropped = take.dropped_frames, "take complete");
                        let _ = result.send(Ok(Some(take)));
                        // The caller now says whether it keeps the file.
                        match commands.recv() {
                            Ok(Command::Finish) => {}
                            Ok(Command::Cancel) | Err(_) => {
                                if let Some(p) = &path {
                                    let _ = remove_if_exists(p);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(p) = &path {
                            let _ = remove_if_exists(p);
                        }
                        self.shared.send(RecorderEvent::Failed(e.clone()));
                        let _ = result.send(Err(e));
                    }
                }
            }
            Outcome::Cancelled => {
                teardown(&self.pipeline, self.mic.take(), path.as_ref());
                tracing::info!("recording cancelled");
                let _ = result.send(Ok(None));
            }
            Outcome::Failed(e) => {
                teardown(&self.pipeline, self.mic.take(), path.as_ref());
                tracing::error!(error = %e, "recording failed");
                self.shared.send(RecorderEvent::Failed(e.clone()));
                let _ = result.send(Err(e));
            }
        }
    }

    fn make_take(&self) -> Result<Take, RecorderError> {
        let Some((id, path, encoder)) = self.take.clone() else {
            return Err(RecorderError::Cancelled);
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| RecorderError::Io {
                path: path.clone(),
                detail: e.to_string(),
            })?
            .len();
        let s = &self.shared;
        let end = s
            .video_end
            .load(Ordering::SeqCst)
            .max(s.audio_end.load(Ordering::SeqCst))
            .min(s.limit_ns);
        let speech_fraction = s
            .analyzer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .speech_fraction();
        Ok(Take {
            id,
            container: encoder.container(),
            encoder,
            duration: Duration::from_nanos(end),
            speech_fraction,
            probably_silent: speech_fraction < self.min_speech,
            video_frames: s.video_frames.load(Ordering::SeqCst),
            dropped_frames: s.dropped.load(Ordering::SeqCst),
            stopped_by: if s.limit_hit.load(Ordering::SeqCst) {
                StopReason::Limit
            } else {
                StopReason::Finished
            },
            size,
            path,
        })
    }

    /// Runs until the file is complete, a command, or an error. Every wait is bounded.
    fn drive(&mut self, commands: &Receiver<Command>) -> Outcome {
        let recording = self.take.is_some();
        let path = self.take.as_ref().map(|(_, p, _)| p.clone());
        let mut finish_deadline: Option<Instant> = None;
        // A stalled source cannot hold the booth forever: after the limit plus the finish bound
        // the take is over whatever happens.
        let hard_deadline = Instant::now()
            + Duration::from_nanos(self.shared.limit_ns)
            + FINISH_TIMEOUT
            + Duration::from_secs(5);
        loop {
            match commands.recv_timeout(Duration::from_millis(1)) {
                Ok(Command::Cancel) | Err(RecvTimeoutError::Disconnected) => {
                    return Outcome::Cancelled;
                }
                Ok(Command::Finish) if !recording => return Outcome::Cancelled,
                Ok(Command::Finish) => {
                    if finish_deadline.is_none() {
                        tracing::info!("finish requested");
                        self.shared.finish.store(true, Ordering::SeqCst);
                        finish_deadline = Some(Instant::now() + FINISH_TIMEOUT);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.shared.limit_hit.load(Ordering::SeqCst) && finish_deadline.is_none() {
                finish_deadline = Some(Instant::now() + FINISH_TIMEOUT);
            }
            if let Some(msg) = self.bus.timed_pop(gst::ClockTime::from_mseconds(50)) {
                match msg.view() {
                    gst::MessageView::Error(e) => {
                        return Outcome::Failed(classify(e, path.as_ref()));
                    }
                    gst::MessageView::Warning(w) => {
                        tracing::warn!(element = ?w.src().map(|s| s.name()), warning = %w.error(), "pipeline warning");
                    }
                    gst::MessageView::Element(e) => {
                        if let Some(s) = e.structure()
                            && s.name() == "GstBinForwarded"
                            && let Ok(inner) = s.get::<gst::Message>("message")
                            && matches!(inner.view(), gst::MessageView::Eos(_))
                            && inner.src().is_some_and(|s| s.name() == FILE_ELEMENT)
                        {
                            return Outcome::Done;
                        }
                    }
                    _ => {}
                }
            }
            if let Some(detail) = self
                .shared
                .mic_failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                return Outcome::Failed(RecorderError::MicrophoneFailed {
                    element: MIC_ELEMENT.into(),
                    detail,
                });
            }
            let now_ms = self.shared.now_ms();
            let stall_ms = STALL_TIMEOUT.as_millis() as u64;
            // Startup gets two extra seconds: a USB camera can take a while to give its first frame.
            let since = |last: u64| now_ms.saturating_sub(last.max(2_000));
            let video_done = self.shared.video_eos.load(Ordering::SeqCst);
            let audio_done = self.shared.audio_eos.load(Ordering::SeqCst);
            if recording
                && !video_done
                && since(self.shared.last_video_ms.load(Ordering::SeqCst)) > stall_ms
            {
                return Outcome::Failed(RecorderError::CameraFailed {
                    element: "camera-src".into(),
                    detail: format!("no frame for {} s", STALL_TIMEOUT.as_secs()),
                });
            }
            if !audio_done && since(self.shared.last_audio_ms.load(Ordering::SeqCst)) > stall_ms {
                return Outcome::Failed(RecorderError::MicrophoneFailed {
                    element: MIC_ELEMENT.into(),
                    detail: format!("no samples for {} s", STALL_TIMEOUT.as_secs()),
                });
            }
            if recording && video_done && !audio_done {
                // The camera reached the end first; the microphone's next chunk closes audio.
                if let Some(src) = &self.appsrc
                    && finish_deadline.is_some_and(|d| Instant::now() + FINISH_TIMEOUT / 2 > d)
                {
                    let _ = src.end_of_stream();
                    self.shared.audio_eos.store(true, Ordering::SeqCst);
                }
            }
            let now = Instant::now();
            if finish_deadline.is_some_and(|d| now > d) || (recording && now > hard_deadline) {
                return Outcome::Failed(RecorderError::Timeout {
                    what: "finalising the recording".into(),
                    seconds: FINISH_TIMEOUT.as_secs(),
                });
            }
        }
    }
}
