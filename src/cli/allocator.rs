//! Keeps glibc's malloc from handing freed memory back to the kernel after every large block.
//!
//! Reading many versions of a 650 KiB `registry.yaml` (a `history` over 5,000 commits) allocates
//! and frees blocks of that size thousands of times, in libgit2 and here. With glibc's starting
//! thresholds each such free shrinks the heap and the next allocation faults its pages in again:
//! 236,000 page faults and a third of the run (measured: 4.4 s against 3.1 s; BENCHMARKS.md).
//! glibc raises both thresholds by itself once a block it mapped on its own is freed (the mmap
//! threshold to that block's size, the trim threshold to twice that, up to 32 MiB), so freeing
//! one untouched 4 MiB block at start-up sets them for the whole run, with no `unsafe` and no
//! tunables in the environment. Elsewhere (musl, other allocators) it is one harmless
//! allocation.

/// The primer: larger than the blocks a walk allocates over and over (a 650 KiB
/// `registry.yaml` and libgit2's buffers for it); a larger block raises the thresholds itself
/// when it is first freed. Not larger: every block below the threshold comes from the heap, which
/// keeps what is freed in it, so a 16 MiB primer left a 9 MB cache entry and a 7 MB index as
/// holes beside every prompt's 130,000 events (`history --format json`: 100 MB RSS against 85 MB).
const PRIMER_BYTES: usize = 4 << 20;

/// Sets the allocator's thresholds (see the module's documentation). Costs one `mmap` and one
/// `munmap` of untouched memory.
pub fn keep_freed_memory() {
    let block: Vec<u8> = Vec::with_capacity(PRIMER_BYTES);
    // `black_box` keeps the allocation from being optimised away with its free.
    drop(std::hint::black_box(block));
}
