//! The "latest frame wins" hand-over of RGBA frames from a pipeline to the kiosk window.
//!
//! The pipeline's streaming thread replaces the slot's frame and returns at once; the window
//! takes the newest frame whenever it repaints. A slow or frozen window therefore never slows
//! the recording: it only misses frames.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One RGBA frame, tightly packed (`stride == width * 4`).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA bytes, row by row, `width * height * 4` long.
    pub rgba: Vec<u8>,
    /// Position of the frame in the stream (running time), when known.
    pub pts: Option<Duration>,
    /// 1 for the first frame delivered to this slot, then increasing.
    pub seq: u64,
}

type Notify = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Inner {
    frame: Mutex<Option<Arc<Frame>>>,
    delivered: AtomicU64,
    notify: Mutex<Option<Notify>>,
}

/// A shared slot holding the newest preview frame. Cloning gives another handle to the same
/// slot. Storing never waits for the reader: the lock is held only to swap an `Arc`.
#[derive(Clone, Default)]
pub struct PreviewSlot {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PreviewSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewSlot")
            .field("delivered", &self.frames_delivered())
            .finish()
    }
}

impl PreviewSlot {
    /// An empty slot.
    pub fn new() -> PreviewSlot {
        PreviewSlot::default()
    }

    /// The newest frame, if any has arrived. The slot keeps it (a repaint may ask again).
    pub fn latest(&self) -> Option<Arc<Frame>> {
        // A poisoned lock only means a panicking writer; the frame inside is still whole.
        self.inner
            .frame
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes the newest frame out of the slot (`None` until a new one arrives).
    pub fn take(&self) -> Option<Arc<Frame>> {
        self.inner
            .frame
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// How many frames were stored so far (for frame-rate figures).
    pub fn frames_delivered(&self) -> u64 {
        self.inner.delivered.load(Ordering::Relaxed)
    }

    /// Calls `notify` (on the pipeline's thread, so it must be quick, e.g.
    /// `slint::invoke_from_event_loop`) after each new frame.
    pub fn set_notify(&self, notify: impl Fn() + Send + Sync + 'static) {
        *self.inner.notify.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(notify));
    }

    /// Stores a frame, replacing any frame not yet shown. Used by the pipelines.
    pub(crate) fn store(&self, width: u32, height: u32, rgba: Vec<u8>, pts: Option<Duration>) {
        let seq = self.inner.delivered.fetch_add(1, Ordering::Relaxed) + 1;
        let frame = Arc::new(Frame {
            width,
            height,
            rgba,
            pts,
            seq,
        });
        *self.inner.frame.lock().unwrap_or_else(|p| p.into_inner()) = Some(frame);
        let notify = self
            .inner
            .notify
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(n) = notify {
            n();
        }
    }
}

/// Builds the appsink end of a preview branch: RGBA frames of the negotiated size go into
/// `slot`; at most one buffer waits, older ones are dropped, and the sink never syncs to the
/// clock, so it can never hold up the pipeline.
pub(crate) fn preview_appsink(name: &str, slot: PreviewSlot, sync: bool) -> gstreamer_app::AppSink {
    use gstreamer as gst;
    use gstreamer_video as gst_video;
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Rgba)
        .build();
    let sink = gstreamer_app::AppSink::builder()
        .name(name)
        .caps(&caps)
        .max_buffers(1)
        .drop(true)
        .sync(sync)
        .build();
    sink.set_callbacks(
        gstreamer_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let Ok(info) = gst_video::VideoInfo::from_caps(caps) else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let Ok(map) = buffer.map_readable() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let (w, h) = (info.width(), info.height());
                let row = w as usize * 4;
                let stride = usize::try_from(info.stride()[0]).unwrap_or(row);
                let data = map.as_slice();
                let mut rgba = Vec::with_capacity(row * h as usize);
                for y in 0..h as usize {
                    let start = y * stride;
                    if let Some(line) = data.get(start..start + row) {
                        rgba.extend_from_slice(line);
                    }
                }
                if rgba.len() == row * h as usize {
                    let pts = buffer.pts().map(|t| Duration::from_nanos(t.nseconds()));
                    slot.store(w, h, rgba, pts);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    sink
}
