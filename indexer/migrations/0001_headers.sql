-- Annals indexer schema, portable between SQLite and PostgreSQL (same file runs on both).
--
-- Types: block numbers and u64 header values are BIGINT (values above 2^63-1 are refused by the
-- writer); hashes, addresses and the raw RLP are BYTEA (raw bytes: 32 / 20 / any length).
-- SQLite accepts the BYTEA type name (NUMERIC affinity, which stores BLOB values unchanged).
-- U256 values (difficulty) are decimal TEXT, castable to NUMERIC in PostgreSQL.
-- Optional fork fields are NULL before their fork (DESIGN.md section 2).

CREATE TABLE headers (
    number                   BIGINT PRIMARY KEY,
    hash                     BYTEA NOT NULL,
    parent_hash              BYTEA NOT NULL,
    timestamp                BIGINT NOT NULL,
    beneficiary              BYTEA NOT NULL,
    state_root               BYTEA NOT NULL,
    transactions_root        BYTEA NOT NULL,
    receipts_root            BYTEA NOT NULL,
    difficulty               TEXT NOT NULL,
    gas_limit                BIGINT NOT NULL,
    gas_used                 BIGINT NOT NULL,
    base_fee_per_gas         BIGINT,
    withdrawals_root         BYTEA,
    blob_gas_used            BIGINT,
    excess_blob_gas          BIGINT,
    parent_beacon_block_root BYTEA,
    requests_hash            BYTEA,
    rlp                      BYTEA NOT NULL
);

CREATE INDEX headers_hash ON headers (hash);

-- next_block: the first block the named job has not yet written.
CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    next_block BIGINT NOT NULL
);
