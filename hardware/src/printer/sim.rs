//! The virtual receipt printer: a TCP 9100 server that parses the ESC/POS stream, renders what
//! it would print to one PNG per cut, and answers `DLE EOT` like an Epson printer. Tests, the
//! demo and `booth-printer-sim` run it; the booth's code cannot tell it from a real printer.
//!
//! Understood commands: `ESC @` (init), `GS v 0 m xL xH yL yH d…` (raster, all four scale
//! modes), `GS V m` / `GS V m n` (cut), `DLE EOT n` (n = 1..4, answered at once), `ESC d n`,
//! `ESC J n`, `LF` (feeds), and the usual one- and two-byte settings (`ESC a/E/!/-/3/t/R/M/G/{`,
//! `ESC 2`, `GS !/B/h/w/H/f/a/L/W`), which are accepted and ignored, as are `GS ( L` / `GS 8 L`
//! graphics-buffer blocks. Printable bytes are accepted as text but not drawn (the booth never
//! sends text: receipts are rasters). Any other control byte is garbage: it is logged as an
//! error with its stream offset, counted in [`SimState::errors`], and skipped; a connection that
//! sends more than [`MAX_GARBAGE`] garbage bytes is closed. Nothing a client sends can panic the
//! server (property-tested over random streams).
//!
//! While paper-out or cover-open is set the printer is "stopped": raster and feeds are
//! discarded and a cut writes no PNG, as a real printer prints nothing.
//!
//! **Control port** (`--control ADDR`): one command per line, answered with one line:
//! `paper-out on|off`, `cover-open on|off`, `near-end on|off` → `ok`; `status` →
//! `paper-out=off cover-open=off near-end=off pages=N errors=M`; anything else → `error: …`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::render::Raster;
use super::status::{
    OFFLINE_COVER_OPEN, OFFLINE_PAPER_END, PRINTER_OFFLINE, ROLL_NEAR_END, ROLL_PAPER_END,
    STATUS_FIXED_BITS,
};

/// Garbage bytes one connection may send before the printer hangs up on it.
pub const MAX_GARBAGE: u64 = 4096;
/// Longest page in dots (2.5 m of paper); a longer page is discarded with an error.
pub const MAX_PAGE_DOTS: usize = 20_000;
/// Dots fed by `LF` and per line of `ESC d n` (the default 1/6 inch line at 203 dpi).
pub const LINE_DOTS: usize = 34;
/// Largest raster command accepted, in data bytes.
pub const MAX_RASTER_BYTES: usize = 8 << 20;
/// A connection silent this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// One parsed ESC/POS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ESC @`.
    Init,
    /// `GS v 0`: `width_bytes * height` bytes of packed rows, scaled by `mode`.
    Raster {
        /// 0 normal, 1 double width, 2 double height, 3 both (48..51 accepted as 0..3).
        mode: u8,
        /// Bytes per row.
        width_bytes: usize,
        /// Rows.
        height: usize,
        /// Packed rows.
        data: Vec<u8>,
    },
    /// `GS V`.
    Cut,
    /// `DLE EOT n`.
    Status(u8),
    /// Paper feed in dots.
    Feed(usize),
    /// Printable bytes (not drawn).
    Text(usize),
    /// A setting the virtual printer accepts and ignores.
    Ignored(&'static str),
}

/// A byte sequence the virtual printer refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimParseError {
    /// An unknown command or stray control byte at this stream offset (skipped).
    #[error("garbage byte 0x{byte:02x} at offset {offset}: {what}")]
    Garbage {
        /// Offset in the connection's stream.
        offset: u64,
        /// The byte.
        byte: u8,
        /// Which command was not understood.
        what: &'static str,
    },
    /// A raster command with impossible dimensions (skipped).
    #[error("raster at offset {offset} refused: {width_bytes} bytes x {height} rows ({why})")]
    BadRaster {
        /// Offset in the connection's stream.
        offset: u64,
        /// Declared bytes per row.
        width_bytes: usize,
        /// Declared rows.
        height: usize,
        /// Why.
        why: &'static str,
    },
}

enum Step {
    Done(Command, usize),
    Bad(SimParseError, usize),
    NeedMore,
}

