//! Compiles `proto/exhook_v{1,2,3}.proto` into Rust with the pure-Rust `protox` compiler (no
//! system `protoc`) and `tonic-prost-build`. Message types and clients are generated for all three
//! packages; the `HookProvider` server traits only for this crate's own tests.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/exhook_v1.proto",
        "proto/exhook_v2.proto",
        "proto/exhook_v3.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .bytes(".")
        .build_client(false)
        .build_server(true)
        .generate_default_stubs(true)
        .server_mod_attribute(".", "#[cfg(test)]")
        .compile_fds(descriptors)?;
    Ok(())
}
