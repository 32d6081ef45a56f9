//! The virtual receipt printer: a TCP 9100 server that parses the ESC/POS stream, renders what
//! a TM-T20-class printer would print to one PNG per cut, and answers like an Epson printer.
//! Tests, the demo and `booth-printer-sim` run it; the booth's code cannot tell it from a real
//! printer.
//!
//! **What it draws** ([`page`]): `GS v 0` rasters; text mode with code pages PC437, PC866 and
//! WPC1251 ([`codepage`], which also says what happens to Kazakh letters), fonts A/B,
//! emphasis, underline, reverse, sizes ×1..×8, alignment and line spacing; `ESC *` column
//! images; `GS ( k` QR codes; `GS k` barcodes (CODE128, EAN-13/8, CODE39, ITF, CODABAR, CODE93).
//! Each cut writes `receipt-NNNNNN-full.png` or `receipt-NNNNNN-partial.png` (the cut kind), plus
//! `receipt-NNNNNN-….txt` with the text lines when the page had text; a page on which bytes were
//! refused or content was not drawn gets `-errors` in its name and its report lists why
//! ([`SimState::page_reports`]). Nothing is silently blank.
//!
//! **What it answers**: `DLE EOT 1..4` at once; `GS r 1` (paper sensors) and `GS ( H`
//! function 48 (process ID, Epson's print-completion answer `37 22 d1 d2 d3 d4 00`) once the
//! data before them is printed. With [`SimState::set_realtime_in_data`] (`--answer-in-raster`) it
//! also answers `DLE EOT n` wherever those three bytes arrive, inside raster, image or text
//! data too, as Epson TM printers do; with [`SimState::set_process_id`] off it ignores `GS ( H`
//! like printers without it.
//!
//! **Faults**: paper-out, cover-open, near-end and a cutter jam can be switched at any time; a
//! fault can be armed to happen *at the next cut* (`at-cut cover-open|paper-out|jam`), which is
//! when a citizen or a technician opens a cover. While paper-out, cover-open or jam is set the
//! printer is "stopped": everything but real-time commands is discarded, a cut writes no PNG and
//! `GS r`/`GS ( H` are not answered, as a stopped printer prints and answers nothing.
//!
//! Any other control byte is garbage: logged with its stream offset, counted in
//! [`SimState::errors`] and on the page, and skipped; a connection that sends more than
//! [`MAX_GARBAGE`] garbage bytes is closed. Nothing a client sends can panic the server
//! (property-tested over random streams).
//!
//! **Control port** (`--control ADDR`): one command per line, answered with one line:
//! `paper-out|cover-open|near-end|jam|realtime-in-data|process-id on|off`, `at-cut
//! cover-open|paper-out|jam|none` → `ok`; `status` → `paper-out=off cover-open=off near-end=off
//! jam=off realtime-in-data=off process-id=on at-cut=none pages=N errors=M`; anything else →
//! `error: …`.

pub mod codepage;
pub mod page;
pub mod parse;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::render::Raster;
use super::status::{
    ERROR_CUTTER, OFFLINE_COVER_OPEN, OFFLINE_ERROR, OFFLINE_PAPER_END, PRINTER_OFFLINE,
    ROLL_NEAR_END, ROLL_PAPER_END, STATUS_FIXED_BITS,
};
pub use page::{MAX_PAGE_DOTS, Page, PageNotes};
pub use parse::{
    BarcodeSetting, Command, CutKind, LINE_DOTS, MAX_RASTER_BYTES, Parser, QrCommand,
    SimParseError, Style,
};

/// Garbage bytes one connection may send before the printer hangs up on it.
pub const MAX_GARBAGE: u64 = 4096;
/// A connection silent this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A fault armed to happen at the next cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutFault {
    /// Nothing happens.
    None,
    /// The cover is opened just before the cut: no cut, no page, printer stopped.
    CoverOpen,
    /// The paper runs out before the cut.
    PaperOut,
    /// The cutter jams.
    Jam,
}

impl CutFault {
    fn code(self) -> u8 {
        match self {
            CutFault::None => 0,
            CutFault::CoverOpen => 1,
            CutFault::PaperOut => 2,
            CutFault::Jam => 3,
        }
    }
    fn from_code(c: u8) -> CutFault {
        match c {
            1 => CutFault::CoverOpen,
            2 => CutFault::PaperOut,
            3 => CutFault::Jam,
            _ => CutFault::None,
        }
    }
    /// The control-port word.
    pub fn as_str(self) -> &'static str {
        match self {
            CutFault::None => "none",
            CutFault::CoverOpen => "cover-open",
            CutFault::PaperOut => "paper-out",
            CutFault::Jam => "jam",
        }
    }
}

