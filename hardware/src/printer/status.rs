//! The printer's state as the kiosk and the technician see it, decoded from the four ESC/POS
//! real-time status bytes (`DLE EOT 1`, `2`, `3`, `4`, Epson's bit layout), with a message in
//! plain words for the citizen and for the technician for every state.

use booth_core::domain::Language;

/// Every real-time status byte has the fixed pattern `0xx1xx10`: bits 1 and 4 set, bits 0 and
/// 7 clear. A byte without it did not come from an ESC/POS printer.
pub const STATUS_FIXED_BITS: u8 = 0b0001_0010;
const STATUS_FIXED_MASK: u8 = 0b1001_0011;

/// `DLE EOT 1` bit 3: the printer is offline.
pub const PRINTER_OFFLINE: u8 = 0x08;
/// `DLE EOT 2` bit 2: the cover is open.
pub const OFFLINE_COVER_OPEN: u8 = 0x04;
/// `DLE EOT 2` bit 5: printing stopped because the paper ran out.
pub const OFFLINE_PAPER_END: u8 = 0x20;
/// `DLE EOT 2` bit 6: an error occurred.
pub const OFFLINE_ERROR: u8 = 0x40;
/// `DLE EOT 2` bit 3: paper is being fed with the FEED button.
pub const OFFLINE_FEED_BUTTON: u8 = 0x08;
/// `DLE EOT 3` bit 3: the autocutter failed (usually jammed paper).
pub const ERROR_CUTTER: u8 = 0x08;
/// `DLE EOT 3` bit 5: an error the printer cannot recover from (hardware fault).
pub const ERROR_UNRECOVERABLE: u8 = 0x20;
/// `DLE EOT 3` bit 6: an error that clears by itself (print head too hot).
pub const ERROR_AUTO_RECOVERABLE: u8 = 0x40;
/// `DLE EOT 4` bits 2-3: the paper-near-end sensor sees little paper.
pub const ROLL_NEAR_END: u8 = 0x0C;
/// `DLE EOT 4` bits 5-6: the paper-end sensor sees no paper.
pub const ROLL_PAPER_END: u8 = 0x60;

/// What the printer can do right now. The kiosk checks it before the citizen starts recording
/// and before each print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterStatus {
    /// Online, paper present, cover closed.
    Ready,
    /// Prints, but the roll is nearly finished: the technician should replace it soon.
    PaperNearEnd,
    /// No paper: nothing will print.
    PaperOut,
    /// The cover is open: nothing will print.
    CoverOpen,
    /// The printer reports itself offline for another reason (error, cutter jam).
    Offline {
        /// Raw status bytes for the technician.
        detail: String,
    },
    /// The printer could not be reached or did not answer like an ESC/POS printer.
    NotConnected {
        /// What failed, with the address: for the technician and the log.
        reason: String,
    },
}

/// The answers to `DLE EOT 1`, `2`, `3` and `4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusBytes {
    /// `DLE EOT 1`: printer status.
    pub printer: u8,
    /// `DLE EOT 2`: offline cause.
    pub offline: u8,
    /// `DLE EOT 3`: error cause.
    pub error: u8,
    /// `DLE EOT 4`: roll paper sensors.
    pub roll: u8,
}

impl StatusBytes {
    /// The state these bytes describe. Cover open wins over paper out because closing the cover
    /// is the first thing to do; a byte without the fixed bit pattern yields
    /// [`PrinterStatus::NotConnected`]; an error is [`PrinterStatus::Offline`] with its cause in
    /// words.
    pub fn decode(self) -> PrinterStatus {
        let StatusBytes {
            printer,
            offline,
            error,
            roll,
        } = self;
        for (n, b) in [(1, printer), (2, offline), (3, error), (4, roll)] {
            if b & STATUS_FIXED_MASK != STATUS_FIXED_BITS {
                return PrinterStatus::NotConnected {
                    reason: format!(
                        "the printer's answer 0x{b:02x} to status request DLE EOT {n} is not an \
                         ESC/POS status byte: is this an ESC/POS receipt printer, and is a serial \
                         line set to the printer's baud rate?"
                    ),
                };
            }
        }
        if offline & OFFLINE_COVER_OPEN != 0 {
            PrinterStatus::CoverOpen
        } else if offline & OFFLINE_PAPER_END != 0 || roll & ROLL_PAPER_END != 0 {
            PrinterStatus::PaperOut
        } else if printer & PRINTER_OFFLINE != 0 || offline & OFFLINE_ERROR != 0 {
            let cause = if error & ERROR_CUTTER != 0 {
                "the cutter is jammed: open the cover, remove the stuck paper, close the cover"
            } else if error & ERROR_UNRECOVERABLE != 0 {
                "hardware fault the printer cannot recover from: switch it off and on; if it \
                 stays, replace the printer"
            } else if error & ERROR_AUTO_RECOVERABLE != 0 {
                "the print head is too hot: the printer waits until it cools down (a minute)"
            } else if offline & OFFLINE_FEED_BUTTON != 0 {
                "someone holds the FEED button"
            } else {
                "the printer reports itself offline without a cause: switch it off and on"
            };
            PrinterStatus::Offline {
                detail: format!(
                    "{cause} (status bytes 0x{printer:02x} 0x{offline:02x} 0x{error:02x} \
                     0x{roll:02x})"
                ),
            }
        } else if roll & ROLL_NEAR_END != 0 {
            PrinterStatus::PaperNearEnd
        } else {
            PrinterStatus::Ready
        }
    }
}

