//! `ponte parse` on the samples: JSON lines in the contract's key order with
//! typed values, and CSV for spreadsheets.

mod common;

use common::{code, ponte, schema_dir, stderr, stdout};
use serde_json::{json, Value};

const ART: &str = "samples/ART20261128020000.txt";
const GIA: &str = "samples/GIA20261128083000.txt";
const CLI: &str = "samples/CLI20261128030000.txt";
const EVA: &str = "samples/EVA20261128100000.txt";

/// The keys of each record type, in the order of the contract's tables
/// (interchange-layouts.md), after `"record"`.
fn contract_keys(record: &str) -> &'static [&'static str] {
    match record {
        "TE" => &["flow", "exported_at", "mode", "company"],
        "CO" => &["count"],
        "AR" => &[
            "sku",
            "parent_sku",
            "kind",
            "name",
            "description",
            "ean",
            "price",
            "weight",
            "vat_code",
            "active",
            "brand",
            "size",
            "color",
            "unit",
            "changed_on",
        ],
        "GI" => &["sku", "warehouse", "quantity", "available_on"],
        "CL" => &[
            "customer_code",
            "name",
            "fiscal_code",
            "vat_number",
            "email",
            "street",
            "postcode",
            "city",
            "province",
            "country",
            "phone",
            "price_list",
            "active",
        ],
        "EV" => &[
            "order_number",
            "event",
            "delivery_note",
            "delivery_date",
            "carrier",
            "tracking_number",
        ],
        "ER" => &["order_number", "sku", "quantity"],
        other => panic!("record type {other} is not in the contract"),
    }
}

/// `ponte parse FILE --json`, which must succeed, as parsed objects.
fn json_records(args: &[&str]) -> Vec<serde_json::Map<String, Value>> {
    let out = ponte(args.iter().copied().chain(["--json"]));
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => m,
            other => panic!("not a JSON object: {l}: {other:?}"),
        })
        .collect()
}

fn find<'a>(
    records: &'a [serde_json::Map<String, Value>],
    record: &str,
    key: &str,
    value: &str,
) -> &'a serde_json::Map<String, Value> {
    records
        .iter()
        .find(|r| r["record"] == record && r[key] == value)
        .unwrap_or_else(|| panic!("no {record} record with {key} = {value:?}"))
}

#[test]
fn json_keys_come_in_contract_order_after_record() {
    for file in [ART, GIA, CLI, EVA] {
        let records = json_records(&["parse", file]);
        assert!(records.len() > 2, "{file}");
        assert_eq!(records[0]["record"], "TE", "{file}");
        assert_eq!(records.last().unwrap()["record"], "CO", "{file}");
        for r in &records {
            let keys: Vec<&str> = r.keys().map(String::as_str).collect();
            let tag = r["record"].as_str().expect("record is a string");
            let mut want = vec!["record"];
            want.extend_from_slice(contract_keys(tag));
            assert_eq!(keys, want, "{file}: {tag}");
        }
    }
}

#[test]
fn header_and_trailer_are_typed() {
    let records = json_records(&["parse", ART]);
    assert_eq!(
        Value::Object(records[0].clone()),
        json!({
            "record": "TE",
            "flow": "ARTICOLI",
            "exported_at": "2026-11-28T02:00:00",
            "mode": "C",
            "company": "000001",
        })
    );
    assert_eq!(
        Value::Object(records.last().unwrap().clone()),
        json!({ "record": "CO", "count": 10 })
    );
}

