//! How the CLI shows what the use cases return: tables for a person, JSON for a pipeline.

use cloudformation_custom_resource::{Response, Status};
use remote_exports_app::Listed;
use serde_json::{Value, json};

use crate::args::OutputFormat;

/// Prints (name, value) rows with the bytes each adds to a response.
pub(crate) fn listing(listed: &Listed, output: OutputFormat) -> Result<(), serde_json::Error> {
    let Listed { rows, hidden, noun, source } = listed;
    if *hidden > 0 {
        eprintln!("{hidden} {noun}(s) hidden by the function's allow-lists");
    }
    match output {
        OutputFormat::Json => {
            let items: Vec<Value> = rows
                .iter()
                .map(|(n, v)| json!({"Name": n, "Value": v, "ResponseBytes": data_entry_bytes(n, v)}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        }
        OutputFormat::Table => {
            let table: Vec<[String; 3]> =
                rows.iter().map(|(n, v)| [n.clone(), v.clone(), data_entry_bytes(n, v).to_string()]).collect();
            table_of(["NAME", "VALUE", "BYTES"], &table);
            let total: usize = rows.iter().map(|(n, v)| data_entry_bytes(n, v)).sum();
            eprintln!("{} {noun}(s) in {}; {total} bytes of Data if all were selected", rows.len(), source.describe());
        }
    }
    Ok(())
}

/// What one export adds to the response body: `"name":"value",` as JSON.
fn data_entry_bytes(name: &str, value: &str) -> usize {
    serde_json::to_string(name).map_or(0, |s| s.len()) + serde_json::to_string(value).map_or(0, |s| s.len()) + 2
}

/// The answer the function would give.
pub(crate) fn answer(response: &Response, output: OutputFormat) {
    let bytes = serde_json::to_vec(response).map_or(0, |b| b.len());
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(response).unwrap_or_default()),
        OutputFormat::Table => match response.status {
            Status::Success => {
                // NoEcho values are masked on a terminal, as CloudFormation masks them; --output json
                // prints the exact answer.
                let shown = |v: &Value| match response.no_echo {
                    true => "****".to_owned(),
                    false => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                };
                let rows: Vec<[String; 2]> =
                    response.data.iter().map(|(k, v)| [format!("!GetAtt Lookup.{k}"), shown(v)]).collect();
                table_of(["ATTRIBUTE", "VALUE"], &rows);
                if response.no_echo {
                    println!("(NoEcho: values masked; --output json prints them)");
                }
                println!(
                    "\nSUCCESS: {} key(s), response {bytes} of {} bytes, PhysicalResourceId {}",
                    response.data.len(),
                    Response::MAX_BYTES,
                    response.physical_resource_id
                );
            }
            Status::Failed => println!("FAILED: {}", response.reason.as_deref().unwrap_or("")),
        },
    }
}

/// Columns padded to their widest cell.
pub(crate) fn table_of<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_entry_bytes_counts_json_escaping() {
        assert_eq!(data_entry_bytes("a", "b"), "\"a\":\"b\",".len());
        assert_eq!(data_entry_bytes("a", "é\""), "\"a\":\"é\\\"\",".len());
    }
}
