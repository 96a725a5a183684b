//! Storage of verified headers with sqlx: SQLite (embedded default) or PostgreSQL, one schema
//! (`indexer/migrations/`), one set of queries through sqlx's `Any` driver.
//!
//! Schema (see `migrations/0001_headers.sql`): `headers` holds one row per block with the decoded
//! columns of DESIGN.md §2 (NULL for fork fields absent at that block) plus `rlp`, the raw header
//! RLP (its keccak256 is `hash`); `checkpoints(name, next_block)` records how far a named indexing
//! job got. Byte values are BYTEA (raw bytes), numbers BIGINT, U256 values decimal TEXT.

use crate::verify::verify_links;
use crate::{IndexerError, Result};
use alloy_consensus::Header;
use alloy_primitives::{keccak256, B256, U256};
use alloy_rlp::Decodable;
use annals_query_lang::columns::{header_row, HeaderRow};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use sqlx::Row;
use std::future::Future;
use std::ops::{Bound, RangeBounds};
use std::path::Path;

/// The embedded migrations (`indexer/migrations/`), run by [`Store::connect`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A verified header as stored: number, hash, decoded header and its RLP.
///
/// Invariant when produced by [`crate::verify`] or read from a [`Store`]:
/// `hash == keccak256(rlp)`, `rlp == alloy_rlp::encode(&header)`, `number == header.number`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredHeader {
    /// Block number.
    pub number: u64,
    /// Block hash, keccak256 of `rlp` (32 bytes).
    pub hash: B256,
    /// Decoded consensus header.
    pub header: Header,
    /// Raw header RLP, exactly the bytes the block hash commits to (circuits hash these).
    pub rlp: Vec<u8>,
}

/// Read access to stored headers (narrow provider, as reth's `HeaderProvider`).
///
/// `Ok(None)` means not stored; ranges must be complete: a range read with a hole fails with
/// [`IndexerError::MissingBlock`] naming the first missing block. An unbounded start is block 0,
/// an unbounded end is the highest stored block.
pub trait HeaderProvider: Send + Sync {
    /// Raw header RLP of block `number`.
    fn header_rlp(&self, number: u64) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;

    /// Header of block `number`.
    fn header(&self, number: u64) -> impl Future<Output = Result<Option<StoredHeader>>> + Send;

    /// Every header of `range`, in block order.
    fn headers_range(
        &self,
        range: impl RangeBounds<u64> + Send,
    ) -> impl Future<Output = Result<Vec<StoredHeader>>> + Send;

    /// Every `headers` row of `range` ([`annals_query_lang::columns::header_row`]), in block
    /// order, built from the stored RLP.
    fn header_rows(
        &self,
        range: impl RangeBounds<u64> + Send,
    ) -> impl Future<Output = Result<Vec<HeaderRow>>> + Send {
        async move {
            Ok(self
                .headers_range(range)
                .await?
                .iter()
                .map(|h| header_row(&h.header, h.hash))
                .collect())
        }
    }
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (`sqlite://path?mode=rwc`, `sqlite::memory:`).
    Sqlite,
    /// PostgreSQL (`postgres://...`, `postgresql://...`).
    Postgres,
}

/// A header store over an sqlx `Any` pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

const INSERT_HEADER: &str =
    "INSERT INTO headers (number, hash, parent_hash, timestamp, beneficiary, \
    state_root, transactions_root, receipts_root, difficulty, gas_limit, gas_used, \
    base_fee_per_gas, withdrawals_root, blob_gas_used, excess_blob_gas, parent_beacon_block_root, \
    requests_hash, rlp) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
    $16, $17, $18) ON CONFLICT (number) DO NOTHING";

/// Sets checkpoint `($1 name, $2 next_block)`; shared by every indexing job's write.
pub(crate) const UPSERT_CHECKPOINT: &str =
    "INSERT INTO checkpoints (name, next_block) VALUES ($1, $2) \
    ON CONFLICT (name) DO UPDATE SET next_block = excluded.next_block";

const COLUMNS: &str = "number, hash, parent_hash, timestamp, beneficiary, state_root, \
    transactions_root, receipts_root, difficulty, gas_limit, gas_used, base_fee_per_gas, \
    withdrawals_root, blob_gas_used, excess_blob_gas, parent_beacon_block_root, requests_hash";

