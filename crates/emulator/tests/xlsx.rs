//! .xlsx uploads read with calamine: typed cells (numbers, booleans, dates without a
//! zone) become §7 values; row numbers are the sheet's; a format mismatch fails whole.

use crate::common;

use std::time::Duration;

use common::{config, start};
use reqwest::StatusCode;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use serde_json::json;

fn workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory().unwrap();
    let headers = ["Name", "Birth date", "Amount", "Quantity", "Active", "Phone", "Email"];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let when = ExcelDateTime::from_ymd(1977, 7, 4).unwrap().and_hms(13, 27, 0).unwrap();
    sheet.write_string(1, 0, "Typed").unwrap();
    sheet.write_datetime_with_format(1, 1, &when, &date).unwrap();
    sheet.write_number(1, 2, 125.6).unwrap();
    sheet.write_number(1, 3, 27.0).unwrap();
    sheet.write_boolean(1, 4, true).unwrap();
    sheet.write_number(1, 5, 79125554433.0).unwrap();
    sheet.write_string(1, 6, "a@example.com").unwrap();
    // Row 3 is blank and skipped; row 4 has text where the platform wants typed values.
    sheet.write_string(3, 0, "Texts").unwrap();
    sheet.write_string(3, 1, "04.07.1977 13:27").unwrap();
    sheet.write_string(3, 2, "125,60").unwrap();
    sheet.write_string(3, 4, "false").unwrap();
    // Row 5: a boolean cell in a number field, a number in a date field.
    sheet.write_string(4, 0, "Wrong types").unwrap();
    sheet.write_number(4, 1, 28310.5).unwrap();
    sheet.write_boolean(4, 3, true).unwrap();
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn typed_cells_become_platform_values_and_row_numbers_are_the_sheets() {
    let server = start(config()).await;
    let hash = common::hash();
    let (code, body) = server.upload_temp(&hash, workbook(), None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (_, body) = server
        .post(
            "/app/crm/contacts/import",
            json!({"fileHash": hash, "format": "xlsx", "withEventHandlers": false}),
        )
        .await;
    let id = body["result"]["id"].as_str().unwrap().to_string();
    let done = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!((done["total"].as_u64(), done["imported"].as_u64()), (Some(3), Some(2)), "{done}");
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{done}");
    assert!(errors.iter().all(|e| e["row"] == 5), "{done}");
    assert_eq!(errors[0]["column"], "Birth date");
    assert!(errors[0]["message"].as_str().unwrap().contains("a number"), "{done}");
    assert_eq!(errors[1]["column"], "Quantity");

    let (_, body) = server.list("crm/contacts", json!({"active": true, "from": 0, "size": 10})).await;
    let items = body["result"]["result"].as_array().unwrap();
    let typed = &items[0];
    assert_eq!(typed["birth_date"], "1977-07-04T13:27:00+03:00");
    assert_eq!(typed["amount"], json!({"cents": 12560, "currency": "RUB"}));
    assert_eq!(typed["quantity"], 27.0);
    assert_eq!(typed["active"], true);
    assert_eq!(typed["phone"], json!([{"type": "home", "tel": "+79125554433"}]));
    let texts = &items[1];
    assert_eq!(texts["birth_date"], typed["birth_date"], "text and date cells agree");
    assert_eq!(texts["amount"], typed["amount"]);
    assert_eq!(texts["active"], false);
}

#[tokio::test]
async fn a_file_that_is_not_what_the_start_says_fails_the_import_at_row_0() {
    let server = start(config()).await;
    for (body, format, says) in
        [(workbook(), "csv", "is an .xlsx"), (b"Name\nA\n".to_vec(), "xlsx", "not a readable .xlsx")]
    {
        let hash = common::hash();
        server.upload_temp(&hash, body, None).await;
        let (_, answer) = server
            .post(
                "/app/crm/contacts/import",
                json!({"fileHash": hash, "format": format, "withEventHandlers": false}),
            )
            .await;
        let id = answer["result"]["id"].as_str().unwrap().to_string();
        let done = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["errors"][0]["row"], 0, "{done}");
        assert!(done["errors"][0]["message"].as_str().unwrap().contains(says), "{done}");
    }
}

#[tokio::test]
async fn a_stray_cell_at_xfd1048576_fails_its_row_only_and_memory_stays_flat() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Name").unwrap();
    sheet.write_string(1, 0, "Kept").unwrap();
    sheet.write_string(1_048_575, 0, "Far").unwrap();
    sheet.write_string(1_048_575, 16_383, "stray").unwrap();
    let server = start(config()).await;
    let hash = common::hash();
    server.upload_temp(&hash, book.save_to_buffer().unwrap(), None).await;
    let (_, body) = server
        .post(
            "/app/crm/contacts/import",
            json!({"fileHash": hash, "format": "xlsx", "withEventHandlers": false}),
        )
        .await;
    let id = body["result"]["id"].as_str().unwrap().to_string();
    let done = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(1), Some(1)), "{done}");
    assert_eq!(done["errors"][0]["row"], 1_048_576, "{done}");
    assert!(done["errors"][0]["message"].as_str().unwrap().contains("column XFD"), "{done}");
}

#[tokio::test]
async fn formulas_give_their_cached_value_and_fail_without_one() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Name", "Quantity", "Email"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "Cached").unwrap();
    sheet.write_formula(1, 1, Formula::new("=2*1.25").set_result("2.5")).unwrap();
    sheet.write_string(2, 0, "Not computed").unwrap();
    sheet.write_formula(2, 1, Formula::new("=2*3").set_result("")).unwrap();
    sheet.write_string(3, 0, "Error").unwrap();
    sheet.write_formula(3, 2, Formula::new("=NA()").set_result("#N/A")).unwrap();
    // rust_xlsxwriter always saves a value (`<v>0</v>`); drop it, as a program that
    // writes formulas without computing them does.
    let book = without_cached_value(&book.save_to_buffer().unwrap(), "<f>2*3</f><v>0</v>", "<f>2*3</f>");
    let server = start(config()).await;
    let hash = common::hash();
    server.upload_temp(&hash, book, None).await;
    let (_, body) = server
        .post(
            "/app/crm/contacts/import",
            json!({"fileHash": hash, "format": "xlsx", "withEventHandlers": false}),
        )
        .await;
    let id = body["result"]["id"].as_str().unwrap().to_string();
    let done = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(1), Some(2)), "{done}");
    let errors = done["errors"].as_array().unwrap();
    assert_eq!((errors[0]["row"].as_u64(), errors[0]["column"].as_str()), (Some(3), Some("Quantity")));
    assert!(errors[0]["message"].as_str().unwrap().contains("`=2*3` has no saved value"), "{done}");
    assert_eq!((errors[1]["row"].as_u64(), errors[1]["column"].as_str()), (Some(4), Some("Email")));
    assert!(errors[1]["message"].as_str().unwrap().contains("`#N/A`"), "{done}");
    let (_, body) = server.list("crm/contacts", json!({"active": true, "from": 0, "size": 10})).await;
    assert_eq!(body["result"]["result"][0]["quantity"], 2.5);
}

/// The workbook with `from` replaced by `to` in its first worksheet's XML.
fn without_cached_value(xlsx: &[u8], from: &str, to: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            assert!(xml.contains(from), "{xml}");
            bytes = xml.replace(from, to).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}