/// An incremental ESC/POS parser: feed it bytes as they arrive, in any split.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    offset: u64,
}

impl Parser {
    /// A parser at stream offset 0.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Appends `data` and returns every command (or refused sequence) now complete, in order.
    pub fn push(&mut self, data: &[u8]) -> Vec<Result<Command, SimParseError>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            match step(&self.buf[pos..], self.offset + pos as u64) {
                Step::Done(cmd, n) => {
                    out.push(Ok(cmd));
                    pos += n;
                }
                Step::Bad(e, n) => {
                    out.push(Err(e));
                    pos += n;
                }
                Step::NeedMore => break,
            }
        }
        self.buf.drain(..pos);
        self.offset += pos as u64;
        out
    }

    /// Bytes of an incomplete command still waiting for the rest.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

fn step(b: &[u8], offset: u64) -> Step {
    let Some(&first) = b.first() else {
        return Step::NeedMore;
    };
    let garbage = |what| {
        Step::Bad(
            SimParseError::Garbage {
                offset,
                byte: first,
                what,
            },
            1,
        )
    };
    // Fixed-length command: `len` bytes in total.
    let fixed = |len: usize, cmd: Command| {
        if b.len() < len {
            Step::NeedMore
        } else {
            Step::Done(cmd, len)
        }
    };
    match first {
        0x1b => {
            let Some(&c) = b.get(1) else {
                return Step::NeedMore;
            };
            match c {
                b'@' => Step::Done(Command::Init, 2),
                b'2' => Step::Done(Command::Ignored("ESC 2"), 2),
                b'd' => match b.get(2) {
                    Some(&n) => Step::Done(Command::Feed(usize::from(n) * LINE_DOTS), 3),
                    None => Step::NeedMore,
                },
                b'J' => match b.get(2) {
                    Some(&n) => Step::Done(Command::Feed(usize::from(n)), 3),
                    None => Step::NeedMore,
                },
                b'a' | b'E' | b'!' | b'-' | b'3' | b't' | b'R' | b'M' | b'G' | b'{' | b'V'
                | b'U' => fixed(3, Command::Ignored("ESC setting")),
                b'p' => fixed(5, Command::Ignored("ESC p")),
                _ => garbage("unknown ESC command"),
            }
        }
        0x1d => {
            let Some(&c) = b.get(1) else {
                return Step::NeedMore;
            };
            match c {
                b'v' => raster(b, offset),
                b'V' => {
                    let Some(&m) = b.get(2) else {
                        return Step::NeedMore;
                    };
                    match m {
                        0 | 1 | 48 | 49 => Step::Done(Command::Cut, 3),
                        65 | 66 | 97 | 98 | 103 | 104 => fixed(4, Command::Cut),
                        _ => garbage("GS V with unknown cut mode"),
                    }
                }
                b'!' | b'B' | b'h' | b'w' | b'H' | b'f' | b'a' | b'b' => {
                    fixed(3, Command::Ignored("GS setting"))
                }
                b'L' | b'W' => fixed(4, Command::Ignored("GS margin")),
                b'(' | b'8' => {
                    // GS ( L pL pH ...  /  GS 8 L p1 p2 p3 p4 ...
                    let Some(&fnc) = b.get(2) else {
                        return Step::NeedMore;
                    };
                    if fnc != b'L' {
                        return garbage("unknown GS ( / GS 8 function");
                    }
                    let (head, len) = if c == b'(' {
                        let (Some(&l), Some(&h)) = (b.get(3), b.get(4)) else {
                            return Step::NeedMore;
                        };
                        (5, usize::from(l) | usize::from(h) << 8)
                    } else {
                        if b.len() < 7 {
                            return Step::NeedMore;
                        }
                        (7, u32::from_le_bytes([b[3], b[4], b[5], b[6]]) as usize)
                    };
                    if len > MAX_RASTER_BYTES {
                        return garbage("graphics block larger than the printer's buffer");
                    }
                    fixed(head + len, Command::Ignored("graphics buffer block"))
                }
                _ => garbage("unknown GS command"),
            }
        }
        0x10 => {
            let Some(&c) = b.get(1) else {
                return Step::NeedMore;
            };
            match c {
                0x04 => {
                    let Some(&n) = b.get(2) else {
                        return Step::NeedMore;
                    };
                    match n {
                        1..=4 => Step::Done(Command::Status(n), 3),
                        7 | 8 | 18 => fixed(4, Command::Ignored("DLE EOT extended status")),
                        _ => garbage("DLE EOT with unknown n"),
                    }
                }
                0x05 => fixed(3, Command::Ignored("DLE ENQ")),
                _ => garbage("unknown DLE command"),
            }
        }
        0x0a => Step::Done(Command::Feed(LINE_DOTS), 1),
        0x00 | 0x0d | 0x09 | 0x0c => Step::Done(Command::Ignored("control byte"), 1),
        0x20..=0x7e | 0x80..=0xff => {
            let n = b
                .iter()
                .take_while(|x| matches!(x, 0x20..=0x7e | 0x80..=0xff))
                .count();
            Step::Done(Command::Text(n), n)
        }
        _ => garbage("stray control byte"),
    }
}

