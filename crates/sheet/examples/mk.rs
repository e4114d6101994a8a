//! Temporary: writes a sample xlsx with notes.
use elma_import_sheet::*;
fn main() {
    let p = std::path::Path::new("/tmp/lo_check/ours.xlsx");
    let mut w = create(p, Format::Xlsx, &WriteOptions::default()).unwrap();
    w.write_row(&Row::from_texts(1, ["Name", "Amount", "Born"])).unwrap();
    for i in 0..5000u64 {
        let mut r = Row::new(i + 2);
        r.push_text(&format!("name {i}"));
        r.push(CellKind::Number, "1.5", 1.5);
        r.push(CellKind::Date, "2024-01-31", 45322.0);
        if i % 100 == 0 { w.write_row_with_notes(&r, &[(1, format!("bad amount {i}"))]).unwrap(); } else { w.write_row(&r).unwrap(); }
    }
    println!("{}", w.finish().unwrap());
}
