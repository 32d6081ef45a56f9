//! The virtual printer's incremental ESC/POS parser: bytes in any split → [`Command`]s, and
//! refused sequences as [`SimParseError`]s with their stream offset.

/// Dots fed by `LF` and per line of `ESC d n` at the default line spacing (1/6 inch at 203 dpi).
pub const LINE_DOTS: usize = 34;
/// Largest raster command accepted, in data bytes.
pub const MAX_RASTER_BYTES: usize = 8 << 20;
/// Longest `GS k` format-A barcode data before its `NUL`.
const MAX_BARCODE_A: usize = 255;

/// How a cut command cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// Cut through (`GS V 0/48/65`).
    Full,
    /// One point left uncut (`GS V 1/49/66`, `ESC i`, `ESC m`).
    Partial,
}

impl CutKind {
    /// `full` or `partial`: the word in the page's file name.
    pub fn as_str(self) -> &'static str {
        match self {
            CutKind::Full => "full",
            CutKind::Partial => "partial",
        }
    }
}

/// A text or layout setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `ESC ! n`: font B (bit 0), emphasis (3), double height (4), double width (5),
    /// underline (7).
    PrintMode(u8),
    /// `ESC E n` / `ESC G n`: emphasis on/off.
    Emphasis(bool),
    /// `ESC - n`: underline 0, 1 or 2 dots thick.
    Underline(u8),
    /// `ESC a n`: 0 left, 1 centre, 2 right.
    Align(u8),
    /// `ESC M n`: 0 font A (12×24), 1 font B (9×17).
    Font(u8),
    /// `ESC t n`: character code table.
    CodePage(u8),
    /// `ESC 2` (`None`: default) / `ESC 3 n` (n dots).
    LineSpacing(Option<u8>),
    /// `GS ! n`: width multiplier (high nibble + 1), height multiplier (low nibble + 1).
    CharSize(u8),
    /// `GS B n`: white on black.
    Reverse(bool),
}

/// A `GS ( k` QR code function (`cn` = 49).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrCommand {
    /// Function 165: model (49 model 1, 50 model 2, 51 micro).
    Model(u8),
    /// Function 167: module size in dots.
    ModuleSize(u8),
    /// Function 169: error correction 48 L, 49 M, 50 Q, 51 H.
    ErrorLevel(u8),
    /// Function 180: store the data.
    Store(Vec<u8>),
    /// Function 181: print the stored symbol.
    Print,
}

