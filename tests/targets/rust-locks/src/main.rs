//! rust-locks: a std Mutex held by a sleeping thread while another thread
//! waits for it, and a thread burning CPU in a generic function, so that
//! wallprof's demangling and lock attribution can be checked against a
//! known truth. Prints one line and exits 0.

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

struct Ledger {
    entries: Vec<u64>,
}

impl Ledger {
    #[inline(never)]
    fn settle(&mut self, hold: Duration) {
        thread::sleep(hold);
        self.entries.push(1);
    }
}

#[inline(never)]
fn checksum<T: Copy + Into<u64>>(items: &[T], until: Instant) -> u64 {
    let mut acc = 0u64;
    while Instant::now() < until {
        for &x in items {
            acc = acc.wrapping_mul(31).wrapping_add(x.into());
        }
    }
    acc
}

#[inline(never)]
fn wait_for_ledger(ledger: &Mutex<Ledger>) -> usize {
    let guard = ledger.lock().unwrap();
    guard.entries.len()
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let hold = Duration::from_secs_f64(secs);
    let ledger = Arc::new(Mutex::new(Ledger { entries: Vec::new() }));
    let held = Arc::new(Barrier::new(2));

    let (l, b) = (Arc::clone(&ledger), Arc::clone(&held));
    let holder = thread::Builder::new().name("holder".into()).spawn(move || {
        let mut g = l.lock().unwrap();
        b.wait();
        g.settle(hold);
    }).unwrap();

    let (l, b) = (Arc::clone(&ledger), Arc::clone(&held));
    let waiter = thread::Builder::new().name("waiter".into()).spawn(move || {
        b.wait();
        wait_for_ledger(&l)
    }).unwrap();

    let until = Instant::now() + hold;
    let cruncher = thread::Builder::new().name("cruncher".into()).spawn(move || {
        let data: Vec<u32> = (0..4096).collect();
        black_box(checksum(&data, until))
    }).unwrap();

    holder.join().unwrap();
    let n = waiter.join().unwrap();
    cruncher.join().unwrap();
    println!("rust-locks: {} entries", n);
}
