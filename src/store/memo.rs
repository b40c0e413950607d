//! A small in-memory cache shared by all of a process's threads, for values derived from an
//! immutable object and keyed by its id (a parsed `registry.yaml` by blob id, the entries of a
//! large tree by tree id), so it can never be stale and needs no invalidation.
//!
//! It is bounded by an estimate of the bytes its values hold (the least recently used go
//! first), and it makes each value once: threads that ask for a value being made wait for it
//! instead of making it again (64 first reads arriving together parse an index once, not 32
//! times over in 32 threads).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::ObjectId;

/// A bounded cache of values derived from immutable objects (see the module's documentation).
pub struct Memo<V> {
    slots: Mutex<Vec<Slot<V>>>,
    /// The most bytes (estimated) the values may hold together.
    budget: usize,
}

/// A value made or being made. `None` once made: the object gave no value (it did not parse),
/// and callers take their own path, which reports why.
type Cell<V> = Arc<OnceLock<Option<Arc<V>>>>;

struct Slot<V> {
    id: ObjectId,
    cell: Cell<V>,
    /// The value's estimated bytes (0 while it is being made).
    cost: usize,
}

impl<V> Memo<V> {
    /// An empty cache holding at most about `budget` bytes.
    pub const fn new(budget: usize) -> Self {
        Memo {
            slots: Mutex::new(Vec::new()),
            budget,
        }
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Slot<V>>> {
        // A thread that panicked while holding the lock left the list whole.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `id`, if it is made already (never waits, never makes it).
    pub fn peek(&self, id: ObjectId) -> Option<Arc<V>> {
        let mut slots = self.slots();
        let at = slots.iter().position(|s| s.id == id)?;
        let value = slots[at].cell.get()?.clone()?;
        let slot = slots.remove(at);
        slots.push(slot);
        Some(value)
    }

    /// The value of `id`: the cached one, or the one another thread is making (waited for),
    /// or `make`'s, which returns the value and its estimated bytes (`None`: no value, which is
    /// not kept).
    pub fn get(&self, id: ObjectId, make: impl FnOnce() -> Option<(V, usize)>) -> Option<Arc<V>> {
        let cell = {
            let mut slots = self.slots();
            match slots.iter().position(|s| s.id == id) {
                Some(at) => {
                    let slot = slots.remove(at);
                    let cell = slot.cell.clone();
                    slots.push(slot);
                    cell
                }
                None => {
                    let cell: Cell<V> = Arc::new(OnceLock::new());
                    slots.push(Slot {
                        id,
                        cell: cell.clone(),
                        cost: 0,
                    });
                    cell
                }
            }
        };
        let mut made = None;
        let value = cell
            .get_or_init(|| {
                let (value, cost) = make()?;
                made = Some(cost);
                Some(Arc::new(value))
            })
            .clone();
        if made.is_some() || value.is_none() {
            self.settle(&cell, made.unwrap_or(0));
        }
        value
    }

    /// Records the cost of the value just made in `cell` (dropping it when there is none) and
    /// evicts the least recently used values beyond the budget.
    fn settle(&self, cell: &Cell<V>, cost: usize) {
        let mut slots = self.slots();
        let empty = cell.get().is_some_and(|v| v.is_none());
        if let Some(at) = slots.iter().position(|s| Arc::ptr_eq(&s.cell, cell)) {
            if empty {
                slots.remove(at);
            } else {
                slots[at].cost = cost;
            }
        }
        let mut total: usize = slots.iter().map(|s| s.cost).sum();
        while total > self.budget {
            // The least recently used value that is made (one being made costs nothing yet).
            let Some(at) = slots.iter().position(|s| s.cost > 0) else {
                break;
            };
            total -= slots.remove(at).cost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes(&[n; 20]).unwrap()
    }

    #[test]
    fn values_are_made_once_and_kept_within_the_budget() {
        let memo: Memo<String> = Memo::new(100);
        let made = AtomicUsize::new(0);
        let make = |text: &str, cost: usize| {
            made.fetch_add(1, Ordering::SeqCst);
            Some((text.to_owned(), cost))
        };
        assert_eq!(*memo.get(id(1), || make("one", 40)).unwrap(), "one");
        assert_eq!(*memo.get(id(1), || make("again", 40)).unwrap(), "one");
        assert_eq!(made.load(Ordering::SeqCst), 1);
        memo.get(id(2), || make("two", 40));
        // Using 1 makes 2 the least recently used, which goes when 3 needs the room.
        assert!(memo.peek(id(1)).is_some());
        memo.get(id(3), || make("three", 40));
        assert!(memo.peek(id(2)).is_none());
        assert!(memo.peek(id(1)).is_some() && memo.peek(id(3)).is_some());
        // A value larger than the whole budget is handed out but not kept.
        assert_eq!(*memo.get(id(4), || make("big", 1000)).unwrap(), "big");
        assert!(memo.peek(id(4)).is_none());
        // No value: not kept, so the next caller tries again.
        assert!(memo.get(id(5), || None).is_none());
        assert_eq!(*memo.get(id(5), || make("five", 1)).unwrap(), "five");
    }

    #[test]
    fn threads_asking_together_wait_for_one_maker() {
        let memo: Memo<usize> = Memo::new(1 << 20);
        let made = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    let value = memo.get(id(7), || {
                        made.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        Some((42, 8))
                    });
                    assert_eq!(value.as_deref(), Some(&42));
                });
            }
        });
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }
}
