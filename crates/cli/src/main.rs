//! elma-import binary.
fn main() {}
