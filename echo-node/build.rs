//! Emits the linker setup napi-rs needs for a Node add-on on each platform.
fn main() {
    napi_build::setup();
}
