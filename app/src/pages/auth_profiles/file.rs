//! Reading a metadata file the admin picked, in the browser, so its text can be previewed
//! and saved like pasted XML (one code path on the server, no multipart upload).
//!
//! The few browser APIs needed (`input.files`, `Blob.text()`, `Promise.then`) are bound here
//! directly with wasm-bindgen rather than through web-sys features the workspace does not
//! enable.

use leptos::ev::Event;

/// What reading the chosen file gave: its name and text, or why it cannot be used.
pub type ReadResult = Result<(String, String), String>;

/// Reads the first file of the `<input type="file">` that fired `ev`, refusing one over
/// `max_bytes` before reading it, and calls `done` with the result. No file chosen: nothing
/// happens.
#[cfg(feature = "hydrate")]
pub fn read_chosen_file(ev: &Event, max_bytes: usize, done: impl FnOnce(ReadResult) + 'static) {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    #[wasm_bindgen]
    extern "C" {
        type FileInput;
        #[wasm_bindgen(method, getter)]
        fn files(this: &FileInput) -> Option<FileList>;

        type FileList;
        #[wasm_bindgen(method)]
        fn item(this: &FileList, index: u32) -> Option<File>;

        type File;
        #[wasm_bindgen(method, getter)]
        fn name(this: &File) -> String;
        #[wasm_bindgen(method, getter)]
        fn size(this: &File) -> f64;
        #[wasm_bindgen(method)]
        fn text(this: &File) -> TextPromise;

        type TextPromise;
        #[wasm_bindgen(method)]
        fn then(this: &TextPromise, ok: &JsValue, err: &JsValue) -> TextPromise;
    }

    let Some(target) = ev.target() else { return };
    let input: FileInput = target.unchecked_into();
    let Some(file) = input.files().and_then(|list| list.item(0)) else {
        return;
    };
    let name = file.name();
    if file.size() > max_bytes as f64 {
        done(Err(format!(
            "{name} is {} KiB; IdP metadata over {} KiB is refused. Check that this is the IdP's metadata file.",
            (file.size() / 1024.0).ceil(),
            max_bytes / 1024
        )));
        return;
    }
    // Exactly one of the two callbacks runs; the other is dropped with the promise.
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let done_err = done.clone();
    let file_name = name.clone();
    let ok = Closure::once_into_js(move |text: JsValue| {
        if let Some(done) = done.borrow_mut().take() {
            match text.as_string() {
                Some(text) => done(Ok((file_name, text))),
                None => done(Err(format!("{file_name} could not be read as text."))),
            }
        }
    });
    let err = Closure::once_into_js(move |_: JsValue| {
        if let Some(done) = done_err.borrow_mut().take() {
            done(Err(format!("{name} could not be read.")));
        }
    });
    file.text().then(&ok, &err);
}

/// On the server there is no file to read.
#[cfg(not(feature = "hydrate"))]
pub fn read_chosen_file(_ev: &Event, _max_bytes: usize, _done: impl FnOnce(ReadResult) + 'static) {}
