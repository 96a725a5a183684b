//! Presentation of results: JSON values for the API (DESIGN.md §2: integers as decimal strings)
//! and a text table for the CLI.

use crate::plan::{Program, ValueType};
use alloy_primitives::{Address, B256, U256};
use std::fmt;

/// JSON form of one result value:
/// - `uint256`: decimal string (`"12345"`), since JSON numbers cannot hold 256 bits;
/// - `bytes32`: `"0x"` + 64 lowercase hex digits;
/// - `address`: EIP-55 checksummed `"0x"` + 40 hex digits (the word's low 20 bytes);
/// - `bool`: `true` / `false` (`value != 0`);
/// - NULL: `null`.
pub fn format_value(value_type: ValueType, value: Option<U256>) -> serde_json::Value {
    use serde_json::Value as J;
    let Some(v) = value else { return J::Null };
    match value_type {
        ValueType::Uint256 => J::String(v.to_string()),
        ValueType::Bytes32 => J::String(B256::from(v.to_be_bytes::<32>()).to_string()),
        ValueType::Address => {
            J::String(Address::from_word(B256::from(v.to_be_bytes::<32>())).to_checksum(None))
        }
        ValueType::Bool => J::Bool(!v.is_zero()),
    }
}

/// A result with its column names and types, printable as a text table (`Display`) or JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultTable {
    /// Column names and types, from the program's outputs.
    pub columns: Vec<(String, ValueType)>,
    /// The rows, one value per column (`None` = NULL).
    pub rows: Vec<Vec<Option<U256>>>,
}

impl ResultTable {
    /// Pairs evaluated rows with the program's output names and types.
    pub fn new(program: &Program, rows: Vec<Vec<Option<U256>>>) -> Self {
        let columns = program.outputs.iter().map(|o| (o.name.clone(), o.value_type)).collect();
        Self { columns, rows }
    }

    /// `{"columns": [{"name", "type"}], "rows": [[value, ..], ..]}` with values as in
    /// [`format_value`].
    pub fn to_json(&self) -> serde_json::Value {
        let columns: Vec<serde_json::Value> = self
            .columns
            .iter()
            .map(|(n, t)| serde_json::json!({ "name": n, "type": t.to_string() }))
            .collect();
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| r.iter().zip(&self.columns).map(|(v, (_, t))| format_value(*t, *v)).collect())
            .collect();
        serde_json::json!({ "columns": columns, "rows": rows })
    }

    fn cell(t: ValueType, v: Option<U256>) -> String {
        match format_value(t, v) {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => "NULL".to_string(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ResultTable {
    /// psql-like table: header, separator, rows (numbers right-aligned), then `(n rows)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().zip(&self.columns).map(|(v, (_, t))| Self::cell(*t, *v)).collect())
            .collect();
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(j, (name, _))| {
                cells.iter().map(|r| r[j].len()).chain([name.len()]).max().unwrap_or(0)
            })
            .collect();
        let header: Vec<String> =
            self.columns.iter().zip(&widths).map(|((n, _), w)| format!(" {n:^w$} ")).collect();
        writeln!(f, "{}", header.join("|"))?;
        let sep: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        writeln!(f, "{}", sep.join("+"))?;
        for r in &cells {
            let line: Vec<String> = r
                .iter()
                .zip(&self.columns)
                .zip(&widths)
                .map(|((c, (_, t)), w)| match t {
                    ValueType::Uint256 => format!(" {c:>w$} "),
                    _ => format!(" {c:<w$} "),
                })
                .collect();
            writeln!(f, "{}", line.join("|"))?;
        }
        let n = self.rows.len();
        write!(f, "({n} row{})", if n == 1 { "" } else { "s" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values() {
        assert_eq!(format_value(ValueType::Uint256, Some(U256::MAX)), json!(U256::MAX.to_string()));
        assert_eq!(format_value(ValueType::Uint256, None), json!(null));
        assert_eq!(format_value(ValueType::Bool, Some(U256::from(2u8))), json!(true));
        assert_eq!(format_value(ValueType::Bool, Some(U256::ZERO)), json!(false));
        assert_eq!(
            format_value(ValueType::Bytes32, Some(U256::from(1u8))),
            json!(format!("0x{:064x}", 1))
        );
        // EIP-55 test vector.
        let a = U256::from_str_radix("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 16).unwrap();
        assert_eq!(
            format_value(ValueType::Address, Some(a)),
            json!("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
        );
    }

    #[test]
    fn table() {
        let t = ResultTable {
            columns: vec![("n".into(), ValueType::Uint256), ("flag".into(), ValueType::Bool)],
            rows: vec![
                vec![Some(U256::from(12345u64)), None],
                vec![Some(U256::from(7u64)), Some(U256::from(1u8))],
            ],
        };
        assert_eq!(
            t.to_string(),
            "   n   | flag \n-------+------\n 12345 | NULL \n     7 | true \n(2 rows)"
        );
        assert_eq!(t.to_json()["rows"], json!([["12345", null], ["7", true]]));
    }
}
