//! Property tests of the virtual printer's ESC/POS parser and of the driver's parser of printer
//! answers: random byte streams, split at random points, and streams stitched from real command
//! fragments (text, QR, barcodes, column images, rasters, confirmations) never panic them;
//! every answer the virtual printer sends is one the driver recognises; a page on which bytes
//! were refused says so in its name.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use booth_hardware::printer::exchange::{Inbound, InboundParser};
use booth_hardware::printer::sim::{Parser, Session, SimState};
use proptest::prelude::*;

/// Fragments that steer random streams into the parser's deeper branches.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(vec![0x1b, b'@']),
        Just(vec![0x1d, b'V', b'A', 0]),
        Just(vec![0x10, 0x04, 1]),
        (
            0u8..4,
            0u8..4,
            0u8..3,
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(m, w, h, data)| {
                let mut v = vec![0x1d, b'v', b'0', m, w, 0, h, 0];
                v.extend(data);
                v
            }),
        (any::<u8>(), any::<u8>()).prop_map(|(l, h)| vec![0x1d, b'(', b'L', l, h]),
        any::<u8>().prop_map(|n| vec![0x1b, b'd', n]),
        any::<u8>().prop_map(|m| vec![0x1d, b'V', m]),
        proptest::collection::vec(0x20u8..0xff, 0..60),
        (any::<u8>(), any::<u8>()).prop_map(|(c, n)| vec![0x1b, c, n]),
        (any::<u8>(), any::<u8>()).prop_map(|(c, n)| vec![0x1d, c, n]),
        any::<u8>().prop_map(|n| vec![0x1d, b'!', n]),
        any::<u8>().prop_map(|n| vec![0x1b, b't', n]),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|d| {
            let mut v = vec![0x1d, b'(', b'k', (d.len() + 3) as u8, 0, 49, 80, 48];
            v.extend(d);
            v.extend([0x1d, b'(', b'k', 3, 0, 49, 81, 48]);
            v
        }),
        (0u8..80, proptest::collection::vec(any::<u8>(), 0..30)).prop_map(|(m, d)| {
            let mut v = vec![0x1d, b'k', m, d.len() as u8];
            v.extend(d);
            v
        }),
        (
            prop_oneof![Just(0u8), Just(1), Just(32), Just(33), any::<u8>()],
            0u8..8,
            proptest::collection::vec(any::<u8>(), 0..30)
        )
            .prop_map(|(m, n, d)| {
                let mut v = vec![0x1b, b'*', m, n, 0];
                v.extend(d);
                v
            }),
        proptest::collection::vec(0x20u8..0x7f, 4).prop_map(|id| {
            let mut v = vec![0x1d, b'(', b'H', 6, 0, 48, 48];
            v.extend(id);
            v
        }),
        any::<u8>().prop_map(|n| vec![0x1d, b'r', n]),
        Just(vec![0x0a]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_parser(data in proptest::collection::vec(any::<u8>(), 0..4096), split in any::<prop::sample::Index>()) {
        let mut p = Parser::new();
        let at = split.index(data.len() + 1);
        let mut n = p.push(&data[..at]).len();
        n += p.push(&data[at..]).len();
        prop_assert!(n <= data.len());
        prop_assert!(p.pending() <= data.len());
    }
}

proptest! {
    // Fewer cases: each may encode PNGs, which is slow in debug builds on a 2-core CI machine.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn stitched_streams_never_panic_a_session(parts in proptest::collection::vec(fragment(), 0..40), width in prop_oneof![Just(384u32), Just(576u32)], realtime_in_data in any::<bool>()) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let state: Arc<SimState> = SimState::new(width);
        state.set_realtime_in_data(realtime_in_data);
        let mut session = Session::new(state.clone(), dir.path());
        let mut answers = InboundParser::new();
        for part in &parts {
            for item in answers.push(&session.receive(part)) {
                prop_assert!(!matches!(item, Inbound::Unknown(_)), "the driver recognises every answer: {:?}", item);
            }
        }
        session.finish();
        for page in state.page_reports() {
            let img = image::open(&page.path).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(img.width(), width);
            let name = page.path.to_string_lossy().into_owned();
            prop_assert!(name.contains(page.cut.as_str()), "{}", name);
            prop_assert_eq!(
                name.contains("-errors"),
                page.notes.errors > 0 || !page.notes.not_drawn.is_empty(),
                "{}", name
            );
        }
    }

    #[test]
    fn random_answers_never_panic_the_driver(data in proptest::collection::vec(any::<u8>(), 0..512), split in any::<prop::sample::Index>()) {
        let mut p = InboundParser::new();
        let at = split.index(data.len() + 1);
        let n = p.push(&data[..at]).len() + p.push(&data[at..]).len();
        prop_assert!(n <= data.len());
    }
}
