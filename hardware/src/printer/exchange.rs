//! The conversation with a printer on one connection: status queries matched to their answers,
//! and the printer's own confirmation that a job was printed.
//!
//! What a printer may send us, and how each is told apart (Epson's bit layouts):
//!
//! | bytes | what | pattern |
//! |---|---|---|
//! | 1 | answer to `DLE EOT n` | `0xx1xx10` |
//! | 4 | automatic status (ASB), if someone enabled it | first byte `0xx1xx00` |
//! | 1 | answer to `GS r 1` | `0xx0xxxx` |
//! | 7 | answer to `GS ( H` (process ID) | `37 22 d1 d2 d3 d4 00` |
//!
//! **Why matching is needed.** An Epson TM printer answers `DLE EOT n` wherever those three
//! bytes arrive, even inside raster data, and answers at once. Our rasters have such pairs
//! broken (`commands::break_realtime_sequences`), but another producer's job or a printer that
//! sends ASB can still leave bytes nobody asked for. So:
//!
//! 1. before any query, pending bytes are drained;
//! 2. after a job, the driver waits for the job's own confirmation: the process ID response (sent
//!    by the printer when everything before it is printed and cut) or, on printers without
//!    `GS ( H`, the answer to `GS r 1` (sent when everything before it is processed). Every
//!    status byte the job provoked was sent before that confirmation, so the status read after it
//!    is the printer's real state;
//! 3. while waiting, the driver polls `DLE EOT` (only for jobs that provoke no status bytes
//!    themselves, so each answer belongs to a poll) and gives up as soon as the printer reports
//!    cover open, paper out or an error: that receipt was not printed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::PrinterError;
use super::commands::{
    PAPER_SENSOR_REQUEST, PROCESS_ID_RESPONSE, dle_eot, process_id_request, status_requests_in,
};
use super::status::{PrinterStatus, StatusBytes};
use super::transport::{Connection, STATUS_TIMEOUT, WRITE_TIMEOUT};

/// How often the printer's status is polled while waiting for a job's confirmation.
pub const POLL_INTERVAL: Duration = Duration::from_millis(400);

/// The longest a job may take from the last byte sent to its confirmation: 5 s plus 1 s per
/// 16 KiB (a TM-T20 prints about 150 mm/s, i.e. 1 200 dot rows = 86 KiB of 80 mm raster per
/// second; the margin covers slow USB/serial links and clones).
pub fn completion_timeout(job_bytes: usize) -> Duration {
    Duration::from_secs(5) + Duration::from_millis(job_bytes as u64 / 16)
}

/// One thing the printer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Answer to a `DLE EOT n`.
    Status(u8),
    /// Answer to `GS r 1`.
    PaperSensor(u8),
    /// Answer to `GS ( H`: the process ID.
    ProcessId([u8; 4]),
    /// Automatic status back (4 bytes).
    AutoStatus([u8; 4]),
    /// A byte that fits none of the above.
    Unknown(u8),
}

/// Splits the printer's byte stream into [`Inbound`] items; bytes may arrive in any split.
#[derive(Debug, Default)]
pub struct InboundParser {
    buf: Vec<u8>,
}

impl InboundParser {
    /// An empty parser.
    pub fn new() -> InboundParser {
        InboundParser::default()
    }

    /// Appends `data`; returns every complete item, in order.
    pub fn push(&mut self, data: &[u8]) -> Vec<Inbound> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(&b) = self.buf.get(pos) {
            let rest = &self.buf[pos..];
            let (item, used) = if b == PROCESS_ID_RESPONSE[0] {
                match rest {
                    [_, 0x22, d1, d2, d3, d4, 0, ..]
                        if [*d1, *d2, *d3, *d4]
                            .iter()
                            .all(|c| (0x20..=0x7e).contains(c)) =>
                    {
                        (Inbound::ProcessId([*d1, *d2, *d3, *d4]), 7)
                    }
                    // Still a possible process ID: wait for the rest.
                    _ if rest.len() < 7
                        && rest.get(1).is_none_or(|c| *c == 0x22)
                        && rest[2.min(rest.len())..]
                            .iter()
                            .all(|c| (0x20..=0x7e).contains(c)) =>
                    {
                        break;
                    }
                    _ => (Inbound::Unknown(b), 1),
                }
            } else if b & 0x93 == 0x12 {
                (Inbound::Status(b), 1)
            } else if b & 0x93 == 0x10 {
                if rest.len() < 4 {
                    break;
                }
                (Inbound::AutoStatus([rest[0], rest[1], rest[2], rest[3]]), 4)
            } else if b & 0x90 == 0 {
                (Inbound::PaperSensor(b), 1)
            } else {
                (Inbound::Unknown(b), 1)
            };
            out.push(item);
            pos += used;
        }
        self.buf.drain(..pos);
        out
    }
}