impl PrinterStatus {
    /// Decodes the answers to `DLE EOT 1`, `DLE EOT 2` and `DLE EOT 4` (no error byte: an error
    /// is reported without its cause). See [`StatusBytes::decode`].
    pub fn from_status_bytes(printer: u8, offline: u8, roll: u8) -> PrinterStatus {
        StatusBytes {
            printer,
            offline,
            error: STATUS_FIXED_BITS,
            roll,
        }
        .decode()
    }

    /// Whether a receipt will print now.
    pub fn can_print(&self) -> bool {
        matches!(self, PrinterStatus::Ready | PrinterStatus::PaperNearEnd)
    }

    /// Translation key of the citizen-facing message: `printer-ready`, `printer-ready` for a
    /// near-empty roll (the citizen need not know), or `printer-unavailable`.
    pub fn message_key(&self) -> &'static str {
        if self.can_print() {
            "printer-ready"
        } else {
            "printer-unavailable"
        }
    }

    /// The citizen-facing message in `lang`, in plain words for every state (the kiosk may use
    /// its own translations by [`PrinterStatus::message_key`]; these are the reference texts). A
    /// citizen cannot fix a printer: every problem says the code stays on screen and to tell
    /// the staff.
    pub fn citizen_message(&self, lang: Language) -> &'static str {
        use Language::*;
        use PrinterStatus::*;
        match (self, lang) {
            (Ready | PaperNearEnd, Kk) => "Түбіртек басып шығарылады.",
            (Ready | PaperNearEnd, Ru) => "Квитанция будет напечатана.",
            (Ready | PaperNearEnd, En) => "A receipt will be printed.",
            (PaperOut, Kk) => {
                "Принтерде қағаз таусылды. Кодыңыз экранда көрсетіледі — оны жазып алыңыз және \
                 қызметкерге айтыңыз."
            }
            (PaperOut, Ru) => {
                "В принтере закончилась бумага. Ваш код будет показан на экране — запишите его и \
                 сообщите сотруднику."
            }
            (PaperOut, En) => {
                "The printer is out of paper. Your code will be shown on screen — write it down \
                 and tell a member of staff."
            }
            (CoverOpen | Offline { .. }, Kk) => {
                "Принтер жұмыс істемей тұр. Кодыңыз экранда көрсетіледі — оны жазып алыңыз және \
                 қызметкерге айтыңыз."
            }
            (CoverOpen | Offline { .. }, Ru) => {
                "Принтер сейчас не печатает. Ваш код будет показан на экране — запишите его и \
                 сообщите сотруднику."
            }
            (CoverOpen | Offline { .. }, En) => {
                "The printer cannot print right now. Your code will be shown on screen — write it \
                 down and tell a member of staff."
            }
            (NotConnected { .. }, Kk) => {
                "Түбіртек принтері қолжетімсіз. Кодыңыз экранда көрсетіледі — оны жазып алыңыз \
                 және қызметкерге айтыңыз."
            }
            (NotConnected { .. }, Ru) => {
                "Принтер квитанций недоступен. Ваш код будет показан на экране — запишите его и \
                 сообщите сотруднику."
            }
            (NotConnected { .. }, En) => {
                "The receipt printer is unavailable. Your code will be shown on screen — write it \
                 down and tell a member of staff."
            }
        }
    }

    /// Exact cause and what to do, in plain words, for the technician (service mode,
    /// `booth-diag`, logs). Holds no personal data.
    pub fn technician_detail(&self) -> String {
        match self {
            PrinterStatus::Ready => "ready".into(),
            PrinterStatus::PaperNearEnd => {
                "ready, but the paper roll is nearly finished: replace it soon".into()
            }
            PrinterStatus::PaperOut => "out of paper: load a new roll and close the cover".into(),
            PrinterStatus::CoverOpen => "the cover is open: close the printer cover".into(),
            PrinterStatus::Offline { detail } => format!("cannot print: {detail}"),
            PrinterStatus::NotConnected { reason } => reason.clone(),
        }
    }

    /// Short stable name for heartbeats and logs: `ready`, `paper_near_end`, `paper_out`,
    /// `cover_open`, `offline`, `not_connected`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PrinterStatus::Ready => "ready",
            PrinterStatus::PaperNearEnd => "paper_near_end",
            PrinterStatus::PaperOut => "paper_out",
            PrinterStatus::CoverOpen => "cover_open",
            PrinterStatus::Offline { .. } => "offline",
            PrinterStatus::NotConnected { .. } => "not_connected",
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    const OK: u8 = STATUS_FIXED_BITS;

    #[test]
    fn decodes_epson_bits() {
        assert_eq!(
            PrinterStatus::from_status_bytes(OK, OK, OK),
            PrinterStatus::Ready
        );
        assert_eq!(
            PrinterStatus::from_status_bytes(OK, OK, OK | ROLL_NEAR_END),
            PrinterStatus::PaperNearEnd
        );
        assert_eq!(
            PrinterStatus::from_status_bytes(
                OK | PRINTER_OFFLINE,
                OK | OFFLINE_PAPER_END,
                OK | ROLL_PAPER_END
            ),
            PrinterStatus::PaperOut
        );
        assert_eq!(
            PrinterStatus::from_status_bytes(
                OK | PRINTER_OFFLINE,
                OK | OFFLINE_COVER_OPEN | OFFLINE_PAPER_END,
                OK
            ),
            PrinterStatus::CoverOpen
        );
        assert!(matches!(
            PrinterStatus::from_status_bytes(OK | PRINTER_OFFLINE, OK | OFFLINE_ERROR, OK),
            PrinterStatus::Offline { .. }
        ));
        assert!(matches!(
            PrinterStatus::from_status_bytes(0x00, OK, OK),
            PrinterStatus::NotConnected { .. }
        ));
        match (StatusBytes {
            printer: OK | PRINTER_OFFLINE,
            offline: OK | OFFLINE_ERROR,
            error: OK | ERROR_CUTTER,
            roll: OK,
        })
        .decode()
        {
            PrinterStatus::Offline { detail } => assert!(detail.contains("cutter is jammed")),
            other => panic!("a jammed cutter must read as offline: {other:?}"),
        }
        assert!(matches!(
            PrinterStatus::from_status_bytes(OK, b'A', OK),
            PrinterStatus::NotConnected { .. }
        ));
    }

    #[test]
    fn citizen_sees_unavailable_only_when_it_cannot_print() {
        assert_eq!(PrinterStatus::PaperNearEnd.message_key(), "printer-ready");
        assert_eq!(
            PrinterStatus::CoverOpen.message_key(),
            "printer-unavailable"
        );
        assert!(
            PrinterStatus::PaperOut
                .citizen_message(Language::Kk)
                .contains("жазып алыңыз")
        );
        assert!(
            PrinterStatus::CoverOpen
                .technician_detail()
                .contains("cover")
        );
    }

    #[test]
    fn every_state_has_plain_words_without_debug_syntax() {
        let states = [
            PrinterStatus::Ready,
            PrinterStatus::PaperNearEnd,
            PrinterStatus::PaperOut,
            PrinterStatus::CoverOpen,
            PrinterStatus::Offline {
                detail: "the print head is too hot".into(),
            },
            PrinterStatus::NotConnected {
                reason: "the receipt printer on tcp 10.0.0.5:9100 does not answer".into(),
            },
        ];
        for s in &states {
            let t = s.technician_detail();
            assert!(!t.contains('{') && !t.contains("::"), "{t}");
            for lang in Language::ALL {
                let c = s.citizen_message(lang);
                assert!(c.ends_with('.'), "{c}");
                if !s.can_print() {
                    assert!(c.contains("—"), "a citizen is told what to do: {c}");
                }
            }
        }
    }
}
