//! Decoding allocates per message, never per prefix: the zero-copy view
//! allocates nothing, and the owned decoder allocates the same number of
//! times for 50 prefixes as for 500.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
// A counting global allocator needs `unsafe impl GlobalAlloc`; it only
// forwards to the system allocator. This is the one place unsafe is allowed.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mdc_benches::{evpn_context, evpn_update, ipv4_update, ipv6_update};
use mdc_bgp::SessionContext;
use mdc_bgp::update::{Update, UpdateView};

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not count each other.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

#[test]
fn view_iteration_allocates_nothing() {
    let msg = ipv4_update(500);
    let (allocs, n) = count(|| {
        let view = UpdateView::from_message(&msg).unwrap();
        let mut n = 0;
        for p in view.nlri(false) {
            p.unwrap();
            n += 1;
        }
        for a in view.attributes() {
            a.unwrap();
        }
        n
    });
    assert_eq!(n, 500);
    assert_eq!(allocs, 0);
}

#[test]
fn owned_decode_allocations_do_not_grow_with_prefixes() {
    let ctx = SessionContext::modern();
    for (small, large) in [(ipv4_update(50), ipv4_update(500)), (ipv6_update(20), ipv6_update(200))] {
        let (a_small, d) = count(|| Update::decode_message(&small, &ctx).unwrap());
        drop(d);
        let (a_large, d) = count(|| Update::decode_message(&large, &ctx).unwrap());
        drop(d);
        assert_eq!(a_small, a_large, "allocations must not depend on the number of prefixes");
        assert!(a_large < 16, "{a_large} allocations for one UPDATE");
    }
}

#[test]
fn evpn_decode_allocates_per_attribute_not_per_route() {
    let ctx = evpn_context();
    let (small, large) = (evpn_update(10), evpn_update(100));
    let (a_small, d) = count(|| Update::decode_message(&small, &ctx).unwrap());
    drop(d);
    let (a_large, d) = count(|| Update::decode_message(&large, &ctx).unwrap());
    drop(d);
    assert_eq!(a_small, a_large);
}
