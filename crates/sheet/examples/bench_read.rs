//! Temporary: times reading a file.
fn main() {
    let p = std::env::args().nth(1).unwrap();
    let t = std::time::Instant::now();
    let mut r = elma_import_sheet::open(std::path::Path::new(&p), &Default::default()).unwrap();
    let mut n = 0usize; let mut bytes = 0usize;
    while let Some(b) = r.next_batch().unwrap() { n += b.len(); bytes += b.iter().map(|r| r.text_len()).sum::<usize>(); }
    let s = t.elapsed().as_secs_f64();
    println!("{n} rows, {bytes} text bytes in {s:.3}s = {:.0} rows/s", n as f64 / s);
}
