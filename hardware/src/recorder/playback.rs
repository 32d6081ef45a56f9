//! Playback of a finished take for the kiosk's review screen: the same RGBA "latest frame
//! wins" slot as the live preview, paced by the clock, with sound to the speakers or muted.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::preview::{PreviewSlot, preview_appsink};
use super::{RecorderError, package_of};

/// Where the take's sound goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioOutput {
    /// The booth's speakers (`autoaudiosink`).
    Speakers,
    /// Nowhere, but still paced by the clock (tests, machines without sound).
    Muted,
}

/// Progress of a playback.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaybackEvent {
    /// Playing; the take's length when known.
    Playing {
        /// Length.
        duration: Option<Duration>,
    },
    /// Reached the end.
    Ended,
    /// Failed (the file is damaged or a sink is missing).
    Failed(RecorderError),
}

/// A playing take. Dropping it stops playback and sets the pipeline to `Null`.
#[derive(Debug)]
pub struct Playback {
    pipeline: gst::Element,
    preview: PreviewSlot,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Playback {
    /// Starts playing `path` (a take in the RAM directory).
    pub fn start(
        path: &Path,
        audio: AudioOutput,
        events: Sender<PlaybackEvent>,
    ) -> Result<Playback, RecorderError> {
        super::init()?;
        let missing = |f: &str| RecorderError::ElementMissing {
            element: f.into(),
            package: package_of(f).into(),
        };
        let abs = std::fs::canonicalize(path).map_err(|e| RecorderError::Io {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let uri = gst::glib::filename_to_uri(&abs, None).map_err(|e| RecorderError::Io {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let playbin = gst::ElementFactory::make("playbin")
            .name("review")
            .build()
            .map_err(|_| missing("playbin"))?;
        playbin.set_property("uri", uri.as_str());
        let preview = PreviewSlot::new();
        let vsink = preview_appsink("review-video", preview.clone(), true);
        playbin.set_property("video-sink", &vsink);
        let asink = match audio {
            AudioOutput::Speakers => gst::ElementFactory::make("autoaudiosink")
                .build()
                .map_err(|_| missing("autoaudiosink"))?,
            AudioOutput::Muted => {
                let f = gst::ElementFactory::make("fakesink")
                    .build()
                    .map_err(|_| missing("fakesink"))?;
                f.set_property("sync", true);
                f
            }
        };
        playbin.set_property("audio-sink", &asink);
        let bus = playbin.bus().ok_or_else(|| RecorderError::Pipeline {
            element: "review".into(),
            detail: "no bus".into(),
        })?;
        if playbin.set_state(gst::State::Playing).is_err() {
            let detail = bus
                .timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
                .and_then(|m| match m.view() {
                    gst::MessageView::Error(e) => Some(format!(
                        "{}: {}",
                        e.src().map(|s| s.name().to_string()).unwrap_or_default(),
                        e.error()
                    )),
                    _ => None,
                })
                .unwrap_or_else(|| "refused to play".into());
            let _ = playbin.set_state(gst::State::Null);
            return Err(RecorderError::Pipeline {
                element: "review".into(),
                detail,
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let pb = playbin.clone();
        let thread = std::thread::Builder::new()
            .name("review".into())
            .spawn(move || {
                let mut announced = false;
                while !stop2.load(Ordering::SeqCst) {
                    let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
                        continue;
                    };
                    match msg.view() {
                        gst::MessageView::AsyncDone(_) if !announced => {
                            announced = true;
                            let duration = pb
                                .query_duration::<gst::ClockTime>()
                                .map(|d| Duration::from_nanos(d.nseconds()));
                            let _ = events.send(PlaybackEvent::Playing { duration });
                        }
                        gst::MessageView::Eos(_) => {
                            let _ = events.send(PlaybackEvent::Ended);
                            break;
                        }
                        gst::MessageView::Error(e) => {
                            let element = e.src().map(|s| s.name().to_string()).unwrap_or_default();
                            let _ = events.send(PlaybackEvent::Failed(RecorderError::Pipeline {
                                element,
                                detail: e.error().to_string(),
                            }));
                            break;
                        }
                        _ => {}
                    }
                }
            })
            .map_err(|e| RecorderError::Pipeline {
                element: "review".into(),
                detail: e.to_string(),
            })?;
        Ok(Playback {
            pipeline: playbin,
            preview,
            stop,
            thread: Some(thread),
        })
    }

    /// The frame slot (RGBA at the take's size).
    pub fn preview(&self) -> PreviewSlot {
        self.preview.clone()
    }

    /// Current position.
    pub fn position(&self) -> Option<Duration> {
        self.pipeline
            .query_position::<gst::ClockTime>()
            .map(|p| Duration::from_nanos(p.nseconds()))
    }

    /// Pauses (`true`) or resumes (`false`).
    pub fn set_paused(&self, paused: bool) -> Result<(), RecorderError> {
        let state = if paused {
            gst::State::Paused
        } else {
            gst::State::Playing
        };
        self.pipeline
            .set_state(state)
            .map(|_| ())
            .map_err(|e| RecorderError::Pipeline {
                element: "review".into(),
                detail: e.to_string(),
            })
    }

    /// Stops playback; the pipeline is in `Null` when this returns.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.pipeline.set_state(gst::State::Null).is_err() {
            tracing::error!("review pipeline refused to go to Null");
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.halt();
    }
}