/// One page the virtual printer cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReport {
    /// The PNG.
    pub path: PathBuf,
    /// Full or partial cut.
    pub cut: CutKind,
    /// Height in dots.
    pub height_dots: u32,
    /// Text lines, refused bytes and things not drawn on this page.
    pub notes: PageNotes,
}

/// Shared, switchable state of one virtual printer, and what it has printed.
#[derive(Debug)]
pub struct SimState {
    width_dots: u32,
    paper_out: AtomicBool,
    cover_open: AtomicBool,
    near_end: AtomicBool,
    jam: AtomicBool,
    realtime_in_data: AtomicBool,
    process_id: AtomicBool,
    at_cut: AtomicU8,
    errors: AtomicU64,
    pages: Mutex<Vec<PageReport>>,
    printed: Condvar,
}

impl SimState {
    /// A ready printer with paper `width_dots` wide (576 or 384; other multiples of 8 work),
    /// answering `GS ( H`, not answering status bytes inside data.
    pub fn new(width_dots: u32) -> Arc<SimState> {
        Arc::new(SimState {
            width_dots: width_dots.max(8) / 8 * 8,
            paper_out: AtomicBool::new(false),
            cover_open: AtomicBool::new(false),
            near_end: AtomicBool::new(false),
            jam: AtomicBool::new(false),
            realtime_in_data: AtomicBool::new(false),
            process_id: AtomicBool::new(true),
            at_cut: AtomicU8::new(0),
            errors: AtomicU64::new(0),
            pages: Mutex::new(Vec::new()),
            printed: Condvar::new(),
        })
    }
    /// Paper width in dots.
    pub fn width_dots(&self) -> u32 {
        self.width_dots
    }
    /// Sets or clears "paper out" (takes effect on the next byte).
    pub fn set_paper_out(&self, on: bool) {
        self.paper_out.store(on, Ordering::SeqCst);
    }
    /// Sets or clears "cover open".
    pub fn set_cover_open(&self, on: bool) {
        self.cover_open.store(on, Ordering::SeqCst);
    }
    /// Sets or clears "paper near end".
    pub fn set_near_end(&self, on: bool) {
        self.near_end.store(on, Ordering::SeqCst);
    }
    /// Sets or clears a cutter jam (an error: the printer goes offline until cleared).
    pub fn set_jam(&self, on: bool) {
        self.jam.store(on, Ordering::SeqCst);
    }
    /// Answer `DLE EOT n` wherever those bytes arrive, even inside image data (Epson TM
    /// behaviour), instead of only where a command may start.
    pub fn set_realtime_in_data(&self, on: bool) {
        self.realtime_in_data.store(on, Ordering::SeqCst);
    }
    /// Answer `GS ( H` process ID requests (on by default; off = a printer without them).
    pub fn set_process_id(&self, on: bool) {
        self.process_id.store(on, Ordering::SeqCst);
    }
    /// Arms `fault` to happen at the next cut.
    pub fn arm_at_cut(&self, fault: CutFault) {
        self.at_cut.store(fault.code(), Ordering::SeqCst);
    }
    /// Refused byte sequences and things not drawn so far, over all connections.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::SeqCst)
    }
    /// PNGs written so far, oldest first.
    pub fn pages(&self) -> Vec<PathBuf> {
        self.page_reports().into_iter().map(|p| p.path).collect()
    }
    /// Reports of the pages written so far, oldest first.
    pub fn page_reports(&self) -> Vec<PageReport> {
        self.pages.lock().map(|p| p.clone()).unwrap_or_default()
    }
    /// Waits until at least `n` pages exist or `timeout` passes; returns the pages.
    pub fn wait_for_pages(&self, n: usize, timeout: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + timeout;
        let Ok(mut pages) = self.pages.lock() else {
            return Vec::new();
        };
        while pages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.printed.wait_timeout(pages, left) {
                Ok((p, _)) => pages = p,
                Err(_) => return Vec::new(),
            }
        }
        pages.iter().map(|p| p.path.clone()).collect()
    }

    fn stopped(&self) -> bool {
        self.paper_out.load(Ordering::SeqCst)
            || self.cover_open.load(Ordering::SeqCst)
            || self.jam.load(Ordering::SeqCst)
    }

    /// The status byte a real printer returns to `DLE EOT n` in the current state.
    pub fn status_byte(&self, n: u8) -> u8 {
        let paper_out = self.paper_out.load(Ordering::SeqCst);
        let cover = self.cover_open.load(Ordering::SeqCst);
        let near = self.near_end.load(Ordering::SeqCst);
        let jam = self.jam.load(Ordering::SeqCst);
        let flag = |on: bool, bits: u8| if on { bits } else { 0 };
        STATUS_FIXED_BITS
            | match n {
                1 => flag(paper_out || cover || jam, PRINTER_OFFLINE),
                2 => {
                    flag(cover, OFFLINE_COVER_OPEN)
                        | flag(paper_out, OFFLINE_PAPER_END)
                        | flag(jam, OFFLINE_ERROR)
                }
                3 => flag(jam, ERROR_CUTTER),
                4 => flag(near, ROLL_NEAR_END) | flag(paper_out, ROLL_PAPER_END),
                _ => 0,
            }
    }

    /// The answer to `GS r 1`: bits 0-1 near end, bits 2-3 paper end.
    pub fn paper_sensor_byte(&self) -> u8 {
        let mut b = 0;
        if self.near_end.load(Ordering::SeqCst) {
            b |= 0x03;
        }
        if self.paper_out.load(Ordering::SeqCst) {
            b |= 0x0c;
        }
        b
    }

    fn describe(&self) -> String {
        let f = |b: &AtomicBool| {
            if b.load(Ordering::SeqCst) {
                "on"
            } else {
                "off"
            }
        };
        format!(
            "paper-out={} cover-open={} near-end={} jam={} realtime-in-data={} process-id={} \
             at-cut={} pages={} errors={}",
            f(&self.paper_out),
            f(&self.cover_open),
            f(&self.near_end),
            f(&self.jam),
            f(&self.realtime_in_data),
            f(&self.process_id),
            CutFault::from_code(self.at_cut.load(Ordering::SeqCst)).as_str(),
            self.pages().len(),
            self.errors()
        )
    }
}