/// `value` as a BIGINT, or [`IndexerError::OutOfRange`] naming block `number` and `field`.
pub(crate) fn to_i64(number: u64, field: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| IndexerError::OutOfRange { number, field, value })
}

/// Block number as a query bound (numbers above i64::MAX cannot be stored, so clamping is exact).
fn bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Connects to `url` and runs the migrations.
    ///
    /// `url`: `sqlite://path?mode=rwc` (creates the file), `sqlite::memory:` (one connection, the
    /// database lives as long as the store), or `postgres://user@host:port/db`.
    /// Errors: [`IndexerError::InvalidArgument`] for another scheme, [`IndexerError::Db`],
    /// [`IndexerError::Migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(IndexerError::InvalidArgument(format!(
                "database URL must start with sqlite: or postgres:// (got {url:?})"
            )));
        };
        let memory =
            backend == Backend::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let opts = if memory {
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(4)
        };
        let pool = opts.connect(url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// Opens (creating if needed) the SQLite database file at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool (for callers' own read queries).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Writes one batch of verified headers and, if given, sets checkpoint `(name, next_block)`,
    /// all in ONE transaction: either every row and the checkpoint are written, or nothing.
    ///
    /// `headers` must be consecutive and linked by `parent_hash` (re-checked here, with
    /// `keccak256(rlp) == hash`). Inserting a block already stored with the same hash is a no-op
    /// (idempotent); with another hash it is [`IndexerError::Conflict`]. Returns the number of rows
    /// newly inserted.
    pub async fn insert_batch(
        &self,
        headers: &[StoredHeader],
        checkpoint: Option<(&str, u64)>,
    ) -> Result<u64> {
        verify_links(None, headers)?;
        for h in headers {
            let got = keccak256(&h.rlp);
            if got != h.hash {
                return Err(IndexerError::HashMismatch { number: h.number, expected: h.hash, got });
            }
        }
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for h in headers {
            let n = h.number;
            let x = &h.header;
            let res = sqlx::query(INSERT_HEADER)
                .bind(to_i64(n, "number", n)?)
                .bind(h.hash.to_vec())
                .bind(x.parent_hash.to_vec())
                .bind(to_i64(n, "timestamp", x.timestamp)?)
                .bind(x.beneficiary.to_vec())
                .bind(x.state_root.to_vec())
                .bind(x.transactions_root.to_vec())
                .bind(x.receipts_root.to_vec())
                .bind(x.difficulty.to_string())
                .bind(to_i64(n, "gas_limit", x.gas_limit)?)
                .bind(to_i64(n, "gas_used", x.gas_used)?)
                .bind(x.base_fee_per_gas.map(|v| to_i64(n, "base_fee_per_gas", v)).transpose()?)
                .bind(x.withdrawals_root.map(|v| v.to_vec()))
                .bind(x.blob_gas_used.map(|v| to_i64(n, "blob_gas_used", v)).transpose()?)
                .bind(x.excess_blob_gas.map(|v| to_i64(n, "excess_blob_gas", v)).transpose()?)
                .bind(x.parent_beacon_block_root.map(|v| v.to_vec()))
                .bind(x.requests_hash.map(|v| v.to_vec()))
                .bind(h.rlp.clone())
                .execute(&mut *tx)
                .await?;
            if res.rows_affected() == 0 {
                let stored: Vec<u8> =
                    sqlx::query_scalar("SELECT hash FROM headers WHERE number = $1")
                        .bind(bound(n))
                        .fetch_one(&mut *tx)
                        .await?;
                if stored.as_slice() != h.hash.as_slice() {
                    return Err(IndexerError::Conflict {
                        number: n,
                        stored: B256::try_from(stored.as_slice()).unwrap_or_default(),
                        got: h.hash,
                    });
                }
            } else {
                inserted += 1;
            }
        }
        if let Some((name, next)) = checkpoint {
            sqlx::query(UPSERT_CHECKPOINT)
                .bind(name)
                .bind(to_i64(next, "next_block", next)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The checkpoint `name`: the first block its job has not written yet.
    pub async fn checkpoint(&self, name: &str) -> Result<Option<u64>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT next_block FROM checkpoints WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(v.map(|v| v as u64))
    }

    /// Highest stored block number.
    pub async fn latest_number(&self) -> Result<Option<u64>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(number) FROM headers").fetch_one(&self.pool).await?;
        Ok(v.map(|v| v as u64))
    }

    /// Number of stored headers.
    pub async fn count(&self) -> Result<u64> {
        let v: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM headers").fetch_one(&self.pool).await?;
        Ok(v as u64)
    }

    /// Every stored block number, ascending (not necessarily contiguous).
    pub async fn block_numbers(&self) -> Result<Vec<u64>> {
        let v: Vec<i64> = sqlx::query_scalar("SELECT number FROM headers ORDER BY number")
            .fetch_all(&self.pool)
            .await?;
        Ok(v.into_iter().map(|v| v as u64).collect())
    }

    /// Rows of `range` read from the decoded SQL columns (not from the RLP); same shape and
    /// completeness rule as [`HeaderProvider::header_rows`]. Used to check the columns agree with
    /// the RLP they were written from.
    pub async fn column_rows(&self, range: impl RangeBounds<u64> + Send) -> Result<Vec<HeaderRow>> {
        let Some((start, end)) = self.resolve(range).await? else { return Ok(Vec::new()) };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM headers WHERE number >= $1 AND number <= $2 ORDER BY number"
        ))
        .bind(bound(start))
        .bind(bound(end))
        .fetch_all(&self.pool)
        .await?;
        check_complete(start, end, rows.iter().map(|r| r.try_get::<i64, _>(0).map(|v| v as u64)))?;
        rows.iter().map(column_row).collect()
    }

    async fn resolve(&self, range: impl RangeBounds<u64>) -> Result<Option<(u64, u64)>> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => match s.checked_add(1) {
                Some(s) => s,
                None => return Ok(None),
            },
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e,
            Bound::Excluded(&e) => match e.checked_sub(1) {
                Some(e) => e,
                None => return Ok(None),
            },
            Bound::Unbounded => match self.latest_number().await? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        Ok((start <= end).then_some((start, end)))
    }
}

