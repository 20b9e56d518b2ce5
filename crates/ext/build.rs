//! Compiles hookmq's extension protocol (`proto/hookmq/ext/v1/*.proto` at the repository root)
//! with the pure-Rust `protox` (no system `protoc`): message types and the client only; the
//! server side lives in the SDK (`sdk/rust`).

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
        .build_client(true)
        .build_server(false)
        .compile_fds(descriptors)?;
    Ok(())
}