/// A barcode setting (`GS h/w/H/f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarcodeSetting {
    /// `GS h n`: bar height in dots.
    Height(u8),
    /// `GS w n`: narrow module width in dots.
    ModuleWidth(u8),
    /// `GS H n`: human-readable text 0 none, 1 above, 2 below, 3 both.
    HriPosition(u8),
    /// `GS f n`: HRI font 0 A, 1 B.
    HriFont(u8),
}

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
    /// `ESC * m nL nH d…`: a column image, part of the current line.
    ColumnImage {
        /// 0/1: 8 dots per column (single/double density), 32/33: 24 dots.
        mode: u8,
        /// Columns.
        columns: usize,
        /// 1 or 3 bytes per column, most significant bit on top.
        data: Vec<u8>,
    },
    /// A cut (`GS V`, `ESC i`, `ESC m`), after feeding `feed` dots.
    Cut {
        /// Full or partial.
        kind: CutKind,
        /// Dots fed before the cut (`GS V 65/66 n`).
        feed: usize,
    },
    /// `DLE EOT n`.
    Status(u8),
    /// `GS r n`: transmit sensor status (1 paper, 2 drawer).
    SensorStatus(u8),
    /// `GS ( H` function 48: answer the process ID once everything before is printed.
    ProcessId([u8; 4]),
    /// `ESC J n`: print the line and feed `n` dots.
    FeedDots(usize),
    /// `ESC d n`: print the line and feed `n` lines.
    FeedLines(usize),
    /// `LF`: print the line and feed one line.
    LineFeed,
    /// Printable bytes, to be decoded with the current code page.
    Text(Vec<u8>),
    /// A text or layout setting.
    Style(Style),
    /// A QR code function.
    Qr(QrCommand),
    /// `GS k`: print a barcode (`system` 65..=79, format A numbers mapped to B's).
    Barcode {
        /// Symbology: 65 UPC-A, 66 UPC-E, 67 EAN13, 68 EAN8, 69 CODE39, 70 ITF, 71 CODABAR,
        /// 72 CODE93, 73 CODE128.
        system: u8,
        /// The data bytes.
        data: Vec<u8>,
    },
    /// A barcode setting.
    BarcodeSetting(BarcodeSetting),
    /// Content the virtual printer understands but does not draw (PDF417, page mode, NV
    /// graphics…): reported on the page, never silently blank.
    NotDrawn(&'static str),
    /// A setting that does not change what is printed.
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

fn is_text(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | 0x80..=0xff)
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
    // A command of `len` bytes whose last byte is its argument.
    let with_arg = |len: usize, make: &dyn Fn(u8) -> Command| match b.get(len - 1) {
        Some(&n) => Step::Done(make(n), len),
        None => Step::NeedMore,
    };
    match first {
        0x1b => {
            let Some(&c) = b.get(1) else {
                return Step::NeedMore;
            };
            match c {
                b'@' => Step::Done(Command::Init, 2),
                b'2' => Step::Done(Command::Style(Style::LineSpacing(None)), 2),
                b'3' => with_arg(3, &|n| Command::Style(Style::LineSpacing(Some(n)))),
                b'd' => with_arg(3, &|n| Command::FeedLines(usize::from(n))),
                b'J' => with_arg(3, &|n| Command::FeedDots(usize::from(n))),
                b'!' => with_arg(3, &|n| Command::Style(Style::PrintMode(n))),
                b'E' | b'G' => with_arg(3, &|n| Command::Style(Style::Emphasis(n & 1 != 0))),
                b'-' => with_arg(3, &|n| Command::Style(Style::Underline(n % 48 % 3))),
                b'a' => with_arg(3, &|n| Command::Style(Style::Align(n % 48 % 3))),
                b'M' => with_arg(3, &|n| Command::Style(Style::Font(n % 48))),
                b't' => with_arg(3, &|n| Command::Style(Style::CodePage(n))),
                b'i' | b'm' => Step::Done(
                    Command::Cut {
                        kind: CutKind::Partial,
                        feed: 0,
                    },
                    2,
                ),
                b'*' => column_image(b, offset),
                b'R' | b'{' | b'V' | b'U' | b' ' | b'=' | b'r' => {
                    fixed(3, Command::Ignored("ESC setting"))
                }
                b'c' => fixed(4, Command::Ignored("ESC c sensor setting")),
                b'$' | b'\\' => fixed(4, Command::Ignored("ESC print position")),
                b'p' => fixed(5, Command::Ignored("ESC p drawer pulse")),
                b'L' | b'S' | b'T' | b'W' | 0x0c => {
                    fixed(2, Command::NotDrawn("page mode (ESC L/S/T/W/FF)"))
                }
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
                    let kind = if m % 2 == 0 {
                        CutKind::Full
                    } else {
                        CutKind::Partial
                    };
                    match m {
                        0 | 1 | 48 | 49 => Step::Done(Command::Cut { kind, feed: 0 }, 3),
                        65 | 66 | 97 | 98 | 103 | 104 => match b.get(3) {
                            Some(&n) => Step::Done(
                                Command::Cut {
                                    kind: if m % 2 == 1 {
                                        CutKind::Full
                                    } else {
                                        CutKind::Partial
                                    },
                                    feed: if matches!(m, 65 | 66) {
                                        usize::from(n)
                                    } else {
                                        0
                                    },
                                },
                                4,
                            ),
                            None => Step::NeedMore,
                        },
                        _ => garbage("GS V with unknown cut mode"),
                    }
                }
                b'!' => with_arg(3, &|n| Command::Style(Style::CharSize(n))),
                b'B' => with_arg(3, &|n| Command::Style(Style::Reverse(n & 1 != 0))),
                b'h' => with_arg(3, &|n| Command::BarcodeSetting(BarcodeSetting::Height(n))),
                b'w' => with_arg(3, &|n| {
                    Command::BarcodeSetting(BarcodeSetting::ModuleWidth(n))
                }),
                b'H' => with_arg(3, &|n| {
                    Command::BarcodeSetting(BarcodeSetting::HriPosition(n % 48))
                }),
                b'f' => with_arg(3, &|n| {
                    Command::BarcodeSetting(BarcodeSetting::HriFont(n % 48))
                }),
                b'r' => with_arg(3, &|n| Command::SensorStatus(n % 48)),
                b'a' | b'b' | b'I' | b'/' => fixed(3, Command::Ignored("GS setting")),
                b'L' | b'W' | b'P' | b'$' | b'\\' => {
                    fixed(4, Command::Ignored("GS margin/position"))
                }
                b'k' => barcode(b, offset),
                b'(' => gs_paren(b),
                b'8' => {
                    // GS 8 L p1 p2 p3 p4 …: large graphics block.
                    let Some(&fnc) = b.get(2) else {
                        return Step::NeedMore;
                    };
                    if fnc != b'L' {
                        return garbage("unknown GS 8 function");
                    }
                    if b.len() < 7 {
                        return Step::NeedMore;
                    }
                    let len = u32::from_le_bytes([b[3], b[4], b[5], b[6]]) as usize;
                    if len > MAX_RASTER_BYTES {
                        return garbage("graphics block larger than the printer's buffer");
                    }
                    fixed(7 + len, Command::NotDrawn("GS 8 L graphics"))
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
                0x14 => match b.get(2) {
                    Some(1 | 2) => fixed(5, Command::Ignored("DLE DC4")),
                    Some(7 | 8) => fixed(10, Command::Ignored("DLE DC4")),
                    Some(_) => garbage("DLE DC4 with unknown function"),
                    None => Step::NeedMore,
                },
                _ => garbage("unknown DLE command"),
            }
        }
        0x0a => Step::Done(Command::LineFeed, 1),
        0x00 | 0x0d | 0x09 | 0x18 => Step::Done(Command::Ignored("control byte"), 1),
        0x0c => Step::Done(Command::Ignored("FF in standard mode"), 1),
        _ if is_text(first) => {
            let n = b.iter().take_while(|x| is_text(**x)).count();
            Step::Done(Command::Text(b[..n].to_vec()), n)
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

fn column_image(b: &[u8], offset: u64) -> Step {
    if b.len() < 5 {
        return Step::NeedMore;
    }
    let mode = b[2];
    let per_column = match mode {
        0 | 1 => 1,
        32 | 33 => 3,
        _ => {
            return Step::Bad(
                SimParseError::Garbage {
                    offset,
                    byte: b[0],
                    what: "ESC * with unknown mode",
                },
                1,
            );
        }
    };
    let columns = usize::from(u16::from_le_bytes([b[3], b[4]]));
    let size = columns * per_column;
    if columns == 0 || columns > 2400 {
        return Step::Bad(
            SimParseError::BadRaster {
                offset,
                width_bytes: columns,
                height: per_column * 8,
                why: "ESC * column count out of range",
            },
            5,
        );
    }
    if b.len() < 5 + size {
        return Step::NeedMore;
    }
    Step::Done(
        Command::ColumnImage {
            mode,
            columns,
            data: b[5..5 + size].to_vec(),
        },
        5 + size,
    )
}

fn barcode(b: &[u8], offset: u64) -> Step {
    let Some(&m) = b.get(2) else {
        return Step::NeedMore;
    };
    match m {
        0..=6 => {
            let data = &b[3..];
            match data.iter().position(|x| *x == 0) {
                Some(end) => Step::Done(
                    Command::Barcode {
                        system: m + 65,
                        data: data[..end].to_vec(),
                    },
                    3 + end + 1,
                ),
                None if data.len() > MAX_BARCODE_A => Step::Done(
                    Command::NotDrawn("GS k format A barcode without its NUL"),
                    3,
                ),
                None => Step::NeedMore,
            }
        }
        65..=79 => {
            let Some(&n) = b.get(3) else {
                return Step::NeedMore;
            };
            let n = usize::from(n);
            if b.len() < 4 + n {
                return Step::NeedMore;
            }
            Step::Done(
                Command::Barcode {
                    system: m,
                    data: b[4..4 + n].to_vec(),
                },
                4 + n,
            )
        }
        _ => Step::Bad(
            SimParseError::Garbage {
                offset,
                byte: b[0],
                what: "GS k with unknown barcode system",
            },
            1,
        ),
    }
}

/// `GS ( x pL pH …`: every function carries its own length, so even unknown ones are skipped
/// exactly.
fn gs_paren(b: &[u8]) -> Step {
    if b.len() < 5 {
        return Step::NeedMore;
    }
    let fnc = b[2];
    let len = usize::from(b[3]) | usize::from(b[4]) << 8;
    if b.len() < 5 + len {
        return Step::NeedMore;
    }
    let p = &b[5..5 + len];
    let cmd = match (fnc, p) {
        (b'k', [49, 65, n1, ..]) => Command::Qr(QrCommand::Model(*n1)),
        (b'k', [49, 67, n, ..]) => Command::Qr(QrCommand::ModuleSize(*n)),
        (b'k', [49, 69, n, ..]) => Command::Qr(QrCommand::ErrorLevel(*n)),
        (b'k', [49, 80, 48, data @ ..]) => Command::Qr(QrCommand::Store(data.to_vec())),
        (b'k', [49, 81, ..]) => Command::Qr(QrCommand::Print),
        (b'k', [49, ..]) => Command::Ignored("GS ( k QR setting"),
        (b'k', [48, ..]) => Command::NotDrawn("PDF417 (GS ( k 48)"),
        (b'k', [50, ..]) => Command::NotDrawn("MaxiCode (GS ( k 50)"),
        (b'k', [51 | 52, ..]) => Command::NotDrawn("GS1 DataBar / composite (GS ( k 51/52)"),
        (b'k', [53, ..]) => Command::NotDrawn("Aztec (GS ( k 53)"),
        (b'k', [54, ..]) => Command::NotDrawn("DataMatrix (GS ( k 54)"),
        (b'k', _) => Command::NotDrawn("GS ( k 2D symbol of unknown type"),
        (b'H', [48, 48, d1, d2, d3, d4]) => Command::ProcessId([*d1, *d2, *d3, *d4]),
        (b'H', _) => Command::Ignored("GS ( H response setting"),
        (b'L', [48, 50 | 51, ..]) | (b'L', [48, 112 | 113, ..]) => {
            Command::NotDrawn("GS ( L graphics")
        }
        (b'L', _) => Command::Ignored("GS ( L setting"),
        (b'D' | b'A' | b'C' | b'E' | b'M' | b'N' | b'K' | b'Q', _) => {
            Command::Ignored("GS ( setting")
        }
        _ => Command::NotDrawn("GS ( function the virtual printer does not know"),
    };
    Step::Done(cmd, 5 + len)
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
            b"Hi",
            &[0x0a],
            &[0x1b, b'*', 33, 1, 0, 1, 2, 3],
            &[0x1d, b'(', b'k', 4, 0, 49, 80, 48, b'Q'],
            &[0x1d, b'k', 73, 4, b'{', b'B', b'A', b'1'],
            &[0x1d, b'(', b'H', 6, 0, 48, 48, b'B', b'0', b'0', b'1'],
            &[0x1d, b'r', 1],
            &[0x1d, b'V', b'B', 3],
            &[0x1d, b'V', b'A', 0],
        ]
        .concat();
        let want = vec![
            Command::Init,
            Command::Raster {
                mode: 0,
                width_bytes: 1,
                height: 2,
                data: vec![0xff, 0x81],
            },
            Command::Status(4),
            Command::FeedLines(2),
            Command::Text(b"Hi".to_vec()),
            Command::LineFeed,
            Command::ColumnImage {
                mode: 33,
                columns: 1,
                data: vec![1, 2, 3],
            },
            Command::Qr(QrCommand::Store(b"Q".to_vec())),
            Command::Barcode {
                system: 73,
                data: b"{BA1".to_vec(),
            },
            Command::ProcessId(*b"B001"),
            Command::SensorStatus(1),
            Command::Cut {
                kind: CutKind::Partial,
                feed: 3,
            },
            Command::Cut {
                kind: CutKind::Full,
                feed: 0,
            },
        ];
        for split in 0..stream.len() {
            let mut p = Parser::new();
            let mut cmds: Vec<_> = p.push(&stream[..split]);
            cmds.extend(p.push(&stream[split..]));
            // A text run split across reads arrives as two runs: join them back.
            let mut joined: Vec<Command> = Vec::new();
            for c in cmds.into_iter().map(|c| c.expect("valid stream")) {
                match (joined.last_mut(), c) {
                    (Some(Command::Text(a)), Command::Text(b)) => a.extend(b),
                    (_, c) => joined.push(c),
                }
            }
            assert_eq!(joined, want, "split at {split}");
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
}