/// Checks that `numbers` are exactly `start..=end`; the first hole is [`IndexerError::MissingBlock`].
fn check_complete(
    start: u64,
    end: u64,
    numbers: impl Iterator<Item = Result<u64, sqlx::Error>>,
) -> Result<()> {
    let mut expected = start;
    for n in numbers {
        let n = n?;
        if n != expected {
            return Err(IndexerError::MissingBlock { number: expected });
        }
        expected += 1;
    }
    if expected <= end {
        return Err(IndexerError::MissingBlock { number: expected });
    }
    Ok(())
}

fn decode_stored(number: i64, hash: Vec<u8>, rlp: Vec<u8>) -> Result<StoredHeader> {
    let number = number as u64;
    let corrupt = |reason: String| IndexerError::Corrupt { number, reason };
    let hash = B256::try_from(hash.as_slice())
        .map_err(|_| corrupt(format!("hash has {} bytes", hash.len())))?;
    let got = keccak256(&rlp);
    if got != hash {
        return Err(corrupt(format!("rlp hashes to {got}, stored hash is {hash}")));
    }
    let header = Header::decode(&mut rlp.as_slice()).map_err(|e| corrupt(format!("rlp: {e}")))?;
    if header.number != number {
        return Err(corrupt(format!("rlp is the header of block {}", header.number)));
    }
    Ok(StoredHeader { number, hash, header, rlp })
}

fn column_row(row: &AnyRow) -> Result<HeaderRow> {
    let number = row.try_get::<i64, _>(0)? as u64;
    let corrupt = |reason: String| IndexerError::Corrupt { number, reason };
    let mut out: HeaderRow = [None; annals_query_lang::columns::NUM_HEADER_COLUMNS];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = match i {
            // difficulty: decimal TEXT
            8 => Some(
                U256::from_str_radix(&row.try_get::<String, _>(i)?, 10)
                    .map_err(|e| corrupt(format!("difficulty: {e}")))?,
            ),
            0 | 3 | 9 | 10 | 11 | 13 | 14 => {
                row.try_get::<Option<i64>, _>(i)?.map(|v| U256::from(v as u64))
            }
            _ => match row.try_get::<Option<Vec<u8>>, _>(i)? {
                Some(b) if b.len() <= 32 => Some(U256::from_be_slice(&b)),
                Some(b) => return Err(corrupt(format!("column {i} has {} bytes", b.len()))),
                None => None,
            },
        };
    }
    Ok(out)
}