/// One client's session: parser, the page being printed, and where finished pages go.
#[derive(Debug)]
pub struct Session {
    parser: Parser,
    page: Page,
    state: Arc<SimState>,
    out_dir: PathBuf,
    garbage: u64,
    warned_stopped: bool,
    /// The last two bytes received, for `DLE EOT` split across reads.
    tail: Vec<u8>,
}

impl Session {
    /// A new session printing into `out_dir`.
    pub fn new(state: Arc<SimState>, out_dir: &Path) -> Session {
        Session {
            parser: Parser::new(),
            page: Page::new(state.width_dots as usize),
            state,
            out_dir: out_dir.to_owned(),
            garbage: 0,
            warned_stopped: false,
            tail: Vec::new(),
        }
    }

    /// Processes received bytes; returns the bytes to answer (status, sensor, process ID).
    pub fn receive(&mut self, data: &[u8]) -> Vec<u8> {
        let mut answer = Vec::new();
        let realtime_in_data = self.state.realtime_in_data.load(Ordering::SeqCst);
        if realtime_in_data {
            // The printer's receive interrupt: every DLE EOT n is answered on arrival.
            let mut window = std::mem::take(&mut self.tail);
            let carried = window.len();
            window.extend_from_slice(data);
            for (i, w) in window.windows(3).enumerate() {
                // Sequences entirely inside the carried bytes were answered last time.
                if i + 3 > carried && w[0] == 0x10 && w[1] == 0x04 && (1..=4).contains(&w[2]) {
                    answer.push(self.state.status_byte(w[2]));
                }
            }
            let keep = window.len().saturating_sub(2);
            self.tail = window[keep..].to_vec();
        }
        for item in self.parser.push(data) {
            match item {
                Ok(Command::Status(_)) if realtime_in_data => {}
                Ok(cmd) => self.apply(cmd, &mut answer),
                Err(e) => {
                    self.garbage += 1;
                    self.page.add_error();
                    self.state.errors.fetch_add(1, Ordering::SeqCst);
                    tracing::error!(error = %e, "virtual printer refused bytes");
                }
            }
        }
        answer
    }

    /// Whether this client has sent so much garbage that the printer should hang up.
    pub fn hopeless(&self) -> bool {
        self.garbage > MAX_GARBAGE
    }