#[test]
fn articoli_values_are_typed() {
    let records = json_records(&["parse", ART]);
    let oil = find(&records, "AR", "sku", "OLI-EVO-075");
    assert_eq!(
        oil["price"],
        json!("12.50"),
        "decimals are strings with their scale"
    );
    assert_eq!(oil["weight"], json!("0.820"));
    assert_eq!(
        oil["vat_code"],
        json!("04"),
        "codes keep their leading zero"
    );
    assert_eq!(oil["active"], json!(true));
    assert_eq!(oil["changed_on"], json!("2026-11-01"));
    assert_eq!(
        oil["parent_sku"],
        json!(""),
        "blank text is an empty string"
    );
    assert_eq!(oil["brand"], json!("Frantoio Sàntoro"));
    assert_eq!(
        oil["description"],
        json!("Olio extravergine di oliva italiano, spremitura a freddo. Più gusto, è garantito.")
    );
    let coffee = find(&records, "AR", "sku", "CAF-ESP-1KG");
    assert_eq!(coffee["name"], json!("Caffè espresso in grani 1 kg"));
    assert_eq!(coffee["price"], json!("18.90"));
    let old = find(&records, "AR", "sku", "PAN-VEC-01");
    assert_eq!(old["active"], json!(false));
    assert_eq!(old["changed_on"], Value::Null, "a blank date is none");
    assert_eq!(old["price"], json!("22.00"));
    // 0x96 in Windows-1252 is an en dash, not a C1 control.
    assert_eq!(old["name"], json!("Panettone classico – vecchia ricetta"));
    let variant = find(&records, "AR", "sku", "FEL-POLO-M-ROS");
    assert_eq!(variant["kind"], json!("V"));
    assert_eq!(variant["parent_sku"], json!("FEL-POLO"));
}

#[test]
fn giacenze_quantities_carry_their_sign() {
    let records = json_records(&["parse", GIA]);
    let oversold = find(&records, "GI", "sku", "FEL-POLO-M-ROS");
    assert_eq!(oversold["quantity"], json!("-3.000"));
    assert_eq!(oversold["available_on"], json!("2026-12-05"));
    assert_eq!(oversold["warehouse"], json!("MAG01"));
    let coffee = find(&records, "GI", "sku", "CAF-ESP-1KG");
    assert_eq!(coffee["quantity"], json!("120.000"));
    assert_eq!(coffee["available_on"], Value::Null, "00000000 is none");
    let none_left = find(&records, "GI", "sku", "FEL-POLO-L-BLU");
    assert_eq!(none_left["quantity"], json!("0.000"));
    let oil = find(&records, "GI", "sku", "OLI-EVO-075");
    assert_eq!(oil["quantity"], json!("48.500"));
}

#[test]
fn italian_accents_are_decoded_from_windows_1252() {
    let records = json_records(&["parse", CLI]);
    let names: Vec<&str> = records
        .iter()
        .filter(|r| r["record"] == "CL")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Bar Pasticceria Città Alta S.r.l.",
            "Niccolò Ferraris",
            "Enoteca Sant'Agata di Lucía Gómez",
        ]
    );
    let niccolo = find(&records, "CL", "customer_code", "C000124");
    assert_eq!(niccolo["fiscal_code"], json!("FRRNCL80A01L219K"));
    assert_eq!(niccolo["active"], json!(true));
    assert_eq!(niccolo["price_list"], json!("B2C"));
}

#[test]
fn evasioni_events_and_items() {
    let records = json_records(&["parse", EVA]);
    let tags: Vec<&str> = records
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["TE", "EV", "ER", "ER", "EV", "EV", "CO"]);
    assert_eq!(
        Value::Object(records[1].clone()),
        json!({
            "record": "EV",
            "order_number": "000000101",
            "event": "S",
            "delivery_note": "DDT0451",
            "delivery_date": "2026-11-27",
            "carrier": "BRT",
            "tracking_number": "0123456789012345",
        })
    );
    assert_eq!(records[2]["quantity"], json!("2.000"));
    assert_eq!(records[4]["event"], json!("F"));
    assert_eq!(records[4]["delivery_date"], Value::Null);
}

