//! Compiles hookmq's extension protocol (`proto/hookmq/ext/v1/*.proto`) with the pure-Rust
//! `protox` (no system `protoc`): message types and the server side.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let files = [
        "../../proto/hookmq/ext/v1/stream.proto",
        "../../proto/hookmq/ext/v1/event.proto",
        "../../proto/hookmq/ext/v1/reply.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, [root])?;
    tonic_prost_build::configure()
        .bytes(".")
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
