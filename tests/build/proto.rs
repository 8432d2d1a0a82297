//! Generates the gRPC test service (tests/proto/sleeper.proto) with protox, a protobuf
//! compiler written in Rust: no `protoc` to install.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/sleeper.proto");
    let descriptors = protox::compile(["proto/sleeper.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