fn raster(b: &[u8], offset: u64) -> Step {
    if b.len() < 8 {
        return Step::NeedMore;
    }
    if b[2] != b'0' || !matches!(b[3], 0..=3 | 48..=51) {
        return Step::Bad(
            SimParseError::Garbage {
                offset,
                byte: b[0],
                what: "GS v with unknown function or mode",
            },
            1,
        );
    }
    let mode = b[3] & 0x03;
    let width_bytes = usize::from(u16::from_le_bytes([b[4], b[5]]));
    let height = usize::from(u16::from_le_bytes([b[6], b[7]]));
    let size = width_bytes * height;
    let bad = |why| {
        Step::Bad(
            SimParseError::BadRaster {
                offset,
                width_bytes,
                height,
                why,
            },
            8,
        )
    };
    if size == 0 {
        return bad("empty image");
    }
    if size > MAX_RASTER_BYTES {
        return bad("larger than the printer's buffer");
    }
    if b.len() < 8 + size {
        return Step::NeedMore;
    }
    Step::Done(
        Command::Raster {
            mode,
            width_bytes,
            height,
            data: b[8..8 + size].to_vec(),
        },
        8 + size,
    )
}

/// Shared, switchable state of one virtual printer, and what it has printed.
#[derive(Debug)]
pub struct SimState {
    width_dots: u32,
    paper_out: AtomicBool,
    cover_open: AtomicBool,
    near_end: AtomicBool,
    errors: AtomicU64,
    pages: Mutex<Vec<PathBuf>>,
    printed: Condvar,
}

impl SimState {
    /// A ready printer with paper `width_dots` wide (576 or 384; other multiples of 8 work).
    pub fn new(width_dots: u32) -> Arc<SimState> {
        Arc::new(SimState {
            width_dots: width_dots.max(8) / 8 * 8,
            paper_out: AtomicBool::new(false),
            cover_open: AtomicBool::new(false),
            near_end: AtomicBool::new(false),
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
    /// Garbage sequences refused so far, over all connections.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::SeqCst)
    }
    /// PNGs written so far, oldest first.
    pub fn pages(&self) -> Vec<PathBuf> {
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
        pages.clone()
    }

    fn stopped(&self) -> bool {
        self.paper_out.load(Ordering::SeqCst) || self.cover_open.load(Ordering::SeqCst)
    }

    /// The status byte a real printer returns to `DLE EOT n` in the current state.
    pub fn status_byte(&self, n: u8) -> u8 {
        let paper_out = self.paper_out.load(Ordering::SeqCst);
        let cover = self.cover_open.load(Ordering::SeqCst);
        let near = self.near_end.load(Ordering::SeqCst);
        let flag = |on: bool, bits: u8| if on { bits } else { 0 };
        STATUS_FIXED_BITS
            | match n {
                1 => flag(paper_out || cover, PRINTER_OFFLINE),
                2 => flag(cover, OFFLINE_COVER_OPEN) | flag(paper_out, OFFLINE_PAPER_END),
                4 => flag(near, ROLL_NEAR_END) | flag(paper_out, ROLL_PAPER_END),
                _ => 0,
            }
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
            "paper-out={} cover-open={} near-end={} pages={} errors={}",
            f(&self.paper_out),
            f(&self.cover_open),
            f(&self.near_end),
            self.pages().len(),
            self.errors()
        )
    }
}

/// One client's session: parser, the page being printed, and where finished pages go.
#[derive(Debug)]
pub struct Session {
    parser: Parser,
    page: Vec<u8>,
    state: Arc<SimState>,
    out_dir: PathBuf,
    garbage: u64,
    warned_stopped: bool,
}

impl Session {
    /// A new session printing into `out_dir`.
    pub fn new(state: Arc<SimState>, out_dir: &Path) -> Session {
        Session {
            parser: Parser::new(),
            page: Vec::new(),
            state,
            out_dir: out_dir.to_owned(),
            garbage: 0,
            warned_stopped: false,
        }
    }

