//! The peer benchmark (issue 7), being written.

fn main() {}
