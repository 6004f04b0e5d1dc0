// Fuzz target: the weights loader (WeightsFile, ModelWeights, Tokenizer via Model) on the
// whole file's bytes. Any thrown WeightsFileError is fine; a trap or sanitizer report is a bug.
import RecycleModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = fuzzInputFile(UnsafeRawBufferPointer(start: data, count: size))
    if let model = try? Model(path: path) {
        _ = model.file.computeChecksum()
        _ = try? model.file.verifyChecksum()
        _ = model.tokenizer.decode(model.tokenizer.encode("Hello, world <|im_end|>"))
    }
    return 0
}