    /// Garbage sequences refused in this session.
    pub fn garbage(&self) -> u64 {
        self.garbage
    }

    fn apply(&mut self, cmd: Command, answer: &mut Vec<u8>) {
        if let Command::Status(n) = cmd {
            answer.push(self.state.status_byte(n));
            return;
        }
        if self.state.stopped() {
            if !matches!(cmd, Command::Ignored(_)) {
                if !self.warned_stopped {
                    tracing::warn!(
                        "printer stopped (paper out, cover open or jam): data discarded"
                    );
                    self.warned_stopped = true;
                }
                self.page.discard();
            }
            return;
        }
        self.warned_stopped = false;
        match cmd {
            Command::Init => {
                if self.page.rows() > 0 {
                    tracing::warn!(rows = self.page.rows(), "ESC @ after an uncut page");
                }
                self.page.reset_modes();
            }
            Command::SensorStatus(1) => answer.push(self.state.paper_sensor_byte()),
            Command::SensorStatus(_) => answer.push(0),
            Command::ProcessId(id) => {
                if self.state.process_id.load(Ordering::SeqCst) {
                    answer.extend_from_slice(&[0x37, 0x22, id[0], id[1], id[2], id[3], 0]);
                }
            }
            Command::Cut { kind, feed } => self.cut(kind, feed),
            other => {
                let before = self.page.not_drawn_count();
                self.page.apply(other);
                let added = self.page.not_drawn_count().saturating_sub(before);
                self.state.errors.fetch_add(added as u64, Ordering::SeqCst);
            }
        }
    }

    fn cut(&mut self, kind: CutKind, feed: usize) {
        let fault = CutFault::from_code(self.state.at_cut.swap(0, Ordering::SeqCst));
        if fault != CutFault::None {
            match fault {
                CutFault::CoverOpen => self.state.set_cover_open(true),
                CutFault::PaperOut => self.state.set_paper_out(true),
                CutFault::Jam => self.state.set_jam(true),
                CutFault::None => {}
            }
            tracing::warn!(
                fault = fault.as_str(),
                "fault at the cut: page not cut, not written"
            );
            self.page.discard();
            return;
        }
        let (bits, notes) = self.page.cut(feed);
        if bits.is_empty() && notes.not_drawn.is_empty() && notes.errors == 0 {
            tracing::info!("cut with nothing printed");
            return;
        }
        let width = self.state.width_dots;
        let raster = if bits.is_empty() {
            // Something was sent but nothing could be drawn: a page that says so, not a blank.
            Raster::from_packed(width, vec![0u8; width as usize / 8])
        } else {
            Raster::from_packed(width, bits)
        };
        let Some(raster) = raster else {
            return;
        };
        if let Err(e) = self.write_page(&raster, kind, notes) {
            self.state.errors.fetch_add(1, Ordering::SeqCst);
            tracing::error!(error = %e, dir = %self.out_dir.display(), "virtual printer cannot write the page");
        }
    }

    fn write_page(&self, raster: &Raster, kind: CutKind, notes: PageNotes) -> std::io::Result<()> {
        let png = raster.to_png().map_err(std::io::Error::other)?;
        let Ok(mut pages) = self.state.pages.lock() else {
            return Err(std::io::Error::other("page list poisoned"));
        };
        let flagged = notes.errors > 0 || !notes.not_drawn.is_empty();
        let stem = format!(
            "receipt-{:06}-{}{}",
            pages.len() + 1,
            kind.as_str(),
            if flagged { "-errors" } else { "" }
        );
        let path = self.out_dir.join(format!("{stem}.png"));
        let tmp = self.out_dir.join(format!(".{stem}.png.tmp"));
        std::fs::write(&tmp, png)?;
        std::fs::rename(&tmp, &path)?;
        if !notes.text.is_empty() || flagged {
            let mut txt = notes.text.join("\n");
            txt.push('\n');
            if flagged {
                txt.push_str(&format!("\n-- {} refused byte sequence(s)\n", notes.errors));
                for what in &notes.not_drawn {
                    txt.push_str(&format!("-- not drawn: {what}\n"));
                }
            }
            std::fs::write(self.out_dir.join(format!("{stem}.txt")), txt)?;
        }
        if flagged {
            tracing::error!(page = %path.display(), refused = notes.errors, not_drawn = notes.not_drawn.len(), "virtual printer cut a page with errors");
        } else {
            tracing::info!(page = %path.display(), height = raster.height(), cut = kind.as_str(), "virtual printer cut a page");
        }
        pages.push(PageReport {
            path,
            cut: kind,
            height_dots: raster.height(),
            notes,
        });
        self.state.printed.notify_all();
        Ok(())
    }

