//! Rows handed back by the caller once it is done with a batch, so that a reader fills
//! them again instead of allocating (and the caller's thread freeing) two buffers per
//! row. Reading then allocates nothing per row in the steady state.

use std::sync::{Arc, Mutex, PoisonError};

use crate::row::Row;

/// Batches kept for reuse at most; more are dropped, so memory stays flat when the
/// caller hands back faster than the reader takes.
const KEEP_BATCHES: usize = 8;

/// Batches of rows given back, shared by a reader's threads.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowPool(Arc<Mutex<Vec<Vec<Row>>>>);

impl RowPool {
    /// Keeps `batch` for reuse.
    pub(crate) fn give(&self, batch: Vec<Row>) {
        if batch.is_empty() {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEEP_BATCHES {
            kept.push(batch);
        }
    }

    fn take(&self) -> Option<Vec<Row>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }
}

/// One reading thread's supply of rows: from the pool when it has some, else new.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    pool: RowPool,
    rows: Vec<Row>,
}

impl Spares {
    pub(crate) fn new(pool: RowPool) -> Spares {
        Spares { pool, rows: Vec::new() }
    }

    /// The pool the rows come from.
    pub(crate) fn pool(&self) -> &RowPool {
        &self.pool
    }

    /// A row to fill: a used one (its buffers kept, its content stale), or a new one
    /// with room for `cells` cells and `bytes` bytes.
    pub(crate) fn row(&mut self, cells: usize, bytes: usize) -> Row {
        if self.rows.is_empty() {
            if let Some(batch) = self.pool.take() {
                self.rows = batch;
            }
        }
        self.rows.pop().unwrap_or_else(|| Row::with_capacity(0, cells, bytes))
    }
}

impl Drop for Spares {
    /// Rows not filled go back to the pool: a range of a .csv parsed on its own thread
    /// takes a whole batch and may fill only part of it.
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_given_back_are_reused_with_their_buffers() {
        let pool = RowPool::default();
        let mut spares = Spares::new(pool.clone());
        let mut row = spares.row(4, 64);
        row.push_text("a long enough cell to need a buffer");
        let capacity = row.text_capacity();
        pool.give(vec![row]);
        let again = spares.row(4, 8);
        assert_eq!(again.text_capacity(), capacity, "the used row comes back, buffer and all");
        assert_eq!(spares.row(4, 8).text_capacity(), 8, "then new rows, once the pool is empty");
    }

    #[test]
    fn rows_not_filled_go_back_to_the_pool() {
        let pool = RowPool::default();
        pool.give((0..10).map(|_| Row::with_capacity(0, 4, 100)).collect());
        let mut spares = Spares::new(pool.clone());
        drop(spares.row(4, 8));
        drop(spares);
        assert_eq!(pool.take().map(|b| b.len()), Some(9), "the nine rows left, not dropped");
    }

    #[test]
    fn the_pool_keeps_a_bounded_number_of_batches() {
        let pool = RowPool::default();
        for _ in 0..KEEP_BATCHES + 5 {
            pool.give(vec![Row::new(2)]);
        }
        let mut taken = 0;
        while pool.take().is_some() {
            taken += 1;
        }
        assert_eq!(taken, KEEP_BATCHES);
    }
}
