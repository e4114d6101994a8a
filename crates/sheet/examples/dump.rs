//! Temporary: dumps a sheet.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opts = elma_import_sheet::ReadOptions { sheet: args.get(2).cloned(), ..Default::default() };
    let mut r = match elma_import_sheet::open(std::path::Path::new(&args[1]), &opts) {
        Ok(r) => r,
        Err(e) => {
            let mut s = format!("{e}");
            let mut src = std::error::Error::source(&e);
            while let Some(x) = src { s += &format!(": {x}"); src = x.source(); }
            println!("ERR {s}");
            return;
        }
    };
    println!("{}", r.describe());
    let p = |row: &elma_import_sheet::Row| {
        let cells: Vec<String> = row.iter().map(|c| format!("{:?}:{:?}", c.kind, c.text)).collect();
        println!("{} [{}] {}", row.number, row.len(), cells.join(" | "));
    };
    p(r.header());
    loop {
        match r.next_batch() {
            Ok(Some(rows)) => rows.iter().for_each(p),
            Ok(None) => break,
            Err(e) => { println!("ERR {e}: {:?}", std::error::Error::source(&e).map(|s| s.to_string())); break; }
        }
    }
}