    fn stride(&self) -> usize {
        self.state.width_dots as usize / 8
    }

    /// Processes received bytes; returns the bytes to answer (status replies).
    pub fn receive(&mut self, data: &[u8]) -> Vec<u8> {
        let mut answer = Vec::new();
        for item in self.parser.push(data) {
            match item {
                Ok(cmd) => self.apply(cmd, &mut answer),
                Err(e) => {
                    self.garbage += 1;
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
        let stopped = self.state.stopped();
        match cmd {
            Command::Status(n) => answer.push(self.state.status_byte(n)),
            Command::Init => {
                if !self.page.is_empty() {
                    tracing::warn!(
                        rows = self.page.len() / self.stride(),
                        "ESC @ discarded an uncut page"
                    );
                }
                self.page.clear();
            }
            Command::Raster { .. } | Command::Feed(_) | Command::Cut if stopped => {
                if !self.warned_stopped {
                    tracing::warn!("printer stopped (paper out or cover open): data discarded");
                    self.warned_stopped = true;
                }
                self.page.clear();
            }
            Command::Raster {
                mode,
                width_bytes,
                height,
                data,
            } => self.draw(mode, width_bytes, height, &data),
            Command::Feed(dots) => self.feed(dots),
            Command::Cut => self.cut(),
            Command::Text(n) => tracing::debug!(bytes = n, "text-mode bytes accepted, not drawn"),
            Command::Ignored(what) => tracing::trace!(what, "setting ignored"),
        }
        if !stopped {
            self.warned_stopped = false;
        }
    }

    fn grow(&mut self, rows: usize) -> bool {
        let stride = self.stride();
        let now = self.page.len() / stride;
        if now + rows > MAX_PAGE_DOTS {
            self.state.errors.fetch_add(1, Ordering::SeqCst);
            tracing::error!(
                rows = now + rows,
                "page longer than {MAX_PAGE_DOTS} dots: discarded"
            );
            self.page.clear();
            return false;
        }
        self.page.resize((now + rows) * stride, 0);
        true
    }

    fn feed(&mut self, dots: usize) {
        self.grow(dots);
    }

    fn draw(&mut self, mode: u8, width_bytes: usize, height: usize, data: &[u8]) {
        let (sx, sy) = (
            if mode & 1 != 0 { 2 } else { 1 },
            if mode & 2 != 0 { 2 } else { 1 },
        );
        let stride = self.stride();
        let paper = stride * 8;
        if width_bytes * 8 * sx > paper {
            // Real printers clip what is beyond the paper; say so, since we never send it.
            tracing::warn!(
                width = width_bytes * 8 * sx,
                paper,
                "raster wider than the paper: clipped"
            );
        }
        let top = self.page.len() / stride;
        if !self.grow(height * sy) {
            return;
        }
        for y in 0..height {
            for xb in 0..width_bytes {
                let byte = data[y * width_bytes + xb];
                if byte == 0 {
                    continue;
                }
                for bit in 0..8 {
                    if byte & (0x80 >> bit) == 0 {
                        continue;
                    }
                    for dy in 0..sy {
                        for dx in 0..sx {
                            let x = (xb * 8 + bit) * sx + dx;
                            if x < paper {
                                let row = top + y * sy + dy;
                                self.page[row * stride + x / 8] |= 0x80 >> (x % 8);
                            }
                        }
                    }
                }
            }
        }
    }

    fn cut(&mut self) {
        if self.page.is_empty() {
            tracing::info!("cut with nothing printed");
            return;
        }
        let bits = std::mem::take(&mut self.page);
        let Some(raster) = Raster::from_packed(self.state.width_dots, bits) else {
            return;
        };
        if let Err(e) = self.write_png(&raster) {
            self.state.errors.fetch_add(1, Ordering::SeqCst);
            tracing::error!(error = %e, dir = %self.out_dir.display(), "virtual printer cannot write the page");
        }
    }

    fn write_png(&self, raster: &Raster) -> std::io::Result<()> {
        let png = raster.to_png().map_err(std::io::Error::other)?;
        let Ok(mut pages) = self.state.pages.lock() else {
            return Err(std::io::Error::other("page list poisoned"));
        };
        let name = format!("receipt-{:06}.png", pages.len() + 1);
        let path = self.out_dir.join(&name);
        let tmp = self.out_dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, png)?;
        std::fs::rename(&tmp, &path)?;
        tracing::info!(page = %path.display(), height = raster.height(), "virtual printer cut a page");
        pages.push(path);
        self.state.printed.notify_all();
        Ok(())
    }

    /// Ends the session: logs an incomplete command and any uncut page.
    pub fn finish(self) {
        if self.parser.pending() > 0 {
            self.state.errors.fetch_add(1, Ordering::SeqCst);
            tracing::error!(
                bytes = self.parser.pending(),
                "connection closed in the middle of a command"
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
    fn parses_across_splits() {
        let stream = [
            &[0x1b, b'@'][..],
            &[0x1d, b'v', b'0', 0, 1, 0, 2, 0, 0xff, 0x81],
            &[0x10, 0x04, 4],
            &[0x1b, b'd', 2],
            &[0x1d, b'V', b'A', 0],
        ]
        .concat();
        for split in 0..stream.len() {
            let mut p = Parser::new();
            let mut cmds: Vec<_> = p.push(&stream[..split]);
            cmds.extend(p.push(&stream[split..]));
            let cmds: Vec<Command> = cmds.into_iter().map(|c| c.expect("valid stream")).collect();
            assert_eq!(
                cmds,
                vec![
                    Command::Init,
                    Command::Raster {
                        mode: 0,
                        width_bytes: 1,
                        height: 2,
                        data: vec![0xff, 0x81]
                    },
                    Command::Status(4),
                    Command::Feed(2 * LINE_DOTS),
                    Command::Cut,
                ],
                "split at {split}"
            );
            assert_eq!(p.pending(), 0);
        }
    }

    #[test]
    fn refuses_garbage_and_resyncs() {
        let mut p = Parser::new();
        let out = p.push(&[0x07, 0x1b, 0xff, 0x1b, b'@']);
        assert!(matches!(
            out[0],
            Err(SimParseError::Garbage {
                offset: 0,
                byte: 0x07,
                ..
            })
        ));
        assert!(matches!(
            out[1],
            Err(SimParseError::Garbage {
                offset: 1,
                byte: 0x1b,
                ..
            })
        ));
        assert_eq!(out.last(), Some(&Ok(Command::Init)));
        let big = p.push(&[0x1d, b'v', b'0', 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(big[0], Err(SimParseError::BadRaster { .. })));
    }

    #[test]
    fn status_bytes_follow_the_switches() {
        let s = SimState::new(576);
        assert_eq!(
            [s.status_byte(1), s.status_byte(2), s.status_byte(4)],
            [0x12, 0x12, 0x12]
        );
        assert_eq!(control_command(&s, "cover-open on"), "ok");
        assert_eq!(s.status_byte(2), 0x16);
        assert_eq!(s.status_byte(1), 0x1a);
        assert_eq!(control_command(&s, "paper-out on"), "ok");
        assert_eq!(s.status_byte(4), 0x72);
        assert!(control_command(&s, "status").starts_with("paper-out=on cover-open=on"));
        assert!(control_command(&s, "explode").starts_with("error:"));
    }
}