/// How a printer confirms that a job was printed, found once per printer by [`Exchange::probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Epson `GS ( H` process ID: answered after the job is printed and cut (TM-T20 and later).
    ProcessId,
    /// `GS r 1`: answered after the job is processed (printers without `GS ( H`): weaker, since
    /// processed is not yet printed, but a stopped printer never answers it.
    PaperSensor,
}

impl Completion {
    /// Plain words for the technician.
    pub fn describe(self) -> &'static str {
        match self {
            Completion::ProcessId => {
                "confirms each receipt after the cut (Epson process ID, GS ( H)"
            }
            Completion::PaperSensor => {
                "confirms each receipt when processed (GS r 1; no GS ( H on this model)"
            }
        }
    }
}

/// How a job that counts as printed was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The printer sent the job's process ID after printing and cutting it.
    ProcessId,
    /// The printer answered `GS r 1` after the job.
    PaperSensor,
    /// Written to a file transport: nothing can confirm more than that the bytes are on disk.
    Spooled,
}

impl Confirmation {
    /// Plain words for the technician and logs.
    pub fn describe(self) -> &'static str {
        match self {
            Confirmation::ProcessId => "printed and cut (confirmed by the printer)",
            Confirmation::PaperSensor => "processed by the printer (confirmed by GS r 1)",
            Confirmation::Spooled => "written to the spool file (a file cannot confirm printing)",
        }
    }
}

/// A connection with its parser and the items received but not consumed yet.
#[derive(Debug)]
pub struct Exchange<'c> {
    conn: &'c mut Connection,
    parser: InboundParser,
    pending: VecDeque<Inbound>,
}

impl<'c> Exchange<'c> {
    /// Talks over `conn` (which must be readable: not a file).
    pub fn new(conn: &'c mut Connection) -> Exchange<'c> {
        Exchange {
            conn,
            parser: InboundParser::new(),
            pending: VecDeque::new(),
        }
    }

    fn target(&self) -> String {
        self.conn.target().to_owned()
    }

    /// The next item, waiting until `deadline`; `None` when nothing came by then.
    fn next(&mut self, deadline: Instant) -> Result<Option<Inbound>, PrinterError> {
        let mut buf = [0u8; 512];
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let n = self.conn.read_some(&mut buf, left)?;
            self.pending.extend(self.parser.push(&buf[..n]));
        }
    }

    /// Drops every byte received so far and anything still arriving (see [`Connection::drain`]).
    pub fn drain(&mut self) -> Result<(), PrinterError> {
        let dropped = self.pending.len();
        self.pending.clear();
        self.parser = InboundParser::new();
        self.conn.drain()?;
        if dropped > 0 {
            tracing::debug!(items = dropped, "dropped unrequested printer answers");
        }
        Ok(())
    }