    /// Ends the session: logs an incomplete command, refused bytes and any uncut page.
    pub fn finish(self) {
        if self.parser.pending() > 0 {
            self.state.errors.fetch_add(1, Ordering::SeqCst);
            tracing::error!(
                bytes = self.parser.pending(),
                "connection closed in the middle of a command"
            );
        }
        if self.garbage > 0 {
            tracing::error!(
                refused = self.garbage,
                "this connection sent bytes the printer refused"
            );
        }
        if !self.page.is_empty() {
            tracing::warn!("connection closed with an uncut page: not written");
        }
    }
}

fn handle(mut stream: TcpStream, state: Arc<SimState>, out_dir: PathBuf) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Err(e) = stream.set_read_timeout(Some(IDLE_TIMEOUT)) {
        tracing::error!(error = %e, "cannot set a read timeout");
        return;
    }
    let mut session = Session::new(state, &out_dir);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::info!(peer, error = %e, "client gone");
                break;
            }
        };
        let answer = session.receive(&buf[..n]);
        if !answer.is_empty() && stream.write_all(&answer).is_err() {
            break;
        }
        if session.hopeless() {
            tracing::error!(
                peer,
                garbage = session.garbage(),
                "too much garbage: closing the connection"
            );
            break;
        }
    }
    session.finish();
}

/// Serves ESC/POS clients on `listener` forever, one thread per connection, writing a PNG per
/// cut into `out_dir`. Returns only if accepting fails for good.
pub fn serve(listener: TcpListener, out_dir: &Path, state: Arc<SimState>) -> std::io::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let (state, dir) = (state.clone(), out_dir.to_owned());
                std::thread::Builder::new()
                    .name("printer-sim-conn".into())
                    .spawn(move || handle(stream, state, dir))?;
            }
            Err(e) => tracing::warn!(error = %e, "accept failed"),
        }
    }
    Ok(())
}

/// Applies one control-port line to `state`; returns the answer line (without newline).
pub fn control_command(state: &SimState, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let on = |w: &str| match w {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    };
    match words.as_slice() {
        ["status"] => state.describe(),
        ["at-cut", fault] => {
            let fault = match *fault {
                "cover-open" => CutFault::CoverOpen,
                "paper-out" => CutFault::PaperOut,
                "jam" => CutFault::Jam,
                "none" => CutFault::None,
                _ => {
                    return format!(
                        "error: unknown fault {fault:?} (cover-open, paper-out, jam, none)"
                    );
                }
            };
            state.arm_at_cut(fault);
            "ok".into()
        }
        [what, flag] => match (*what, on(flag)) {
            ("paper-out", Some(v)) => {
                state.set_paper_out(v);
                "ok".into()
            }
            ("cover-open", Some(v)) => {
                state.set_cover_open(v);
                "ok".into()
            }
            ("near-end", Some(v)) => {
                state.set_near_end(v);
                "ok".into()
            }
            ("jam", Some(v)) => {
                state.set_jam(v);
                "ok".into()
            }
            ("realtime-in-data", Some(v)) => {
                state.set_realtime_in_data(v);
                "ok".into()
            }
            ("process-id", Some(v)) => {
                state.set_process_id(v);
                "ok".into()
            }
            _ => format!("error: unknown command {line:?}"),
        },
        _ => format!("error: unknown command {line:?}"),
    }
}

/// Serves the line-based control protocol (see the module doc) on `listener` forever.
pub fn serve_control(listener: TcpListener, state: Arc<SimState>) -> std::io::Result<()> {
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let state = state.clone();
        std::thread::Builder::new()
            .name("printer-sim-control".into())
            .spawn(move || {
                let Ok(mut writer) = stream.try_clone() else {
                    return;
                };
                let reader = BufReader::new(stream.take(64 * 1024));
                for line in reader.lines() {
                    let Ok(line) = line else { break };
                    let answer = control_command(&state, line.trim());
                    tracing::info!(command = line.trim(), answer, "control");
                    if writeln!(writer, "{answer}").is_err() {
                        break;
                    }
                }
            })?;
    }
    Ok(())
}

