//! Generates the ONNX protobuf types with protox (a pure-Rust protobuf compiler), so that no
//! `protoc` binary is needed anywhere: not here, not in CI, not on a user's machine.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let fds = protox::compile(["proto/onnx.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