    /// Drains, asks `DLE EOT 1, 2, 3, 4` and decodes the four answers (matched in order; anything
    /// that is not a status byte is skipped). A printer that does not answer within
    /// [`STATUS_TIMEOUT`] is [`PrinterError::NoAnswer`].
    pub fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        self.drain()?;
        let mut query = Vec::with_capacity(12);
        for n in [1, 2, 3, 4] {
            query.extend_from_slice(&dle_eot(n));
        }
        self.conn.send(&query, STATUS_TIMEOUT)?;
        let deadline = Instant::now() + STATUS_TIMEOUT;
        let mut got = Vec::with_capacity(4);
        while got.len() < 4 {
            match self.next(deadline)? {
                Some(Inbound::Status(b)) => got.push(b),
                Some(other) => tracing::debug!(?other, "skipped while reading status"),
                None if got.is_empty() => {
                    return Err(PrinterError::NoAnswer {
                        target: self.target(),
                        waited: STATUS_TIMEOUT,
                    });
                }
                None => {
                    return Ok(PrinterStatus::NotConnected {
                        reason: format!(
                            "the printer on {} answered {} of 4 status requests: not an ESC/POS \
                             printer, or a broken cable",
                            self.target(),
                            got.len()
                        ),
                    });
                }
            }
        }
        Ok(StatusBytes {
            printer: got[0],
            offline: got[1],
            error: got[2],
            roll: got[3],
        }
        .decode())
    }

    /// Finds how this printer confirms jobs: sends `GS ( H` with a probe ID and `GS r 1`, both
    /// answered at once by an idle printer, in that order. Call only on a printer that reported
    /// itself ready (a stopped printer answers neither).
    pub fn probe(&mut self, id: [u8; 4]) -> Result<Completion, PrinterError> {
        self.drain()?;
        let mut req = process_id_request(id).to_vec();
        req.extend_from_slice(&PAPER_SENSOR_REQUEST);
        self.conn.send(&req, STATUS_TIMEOUT)?;
        let deadline = Instant::now() + STATUS_TIMEOUT;
        let mut saw_id = false;
        loop {
            match self.next(deadline)? {
                Some(Inbound::ProcessId(got)) if got == id => saw_id = true,
                Some(Inbound::PaperSensor(_)) => break,
                Some(other) => tracing::debug!(?other, "skipped while probing"),
                None if saw_id => break,
                None => {
                    return Err(PrinterError::NoConfirmation {
                        target: self.target(),
                    });
                }
            }
        }
        Ok(if saw_id {
            Completion::ProcessId
        } else {
            Completion::PaperSensor
        })
    }

    /// Sends `job` followed by the confirmation request for `completion` (process ID `id`) and
    /// waits for the confirmation (see the module doc). `Ok` only when the printer confirmed the
    /// job; a printer that stops meanwhile is [`PrinterError::NotReady`], one that stays silent
    /// is [`PrinterError::Unconfirmed`].
    pub fn print_confirmed(
        &mut self,
        job: &[u8],
        completion: Completion,
        id: [u8; 4],
    ) -> Result<Confirmation, PrinterError> {
        self.drain()?;
        let mut bytes = Vec::with_capacity(job.len() + 11);
        bytes.extend_from_slice(job);
        match completion {
            Completion::ProcessId => bytes.extend_from_slice(&process_id_request(id)),
            Completion::PaperSensor => bytes.extend_from_slice(&PAPER_SENSOR_REQUEST),
        }
        // Status bytes the job itself may provoke on a printer that answers inside data; they
        // all arrive before the confirmation, ahead of any poll's answers.
        let mut unrequested = status_requests_in(&bytes);
        let can_poll = unrequested == 0;
        self.conn.send(&bytes, WRITE_TIMEOUT)?;

        let started = Instant::now();
        let deadline = started + completion_timeout(bytes.len());
        let mut next_poll = started + POLL_INTERVAL;
        let mut due = 0usize; // poll answers still expected
        let mut answers = Vec::with_capacity(4);
        loop {
            match self.next(deadline.min(next_poll))? {
                Some(Inbound::ProcessId(got)) if completion == Completion::ProcessId => {
                    if got == id {
                        return Ok(Confirmation::ProcessId);
                    }
                    tracing::debug!(?got, "process ID of an earlier job");
                }
                Some(Inbound::PaperSensor(_)) if completion == Completion::PaperSensor => {
                    return Ok(Confirmation::PaperSensor);
                }
                Some(Inbound::Status(b)) if unrequested > 0 => {
                    unrequested -= 1;
                    tracing::trace!(byte = b, "status byte provoked by the job's data");
                }
                Some(Inbound::Status(b)) if due > 0 => {
                    due -= 1;
                    answers.push(b);
                    if answers.len() == 4 {
                        let status = StatusBytes {
                            printer: answers[0],
                            offline: answers[1],
                            error: answers[2],
                            roll: answers[3],
                        }
                        .decode();
                        answers.clear();
                        if !status.can_print() {
                            return Err(PrinterError::NotReady(status));
                        }
                    }
                }
                Some(other) => tracing::debug!(?other, "skipped while waiting for the job"),
                None if Instant::now() >= deadline => break,
                None => {
                    if can_poll && due == 0 {
                        let mut query = Vec::with_capacity(12);
                        for n in [1, 2, 3, 4] {
                            query.extend_from_slice(&dle_eot(n));
                        }
                        self.conn.send(&query, STATUS_TIMEOUT)?;
                        due = 4;
                    }
                    next_poll = Instant::now() + POLL_INTERVAL;
                }
            }
        }
        // No confirmation: say why if the printer knows.
        let status = self.status()?;
        if !status.can_print() {
            return Err(PrinterError::NotReady(status));
        }
        Err(PrinterError::Unconfirmed {
            target: self.target(),
            waited: started.elapsed(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_answer_in_any_split() {
        let stream = [
            0x12, // DLE EOT answer
            0x37, 0x22, b'B', b'0', b'0', b'7', 0x00, // process ID
            0x03, // GS r 1: near end
            0x10, 0x00, 0x00, 0x0f, // ASB
            0x16, // DLE EOT 2: cover open
            0x37, 0x80, // not a process ID
        ];
        let want = vec![
            Inbound::Status(0x12),
            Inbound::ProcessId(*b"B007"),
            Inbound::PaperSensor(0x03),
            Inbound::AutoStatus([0x10, 0, 0, 0x0f]),
            Inbound::Status(0x16),
            Inbound::Unknown(0x37),
            Inbound::Unknown(0x80),
        ];
        for split in 0..=stream.len() {
            let mut p = InboundParser::new();
            let mut got = p.push(&stream[..split]);
            got.extend(p.push(&stream[split..]));
            assert_eq!(got, want, "split at {split}");
        }
    }

    #[test]
    fn completion_timeout_grows_with_the_job() {
        assert_eq!(completion_timeout(0), Duration::from_secs(5));
        assert!(completion_timeout(160 * 1024) > Duration::from_secs(14));
        assert!(completion_timeout(160 * 1024) < Duration::from_secs(16));
    }
}