#[test]
fn edge_case_fixtures_parse_like_their_samples() {
    for (fixture, sample) in [
        ("tests/fixtures/lf-only/GIA20261128083000.txt", GIA),
        ("tests/fixtures/no-final-newline/GIA20261128083000.txt", GIA),
        ("tests/fixtures/dos-eof/GIA20261128083000.txt", GIA),
        ("tests/fixtures/dos-eof/EVA20261128100000.txt", EVA),
        ("tests/fixtures/stripped/ART20261128020000.txt", ART),
        ("tests/fixtures/stripped/EVA20261128100000.txt", EVA),
    ] {
        assert_eq!(
            json_records(&["parse", fixture]),
            json_records(&["parse", sample]),
            "{fixture}"
        );
    }
}

#[test]
fn a_utf8_file_under_a_utf8_schema_parses_like_the_windows_1252_sample() {
    let dir = schema_dir(|name, text| {
        (name == "articoli.toml")
            .then(|| text.replace("encoding = \"windows-1252\"", "encoding = \"utf-8\""))
    });
    let schemas = dir.path().to_str().unwrap();
    let utf8 = json_records(&[
        "--schemas",
        schemas,
        "parse",
        "tests/fixtures/utf-8/ART20261128020000.txt",
    ]);
    assert_eq!(utf8, json_records(&["parse", ART]));
}

#[test]
fn a_bad_record_is_left_out_and_reported() {
    let file = "samples/bad/GIA20261128083005.txt";
    let out = ponte(["parse", file, "--json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{file}:8: record GI field quantity")),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 10, "the other records still come out");
    assert!(!text.contains("FEL-POLO-M-ROS"), "{text}");
}

#[test]
fn csv_has_a_header_row_and_the_detail_records() {
    let out = ponte(["parse", GIA, "--csv"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "sku,warehouse,quantity,available_on");
    assert_eq!(lines.len(), 1 + 9);
    assert_eq!(lines[1], "CAF-ESP-1KG,MAG01,120.000,");
    assert!(
        lines.contains(&"FEL-POLO-M-ROS,MAG01,-3.000,2026-12-05"),
        "{text}"
    );
}

#[test]
fn csv_quotes_text_holding_the_delimiter_and_keeps_accents() {
    let out = ponte(["parse", CLI, "--csv"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.get(1), Some("name"));
    assert_eq!(headers.len(), contract_keys("CL").len());
    let names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(1).unwrap().to_string())
        .collect();
    assert_eq!(names[1], "Niccolò Ferraris");
    assert_eq!(names.len(), 3);
}

#[test]
fn csv_for_italian_excel_with_semicolons_and_a_bom() {
    let out = ponte([
        "parse",
        EVA,
        "--csv",
        "--record",
        "ER",
        "--delimiter",
        ";",
        "--bom",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        out.stdout.starts_with(&[0xEF, 0xBB, 0xBF]),
        "{:?}",
        &out.stdout[..8]
    );
    let text = String::from_utf8(out.stdout[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "order_number;sku;quantity",
            "000000101;CAF-ESP-1KG;2.000",
            "000000101;FEL-POLO-M-BLU;1.000",
        ]
    );
}

#[test]
fn csv_without_bom_starts_with_the_header() {
    let out = ponte(["parse", EVA, "--csv", "--record", "ev"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "order_number,event,delivery_note,delivery_date,carrier,tracking_number\n"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1 + 3);
}

#[test]
fn csv_usage_mistakes_exit_2() {
    let out = ponte(["parse", EVA, "--csv", "--record", "ZZ"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no record type \"ZZ\""),
        "{}",
        stderr(&out)
    );
    let out = ponte(["parse", EVA, "--csv", "--delimiter", ";;"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--delimiter"), "{}", stderr(&out));
    // --record and --bom belong to --csv.
    for extra in [&["--record", "ER"][..], &["--bom"], &["--delimiter", ";"]] {
        let out = ponte(["parse", EVA, "--json"].iter().chain(extra));
        assert_eq!(code(&out), 2, "--json {extra:?}: {}", stderr(&out));
    }
    let out = ponte(["parse", EVA]);
    assert_eq!(code(&out), 2, "a format is required: {}", stderr(&out));
}