impl HeaderProvider for Store {
    async fn header_rlp(&self, number: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.header(number).await?.map(|h| h.rlp))
    }

    async fn header(&self, number: u64) -> Result<Option<StoredHeader>> {
        if i64::try_from(number).is_err() {
            return Ok(None);
        }
        let row = sqlx::query("SELECT number, hash, rlp FROM headers WHERE number = $1")
            .bind(bound(number))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode_stored(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)).transpose()
    }

    async fn headers_range(
        &self,
        range: impl RangeBounds<u64> + Send,
    ) -> Result<Vec<StoredHeader>> {
        let Some((start, end)) = self.resolve(range).await? else { return Ok(Vec::new()) };
        let rows = sqlx::query(
            "SELECT number, hash, rlp FROM headers WHERE number >= $1 AND number <= $2 ORDER BY number",
        )
        .bind(bound(start))
        .bind(bound(end))
        .fetch_all(&self.pool)
        .await?;
        check_complete(start, end, rows.iter().map(|r| r.try_get::<i64, _>(0).map(|v| v as u64)))?;
        rows.iter().map(|r| decode_stored(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{verify_header, ChainSpec};

    fn chain(n: u64) -> Vec<StoredHeader> {
        let mut out: Vec<StoredHeader> = Vec::new();
        for i in 0..n {
            let header = Header {
                number: i,
                parent_hash: out.last().map(|h| h.hash).unwrap_or_default(),
                gas_limit: 30_000_000,
                difficulty: U256::from(131_072u64 + i),
                base_fee_per_gas: (i >= 2).then_some(7),
                ..Default::default()
            };
            let hash = header.hash_slow();
            out.push(verify_header(header, hash, ChainSpec::Any).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn roundtrip_idempotent_and_complete_ranges() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let c = chain(6);
        assert_eq!(store.insert_batch(&c[..3], Some(("t", 3))).await.unwrap(), 3);
        assert_eq!(store.insert_batch(&c[..3], Some(("t", 3))).await.unwrap(), 0);
        assert_eq!(store.checkpoint("t").await.unwrap(), Some(3));
        assert_eq!(store.headers_range(..).await.unwrap(), c[..3].to_vec());
        assert_eq!(store.header_rlp(1).await.unwrap(), Some(c[1].rlp.clone()));
        assert_eq!(store.header_rlp(9).await.unwrap(), None);
        store.insert_batch(&c[5..], None).await.unwrap();
        let err = store.headers_range(1..=5).await.unwrap_err();
        assert!(matches!(err, IndexerError::MissingBlock { number: 3 }), "{err}");
        let err = store.header_rows(0..7).await.unwrap_err();
        assert!(matches!(err, IndexerError::MissingBlock { number: 3 }), "{err}");
        let rows = store.header_rows(0..3).await.unwrap();
        assert_eq!(rows, store.column_rows(0..=2).await.unwrap());
        assert_eq!(rows[2][11], Some(U256::from(7)));
        assert_eq!(rows[1][11], None);
        assert!(store.headers_range(4..4).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn conflict_rolls_back_the_batch() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let c = chain(4);
        store.insert_batch(&c[2..3], None).await.unwrap();
        let mut other = c[2].header.clone();
        other.gas_used = 1;
        let other = verify_header(other.clone(), other.hash_slow(), ChainSpec::Any).unwrap();
        let mut batch = c[..2].to_vec();
        batch[1] = c[1].clone();
        batch.push(StoredHeader { ..other });
        // the fake block 2 still links to block 1, but conflicts with the stored block 2
        let err = store.insert_batch(&batch, Some(("t", 3))).await.unwrap_err();
        assert!(matches!(err, IndexerError::Conflict { number: 2, .. }), "{err}");
        assert_eq!(store.count().await.unwrap(), 1);
        assert_eq!(store.checkpoint("t").await.unwrap(), None);
    }
}
