//! The last N rendered receipts, kept in memory for "print again" (kiosk) and reprint of the last
//! N (service mode). Holds the finished ESC/POS job, so a reprint shows exactly what the first
//! print showed and nothing beyond it. Memory only: a reboot forgets them, the code stays in the
//! citizen's hands and the registration number in the store.

use std::collections::VecDeque;
use std::sync::Arc;

use booth_core::code::RegistrationNumber;

/// One kept receipt.
#[derive(Debug, Clone)]
pub struct KeptReceipt {
    /// Registration number (safe to show in service mode: it is on the receipt and in logs).
    pub registration_number: RegistrationNumber,
    /// The complete ESC/POS job.
    pub job: Arc<Vec<u8>>,
    /// Whether the last attempt reached the printer and the printer reported no problem.
    pub printed: bool,
}

/// A bounded queue of receipts, newest last; pushing beyond capacity drops the oldest.
#[derive(Debug, Clone)]
pub struct ReprintQueue {
    capacity: usize,
    entries: VecDeque<KeptReceipt>,
}

impl ReprintQueue {
    /// A queue keeping at most `capacity` receipts (0 keeps none).
    pub fn new(capacity: usize) -> ReprintQueue {
        ReprintQueue {
            capacity,
            entries: VecDeque::with_capacity(capacity),
        }
    }

    /// Keeps a receipt, replacing an older entry with the same registration number.
    pub fn keep(&mut self, receipt: KeptReceipt) {
        if self.capacity == 0 {
            return;
        }
        self.entries
            .retain(|e| e.registration_number != receipt.registration_number);
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(receipt);
    }

    /// Marks a kept receipt printed or not.
    pub fn mark(&mut self, regno: &RegistrationNumber, printed: bool) {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| &e.registration_number == regno)
        {
            e.printed = printed;
        }
    }

    /// The kept receipt with this registration number.
    pub fn get(&self, regno: &RegistrationNumber) -> Option<&KeptReceipt> {
        self.entries
            .iter()
            .find(|e| &e.registration_number == regno)
    }

    /// The newest kept receipt.
    pub fn last(&self) -> Option<&KeptReceipt> {
        self.entries.back()
    }

    /// Kept receipts, newest first.
    pub fn list(&self) -> impl Iterator<Item = &KeptReceipt> {
        self.entries.iter().rev()
    }

    /// Number of kept receipts.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kept(seq: u32) -> KeptReceipt {
        KeptReceipt {
            registration_number: RegistrationNumber::new("ALM01", 1, 2026, seq).expect("valid"),
            job: Arc::new(vec![seq as u8]),
            printed: false,
        }
    }

    #[test]
    fn keeps_the_last_n_newest_first() {
        let mut q = ReprintQueue::new(2);
        for s in 1..=3 {
            q.keep(kept(s));
        }
        let seqs: Vec<u32> = q.list().map(|e| e.registration_number.seq()).collect();
        assert_eq!(seqs, vec![3, 2]);
        q.keep(kept(2));
        assert_eq!(q.len(), 2);
        assert_eq!(q.last().map(|e| e.registration_number.seq()), Some(2));
        q.mark(&kept(3).registration_number, true);
        assert_eq!(
            q.get(&kept(3).registration_number).map(|e| e.printed),
            Some(true)
        );
        let mut none = ReprintQueue::new(0);
        none.keep(kept(1));
        assert!(none.is_empty());
    }
}
