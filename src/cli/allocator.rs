//! Keeps glibc's malloc from handing freed memory back to the kernel after every large block.
//!
//! Reading many versions of a 650 KiB `registry.yaml` (a `history` over 5,000 commits) allocates
//! and frees blocks of that size thousands of times, in libgit2 and here. With glibc's starting
//! thresholds each such free shrinks the heap and the next allocation faults its pages in again:
//! 236,000 page faults and a third of the run (measured: 4.4 s against 3.1 s; BENCHMARKS.md).
//! glibc raises both thresholds by itself once a block it mapped on its own is freed (the mmap
//! threshold to that block's size, the trim threshold to twice that, up to 32 MiB), so freeing
//! one untouched 16 MiB block at start-up sets them for the whole run, with no `unsafe` and no
//! tunables in the environment. Elsewhere (musl, other allocators) it is one harmless
//! allocation.

/// The primer: large enough for any blob promptreg reads (documents are capped below it), at
/// most glibc's ceiling for dynamic thresholds (32 MiB on 64-bit).
const PRIMER_BYTES: usize = 16 << 20;

/// Sets the allocator's thresholds (see the module's documentation). Costs one `mmap` and one
/// `munmap` of untouched memory.
pub fn keep_freed_memory() {
    let block: Vec<u8> = Vec::with_capacity(PRIMER_BYTES);
    // `black_box` keeps the allocation from being optimised away with its free.
    drop(std::hint::black_box(block));
}