/// A virtual printer running in this process on OS-assigned 127.0.0.1 ports.
#[derive(Debug, Clone)]
pub struct SimHandle {
    /// ESC/POS address (the `host:port` for `[printer] address`).
    pub addr: SocketAddr,
    /// Control-port address.
    pub control_addr: SocketAddr,
    /// Switches and printed pages.
    pub state: Arc<SimState>,
    /// Where PNGs are written.
    pub out_dir: PathBuf,
}

/// Starts a virtual printer (and its control port) on background threads; they live as long as
/// the process.
pub fn spawn(out_dir: &Path, width_dots: u32) -> std::io::Result<SimHandle> {
    std::fs::create_dir_all(out_dir)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let control = TcpListener::bind("127.0.0.1:0")?;
    let handle = SimHandle {
        addr: listener.local_addr()?,
        control_addr: control.local_addr()?,
        state: SimState::new(width_dots),
        out_dir: out_dir.to_owned(),
    };
    let (state, dir) = (handle.state.clone(), out_dir.to_owned());
    std::thread::Builder::new()
        .name("printer-sim".into())
        .spawn(move || {
            if let Err(e) = serve(listener, &dir, state) {
                tracing::error!(error = %e, "virtual printer stopped");
            }
        })?;
    let state = handle.state.clone();
    std::thread::Builder::new()
        .name("printer-sim-control".into())
        .spawn(move || {
            if let Err(e) = serve_control(control, state) {
                tracing::error!(error = %e, "virtual printer control port stopped");
            }
        })?;
    Ok(handle)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_follow_the_switches() {
        let s = SimState::new(576);
        assert_eq!(
            [
                s.status_byte(1),
                s.status_byte(2),
                s.status_byte(3),
                s.status_byte(4)
            ],
            [0x12, 0x12, 0x12, 0x12]
        );
        assert_eq!(control_command(&s, "cover-open on"), "ok");
        assert_eq!(s.status_byte(2), 0x16);
        assert_eq!(s.status_byte(1), 0x1a);
        assert_eq!(control_command(&s, "paper-out on"), "ok");
        assert_eq!(s.status_byte(4), 0x72);
        assert_eq!(s.paper_sensor_byte(), 0x0c);
        assert!(control_command(&s, "status").starts_with("paper-out=on cover-open=on"));
        assert_eq!(control_command(&s, "jam on"), "ok");
        assert_eq!(s.status_byte(3), 0x1a);
        assert_eq!(control_command(&s, "at-cut jam"), "ok");
        assert!(control_command(&s, "status").contains("jam=on"));
        assert!(control_command(&s, "status").contains("at-cut=jam"));
        assert!(control_command(&s, "explode").starts_with("error:"));
        assert!(control_command(&s, "at-cut fire").starts_with("error:"));
    }

    #[test]
    fn answers_status_inside_raster_data_only_when_told() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = SimState::new(64);
        state.set_near_end(true);
        // A 1-byte-wide raster whose data hold 10 04 04 (DLE EOT 4), split across two reads.
        let job = [0x1d, b'v', b'0', 0, 1, 0, 3, 0, 0x10, 0x04, 0x04];
        let mut quiet = Session::new(state.clone(), dir.path());
        assert!(quiet.receive(&job).is_empty());
        state.set_realtime_in_data(true);
        let mut epson = Session::new(state.clone(), dir.path());
        let mut answer = epson.receive(&job[..9]);
        answer.extend(epson.receive(&job[9..]));
        assert_eq!(answer, vec![state.status_byte(4)]);
        // A real query is answered once, not twice.
        assert_eq!(epson.receive(&[0x10, 0x04, 0x01]), vec![0x12]);
    }

    #[test]
    fn process_id_and_paper_sensor_are_answered_unless_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = SimState::new(576);
        let mut s = Session::new(state.clone(), dir.path());
        let ask = [
            0x1d, b'(', b'H', 6, 0, 48, 48, b'A', b'B', b'C', b'D', 0x1d, b'r', 1,
        ];
        assert_eq!(
            s.receive(&ask),
            vec![0x37, 0x22, b'A', b'B', b'C', b'D', 0, 0x00]
        );
        state.set_process_id(false);
        assert_eq!(s.receive(&ask), vec![0x00]);
        state.set_cover_open(true);
        assert!(
            s.receive(&ask).is_empty(),
            "a stopped printer answers nothing"
        );
    }
}
