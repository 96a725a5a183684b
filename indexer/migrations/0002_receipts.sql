-- Receipts and logs (DESIGN.md section 2), portable between SQLite and PostgreSQL like 0001.
--
-- A block's receipts are written only after they rebuild the header's receipts_root and
-- logs_bloom, all in one transaction with a receipt_blocks row; a block with no transactions
-- has only that row. `encoded` is the EIP-2718 encoding (the receipts-trie value at key
-- rlp(tx_index)), from which every other column can be rebuilt.

CREATE TABLE receipt_blocks (
    block_number  BIGINT PRIMARY KEY,
    receipt_count BIGINT NOT NULL
);

CREATE TABLE receipts (
    block_number        BIGINT NOT NULL,
    tx_index            BIGINT NOT NULL,
    tx_type             BIGINT NOT NULL,
    -- EIP-658 status (0 or 1) from Byzantium on; NULL before it.
    status              BIGINT,
    -- Pre-Byzantium intermediate state root (32 bytes); NULL from Byzantium on.
    post_state          BYTEA,
    cumulative_gas_used BIGINT NOT NULL,
    -- cumulative_gas_used minus the previous receipt's (gas).
    gas_used            BIGINT NOT NULL,
    log_count           BIGINT NOT NULL,
    encoded             BYTEA NOT NULL,
    PRIMARY KEY (block_number, tx_index)
);

CREATE TABLE logs (
    block_number BIGINT NOT NULL,
    tx_index     BIGINT NOT NULL,
    -- Position of the log in its block (JSON-RPC logIndex).
    log_index    BIGINT NOT NULL,
    address      BYTEA NOT NULL,
    topic0       BYTEA,
    topic1       BYTEA,
    topic2       BYTEA,
    topic3       BYTEA,
    data         BYTEA NOT NULL,
    PRIMARY KEY (block_number, log_index)
);

CREATE INDEX logs_address_topic0 ON logs (address, topic0);
