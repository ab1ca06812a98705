//! STUB: the `forge` command line, built by issue #6. Until then it says so
//! and exits with status 2 instead of pretending to work.

fn main() {
    eprintln!("forge: the command line is not built yet (see issue #6 and the README's crate map)");
    std::process::exit(2);
}
